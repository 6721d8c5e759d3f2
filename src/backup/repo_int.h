/* What each kind of repository implements (repo.c dispatches by the URL's
 * scheme and adds what is common: repo_put, repo_get, repo_selftest). */
#ifndef XENTUI_BACKUP_REPO_INT_H
#define XENTUI_BACKUP_REPO_INT_H

#include "repo.h"

struct repo_ops {
	const char *scheme; /* "file", "nfs", "smb", "s3", "s3+http" */
	/* Connects; fills *state (the backend's own) or returns false with *err. */
	bool (*open)(struct repo *r, const struct remote_cfg *rc, void **state, char **err);
	void (*close)(void *state);
	/* Writes: the backend's handle for one file being written. */
	void *(*create)(void *state, const char *path, char **err);
	bool (*write)(void *wf, const void *buf, size_t n, char **err);
	bool (*commit)(void *wf, char **err); /* frees wf */
	void (*abort)(void *wf);              /* frees wf */
	bool (*stat)(void *state, const char *path, bool *exists, uint64_t *size, char **err);
	void *(*open_read)(void *state, const char *path, uint64_t *size, char **err);
	ssize_t (*read)(void *rf, void *buf, size_t n, char **err);
	bool (*pread)(void *rf, uint64_t off, void *buf, size_t n, char **err);
	void (*rclose)(void *rf);
	bool (*list)(void *state, const char *dir, struct repo_entry **out, size_t *n, char **err);
	bool (*unlink)(void *state, const char *path, char **err);
	bool (*remove_tree)(void *state, const char *dir, char **err);
	bool (*rename)(void *state, const char *from, const char *to, char **err);
	bool (*space)(void *state, uint64_t *total, uint64_t *avail); /* may be NULL */
};

extern const struct repo_ops repo_file_ops;
extern const struct repo_ops repo_nfs_ops;
extern const struct repo_ops repo_smb_ops;
extern const struct repo_ops repo_s3_ops; /* s3:// and s3+http:// */

/* The secret of rc (password_file, _env or _command), or NULL with *err;
 * free it with secret_free. NULL with *err NULL when rc names none. */
char *repo_secret(const struct remote_cfg *rc, char **err);

#endif
