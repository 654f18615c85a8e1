#define _DEFAULT_SOURCE
#include "reaper.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

// One client's cleanup hands over at most some thirty blocks (its table's chunks, its
// scene pools): the queue takes a few such cleanups at once.
#define REAPER_QUEUE 128

struct block {
	void *ptr;
	size_t len;  // bytes
	bool mapped; // munmap rather than free
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;   // the reaper waits for work or the stop
	pthread_cond_t done;   // reaper_stop waits for the queue to empty
	pthread_t thread;
	bool running, stopping;
	struct block queue[REAPER_QUEUE];
	unsigned head, count;
	bool busy; // the reaper is freeing a block it took off the queue
	struct reaper_stats stats;
} reaper = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static void release(struct block b) {
	if (b.mapped) {
		munmap(b.ptr, b.len);
	} else {
		free(b.ptr);
	}
}

static void *reaper_main(void *unused) {
	(void)unused;
	pthread_mutex_lock(&reaper.lock);
	for (;;) {
		while (reaper.count == 0 && !reaper.stopping) {
			pthread_cond_wait(&reaper.wake, &reaper.lock);
		}
		if (reaper.count == 0) {
			break; // stopping, and nothing left
		}
		struct block b = reaper.queue[reaper.head];
		reaper.head = (reaper.head + 1) % REAPER_QUEUE;
		reaper.count--;
		reaper.busy = true;
		pthread_mutex_unlock(&reaper.lock);
		release(b);
		pthread_mutex_lock(&reaper.lock);
		reaper.busy = false;
		reaper.stats.handed++;
		reaper.stats.bytes += b.len;
		if (reaper.count == 0) {
			pthread_cond_broadcast(&reaper.done);
		}
	}
	pthread_mutex_unlock(&reaper.lock);
	return NULL;
}

bool reaper_start(void) {
	pthread_mutex_lock(&reaper.lock);
	bool running = reaper.running;
	pthread_mutex_unlock(&reaper.lock);
	if (running) {
		return true;
	}
	// The thread starts with every signal blocked, so that SIGINT and SIGTERM, which
	// the loop unblocks only while it sleeps, always reach the loop's thread.
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	reaper.stopping = false;
	int err = pthread_create(&reaper.thread, NULL, reaper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		return false;
	}
	pthread_mutex_lock(&reaper.lock);
	reaper.running = true;
	pthread_mutex_unlock(&reaper.lock);
	return true;
}

void reaper_stop(void) {
	pthread_mutex_lock(&reaper.lock);
	if (!reaper.running) {
		pthread_mutex_unlock(&reaper.lock);
		return;
	}
	reaper.stopping = true;
	pthread_cond_signal(&reaper.wake);
	while (reaper.count > 0 || reaper.busy) {
		pthread_cond_wait(&reaper.done, &reaper.lock);
	}
	reaper.running = false;
	pthread_mutex_unlock(&reaper.lock);
	pthread_join(reaper.thread, NULL);
}

void reaper_wake(void) {
	pthread_mutex_lock(&reaper.lock);
	if (reaper.count > 0) {
		pthread_cond_signal(&reaper.wake);
	}
	pthread_mutex_unlock(&reaper.lock);
}

static void hand_over(struct block b) {
	if (b.ptr == NULL) {
		return;
	}
	if (b.len >= REAPER_MIN_BYTES) {
		pthread_mutex_lock(&reaper.lock);
		if (reaper.running && !reaper.stopping && reaper.count < REAPER_QUEUE) {
			reaper.queue[(reaper.head + reaper.count) % REAPER_QUEUE] = b;
			reaper.count++;
			// Woken by reaper_wake, once the caller is done; here only when the
			// queue fills up without one.
			if (reaper.count >= REAPER_QUEUE / 2) {
				pthread_cond_signal(&reaper.wake);
			}
			pthread_mutex_unlock(&reaper.lock);
			return;
		}
		if (reaper.running) {
			reaper.stats.inline_++;
		}
		pthread_mutex_unlock(&reaper.lock);
	}
	release(b);
}

void reaper_free(void *ptr, size_t bytes) {
	hand_over((struct block){ .ptr = ptr, .len = bytes, .mapped = false });
}

void reaper_unmap(void *addr, size_t len) {
	hand_over((struct block){ .ptr = addr, .len = len, .mapped = true });
}

struct reaper_stats reaper_stats(void) {
	pthread_mutex_lock(&reaper.lock);
	struct reaper_stats stats = reaper.stats;
	pthread_mutex_unlock(&reaper.lock);
	return stats;
}
