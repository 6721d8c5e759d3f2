/* A chain of VHDs (newest first, down to a full one) and the full dynamic
 * VHD synthesised from it as a stream: footer, header, BAT, then each block
 * any member holds, merged sector by sector (the newest member whose bitmap
 * has the sector wins), then the footer again. Memory: two blocks and the BAT. */
#include "vhd_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CHAIN_MAX 1000 /* far beyond any retention; a loop guard */

struct vhd_chain {
	struct vhd **v;
	char **path;
	size_t n;
};

void vhd_chain_close(struct vhd_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		vhd_close(c->v[i]);
		free(c->path[i]);
	}
	free(c->v);
	free(c->path);
	free(c);
}

size_t vhd_chain_length(const struct vhd_chain *c)
{
	return c->n;
}

const char *vhd_chain_path(const struct vhd_chain *c, size_t i)
{
	return i < c->n ? c->path[i] : NULL;
}

static bool in_chain(const struct vhd_chain *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->path[i], path) == 0)
			return true;
	return false;
}

static void push(struct vhd_chain *c, struct vhd *v, const char *path)
{
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->path = xrealloc(c->path, (c->n + 1) * sizeof(*c->path));
	c->v[c->n] = v;
	c->path[c->n] = xstrdup(path);
	c->n++;
}

/* A VHD at path whose footer UUID is want, or NULL (no error: the caller looks on). */
static struct vhd *try_parent(struct repo *r, const char *path, const uint8_t want[16])
{
	char *err = NULL;
	struct vhd *p = vhd_open(r, path, &err);

	free(err);
	if (p && memcmp(vhd_info(p)->uuid, want, 16) != 0) {
		vhd_close(p);
		p = NULL;
	}
	return p;
}

static bool is_vhd_name(const char *s)
{
	size_t n = strlen(s);

	return n > 4 && strcmp(s + n - 4, ".vhd") == 0 && s[0] != '.';
}

/* The newest .vhd of folder dir named before child_name whose UUID is want. */
static struct vhd *search_parent(struct repo *r, const char *dir, const char *child_name, const uint8_t want[16],
				 char **found, char **err)
{
	struct repo_entry *e = NULL;
	size_t n = 0;
	struct vhd *p = NULL;

	if (!repo_list(r, dir, &e, &n, err))
		return NULL;
	for (size_t i = n; i-- > 0 && !p;) {
		char *path;

		if (!is_vhd_name(e[i].name) || strcmp(e[i].name, child_name) >= 0)
			continue;
		path = *dir ? xasprintf("%s/%s", dir, e[i].name) : xstrdup(e[i].name);
		p = try_parent(r, path, want);
		if (p)
			*found = path;
		else
			free(path);
	}
	repo_entries_free(e, n);
	return p;
}

struct vhd_chain *vhd_chain_open(struct repo *r, const char *path, char **err)
{
	struct vhd_chain *c = xcalloc(1, sizeof(*c));
	struct vhd *v = vhd_open(r, path, err);

	if (!v) {
		free(c);
		return NULL;
	}
	push(c, v, path);
	while (vhd_info(c->v[c->n - 1])->differencing) {
		const struct vhd_info *ci = vhd_info(c->v[c->n - 1]);
		const char *cpath = c->path[c->n - 1], *slash = strrchr(cpath, '/');
		char *dir = vhd_dirname(cpath), *ppath = NULL, uuid[37];
		struct vhd *p = NULL;

		if (c->n >= CHAIN_MAX) {
			*err = xasprintf("repository '%s': the chain of '%s' is longer than %d VHDs", repo_name(r), path,
					 CHAIN_MAX);
			free(dir);
			vhd_chain_close(c);
			return NULL;
		}
		if (ci->parent_path) {
			ppath = vhd_path_join(dir, ci->parent_path);
			if (ppath && !in_chain(c, ppath))
				p = try_parent(r, ppath, ci->parent_uuid);
			if (!p) {
				free(ppath);
				ppath = NULL;
			}
		}
		if (!p) {
			char *e2 = NULL;
			p = search_parent(r, dir, slash ? slash + 1 : cpath, ci->parent_uuid, &ppath, &e2);
			if (!p && e2) {
				*err = e2;
				free(dir);
				vhd_chain_close(c);
				return NULL;
			}
		}
		free(dir);
		if (!p || in_chain(c, ppath)) {
			uuid_format(ci->parent_uuid, uuid);
			*err = xasprintf("repository '%s': the parent of '%s' (a VHD with UUID %s%s%s) is missing, so that "
					 "restore point cannot be read",
					 repo_name(r), cpath, uuid, ci->parent_path ? ", named " : "",
					 ci->parent_path ? ci->parent_path : "");
			vhd_close(p);
			free(ppath);
			vhd_chain_close(c);
			return NULL;
		}
		if (vhd_info(p)->block_size != ci->block_size) {
			*err = xasprintf("repository '%s': '%s' and its parent '%s' use different block sizes", repo_name(r),
					 cpath, ppath);
			vhd_close(p);
			free(ppath);
			vhd_chain_close(c);
			return NULL;
		}
		push(c, p, ppath);
		free(ppath);
	}
	return c;
}

/* ---- the synthesised stream ------------------------------------------------------- */

struct vhd_stream {
	struct vhd_chain *c;
	uint8_t *head;       /* footer, header and BAT, as sent */
	size_t head_len;
	uint8_t footer[VHD_FOOTER_SIZE];
	uint32_t *order;     /* the blocks present, in file order */
	uint32_t nblocks_out;
	uint32_t bs, map, bitmap_bytes;
	uint64_t length, pos;
	uint8_t *blk;        /* the current merged block: bitmap then data */
	uint8_t *tmp_map, *tmp_data;
	int64_t cur;         /* index in order[] of the block in blk, -1 none */
};

static bool chain_has(const struct vhd_chain *c, uint32_t i)
{
	for (size_t k = 0; k < c->n; k++)
		if (vhd_has_block(c->v[k], i))
			return true;
	return false;
}

struct vhd_stream *vhd_stream_new(struct vhd_chain *c, const uint8_t uuid[16], char **err)
{
	struct vhd_stream *s = xcalloc(1, sizeof(*s));
	const struct vhd *top = c->v[0];
	const struct vhd_info *ti = vhd_info(top);
	uint32_t n = ti->nblocks, next;
	size_t bat_bytes = ((size_t)n * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	uint8_t *f, *h, *bat;

	s->c = c;
	s->bs = ti->block_size;
	s->map = s->bs / VHD_SECTOR / 8 ? s->bs / VHD_SECTOR / 8 : 1;
	s->bitmap_bytes = vhd_bitmap_bytes(s->bs);
	s->head_len = VHD_FOOTER_SIZE + VHD_HEADER_SIZE + (bat_bytes ? bat_bytes : VHD_SECTOR);
	s->head = xcalloc(1, s->head_len);
	s->order = xmalloc(((size_t)n + 1) * sizeof(uint32_t));
	s->cur = -1;

	/* the footer: the newest member's, made a dynamic disk with a new UUID */
	f = s->footer;
	memcpy(f, top->footer, VHD_FOOTER_SIZE);
	vh_put64(f + F_DATA_OFFSET, VHD_FOOTER_SIZE);
	vh_put32(f + F_TYPE, VHD_TYPE_DYNAMIC);
	memcpy(f + F_UUID, uuid, 16);
	vh_put32(f + F_CHECKSUM, vhd_checksum(f, VHD_FOOTER_SIZE, F_CHECKSUM));
	memcpy(s->head, f, VHD_FOOTER_SIZE);

	h = s->head + VHD_FOOTER_SIZE;
	memcpy(h, "cxsparse", 8);
	vh_put64(h + 8, ~0ULL);
	vh_put64(h + H_TABLE_OFFSET, VHD_FOOTER_SIZE + VHD_HEADER_SIZE);
	vh_put32(h + 24, 0x00010000);
	vh_put32(h + H_ENTRIES, n);
	vh_put32(h + H_BLOCK_SIZE, s->bs);
	vh_put32(h + H_CHECKSUM, vhd_checksum(h, VHD_HEADER_SIZE, H_CHECKSUM));

	bat = h + VHD_HEADER_SIZE;
	memset(bat, 0xFF, s->head_len - VHD_FOOTER_SIZE - VHD_HEADER_SIZE);
	s->length = s->head_len;
	next = (uint32_t)(s->head_len / VHD_SECTOR);
	for (uint32_t i = 0; i < n; i++) {
		if (!chain_has(c, i))
			continue;
		if ((uint64_t)next + (s->bitmap_bytes + (uint64_t)s->bs) / VHD_SECTOR > 0xFFFFFFFEull) {
			*err = xstrdup("the disk is too big to be written as one VHD");
			vhd_stream_free(s);
			return NULL;
		}
		vh_put32(bat + 4 * (size_t)i, next);
		next += (s->bitmap_bytes + s->bs) / VHD_SECTOR;
		s->order[s->nblocks_out++] = i;
		s->length += (uint64_t)s->bitmap_bytes + s->bs;
	}
	s->length += VHD_FOOTER_SIZE;
	s->blk = xmalloc((size_t)s->bitmap_bytes + s->bs);
	s->tmp_map = xmalloc(s->map);
	s->tmp_data = xmalloc(s->bs);
	return s;
}

uint64_t vhd_stream_length(const struct vhd_stream *s)
{
	return s->length;
}

static bool bit(const uint8_t *map, uint32_t k)
{
	return (map[k >> 3] << (k & 7) & 0x80) != 0;
}

/* Merges block i of the chain into s->blk (newest first). */
static bool merge_block(struct vhd_stream *s, uint32_t i, char **err)
{
	uint32_t sectors = s->bs / VHD_SECTOR, left = sectors;
	uint8_t *data = s->blk + s->bitmap_bytes;
	uint8_t *done = s->blk; /* the output bitmap, used first to note filled sectors */

	memset(s->blk, 0, (size_t)s->bitmap_bytes + s->bs);
	for (size_t k = 0; k < s->c->n && left > 0; k++) {
		struct vhd *v = s->c->v[k];

		if (!vhd_has_block(v, i))
			continue;
		if (!vhd_read_block(v, i, s->tmp_map, s->tmp_data, err))
			return false;
		for (uint32_t q = 0; q < sectors; q++) {
			if (bit(done, q) || !bit(s->tmp_map, q))
				continue;
			memcpy(data + (size_t)q * VHD_SECTOR, s->tmp_data + (size_t)q * VHD_SECTOR, VHD_SECTOR);
			done[q >> 3] |= (uint8_t)(0x80 >> (q & 7));
			left--;
		}
	}
	/* sectors no member holds read as zeros: the full disk defines them all */
	memset(s->blk, 0xFF, s->map);
	return true;
}

ssize_t vhd_stream_read(struct vhd_stream *s, void *buf, size_t n, char **err)
{
	uint8_t *out = buf;
	size_t got = 0;
	uint64_t full = (uint64_t)s->bitmap_bytes + s->bs, blocks_end = s->head_len + full * s->nblocks_out;

	while (got < n && s->pos < s->length) {
		size_t k;

		if (s->pos < s->head_len) {
			k = (size_t)(s->head_len - s->pos) < n - got ? (size_t)(s->head_len - s->pos) : n - got;
			memcpy(out + got, s->head + s->pos, k);
		} else if (s->pos < blocks_end) {
			uint64_t rel = s->pos - s->head_len, idx = rel / full, in = rel % full;

			if ((int64_t)idx != s->cur) {
				if (!merge_block(s, s->order[idx], err)) {
					s->cur = -1;
					return -1;
				}
				s->cur = (int64_t)idx;
			}
			k = (size_t)(full - in) < n - got ? (size_t)(full - in) : n - got;
			memcpy(out + got, s->blk + in, k);
		} else {
			uint64_t in = s->pos - blocks_end;
			k = (size_t)(VHD_FOOTER_SIZE - in) < n - got ? (size_t)(VHD_FOOTER_SIZE - in) : n - got;
			memcpy(out + got, s->footer + in, k);
		}
		got += k;
		s->pos += k;
	}
	return (ssize_t)got;
}

void vhd_stream_free(struct vhd_stream *s)
{
	if (!s)
		return;
	free(s->head);
	free(s->order);
	free(s->blk);
	free(s->tmp_map);
	free(s->tmp_data);
	free(s);
}
