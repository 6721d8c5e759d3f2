/* The dynamic VHD layout (Microsoft's VHD specification, as vhd-tool writes
 * it): a footer copy, the dynamic header, the block allocation table, then
 * each allocated 2 MiB block as a sector bitmap and its data, then the
 * footer. Big-endian throughout. */
#ifndef SIM_VHD_H
#define SIM_VHD_H

#include <stdbool.h>
#include <stdint.h>

#define VHD_BLOCK (2u * 1024 * 1024)
#define VHD_SECTOR 512u
#define VHD_FOOTER 512u
#define VHD_DYN_HEADER 1024u
#define VHD_BITMAP 512u /* one bit per sector of a 2 MiB block, padded to a sector */
#define VHD_UNUSED 0xFFFFFFFFu
#define VHD_MAX_SIZE (2040ULL << 30)

#define VHD_DYNAMIC 3u
#define VHD_DIFFERENCING 4u

/* A footer of a dynamic or differencing disk; uuid is 16 bytes. */
void vhd_footer(unsigned char out[VHD_FOOTER], uint64_t size, const unsigned char *uuid, uint32_t type);
void vhd_dyn_header(unsigned char out[VHD_DYN_HEADER], uint32_t entries, uint64_t table_offset);
/* Makes a dynamic header a differencing disk's: the parent's uuid (16
 * bytes) and time stamp (seconds since 2000), no name or locators (the
 * client that stores the delta fills those in, as Xen Orchestra does). */
void vhd_set_parent(unsigned char hdr[VHD_DYN_HEADER], const unsigned char *parent_uuid, uint32_t parent_time);
/* The BAT's size on disk, padded to a sector. */
uint64_t vhd_bat_bytes(uint32_t entries);

uint32_t vhd_be32(const unsigned char *p);
uint64_t vhd_be64(const unsigned char *p);
void vhd_put32(unsigned char *p, uint32_t v);
/* Checks the stored checksum of a footer (len 512) or dynamic header (1024). */
bool vhd_checksum_ok(const unsigned char *p, unsigned len, unsigned at);

#endif
