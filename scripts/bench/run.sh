#!/bin/sh
# Benchmark: `ukw run` (native VMM on /dev/kvm) against QEMU microvm on the
# same hello image, side by side in one run. Each round runs every
# contender once, interleaved, so that a change of machine load hits them
# alike. Reports the median (and min) wall time of N whole processes, the
# ratio, where ukw's time goes (medians of its --stats timeline), the guest
# instruction count (single-stepped) and the VMM's RSS beyond guest RAM.
# Goals (issue 3): ukw <= 10 ms and >= 8x faster than QEMU; RSS beyond
# guest RAM <= 16 MiB. Usage: scripts/bench/run.sh [bin/ukw] [N]
set -eu
bin=${1:-bin/ukw}
n=${2:-21}
app=examples/hello
"$bin" build "$app" >/dev/null
elf=$app/.ukw/build/hello.elf
img=$app/.ukw/build/hello.img
qemu=$(command -v qemu-system-x86_64 || true)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# wall FILE CMD...: runs CMD once (output to $tmp/out, $tmp/err) and
# appends its wall time in µs to FILE.
wall() {
	f=$1
	shift
	s=$(date +%s%N)
	"$@" >"$tmp/out" 2>"$tmp/err" || true
	e=$(date +%s%N)
	echo $(((e - s) / 1000)) >>"$tmp/$f"
}

# Per-run breakdown of `ukw run hello.elf --stats` (µs): process start and
# exit (wall minus Run's own total), VMM set-up (New: open to vCPU ready),
# hand-off to the first guest instruction, the guest, closing the VM.
breakdown() {
	w=$(tail -1 "$tmp/elf")
	total=$(awk '/^  total /{print $2}' "$tmp/err")
	ready=$(awk '/^  vcpu ready /{print $3}' "$tmp/err")
	first=$(awk '/^  first instruction /{print $3}' "$tmp/err")
	exit_=$(awk '/^  exit /{print $2}' "$tmp/err")
	down=$(awk '/^  teardown /{print $2}' "$tmp/err")
	rss=$(awk '/^  peak RSS /{print $3}' "$tmp/err")
	beyond=$(sed -n 's/.*VMM beyond it \([0-9]*\) KiB.*/\1/p' "$tmp/err")
	echo $((w - total)) >>"$tmp/b.proc"
	echo "$ready" >>"$tmp/b.setup"
	echo $((first - ready)) >>"$tmp/b.handoff"
	echo $((exit_ - first)) >>"$tmp/b.guest"
	echo "$down" >>"$tmp/b.down"
	echo $((total - exit_ - down)) >>"$tmp/b.rest"
	echo "$total" >>"$tmp/b.total"
	echo "$rss" >>"$tmp/b.rss"
	echo "${beyond:-0}" >>"$tmp/b.beyond"
}

# med FILE / lo FILE: median and minimum of a column of numbers.
med() { sort -n "$tmp/$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
lo() { sort -n "$tmp/$1" | head -1; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u/1000}'; }

qemu_run() {
	"$qemu" -M microvm -accel kvm -m 32 -nodefaults -no-user-config -display none \
		-no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$img" -append "hello world"
}

i=0
while [ $i -lt "$n" ]; do
	wall elf "$bin" run "$elf" --cmdline "hello world" --stats
	grep -q "Hello from ukw" "$tmp/out" || { echo "ukw run $elf printed no greeting:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
	breakdown
	cp "$tmp/err" "$tmp/last.stats"
	wall app "$bin" run "$app"
	if [ -n "$qemu" ]; then
		wall qemu qemu_run
		grep -q "Hello from ukw" "$tmp/out" || { echo "QEMU printed no greeting:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1; }
	fi
	i=$((i + 1))
done

echo "ukw run vs QEMU microvm: $n rounds, whole process wall time, median (min), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "  %-58s %8s ms (%s)\n" "ukw run $elf" "$(ms "$(med elf)")" "$(ms "$(lo elf)")"
printf "  %-58s %8s ms (%s)\n" "ukw run $app (app dir, cached build)" "$(ms "$(med app)")" "$(ms "$(lo app)")"
if [ -n "$qemu" ]; then
	printf "  %-58s %8s ms (%s)\n" "qemu -M microvm -accel kvm $img" "$(ms "$(med qemu)")" "$(ms "$(lo qemu)")"
	awk -v q="$(med qemu)" -v e="$(med elf)" -v a="$(med app)" 'BEGIN {
		printf "  ratio QEMU / ukw (medians): %.1fx for hello.elf, %.1fx for the app dir (goal >= 8x)\n", q/e, q/a }'
else
	echo "  qemu-system-x86_64 not installed: no comparison"
fi
echo
echo "where ukw run $elf spends its time (medians, ms):"
printf "  %-44s %8s\n" "process start and exit (wall - Run total)" "$(ms "$(med b.proc)")"
printf "  %-44s %8s\n" "VMM set-up (open /dev/kvm .. vCPU ready)" "$(ms "$(med b.setup)")"
printf "  %-44s %8s\n" "hand-off to the first guest instruction" "$(ms "$(med b.handoff)")"
printf "  %-44s %8s\n" "guest (first instruction .. exit)" "$(ms "$(med b.guest)")"
printf "  %-44s %8s\n" "teardown (closing the VM)" "$(ms "$(med b.down)")"
printf "  %-44s %8s\n" "rest of Run (reports, stats)" "$(ms "$(med b.rest)")"
printf "  %-44s %8s\n" "Run's own total (all but process start, exit)" "$(ms "$(med b.total)")"
echo
echo "guest instructions (ukw run --count-instructions, single-stepped):"
"$bin" run "$elf" --cmdline "hello world" --count-instructions --stats 2>&1 >/dev/null | grep -E "guest instructions" | sed 's/^ */  /'
echo "guest exits (ukw run --stats): $(awk '/^  exits /{print $2}' "$tmp/last.stats")"
echo
echo "memory: peak RSS of ukw run $(med b.rss) KiB; VMM beyond the resident guest RAM $(med b.beyond) KiB (goal <= 16384)"
echo
echo "timeline of the last boot (ukw run --stats):"
sed 's/^/  /' "$tmp/last.stats"
