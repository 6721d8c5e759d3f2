/* XVA (xapi's VM export, ocaml/xapi/stream_vdi.ml): a tar whose first member
 * is ova.xml, then each disk as Ref:N/%08d members of 1 MiB, each followed
 * by its checksum (.xxhash: XXH64 hex; older .checksum: SHA-1 hex). The
 * stream may be gzip or zstd (told by its magic bytes). A reader checks it
 * as it passes: every member's checksum, the tar's end; so an export cut
 * short, or a file that differs from what was written, is caught. */
#ifndef XENTUI_BACKUP_XVA_H
#define XENTUI_BACKUP_XVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xva_check;
struct xva_check *xva_check_new(void);
/* Feeds the next bytes (compressed or not); false with *err at the first fault. */
bool xva_check_write(struct xva_check *c, const void *buf, size_t n, char **err);
/* The end: false unless the tar ended properly with ova.xml seen. */
bool xva_check_finish(struct xva_check *c, char **err);
/* After finish: ova.xml's text (owned by c), members and data chunks seen. */
const char *xva_check_ova_xml(const struct xva_check *c);
uint64_t xva_check_chunks(const struct xva_check *c);
void xva_check_free(struct xva_check *c);

#endif
