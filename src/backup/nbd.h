/* Reading a VDI over NBD with TLS (Debian's libnbd), where VDI.get_nbd_info
 * says the pool serves it: the certificate that record carries is the only
 * one trusted (written to a private folder as libnbd's ca-cert.pem), the
 * host name checked against it is the record's address; a record without a
 * certificate (insecure_nbd) is not used. Blocking: for `xentui backup`. */
#ifndef XENTUI_BACKUP_NBD_H
#define XENTUI_BACKUP_NBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bxapi.h"

struct nbd_src;

/* Connects to the VDI (a ref) as the first usable record names it; NULL
 * with *err (a sentence) when none is offered or none connects. */
struct nbd_src *nbd_src_open(struct bx *b, const char *vdi_ref, char **err);
/* n bytes at off; false with *err. */
bool nbd_src_read(struct nbd_src *s, void *buf, size_t n, uint64_t off, char **err);
/* Which of the export's blocks of block bytes hold data, as the server's
 * base:allocation block status says (a bit per block, MSB first, to free):
 * a block is data unless every extent in it reads as zeros. NULL with *err
 * when the server does not say (then read every block). */
uint8_t *nbd_src_data_blocks(struct nbd_src *s, uint64_t block, char **err);
/* The export's size in bytes. */
uint64_t nbd_src_size(const struct nbd_src *s);
/* Bytes read so far. */
uint64_t nbd_src_bytes(const struct nbd_src *s);
void nbd_src_close(struct nbd_src *s);

#endif
