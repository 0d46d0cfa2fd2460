#!/bin/sh
# Reload benchmark: save → new code running for a one-line change in
# examples/hello, headless (session.BenchmarkReloadHello, 50 saves: median,
# p95 and max of each stage of the session's reload timeline), side by side
# with the loop a developer runs without `ukw dev`: after the same edit,
# `ukw build` then QEMU (microvm, the fastest QEMU boot here) until the new
# greeting is printed. Goal: total median at most 250 ms.
set -eu
bin=$(realpath "${1:-bin/ukw}")
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${RELOAD_N:-50}
cd "$root"
echo "ukw dev (session), $n one-line edits of examples/hello ($(nproc) CPUs)"
go test -run '^$' -bench '^BenchmarkReloadHello$' -benchtime "${n}x" -count 1 ./session >"${TMPDIR:-/tmp}/ukw-reload.$$"
# the last table (the testing package runs the benchmark with b.N = 1 first)
awk '/^save→new code running/ {t=""} /^save→new code running/, /^console/ {t=t $0 "\n"} END {printf "%s", t}' "${TMPDIR:-/tmp}/ukw-reload.$$"
rm -f "${TMPDIR:-/tmp}/ukw-reload.$$"

command -v qemu-system-x86_64 >/dev/null || { echo "peer skipped: qemu-system-x86_64 is not installed"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r examples/hello "$tmp/hello"
rm -rf "$tmp/hello/.ukw"
export XDG_CACHE_HOME="$tmp/cache"
"$bin" build "$tmp/hello" >/dev/null
accel=tcg
[ -e /sys/module/kvm_pvm ] || { [ -w /dev/kvm ] && accel=kvm; }
ms() { date +%s%N | cut -c1-13; }
peer_n=${RELOAD_PEER_N:-10}
: >"$tmp/times"
i=0
while [ $i -lt "$peer_n" ]; do
	i=$((i + 1))
	sed "s/Hello from ukw!/Hello from peer $i!/" "$root/examples/hello/main.c" >"$tmp/hello/main.c"
	t0=$(ms)
	"$bin" build "$tmp/hello" >/dev/null
	qemu-system-x86_64 -M microvm -accel $accel -m 32 -nodefaults -no-user-config -display none \
		-monitor none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot \
		-kernel "$tmp/hello/.ukw/build/hello.img" -append "hello world" >"$tmp/out" 2>&1 || true
	t1=$(ms)
	grep -q "Hello from peer $i!" "$tmp/out" || { echo "peer run $i did not print the new greeting:"; cat "$tmp/out"; exit 1; }
	echo $((t1 - t0)) >>"$tmp/times"
done
sort -n "$tmp/times" >"$tmp/sorted"
med=$(sed -n "$(((peer_n + 1) / 2))p" "$tmp/sorted")
max=$(tail -n 1 "$tmp/sorted")
echo "peer: edit → ukw build → qemu-system-x86_64 -M microvm -accel $accel to the guest's exit, $peer_n runs: median $med ms, max $max ms"
