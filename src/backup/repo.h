/* A backup repository ("remote"): a tree of files named by relative paths
 * ("xo-vm-backups/<vm uuid>/<ts>.json"), on a local folder (file://), an NFS
 * export (libnfs, no mount), an SMB share (libsmbclient) or an S3 bucket
 * (libcurl with AWS SigV4). Calls block: they run in `xentui backup`'s own
 * process, never in the interface's loop, and never use the loop's net
 * (they may be called from inside one of its transfer callbacks).
 *
 * Writing is all-or-nothing: repo_create writes under a temporary name (or,
 * on S3, a multipart upload not yet completed), repo_commit makes the file
 * appear under its name at once, durable (fsync'd file and folder, or the
 * upload completed), replacing an older one; repo_abort leaves no trace.
 * Memory stays bounded whatever a file's size. Every failure is a sentence
 * in *err (to free) that names the repository and the file. */
#ifndef XENTUI_BACKUP_REPO_H
#define XENTUI_BACKUP_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One `remotes` entry of the configuration. Secrets come from a file, an
 * environment variable or a command, as the servers' passwords do. */
struct remote_cfg {
	char *name;
	char *url;              /* file:///p, nfs://host/export/p, smb://host/share/p, s3://bucket/p, s3+http://bucket/p */
	char *user;             /* smb: user name (default "guest"); s3: the access key id */
	char *password_file;    /* smb: password; s3: secret access key */
	char *password_env;
	char *password_command;
	char *endpoint;         /* s3: host[:port] of the server (default s3.<region>.amazonaws.com) */
	char *region;           /* s3: default "us-east-1" */
	bool path_style;        /* s3: http://endpoint/bucket/key (default true for a custom endpoint) */
	/* nfs: the query given to libnfs (e.g. "version=4&nfsport=20490") is part of url */
};

struct repo;
struct repo_wfile;
struct repo_rfile;

struct repo_entry {
	char *name;     /* a name inside the folder listed, no slash */
	bool is_dir;    /* a folder (S3: a common prefix) */
	uint64_t size;  /* files only */
};

/* Connects (and logs in) now, so a bad URL or password is an error here. */
struct repo *repo_open(const struct remote_cfg *rc, char **err);
void repo_close(struct repo *r);
const char *repo_name(const struct repo *r);

/* ---- writing -------------------------------------------------------------- */
/* Folders on the way are made as needed. */
struct repo_wfile *repo_create(struct repo *r, const char *path, char **err);
bool repo_write(struct repo_wfile *f, const void *buf, size_t n, char **err);
/* Makes the file appear under its name, durable; frees f whatever happens. */
bool repo_commit(struct repo_wfile *f, char **err);
/* Removes what was written; frees f. */
void repo_abort(struct repo_wfile *f);
/* A small file at once (JSON, an alias): create, write, commit. */
bool repo_put(struct repo *r, const char *path, const void *data, size_t n, char **err);

/* ---- reading -------------------------------------------------------------- */
/* *exists false (and true returned) when there is no such file. */
bool repo_stat(struct repo *r, const char *path, bool *exists, uint64_t *size, char **err);
struct repo_rfile *repo_open_read(struct repo *r, const char *path, char **err);
uint64_t repo_rsize(const struct repo_rfile *f);
/* Reads up to n bytes at the current position: >0, 0 at the end, -1 on error. */
ssize_t repo_read(struct repo_rfile *f, void *buf, size_t n, char **err);
/* Exactly n bytes at off (not moving the position); false past the end too. */
bool repo_pread(struct repo_rfile *f, uint64_t off, void *buf, size_t n, char **err);
void repo_rclose(struct repo_rfile *f);
/* A whole small file (at most max bytes, else an error), NUL-terminated. */
bool repo_get(struct repo *r, const char *path, size_t max, char **data, size_t *n, char **err);

/* ---- the tree ------------------------------------------------------------- */
/* The entries of folder dir ("" is the root), sorted by name; a missing
 * folder is an empty list. Temporary files of unfinished writes are listed
 * too (their names start with ".tmp-"), so a run can remove what an
 * interrupted one left. */
bool repo_list(struct repo *r, const char *dir, struct repo_entry **out, size_t *n, char **err);
void repo_entries_free(struct repo_entry *e, size_t n);
/* A missing file is no error. */
bool repo_unlink(struct repo *r, const char *path, char **err);
/* A folder and everything under it (a directory VHD); missing is no error. */
bool repo_remove_tree(struct repo *r, const char *dir, char **err);
/* Replaces to if it exists; atomic where the protocol allows (S3: copy, then delete). */
bool repo_rename(struct repo *r, const char *from, const char *to, char **err);
/* Size and free space where the protocol tells them; false when it does not. */
bool repo_space(struct repo *r, uint64_t *total, uint64_t *avail);

/* `xentui backup test REMOTE`: writes, reads back, lists and deletes a small
 * file; on failure *err says which step failed, in a sentence. */
bool repo_selftest(const struct remote_cfg *rc, char **err);

#endif
