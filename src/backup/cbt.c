/* Changed blocks over NBD as a differencing VHD stream (cbt.h). */
#include "cbt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bkutil.h"
#include "util.h"
#include "vhd_int.h"

#define VBLOCK (2u << 20)                  /* the VHD's block */
#define PER_VBLOCK (VBLOCK / CBT_BLOCK)    /* 64 KiB blocks in one */
#define BITMAP_BYTES VHD_SECTOR            /* 4096 sectors' bits, one sector */
#define BAT_AT 2048u                       /* as xapi's delta stream */

bool cbt_pool_offers_nbd(struct bx *b)
{
	char *err = NULL;
	struct xv *nets = bk_call(b, "network.get_all_records", &err, (char *)NULL);
	bool yes = false;

	free(err);
	for (size_t i = 0; nets && i < xv_len(nets) && !yes; i++) {
		struct xv *purpose = xv_struct_get(xv_value_at(nets, i), "purpose");
		for (size_t j = 0; j < xv_len(purpose); j++)
			if (xv_str(xv_at(purpose, j)) && strcmp(xv_str(xv_at(purpose, j)), "nbd") == 0)
				yes = true;
	}
	xv_free(nets);
	return yes;
}

int cbt_enable_vm_disks(struct bx *b, const char *vm_ref)
{
	char *err = NULL;
	struct xv *vbds = bk_call(b, "VM.get_VBDs", &err, vm_ref, (char *)NULL);
	int failed = 0;

	free(err);
	for (size_t i = 0; i < xv_len(vbds); i++) {
		struct xv *r, *on;
		const char *vdi;
		bool enabled = false;
		err = NULL;
		r = bk_call(b, "VBD.get_record", &err, xv_str(xv_at(vbds, i)), (char *)NULL);
		free(err);
		vdi = r ? bk_field(r, "VDI") : NULL;
		if (!r || bk_is_null(vdi) || !bk_field(r, "type") || strcmp(bk_field(r, "type"), "Disk") != 0) {
			xv_free(r);
			continue;
		}
		err = NULL;
		on = bk_call(b, "VDI.get_cbt_enabled", &err, vdi, (char *)NULL);
		free(err);
		if (!on || !xv_get_bool(on, &enabled) || !enabled) {
			struct xv *res;
			err = NULL;
			res = bk_call(b, "VDI.enable_cbt", &err, vdi, (char *)NULL);
			failed += res == NULL;
			xv_free(res);
			free(err);
		}
		xv_free(on);
		xv_free(r);
	}
	xv_free(vbds);
	return failed;
}

uint8_t *cbt_changed_blocks(struct bx *b, const char *from, const char *to, uint64_t size, uint64_t *changed,
			    char **err)
{
	char *b64 = bk_call_str(b, "VDI.list_changed_blocks", err, from, to, (char *)NULL);
	uint64_t nbits = (size + CBT_BLOCK - 1) / CBT_BLOCK, need = (nbits + 7) / 8;
	size_t len, pad = 0;
	uint8_t *raw, *map;
	int n;

	if (!b64)
		return NULL;
	len = strlen(b64);
	raw = xmalloc(len / 4 * 3 + 3);
	n = len % 4 ? -1 : EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
		pad++;
	free(b64);
	if (n < 0 || (uint64_t)n - pad < need) {
		free(raw);
		*err = xstrdup("the pool's list of changed blocks is not a bitmap of the disk's size");
		return NULL;
	}
	map = xcalloc(need + 1, 1);
	memcpy(map, raw, need);
	free(raw);
	*changed = 0;
	for (uint64_t i = 0; i < nbits; i++)
		*changed += (map[i / 8] >> (7 - i % 8)) & 1;
	return map;
}

static bool bit(const uint8_t *map, uint64_t i)
{
	return (map[i / 8] >> (7 - i % 8)) & 1;
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

static void footer(uint8_t f[VHD_FOOTER_SIZE], uint64_t size, uint32_t type)
{
	memset(f, 0, VHD_FOOTER_SIZE);
	memcpy(f, "conectix", 8);
	vh_put32(f + 8, 2);
	vh_put32(f + 12, 0x00010000);
	vh_put64(f + F_DATA_OFFSET, VHD_FOOTER_SIZE);
	vh_put32(f + F_TIMESTAMP, (uint32_t)(time(NULL) - 946684800));
	memcpy(f + 28, "tap\0", 4); /* as xapi: readers take current_size as the size */
	vh_put32(f + 32, 0x00010003);
	memcpy(f + 36, "Wi2k", 4);
	vh_put64(f + 40, size);
	vh_put64(f + F_CURRENT_SIZE, size);
	vh_put32(f + 56, geometry(size));
	vh_put32(f + F_TYPE, type);
	vh_put32(f + F_CHECKSUM, vhd_checksum(f, VHD_FOOTER_SIZE, F_CHECKSUM));
}

static bool block_changed(const uint8_t *map, uint64_t nbits, uint32_t i)
{
	for (uint64_t k = (uint64_t)i * PER_VBLOCK; k < (uint64_t)(i + 1) * PER_VBLOCK && k < nbits; k++)
		if (bit(map, k))
			return true;
	return false;
}

/* Block i: the changed runs of 64 KiB read over NBD, their sectors marked. */
static bool fill_block(struct nbd_src *src, const uint8_t *map, uint64_t size, uint32_t i, uint8_t *blk, char **err)
{
	uint64_t nbits = (size + CBT_BLOCK - 1) / CBT_BLOCK, first = (uint64_t)i * PER_VBLOCK;
	uint8_t *bm = blk, *data = blk + BITMAP_BYTES;

	memset(blk, 0, BITMAP_BYTES + VBLOCK);
	for (uint64_t k = first; k < first + PER_VBLOCK && k < nbits;) {
		uint64_t end = k, off, len;
		if (!bit(map, k)) {
			k++;
			continue;
		}
		while (end < first + PER_VBLOCK && end < nbits && bit(map, end))
			end++;
		off = k * CBT_BLOCK;
		len = end * CBT_BLOCK - off;
		if (off + len > size)
			len = size - off;
		if (!nbd_src_read(src, data + (off - first * CBT_BLOCK), (size_t)len, off, err))
			return false;
		/* 128 sectors per 64 KiB: 16 bitmap bytes each, MSB first */
		for (uint64_t s = (off - first * CBT_BLOCK) / VHD_SECTOR; s < (off - first * CBT_BLOCK + len + VHD_SECTOR - 1) / VHD_SECTOR; s++)
			bm[s / 8] |= (uint8_t)(0x80u >> (s % 8));
		k = end;
	}
	return true;
}

/* Block i whole (a full VHD): every sector marked, as xapi's stream does. */
static bool whole_block(struct nbd_src *src, uint64_t size, uint32_t i, uint8_t *blk, char **err)
{
	uint64_t off = (uint64_t)i * VBLOCK, len = size - off < VBLOCK ? size - off : VBLOCK;

	memset(blk, 0xFF, BITMAP_BYTES);
	memset(blk + BITMAP_BYTES + len, 0, VBLOCK - len);
	return nbd_src_read(src, blk + BITMAP_BYTES, (size_t)len, off, err);
}

/* The VHD: differencing with the changed 64 KiB blocks (map), or dynamic
 * with the 2 MiB blocks present says hold data (map NULL; present NULL: all). */
static bool vhd_out(struct nbd_src *src, const uint8_t *map, const uint8_t *present, uint64_t size, vhd_out_fn out,
		    void *ud, char **err)
{
	uint64_t nbits = (size + CBT_BLOCK - 1) / CBT_BLOCK;
	uint32_t nblocks = (uint32_t)((size + VBLOCK - 1) / VBLOCK), next;
	size_t bat_bytes = ((size_t)nblocks * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	size_t head_len = BAT_AT + (bat_bytes ? bat_bytes : VHD_SECTOR);
	uint8_t *head = xcalloc(1, head_len), *h = head + VHD_FOOTER_SIZE, *bat = head + BAT_AT, *blk;
	uint8_t foot[VHD_FOOTER_SIZE];
	bool ok;

	if (size / VBLOCK >= VHD_MAX_BLOCKS) {
		free(head);
		*err = xstrdup("the disk is too big to be written as one VHD");
		return false;
	}
	footer(foot, size, map ? VHD_TYPE_DIFF : VHD_TYPE_DYNAMIC);
	memcpy(head, foot, VHD_FOOTER_SIZE);
	memcpy(h, "cxsparse", 8);
	vh_put64(h + 8, ~0ULL);
	vh_put64(h + H_TABLE_OFFSET, BAT_AT);
	vh_put32(h + 24, 0x00010000);
	vh_put32(h + H_ENTRIES, nblocks);
	vh_put32(h + H_BLOCK_SIZE, VBLOCK);
	vh_put32(h + H_CHECKSUM, vhd_checksum(h, VHD_HEADER_SIZE, H_CHECKSUM));
	memset(bat, 0xFF, head_len - BAT_AT);
	next = (uint32_t)(head_len / VHD_SECTOR);
	for (uint32_t i = 0; i < nblocks; i++)
		if (map ? block_changed(map, nbits, i) : !present || bit(present, i)) {
			vh_put32(bat + 4 * (size_t)i, next);
			next += (BITMAP_BYTES + VBLOCK) / VHD_SECTOR;
		}
	ok = out(head, head_len, ud, err);
	free(head);
	blk = xmalloc(BITMAP_BYTES + VBLOCK);
	for (uint32_t i = 0; ok && i < nblocks; i++) {
		if (map && block_changed(map, nbits, i))
			ok = fill_block(src, map, size, i, blk, err) && out(blk, BITMAP_BYTES + VBLOCK, ud, err);
		else if (!map && (!present || bit(present, i)))
			ok = whole_block(src, size, i, blk, err) && out(blk, BITMAP_BYTES + VBLOCK, ud, err);
	}
	free(blk);
	return ok && out(foot, VHD_FOOTER_SIZE, ud, err);
}

bool cbt_vhd_stream(struct nbd_src *src, const uint8_t *map, uint64_t size, vhd_out_fn out, void *ud, char **err)
{
	return vhd_out(src, map, NULL, size, out, ud, err);
}

bool cbt_vhd_full_stream(struct nbd_src *src, uint64_t size, vhd_out_fn out, void *ud, char **err)
{
	uint8_t *present = NULL;
	bool ok;

	{
		char *why = NULL;
		present = nbd_src_data_blocks(src, VBLOCK, &why);
		free(why); /* no block status: every block is read */
	}
	ok = vhd_out(src, NULL, present, size, out, ud, err);
	free(present);
	return ok;
}
