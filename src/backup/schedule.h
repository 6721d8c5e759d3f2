/* Cron schedules ("m h dom mon dow", local time) for `xentui backup due`. */
#ifndef XENTUI_BACKUP_SCHEDULE_H
#define XENTUI_BACKUP_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

struct cron {
	uint64_t min;   /* bit n: minute n */
	uint32_t hour;
	uint32_t dom;   /* bits 1..31 */
	uint16_t mon;   /* bits 1..12 */
	uint8_t dow;    /* bits 0..6, Sunday 0 (7 is read as 0) */
	bool dom_any;   /* "*": with a restricted dow, only dow counts */
	bool dow_any;
};

/* Five fields: *, lists, ranges, steps, jan..dec, sun..sat; @hourly, @daily,
 * @weekly, @monthly, @yearly too. false with *err (a sentence) if not. */
bool cron_parse(const char *expr, struct cron *out, char **err);
/* The first time the schedule fires strictly after t (seconds, UTC epoch;
 * the schedule read in local time), or -1 when it never does (Feb 30). */
int64_t cron_next(const struct cron *c, int64_t t);

#endif
