/* SHA-256 of a stream on a worker thread, so the thread that receives and
 * writes the bytes does not also spend ~0.9 CPU s per GiB hashing them.
 * Pieces are copied into a ring of a few 1 MiB slots (bounded memory) and
 * hashed in order; the digest is the same as one EVP context fed the same
 * bytes. Used from one thread only (the caller's); the worker never calls
 * libcurl, xapi or the repository. */
#ifndef XENTUI_BACKUP_BKHASH_H
#define XENTUI_BACKUP_BKHASH_H

#include <stddef.h>

struct bk_hash;

/* A new hash (the worker starts with the first full slot; if it cannot
 * start, the slots are hashed on the caller's thread instead). */
struct bk_hash *bk_hash_new(void);
/* Adds n bytes; may wait for the worker when every slot is full. */
void bk_hash_update(struct bk_hash *h, const void *buf, size_t n);
/* Hashes what is left, joins the worker, frees h: 64 hex digits. */
void bk_hash_hex(struct bk_hash *h, char out[65]);
/* Abandons h (a failure or a cancel): stops and joins the worker without
 * hashing the rest, frees everything. NULL is fine. */
void bk_hash_free(struct bk_hash *h);

#endif
