/* Every screen, and the `:` command table that names them. */
#ifndef XENTUI_SCREENS_H
#define XENTUI_SCREENS_H

#include "screen.h"

extern const struct screen screen_dashboard;
extern const struct screen screen_vms;
extern const struct screen screen_vm;    /* arg: the VM's ref */
extern const struct screen screen_hosts;
extern const struct screen screen_host;  /* arg: the host's ref */
extern const struct screen screen_tasks;
extern const struct screen screen_console; /* arg: the VM's qualified ref, or "vnc:HOST:PORT" */
extern const struct screen screen_servers;
extern const struct screen screen_help;  /* describes the screen under it */

extern const struct command screen_commands[];

#endif
