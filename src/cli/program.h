/* The program's screens as main hands them to the framework (tui_run):
 * screens/program.c fills them in, so src/ never names a screen. */
#ifndef XENTUI_CLI_PROGRAM_H
#define XENTUI_CLI_PROGRAM_H

#include "ui/tui.h"

extern const struct tui_screens program_screens;

#endif
