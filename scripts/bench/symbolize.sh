#!/bin/sh
# `ukw symbolize` vs binutils addr2line, side by side in one run: the same
# addresses, the same ELF, the same flags (-f -i), output required
# byte-identical. Goal (issue 5): >= 5x on 100k function addresses of a
# large DWARF 5 kernel (Debian's gnumach -dbg). Also reported: the same
# addresses shuffled (few neighbours repeat an answer), and every function
# address of examples/hello's ELF (a small ukw image).
set -eu
bin=${1:-bin/ukw}
gz=/boot/gnumach-1.8-486-dbg.gz
[ -f "$gz" ] || { echo "symbolize: skipped, $gz missing (apt-get install gnumach-image-1.8-486-dbg)"; exit 0; }
command -v addr2line >/dev/null || { echo "symbolize: skipped, addr2line missing (binutils)"; exit 0; }
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gzip -dc "$gz" > "$tmp/gnumach"

# funcaddrs ELF: every address of every function, in nm's (name) order.
funcaddrs() {
	nm -S --defined-only "$1" | while read -r a s t name; do
		case $t in t | T | w | W) ;; *) continue ;; esac
		i=0
		while [ "$i" -lt "$((0x$s))" ]; do printf '0x%x\n' "$((0x$a + i))"; i=$((i + 1)); done
	done
}
now() { date +%s.%N; }
status=0

# bench NAME ELF ADDRS: three alternating rounds; the best wall time of
# each tool counts (the machine is shared: the minimum is the least
# disturbed run).
bench() {
	name=$1 elf=$2 addrs=$3
	n=$(wc -l < "$addrs")
	best_a=999 best_u=999
	for round in 1 2 3; do
		t0=$(now); addr2line -f -i -e "$elf" < "$addrs" > "$tmp/ref"; t1=$(now)
		"$bin" symbolize -f -i -e "$elf" < "$addrs" > "$tmp/got"; t2=$(now)
		best_a=$(awk -v a="$t0" -v b="$t1" -v m="$best_a" 'BEGIN { d = b - a; print (d < m ? d : m) }')
		best_u=$(awk -v a="$t1" -v b="$t2" -v m="$best_u" 'BEGIN { d = b - a; print (d < m ? d : m) }')
		cmp -s "$tmp/ref" "$tmp/got" || break
	done
	if cmp -s "$tmp/ref" "$tmp/got"; then same=identical; else same=DIFFERENT; status=1; fi
	awk -v name="$name" -v n="$n" -v ta="$best_a" -v tu="$best_u" -v same="$same" 'BEGIN {
		printf "symbolize: %s, %d addresses, -f -i (best of 3)\n", name, n
		printf "  addr2line      %7.1f ms\n", ta * 1000
		printf "  ukw symbolize  %7.1f ms  (%.1fx, output %s)\n", tu * 1000, ta / tu, same
	}'
}

funcaddrs "$tmp/gnumach" | head -n 100000 > "$tmp/addrs"
bench "gnumach -dbg (goal >= 5x)" "$tmp/gnumach" "$tmp/addrs"
awk 'BEGIN { srand(5) } { print rand() "\t" $0 }' "$tmp/addrs" | sort -n | cut -f2 > "$tmp/shuffled"
bench "gnumach -dbg, shuffled" "$tmp/gnumach" "$tmp/shuffled"

cp -r "$here/examples/hello" "$tmp/hello"
if "$bin" build "$tmp/hello" > "$tmp/build.log" 2>&1; then
	funcaddrs "$tmp/hello/.ukw/build/hello.elf" > "$tmp/haddrs"
	bench "examples/hello ELF" "$tmp/hello/.ukw/build/hello.elf" "$tmp/haddrs"
else
	echo "symbolize: examples/hello skipped, ukw build failed:"; cat "$tmp/build.log"
fi
exit $status
