/* NBD for the static build (make static), which leaves libnbd out (its TLS is
 * GnuTLS, with nettle, gmp, libtasn1 and p11-kit behind it): delta backups read
 * changed blocks the other way, saying why. */
#include "nbd.h"

#include "util.h"

struct nbd_src *nbd_src_open(struct bx *b, const char *vdi_ref, char **err)
{
	*err = xstrdup("this static build of xentui has no NBD (libnbd is left out of it)");
	return NULL;
}

bool nbd_src_read(struct nbd_src *s, void *buf, size_t n, uint64_t off, char **err)
{
	*err = xstrdup("this static build of xentui has no NBD");
	return false;
}

uint64_t nbd_src_size(const struct nbd_src *s)
{
	return 0;
}

uint64_t nbd_src_bytes(const struct nbd_src *s)
{
	return 0;
}

void nbd_src_close(struct nbd_src *s)
{
}

uint8_t *nbd_src_data_blocks(struct nbd_src *s, uint64_t block, char **err)
{
	*err = xstrdup("this static build of xentui has no NBD");
	return NULL;
}
