/* `xentui list KIND [--json]` output. */
#ifndef XENTUI_LIST_H
#define XENTUI_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "cache.h"

bool list_kind_valid(const char *kind);
void list_print(const struct cache *c, const char *kind, bool as_json, FILE *f);

#endif
