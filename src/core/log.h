/* The debug log (--log FILE): what xentui did and how long it took.
 * Never passwords, never session ids: callers log method names, not params. */
#ifndef XENTUI_LOG_H
#define XENTUI_LOG_H

#include <stdbool.h>

bool log_open(const char *path, char **err);
void log_close(void);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
