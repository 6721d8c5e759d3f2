/* A backup job or remote written back into the configuration's text,
 * keeping every comment and every setting the form does not edit
 * (backups_jobedit.c). */
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

/* One key of a group as a form edits it. */
struct group_key {
	const char *key;
	char *value; /* as libconfig text (a string quoted); NULL: the key goes away */
	bool keep;   /* not edited this time: left as the file writes it */
	bool add;    /* written when the group lacks it (false: a default, only replaced where written) */
};

/* text (n bytes) with the group named old_name of the top-level list `list`
 * given keys k[0..nk), or a new group (old_name NULL), or that group removed
 * (k NULL); every other byte as it was. A new string, or NULL with *err. */
char *groupedit_apply(const char *text, size_t n, const char *list, const char *old_name, const struct group_key *k,
		      size_t nk, char **err);

/* Why text cannot name an entry beside others[0..n): no quote, backslash or
 * slash (it is written into the file and names folders), else taken when
 * another has it; NULL when it can. */
const char *groupedit_name_problem(const char *text, char *const *others, size_t n, const char *taken);

/* text (n bytes) with job old_name edited to e, or a new job e (old_name
 * NULL), or job old_name removed (e NULL). A new string, or NULL with *err. */
char *jobedit_apply(const char *text, size_t n, const char *old_name, const struct job_edit *e, char **err);

struct app;
struct backup_cfg;
/* Reads the configuration at path, applies edit to its text, checks the
 * result with the backup engine's reader and replaces the file (atomically);
 * false with *err (a sentence) and the file untouched. */
bool backups_cfg_edit(const char *path, char *(*edit)(const char *text, size_t n, void *ud, char **err), void *ud,
		      char **err);
/* The remote form (backups_remoteform.c): name NULL for a new remote. */
void backup_remote_form(struct app *app, const struct backup_cfg *bc, const char *name);
/* Removes a remote no job uses, after its name is typed; refuses, naming
 * the jobs, when one does. */
void backup_remote_delete(struct app *app, const struct backup_cfg *bc, const char *name);
/* The job form (backups_jobform.c): name NULL for a new job. */
void backup_job_form(struct app *app, const struct backup_cfg *bc, const char *name);
/* Asks for the job's name to be typed, then removes it from the file. */
void backup_job_delete(struct app *app, const char *name);

#endif
