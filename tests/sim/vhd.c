/* VHD footers, dynamic headers and BATs. */
#include "vhd.h"

#include <string.h>
#include <time.h>

void vhd_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
	vhd_put32(p, (uint32_t)(v >> 32));
	vhd_put32(p + 4, (uint32_t)v);
}

uint32_t vhd_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t vhd_be64(const unsigned char *p)
{
	return (uint64_t)vhd_be32(p) << 32 | vhd_be32(p + 4);
}

/* One's complement of the byte sum, the checksum field counted as zero. */
static uint32_t checksum(const unsigned char *p, unsigned len, unsigned at)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < len; i++)
		if (i < at || i >= at + 4)
			sum += p[i];
	return ~sum;
}

bool vhd_checksum_ok(const unsigned char *p, unsigned len, unsigned at)
{
	return vhd_be32(p + at) == checksum(p, len, at);
}

/* The specification's CHS algorithm. */
static uint32_t geometry(uint64_t size)
{
	uint64_t total = size / VHD_SECTOR, cth;
	uint32_t spt, heads;

	if (total > 65535ULL * 16 * 255)
		total = 65535ULL * 16 * 255;
	if (total >= 65535ULL * 16 * 63) {
		spt = 255;
		heads = 16;
		cth = total / spt;
	} else {
		spt = 17;
		cth = total / spt;
		heads = (uint32_t)((cth + 1023) / 1024);
		if (heads < 4)
			heads = 4;
		if (cth >= heads * 1024ULL || heads > 16) {
			spt = 31;
			heads = 16;
			cth = total / spt;
		}
		if (cth >= heads * 1024ULL) {
			spt = 63;
			heads = 16;
			cth = total / spt;
		}
	}
	return (uint32_t)(cth / heads) << 16 | heads << 8 | spt;
}

void vhd_footer(unsigned char out[VHD_FOOTER], uint64_t size, const unsigned char *uuid, uint32_t type)
{
	memset(out, 0, VHD_FOOTER);
	memcpy(out, "conectix", 8);
	vhd_put32(out + 8, 2);		 /* features: reserved bit */
	vhd_put32(out + 12, 0x00010000); /* format version */
	put64(out + 16, VHD_FOOTER);	 /* the dynamic header follows the footer copy */
	vhd_put32(out + 24, (uint32_t)(time(NULL) - 946684800)); /* seconds since 2000 */
	memcpy(out + 28, "tap\0", 4);	 /* XenServer's: readers take current_size as the size */
	vhd_put32(out + 32, 0x00010003);
	memcpy(out + 36, "Wi2k", 4);
	put64(out + 40, size);
	put64(out + 48, size);
	vhd_put32(out + 56, geometry(size));
	vhd_put32(out + 60, type);
	memcpy(out + 68, uuid, 16);
	vhd_put32(out + 64, checksum(out, VHD_FOOTER, 64));
}

void vhd_dyn_header(unsigned char out[VHD_DYN_HEADER], uint32_t entries, uint64_t table_offset)
{
	memset(out, 0, VHD_DYN_HEADER);
	memcpy(out, "cxsparse", 8);
	put64(out + 8, ~0ULL);
	put64(out + 16, table_offset);
	vhd_put32(out + 24, 0x00010000);
	vhd_put32(out + 28, entries);
	vhd_put32(out + 32, VHD_BLOCK);
	vhd_put32(out + 36, checksum(out, VHD_DYN_HEADER, 36));
}

uint64_t vhd_bat_bytes(uint32_t entries)
{
	return ((uint64_t)entries * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
}

void vhd_set_parent(unsigned char hdr[VHD_DYN_HEADER], const unsigned char *parent_uuid, uint32_t parent_time)
{
	memcpy(hdr + 40, parent_uuid, 16);
	vhd_put32(hdr + 56, parent_time);
	vhd_put32(hdr + 36, checksum(hdr, VHD_DYN_HEADER, 36));
}
