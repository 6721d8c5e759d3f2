/* Merging an aged-out point into the next one, on the repository itself:
 * each delta VHD of the newer point becomes a full VHD of the 2-member
 * chain (written under a temporary name, then committed over the delta's
 * own name, so children still find it), its .json rewritten, then the old
 * point deleted, .json first. A state file written first makes a merge cut
 * short finish on the next run; every step can be done twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "util.h"
#include "vhd.h"

char *merge_state_path(const char *vm_uuid, const char *job_id)
{
	return xasprintf("xo-vm-backups/%s/.xentui-merge-%s.state", vm_uuid, job_id);
}

struct merged {
	char *path; /* relative to the VM folder */
	uint64_t size;
	char sha[65];
};

bool merge_write_whole(struct repo *r, const char *full, struct vhd_chain *c, const uint8_t uuid[16], uint64_t *size,
		       char sha[65], char **err)
{
	struct vhd_stream *s = NULL;
	struct repo_wfile *w = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *buf = NULL;
	ssize_t n = 0;
	bool ok = false;

	if (!(s = vhd_stream_new(c, uuid, err)) || !(w = repo_create(r, full, err)))
		goto out;
	md = bk_sha_new();
	buf = xmalloc(1 << 20);
	*size = 0;
	while ((n = vhd_stream_read(s, buf, 1 << 20, err)) > 0) {
		if (!repo_write(w, buf, (size_t)n, err)) {
			n = -1;
			break;
		}
		EVP_DigestUpdate(md, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	bk_sha_hex(md, sha);
	if (n < 0)
		goto out;
	vhd_stream_free(s);
	s = NULL;
	vhd_chain_close(c);
	c = NULL;
	ok = repo_commit(w, err);
	w = NULL;
out:
	if (w)
		repo_abort(w);
	if (s)
		vhd_stream_free(s);
	if (c)
		vhd_chain_close(c);
	free(buf);
	return ok;
}

/* Writes the full VHD of the chain under path (a delta over its parent). */
static bool merge_one(struct repo *r, const char *full, const char *old_ts, struct merged *m, char **err)
{
	struct vhd_chain *c = vhd_chain_open(r, full, err);
	uint8_t uuid[16];

	if (!c)
		return false;
	if (vhd_chain_length(c) != 2 || !strstr(vhd_chain_path(c, 1), old_ts)) {
		*err = xasprintf("%s on %s is not a delta over the point %s (its chain has %zu files): it cannot be merged",
				 full, repo_name(r), old_ts, vhd_chain_length(c));
		vhd_chain_close(c);
		return false;
	}
	{
		struct vhd *h = vhd_open(r, full, err);
		if (!h) {
			vhd_chain_close(c);
			return false;
		}
		memcpy(uuid, vhd_info(h)->uuid, 16); /* children name it by this UUID */
		vhd_close(h);
	}
	return merge_write_whole(r, full, c, uuid, &m->size, m->sha, err);
}

/* The newer point's .json, its VHDs now full. */
static bool rewrite_json(struct repo *r, const struct point *np, struct merged *m, size_t nm, char **err)
{
	struct json_object *root = json_tokener_parse(np->json), *diff, *x, *files;
	const char *text;
	bool ok;

	if (!root) {
		*err = xasprintf("%s on %s cannot be read back", np->json_path, repo_name(r));
		return false;
	}
	if (json_object_object_get_ex(root, "isVhdDifferencing", &diff) && json_object_is_type(diff, json_type_object)) {
		json_object_object_foreach(diff, k, v) {
			(void)v;
			for (size_t i = 0; i < np->nfiles; i++) {
				char *key = np->files[i].vdi ? xasprintf("%s.vhd", np->files[i].vdi) : NULL;
				bool hit = (key && strcmp(key, k) == 0) || strcmp(k, np->files[i].path) == 0;
				free(key);
				for (size_t j = 0; hit && j < nm; j++)
					if (strcmp(m[j].path, np->files[i].path) == 0)
						json_object_object_add(diff, k, json_object_new_boolean(false));
			}
		}
	}
	if (!json_object_object_get_ex(root, "xentui", &x) || !json_object_is_type(x, json_type_object)) {
		x = json_object_new_object();
		json_object_object_add(root, "xentui", x);
	}
	if (!json_object_object_get_ex(x, "files", &files) || !json_object_is_type(files, json_type_object)) {
		files = json_object_new_object();
		json_object_object_add(x, "files", files);
	}
	{
		/* the point's size: what its files hold now */
		uint64_t total = 0;
		json_object_object_foreach(files, k, v) {
			struct json_object *sz;
			bool replaced = false;
			for (size_t j = 0; j < nm; j++)
				replaced |= strcmp(m[j].path, k) == 0;
			if (!replaced && json_object_object_get_ex(v, "size", &sz))
				total += (uint64_t)json_object_get_int64(sz);
		}
		for (size_t j = 0; j < nm; j++)
			total += m[j].size;
		json_object_object_add(root, "size", json_object_new_int64((int64_t)total));
	}
	for (size_t j = 0; j < nm; j++) {
		struct json_object *f = json_object_new_object();
		json_object_object_add(f, "size", json_object_new_int64((int64_t)m[j].size));
		json_object_object_add(f, "sha256", json_object_new_string(m[j].sha));
		json_object_object_add(files, m[j].path, f);
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	ok = repo_put(r, np->json_path, text, strlen(text), err);
	json_object_put(root);
	return ok;
}

/* Deletes a point: its .json first (so it stops existing), then its files. */
static bool delete_point(struct repo *r, const char *json_path, const struct point *p, char **err)
{
	if (!repo_unlink(r, json_path, err))
		return false;
	for (size_t i = 0; p && i < p->nfiles; i++) {
		char *path = bk_vm_path(p->vm_uuid, p->files[i].path);
		bool ok = repo_unlink(r, path, err);
		free(path);
		if (!ok)
			return false;
	}
	return true;
}

bool merge_points(struct repo *r, const char *vm_uuid, const char *job_id, const char *old_ts, const char *new_ts,
		  char **err)
{
	char *state = merge_state_path(vm_uuid, job_id), *line = xasprintf("%s %s\n", old_ts, new_ts);
	char *ojp = xasprintf("xo-vm-backups/%s/%s.json", vm_uuid, old_ts);
	char *njp = xasprintf("xo-vm-backups/%s/%s.json", vm_uuid, new_ts);
	struct point op, np;
	bool have_old = false, have_new = false, ok = false, exists = false;
	struct merged *m = NULL;
	size_t nm = 0;

	*err = NULL;
	memset(&op, 0, sizeof(op));
	memset(&np, 0, sizeof(np));
	if (!repo_put(r, state, line, strlen(line), err))
		goto out;
	if (!repo_stat(r, njp, &exists, NULL, err))
		goto out;
	if (!exists) {
		/* nothing to merge into: the state is stale */
		ok = repo_unlink(r, state, err);
		goto out;
	}
	if (!point_load(r, njp, &np, err))
		goto out;
	have_new = true;
	if (!repo_stat(r, ojp, &exists, NULL, err))
		goto out;
	if (exists) {
		if (!point_load(r, ojp, &op, err))
			goto out;
		have_old = true;
	}
	m = xcalloc(np.nfiles + 1, sizeof(*m));
	for (size_t i = 0; i < np.nfiles; i++) {
		const struct point_file *f = &np.files[i];
		char *full = bk_vm_path(vm_uuid, f->path);
		struct vhd *h;
		bool diff;
		size_t l = strlen(f->path);
		if (l < 4 || strcmp(f->path + l - 4, ".vhd") != 0 || (l > 10 && strcmp(f->path + l - 10, ".alias.vhd") == 0)) {
			free(full);
			if (f->differencing) {
				*err = xasprintf("%s on %s is not a plain VHD file: xentui cannot merge it", f->path, repo_name(r));
				goto out;
			}
			continue;
		}
		if (!(h = vhd_open(r, full, err))) {
			free(full);
			goto out;
		}
		diff = vhd_info(h)->differencing;
		vhd_close(h);
		m[nm].path = xstrdup(f->path);
		if (diff) {
			if (!merge_one(r, full, old_ts, &m[nm], err)) {
				free(full);
				nm++;
				goto out;
			}
			nm++;
		} else if (f->differencing || !*f->sha256) {
			/* merged by a run cut short before the .json was rewritten */
			if (!bk_sha256_file(r, full, m[nm].sha, &m[nm].size, err)) {
				free(full);
				nm++;
				goto out;
			}
			nm++;
		} else {
			free(m[nm].path);
			m[nm].path = NULL;
		}
		free(full);
	}
	if (nm && !rewrite_json(r, &np, m, nm, err))
		goto out;
	if (!delete_point(r, ojp, have_old ? &op : NULL, err))
		goto out;
	if (!have_old) {
		/* the .json went first on an earlier try: the files named like it go now */
		for (size_t i = 0; i < np.nfiles; i++) {
			const char *slash = strrchr(np.files[i].path, '/');
			char *rel, *full;
			if (!slash)
				continue;
			rel = xasprintf("%.*s/%s.vhd", (int)(slash - np.files[i].path), np.files[i].path, old_ts);
			full = bk_vm_path(vm_uuid, rel);
			repo_unlink(r, full, err);
			free(*err);
			*err = NULL;
			free(rel);
			free(full);
		}
	}
	ok = repo_unlink(r, state, err);
out:
	for (size_t i = 0; i < nm; i++)
		free(m[i].path);
	free(m);
	if (have_old)
		point_free(&op);
	if (have_new)
		point_free(&np);
	free(state);
	free(line);
	free(ojp);
	free(njp);
	return ok;
}
