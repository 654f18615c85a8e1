/*
 * Frame pacing on the headless server: presentation feedback on the refresh grid,
 * frame callbacks of clients with nothing on screen, the manual clock and
 * tessera-clock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"

#define REFRESH_NS 16666666u // 60 Hz, as 1e12 / 60000 mHz rounds it

struct got {
	int count;
	struct ts_presentation p[64];
	uint64_t received_ns[64];
};

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_presented(void *data, const struct ts_presentation *p) {
	struct got *g = data;
	if (g->count < 64) {
		g->received_ns[g->count] = now_ns();
		g->p[g->count] = *p;
	}
	g->count++;
}

static struct ts_rect *make_rect(struct ts_display *d, int x, int y, uint32_t rgba) {
	struct ts_rect *r = ts_rect_create(d);
	assert_non_null(r);
	assert_int_equal(ts_rect_set_position(r, x, y), 0);
	assert_int_equal(ts_rect_set_size(r, 16, 16), 0);
	assert_int_equal(ts_rect_set_color(r, rgba), 0);
	return r;
}

// Asks for a frame, commits, and waits for its presentation.
static void next_frame(struct ts_display *d, struct got *g) {
	int before = g->count;
	assert_int_equal(ts_display_frame_presented(d, on_presented, g), 0);
	assert_int_equal(ts_display_commit(d), 0);
	while (g->count == before) {
		assert_true(ts_display_dispatch(d) >= 0);
	}
}

// An animating client on the real 60 Hz clock: every presentation is on the refresh
// grid (a whole number of intervals after the one before), never in the future when it
// arrives, with consecutive sequence numbers counting the frames between.
static void test_presentation_on_grid(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-pacing");
	struct ts_rect *r = make_rect(d, 0, 0, 0xff0000ffu);
	struct got g = { 0 };
	next_frame(d, &g);
	enum { N = 20 };
	for (int i = 1; i < N; i++) {
		assert_int_equal(ts_rect_set_position(r, i, 0), 0); // something to draw
		next_frame(d, &g);
	}
	assert_int_equal(g.count, N);
	int exact = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(g.p[i].refresh_ns, REFRESH_NS);
		assert_true(g.p[i].time_ns <= g.received_ns[i]);
		if (i == 0) {
			continue;
		}
		uint64_t gap = g.p[i].time_ns - g.p[i - 1].time_ns;
		uint32_t frames = g.p[i].seq - g.p[i - 1].seq;
		assert_true(g.p[i].time_ns > g.p[i - 1].time_ns);
		assert_int_equal(gap % REFRESH_NS, 0);
		// The sequence counts refresh periods, as a vblank counter does.
		assert_int_equal(gap / REFRESH_NS, frames);
		exact += gap == REFRESH_NS;
	}
	// A loaded machine may miss a frame now and then, not most of them.
	assert_true(exact >= N / 2);
	ts_display_disconnect(d);
}

// A client with nothing on screen (its only rect hidden, then off the output) still has
// its frame callbacks answered, about once a second, while an on-screen client's go on
// at the display rate.
static void test_hidden_throttled(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *hidden = e2e_join(&f->srv, "e2e-hidden");
	struct ts_rect *r = make_rect(hidden, 0, 0, 0x00ff00ffu);
	assert_int_equal(ts_node_set_visible(ts_rect_node(r), false), 0);
	struct got g = { 0 };
	next_frame(hidden, &g);
	next_frame(hidden, &g);
	assert_int_equal(ts_rect_set_position(r, 1000, 1000), 0);
	assert_int_equal(ts_node_set_visible(ts_rect_node(r), true), 0);
	next_frame(hidden, &g); // this commit's change is drawn: answered at once
	next_frame(hidden, &g); // off screen now: throttled again
	uint64_t gap1 = g.p[1].time_ns - g.p[0].time_ns;
	uint64_t gap3 = g.p[3].time_ns - g.p[2].time_ns;
	assert_true(gap1 >= 900000000u && gap1 < 3000000000u);
	assert_true(gap3 >= 900000000u && gap3 < 3000000000u);
	// An on-screen client meanwhile: ten frames in far less than a second.
	struct ts_display *shown = e2e_join(&f->srv, "e2e-shown");
	struct ts_rect *s = make_rect(shown, 0, 0, 0xffffffffu);
	struct got h = { 0 };
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ts_rect_set_position(s, i, 0), 0);
		next_frame(shown, &h);
	}
	assert_true(h.p[9].time_ns - h.p[0].time_ns < 600000000u);
	ts_display_disconnect(shown);
	ts_display_disconnect(hidden);
}

static int manual_setup(void **state) {
	struct e2e_fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	e2e_server_start_with(&f->srv, (const char *const[]){ "--clock", "manual", NULL });
	f->fd_baseline = e2e_server_settled_fds(&f->srv);
	*state = f;
	return 0;
}

// The manual clock: nothing is presented until a step; each step presents one frame,
// exactly the step later (one refresh interval by default), and answers the frame
// callbacks waiting, on screen or not.
static void test_manual_clock(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-manual");
	struct ts_display *clock = e2e_join(&f->srv, "e2e-clock");
	make_rect(d, 0, 0, 0xff00ffffu);
	struct got g = { 0 };
	assert_int_equal(ts_display_frame_presented(d, on_presented, &g), 0);
	assert_int_equal(ts_display_commit(d), 0);
	// The commit is drawn (a screenshot shows it) but its frame callback waits.
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, 0xff00ffffu), 256);
	e2e_image_free(&img);
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(g.count, 0);
	int64_t seq = ts_display_clock_step(clock, 0);
	assert_true(seq >= 1);
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(g.count, 1);
	assert_int_equal(g.p[0].seq, (uint32_t)seq);
	// Steps of one interval, of 250 ms, of 1 ms: presentations exactly that far apart.
	static const uint32_t steps[] = { 0, 250, 1, 0 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ts_display_frame_presented(d, on_presented, &g), 0);
		assert_int_equal(ts_display_commit(d), 0);
		assert_int_equal(ts_display_roundtrip(d), 0);
		int64_t s = ts_display_clock_step(clock, steps[i]);
		assert_int_equal(s, seq + 1 + i);
		assert_int_equal(ts_display_roundtrip(d), 0);
		assert_int_equal(g.count, 2 + i);
		uint64_t want = steps[i] ? steps[i] * 1000000ull : REFRESH_NS;
		assert_int_equal(g.p[1 + i].time_ns - g.p[i].time_ns, want);
		assert_int_equal(g.p[1 + i].seq, (uint32_t)s);
	}
	// A client with nothing on screen: answered at a step too, once the manual clock
	// has passed its second.
	struct ts_display *empty = e2e_join(&f->srv, "e2e-empty");
	struct got e = { 0 };
	assert_int_equal(ts_display_frame_presented(empty, on_presented, &e), 0);
	assert_int_equal(ts_display_commit(empty), 0);
	assert_int_equal(ts_display_roundtrip(empty), 0);
	assert_true(ts_display_clock_step(clock, 0) > 0);
	assert_int_equal(ts_display_roundtrip(empty), 0);
	assert_int_equal(e.count, 1); // its first: nothing before to throttle against
	assert_int_equal(ts_display_frame_presented(empty, on_presented, &e), 0);
	assert_int_equal(ts_display_commit(empty), 0);
	assert_int_equal(ts_display_roundtrip(empty), 0);
	assert_true(ts_display_clock_step(clock, 500) > 0);
	assert_int_equal(ts_display_roundtrip(empty), 0);
	assert_int_equal(e.count, 1); // half a second: not yet
	assert_true(ts_display_clock_step(clock, 500) > 0);
	assert_int_equal(ts_display_roundtrip(empty), 0);
	assert_int_equal(e.count, 2);
	assert_int_equal(e.p[1].time_ns - e.p[0].time_ns, 1000000000u);
	ts_display_disconnect(empty);
	ts_display_disconnect(clock);
	ts_display_disconnect(d);
}

// tessera-clock steps a manual clock and prints the frame's sequence number; a server
// with a real clock refuses it, and the tool says why.
static void test_clock_tool(void **state) {
	struct e2e_fixture *f = *state;
	char out[256];
	const char *argv[] = { e2e_bin("TESSERA_CLOCK"), "--socket", f->srv.socket, "step",
		"20", NULL };
	int status = e2e_run(argv, out, sizeof out);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char *end;
	long seq = strtol(out, &end, 10);
	assert_true(end != out && seq >= 1);
	const char *bad[] = { e2e_bin("TESSERA_CLOCK"), "--socket", f->srv.socket, "step",
		"-5", NULL };
	status = e2e_run(bad, out, sizeof out);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

static void test_clock_refused(void **state) {
	struct e2e_fixture *f = *state;
	char out[512];
	const char *argv[] = { e2e_bin("TESSERA_CLOCK"), "--socket", f->srv.socket, "step",
		NULL };
	int status = e2e_run(argv, out, sizeof out);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	// The server is fine, and so is everyone else.
	struct ts_display *d = e2e_join(&f->srv, "e2e-after-refusal");
	assert_int_equal(ts_display_roundtrip(d), 0);
	ts_display_disconnect(d);
	assert_true(e2e_server_alive(&f->srv));
}

int main(void) {
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, e2e_fixture_setup, e2e_fixture_teardown)
#define MANUAL(fn) cmocka_unit_test_setup_teardown(fn, manual_setup, e2e_fixture_teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_presentation_on_grid),
		TEST(test_hidden_throttled),
		TEST(test_clock_refused),
		MANUAL(test_manual_clock),
		MANUAL(test_clock_tool),
	};
	return cmocka_run_group_tests_name("e2e-pacing", tests, NULL, NULL);
}
