/* What vhd.c, vhd_dir.c, vhd_stream.c and vhd_patch.c share: the byte
 * layout's offsets, big-endian helpers, checksums, and the open VHD. */
#ifndef XENTUI_BACKUP_VHD_INT_H
#define XENTUI_BACKUP_VHD_INT_H

#include "vhd.h"

#define VHD_FOOTER_SIZE 512u
#define VHD_HEADER_SIZE 1024u
#define VHD_UNUSED 0xFFFFFFFFu
#define VHD_TYPE_DYNAMIC 3u
#define VHD_TYPE_DIFF 4u
#define VHD_MAX_BLOCKS (1u << 24) /* far above 2040 GiB in 2 MiB blocks */

/* footer offsets */
#define F_DATA_OFFSET 16
#define F_TIMESTAMP 24
#define F_CURRENT_SIZE 48
#define F_TYPE 60
#define F_CHECKSUM 64
#define F_UUID 68
/* dynamic header offsets */
#define H_TABLE_OFFSET 16
#define H_ENTRIES 28
#define H_BLOCK_SIZE 32
#define H_CHECKSUM 36
#define H_PARENT_UUID 40
#define H_PARENT_TS 56
#define H_PARENT_NAME 64
#define H_PARENT_NAME_LEN 512
#define H_LOCATORS 576
#define H_LOCATOR_SIZE 24

#define PLAT_W2KU 0x57326b75u
#define PLAT_W2RU 0x57327275u
#define PLAT_MACX 0x4d616358u

struct vhd {
	struct repo *r;
	char *path;          /* as opened: a .vhd file, or the alias of a directory VHD */
	char *dir;           /* a directory VHD's folder; NULL for a file */
	struct repo_rfile *f; /* a file VHD's handle */
	uint64_t fsize;
	uint8_t footer[VHD_FOOTER_SIZE];
	uint8_t header[VHD_HEADER_SIZE];
	struct vhd_info info;
	uint8_t *bat;        /* file: nblocks big-endian u32; directory: a bit per block, MSB first */
	size_t bat_len;
	uint32_t bitmap_bytes; /* the block's sector bitmap as stored, padded to a sector */
	bool brotli;         /* directory: every chunk is brotli-compressed */
	bool gzip;           /* directory: every chunk is gzip-compressed */
};

uint32_t vh_be32(const uint8_t *p);
uint64_t vh_be64(const uint8_t *p);
void vh_put32(uint8_t *p, uint32_t v);
void vh_put64(uint8_t *p, uint64_t v);
/* One's complement of the byte sum, the 4 bytes at `at` left out. */
uint32_t vhd_checksum(const uint8_t *p, size_t len, size_t at);
/* The bitmap's bytes on disk for a block size. */
uint32_t vhd_bitmap_bytes(uint32_t block_size);
/* Checks and reads a footer and a dynamic header into v->info (not parent_path). */
bool vhd_parse_footer(const uint8_t *f, char **why);
bool vhd_parse_header(struct vhd *v, char **why);

/* dir's parent path of rel, normalised ("a/b/../c" -> "a/c"); NULL if it leaves the root. */
char *vhd_path_join(const char *dir, const char *rel);
/* The folder part of a path ("" for a name at the root). */
char *vhd_dirname(const char *path);
/* UTF-16 (little- or big-endian) to UTF-8, stopping at a NUL. */
char *vhd_utf16_to_utf8(const uint8_t *p, size_t n, bool big_endian);
/* UTF-8 to UTF-16; returns the bytes written (at most max). */
size_t vhd_utf8_to_utf16(const char *s, uint8_t *out, size_t max, bool big_endian);

/* vhd_dir.c: opens the directory VHD in folder dir into v (footer, header, bat, locators). */
bool vhd_dir_open(struct vhd *v, const char *dir, char **err);
bool vhd_dir_read_block(struct vhd *v, uint32_t i, uint8_t *bitmap, uint8_t *data, char **err);
/* The parent locator i's data of a directory VHD, or NULL. */
uint8_t *vhd_dir_locator(struct vhd *v, int i, size_t *n);

#endif
