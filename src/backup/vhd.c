/* Reading one VHD of a repository: a dynamic or differencing .vhd file
 * (footer at the end, or its copy at 0; dynamic header; BAT; parent
 * locators), or XO's directory VHD reached through an .alias.vhd (vhd_dir.c).
 * Everything is big-endian; see vhd_int.h for the offsets. */
#include "vhd_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- bytes ------------------------------------------------------------------ */

uint32_t vh_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t vh_be64(const uint8_t *p)
{
	return (uint64_t)vh_be32(p) << 32 | vh_be32(p + 4);
}

void vh_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void vh_put64(uint8_t *p, uint64_t v)
{
	vh_put32(p, (uint32_t)(v >> 32));
	vh_put32(p + 4, (uint32_t)v);
}

uint32_t vhd_checksum(const uint8_t *p, size_t len, size_t at)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < at || i >= at + 4)
			sum += p[i];
	return ~sum;
}

uint32_t vhd_bitmap_bytes(uint32_t block_size)
{
	uint32_t bytes = block_size / VHD_SECTOR / 8;

	return bytes ? (bytes + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR : VHD_SECTOR;
}

/* ---- text and paths ------------------------------------------------------------- */

char *vhd_utf16_to_utf8(const uint8_t *p, size_t n, bool big_endian)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = big_endian ? (uint32_t)p[i] << 8 | p[i + 1] : (uint32_t)p[i + 1] << 8 | p[i];

		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 3 < n) {
			uint32_t lo = big_endian ? (uint32_t)p[i + 2] << 8 | p[i + 3] : (uint32_t)p[i + 3] << 8 | p[i + 2];
			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (c < 0x80) {
			buf_putc(&b, (char)c);
		} else if (c < 0x800) {
			buf_putc(&b, (char)(0xC0 | c >> 6));
			buf_putc(&b, (char)(0x80 | (c & 0x3F)));
		} else if (c < 0x10000) {
			buf_putc(&b, (char)(0xE0 | c >> 12));
			buf_putc(&b, (char)(0x80 | (c >> 6 & 0x3F)));
			buf_putc(&b, (char)(0x80 | (c & 0x3F)));
		} else {
			buf_putc(&b, (char)(0xF0 | c >> 18));
			buf_putc(&b, (char)(0x80 | (c >> 12 & 0x3F)));
			buf_putc(&b, (char)(0x80 | (c >> 6 & 0x3F)));
			buf_putc(&b, (char)(0x80 | (c & 0x3F)));
		}
	}
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

static size_t put16(uint8_t *out, size_t at, size_t max, uint32_t u, bool be)
{
	if (at + 2 > max)
		return at;
	out[at + (be ? 0 : 1)] = (uint8_t)(u >> 8);
	out[at + (be ? 1 : 0)] = (uint8_t)u;
	return at + 2;
}

size_t vhd_utf8_to_utf16(const char *s, uint8_t *out, size_t max, bool big_endian)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at = 0;

	while (*p) {
		uint32_t c = *p++;
		int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;

		if (more)
			c &= 0x3Fu >> more;
		while (more-- > 0 && (*p & 0xC0) == 0x80)
			c = c << 6 | (*p++ & 0x3F);
		if (c >= 0x10000) {
			if (at + 4 > max)
				break;
			c -= 0x10000;
			at = put16(out, at, max, 0xD800 | c >> 10, big_endian);
			at = put16(out, at, max, 0xDC00 | (c & 0x3FF), big_endian);
		} else {
			if (at + 2 > max)
				break;
			at = put16(out, at, max, c, big_endian);
		}
	}
	return at;
}

char *vhd_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

char *vhd_path_join(const char *dir, const char *rel)
{
	char *all = *rel == '/' ? xstrdup(rel) : xasprintf("%s/%s", dir, rel);
	char **parts = xcalloc(strlen(all) + 1, sizeof(char *));
	size_t n = 0;
	struct buf b;
	bool ok = true;

	for (char *p = all; *p; p++)
		if (*p == '\\')
			*p = '/'; /* Windows-style locators */
	for (char *save = NULL, *t = strtok_r(all, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (n == 0) {
				ok = false;
				break;
			}
			n--;
			continue;
		}
		parts[n++] = t;
	}
	buf_init(&b);
	for (size_t i = 0; ok && i < n; i++) {
		if (i)
			buf_putc(&b, '/');
		buf_puts(&b, parts[i]);
	}
	buf_putc(&b, '\0');
	free(parts);
	free(all);
	if (!ok || b.len <= 1) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* ---- footer and header --------------------------------------------------------- */

bool vhd_parse_footer(const uint8_t *f, char **why)
{
	uint32_t type = vh_be32(f + F_TYPE);

	if (memcmp(f, "conectix", 8) != 0) {
		*why = xstrdup("it has no VHD footer");
		return false;
	}
	if (vh_be32(f + F_CHECKSUM) != vhd_checksum(f, VHD_FOOTER_SIZE, F_CHECKSUM)) {
		*why = xstrdup("its footer's checksum is wrong");
		return false;
	}
	if (type != VHD_TYPE_DYNAMIC && type != VHD_TYPE_DIFF) {
		*why = xasprintf("it is a VHD of type %u, not a dynamic or differencing one", type);
		return false;
	}
	return true;
}

bool vhd_parse_header(struct vhd *v, char **why)
{
	const uint8_t *h = v->header, *f = v->footer;
	uint32_t bs = vh_be32(h + H_BLOCK_SIZE), entries = vh_be32(h + H_ENTRIES);
	uint64_t size = vh_be64(f + F_CURRENT_SIZE);

	if (memcmp(h, "cxsparse", 8) != 0) {
		*why = xstrdup("its dynamic header is missing");
		return false;
	}
	if (vh_be32(h + H_CHECKSUM) != vhd_checksum(h, VHD_HEADER_SIZE, H_CHECKSUM)) {
		*why = xstrdup("its dynamic header's checksum is wrong");
		return false;
	}
	if (bs < VHD_SECTOR || bs > (256u << 20) || (bs & (bs - 1)) != 0) {
		*why = xasprintf("its block size %u is not a power of two of sectors", bs);
		return false;
	}
	if (entries > VHD_MAX_BLOCKS || (uint64_t)entries * bs < size) {
		*why = xasprintf("its table of %u blocks does not cover its size of %llu bytes", entries,
				 (unsigned long long)size);
		return false;
	}
	v->info.size = size;
	v->info.block_size = bs;
	v->info.nblocks = entries;
	v->info.differencing = vh_be32(f + F_TYPE) == VHD_TYPE_DIFF;
	memcpy(v->info.uuid, f + F_UUID, 16);
	memcpy(v->info.parent_uuid, h + H_PARENT_UUID, 16);
	v->info.timestamp = vh_be32(f + F_TIMESTAMP);
	v->bitmap_bytes = vhd_bitmap_bytes(bs);
	return true;
}

/* ---- a file VHD ------------------------------------------------------------------ */

static bool bad(struct vhd *v, char **err, char *why)
{
	*err = xasprintf("repository '%s': '%s' is not a usable VHD: %s", repo_name(v->r), v->path, why);
	free(why);
	return false;
}

/* The locator's path as UTF-8, from a file or a directory VHD. */
static char *locator_path(struct vhd *v)
{
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < 8; i++) {
			const uint8_t *e = v->header + H_LOCATORS + i * H_LOCATOR_SIZE;
			uint32_t code = vh_be32(e), len = vh_be32(e + 8);
			uint64_t off = vh_be64(e + 16);
			uint32_t want = pass == 0 ? PLAT_W2KU : pass == 1 ? PLAT_W2RU : PLAT_MACX;
			uint8_t *data = NULL;
			size_t n = 0;
			char *s;

			if (code != want)
				continue;
			if (v->dir) {
				data = vhd_dir_locator(v, i, &n);
			} else if (len > 0 && len <= 4096 && off + len <= v->fsize) {
				char *e2 = NULL;
				data = xmalloc(len);
				n = len;
				if (!repo_pread(v->f, off, data, len, &e2)) {
					free(e2);
					free(data);
					data = NULL;
				}
			}
			if (!data)
				continue;
			if (code == PLAT_MACX) {
				s = xstrndup((const char *)data, n);
				if (strncmp(s, "file://", 7) == 0)
					memmove(s, s + 7, strlen(s + 7) + 1);
			} else {
				s = vhd_utf16_to_utf8(data, n, false);
			}
			free(data);
			if (*s)
				return s;
			free(s);
		}
	}
	return NULL;
}

static bool open_file(struct vhd *v, char **err)
{
	uint8_t end[VHD_FOOTER_SIZE];
	char *why = NULL;
	uint64_t hdr_at, bat_at;

	v->f = repo_open_read(v->r, v->path, err);
	if (!v->f)
		return false;
	v->fsize = repo_rsize(v->f);
	if (v->fsize < VHD_FOOTER_SIZE + VHD_HEADER_SIZE)
		return bad(v, err, xasprintf("it is only %llu bytes long", (unsigned long long)v->fsize));
	if (!repo_pread(v->f, v->fsize - VHD_FOOTER_SIZE, end, sizeof(end), err))
		return false;
	if (vhd_parse_footer(end, &why)) {
		memcpy(v->footer, end, sizeof(end));
	} else {
		/* a file whose end was damaged or cut: the copy at 0 still tells */
		char *why0 = NULL;
		if (!repo_pread(v->f, 0, v->footer, VHD_FOOTER_SIZE, err)) {
			free(why);
			return false;
		}
		if (!vhd_parse_footer(v->footer, &why0)) {
			free(why0);
			return bad(v, err, why);
		}
		free(why);
	}
	hdr_at = vh_be64(v->footer + F_DATA_OFFSET);
	if (hdr_at > v->fsize || v->fsize - hdr_at < VHD_HEADER_SIZE)
		return bad(v, err, xstrdup("its dynamic header lies past its end"));
	if (!repo_pread(v->f, hdr_at, v->header, VHD_HEADER_SIZE, err))
		return false;
	if (!vhd_parse_header(v, &why))
		return bad(v, err, why);
	bat_at = vh_be64(v->header + H_TABLE_OFFSET);
	v->bat_len = (size_t)v->info.nblocks * 4;
	if (bat_at > v->fsize || v->fsize - bat_at < v->bat_len)
		return bad(v, err, xstrdup("its block allocation table lies past its end"));
	v->bat = xmalloc(v->bat_len ? v->bat_len : 1);
	if (v->bat_len && !repo_pread(v->f, bat_at, v->bat, v->bat_len, err))
		return false;
	return true;
}

/* An alias names a directory VHD relative to its own folder (XO); a path
 * relative to the repository's root is accepted too. */
static char *resolve_alias(struct vhd *v, char **err)
{
	char *text = NULL, *dir, *target, *s, *e;
	size_t n;
	bool exists = false;
	uint64_t size;

	if (!repo_get(v->r, v->path, 1024, &text, &n, err))
		return NULL;
	for (s = text; *s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'; s++)
		;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
		*--e = '\0';
	if (!*s || (strlen(s) >= 10 && strcmp(s + strlen(s) - 10, ".alias.vhd") == 0)) {
		*err = xasprintf("repository '%s': the alias '%s' names %s", repo_name(v->r), v->path,
				 *s ? "another alias, which is not allowed" : "nothing");
		free(text);
		return NULL;
	}
	dir = vhd_dirname(v->path);
	target = vhd_path_join(dir, s);
	free(dir);
	if (target) {
		char *probe = xasprintf("%s/footer", target);
		char *e2 = NULL;
		if (!repo_stat(v->r, probe, &exists, &size, &e2))
			free(e2);
		free(probe);
	}
	if (!exists) {
		char *root = vhd_path_join("", s);
		if (root) {
			free(target);
			target = root;
		}
	}
	if (!target)
		*err = xasprintf("repository '%s': the alias '%s' names '%s', outside the repository", repo_name(v->r),
				 v->path, s);
	free(text);
	return target;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

struct vhd *vhd_open(struct repo *r, const char *path, char **err)
{
	struct vhd *v = xcalloc(1, sizeof(*v));
	bool ok;

	v->r = r;
	v->path = xstrdup(path);
	if (ends_with(path, ".alias.vhd")) {
		char *target = resolve_alias(v, err);
		ok = target && vhd_dir_open(v, target, err);
		free(target);
	} else {
		char *probe = xasprintf("%s/footer", path), *e2 = NULL;
		bool exists = false;
		uint64_t size;

		if (!repo_stat(r, probe, &exists, &size, &e2))
			free(e2);
		free(probe);
		ok = exists ? vhd_dir_open(v, path, err) : open_file(v, err);
	}
	if (!ok) {
		vhd_close(v);
		return NULL;
	}
	if (v->info.differencing) {
		v->info.parent_path = locator_path(v);
		if (!v->info.parent_path) {
			char *name = vhd_utf16_to_utf8(v->header + H_PARENT_NAME, H_PARENT_NAME_LEN, true);
			if (*name)
				v->info.parent_path = name;
			else
				free(name);
		}
	}
	return v;
}

void vhd_close(struct vhd *v)
{
	if (!v)
		return;
	repo_rclose(v->f);
	free(v->info.parent_path);
	free(v->bat);
	free(v->dir);
	free(v->path);
	free(v);
}

const struct vhd_info *vhd_info(const struct vhd *v)
{
	return &v->info;
}

bool vhd_has_block(const struct vhd *v, uint32_t i)
{
	if (i >= v->info.nblocks)
		return false;
	if (v->dir)
		return (size_t)(i >> 3) < v->bat_len && (v->bat[i >> 3] << (i & 7) & 0x80) != 0;
	return vh_be32(v->bat + 4 * (size_t)i) != VHD_UNUSED;
}

bool vhd_read_block(struct vhd *v, uint32_t i, uint8_t *bitmap, uint8_t *data, char **err)
{
	uint32_t map = v->info.block_size / VHD_SECTOR / 8;
	uint64_t at;

	if (map == 0)
		map = 1;
	if (!vhd_has_block(v, i)) {
		memset(bitmap, 0, map);
		memset(data, 0, v->info.block_size);
		return true;
	}
	if (v->dir)
		return vhd_dir_read_block(v, i, bitmap, data, err);
	at = (uint64_t)vh_be32(v->bat + 4 * (size_t)i) * VHD_SECTOR;
	if (at + v->bitmap_bytes + v->info.block_size > v->fsize) {
		*err = xasprintf("repository '%s': '%s' is damaged: block %u lies past the file's end", repo_name(v->r),
				 v->path, i);
		return false;
	}
	if (map == v->bitmap_bytes) {
		if (!repo_pread(v->f, at, bitmap, map, err))
			return false;
	} else {
		uint8_t *tmp = xmalloc(v->bitmap_bytes);
		bool ok = repo_pread(v->f, at, tmp, v->bitmap_bytes, err);
		if (ok)
			memcpy(bitmap, tmp, map);
		free(tmp);
		if (!ok)
			return false;
	}
	return repo_pread(v->f, at + v->bitmap_bytes, data, v->info.block_size, err);
}

/* ---- vhd_check ------------------------------------------------------------------ */

struct extent {
	uint64_t start, end;
	uint32_t block;
};

static int extent_cmp(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

bool vhd_check(struct vhd *v, char **err)
{
	struct extent *ex;
	size_t n = 0;
	uint64_t hdr_at, bat_at, full = (uint64_t)v->bitmap_bytes + v->info.block_size;
	bool ok = true;

	if (v->dir) {
		/* footer and header were checked at open; each block is checked as it is read */
		for (uint32_t i = 0; i < v->info.nblocks && ok; i++)
			if (vhd_has_block(v, i)) {
				uint8_t *bm = xmalloc(v->bitmap_bytes), *data = xmalloc(v->info.block_size);
				ok = vhd_dir_read_block(v, i, bm, data, err);
				free(bm);
				free(data);
			}
		return ok;
	}
	{
		uint8_t f0[VHD_FOOTER_SIZE], fe[VHD_FOOTER_SIZE];
		char *why = NULL;

		if (!repo_pread(v->f, 0, f0, sizeof(f0), err) ||
		    !repo_pread(v->f, v->fsize - VHD_FOOTER_SIZE, fe, sizeof(fe), err))
			return false;
		if (!vhd_parse_footer(fe, &why)) {
			char *m = xasprintf("its end footer is damaged (%s): was it cut short?", why);
			free(why);
			return bad(v, err, m);
		}
		if (!vhd_parse_footer(f0, &why)) {
			char *m = xasprintf("the copy of its footer at byte 0 is damaged (%s)", why);
			free(why);
			return bad(v, err, m);
		}
		if (memcmp(f0, fe, sizeof(f0)) != 0)
			return bad(v, err, xstrdup("its two footers differ"));
	}
	hdr_at = vh_be64(v->footer + F_DATA_OFFSET);
	bat_at = vh_be64(v->header + H_TABLE_OFFSET);
	if (bat_at < hdr_at + VHD_HEADER_SIZE && bat_at + v->bat_len > hdr_at)
		return bad(v, err, xstrdup("its block allocation table overlaps its header"));
	ex = xcalloc((size_t)v->info.nblocks + 1, sizeof(*ex));
	for (uint32_t i = 0; i < v->info.nblocks; i++) {
		uint32_t s = vh_be32(v->bat + 4 * (size_t)i);
		if (s == VHD_UNUSED)
			continue;
		ex[n].start = (uint64_t)s * VHD_SECTOR;
		ex[n].end = ex[n].start + full;
		ex[n].block = i;
		n++;
	}
	qsort(ex, n, sizeof(*ex), extent_cmp);
	for (size_t k = 0; k < n && ok; k++) {
		uint64_t st = ex[k].start, en = ex[k].end;

		if (en > v->fsize - VHD_FOOTER_SIZE)
			ok = bad(v, err, xasprintf("block %u lies past the end of the file", ex[k].block));
		else if (st < VHD_FOOTER_SIZE)
			ok = bad(v, err, xasprintf("block %u overlaps the footer's copy", ex[k].block));
		else if (st < hdr_at + VHD_HEADER_SIZE && en > hdr_at)
			ok = bad(v, err, xasprintf("block %u overlaps the header", ex[k].block));
		else if (st < bat_at + v->bat_len && en > bat_at)
			ok = bad(v, err, xasprintf("block %u overlaps the block allocation table", ex[k].block));
		else if (k > 0 && st < ex[k - 1].end)
			ok = bad(v, err, xasprintf("blocks %u and %u overlap", ex[k - 1].block, ex[k].block));
	}
	free(ex);
	return ok;
}
