/* `xentui list KIND [--json]` output. */
#ifndef XENTUI_LIST_H
#define XENTUI_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "cache.h"
#include "metrics.h"

bool list_kind_valid(const char *kind);
/* Asks question (lines ending in "\n") on the terminal, the answer echoed;
 * true for an answer starting with y. */
bool list_ask_yes(const char *question);
/* Text tables keep long cells whole (--wide) instead of cutting them. */
void list_set_wide(bool on);
/* The CPU and memory columns of hosts and vms read m (NULL: left empty). */
void list_set_metrics(const struct metrics *m);
void list_print(const struct cache *c, const char *kind, bool as_json, FILE *f);

#endif
