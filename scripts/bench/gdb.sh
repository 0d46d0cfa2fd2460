#!/bin/sh
# 1000 `stepi` through Debian's gdb, side by side on the same image
# (testdata/gdb/guest): ukw's stub on the native VMM vs QEMU's own stub
# (TCG and KVM), plus ukw's stub over the qemu backend; once as one
# `stepi 1000` (BenchmarkGDBStepi) and once as 1000 separate `stepi`
# commands as typed at the prompt (BenchmarkGDBStepiEach); then the
# round-trip latency of `m` (64 bytes) and `g` packets.
# Goal: ukw >= 2x faster per stepi.
# GDB_BENCH_RUNS (default 3) gdb sessions per target; the figure is their mean.
# Usage: scripts/bench/gdb.sh [ukw-binary (unused: the Go benchmarks drive the stub)]
set -eu
cd "$(dirname "$0")/../.."
runs=${GDB_BENCH_RUNS:-3}
out=$(go test -run '^$' -bench 'GDBStepi' -benchtime "${runs}x" ./gdbstub)
echo "$out" | grep -E '^Benchmark'
go test -run '^$' -bench 'RSPRoundTrip' -benchtime 1000x ./gdbstub | grep -E '^Benchmark'
echo "$out" | awk '
	/BenchmarkGDBStepi\/ukw-stub-vmm/      { ukw = $3 }
	/BenchmarkGDBStepi\/qemu-stub-tcg/     { tcg = $3 }
	/BenchmarkGDBStepi\/qemu-stub-kvm/     { kvm = $3 }
	/BenchmarkGDBStepiEach\/ukw-stub-vmm/  { eukw = $3 }
	/BenchmarkGDBStepiEach\/qemu-stub-tcg/ { etcg = $3 }
	/BenchmarkGDBStepiEach\/qemu-stub-kvm/ { ekvm = $3 }
	function line(what, u, t, k) {
		printf "%s: ukw stub (vmm) %s us; QEMU stub tcg %s us (%.1fx), kvm %s us (%.1fx)\n", what, u, t, (t == "" ? 0 : t/u), k, (k == "" ? 0 : k/u)
	}
	END {
		if (ukw == "" || eukw == "") { print "gdb.sh: no ukw-stub-vmm result (is /dev/kvm usable?)"; exit 1 }
		line("stepi via gdb", ukw, tcg, kvm)
		line("stepi via gdb, one command each", eukw, etcg, ekvm)
	}'
