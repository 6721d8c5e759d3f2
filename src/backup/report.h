/* A run's report by e-mail (XO's "report when"): plain text, sent through
 * libcurl's SMTP to the `smtp` group's recipients, STARTTLS required on
 * smtp:// (unless security = "none", then without a login), TLS from the
 * start on smtps://. */
#ifndef XENTUI_BACKUP_REPORT_H
#define XENTUI_BACKUP_REPORT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "bconfig.h"

/* The message (headers and body, CRLF lines) for run record rec as run.c
 * logs it; date is the Date header's time. Free it. */
char *report_message(const struct smtp_cfg *m, const struct job_cfg *job, struct json_object *rec, int64_t date);
/* The run failed, or skipped a VM. */
bool report_is_failure(struct json_object *rec);
/* Sends msg; false with *err (a sentence) when the server would not take it. */
bool report_send(const struct smtp_cfg *m, const char *msg, char **err);
/* After a run: mails rec when the job's `report` asks for it. A report
 * that cannot be sent is said on stderr and recorded in rec as
 * "report_error"; a sent one as "report": "sent". Never fails the run. */
void report_after_run(const struct backup_cfg *bc, const struct job_cfg *job, struct json_object *rec);

#endif
