#include "units.h"
#include "util.h"

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
	if (*s == '-') {
		*why = "a size cannot be negative";
		return false;
	}
	/* digits with at most one point: no sign, exponent, hex or "inf" */
	{
		size_t digits = strspn(s, "0123456789"), len = digits;
		if (s[len] == '.') {
			size_t more = strspn(s + len + 1, "0123456789");
			digits += more;
			len += 1 + more;
		}
		if (!digits) {
			*why = "not a size: write e.g. 4 GiB or 512 MiB";
			return false;
		}
		/* by hand: strtod would follow a locale's decimal comma */
		v = 0;
		for (size_t i = 0, scale = 0; i < len; i++) {
			if (s[i] == '.')
				scale = 1;
			else if (scale)
				v += (s[i] - '0') / pow(10, (double)scale++);
			else
				v = v * 10 + (s[i] - '0');
		}
		end = (char *)s + len;
	}
	if (v < 0 || isnan(v)) {
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
		for (size_t i = 0; i < ARRAY_LEN(units); i++)
			if (strlen(units[i].name) == len && strncasecmp(end, units[i].name, len) == 0) {
				unit = 1LL << units[i].shift;
				known = true;
			}
		end += len;
		while (isspace((unsigned char)*end))
			end++;
		if (!known || *end) {
			*why = "unknown unit: use M, G, T (MiB, GiB, TiB) or B, K";
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

const char *size_unit_name(long long unit)
{
	static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB"};

	for (int i = 0; i < 5; i++)
		if (unit == 1LL << (10 * i))
			return names[i];
	return NULL;
}

/* bytes in unit with two decimals at most, when that reads back exactly. */
static bool exact_in(char *buf, size_t n, long long bytes, long long unit)
{
	for (int d = 0; d <= 2; d++) {
		char tmp[48];
		long long back;
		const char *why;
		snprintf(tmp, sizeof(tmp), "%.*f", d, (double)bytes / (double)unit);
		if (size_parse(tmp, unit, &back, &why) && back == bytes) {
			snprintf(buf, n, "%s", tmp);
			return true;
		}
	}
	return false;
}

void size_format_in(char *buf, size_t n, long long bytes, long long unit)
{
	char num[48];

	if (bytes < 0 || !size_unit_name(unit)) {
		size_format(buf, n, bytes);
		return;
	}
	if (exact_in(buf, n, bytes, unit))
		return;
	/* else the largest unit that says it exactly, named: it parses back
	 * to the same bytes (a disk's current size stays its minimum) */
	for (int shift = 40; shift >= 0; shift -= 10)
		if (exact_in(num, sizeof(num), bytes, 1LL << shift)) {
			snprintf(buf, n, "%s %s", num, size_unit_name(1LL << shift));
			return;
		}
	size_format(buf, n, bytes);
}
