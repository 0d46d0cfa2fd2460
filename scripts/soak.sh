#!/bin/sh
# Soak (make soak; not part of make test or CI): 1000 reload cycles of
# examples/hello in one session process, sampling open fds, goroutines and
# RSS every 100 cycles; the test fails if they do not stay flat, and prints
# the table. UKW_SOAK_CYCLES=N changes the number of cycles (at least 200).
set -eu
cd "$(dirname "$0")/.."
UKW_SOAK=1 exec go test -count=1 -timeout 2h -run '^TestSoakReload$' -v ./session
