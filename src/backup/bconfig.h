/* The backup part of the configuration file: `remotes` (repositories) and
 * `backup_jobs`, read with libconfig; errors name the file and the line. */
#ifndef XENTUI_BACKUP_BCONFIG_H
#define XENTUI_BACKUP_BCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "repo.h"

enum bmode {
	BMODE_SNAPSHOT, /* rolling snapshots on the pool */
	BMODE_FULL,     /* an XVA per point */
	BMODE_DELTA,    /* VHD chains: a full, then deltas */
	BMODE_METADATA, /* the pool database and xentui's configuration */
	BMODE_DR,       /* disaster recovery: a full halted copy of the VM on target_sr */
	BMODE_CR,       /* continuous replication: the same, refreshed by deltas */
	BMODE_MIRROR,   /* the points of source_remote copied to remotes */
};

enum breport {
	BREPORT_NEVER,
	BREPORT_FAILURE, /* a VM failed or was skipped, or the job could not start */
	BREPORT_ALWAYS,
};

/* Long-term retention (XO's): besides `retention`, the oldest point of each
 * of the newest `daily` days, `weekly` weeks, ... (local time) is kept. */
struct ltr_cfg {
	int daily, weekly, monthly, yearly;
};

struct job_cfg {
	char *name;
	char *id;              /* `id`, or a UUID derived from the name (XO's jobId) */
	char *server;          /* a `servers` entry */
	enum bmode mode;
	char **remotes;        /* names of `remotes` entries */
	size_t nremotes;
	char **vms;            /* names or UUIDs; none: smart mode */
	size_t nvms;
	char **tags;           /* smart mode: a VM with any of these */
	size_t ntags;
	char **exclude_tags;   /* ... and none of these */
	size_t nexclude_tags;
	char *power_state;     /* smart mode: "Running", "Halted", ... or NULL for any */
	char **pools;          /* smart mode: pool names or UUIDs, none = the server's pool */
	size_t npools;
	char *schedule;        /* cron: "m h dom mon dow", local time; NULL = on demand only */
	int retention;         /* points kept per VM per remote (snapshot mode: snapshots kept), default 7 */
	int full_interval;     /* delta: a full every N runs (0 = only when needed) */
	char *compression;     /* full: "zstd" (default), "gzip" or "none" */
	int concurrency;       /* VMs at once, default 2 */
	bool offline;          /* shut down, back up, start again */
	bool nbd;              /* delta: CBT and NBD when the pool offers them (default true) */
	bool purge_snapshot_data; /* delta with CBT: VDI.data_destroy on the kept snapshot (XO's cbtDestroySnapshotData) */
	int timeout_s;         /* per VM, 0 = none */
	char *hc_sr;           /* health_check's SR (name or uuid); NULL: no health check (healthcheck.c) */
	char **hc_tags;        /* ... only for VMs with one of these; none: every VM */
	size_t nhc_tags;
	int hc_timeout_s;      /* ... how long the guest agent may take, default 600 */
	char *target_server;   /* dr/cr: a `servers` entry (NULL: the job's server) */
	char *target_sr;       /* dr/cr: the SR (name or uuid) the replicas go to */
	char *source_remote;   /* mirror: the `remotes` entry whose points are copied */
	enum breport report;   /* when the run's report is e-mailed */
	struct ltr_cfg ltr;    /* long-term retention, all 0 = none */
	int line;              /* where the job starts in the file */
};

/* `smtp`: where run reports go (libcurl's SMTP). */
struct smtp_cfg {
	char *url;             /* smtp://host:port (STARTTLS required unless plain) or smtps://host:port */
	char *user;            /* NULL: no AUTH */
	char *password_file;
	char *password_env;
	char *password_command;
	char *from;
	char **to;
	size_t nto;
	char *ca_file;         /* trust this CA for the server's certificate (else the system's) */
	bool plain;            /* security = "none": smtp:// without STARTTLS, and so without a login */
	int line;
};

struct backup_cfg {
	char *path;
	struct remote_cfg *remotes;
	size_t nremotes;
	struct job_cfg *jobs;
	size_t njobs;
	struct smtp_cfg *smtp; /* NULL: no `smtp` group */
};

/* Reads `remotes` and `backup_jobs` of the configuration at path (NULL: the
 * default); every key checked, unknown ones refused with file:line. */
bool backup_cfg_load(const char *path, struct backup_cfg *out, char **err);
void backup_cfg_free(struct backup_cfg *c);
const struct remote_cfg *backup_cfg_remote(const struct backup_cfg *c, const char *name);
const struct job_cfg *backup_cfg_job(const struct backup_cfg *c, const char *name);
const char *bmode_name(enum bmode m);

#endif
