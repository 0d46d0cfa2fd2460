#!/bin/sh
# Benchmarks: Go benchmarks of every package, then the side-by-side scripts in
# scripts/bench/ (each compares ukw with a named peer in one run).
set -eu
bin=${1:-bin/ukw}
go test -run '^$' -bench . -benchmem -count=1 ./...
for s in scripts/bench/*.sh; do
	[ -x "$s" ] || continue
	echo "== $s"
	"$s" "$bin"
done
