/* A streaming checker of an XVA (xapi's VM export): decompresses (gzip or
 * zstd, told by the magic bytes), walks the tar's headers, keeps ova.xml,
 * and verifies each disk chunk Ref:N/%08d against the checksum member that
 * follows it (.xxhash: XXH64 hex; .checksum: SHA-1 hex). */
#include "xva.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "util.h"

#define TAR_BLOCK 512u
#define OVA_MAX (64u << 20) /* ova.xml is metadata: a bigger one is not an XVA */
#define SUM_MAX 128u        /* a checksum member holds a hex digest */

enum comp { C_UNKNOWN, C_NONE, C_GZIP, C_ZSTD };
enum tstate { T_HEADER, T_DATA, T_PAD, T_END };
enum member { M_OTHER, M_OVA, M_CHUNK, M_SUM };

struct xva_check {
	enum comp comp;
	uint8_t magic[4]; /* the first bytes, held until the format is known */
	size_t nmagic;
	z_stream z;
	bool z_init, z_end;
	ZSTD_DStream *zs;
	bool zs_done;   /* the last zstd frame ended */
	uint8_t *out;   /* decompression buffer */

	enum tstate ts;
	uint8_t hdr[TAR_BLOCK];
	size_t nhdr;
	unsigned zero_blocks;
	uint64_t left, pad;
	enum member kind;
	char name[260];

	struct buf ova;
	bool ova_seen;
	uint64_t members, chunks, offset;

	/* the chunk whose checksum member must come next */
	char chunk_name[260];
	bool chunk_pending;
	bool want_xx, want_sha; /* which digests to compute: both until a checksum tells */
	XXH64_state_t *xx;
	EVP_MD_CTX *sha;
	uint64_t xx_digest;
	uint8_t sha_digest[20];
	char sum[SUM_MAX + 1];
	size_t nsum;
	char *err; /* the first fault, kept so later calls repeat it */
};

struct xva_check *xva_check_new(void)
{
	struct xva_check *c = xcalloc(1, sizeof(*c));

	c->want_xx = c->want_sha = true;
	c->xx = XXH64_createState();
	c->sha = EVP_MD_CTX_new();
	c->out = xmalloc(1u << 17);
	buf_init(&c->ova);
	return c;
}

void xva_check_free(struct xva_check *c)
{
	if (!c)
		return;
	if (c->z_init)
		inflateEnd(&c->z);
	ZSTD_freeDStream(c->zs);
	XXH64_freeState(c->xx);
	EVP_MD_CTX_free(c->sha);
	buf_free(&c->ova);
	free(c->out);
	free(c->err);
	free(c);
}

static bool fail(struct xva_check *c, char **err, char *msg)
{
	if (!c->err)
		c->err = msg;
	else
		free(msg);
	*err = xstrdup(c->err);
	return false;
}

/* ---- tar ------------------------------------------------------------------ */

static bool octal(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) { /* GNU base-256 for big sizes */
		v = p[0] & 0x7f;
		for (i = 1; i < n; i++)
			v = v << 8 | p[i];
		*out = v;
		return true;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	if (i < n && p[i] != ' ' && p[i] != '\0')
		return false;
	*out = v;
	return true;
}

static unsigned header_sum(const uint8_t *h)
{
	unsigned sum = 0;

	for (unsigned i = 0; i < TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	return sum;
}

/* "Ref:N/%08d" (the digits only, at least one). */
static bool is_chunk_name(const char *s)
{
	const char *slash;

	if (strncmp(s, "Ref:", 4) != 0 || !(slash = strchr(s, '/')) || slash == s + 4)
		return false;
	if (!slash[1])
		return false;
	for (const char *p = slash + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool begin_member(struct xva_check *c, char **err)
{
	uint64_t sum, size;
	char base[101], prefix[156] = "";
	uint8_t type = c->hdr[156];

	if (!octal(c->hdr + 148, 8, &sum) || sum != header_sum(c->hdr) || !octal(c->hdr + 124, 12, &size))
		return fail(c, err, xasprintf("the XVA is damaged: a tar header at byte %llu of the archive is not valid",
					      (unsigned long long)c->offset));
	memcpy(base, c->hdr, 100);
	base[100] = '\0';
	if (memcmp(c->hdr + 257, "ustar", 5) == 0) {
		memcpy(prefix, c->hdr + 345, 155);
		prefix[155] = '\0';
	}
	snprintf(c->name, sizeof(c->name), "%s%s%s", prefix, prefix[0] ? "/" : "", base);
	c->members++;
	c->left = size;
	c->pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
	c->kind = M_OTHER;
	if (type != '0' && type != '\0') {
		c->kind = M_OTHER; /* folders, pax or long-name records: carried, not checked */
	} else if (c->members == 1) {
		if (strcmp(c->name, "ova.xml") != 0)
			return fail(c, err, xasprintf("this is not an XVA: its first member is '%s', not ova.xml", c->name));
		if (size > OVA_MAX)
			return fail(c, err, xasprintf("the XVA's ova.xml is %llu bytes, too big to be VM metadata",
						      (unsigned long long)size));
		c->kind = M_OVA;
	} else if (is_chunk_name(c->name)) {
		if (c->chunk_pending)
			return fail(c, err, xasprintf("the XVA is damaged: disk chunk '%s' has no checksum member",
						      c->chunk_name));
		c->kind = M_CHUNK;
		snprintf(c->chunk_name, sizeof(c->chunk_name), "%s", c->name);
		c->chunk_pending = true;
		c->chunks++;
		if (c->want_xx)
			XXH64_reset(c->xx, 0);
		if (c->want_sha)
			EVP_DigestInit_ex(c->sha, EVP_sha1(), NULL);
	} else if (ends_with(c->name, ".xxhash") || ends_with(c->name, ".checksum")) {
		bool xx = ends_with(c->name, ".xxhash");
		size_t base_len = strlen(c->name) - (xx ? 7 : 9);

		if (!c->chunk_pending || strlen(c->chunk_name) != base_len || strncmp(c->name, c->chunk_name, base_len) != 0)
			return fail(c, err, xasprintf("the XVA is damaged: checksum member '%s' follows no disk chunk of that name",
						      c->name));
		if ((xx && !c->want_xx) || (!xx && !c->want_sha))
			return fail(c, err, xasprintf("the XVA mixes checksum kinds: '%s' is unexpected", c->name));
		if (size > SUM_MAX)
			return fail(c, err, xasprintf("the XVA is damaged: checksum member '%s' is %llu bytes", c->name,
						      (unsigned long long)size));
		c->kind = M_SUM;
		c->nsum = 0;
		c->chunk_pending = false;
		/* the first checksum tells which digest later chunks need */
		if (xx) {
			c->xx_digest = XXH64_digest(c->xx);
			c->want_sha = false;
		} else {
			unsigned len = 0;
			EVP_DigestFinal_ex(c->sha, c->sha_digest, &len);
			c->want_xx = false;
		}
	} else if (c->chunk_pending) {
		return fail(c, err, xasprintf("the XVA is damaged: disk chunk '%s' has no checksum member", c->chunk_name));
	}
	if (c->kind == M_OVA)
		c->ova_seen = true;
	return true;
}

static bool end_member(struct xva_check *c, char **err)
{
	char *p, *e;

	if (c->kind != M_SUM)
		return true;
	c->sum[c->nsum] = '\0';
	p = c->sum;
	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (ends_with(c->name, ".xxhash")) {
		char *end;
		unsigned long long v;

		if (e - p == 0 || e - p > 16)
			goto bad;
		v = strtoull(p, &end, 16);
		if (*end)
			goto bad;
		if (v != c->xx_digest)
			goto mismatch;
	} else {
		char hex[41];

		for (int i = 0; i < 20; i++)
			snprintf(hex + 2 * i, 3, "%02x", c->sha_digest[i]);
		if (e - p != 40 || strncasecmp(p, hex, 40) != 0)
			goto mismatch;
	}
	return true;
bad:
	return fail(c, err, xasprintf("the XVA is damaged: checksum member '%s' holds no hexadecimal digest", c->name));
mismatch:
	return fail(c, err, xasprintf("the XVA is damaged: disk chunk '%s' does not match its checksum", c->chunk_name));
}

/* The tar's bytes, in order. */
static bool tar_feed(struct xva_check *c, const uint8_t *p, size_t n, char **err)
{
	while (n > 0) {
		size_t k;

		switch (c->ts) {
		case T_HEADER:
		case T_END:
			k = TAR_BLOCK - c->nhdr < n ? TAR_BLOCK - c->nhdr : n;
			memcpy(c->hdr + c->nhdr, p, k);
			c->nhdr += k;
			p += k;
			n -= k;
			c->offset += k;
			if (c->nhdr < TAR_BLOCK)
				break;
			c->nhdr = 0;
			{
				bool zero = true;
				for (unsigned i = 0; i < TAR_BLOCK && zero; i++)
					zero = c->hdr[i] == 0;
				if (zero) {
					if (++c->zero_blocks >= 2)
						c->ts = T_END;
					break;
				}
			}
			if (c->ts == T_END)
				return fail(c, err, xasprintf("the XVA has data after the tar's end, at byte %llu",
							      (unsigned long long)c->offset));
			if (c->zero_blocks)
				return fail(c, err, xasprintf("the XVA is damaged: a lone empty block at byte %llu of the tar",
							      (unsigned long long)c->offset));
			if (!begin_member(c, err))
				return false;
			c->ts = c->left ? T_DATA : c->pad ? T_PAD : T_HEADER;
			if (c->ts == T_HEADER && !end_member(c, err))
				return false;
			break;
		case T_DATA:
			k = c->left < n ? (size_t)c->left : n;
			if (c->kind == M_OVA)
				buf_append(&c->ova, p, k);
			else if (c->kind == M_CHUNK) {
				if (c->want_xx)
					XXH64_update(c->xx, p, k);
				if (c->want_sha)
					EVP_DigestUpdate(c->sha, p, k);
			} else if (c->kind == M_SUM) {
				memcpy(c->sum + c->nsum, p, k);
				c->nsum += k;
			}
			p += k;
			n -= k;
			c->offset += k;
			c->left -= k;
			if (c->left == 0) {
				if (!end_member(c, err))
					return false;
				c->ts = c->pad ? T_PAD : T_HEADER;
			}
			break;
		case T_PAD:
			k = c->pad < n ? (size_t)c->pad : n;
			p += k;
			n -= k;
			c->offset += k;
			c->pad -= k;
			if (c->pad == 0)
				c->ts = T_HEADER;
			break;
		}
	}
	return true;
}

/* ---- decompression -------------------------------------------------------- */

static bool feed_gzip(struct xva_check *c, const uint8_t *p, size_t n, char **err)
{
	c->z.next_in = (Bytef *)p;
	c->z.avail_in = (uInt)n;
	while (c->z.avail_in > 0) {
		int rc;

		if (c->z_end) {
			/* a second gzip member follows (concatenated streams) */
			inflateReset(&c->z);
			c->z_end = false;
		}
		c->z.next_out = c->out;
		c->z.avail_out = 1u << 17;
		rc = inflate(&c->z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return fail(c, err, xasprintf("the XVA's gzip compression is damaged (%s)",
						      c->z.msg ? c->z.msg : "inflate failed"));
		if (!tar_feed(c, c->out, (1u << 17) - c->z.avail_out, err))
			return false;
		if (rc == Z_STREAM_END)
			c->z_end = true;
		else if (rc == Z_BUF_ERROR && c->z.avail_out != 0)
			break;
	}
	return true;
}

static bool feed_zstd(struct xva_check *c, const uint8_t *p, size_t n, char **err)
{
	ZSTD_inBuffer in = { p, n, 0 };

	for (;;) {
		ZSTD_outBuffer out = { c->out, 1u << 17, 0 };
		size_t before = in.pos, rc = ZSTD_decompressStream(c->zs, &out, &in);

		if (ZSTD_isError(rc))
			return fail(c, err, xasprintf("the XVA's zstd compression is damaged (%s)", ZSTD_getErrorName(rc)));
		/* 0: a frame ended and was flushed; a later frame's bytes start another */
		if (rc == 0)
			c->zs_done = true;
		else if (in.pos != before || out.pos)
			c->zs_done = false;
		if (!tar_feed(c, c->out, out.pos, err))
			return false;
		if (in.pos == in.size && out.pos < out.size)
			break;
	}
	return true;
}

static bool feed(struct xva_check *c, const uint8_t *p, size_t n, char **err)
{
	switch (c->comp) {
	case C_GZIP:
		return feed_gzip(c, p, n, err);
	case C_ZSTD:
		return feed_zstd(c, p, n, err);
	default:
		return tar_feed(c, p, n, err);
	}
}

/* Chooses the format from the first four bytes. */
static void choose(struct xva_check *c)
{
	static const uint8_t gz[2] = { 0x1f, 0x8b }, zs[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (c->nmagic >= 2 && memcmp(c->magic, gz, 2) == 0) {
		c->comp = C_GZIP;
		inflateInit2(&c->z, 15 + 32);
		c->z_init = true;
	} else if (c->nmagic >= 4 && memcmp(c->magic, zs, 4) == 0) {
		c->comp = C_ZSTD;
		c->zs = ZSTD_createDStream();
		ZSTD_initDStream(c->zs);
	} else {
		c->comp = C_NONE;
	}
}

bool xva_check_write(struct xva_check *c, const void *buf, size_t n, char **err)
{
	const uint8_t *p = buf;

	if (c->err)
		return fail(c, err, NULL);
	if (c->comp == C_UNKNOWN) {
		size_t k = 4 - c->nmagic < n ? 4 - c->nmagic : n;

		memcpy(c->magic + c->nmagic, p, k);
		c->nmagic += k;
		p += k;
		n -= k;
		if (c->nmagic < 4)
			return true;
		choose(c);
		if (!feed(c, c->magic, c->nmagic, err))
			return false;
	}
	return n == 0 || feed(c, p, n, err);
}

bool xva_check_finish(struct xva_check *c, char **err)
{
	if (c->err)
		return fail(c, err, NULL);
	if (c->comp == C_UNKNOWN) {
		choose(c);
		if (!feed(c, c->magic, c->nmagic, err))
			return false;
	}
	if (c->comp == C_GZIP && !c->z_end)
		return fail(c, err, xstrdup("the XVA was cut short: its gzip stream does not end"));
	if (c->comp == C_ZSTD && !c->zs_done)
		return fail(c, err, xstrdup("the XVA was cut short: its zstd stream does not end"));
	if (!c->ova_seen)
		return fail(c, err, xstrdup("this is not an XVA: it holds no ova.xml"));
	if (c->ts != T_END)
		return fail(c, err, xasprintf("the XVA was cut short after %llu bytes of tar (%llu disk chunks): the tar's end is missing",
					      (unsigned long long)c->offset, (unsigned long long)c->chunks));
	if (c->chunk_pending)
		return fail(c, err, xasprintf("the XVA is damaged: disk chunk '%s' has no checksum member", c->chunk_name));
	buf_putc(&c->ova, '\0');
	c->ova.len--;
	return true;
}

const char *xva_check_ova_xml(const struct xva_check *c)
{
	return c->ova.data ? c->ova.data : "";
}

uint64_t xva_check_chunks(const struct xva_check *c)
{
	return c->chunks;
}
