/* Words for the Backups screens: schedules, ages, durations; and the run
 * log and progress files read back. */
#ifndef XENTUI_SCREENS_BACKUPS_TEXT_H
#define XENTUI_SCREENS_BACKUPS_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* "every day at 02:00", "every Monday to Friday at 22:30", "every 15 minutes";
 * what it cannot say in words it gives as "cron EXPR". */
void cron_words(const char *expr, char *buf, size_t n);
/* "3 min ago", "2 h ago", "5 days ago" (t: seconds since the epoch). */
void age_words(int64_t t, int64_t now, char *buf, size_t n);
/* "0:42", "1:02:03". */
void duration_words(double seconds, char *buf, size_t n);
/* "2026-12-07 02:00" in local time. */
void time_words(int64_t t, char *buf, size_t n);

/* Every line of runs.jsonl, oldest first (an array of objects; a torn line
 * is left out). A new reference. */
struct json_object *runs_read(void);
/* A job's progress file while it runs (NULL when none). A new reference. */
struct json_object *progress_read(const char *job);
/* The progress file's writer is gone (killed): the file is stale. */
int progress_stale(struct json_object *p);
/* Sum of done / total of a progress object's VMs (0..1), or -1 unknown. */
double progress_fraction(struct json_object *p);

const char *jget_str(struct json_object *o, const char *key);
int64_t jget_int(struct json_object *o, const char *key);
double jget_double(struct json_object *o, const char *key);

#endif
