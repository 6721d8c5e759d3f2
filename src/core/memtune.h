/* The process's heap, set up for loading a large pool. */
#ifndef XENTUI_MEMTUNE_H
#define XENTUI_MEMTUNE_H

/* Lets memtune_bulk_heap act: the client's main thread, which keeps a
 * pool's cache, calls it once at start. */
void memtune_enable(void);
/* Once enabled, the first call grows the heap in one large step backed by
 * transparent huge pages (glibc on Linux; elsewhere nothing); later calls
 * do nothing. Called when a reply shows the pool is large. */
void memtune_bulk_heap(void);

#endif
