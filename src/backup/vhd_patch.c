/* Patching xapi's VHD export stream as it passes: the footer's UUID (both
 * copies), and for a delta the differencing type, the header's parent UUID,
 * time stamp and name, and locator 0 (W2KU, the parent's relative path) in
 * the free space between the header and the BAT when there is room.
 * Held back: the start up to the header's end (or the locator's), and the
 * end footer until it is whole. The BAT is read as it passes, so the
 * stream's exact end is known and a stream cut short is caught. */
#include "vhd_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define HEAD_MAX (64u << 10) /* xapi's header is at 512 and its BAT at 2048 */

struct vhd_patch {
	uint8_t uuid[16];
	bool has_parent;
	uint8_t parent_uuid[16];
	uint32_t parent_ts;
	char *parent_path;
	vhd_out_fn out;
	void *ud;

	uint8_t *head;       /* the start, held until head_need bytes are in */
	size_t head_len, head_need;
	bool head_done;
	uint8_t footer[VHD_FOOTER_SIZE]; /* the patched footer, sent at both ends */

	uint64_t pos;        /* input bytes taken */
	uint64_t bat_at, bat_end;
	uint32_t bitmap_bytes, block_size;
	uint8_t word[4];     /* a BAT entry being read */
	uint64_t max_end;    /* the end of everything the header and BAT place */
	bool end_known;
	uint64_t end;        /* where the end footer starts */
	uint8_t tail[VHD_FOOTER_SIZE];
	size_t ntail;
	bool complete;
	char *err;
};

struct vhd_patch *vhd_patch_new(const uint8_t uuid[16], const uint8_t *parent_uuid, uint32_t parent_timestamp,
				const char *parent_path, vhd_out_fn out, void *ud)
{
	struct vhd_patch *p = xcalloc(1, sizeof(*p));

	memcpy(p->uuid, uuid, 16);
	if (parent_uuid) {
		p->has_parent = true;
		memcpy(p->parent_uuid, parent_uuid, 16);
	}
	p->parent_ts = parent_timestamp;
	p->parent_path = parent_path ? xstrdup(parent_path) : NULL;
	p->out = out;
	p->ud = ud;
	p->head = xmalloc(HEAD_MAX);
	p->head_need = VHD_FOOTER_SIZE;
	return p;
}

void vhd_patch_free(struct vhd_patch *p)
{
	if (!p)
		return;
	free(p->parent_path);
	free(p->head);
	free(p->err);
	free(p);
}

static bool fail(struct vhd_patch *p, char **err, char *msg)
{
	if (!p->err)
		p->err = msg;
	else
		free(msg);
	*err = xstrdup(p->err);
	return false;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The held start is long enough to tell what to hold next; patches it when whole. */
static bool head_step(struct vhd_patch *p, char **err)
{
	uint8_t *f = p->head, *h;
	uint64_t hdr_at = vh_be64(f + F_DATA_OFFSET), entries;
	char *why = NULL;

	if (p->head_need == VHD_FOOTER_SIZE) {
		if (!vhd_parse_footer(f, &why)) {
			char *m = xasprintf("the export is not a VHD xentui can keep: %s", why);
			free(why);
			return fail(p, err, m);
		}
		if (hdr_at < VHD_FOOTER_SIZE || hdr_at + VHD_HEADER_SIZE > HEAD_MAX)
			return fail(p, err, xasprintf("the exported VHD's header is at byte %llu, not where a stream has it",
						      (unsigned long long)hdr_at));
		p->head_need = (size_t)hdr_at + VHD_HEADER_SIZE;
		return true;
	}
	h = p->head + hdr_at;
	if (p->head_need == hdr_at + VHD_HEADER_SIZE) {
		if (memcmp(h, "cxsparse", 8) != 0 || vh_be32(h + H_CHECKSUM) != vhd_checksum(h, VHD_HEADER_SIZE, H_CHECKSUM))
			return fail(p, err, xstrdup("the exported VHD's dynamic header is damaged"));
		p->bat_at = vh_be64(h + H_TABLE_OFFSET);
		entries = vh_be32(h + H_ENTRIES);
		p->block_size = vh_be32(h + H_BLOCK_SIZE);
		if (p->block_size < VHD_SECTOR || (p->block_size & (p->block_size - 1)) || entries > VHD_MAX_BLOCKS)
			return fail(p, err, xstrdup("the exported VHD's block size or table is not valid"));
		if (p->bat_at < hdr_at + VHD_HEADER_SIZE)
			return fail(p, err, xstrdup("the exported VHD's block table comes before its header's end"));
		p->bitmap_bytes = vhd_bitmap_bytes(p->block_size);
		p->bat_end = p->bat_at + entries * 4;
		/* the table fills whole sectors: what follows starts on the next one */
		p->max_end = (p->bat_end + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
		/* data the original locators place stays part of the file */
		for (int i = 0; i < 8; i++) {
			const uint8_t *e = h + H_LOCATORS + i * H_LOCATOR_SIZE;
			uint32_t space = vh_be32(e + 4);
			uint64_t at = vh_be64(e + 16), bytes = space < VHD_SECTOR ? (uint64_t)space * VHD_SECTOR : space;
			if (vh_be32(e) != 0 && at + bytes > p->max_end)
				p->max_end = at + bytes;
		}
		if (p->has_parent && p->parent_path && *p->parent_path) {
			uint64_t loc_at = hdr_at + VHD_HEADER_SIZE, need = strlen(p->parent_path) * 2;
			uint64_t space = (need + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
			if (loc_at + space <= p->bat_at && loc_at + space <= HEAD_MAX) {
				p->head_need = (size_t)(loc_at + space);
				return true;
			}
		}
	}
	/* whole: patch */
	memcpy(p->footer, f, VHD_FOOTER_SIZE);
	memcpy(p->footer + F_UUID, p->uuid, 16);
	if (p->has_parent) {
		uint64_t loc_at = hdr_at + VHD_HEADER_SIZE;
		size_t room = p->head_need - (size_t)loc_at;

		vh_put32(p->footer + F_TYPE, VHD_TYPE_DIFF);
		memcpy(h + H_PARENT_UUID, p->parent_uuid, 16);
		vh_put32(h + H_PARENT_TS, p->parent_ts);
		memset(h + H_PARENT_NAME, 0, H_PARENT_NAME_LEN);
		memset(h + H_LOCATORS, 0, 8 * H_LOCATOR_SIZE);
		if (p->parent_path)
			vhd_utf8_to_utf16(p->parent_path, h + H_PARENT_NAME, H_PARENT_NAME_LEN, true);
		/* the locator only where the stream left that space empty */
		if (room > 0 && all_zero(p->head + loc_at, room)) {
			size_t len = vhd_utf8_to_utf16(p->parent_path, p->head + loc_at, room, false);
			uint8_t *e = h + H_LOCATORS;

			vh_put32(e, PLAT_W2KU);
			vh_put32(e + 4, (uint32_t)(room / VHD_SECTOR)); /* in sectors, as XO and blktap read it */
			vh_put32(e + 8, (uint32_t)len);
			vh_put64(e + 16, loc_at);
		}
	}
	vh_put32(p->footer + F_CHECKSUM, vhd_checksum(p->footer, VHD_FOOTER_SIZE, F_CHECKSUM));
	memcpy(f, p->footer, VHD_FOOTER_SIZE);
	vh_put32(h + H_CHECKSUM, vhd_checksum(h, VHD_HEADER_SIZE, H_CHECKSUM));
	p->head_done = true;
	return true;
}

/* Bytes past the held start: BAT entries noted, the end footer held and
 * checked. Whole ranges at a time: only the BAT and the footer are looked at. */
static bool body(struct vhd_patch *p, const uint8_t *b, size_t n, char **err)
{
	size_t sent_from = 0, i = 0;

	while (i < n) {
		uint64_t at = p->pos + i, next;

		if (at >= p->bat_at && at < p->bat_end) {
			size_t k = p->bat_end - at < n - i ? (size_t)(p->bat_end - at) : n - i;

			for (size_t j = 0; j < k; j++, at++) {
				p->word[(at - p->bat_at) & 3] = b[i + j];
				if (((at - p->bat_at) & 3) == 3) {
					uint32_t s = vh_be32(p->word);
					uint64_t e = (uint64_t)s * VHD_SECTOR + p->bitmap_bytes + p->block_size;
					if (s != VHD_UNUSED && e > p->max_end)
						p->max_end = e;
				}
			}
			i += k;
			if (at == p->bat_end) {
				p->end_known = true;
				p->end = p->max_end;
			}
			continue;
		}
		if (!p->end_known || at < p->end) {
			/* passed through untouched up to the BAT or the end footer */
			next = at < p->bat_at ? p->bat_at : p->end_known ? p->end : at + (n - i);
			i += next - at < n - i ? (size_t)(next - at) : n - i;
			continue;
		}
		/* the end footer: hold it */
		if (i > sent_from && !p->out(b + sent_from, i - sent_from, p->ud, err))
			return false;
		sent_from = n;
		if (at >= p->end + VHD_FOOTER_SIZE)
			return fail(p, err, xasprintf("the exported VHD goes on after its end footer (byte %llu)",
						      (unsigned long long)p->end + VHD_FOOTER_SIZE));
		{
			size_t k = n - i < VHD_FOOTER_SIZE - p->ntail ? n - i : VHD_FOOTER_SIZE - p->ntail;
			memcpy(p->tail + p->ntail, b + i, k);
			p->ntail += k;
			i += k;
		}
		if (p->ntail == VHD_FOOTER_SIZE) {
			char *why = NULL;
			if (!vhd_parse_footer(p->tail, &why)) {
				char *m = xasprintf("the exported VHD's end footer is damaged: %s", why);
				free(why);
				return fail(p, err, m);
			}
			if (!p->out(p->footer, VHD_FOOTER_SIZE, p->ud, err))
				return false;
			p->complete = true;
			if (i < n)
				return fail(p, err, xasprintf("the exported VHD goes on after its end footer (byte %llu)",
							      (unsigned long long)p->end + VHD_FOOTER_SIZE));
		}
	}
	if (sent_from < n && !p->out(b + sent_from, n - sent_from, p->ud, err))
		return false;
	return true;
}

bool vhd_patch_write(struct vhd_patch *p, const void *buf, size_t n, char **err)
{
	const uint8_t *b = buf;

	if (p->err)
		return fail(p, err, NULL);
	if (p->complete && n > 0)
		return fail(p, err, xstrdup("the exported VHD goes on after its end footer"));
	while (n > 0 && !p->head_done) {
		size_t k = p->head_need - p->head_len < n ? p->head_need - p->head_len : n;

		memcpy(p->head + p->head_len, b, k);
		p->head_len += k;
		b += k;
		n -= k;
		p->pos += k;
		while (!p->head_done && p->head_len == p->head_need)
			if (!head_step(p, err))
				return false;
		if (p->head_done) {
			/* the BAT never lies in the held start (checked in head_step) */
			if (!p->out(p->head, p->head_len, p->ud, err))
				return false;
			if (p->bat_end == p->bat_at) { /* an empty table: the end is known now */
				p->end_known = true;
				p->end = p->max_end;
			}
		}
	}
	if (n == 0)
		return true;
	if (!body(p, b, n, err))
		return false;
	p->pos += n;
	return true;
}

bool vhd_patch_finish(struct vhd_patch *p, char **err)
{
	if (p->err)
		return fail(p, err, NULL);
	if (!p->complete)
		return fail(p, err, xasprintf("the exported VHD was cut short after %llu bytes%s", (unsigned long long)p->pos,
					      p->end_known ? "" : ", before its block table ended"));
	return true;
}
