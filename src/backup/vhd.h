/* VHD (Microsoft's Virtual Hard Disk, as xapi and Xen Orchestra use it):
 * reading dynamic and differencing VHDs from a repository, whether plain
 * .vhd files or XO's directory VHDs (data/<uuid>.vhd/ reached through an
 * <ts>.alias.vhd, brotli-compressed blocks); a chain read as one disk; a
 * full VHD synthesised from a chain as a stream (restore, merge); and the
 * in-flight patch xentui applies to xapi's export stream as it is written
 * (footer UUID, parent UUID and locator). All big-endian; 2 MiB blocks. */
#ifndef XENTUI_BACKUP_VHD_H
#define XENTUI_BACKUP_VHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "repo.h"

#define VHD_SECTOR 512u

struct vhd_info {
	uint64_t size;           /* the disk's virtual size in bytes */
	uint32_t block_size;     /* bytes, 2 MiB in practice */
	uint32_t nblocks;        /* BAT entries */
	bool differencing;       /* disk type 4 */
	uint8_t uuid[16];
	uint8_t parent_uuid[16];
	char *parent_path;       /* locator's relative path (UTF-8), or NULL */
	uint32_t timestamp;      /* seconds since 2000-01-01 */
};

/* One VHD of a repository, open for reading: path is a .vhd file, an
 * .alias.vhd (followed) or a directory VHD. */
struct vhd;
struct vhd *vhd_open(struct repo *r, const char *path, char **err);
void vhd_close(struct vhd *v);
const struct vhd_info *vhd_info(const struct vhd *v);
bool vhd_has_block(const struct vhd *v, uint32_t i);
/* Block i: its sector bitmap (block_size/512 bits, MSB first) and data
 * (block_size bytes); false with *err on a read or format error. */
bool vhd_read_block(struct vhd *v, uint32_t i, uint8_t *bitmap, uint8_t *data, char **err);
/* Checks the footer and header checksums, the BAT inside the file and
 * blocks not overlapping; a sentence on the first fault. */
bool vhd_check(struct vhd *v, char **err);

/* A chain, newest first (chain[0] the point to restore, the last a full). */
struct vhd_chain;
/* Opens path and follows parents: each parent is the file its locator
 * names, relative to the child's folder, else the newest earlier .vhd of
 * the same folder whose footer UUID is the child's parent UUID. */
struct vhd_chain *vhd_chain_open(struct repo *r, const char *path, char **err);
void vhd_chain_close(struct vhd_chain *c);
size_t vhd_chain_length(const struct vhd_chain *c);
const char *vhd_chain_path(const struct vhd_chain *c, size_t i);

/* A dynamic (full) VHD of the chain's content as a stream: every block any
 * member holds, sectors from the newest that has them. Memory: a few
 * blocks. Its exact length is known before the first byte. */
struct vhd_stream;
struct vhd_stream *vhd_stream_new(struct vhd_chain *c, const uint8_t uuid[16], char **err);
uint64_t vhd_stream_length(const struct vhd_stream *s);
ssize_t vhd_stream_read(struct vhd_stream *s, void *buf, size_t n, char **err);
void vhd_stream_free(struct vhd_stream *s);

/* Patches a VHD stream as it passes (xapi's /export_raw_vdi?format=vhd):
 * the footer's UUID (both copies) becomes uuid, and for a differencing
 * stream the header's parent UUID, parent time stamp, parent name and
 * locator 0 (W2KU, parent_path) are set. Checksums fixed. Bytes go out
 * through out, in order, with at most a few KiB held back. */
typedef bool (*vhd_out_fn)(const void *buf, size_t n, void *ud, char **err);
struct vhd_patch;
struct vhd_patch *vhd_patch_new(const uint8_t uuid[16], const uint8_t *parent_uuid /* NULL: none */,
				uint32_t parent_timestamp, const char *parent_path, vhd_out_fn out, void *ud);
bool vhd_patch_write(struct vhd_patch *p, const void *buf, size_t n, char **err);
/* The end of the stream: flushes, and fails if the stream was not one whole VHD. */
bool vhd_patch_finish(struct vhd_patch *p, char **err);
void vhd_patch_free(struct vhd_patch *p);

/* "xxxxxxxx-xxxx-..." <-> 16 bytes */
bool uuid_parse(const char *s, uint8_t out[16]);
void uuid_format(const uint8_t u[16], char out[37]);

#endif
