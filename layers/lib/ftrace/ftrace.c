/* lib/ftrace: gcc's instrumentation hooks (GCC manual, "Program
 * Instrumentation Options", -finstrument-functions): called right after
 * function entry and right before function exit with the function's
 * address and its call site. Each writes one record to the trace ring. */
#include <ukw/trace.h>
#include <ukw/ftrace.h>

#ifndef CONFIG_FTRACE_ENABLED
#define CONFIG_FTRACE_ENABLED 1
#endif

static volatile int enabled = CONFIG_FTRACE_ENABLED;

UKW_NOTRACE int ukw_ftrace_enable(int on)
{
	int was = enabled;
	enabled = on != 0;
	return was;
}

UKW_NOTRACE void __cyg_profile_func_enter(void *fn, void *site)
{
	if (enabled)
		ukw_trace_emit1(UKW_REC_ENTER, (uint64_t)fn, (uint64_t)site);
}

UKW_NOTRACE void __cyg_profile_func_exit(void *fn, void *site)
{
	if (enabled)
		ukw_trace_emit1(UKW_REC_EXIT, (uint64_t)fn, (uint64_t)site);
}
