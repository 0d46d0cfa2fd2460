#!/bin/sh
# Trace and profile overheads, side by side in one run (docs/trace.md):
#  1. lib/ftrace: testdata/guests/tracetree's workload built with
#     -finstrument-functions (every call writes two ring records) and
#     without it (the peer), run under `ukw trace`; guest time each.
#  2. the sampling profiler at 1 kHz on testdata/guests/hot, both methods
#     (sample: the VMM kicks the vCPU; interrupt: stop, read, continue),
#     against the same guest run with no profiler (the peer).
# Times are the guest's own (first instruction to exit); the median of
# $RUNS runs (default 3), interleaved so machine load hits all alike.
set -eu
bin=$(realpath "${1:-bin/ukw}")
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-3}
reps=${TRACE_REPS:-20}
rounds=${HOT_ROUNDS:-40}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v jq >/dev/null || { echo "trace.sh needs jq"; exit 1; }

for v in on off; do
	mkdir -p "$tmp/$v"
	cp "$root/testdata/guests/tracetree/main.c" "$tmp/$v/"
	flags='[-finstrument-functions]'
	[ $v = off ] && flags='[]'
	cat >"$tmp/$v/ukw.yaml" <<EOF
name: ftrace$v
layers: [arch/x86_64, plat/kvm, lib/nolibc, lib/alloc-bump, lib/panic, lib/trace, lib/ftrace]
sources: [main.c]
cflags: $flags
opt: "0"
cmdline: "tracetree $reps"
EOF
	"$bin" build "$tmp/$v" >/dev/null
done
cp -r "$root/testdata/guests/hot" "$tmp/hot"
rm -rf "$tmp/hot/.ukw"
"$bin" build "$tmp/hot" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$tmp/on.t"; : >"$tmp/off.t"; : >"$tmp/base.t"; : >"$tmp/sample.t"; : >"$tmp/intr.t"
: >"$tmp/sample.c"; : >"$tmp/intr.c"
for i in $(seq "$runs"); do
	"$bin" trace --json "$tmp/on" 2>/dev/null >"$tmp/j"
	jq .guest_elapsed_ns "$tmp/j" >>"$tmp/on.t"
	recs=$(jq .records "$tmp/j")
	"$bin" trace --json "$tmp/off" 2>/dev/null | jq .guest_elapsed_ns >>"$tmp/off.t"
	"$bin" trace --json --cmdline "hot $rounds" "$tmp/hot" 2>/dev/null | jq .guest_elapsed_ns >>"$tmp/base.t"
	for m in sample intr; do
		method=$m
		[ $m = intr ] && method=interrupt
		"$bin" profile --json --no-files --hz 1000 --method $method --cmdline "hot $rounds" "$tmp/hot" 2>/dev/null >"$tmp/j"
		jq .guest_elapsed_ns "$tmp/j" >>"$tmp/$m.t"
		jq -r '"\(.samples) \(.mean_hold_ns) \(.top[0].name) \(.top[0].self)"' "$tmp/j" >>"$tmp/$m.c"
	done
done

# Guest instructions (single-stepped, so independent of the machine's
# speed and load): 1 and 3 repetitions, ftrace on and off.
instr() { "$bin" run --count-instructions --stats --json --cmdline "tracetree $2" "$tmp/$1" 2>&1 >/dev/null | sed -n '/^{/,$p' | jq .instructions; }
on1=$(instr on 1); on3=$(instr on 3); off1=$(instr off 1); off3=$(instr off 3)

on=$(median <"$tmp/on.t")
off=$(median <"$tmp/off.t")
calls=$(( (recs - 3 * reps - 1) / 2 ))
echo "ftrace: tracetree x$reps at -O0 ($calls calls, $recs records), median of $runs"
awk -v on="$on" -v off="$off" -v calls="$calls" 'BEGIN {
	printf "  ftrace off (peer)  %9.1f ms\n", off / 1e6
	printf "  ftrace on          %9.1f ms   %.2fx, %.0f us per traced call (entry + exit record)\n", on / 1e6, on / off, (on - off) / calls / 1e3
}'
awk -v a="$on1" -v b="$on3" -v c="$off1" -v d="$off3" 'BEGIN {
	printf "  guest instructions per repetition: %d with ftrace, %d without; %.1f per record (26 calls, 52 records)\n", (b - a) / 2, (d - c) / 2, ((b - a) - (d - c)) / 2 / 52
}'
base=$(median <"$tmp/base.t")
echo "profiler: hot $rounds, 1000 Hz, median of $runs"
awk -v b="$base" 'BEGIN { printf "  no profiler (peer) %9.1f ms\n", b / 1e6 }'
for m in sample intr; do
	t=$(median <"$tmp/$m.t")
	tail -1 "$tmp/$m.c" | awk -v t="$t" -v b="$base" -v m="$m" '{
		printf "  --method %-9s %9.1f ms   +%.1f%%, %d samples, guest held %.0f us per sample, %s has %.1f%%\n",
			(m == "intr" ? "interrupt" : m), t / 1e6, (t - b) * 100 / b, $1, $2 / 1e3, $3, $4 * 100 / $1
	}'
done
