/* Faults injected for tests (--faults SPEC); see tests/sim/README.md.
 *
 * SPEC is a comma-separated list of rules:  KIND[=ARG][:METHOD][*COUNT][@AFTER]
 *   drop           close the connection halfway through the response
 *   delay=MS       answer MS milliseconds late
 *   http500        answer HTTP 500 with an HTML page, as xapi does on transport errors
 *   truncate       send only the first half of the XML (Content-Length to match)
 *   expire         expire every session (the next call gets SESSION_INVALID)
 *   slow=BPS       HTTP transfers (export/import) run at BPS bytes per second
 *   cut=BYTES      a data transfer (/export, /export_raw_vdi, /import,
 *                  /import_raw_vdi, /pool/xmldbdump; METHOD is that path)
 *                  stops after BYTES bytes of body: the server closes the
 *                  connection after the 200 and fails the task
 *                  (VDI_IO_ERROR for disks, INTERNAL_ERROR for the dump)
 * METHOD limits a rule to one call (e.g. VM.get_all_records; Async. ignored)
 * or, for cut, one handler path (e.g. /export; RPC rules never match a path),
 * COUNT to its first COUNT matches, AFTER to calls after the AFTER-th match.
 * SIGUSR1 expires every session at once, whatever the spec. */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <stdbool.h>

struct fault_action {
	int delay_ms;
	bool drop;
	bool http500;
	bool truncate;
	bool expire;
};

bool faults_parse(const char *spec, char **err);
void faults_free(void);
/* What to do to the answer of this call (counts it). */
void faults_for_call(const char *method, struct fault_action *a);
long faults_slow_bps(void);
/* For a data transfer on path (counts it): the body bytes after which to
 * cut it, or -1. */
long faults_cut_for(const char *path);

#endif
