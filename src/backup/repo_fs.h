/* What the file://, nfs:// and smb:// repositories share: each is a file
 * system reached through its own calls (POSIX, libnfs, libsmbclient), whose
 * files are written under a temporary name beside the final one and read
 * in pieces. Here are the steps that are the same whatever the calls; each
 * backend keeps only what differs. Errors are positive errno values. */
#ifndef XENTUI_BACKUP_REPO_FS_H
#define XENTUI_BACKUP_REPO_FS_H

#include "repo.h"

/* ".tmp-<16 hex>-<name>" beside path (its folder part kept, if any); the
 * name is cut to 200 bytes so the whole stays within NAME_MAX. */
char *repo_fs_temp_name(const char *path);

/* "the <where> is full (no space left on the device)", "the <server> did
 * not answer in time", or strerror(e). */
char *repo_fs_why(int e, const char *where, const char *server);

/* One read of at most n bytes at off: >= 0 bytes, or -1 with *err. */
typedef ssize_t (*repo_fs_read_at_fn)(void *f, uint64_t off, void *buf, size_t n, char **err);
/* Up to n bytes at *pos, moving *pos: what repo_read does. */
ssize_t repo_fs_read(void *f, repo_fs_read_at_fn read_at, uint64_t *pos, void *buf, size_t n, char **err);
/* Exactly n bytes at off, in as many reads as it takes; rel names the file
 * when it ends before. */
bool repo_fs_pread(void *f, repo_fs_read_at_fn read_at, const char *rel, uint64_t off, void *buf, size_t n,
		   char **err);

/* Adds one entry to the list *v of *n entries (room for *cap). */
void repo_fs_entry_add(struct repo_entry **v, size_t *n, size_t *cap, const char *name, bool is_dir,
		       uint64_t size);

/* A backend's calls on its own paths (full paths, or paths in a share),
 * for walking folders; each returns 0 or an errno. */
struct repo_fs_tree {
	void *ctx;
	/* the entries of a folder, without "." and ".."; missing: none, 0 */
	int (*list)(void *ctx, const char *path, struct repo_entry **e, size_t *n);
	int (*unlink)(void *ctx, const char *path);
	int (*rmdir)(void *ctx, const char *path);
	int (*mkdir)(void *ctx, const char *path);
	bool (*is_dir)(void *ctx, const char *path); /* whether a folder is there */
};

/* rm -r of the folder path (missing is no error); one listing held per
 * level. */
int repo_fs_remove_tree(const struct repo_fs_tree *t, const char *path);
/* mkdir -p of path: each of its prefixes ending at a slash at or after
 * byte from, then path itself; one round trip when it is there already. */
int repo_fs_mkdirs(const struct repo_fs_tree *t, const char *path, size_t from);

#endif
