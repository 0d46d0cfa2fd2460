/* lib/ftrace: function entry and exit records (layers/README.md "Trace
 * ring"), through gcc's -finstrument-functions hooks.
 *
 * Only code compiled with -finstrument-functions is traced: add it to the
 * app's cflags (ukw.yaml) to trace the app, or to a layer's cflags to trace
 * that layer. Exclude a function with UKW_NOTRACE (from <ukw/trace.h>), or
 * whole files or functions with gcc's
 * -finstrument-functions-exclude-file-list= and -exclude-function-list=.
 * The tracer itself, the exception stubs and handlers (arch/x86_64,
 * plat/kvm, lib/panic) are never instrumented. */
#ifndef UKW_FTRACE_H
#define UKW_FTRACE_H

#include <ukw/trace.h>

/* ukw_ftrace_enable turns recording on (1) or off (0) and returns the
 * previous state. Calls already entered keep their entry records; the host
 * closes unmatched frames at the end of the trace. */
UKW_NOTRACE int ukw_ftrace_enable(int on);

#endif
