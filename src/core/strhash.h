/* The hash of a string's n bytes: the one hmap.c indexes by and the one
 * strpool.c keeps with each pooled string, defined once so that
 * strpool_hash(s) is hmap_hash(s) by construction. Inline: both are on a
 * pool load's hot path. */
#ifndef XENTUI_STRHASH_H
#define XENTUI_STRHASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint32_t strhash(const char *s, size_t n)
{
	return (uint32_t)XXH3_64bits(s, n);
}

#endif
