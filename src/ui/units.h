/* Sizes as people write them: "4 GiB", "512M", "1.5 TiB" (binary units,
 * as XO and xe show memory and disks). */
#ifndef XENTUI_UI_UNITS_H
#define XENTUI_UI_UNITS_H

#include <stdbool.h>
#include <stddef.h>

/* "4 GiB", "1.5 GiB", "512 MiB", "0 B". */
void size_format(char *buf, size_t n, long long bytes);
/* Parses a size; a bare number counts in default_unit bytes. On failure
 * *why says what is wrong (a static string). */
bool size_parse(const char *s, long long default_unit, long long *out, const char **why);

/* "MiB" for 1 MiB and the other powers of 1024 up to TiB, else NULL. */
const char *size_unit_name(long long unit);
/* bytes as a bare number of unit when that reads back exactly ("4096"
 * for 4 GiB in MiB, "1.5" for 1.5 GiB in GiB), else as size_format. */
void size_format_in(char *buf, size_t n, long long bytes, long long unit);

#endif
