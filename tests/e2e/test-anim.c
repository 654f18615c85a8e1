/*
 * Server-side animation on the headless server with the manual clock, so every value
 * is exact: start, midpoint and end; delay, repeat and autoreverse; CSS easing;
 * colours on screen; lockstep; cancellation by set, by destroying the node, by a newer
 * animation; destroying an animation; bad requests. And on the real clock: a client
 * that dies with 1,000 running animations leaves nothing, and the server sleeps again.
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"

struct anim_fixture {
	struct e2e_fixture base;
	struct ts_display *d, *clock;
};

static int manual_setup(void **state) {
	struct anim_fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	e2e_server_start_with(&f->base.srv, (const char *const[]){ "--clock", "manual", NULL });
	f->base.fd_baseline = e2e_server_settled_fds(&f->base.srv);
	f->d = e2e_join(&f->base.srv, "e2e-anim");
	f->clock = e2e_join(&f->base.srv, "e2e-anim-clock");
	*state = f;
	return 0;
}

static int manual_teardown(void **state) {
	struct anim_fixture *f = *state;
	ts_display_disconnect(f->clock);
	if (f->d != NULL) {
		ts_display_disconnect(f->d);
	}
	*state = &f->base;
	return e2e_fixture_teardown(state); // frees f: base is its first member
}

static void step(struct anim_fixture *f, uint32_t ms) {
	assert_int_equal(ts_display_roundtrip(f->d), 0); // everything sent has been handled
	assert_true(ts_display_clock_step(f->clock, ms) > 0);
	assert_int_equal(ts_display_roundtrip(f->d), 0); // and its events are here
}

static struct ts_rect *rect_at(struct ts_display *d, double x, double y, uint32_t rgba) {
	struct ts_rect *r = ts_rect_create(d);
	assert_non_null(r);
	assert_int_equal(ts_rect_set_position(r, (int32_t)x, (int32_t)y), 0);
	assert_int_equal(ts_rect_set_size(r, 10, 10), 0);
	assert_int_equal(ts_rect_set_color(r, rgba), 0);
	return r;
}

static void expect_prop(struct ts_node *node, enum ts_property prop, double a, double b) {
	double got_a, got_b;
	assert_int_equal(ts_node_get_value(node, prop, &got_a, &got_b, NULL), 0);
	if (fabs(got_a - a) > 1e-4 || fabs(got_b - b) > 1e-4) {
		fail_msg("value (%g, %g), want (%g, %g)", got_a, got_b, a, b);
	}
}

struct ended {
	int count;
	bool cancelled;
};

static void on_ended(void *data, struct ts_animation *animation, bool cancelled) {
	struct ended *e = data;
	e->count++;
	e->cancelled = cancelled;
}

// Linear from where it is to (100, 50) in a second: exactly there at 0, 500 and 1000
// ms, on screen too, then ended (not cancelled), and still there after.
static void test_start_mid_end(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r = rect_at(f->d, 0, 0, 0xff0000ffu);
	struct ts_node *n = ts_rect_node(r);
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a = ts_animate(n, TS_PROP_POSITION, 100, 50, 0, 1000, TS_EASE_LINEAR);
	assert_non_null(a);
	struct ended e = { 0 };
	ts_animation_set_ended_handler(a, on_ended, &e);
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 10); // the first step's frame starts it
	expect_prop(n, TS_PROP_POSITION, 0, 0);
	step(f, 500);
	expect_prop(n, TS_PROP_POSITION, 50, 25);
	struct e2e_image img;
	e2e_shot(&f->base.srv, &img);
	assert_int_equal(e2e_pixel(&img, 50, 25), 0xff0000ffu);
	assert_int_equal(e2e_pixel(&img, 59, 34), 0xff0000ffu);
	assert_int_not_equal(e2e_pixel(&img, 49, 25), 0xff0000ffu);
	assert_int_equal(e2e_count(&img, 0xff0000ffu), 100);
	e2e_image_free(&img);
	assert_int_equal(e.count, 0);
	step(f, 499);
	assert_int_equal(e.count, 0);
	step(f, 1);
	expect_prop(n, TS_PROP_POSITION, 100, 50);
	assert_int_equal(e.count, 1);
	assert_false(e.cancelled);
	assert_int_equal(ts_animation_get_state(a), 1);
	step(f, 1000);
	expect_prop(n, TS_PROP_POSITION, 100, 50);
	assert_int_equal(e.count, 1);
	assert_int_equal(ts_animation_destroy(a), 0);
	step(f, 10); // an ended animation's destroy changes nothing
	expect_prop(n, TS_PROP_POSITION, 100, 50);
	assert_int_equal(ts_rect_destroy(r), 0);
	assert_int_equal(ts_display_commit(f->d), 0);
}

// A delay of 200 ms, then 3 iterations of 100 ms, every other one backwards.
static void test_delay_repeat_autoreverse(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r = rect_at(f->d, 0, 0, 0x00ff00ffu);
	struct ts_node *n = ts_rect_node(r);
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a = ts_animate(n, TS_PROP_ROTATION, 40, 0, 0, 100, TS_EASE_LINEAR);
	assert_non_null(a);
	assert_int_equal(ts_animation_set_from(a, 0, 0, 0), 0);
	assert_int_equal(ts_animation_set_timing(a, 200, 3, true), 0);
	struct ended e = { 0 };
	ts_animation_set_ended_handler(a, on_ended, &e);
	assert_int_equal(ts_node_set_rotation(n, 7), 0); // the model value, in the same commit
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);                              // starts: t = 0
	expect_prop(n, TS_PROP_ROTATION, 7, 0); // the delay shows the model value
	step(f, 150);                            // t = 150
	expect_prop(n, TS_PROP_ROTATION, 7, 0);
	step(f, 75);                             // t = 225: iteration 0 at a quarter
	expect_prop(n, TS_PROP_ROTATION, 10, 0);
	step(f, 100);                            // t = 325: iteration 1, backwards, a quarter
	expect_prop(n, TS_PROP_ROTATION, 30, 0);
	step(f, 100);                            // t = 425: iteration 2, forwards
	expect_prop(n, TS_PROP_ROTATION, 10, 0);
	assert_int_equal(e.count, 0);
	step(f, 75);                             // t = 500: over, at its end value
	expect_prop(n, TS_PROP_ROTATION, 40, 0);
	assert_int_equal(e.count, 1);
	assert_false(e.cancelled);
	assert_int_equal(ts_animation_destroy(a), 0);
	assert_int_equal(ts_rect_destroy(r), 0);
	assert_int_equal(ts_display_commit(f->d), 0);
}

// The CSS curves, through opacity; steps; a cubic Bezier.
static void test_easings(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r[3];
	struct ts_animation *a[3];
	for (int i = 0; i < 3; i++) {
		r[i] = rect_at(f->d, 20 * i, 0, 0xffffffffu);
	}
	assert_int_equal(ts_display_commit(f->d), 0);
	a[0] = ts_animate(ts_rect_node(r[0]), TS_PROP_OPACITY, 0, 0, 0, 1000, TS_EASE);
	a[1] = ts_animate(ts_rect_node(r[1]), TS_PROP_POSITION, 400, 0, 0, 1000, TS_EASE_LINEAR);
	a[2] = ts_animate(ts_rect_node(r[2]), TS_PROP_SCALE, 3, 3, 0, 1000, TS_EASE_LINEAR);
	for (int i = 0; i < 3; i++) {
		assert_non_null(a[i]);
	}
	assert_int_equal(ts_animation_set_from(a[0], 1, 0, 0), 0);
	assert_int_equal(ts_animation_set_from(a[1], 0, 0, 0), 0);
	assert_int_equal(ts_animation_set_steps(a[1], 4, TS_JUMP_END), 0);
	assert_int_equal(ts_animation_set_curve(a[2], 0.42, 0, 1, 1), 0); // = ease-in
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);
	step(f, 250);
	// ease at a quarter: 0.408511 of the way from 1 to 0.
	expect_prop(ts_rect_node(r[0]), TS_PROP_OPACITY, 1 - 0.408511, 0);
	expect_prop(ts_rect_node(r[1]), TS_PROP_POSITION, 100, 0);   // steps(4): a quarter
	expect_prop(ts_rect_node(r[2]), TS_PROP_SCALE, 1 + 2 * 0.093465, 1 + 2 * 0.093465);
	step(f, 240);                                                 // 0.49: still a quarter
	expect_prop(ts_rect_node(r[1]), TS_PROP_POSITION, 100, 0);
	step(f, 10);                                                  // 0.5
	expect_prop(ts_rect_node(r[0]), TS_PROP_OPACITY, 1 - 0.802403, 0);
	expect_prop(ts_rect_node(r[1]), TS_PROP_POSITION, 200, 0);
	expect_prop(ts_rect_node(r[2]), TS_PROP_SCALE, 1 + 2 * 0.315357, 1 + 2 * 0.315357);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ts_animation_destroy(a[i]), 0);
		assert_int_equal(ts_rect_destroy(r[i]), 0);
	}
	assert_int_equal(ts_display_commit(f->d), 0);
}

// A colour, seen on screen half way (straight RGBA, each channel between its ends).
static void test_color_on_screen(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r = rect_at(f->d, 100, 100, 0x000000ffu);
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a = ts_animate(ts_rect_node(r), TS_PROP_COLOR, 0, 0, 0xfe0040ffu,
		400, TS_EASE_LINEAR);
	assert_non_null(a);
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);
	step(f, 200);
	uint32_t rgba;
	assert_int_equal(ts_node_get_value(ts_rect_node(r), TS_PROP_COLOR, NULL, NULL, &rgba), 0);
	assert_int_equal(rgba, 0x7f0020ffu);
	struct e2e_image img;
	e2e_shot(&f->base.srv, &img);
	assert_int_equal(e2e_count(&img, 0x7f0020ffu), 100);
	e2e_image_free(&img);
	assert_int_equal(ts_animation_destroy(a), 0);
	assert_int_equal(ts_rect_destroy(r), 0);
	assert_int_equal(ts_display_commit(f->d), 0);
}

// Animations committed together start at the same frame, whoever made them first; one
// committed later starts later.
static void test_lockstep(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r[3];
	for (int i = 0; i < 3; i++) {
		r[i] = rect_at(f->d, 0, 20 * i, 0xffffffffu);
	}
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a0 = ts_animate(ts_rect_node(r[0]), TS_PROP_POSITION, 100, 0, 0,
		1000, TS_EASE_LINEAR);
	assert_int_equal(ts_display_roundtrip(f->d), 0); // made well before the other
	struct ts_animation *a1 = ts_animate(ts_rect_node(r[1]), TS_PROP_POSITION, 100, 20, 0,
		1000, TS_EASE_LINEAR);
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);
	struct ts_animation *a2 = ts_animate(ts_rect_node(r[2]), TS_PROP_POSITION, 100, 40, 0,
		1000, TS_EASE_LINEAR);
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 100);
	double x0, x1, x2;
	assert_int_equal(ts_node_get_value(ts_rect_node(r[0]), TS_PROP_POSITION, &x0, NULL, NULL), 0);
	assert_int_equal(ts_node_get_value(ts_rect_node(r[1]), TS_PROP_POSITION, &x1, NULL, NULL), 0);
	assert_int_equal(ts_node_get_value(ts_rect_node(r[2]), TS_PROP_POSITION, &x2, NULL, NULL), 0);
	assert_true(fabs(x0 - 10) < 1e-4 && fabs(x1 - 10) < 1e-4);
	assert_true(fabs(x2) < 1e-4); // started at this step
	ts_animation_destroy(a0);
	ts_animation_destroy(a1);
	ts_animation_destroy(a2);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ts_rect_destroy(r[i]), 0);
	}
	assert_int_equal(ts_display_commit(f->d), 0);
}

// Cancelled by setting the property (the value set shows), by a newer animation of
// the same property, and by destroying the node; a set of another property cancels
// nothing and leaves the animated value alone.
static void test_cancel(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r = rect_at(f->d, 0, 0, 0xffffffffu);
	struct ts_node *n = ts_rect_node(r);
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a = ts_animate(n, TS_PROP_POSITION, 100, 0, 0, 1000, TS_EASE_LINEAR);
	struct ended e = { 0 };
	ts_animation_set_ended_handler(a, on_ended, &e);
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);
	step(f, 300);
	assert_int_equal(ts_node_set_opacity(n, 0.5), 0); // another property
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 100);
	expect_prop(n, TS_PROP_POSITION, 40, 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(ts_rect_set_position(r, 5, 6), 0); // this one
	assert_int_equal(ts_display_commit(f->d), 0);
	assert_int_equal(ts_display_roundtrip(f->d), 0);
	assert_int_equal(e.count, 1);
	assert_true(e.cancelled);
	assert_int_equal(ts_animation_get_state(a), 2);
	step(f, 100);
	expect_prop(n, TS_PROP_POSITION, 5, 6);
	ts_animation_destroy(a);

	struct ended e1 = { 0 }, e2 = { 0 };
	struct ts_animation *b1 = ts_animate(n, TS_PROP_SIZE, 50, 50, 0, 1000, TS_EASE_LINEAR);
	ts_animation_set_ended_handler(b1, on_ended, &e1);
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);
	struct ts_animation *b2 = ts_animate(n, TS_PROP_SIZE, 10, 10, 0, 1000, TS_EASE_LINEAR);
	ts_animation_set_ended_handler(b2, on_ended, &e2);
	assert_int_equal(ts_display_commit(f->d), 0);
	assert_int_equal(ts_display_roundtrip(f->d), 0);
	assert_int_equal(e1.count, 1); // the newer took over
	assert_true(e1.cancelled);
	assert_int_equal(e2.count, 0);
	assert_int_equal(ts_rect_destroy(r), 0);
	assert_int_equal(ts_display_commit(f->d), 0);
	assert_int_equal(ts_display_roundtrip(f->d), 0);
	assert_int_equal(e2.count, 1); // its node went
	assert_true(e2.cancelled);
	ts_animation_destroy(b1);
	ts_animation_destroy(b2);
	step(f, 10);
}

// Destroying a running animation shows the value set last again.
static void test_destroy_restores(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r = rect_at(f->d, 30, 40, 0xffffffffu);
	struct ts_node *n = ts_rect_node(r);
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a = ts_animate(n, TS_PROP_POSITION, 200, 200, 0, 1000, TS_EASE_LINEAR);
	assert_int_equal(ts_animation_set_timing(a, 0, 0, true), 0); // for ever
	assert_int_equal(ts_display_commit(f->d), 0);
	step(f, 1);
	step(f, 2500);
	expect_prop(n, TS_PROP_POSITION, 115, 120); // iteration 2, half way
	assert_int_equal(ts_animation_destroy(a), 0);
	step(f, 1);
	expect_prop(n, TS_PROP_POSITION, 30, 40);
	assert_int_equal(ts_rect_destroy(r), 0);
	assert_int_equal(ts_display_commit(f->d), 0);
}

// Bad requests are errors that name the problem, and the server carries on.
static void test_bad_requests(void **state) {
	struct anim_fixture *f = *state;
	struct ts_rect *r = rect_at(f->d, 0, 0, 0xffffffffu);
	assert_int_equal(ts_display_commit(f->d), 0);
	struct ts_animation *a = ts_animate(ts_rect_node(r), TS_PROP_OPACITY, 2, 0, 0, 100,
		TS_EASE_LINEAR);
	assert_non_null(a);
	assert_int_equal(ts_display_roundtrip(f->d), -1);
	const char *message = NULL;
	uint32_t obj;
	assert_int_equal(ts_display_get_protocol_error(f->d, &obj, &message), 6); // invalid_value
	assert_non_null(strstr(message, "opacity"));
	ts_display_disconnect(f->d);
	f->d = e2e_join(&f->base.srv, "e2e-anim-2");
	struct ts_rect *r2 = rect_at(f->d, 0, 0, 0xffffffffu);
	struct ts_animation *b = ts_animate(ts_rect_node(r2), TS_PROP_ROTATION, 90, 0, 0, 100,
		TS_EASE_LINEAR);
	assert_int_equal(ts_display_commit(f->d), 0);
	assert_int_equal(ts_animation_set_timing(b, 0, 2, false), 0); // committed already
	assert_int_equal(ts_display_roundtrip(f->d), -1);
	assert_int_equal(ts_display_get_protocol_error(f->d, &obj, &message), 6);
	assert_non_null(strstr(message, "committed"));
	ts_display_disconnect(f->d);
	f->d = e2e_join(&f->base.srv, "e2e-anim-3");
	assert_int_equal(ts_display_roundtrip(f->d), 0);
}

// Where the pixels of @rgba are, on average; false when there are none.
static bool centroid(const struct e2e_image *img, uint32_t rgba, double *x, double *y) {
	double sx = 0, sy = 0;
	size_t n = 0;
	for (int j = 0; j < img->height; j++) {
		for (int i = 0; i < img->width; i++) {
			if (e2e_pixel(img, i, j) == rgba) {
				sx += i;
				sy += j;
				n++;
			}
		}
	}
	if (n == 0) {
		return false;
	}
	*x = sx / (double)n;
	*y = sy / (double)n;
	return true;
}

// tessera-demo-clock on the manual clock: its second hand (red) stands still between
// steps and has turned a quarter after a step of 15 s, though the demo sent nothing.
static void test_demo_clock(void **state) {
	struct anim_fixture *f = *state;
	const char *argv[] = { e2e_bin("TESSERA_DEMO_CLOCK"), "--socket", f->base.srv.socket,
		"--seconds", "25", NULL };
	pid_t pid = e2e_spawn(argv, -1);
	// The face, 12 ticks, the digits, 3 hands and their 3 animations.
	struct e2e_info info;
	assert_true(e2e_wait_totals(&f->base.srv, 3, 20, 10000, &info));
	step(f, 1); // the hands' animations start
	struct e2e_image a, b, c;
	e2e_shot(&f->base.srv, &a);
	e2e_shot(&f->base.srv, &b);
	step(f, 15000);
	e2e_shot(&f->base.srv, &c);
	double ax = 0, ay = 0, bx = 0, by = 0, cx = 0, cy = 0;
	assert_true(centroid(&a, 0xff5050ffu, &ax, &ay));
	assert_true(centroid(&b, 0xff5050ffu, &bx, &by));
	assert_true(centroid(&c, 0xff5050ffu, &cx, &cy));
	assert_true(fabs(ax - bx) < 0.01 && fabs(ay - by) < 0.01); // no step: still
	// A quarter turn about the centre (160, 120): the hand's middle moves by about
	// its distance from the centre times sqrt 2, some 50 pixels on this screen.
	double moved = hypot(cx - ax, cy - ay);
	if (!(moved > 25)) {
		fail_msg("the second hand moved %.1f px in a 15 s step", moved);
	}
	double ra = hypot(ax - 160, ay - 120), rc = hypot(cx - 160, cy - 120);
	assert_true(fabs(ra - rc) < 4); // the same distance: it turned about the centre
	e2e_image_free(&a);
	e2e_image_free(&b);
	e2e_image_free(&c);
	kill(pid, SIGTERM);
	e2e_crash_reap(pid, SIGTERM);
}

// The pid tessera-info lists for the client named @name, or 0 when there is none.
static long pid_of(const struct e2e_info *info, const char *name) {
	char key[128];
	snprintf(key, sizeof key, "\"name\": \"%s\"", name);
	const char *at = strstr(info->json, key);
	if (at == NULL) {
		return 0;
	}
	// {"id": N, "pid": P, "name": ...: the pid comes right before the name.
	const char *p = at;
	while (p > info->json && strncmp(p, "\"pid\": ", 7) != 0) {
		p--;
	}
	return strtol(p + 7, NULL, 10);
}

static bool wait_widgets(const struct e2e_server *srv, long pids[3], int timeout_ms) {
	static const char *const names[] = { "tessera-demo-dashboard-cpu",
		"tessera-demo-dashboard-mem", "tessera-demo-dashboard-net" };
	for (int t = 0; t < timeout_ms; t += 50) {
		struct e2e_info info;
		e2e_info(srv, &info);
		bool all = true;
		for (int i = 0; i < 3; i++) {
			pids[i] = pid_of(&info, names[i]);
			all = all && pids[i] > 0;
		}
		if (all) {
			return true;
		}
		usleep(50000);
	}
	return false;
}

// tessera-demo-dashboard: three widget processes; killing one leaves the other two as
// they were, and the launcher starts it again.
static void test_dashboard(void **state) {
	struct e2e_fixture *f = *state;
	const char *argv[] = { e2e_bin("TESSERA_DEMO_DASHBOARD"), "--socket", f->srv.socket,
		"--seconds", "25", NULL };
	pid_t launcher = e2e_spawn(argv, -1);
	long pids[3], after[3];
	assert_true(wait_widgets(&f->srv, pids, 10000));
	usleep(1500000); // a sample or two drawn
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	for (int col = 0; col < 3; col++) {
		int x = (int)(col * 320 / 3.0 + 8 + (320 / 3.0 - 16) - 5);
		assert_int_equal(e2e_pixel(&img, x, 120), 0x1a1f2affu); // each panel is there
	}
	e2e_image_free(&img);
	assert_int_equal(kill((pid_t)pids[0], SIGKILL), 0);
	// The other two go on, the same processes; the CPU widget is back, a new one.
	long deadline = 8000;
	bool back = false;
	for (long t = 0; t < deadline && !back; t += 100) {
		if (wait_widgets(&f->srv, after, 100)) {
			back = after[0] != pids[0];
		}
	}
	assert_true(back);
	assert_int_equal(after[1], pids[1]);
	assert_int_equal(after[2], pids[2]);
	usleep(500000);
	e2e_shot(&f->srv, &img);
	for (int col = 0; col < 3; col++) {
		int x = (int)(col * 320 / 3.0 + 8 + (320 / 3.0 - 16) - 5);
		assert_int_equal(e2e_pixel(&img, x, 120), 0x1a1f2affu);
	}
	e2e_image_free(&img);
	assert_int_equal(kill(launcher, SIGTERM), 0);
	e2e_crash_reap(launcher, 0); // it stops its widgets and exits 0
}

static int real_setup(void **state) {
	return e2e_fixture_setup(state);
}

// The voluntary context switches of the server's main thread: it sleeps in poll()
// when the count stands still.
static long server_wakeups(const struct e2e_server *srv) {
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)srv->pid, (int)srv->pid);
	FILE *file = fopen(path, "r");
	assert_non_null(file);
	long n = -1;
	while (fgets(line, sizeof line, file) != NULL) {
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1) {
			break;
		}
	}
	fclose(file);
	return n;
}

// A client dies with 1,000 running animations (forever): nothing of it is left, and
// the server, which drew every frame while they ran, sleeps again.
static void test_crash_with_animations(void **state) {
	struct e2e_fixture *f = *state;
	static const char *const modes[] = { "segv", "kill", "exit" };
	static const int signals[] = { SIGSEGV, SIGKILL, 0 };
	for (int m = 0; m < 3; m++) {
		pid_t pid = e2e_crash_start_animations(&f->srv, modes[m], "1000");
		long before = server_wakeups(&f->srv);
		usleep(200000);
		long during = server_wakeups(&f->srv);
		assert_true(during - before >= 5); // frames at 60 Hz: about 12 in 200 ms
		e2e_crash_reap(pid, signals[m]);
		struct ts_display *d = e2e_after_crash(&f->srv, "e2e-after-anim-crash");
		ts_display_disconnect(d);
		assert_true(e2e_wait_totals(&f->srv, 0, 0, 2000, &(struct e2e_info){ 0 }));
		usleep(100000); // the last frames and the reaper settle
		long settled = server_wakeups(&f->srv);
		usleep(300000);
		assert_int_equal(server_wakeups(&f->srv), settled);
	}
}

int main(void) {
#define MANUAL(fn) cmocka_unit_test_setup_teardown(fn, manual_setup, manual_teardown)
	const struct CMUnitTest tests[] = {
		MANUAL(test_start_mid_end),
		MANUAL(test_delay_repeat_autoreverse),
		MANUAL(test_easings),
		MANUAL(test_color_on_screen),
		MANUAL(test_lockstep),
		MANUAL(test_cancel),
		MANUAL(test_destroy_restores),
		MANUAL(test_bad_requests),
		MANUAL(test_demo_clock),
		cmocka_unit_test_setup_teardown(test_crash_with_animations, real_setup,
			e2e_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dashboard, real_setup, e2e_fixture_teardown),
	};
	return cmocka_run_group_tests_name("e2e-anim", tests, NULL, NULL);
}
