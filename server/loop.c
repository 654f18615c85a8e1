#define _GNU_SOURCE // ppoll
#include "loop.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct loop_source {
	struct loop *loop;
	size_t index; // into loop.pollfds and loop.sources
	loop_fd_func func;
	void *data;
	bool removed;
};

struct loop {
	struct pollfd *pollfds;        // handed to poll() as is
	struct loop_source **sources;  // sources[i] watches pollfds[i]
	size_t count, cap;
	size_t removed;                // removed sources awaiting compaction
};

uint64_t loop_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct loop *loop_create(void) {
	return calloc(1, sizeof(struct loop));
}

void loop_destroy(struct loop *loop) {
	if (loop == NULL) {
		return;
	}
	for (size_t i = 0; i < loop->count; i++) {
		free(loop->sources[i]);
	}
	free(loop->sources);
	free(loop->pollfds);
	free(loop);
}

struct loop_source *loop_add_fd(struct loop *loop, int fd, short events,
		loop_fd_func func, void *data) {
	if (loop->count == loop->cap) {
		size_t cap = loop->cap ? loop->cap * 2 : 16;
		struct pollfd *pollfds = realloc(loop->pollfds, cap * sizeof *pollfds);
		if (pollfds == NULL) {
			return NULL;
		}
		loop->pollfds = pollfds;
		struct loop_source **sources = realloc(loop->sources, cap * sizeof *sources);
		if (sources == NULL) {
			return NULL;
		}
		loop->sources = sources;
		loop->cap = cap;
	}
	struct loop_source *source = calloc(1, sizeof *source);
	if (source == NULL) {
		return NULL;
	}
	source->loop = loop;
	source->index = loop->count;
	source->func = func;
	source->data = data;
	loop->pollfds[loop->count] = (struct pollfd){ .fd = fd, .events = events };
	loop->sources[loop->count] = source;
	loop->count++;
	return source;
}

void loop_source_set_events(struct loop_source *source, short events) {
	assert(!source->removed);
	source->loop->pollfds[source->index].events = events;
}

short loop_source_get_events(const struct loop_source *source) {
	return source->loop->pollfds[source->index].events;
}

void loop_source_remove(struct loop_source *source) {
	if (source == NULL || source->removed) {
		return;
	}
	source->removed = true;
	// A negative fd makes poll() skip the entry until compaction.
	source->loop->pollfds[source->index].fd = -1;
	source->loop->pollfds[source->index].revents = 0;
	source->loop->removed++;
}

// Drops removed sources by moving the last entry into each hole: O(removed).
static void compact(struct loop *loop) {
	for (size_t i = 0; i < loop->count && loop->removed > 0;) {
		struct loop_source *source = loop->sources[i];
		if (!source->removed) {
			i++;
			continue;
		}
		free(source);
		loop->removed--;
		loop->count--;
		if (i != loop->count) {
			loop->pollfds[i] = loop->pollfds[loop->count];
			loop->sources[i] = loop->sources[loop->count];
			loop->sources[i]->index = i;
		}
	}
}

int loop_dispatch(struct loop *loop, int64_t timeout_ns, const sigset_t *sigmask) {
	compact(loop);
	struct timespec ts, *timeout = NULL;
	if (timeout_ns >= 0) {
		ts = (struct timespec){ (time_t)(timeout_ns / 1000000000),
			(long)(timeout_ns % 1000000000) };
		timeout = &ts;
	}
	int n = ppoll(loop->pollfds, loop->count, timeout, sigmask);
	if (n < 0) {
		return errno == EINTR ? 0 : -1;
	}
	// Sources added by callbacks land past `count` and wait for the next round.
	size_t count = loop->count;
	int ready = 0;
	for (size_t i = 0; i < count && ready < n; i++) {
		struct pollfd *p = &loop->pollfds[i];
		if (p->revents == 0) {
			continue;
		}
		ready++;
		short revents = p->revents;
		p->revents = 0;
		struct loop_source *source = loop->sources[i];
		if (!source->removed) {
			source->func(source->data, p->fd, revents);
		}
	}
	return ready;
}
