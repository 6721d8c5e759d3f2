/* Which points long-term retention keeps: XO's bucket walk, in C. */
#include "ltr.h"

#include <time.h>

enum { P_DAY, P_WEEK, P_MONTH, P_YEAR };

bool ltr_enabled(const struct ltr_cfg *l)
{
	return l->daily > 0 || l->weekly > 0 || l->monthly > 0 || l->yearly > 0;
}

/* The period of kind p that holds t, as a number equal for equal periods. */
static long bucket(int64_t t, int p)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	switch (p) {
	case P_DAY: return (long)(tm.tm_year + 1900) * 1000 + tm.tm_yday;
	case P_WEEK: {
		/* the week's Sunday, at noon so a DST change cannot move its date */
		struct tm s = tm;
		s.tm_mday -= s.tm_wday;
		s.tm_hour = 12;
		s.tm_min = s.tm_sec = 0;
		s.tm_isdst = -1;
		mktime(&s);
		return (long)(s.tm_year + 1900) * 1000 + s.tm_yday;
	}
	case P_MONTH: return (long)(tm.tm_year + 1900) * 12 + tm.tm_mon;
	default: return tm.tm_year + 1900L;
	}
}

void ltr_select(const int64_t *t, size_t n, int retention, const struct ltr_cfg *l, bool *keep)
{
	const int counts[4] = {l->daily, l->weekly, l->monthly, l->yearly};

	for (size_t i = 0; i < n; i++)
		keep[i] = retention > 0 && i + (size_t)retention >= n;
	for (int p = 0; p < 4; p++) {
		int remaining = counts[p];
		bool have = false;
		long last = 0;
		size_t cand = 0;

		if (remaining <= 0)
			continue;
		/* newest first: a new period counts while any remain; a period's
		 * candidate is replaced by each older point in it, so its oldest wins */
		for (size_t k = n; k-- > 0;) {
			long b = bucket(t[k], p);
			if (!have || b != last) {
				if (remaining == 0)
					break;
				if (have)
					keep[cand] = true;
				have = true;
				last = b;
				remaining--;
			}
			cand = k;
		}
		if (have)
			keep[cand] = true;
	}
}
