/* hull-monitor.c linked into hull (HULL_MONITOR_IN_PROCESS): see engine/monitor.cpp,
 * exec_monitor. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* hull-monitor's main, run in the monitor's own process instead of exec'd. Returns only
 * where the binary would exit (an error or a CLI that did the clean-up): the caller then
 * _exits with the result. */
int hull_monitor_main(int argc, char** argv);

/* hull's side of the hand-over to `hull VERB` (hull-monitor.c's exec_hull), called in
 * place of that exec: does what needs no fresh process and exits, or returns and the
 * exec happens. report_fd is the attached CLI's report pipe, or -1. */
void hull_monitor_handover(const char* verb, int removed, int report_fd);

#ifdef __cplusplus
}
#endif
