#define _GNU_SOURCE // ppoll, epoll_pwait2
#include "loop.h"
#include "list.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct loop_source {
	struct loop *loop;
	size_t index; // poll: into loop.pollfds and loop.sources; epoll: into loop.sources
	int fd;
	short events;
	loop_fd_func func;
	void *data;
	bool removed;
};

struct loop_timer {
	struct loop *loop;
	struct list link;      // loop.timers
	size_t heap_index;     // into loop.heap; SIZE_MAX while disarmed
	uint64_t deadline, period;
	uint64_t armed_round;  // the round it was last armed in
	loop_timer_func func;
	void *data;
};

struct loop {
	enum loop_kind kind;
	struct loop_source **sources;  // every source; poll: sources[i] watches pollfds[i]
	size_t count, cap;
	size_t removed;                // removed sources awaiting compaction
	struct pollfd *pollfds;        // poll: handed to ppoll() as is
	int epoll_fd;                  // epoll: the interest set
	struct epoll_event *events;    // epoll: what one wait returns
	size_t events_cap;
	bool no_pwait2;                // epoll: the kernel lacks epoll_pwait2 (before 5.11)
	struct loop_timer **heap;      // armed timers, a binary min-heap on deadline
	size_t heap_len, heap_cap;
	size_t timer_count;            // timers, armed or not: the heap has room for all
	struct list timers;            // loop_timer.link: every timer
	uint64_t round;                // dispatches so far
};

uint64_t loop_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *loop_kind_name(enum loop_kind kind) {
	return kind == LOOP_EPOLL ? "epoll" : "poll";
}

bool loop_kind_parse(const char *name, enum loop_kind *kind) {
	if (strcmp(name, "poll") == 0) {
		*kind = LOOP_POLL;
	} else if (strcmp(name, "epoll") == 0) {
		*kind = LOOP_EPOLL;
	} else {
		return false;
	}
	return true;
}

struct loop *loop_create(enum loop_kind kind) {
	struct loop *loop = calloc(1, sizeof *loop);
	if (loop == NULL) {
		return NULL;
	}
	loop->kind = kind;
	loop->epoll_fd = -1;
	list_init(&loop->timers);
	if (kind == LOOP_EPOLL) {
		loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		if (loop->epoll_fd < 0) {
			int saved = errno;
			free(loop);
			errno = saved;
			return NULL;
		}
	}
	return loop;
}

void loop_destroy(struct loop *loop) {
	if (loop == NULL) {
		return;
	}
	for (size_t i = 0; i < loop->count; i++) {
		free(loop->sources[i]);
	}
	while (!list_empty(&loop->timers)) {
		struct loop_timer *timer = list_entry(loop->timers.next, struct loop_timer, link);
		list_remove(&timer->link);
		free(timer);
	}
	if (loop->epoll_fd >= 0) {
		close(loop->epoll_fd);
	}
	free(loop->heap);
	free(loop->events);
	free(loop->sources);
	free(loop->pollfds);
	free(loop);
}

enum loop_kind loop_get_kind(const struct loop *loop) {
	return loop->kind;
}

/* ---- fds ---- */

static uint32_t to_epoll(short events) {
	return (events & POLLIN ? EPOLLIN : 0u) | (events & POLLOUT ? EPOLLOUT : 0u);
}

static short from_epoll(uint32_t events) {
	return (short)((events & EPOLLIN ? POLLIN : 0) | (events & EPOLLOUT ? POLLOUT : 0) |
		(events & EPOLLERR ? POLLERR : 0) | (events & EPOLLHUP ? POLLHUP : 0));
}

static bool grow_sources(struct loop *loop) {
	if (loop->count < loop->cap) {
		return true;
	}
	size_t cap = loop->cap ? loop->cap * 2 : 16;
	struct loop_source **sources = realloc(loop->sources, cap * sizeof *sources);
	if (sources == NULL) {
		return false;
	}
	loop->sources = sources;
	if (loop->kind == LOOP_POLL) {
		struct pollfd *pollfds = realloc(loop->pollfds, cap * sizeof *pollfds);
		if (pollfds == NULL) {
			return false; // sources keeps its larger block: harmless
		}
		loop->pollfds = pollfds;
	}
	loop->cap = cap;
	return true;
}

struct loop_source *loop_add_fd(struct loop *loop, int fd, short events,
		loop_fd_func func, void *data) {
	if (!grow_sources(loop)) {
		return NULL;
	}
	struct loop_source *source = calloc(1, sizeof *source);
	if (source == NULL) {
		return NULL;
	}
	*source = (struct loop_source){ .loop = loop, .index = loop->count, .fd = fd,
		.events = events, .func = func, .data = data };
	if (loop->kind == LOOP_EPOLL) {
		struct epoll_event ev = { .events = to_epoll(events), .data.ptr = source };
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(source);
			return NULL;
		}
	} else {
		loop->pollfds[loop->count] = (struct pollfd){ .fd = fd, .events = events };
	}
	loop->sources[loop->count++] = source;
	return source;
}

void loop_source_set_events(struct loop_source *source, short events) {
	assert(!source->removed);
	if (source->events == events) {
		return;
	}
	source->events = events;
	struct loop *loop = source->loop;
	if (loop->kind == LOOP_EPOLL) {
		struct epoll_event ev = { .events = to_epoll(events), .data.ptr = source };
		// Fails only for an fd closed behind our back: a caller's bug, which poll()
		// would show as POLLNVAL; nothing better to do here than keep going.
		(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, source->fd, &ev);
	} else {
		loop->pollfds[source->index].events = events;
	}
}

short loop_source_get_events(const struct loop_source *source) {
	return source->events;
}

void loop_source_remove(struct loop_source *source) {
	if (source == NULL || source->removed) {
		return;
	}
	struct loop *loop = source->loop;
	source->removed = true;
	loop->removed++;
	if (loop->kind == LOOP_EPOLL) {
		// Now, while the fd is still open: its owner closes it right after.
		(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, source->fd, NULL);
	} else {
		// A negative fd makes poll() skip the entry until compaction.
		loop->pollfds[source->index].fd = -1;
		loop->pollfds[source->index].revents = 0;
	}
}

// Drops removed sources by moving the last entry into each hole: O(removed). Only
// between rounds, when no epoll_event of the last wait points at a source any more.
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
			if (loop->kind == LOOP_POLL) {
				loop->pollfds[i] = loop->pollfds[loop->count];
			}
			loop->sources[i] = loop->sources[loop->count];
			loop->sources[i]->index = i;
		}
	}
}

/* ---- timers: a binary min-heap on the deadline ---- */

static bool heap_less(const struct loop *loop, size_t a, size_t b) {
	return loop->heap[a]->deadline < loop->heap[b]->deadline;
}

static void heap_swap(struct loop *loop, size_t a, size_t b) {
	struct loop_timer *t = loop->heap[a];
	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_index = a;
	loop->heap[b]->heap_index = b;
}

static void heap_up(struct loop *loop, size_t i) {
	while (i > 0 && heap_less(loop, i, (i - 1) / 2)) {
		heap_swap(loop, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct loop *loop, size_t i) {
	for (;;) {
		size_t least = i, l = 2 * i + 1, r = l + 1;
		if (l < loop->heap_len && heap_less(loop, l, least)) {
			least = l;
		}
		if (r < loop->heap_len && heap_less(loop, r, least)) {
			least = r;
		}
		if (least == i) {
			return;
		}
		heap_swap(loop, i, least);
		i = least;
	}
}

static void heap_remove(struct loop *loop, struct loop_timer *timer) {
	size_t i = timer->heap_index;
	timer->heap_index = SIZE_MAX;
	loop->heap_len--;
	if (i == loop->heap_len) {
		return;
	}
	loop->heap[i] = loop->heap[loop->heap_len];
	loop->heap[i]->heap_index = i;
	heap_down(loop, i);
	heap_up(loop, i);
}

struct loop_timer *loop_add_timer(struct loop *loop, loop_timer_func func, void *data) {
	// Room in the heap for every timer there is, so arming never fails.
	if (loop->heap_cap == loop->timer_count) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 8;
		struct loop_timer **heap = realloc(loop->heap, cap * sizeof *heap);
		if (heap == NULL) {
			return NULL;
		}
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	struct loop_timer *timer = calloc(1, sizeof *timer);
	if (timer == NULL) {
		return NULL;
	}
	*timer = (struct loop_timer){ .loop = loop, .heap_index = SIZE_MAX, .func = func,
		.data = data };
	loop->timer_count++;
	list_append(&loop->timers, &timer->link);
	return timer;
}

void loop_timer_arm(struct loop_timer *timer, uint64_t deadline_ns, uint64_t period_ns) {
	struct loop *loop = timer->loop;
	timer->deadline = deadline_ns;
	timer->period = period_ns;
	timer->armed_round = loop->round;
	if (timer->heap_index == SIZE_MAX) {
		timer->heap_index = loop->heap_len;
		loop->heap[loop->heap_len++] = timer;
		heap_up(loop, timer->heap_index);
	} else {
		heap_down(loop, timer->heap_index);
		heap_up(loop, timer->heap_index);
	}
}

void loop_timer_disarm(struct loop_timer *timer) {
	if (timer->heap_index != SIZE_MAX) {
		heap_remove(timer->loop, timer);
	}
}

bool loop_timer_armed(const struct loop_timer *timer) {
	return timer->heap_index != SIZE_MAX;
}

uint64_t loop_timer_deadline(const struct loop_timer *timer) {
	return timer->heap_index != SIZE_MAX ? timer->deadline : UINT64_MAX;
}

void loop_timer_remove(struct loop_timer *timer) {
	if (timer == NULL) {
		return;
	}
	loop_timer_disarm(timer);
	timer->loop->timer_count--;
	list_remove(&timer->link);
	free(timer);
}

// Calls the timers due at @now, earliest first. One armed in this round waits for the
// next, so a callback that re-arms itself for the past cannot hold the loop here.
static int run_timers(struct loop *loop, uint64_t now) {
	int fired = 0;
	while (loop->heap_len > 0) {
		struct loop_timer *timer = loop->heap[0];
		if (timer->deadline > now || timer->armed_round == loop->round) {
			break;
		}
		if (timer->period > 0) {
			uint64_t late = now - timer->deadline;
			timer->deadline += (late / timer->period + 1) * timer->period;
			heap_down(loop, 0);
		} else {
			heap_remove(loop, timer);
		}
		fired++;
		timer->func(timer->data); // may remove or re-arm it, or any other
	}
	return fired;
}

/* ---- waiting ---- */

// The time to wait: the caller's limit or the earliest timer, whichever is sooner.
static int64_t wait_ns(const struct loop *loop, int64_t timeout_ns) {
	if (loop->heap_len == 0) {
		return timeout_ns;
	}
	const struct loop_timer *first = loop->heap[0];
	uint64_t now = loop_now_ns();
	int64_t until = first->deadline <= now ? 0 :
		first->deadline - now > (uint64_t)INT64_MAX ? INT64_MAX :
		(int64_t)(first->deadline - now);
	return timeout_ns < 0 || until < timeout_ns ? until : timeout_ns;
}

static int dispatch_poll(struct loop *loop, const struct timespec *timeout,
		const sigset_t *sigmask) {
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

static int epoll_wait_ts(struct loop *loop, const struct timespec *timeout,
		const sigset_t *sigmask) {
	int max = (int)loop->events_cap;
	if (!loop->no_pwait2) {
		int n = epoll_pwait2(loop->epoll_fd, loop->events, max, timeout, sigmask);
		if (n >= 0 || errno != ENOSYS) {
			return n;
		}
		loop->no_pwait2 = true;
	}
	// Milliseconds, rounded up so that a timer is never woken for early.
	int ms = -1;
	if (timeout != NULL) {
		int64_t ns = (int64_t)timeout->tv_sec * 1000000000 + timeout->tv_nsec;
		ms = ns > (int64_t)INT32_MAX * 1000000 ? INT32_MAX : (int)((ns + 999999) / 1000000);
	}
	return epoll_pwait(loop->epoll_fd, loop->events, max, ms, sigmask);
}

static int dispatch_epoll(struct loop *loop, const struct timespec *timeout,
		const sigset_t *sigmask) {
	// Room for every source: one wait reports all that are ready, as poll() does.
	size_t want = loop->count > 16 ? loop->count : 16;
	if (loop->events_cap < want) {
		struct epoll_event *events = realloc(loop->events, want * sizeof *events);
		if (events != NULL) {
			loop->events = events;
			loop->events_cap = want;
		} else if (loop->events_cap == 0) {
			return -1;
		}
	}
	int n = epoll_wait_ts(loop, timeout, sigmask);
	if (n < 0) {
		return errno == EINTR ? 0 : -1;
	}
	for (int i = 0; i < n; i++) {
		// Removed sources are freed only by the next round's compact(): the pointer is
		// good, and the flag says whether a callback of this round removed it.
		struct loop_source *source = loop->events[i].data.ptr;
		if (!source->removed) {
			source->func(source->data, source->fd, from_epoll(loop->events[i].events));
		}
	}
	return n;
}

int loop_dispatch(struct loop *loop, int64_t timeout_ns, const sigset_t *sigmask) {
	compact(loop);
	int64_t ns = wait_ns(loop, timeout_ns);
	struct timespec ts, *timeout = NULL;
	if (ns >= 0) {
		ts = (struct timespec){ (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
		timeout = &ts;
	}
	loop->round++;
	int ready = loop->kind == LOOP_EPOLL ? dispatch_epoll(loop, timeout, sigmask)
		: dispatch_poll(loop, timeout, sigmask);
	if (ready < 0) {
		return -1;
	}
	return ready + run_timers(loop, loop_now_ns());
}
