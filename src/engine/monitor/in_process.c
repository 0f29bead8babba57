/* hull-monitor.c as hull links it (see hull-monitor.h): the same code, entered through
 * hull_monitor_main, handing over through hull_monitor_handover. */
#define HULL_MONITOR_IN_PROCESS 1
#include "engine/monitor/hull-monitor.c"
