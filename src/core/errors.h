/* xapi's error codes as sentences a person understands, from one table;
 * unknown codes are shown raw with their parameters. */
#ifndef XENTUI_ERRORS_H
#define XENTUI_ERRORS_H

#include "cache.h"
#include "value.h"

/* err is [code, params...]; cache (may be NULL) turns refs into names.
 * Returns a new string. */
char *error_sentence(const struct xv *err, const struct cache *cache);

#endif
