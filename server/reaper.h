/*
 * Freeing big blocks off the event loop. When a client with 100,000 nodes goes, its
 * object table and scene pools are a few megabytes in 4 KiB pages, and handing those
 * back to the kernel (munmap, or free() of a block malloc mapped on its own) costs
 * about half a microsecond a page: most of a millisecond of the loop's time, during
 * which nobody else's requests are read. Nothing points into those blocks any more by
 * then, so the loop hands them to the reaper, one thread that only frees memory, and
 * goes on; the pages go back to the system a moment later, while the next frame is
 * drawn. (Redis frees big values off its loop the same way.)
 *
 * The reaper touches nothing else of the server: it takes no lock the loop takes but
 * its own queue's, calls no GL, and never reads what it frees. Until reaper_start (the
 * unit tests, the fuzz targets) and after reaper_stop, and when its queue is full or a
 * block is small, blocks are freed at once on the caller's thread.
 */
#ifndef TESSERA_REAPER_H
#define TESSERA_REAPER_H

#include <stdbool.h>
#include <stddef.h>

// Blocks smaller than this are freed at once: a small free() rarely reaches the
// kernel, and the hand-over would cost more than it saves.
#define REAPER_MIN_BYTES ((size_t)64 << 10)

/** Starts the reaper thread. False (and frees stay on the caller's thread) if it cannot. */
bool reaper_start(void);

/** Waits until everything handed over is freed, then ends the thread. */
void reaper_stop(void);

/*
 * These two free a block at once, or queue it for the reaper, which frees it after the
 * next reaper_wake: a cleanup hands over all its blocks and wakes the reaper once, at
 * its end, so that the thread does not take the CPU from the loop halfway through.
 */

/** free(@ptr), where @ptr is @bytes long, here or on the reaper. */
void reaper_free(void *ptr, size_t bytes);

/** munmap(@addr, @len), here or on the reaper. */
void reaper_unmap(void *addr, size_t len);

/** Starts the reaper on what has been handed over. */
void reaper_wake(void);

/** What the reaper has freed so far, for tests and logs. */
struct reaper_stats {
	unsigned long long handed;  // blocks the reaper freed
	unsigned long long bytes;   // their size
	unsigned long long inline_; // big blocks freed at once because the queue was full
};
struct reaper_stats reaper_stats(void);

#endif
