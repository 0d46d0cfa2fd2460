#!/bin/sh
# Opens ukw on the default example. Until the workbench (`ukw dev`) exists this
# runs the example once; later it opens the workbench.
set -eu
bin=${1:-bin/ukw}
if "$bin" dev --help >/dev/null 2>&1; then
	exec "$bin" dev examples/hello
fi
if "$bin" run --help >/dev/null 2>&1; then
	exec "$bin" run examples/hello
fi
exec "$bin" build examples/hello
