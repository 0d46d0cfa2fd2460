#!/bin/sh
# Opens the workbench on the default example, stopped at main so that
# source, backtrace, registers, locals and memory show at once: F5
# continues, F10/F11 step, `:` takes gdb-style commands, ? lists the keys,
# q quits. Edit examples/hello/main.c in another window and save: ukw
# rebuilds, reboots and stops at main again.
set -eu
bin=${1:-bin/ukw}
exec "$bin" dev -b main examples/hello
