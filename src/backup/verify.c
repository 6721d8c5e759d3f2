/* Verify: every point of a repository (or of one VM) checked as restore
 * would need it: the .json loads, each file is there with the size and
 * SHA-256 recorded, XVAs end properly with every member's checksum right,
 * VHD chains open whole down to a full. One line per point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkutil.h"
#include "run.h"
#include "util.h"
#include "vhd.h"
#include "xva.h"

/* Reads a file once: SHA-256, size and, for an XVA, its members checked. */
static bool read_file(struct repo *r, const char *path, bool xva, char sha[65], uint64_t *size, char **xerr, char **err)
{
	struct repo_rfile *f = repo_open_read(r, path, err);
	struct xva_check *xc = xva ? xva_check_new() : NULL;
	EVP_MD_CTX *md;
	unsigned char *buf;
	uint64_t total = 0;
	ssize_t n;
	bool ok = true;

	if (!f) {
		if (xc)
			xva_check_free(xc);
		return false;
	}
	md = bk_sha_new();
	buf = xmalloc(1 << 20);
	while ((n = repo_read(f, buf, 1 << 20, err)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += (uint64_t)n;
		if (xc && !*xerr)
			xva_check_write(xc, buf, (size_t)n, xerr);
	}
	if (n < 0)
		ok = false;
	if (ok && xc && !*xerr)
		xva_check_finish(xc, xerr);
	free(buf);
	repo_rclose(f);
	bk_sha_hex(md, sha);
	if (xc)
		xva_check_free(xc);
	*size = total;
	return ok;
}

/* The chain under path: whole, each member's structure sound. */
static bool check_chain(struct repo *r, const char *path, bool differencing, char **err)
{
	struct vhd_chain *c = vhd_chain_open(r, path, err);
	bool ok = true;

	if (!c)
		return false;
	if (differencing && vhd_chain_length(c) < 2) {
		*err = xasprintf("%s is a delta whose parent is missing", path);
		ok = false;
	}
	for (size_t i = 0; ok && i < vhd_chain_length(c); i++) {
		struct vhd *h = vhd_open(r, vhd_chain_path(c, i), err);
		ok = h && vhd_check(h, err);
		if (ok && i + 1 == vhd_chain_length(c) && vhd_info(h)->differencing) {
			*err = xasprintf("the chain of %s ends in a delta (%s): its parent is missing", path,
					 vhd_chain_path(c, i));
			ok = false;
		}
		if (h)
			vhd_close(h);
	}
	vhd_chain_close(c);
	return ok;
}

/* One point: NULL when sound, else a sentence. */
static char *check_point(struct repo *r, const struct point *p)
{
	char *why = NULL;

	if (p->nfiles == 0)
		return xstrdup("it names no file");
	for (size_t i = 0; i < p->nfiles && !why; i++) {
		const struct point_file *f = &p->files[i];
		char *path = bk_vm_path(p->vm_uuid, f->path), sha[65], *err = NULL;
		size_t l = strlen(path);
		bool xva = l > 4 && strcmp(path + l - 4, ".xva") == 0, alias = l > 10 && strcmp(path + l - 10, ".alias.vhd") == 0;
		bool exists = false;
		uint64_t size = 0;

		if (!alias && (!repo_stat(r, path, &exists, &size, &err) || !exists)) {
			why = err ? err : xasprintf("%s is missing", path);
			free(path);
			break;
		}
		if (!alias && *f->sha256 && size != f->size) {
			why = xasprintf("%s has %llu bytes, %llu were written", path, (unsigned long long)size,
					(unsigned long long)f->size);
		} else if (!alias && (*f->sha256 || xva)) {
			char *xerr = NULL;
			if (!read_file(r, path, xva, sha, &size, &xerr, &err))
				why = xasprintf("%s: %s", path, err ? err : "cannot be read");
			else if (*f->sha256 && strcmp(sha, f->sha256) != 0)
				why = xasprintf("%s does not have the SHA-256 recorded when it was written", path);
			else if (xerr)
				why = xasprintf("%s is not a whole XVA: %s", path, xerr);
			free(xerr);
			free(err);
			err = NULL;
		}
		if (!why && !xva && !check_chain(r, path, f->differencing, &err)) {
			why = err ? err : xasprintf("the chain of %s is broken", path);
			err = NULL;
		}
		free(err);
		free(path);
	}
	return why;
}

static void verify_vm(struct repo *r, const char *uuid, FILE *out, int *bad)
{
	char *dir = xasprintf("xo-vm-backups/%s", uuid), *err = NULL;
	struct repo_entry *e = NULL;
	size_t ne = 0;

	if (!repo_list(r, dir, &e, &ne, &err)) {
		fprintf(out, "BAD %s: the folder cannot be listed: %s\n", dir, err ? err : "?");
		(*bad)++;
		free(err);
		free(dir);
		return;
	}
	for (size_t i = 0; i < ne; i++) {
		size_t l = strlen(e[i].name);
		char *jp, *why;
		struct point p;
		if (e[i].is_dir || e[i].name[0] == '.' || l < 6 || strcmp(e[i].name + l - 5, ".json") != 0)
			continue;
		jp = xasprintf("%s/%s", dir, e[i].name);
		if (!point_load(r, jp, &p, &err)) {
			fprintf(out, "BAD %.*s %s: the .json does not load: %s\n", (int)(l - 5), e[i].name, uuid,
				err ? err : "?");
			(*bad)++;
			free(err);
			err = NULL;
			free(jp);
			continue;
		}
		free(jp);
		why = check_point(r, &p);
		{
			char hs[24];
			bk_human(p.size, hs);
			if (why) {
				fprintf(out, "BAD %s %s %s: %s\n", p.ts, *p.vm_name ? p.vm_name : uuid, p.mode, why);
				(*bad)++;
			} else {
				fprintf(out, "ok %s %s %s %s\n", p.ts, *p.vm_name ? p.vm_name : uuid, p.mode, hs);
			}
		}
		fflush(out);
		free(why);
		point_free(&p);
	}
	repo_entries_free(e, ne);
	free(dir);
}

bool verify_points(struct repo *r, const char *vm_uuid, FILE *out, int *bad, char **err)
{
	struct repo_entry *e = NULL;
	size_t ne = 0;

	*bad = 0;
	*err = NULL;
	if (vm_uuid) {
		verify_vm(r, vm_uuid, out, bad);
		return true;
	}
	if (!repo_list(r, "xo-vm-backups", &e, &ne, err))
		return false;
	for (size_t i = 0; i < ne; i++)
		if (e[i].is_dir && e[i].name[0] != '.')
			verify_vm(r, e[i].name, out, bad);
	repo_entries_free(e, ne);
	return true;
}
