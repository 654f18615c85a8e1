/*
 * The event loop (server/loop.c) under both backends: fds, removal from callbacks,
 * timers (order, periods, re-arming, removal), waiting and signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

#define MS 1000000ull

struct fixture {
	struct loop *loop;
	int pair[2];
};

static int setup_kind(void **state, enum loop_kind kind) {
	static struct fixture f[2];
	struct fixture *fx = &f[kind];
	fx->loop = loop_create(kind);
	if (fx->loop == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fx->pair) < 0) {
		return -1;
	}
	*state = fx;
	return 0;
}

static int setup_poll(void **state) {
	return setup_kind(state, LOOP_POLL);
}

static int setup_epoll(void **state) {
	return setup_kind(state, LOOP_EPOLL);
}

static int teardown(void **state) {
	struct fixture *fx = *state;
	loop_destroy(fx->loop);
	close(fx->pair[0]);
	close(fx->pair[1]);
	return 0;
}

struct hits {
	int count;
	short revents;
	struct loop_source *remove;  // removed by the callback
	struct loop_source *self;
};

static void on_fd(void *data, int fd, short revents) {
	struct hits *h = data;
	h->count++;
	h->revents = revents;
	if (h->remove != NULL) {
		loop_source_remove(h->remove);
	}
}

static void test_kind_names(void **state) {
	(void)state;
	enum loop_kind kind;
	assert_true(loop_kind_parse("poll", &kind));
	assert_int_equal(kind, LOOP_POLL);
	assert_true(loop_kind_parse("epoll", &kind));
	assert_int_equal(kind, LOOP_EPOLL);
	assert_false(loop_kind_parse("select", &kind));
	assert_false(loop_kind_parse("", &kind));
	assert_string_equal(loop_kind_name(LOOP_EPOLL), "epoll");
	assert_string_equal(loop_kind_name(LOOP_POLL), "poll");
}

static void test_readable(void **state) {
	struct fixture *fx = *state;
	struct hits h = { 0 };
	struct loop_source *s = loop_add_fd(fx->loop, fx->pair[0], POLLIN, on_fd, &h);
	assert_non_null(s);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 0);
	assert_int_equal(h.count, 0);
	assert_int_equal(write(fx->pair[1], "x", 1), 1);
	assert_int_equal(loop_dispatch(fx->loop, 1000 * MS, NULL), 1);
	assert_int_equal(h.count, 1);
	assert_true(h.revents & POLLIN);
	// Level-triggered under both: unread bytes report again.
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 1);
	assert_int_equal(h.count, 2);
	// Parked: nothing, though the byte is still there.
	loop_source_set_events(s, 0);
	assert_int_equal(loop_source_get_events(s), 0);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 0);
	assert_int_equal(h.count, 2);
	loop_source_set_events(s, POLLIN | POLLOUT);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 1);
	assert_int_equal(h.revents & (POLLIN | POLLOUT), POLLIN | POLLOUT);
	loop_source_remove(s);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 0);
	assert_int_equal(h.count, 3);
}

static void test_hangup_parked(void **state) {
	struct fixture *fx = *state;
	struct hits h = { 0 };
	assert_non_null(loop_add_fd(fx->loop, fx->pair[0], 0, on_fd, &h));
	close(fx->pair[1]);
	fx->pair[1] = -1;
	// A hang-up is reported even to a parked source, as poll() does.
	assert_int_equal(loop_dispatch(fx->loop, 1000 * MS, NULL), 1);
	assert_true(h.revents & POLLHUP);
}

// A callback that removes a source ready in the same round: that one is not called.
static void test_remove_other_in_callback(void **state) {
	struct fixture *fx = *state;
	int other[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, other), 0);
	struct hits a = { 0 }, b = { 0 };
	struct loop_source *sa = loop_add_fd(fx->loop, fx->pair[0], POLLIN, on_fd, &a);
	struct loop_source *sb = loop_add_fd(fx->loop, other[0], POLLIN, on_fd, &b);
	a.remove = sb;
	b.remove = sa;
	assert_int_equal(write(fx->pair[1], "x", 1), 1);
	assert_int_equal(write(other[1], "x", 1), 1);
	loop_dispatch(fx->loop, 1000 * MS, NULL);
	// Whichever ran first removed the other.
	assert_int_equal(a.count + b.count, 1);
	bool a_first = a.count == 1;
	a.remove = b.remove = NULL;
	// The survivor's byte is still unread, the removed one's too: only the survivor.
	loop_dispatch(fx->loop, 0, NULL);
	assert_int_equal(a_first ? b.count : a.count, 0);
	assert_int_equal(a_first ? a.count : b.count, 2);
	loop_source_remove(a_first ? sa : sb);
	close(other[0]);
	close(other[1]);
}

// Many sources, some removed, the rest still reported right after compaction.
static void test_many_sources(void **state) {
	struct fixture *fx = *state;
	enum { N = 200 };
	int pairs[N][2];
	struct hits h[N];
	struct loop_source *src[N];
	memset(h, 0, sizeof h);
	for (int i = 0; i < N; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pairs[i]), 0);
		src[i] = loop_add_fd(fx->loop, pairs[i][0], POLLIN, on_fd, &h[i]);
		assert_non_null(src[i]);
	}
	for (int i = 0; i < N; i += 2) {
		loop_source_remove(src[i]);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(write(pairs[i][1], "x", 1), 1);
	}
	assert_int_equal(loop_dispatch(fx->loop, 1000 * MS, NULL), N / 2);
	for (int i = 0; i < N; i++) {
		assert_int_equal(h[i].count, i % 2);
	}
	for (int i = 0; i < N; i++) {
		if (i % 2) { // the others were freed by the round after their removal
			loop_source_remove(src[i]);
		}
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 0);
}

struct tick {
	struct loop_timer *timer;
	int count;
	int order[8];
	int *log;
	int *log_len;
	int id;
	uint64_t rearm_ns;           // re-armed for now + this by its callback (0: no)
	struct loop_timer *remove;   // removed by its callback
	struct loop_timer **self_removed;
};

static void on_tick(void *data) {
	struct tick *t = data;
	t->count++;
	if (t->log != NULL) {
		t->log[(*t->log_len)++] = t->id;
	}
	if (t->rearm_ns != 0) {
		loop_timer_arm(t->timer, loop_now_ns() - t->rearm_ns, 0);
	}
	if (t->remove != NULL) {
		loop_timer_remove(t->remove);
		t->remove = NULL;
	}
	if (t->self_removed != NULL) {
		loop_timer_remove(t->timer);
		*t->self_removed = NULL;
		t->self_removed = NULL;
	}
}

// Timers fire in deadline order, whatever order they were armed in, and not before.
static void test_timer_order(void **state) {
	struct fixture *fx = *state;
	int log[8], len = 0;
	struct tick t[3] = { 0 };
	uint64_t now = loop_now_ns();
	uint64_t at[3] = { now + 30 * MS, now + 10 * MS, now + 20 * MS };
	for (int i = 0; i < 3; i++) {
		t[i] = (struct tick){ .log = log, .log_len = &len, .id = i };
		t[i].timer = loop_add_timer(fx->loop, on_tick, &t[i]);
		assert_non_null(t[i].timer);
		loop_timer_arm(t[i].timer, at[i], 0);
	}
	assert_int_equal(loop_timer_deadline(t[0].timer), at[0]);
	while (len < 3) {
		assert_true(loop_dispatch(fx->loop, -1, NULL) >= 0);
	}
	assert_true(loop_now_ns() >= now + 30 * MS);
	assert_int_equal(log[0], 1);
	assert_int_equal(log[1], 2);
	assert_int_equal(log[2], 0);
	for (int i = 0; i < 3; i++) {
		assert_false(loop_timer_armed(t[i].timer));
		assert_int_equal(loop_timer_deadline(t[i].timer), UINT64_MAX);
		loop_timer_remove(t[i].timer);
	}
}

// The wait ends at the timer, not later (a millisecond-rounded wait would also pass),
// and nothing fires early.
static void test_timer_wakes_wait(void **state) {
	struct fixture *fx = *state;
	struct tick t = { 0 };
	t.timer = loop_add_timer(fx->loop, on_tick, &t);
	uint64_t start = loop_now_ns();
	loop_timer_arm(t.timer, start + 5 * MS, 0);
	int n = loop_dispatch(fx->loop, 10000 * MS, NULL);
	uint64_t took = loop_now_ns() - start;
	assert_int_equal(n, 1);
	assert_int_equal(t.count, 1);
	assert_true(took >= 5 * MS);
	assert_true(took < 2000 * MS);
	// Moving an armed timer: it fires once, at the new time.
	loop_timer_arm(t.timer, loop_now_ns() + 1000 * MS, 0);
	loop_timer_arm(t.timer, loop_now_ns() + 1 * MS, 0);
	assert_int_equal(loop_dispatch(fx->loop, 5000 * MS, NULL), 1);
	assert_int_equal(t.count, 2);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 0);
	// Disarmed: never.
	loop_timer_arm(t.timer, loop_now_ns(), 0);
	loop_timer_disarm(t.timer);
	assert_int_equal(loop_dispatch(fx->loop, 20 * MS, NULL), 0);
	assert_int_equal(t.count, 2);
	loop_timer_remove(t.timer);
}

// A period the loop was too busy for is skipped, not run in a burst; the grid stays.
static void test_timer_period_skips(void **state) {
	struct fixture *fx = *state;
	struct tick t = { 0 };
	t.timer = loop_add_timer(fx->loop, on_tick, &t);
	uint64_t start = loop_now_ns();
	loop_timer_arm(t.timer, start + 2 * MS, 10 * MS);
	usleep(35000); // past 2, 12, 22 and 32 ms
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 1);
	assert_int_equal(t.count, 1);
	uint64_t next = loop_timer_deadline(t.timer);
	uint64_t now = loop_now_ns();
	assert_true(next > now - 1 * MS);
	assert_int_equal((next - start - 2 * MS) % (10 * MS), 0);
	assert_true(loop_timer_armed(t.timer));
	loop_timer_remove(t.timer);
}

// A callback re-arming its timer for the past does not hold the loop in one round.
static void test_timer_rearm_past(void **state) {
	struct fixture *fx = *state;
	struct tick t = { .rearm_ns = 1 * MS };
	t.timer = loop_add_timer(fx->loop, on_tick, &t);
	loop_timer_arm(t.timer, loop_now_ns(), 0);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 1);
	assert_int_equal(t.count, 1);
	assert_true(loop_timer_armed(t.timer));
	// The next round fires it at once (a wait of 0, though no limit was given).
	uint64_t start = loop_now_ns();
	assert_int_equal(loop_dispatch(fx->loop, -1, NULL), 1);
	assert_true(loop_now_ns() - start < 1000 * MS);
	assert_int_equal(t.count, 2);
	t.rearm_ns = 0;
	loop_timer_disarm(t.timer);
	loop_timer_remove(t.timer);
}

// Removing timers from callbacks: another one due in the same round, and itself.
static void test_timer_remove_in_callback(void **state) {
	struct fixture *fx = *state;
	struct tick a = { 0 }, b = { 0 };
	a.timer = loop_add_timer(fx->loop, on_tick, &a);
	b.timer = loop_add_timer(fx->loop, on_tick, &b);
	uint64_t now = loop_now_ns();
	loop_timer_arm(a.timer, now - 2 * MS, 0);
	loop_timer_arm(b.timer, now - 1 * MS, 0);
	a.remove = b.timer;
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 1);
	assert_int_equal(a.count, 1);
	assert_int_equal(b.count, 0);
	struct loop_timer *alive = a.timer;
	a.self_removed = &alive;
	loop_timer_arm(a.timer, now, 5 * MS);
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), 1);
	assert_null(alive);
	assert_int_equal(loop_dispatch(fx->loop, 20 * MS, NULL), 0);
	assert_int_equal(a.count, 2);
}

// Many timers with random deadlines come out sorted (the heap).
static void test_timer_heap(void **state) {
	struct fixture *fx = *state;
	enum { N = 300 };
	static struct tick t[N];
	static int log[N];
	static uint64_t deadline[N];
	int len = 0;
	uint64_t base = loop_now_ns() - 1000 * MS;
	uint32_t seed = 12345;
	for (int i = 0; i < N; i++) {
		t[i] = (struct tick){ .log = log, .log_len = &len, .id = i };
		t[i].timer = loop_add_timer(fx->loop, on_tick, &t[i]);
		assert_non_null(t[i].timer);
		seed = seed * 1103515245u + 12345u;
		deadline[i] = base + (seed >> 8) % 1000000;
		loop_timer_arm(t[i].timer, deadline[i], 0);
	}
	// Disarm a third and move a third elsewhere: both keep the heap sound.
	for (int i = 0; i < N; i += 3) {
		loop_timer_disarm(t[i].timer);
	}
	for (int i = 1; i < N; i += 3) {
		deadline[i] = base + (uint64_t)(N - i) * 3000;
		loop_timer_arm(t[i].timer, deadline[i], 0);
	}
	assert_int_equal(loop_dispatch(fx->loop, 0, NULL), N - (N + 2) / 3);
	assert_int_equal(len, N - (N + 2) / 3);
	for (int i = 0; i < len; i++) {
		assert_int_not_equal(log[i] % 3, 0);
		assert_false(loop_timer_armed(t[log[i]].timer));
		if (i > 0) {
			assert_true(deadline[log[i - 1]] <= deadline[log[i]]);
		}
	}
	for (int i = 0; i < N; i++) {
		loop_timer_remove(t[i].timer);
	}
}

static void on_signal(int signo) {
	(void)signo;
}

// A signal blocked outside the wait is delivered inside it and ends it early.
static void test_signal_ends_wait(void **state) {
	struct fixture *fx = *state;
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	sigset_t block, wait_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &wait_mask), 0);
	sigdelset(&wait_mask, SIGUSR1);
	raise(SIGUSR1); // pending until the wait unblocks it
	uint64_t start = loop_now_ns();
	assert_int_equal(loop_dispatch(fx->loop, 5000 * MS, &wait_mask), 0);
	assert_true(loop_now_ns() - start < 2000 * MS);
	assert_int_equal(sigprocmask(SIG_UNBLOCK, &block, NULL), 0);
}

#define BOTH(fn) \
	cmocka_unit_test_setup_teardown(fn, setup_poll, teardown), \
	cmocka_unit_test_setup_teardown(fn, setup_epoll, teardown)

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		BOTH(test_readable),
		BOTH(test_hangup_parked),
		BOTH(test_remove_other_in_callback),
		BOTH(test_many_sources),
		BOTH(test_timer_order),
		BOTH(test_timer_wakes_wait),
		BOTH(test_timer_period_skips),
		BOTH(test_timer_rearm_past),
		BOTH(test_timer_remove_in_callback),
		BOTH(test_timer_heap),
		BOTH(test_signal_ends_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
