/* A backup job written back into the configuration's text, keeping every
 * comment and every setting the form does not edit (backups_jobedit.c). */
#ifndef XENTUI_SCREENS_BACKUPS_JOBEDIT_H
#define XENTUI_SCREENS_BACKUPS_JOBEDIT_H

#include <stdbool.h>
#include <stddef.h>

/* What the job form edits; an empty list or string removes the key. */
struct job_edit {
	const char *name, *server, *mode, *schedule;
	char **vms;
	size_t nvms;
	char **tags;
	size_t ntags;
	char **remotes;
	size_t nremotes;
	int retention;
	const char *target_server; /* dr/cr: the pool of the replicas (NULL: the job's server) */
	const char *target_sr;     /* dr/cr: where the replicas go (NULL: none) */
	const char *source_remote; /* mirror: the remote copied (NULL: none) */
	bool cbt;                  /* delta: nbd and purge_snapshot_data are edited (else left as written) */
	bool nbd;                  /* delta: read disks over NBD when the pool offers it (default true) */
	bool purge_snapshot_data;  /* delta with NBD: no snapshot data kept on the SR (default false) */
};

/* text (n bytes) with job old_name edited to e, or a new job e (old_name
 * NULL), or job old_name removed (e NULL). A new string, or NULL with *err. */
char *jobedit_apply(const char *text, size_t n, const char *old_name, const struct job_edit *e, char **err);

struct app;
struct backup_cfg;
/* The job form (backups_jobform.c): name NULL for a new job. */
void backup_job_form(struct app *app, const struct backup_cfg *bc, const char *name);
/* Asks for the job's name to be typed, then removes it from the file. */
void backup_job_delete(struct app *app, const char *name);

#endif
