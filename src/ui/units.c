#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void size_format(char *buf, size_t n, long long bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = 0;

	while ((v >= 1024 || v <= -1024) && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == floor(v))
		snprintf(buf, n, "%.0f %s", v, units[u]);
	else
		snprintf(buf, n, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

bool size_parse(const char *s, long long default_unit, long long *out, const char **why)
{
	static const struct {
		const char *name;
		int shift;
	} units[] = {
		{"b", 0}, {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20}, {"mb", 20}, {"mib", 20},
		{"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40}, {"tb", 40}, {"tib", 40},
	};
	char *end;
	double v;
	long long unit = default_unit;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s) {
		*why = "a size is needed, e.g. 4 GiB";
		return false;
	}
	v = strtod(s, &end);
	if (end == s || v < 0 || isnan(v)) {
		*why = "not a size: write e.g. 4 GiB or 512 MiB";
		return false;
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end) {
		size_t len = 0;
		bool known = false;
		while (end[len] && !isspace((unsigned char)end[len]))
			len++;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == len && strncasecmp(end, units[i].name, len) == 0) {
				unit = 1LL << units[i].shift;
				known = true;
			}
		end += len;
		while (isspace((unsigned char)*end))
			end++;
		if (!known || *end) {
			*why = "unknown unit: use B, KiB, MiB, GiB or TiB";
			return false;
		}
	}
	if (v * (double)unit > 9.0e18) {
		*why = "too large";
		return false;
	}
	*out = (long long)llround(v * (double)unit);
	return true;
}
