/* NBD with TLS through libnbd, the server's certificate pinned (nbd.h). */
#include "nbd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnbd.h>

#include "bkutil.h"
#include "util.h"

struct nbd_src {
	struct nbd_handle *h;
	uint64_t size, bytes;
};

/* A private folder holding only ca-cert.pem = pem: the one trust anchor. */
static char *pin_dir(const char *pem, char **err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/xentui-nbd-XXXXXX", tmp && *tmp ? tmp : "/tmp"), *path;
	size_t n = strlen(pem);
	int fd;
	bool ok;

	if (!mkdtemp(dir)) {
		*err = xasprintf("cannot make a folder for the NBD server's certificate: %s", strerror(errno));
		free(dir);
		return NULL;
	}
	path = xasprintf("%s/ca-cert.pem", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, pem, n) == (ssize_t)n;
	if (fd >= 0)
		close(fd);
	if (!ok) {
		*err = xasprintf("cannot write the NBD server's certificate: %s", strerror(errno));
		unlink(path);
		rmdir(dir);
		free(path);
		free(dir);
		return NULL;
	}
	free(path);
	return dir;
}

static void unpin(char *dir)
{
	char *path;

	if (!dir)
		return;
	path = xasprintf("%s/ca-cert.pem", dir);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static struct nbd_handle *connect_one(const struct xv *rec, char **err)
{
	const char *addr = bk_field(rec, "address"), *name = bk_field(rec, "exportname"), *cert = bk_field(rec, "cert");
	int64_t port = 0;
	struct nbd_handle *h;
	char *dir, ps[16];

	if (!cert || !*cert) {
		*err = xstrdup("the pool offers NBD only without TLS (a network with purpose insecure_nbd), which xentui does not use");
		return NULL;
	}
	if (!addr || !*addr || !name || !xv_get_int64(xv_struct_get(rec, "port"), &port) || port <= 0 || port > 65535) {
		*err = xstrdup("the pool's NBD record has no usable address, port or export name");
		return NULL;
	}
	if (!(dir = pin_dir(cert, err)))
		return NULL;
	snprintf(ps, sizeof(ps), "%d", (int)port);
	h = nbd_create();
	/* TLS required, and only the certificate xapi named is trusted */
	if (!h || nbd_set_tls(h, LIBNBD_TLS_REQUIRE) == -1 || nbd_set_tls_certificates(h, dir) == -1 ||
	    nbd_set_tls_verify_peer(h, true) == -1 || nbd_set_export_name(h, name) == -1 ||
	    nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1 ||
	    nbd_connect_tcp(h, addr, ps) == -1) {
		*err = xasprintf("cannot read the disk over NBD at %s:%s: %s", addr, ps, nbd_get_error() ? nbd_get_error() : "unknown error");
		nbd_close(h);
		h = NULL;
	}
	unpin(dir); /* read at the handshake: no longer needed */
	return h;
}

struct nbd_src *nbd_src_open(struct bx *b, const char *vdi_ref, char **err)
{
	struct xv *recs = bk_call(b, "VDI.get_nbd_info", err, vdi_ref, (char *)NULL);
	struct nbd_src *s = NULL;
	int64_t size;

	if (!recs)
		return NULL;
	if (!xv_len(recs)) {
		*err = xstrdup("the pool offers no NBD (no network with purpose nbd)");
		xv_free(recs);
		return NULL;
	}
	for (size_t i = 0; i < xv_len(recs) && !s; i++) {
		struct nbd_handle *h;
		free(*err);
		*err = NULL;
		if (!(h = connect_one(xv_at(recs, i), err)))
			continue;
		if ((size = nbd_get_size(h)) < 0) {
			*err = xasprintf("the NBD server did not give the disk's size: %s", nbd_get_error());
			nbd_close(h);
			continue;
		}
		s = xcalloc(1, sizeof(*s));
		s->h = h;
		s->size = (uint64_t)size;
	}
	if (s) {
		free(*err);
		*err = NULL;
	}
	xv_free(recs);
	return s;
}

bool nbd_src_read(struct nbd_src *s, void *buf, size_t n, uint64_t off, char **err)
{
	if (nbd_pread(s->h, buf, n, off, 0) == -1) {
		*err = xasprintf("reading the disk over NBD failed: %s", nbd_get_error() ? nbd_get_error() : "unknown error");
		return false;
	}
	s->bytes += n;
	return true;
}

struct extents {
	uint8_t *map;
	uint64_t block, nblocks, reached;
};

static int on_extents(void *ud, const char *ctx, uint64_t off, uint32_t *e, size_t n, int *error)
{
	struct extents *x = ud;

	if (strcmp(ctx, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
		return 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint64_t len = e[i];
		if (!(e[i + 1] & LIBNBD_STATE_ZERO) && len)
			for (uint64_t b = off / x->block; b <= (off + len - 1) / x->block && b < x->nblocks; b++)
				x->map[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		off += len;
	}
	if (off > x->reached)
		x->reached = off;
	return 0;
}

uint8_t *nbd_src_data_blocks(struct nbd_src *s, uint64_t block, char **err)
{
	struct extents x = {.block = block, .nblocks = (s->size + block - 1) / block};
	nbd_extent_callback cb = {.callback = on_extents, .user_data = &x};

	if (nbd_can_meta_context(s->h, LIBNBD_CONTEXT_BASE_ALLOCATION) != 1) {
		*err = xstrdup("the NBD server does not say where the disk holds data");
		return NULL;
	}
	x.map = xcalloc(x.nblocks / 8 + 1, 1);
	/* the server may answer for less than asked: go on from where it stopped */
	while (x.reached < s->size) {
		uint64_t before = x.reached, ask = s->size - x.reached;
		if (ask > (1u << 30))
			ask = 1u << 30;
		if (nbd_block_status(s->h, ask, x.reached, cb, 0) == -1 || x.reached <= before) {
			*err = xasprintf("the NBD server's block status failed: %s", nbd_get_error() ? nbd_get_error() : "no progress");
			free(x.map);
			return NULL;
		}
	}
	return x.map;
}

uint64_t nbd_src_size(const struct nbd_src *s)
{
	return s->size;
}

uint64_t nbd_src_bytes(const struct nbd_src *s)
{
	return s->bytes;
}

void nbd_src_close(struct nbd_src *s)
{
	if (!s)
		return;
	nbd_shutdown(s->h, 0);
	nbd_close(s->h);
	free(s);
}
