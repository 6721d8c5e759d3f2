/* ustar headers: writing regular files, reading any header's name and size. */
#include "tar.h"

#include <stdio.h>
#include <string.h>

static unsigned checksum(const unsigned char *h)
{
	unsigned sum = 0;

	for (int i = 0; i < TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	return sum;
}

void tar_header(unsigned char out[TAR_BLOCK], const char *name, uint64_t size)
{
	char *h = (char *)out;

	memset(out, 0, TAR_BLOCK);
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0400);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf(h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	snprintf(h + 148, 8, "%06o", checksum(out));
	h[155] = ' ';
}

static bool octal(const unsigned char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		/* GNU base-256 for big sizes */
		v = p[0] & 0x7f;
		for (i = 1; i < n; i++)
			v = v << 8 | p[i];
		*out = v;
		return true;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	if (i < n && p[i] != ' ' && p[i] != '\0')
		return false;
	*out = v;
	return true;
}

enum tar_parsed tar_parse(const unsigned char in[TAR_BLOCK], char *name, size_t namelen, uint64_t *size)
{
	uint64_t sum;
	bool zero = true;
	char prefix[156] = "";
	char base[101];

	for (int i = 0; i < TAR_BLOCK && zero; i++)
		zero = in[i] == 0;
	if (zero)
		return TAR_END;
	if (!octal(in + 148, 8, &sum) || sum != checksum(in) || !octal(in + 124, 12, size))
		return TAR_BAD;
	memcpy(base, in, 100);
	base[100] = '\0';
	if (memcmp(in + 257, "ustar", 5) == 0) {
		memcpy(prefix, in + 345, 155);
		prefix[155] = '\0';
	}
	if (prefix[0])
		snprintf(name, namelen, "%s/%s", prefix, base);
	else
		snprintf(name, namelen, "%s", base);
	return TAR_FILE;
}

size_t tar_padding(uint64_t size)
{
	return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}
