/* Xen Orchestra's directory VHD (vhd-lib's VhdDirectory): a folder holding
 * header, footer, bat (a bit per block, MSB first), parentLocatorEntry0..7
 * and blocks/<n/1000>/<n%1000> (each the sector bitmap then the data);
 * chunk-filters.json (["brotli"], ["gzip"] or [], absent = []) says how every
 * one of those files was compressed. */
#include "vhd_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <json-c/json.h>
#include <zlib.h>

#include "util.h"

static bool dir_bad(struct vhd *v, char **err, char *why)
{
	*err = xasprintf("repository '%s': the directory VHD '%s' is not usable: %s", repo_name(v->r), v->dir, why);
	free(why);
	return false;
}

/* Undoes the chunk filter: the plain bytes (at most max) in *out. */
static bool unfilter(struct vhd *v, uint8_t *in, size_t n, size_t max, uint8_t **out, size_t *outn, char **why)
{
	struct buf b;

	if (!v->brotli && !v->gzip) {
		*out = in;
		*outn = n;
		return true;
	}
	buf_init(&b);
	if (v->brotli) {
		BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		const uint8_t *next_in = in;
		size_t avail_in = n;
		BrotliDecoderResult rc;

		do {
			uint8_t *next_out;
			size_t avail_out;

			buf_reserve(&b, 1u << 16);
			next_out = (uint8_t *)b.data + b.len;
			avail_out = b.cap - b.len;
			rc = BrotliDecoderDecompressStream(st, &avail_in, &next_in, &avail_out, &next_out, NULL);
			b.len = (size_t)(next_out - (uint8_t *)b.data);
		} while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && b.len <= max);
		BrotliDecoderDestroyInstance(st);
		if (rc != BROTLI_DECODER_RESULT_SUCCESS || avail_in != 0 || b.len > max) {
			*why = xstrdup(rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? "its brotli data is cut short"
									     : "its brotli data is damaged");
			buf_free(&b);
			return false;
		}
	} else {
		z_stream z;
		int rc = Z_OK;

		memset(&z, 0, sizeof(z));
		inflateInit2(&z, 15 + 16);
		z.next_in = in;
		z.avail_in = (uInt)n;
		while (rc == Z_OK && b.len <= max) {
			buf_reserve(&b, 1u << 16);
			z.next_out = (Bytef *)b.data + b.len;
			z.avail_out = (uInt)(b.cap - b.len);
			rc = inflate(&z, Z_NO_FLUSH);
			b.len = (size_t)((char *)z.next_out - b.data);
		}
		inflateEnd(&z);
		if (rc != Z_STREAM_END || b.len > max) {
			*why = xstrdup("its gzip data is damaged or cut short");
			buf_free(&b);
			return false;
		}
	}
	free(in);
	*out = (uint8_t *)b.data;
	*outn = b.len;
	return true;
}

/* The file name of the folder, plain; *missing set when it does not exist. */
static bool read_chunk(struct vhd *v, const char *name, size_t max, uint8_t **out, size_t *n, bool *missing,
		       char **err)
{
	char *path = xasprintf("%s/%s", v->dir, name), *why = NULL, *data = NULL;
	bool exists = true;
	uint64_t size;
	size_t len;

	*out = NULL;
	*n = 0;
	if (missing) {
		if (!repo_stat(v->r, path, &exists, &size, err)) {
			free(path);
			return false;
		}
		*missing = !exists;
		if (!exists) {
			free(path);
			return true;
		}
	}
	if (!repo_get(v->r, path, max + max / 8 + 4096, &data, &len, err)) {
		free(path);
		return false;
	}
	if (!unfilter(v, (uint8_t *)data, len, max, out, n, &why)) {
		free(data);
		*err = xasprintf("repository '%s': '%s' is damaged: %s", repo_name(v->r), path, why);
		free(why);
		free(path);
		return false;
	}
	free(path);
	return true;
}

static bool read_filters(struct vhd *v, char **err)
{
	char *path = xasprintf("%s/chunk-filters.json", v->dir), *text = NULL;
	bool exists = false, ok = true;
	uint64_t size;
	size_t n;
	struct json_object *j = NULL;

	if (!repo_stat(v->r, path, &exists, &size, err)) {
		free(path);
		return false;
	}
	if (exists) {
		ok = repo_get(v->r, path, 4096, &text, &n, err);
		if (ok) {
			j = json_tokener_parse(text);
			if (!j || !json_object_is_type(j, json_type_array)) {
				ok = dir_bad(v, err, xstrdup("chunk-filters.json is not a JSON array"));
			} else if (json_object_array_length(j) > 1) {
				ok = dir_bad(v, err, xstrdup("chunk-filters.json names more than one filter"));
			} else if (json_object_array_length(j) == 1) {
				const char *f = json_object_get_string(json_object_array_get_idx(j, 0));
				if (f && strcmp(f, "brotli") == 0)
					v->brotli = true;
				else if (f && strcmp(f, "gzip") == 0)
					v->gzip = true;
				else
					ok = dir_bad(v, err, xasprintf("its chunks use the filter '%s', which xentui cannot read",
								      f ? f : "?"));
			}
		}
	}
	json_object_put(j);
	free(text);
	free(path);
	return ok;
}

bool vhd_dir_open(struct vhd *v, const char *dir, char **err)
{
	uint8_t *p = NULL;
	size_t n;
	char *why = NULL;
	bool missing = false;

	v->dir = xstrdup(dir);
	if (!read_filters(v, err))
		return false;
	if (!read_chunk(v, "footer", VHD_FOOTER_SIZE, &p, &n, NULL, err))
		return false;
	if (n != VHD_FOOTER_SIZE) {
		free(p);
		return dir_bad(v, err, xasprintf("its footer is %zu bytes, not %u", n, VHD_FOOTER_SIZE));
	}
	memcpy(v->footer, p, n);
	free(p);
	if (!vhd_parse_footer(v->footer, &why))
		return dir_bad(v, err, why);
	if (!read_chunk(v, "header", VHD_HEADER_SIZE, &p, &n, NULL, err))
		return false;
	if (n != VHD_HEADER_SIZE) {
		free(p);
		return dir_bad(v, err, xasprintf("its header is %zu bytes, not %u", n, VHD_HEADER_SIZE));
	}
	memcpy(v->header, p, n);
	free(p);
	if (!vhd_parse_header(v, &why))
		return dir_bad(v, err, why);
	/* XO writes a byte per entry; a bit per block is what counts */
	if (!read_chunk(v, "bat", (size_t)v->info.nblocks + 4096, &p, &n, &missing, err))
		return false;
	if (missing) {
		v->bat = xcalloc(1, 1);
		v->bat_len = 0;
	} else {
		v->bat = p;
		v->bat_len = n;
	}
	return true;
}

uint8_t *vhd_dir_locator(struct vhd *v, int i, size_t *n)
{
	char name[32], *err = NULL;
	uint8_t *p = NULL;
	bool missing = false;
	uint32_t len = vh_be32(v->header + H_LOCATORS + i * H_LOCATOR_SIZE + 8);

	snprintf(name, sizeof(name), "parentLocatorEntry%d", i);
	if (!read_chunk(v, name, 4096, &p, n, &missing, &err) || missing) {
		free(err);
		return NULL;
	}
	if (len && len < *n)
		*n = len;
	return p;
}

bool vhd_dir_read_block(struct vhd *v, uint32_t i, uint8_t *bitmap, uint8_t *data, char **err)
{
	char name[48];
	uint8_t *p = NULL;
	size_t n, full = (size_t)v->bitmap_bytes + v->info.block_size;
	uint32_t map = v->info.block_size / VHD_SECTOR / 8;

	if (map == 0)
		map = 1;
	snprintf(name, sizeof(name), "blocks/%u/%u", i / 1000, i % 1000);
	/* no stat first: one request per block matters on S3 */
	if (!read_chunk(v, name, full, &p, &n, NULL, err))
		return false;
	if (n != full) {
		free(p);
		return dir_bad(v, err, xasprintf("%s holds %zu bytes, not the %zu of a block", name, n, full));
	}
	memcpy(bitmap, p, map);
	memcpy(data, p + v->bitmap_bytes, v->info.block_size);
	free(p);
	return true;
}
