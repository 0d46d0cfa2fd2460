#!/bin/sh
# Benchmark: `ukw run` (native VMM on /dev/kvm) against QEMU microvm on the
# same image, side by side in one run. Reports wall time per boot (median
# and mean of N runs of the whole process), the --stats timeline, the
# guest instruction count (single-stepped) and ukw's peak RSS.
# Goals (issue 3): ukw <= 10 ms and >= 8x faster than QEMU; RSS beyond
# guest RAM <= 16 MiB. Usage: scripts/bench/run.sh [bin/ukw] [N]
set -eu
bin=${1:-bin/ukw}
n=${2:-20}
app=examples/hello
"$bin" build "$app" >/dev/null
elf=$app/.ukw/build/hello.elf
img=$app/.ukw/build/hello.img
qemu=$(command -v qemu-system-x86_64 || true)

# time_ms CMD...: runs CMD n times; prints "median mean" in ms.
time_ms() {
	i=0
	: >/tmp/ukw-bench.$$
	while [ $i -lt "$n" ]; do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s%N)
		echo $(((e - s) / 1000)) >>/tmp/ukw-bench.$$
		i=$((i + 1))
	done
	sort -n /tmp/ukw-bench.$$ | awk '{a[NR]=$1; s+=$1} END {printf "%.2f %.2f\n", a[int((NR+1)/2)]/1000, s/NR/1000}'
	rm -f /tmp/ukw-bench.$$
}

echo "ukw run vs qemu microvm, $n boots each (whole process, wall time)"
set -- $(time_ms "$bin" run "$elf" --cmdline "hello world")
ukw_elf_med=$1
echo "  ukw run $elf (ukw 64-bit entry):      median $1 ms, mean $2 ms"
set -- $(time_ms "$bin" run "$img" --cmdline "hello world")
ukw_img_med=$1
echo "  ukw run $img (the ELF32 copy QEMU boots; it carries the ukw note too): median $1 ms, mean $2 ms"
set -- $(time_ms "$bin" run "$app")
echo "  ukw run $app (with the cached build): median $1 ms, mean $2 ms"
if [ -n "$qemu" ]; then
	set -- $(time_ms "$qemu" -M microvm -accel kvm -m 32 -nodefaults -no-user-config -display none \
		-no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$img" -append "hello world")
	q=$1
	echo "  qemu -M microvm -accel kvm $img:      median $1 ms, mean $2 ms"
	awk -v q="$q" -v e="$ukw_elf_med" -v i="$ukw_img_med" 'BEGIN {
		printf "  speed-up (median): %.1fx (hello.elf), %.1fx (hello.img, the same file QEMU boots) (goal >= 8x)\n", q/e, q/i }'
else
	echo "  qemu-system-x86_64 not installed: no comparison"
fi

echo
echo "timeline of one boot (ukw run --stats):"
"$bin" run "$elf" --cmdline "hello world" --stats 2>&1 >/dev/null | sed 's/^/  /'
echo
echo "guest instructions (ukw run --count-instructions, single-stepped):"
"$bin" run "$elf" --cmdline "hello world" --count-instructions --stats 2>&1 >/dev/null | grep -E "guest instructions" | sed 's/^ */  /'
if [ -x /usr/bin/time ]; then
	rss=$(/usr/bin/time -f %M "$bin" run "$elf" --cmdline "hello world" 2>&1 >/dev/null | tail -1)
	echo
	echo "peak RSS of ukw run: $rss KiB (guest RAM is 32 MiB, mapped lazily: the figure includes only the guest pages touched)"
fi
