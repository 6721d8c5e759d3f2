#include "memtune.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <malloc.h>
#if __GLIBC_PREREQ(2, 33) && defined(MADV_HUGEPAGE)
#define TUNE_HEAP 1 /* mallinfo2 is glibc 2.33's (Debian 12 has 2.36) */
#endif
#endif

/* A large pool's cache is tens of MB of small values, each touched once as
 * it loads: with 4 KiB pages that is 8,000 page faults on 5,000 VMs, a tenth
 * of the load's CPU. glibc's own switch for this (glibc.malloc.hugetlb=1)
 * is read only from the environment, so the heap is set up the same way
 * here, once a reply shows the pool is large: it grows by HEAP_STEP at once
 * (address space: a page costs memory only once touched) and is marked for
 * transparent huge pages, which the kernel backs with 2 MiB pages where whole
 * ones fit (its `madvise` mode, Debian's default). Not done for every
 * process: a small pool's few MB would round up to whole 2 MiB pages. Where
 * the kernel has no THP the advice changes nothing; musl (the static build)
 * keeps its own allocator. */
#define HEAP_STEP ((size_t)64 << 20)
#define HEAP_PROBE ((size_t)1 << 20)
#define MAX_PROBE ((size_t)16 << 20)
/* blocks larger than this are mapped apart (glibc starts at 128 KiB): the
 * calls' 128 KiB receive buffers and the pool's tables stay in the heap,
 * reused rather than mapped and faulted in afresh for every call */
#define MMAP_THRESHOLD (4 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

static bool enabled, done;

void memtune_enable(void)
{
	enabled = true;
}

void memtune_bulk_heap(void)
{
	if (!enabled || done)
		return;
	done = true;
#ifdef TUNE_HEAP
	struct mallinfo2 mi = mallinfo2();
	size_t size = mi.keepcost + HEAP_PROBE; /* more than the heap's free top */
	void *probe = NULL, *end;
	uintptr_t lo, hi;

	if (!mallopt(M_TOP_PAD, (int)HEAP_STEP))
		return;
	if (size <= MAX_PROBE && mallopt(M_MMAP_THRESHOLD, (int)(size + 4096)))
		probe = malloc(size); /* from the heap, which grows now, by HEAP_STEP */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	end = sbrk(0);
	/* the probe is the heap's top, just below the break (not, say, an
	 * allocator that does not use the break at all) */
	if (probe && ((uintptr_t)probe > (uintptr_t)end || (uintptr_t)end - (uintptr_t)probe > HEAP_STEP + size + HUGE_PAGE)) {
		free(probe);
		return;
	}
	if (end != (void *)-1) {
		/* the probe, or the free top, and what follows it to the break */
		lo = probe ? (uintptr_t)probe : (uintptr_t)end - mi.keepcost;
		lo = (lo + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		hi = (uintptr_t)end & ~(HUGE_PAGE - 1);
		if (hi > lo)
			madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice: its failure changes nothing */
	}
	free(probe);
#endif
}
