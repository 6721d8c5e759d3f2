/* Changed-block tracking for delta backups, as Xen Orchestra's NBD+CBT:
 * CBT enabled on the VM's disks, the 64 KiB blocks that changed between
 * the previous and the new snapshot listed by VDI.list_changed_blocks,
 * and only those read over NBD into a differencing VHD laid out as xapi's
 * delta export (footer, header at 512, BAT at 2048, 2 MiB blocks whose
 * sector bitmaps mark just the changed sectors), so the delta path writes
 * it to the repositories as it writes xapi's stream. */
#ifndef XENTUI_BACKUP_CBT_H
#define XENTUI_BACKUP_CBT_H

#include <stdbool.h>
#include <stdint.h>

#include "bxapi.h"
#include "nbd.h"
#include "vhd.h"

#define CBT_BLOCK 65536u

/* A network of the pool has purpose nbd (NBD with TLS). */
bool cbt_pool_offers_nbd(struct bx *b);
/* VDI.enable_cbt on each disk of vm_ref that does not have it; how many
 * could not (their errors are not fatal: those disks go another way). */
int cbt_enable_vm_disks(struct bx *b, const char *vm_ref);
/* VDI.list_changed_blocks(from, to) decoded: a bitmap of the 64 KiB blocks
 * of a disk of size bytes (MSB first); *changed counts the set bits. */
uint8_t *cbt_changed_blocks(struct bx *b, const char *from, const char *to, uint64_t size, uint64_t *changed,
			    char **err);
/* The differencing VHD of those blocks, read from src, into out in order. */
bool cbt_vhd_stream(struct nbd_src *src, const uint8_t *map, uint64_t size, vhd_out_fn out, void *ud, char **err);
/* Without CBT (XO's "NBD stream" for a full): a dynamic VHD of the whole
 * disk read from src, leaving out the 2 MiB blocks the server's block
 * status says read as zeros. */
bool cbt_vhd_full_stream(struct nbd_src *src, uint64_t size, vhd_out_fn out, void *ud, char **err);

#endif
