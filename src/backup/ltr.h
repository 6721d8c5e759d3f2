/* Long-term retention as Xen Orchestra decides it (@xen-orchestra/backups
 * _getOldEntries.mjs): the newest `retention` points are kept, and for each
 * of day, week (Sunday to Saturday), month and year, walking from the newest
 * point back, the first `count` periods that hold a point each keep their
 * oldest point. Periods are in local time (TZ), as schedules are. */
#ifndef XENTUI_BACKUP_LTR_H
#define XENTUI_BACKUP_LTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bconfig.h"

/* Any period count set. */
bool ltr_enabled(const struct ltr_cfg *l);
/* t: n points' times (seconds), oldest first; keep[i] set for each kept. */
void ltr_select(const int64_t *t, size_t n, int retention, const struct ltr_cfg *l, bool *keep);

#endif
