/* Cron expressions: parsing and the next time one fires, in local time. */
#include "schedule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
				     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct field {
	const char *name;
	int lo, hi;
	const char *const *names; /* names[i] is lo + i */
	int nnames;
};

static const struct field fields[5] = {
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day of the month", 1, 31, NULL, 0},
	{"month", 1, 12, months, 12},
	{"day of the week", 0, 7, days, 7},
};

/* A number or a name at *p; advances past it. */
static bool atom(const struct field *f, const char **p, int *out)
{
	const char *s = *p;

	if (isdigit((unsigned char)*s)) {
		char *end;
		long v = strtol(s, &end, 10);
		if (v < f->lo || v > f->hi)
			return false;
		*out = (int)v;
		*p = end;
		return true;
	}
	for (int i = 0; i < f->nnames; i++)
		if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
			*out = f->lo + i;
			*p = s + 3;
			return true;
		}
	return false;
}

/* One field ("*\/15", "1-5", "mon,wed,fri") into a bit set. */
static bool parse_field(const struct field *f, const char *s, uint64_t *bits, bool *any)
{
	*bits = 0;
	*any = strcmp(s, "*") == 0;
	for (;;) {
		int a = f->lo, b = f->hi, step = 1;
		bool star = *s == '*', range = false;
		if (star) {
			s++;
		} else {
			if (!atom(f, &s, &a))
				return false;
			b = a;
			if (*s == '-') {
				s++;
				if (!atom(f, &s, &b) || b < a)
					return false;
				range = true;
			}
		}
		if (*s == '/') {
			char *end;
			long v;
			s++;
			v = strtol(s, &end, 10);
			if (end == s || v < 1 || v > f->hi + 1)
				return false;
			step = (int)v;
			s = end;
			if (!star && !range)
				b = f->hi; /* "5/15": from 5 to the end */
		}
		for (int v = a; v <= b; v += step)
			*bits |= 1ull << v;
		if (*s == '\0')
			return true;
		if (*s != ',')
			return false;
		s++;
	}
}

bool cron_parse(const char *expr, struct cron *out, char **err)
{
	static const struct {
		const char *name, *expr;
	} macros[] = {{"@hourly", "0 * * * *"}, {"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
		      {"@weekly", "0 0 * * 0"}, {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
		      {"@annually", "0 0 1 1 *"}};
	char *copy, *tok[6], *save = NULL, *p;
	int n = 0;
	uint64_t bits[5];
	bool any[5];

	*err = NULL;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ARRAY_LEN(macros); i++)
		if (strcasecmp(expr, macros[i].name) == 0)
			expr = macros[i].expr;
	copy = xstrdup(expr);
	for (p = strtok_r(copy, " \t", &save); p && n < 6; p = strtok_r(NULL, " \t", &save))
		tok[n++] = p;
	if (n != 5) {
		*err = xasprintf("the schedule '%s' needs 5 fields: minute hour day-of-month month day-of-week", expr);
		free(copy);
		return false;
	}
	for (int i = 0; i < 5; i++)
		if (!parse_field(&fields[i], tok[i], &bits[i], &any[i])) {
			*err = xasprintf("the schedule '%s': '%s' is not a valid %s (%d-%d)", expr, tok[i], fields[i].name,
					 fields[i].lo, fields[i].hi == 7 ? 6 : fields[i].hi);
			free(copy);
			return false;
		}
	free(copy);
	out->min = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->mon = (uint16_t)bits[3];
	out->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
	out->dom_any = any[2];
	out->dow_any = any[4];
	return true;
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
	bool dom = c->dom & (1u << tm->tm_mday), dow = c->dow & (1u << tm->tm_wday);

	if (c->dom_any && c->dow_any)
		return true;
	if (c->dom_any)
		return dow;
	if (c->dow_any)
		return dom;
	return dom || dow; /* cron's rule: either, when both are given */
}

int64_t cron_next(const struct cron *c, int64_t t)
{
	time_t now = (time_t)((t / 60 + 1) * 60);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_sec = 0;
	/* at most five years of days: beyond it, the date never comes */
	for (int guard = 0; guard < 5 * 366 * 24 * 60; guard++) {
		time_t at;
		if (!(c->mon & (1u << (tm.tm_mon + 1)))) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!(c->hour & (1u << tm.tm_hour))) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!(c->min & (1ull << tm.tm_min))) {
			tm.tm_min++;
		} else {
			tm.tm_isdst = -1;
			at = mktime(&tm);
			return at > (time_t)t ? (int64_t)at : (int64_t)(t + 60);
		}
		tm.tm_isdst = -1;
		at = mktime(&tm); /* normalises the overflowed field */
		localtime_r(&at, &tm);
	}
	return -1;
}
