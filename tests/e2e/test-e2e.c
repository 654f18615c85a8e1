/*
 * End-to-end tests: the real server (headless, or the window backend with --window
 * under Xvfb), real client processes that really crash, and what tessera-info and
 * tessera-shot report afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"
#include "wire.h"


// A rect in the client's root, on top of the ones made before it.
static struct ts_rect *make_rect(struct ts_display *d, int x, int y, unsigned w, unsigned h,
		uint32_t rgba) {
	struct ts_rect *r = ts_rect_create(d);
	assert_non_null(r);
	assert_int_equal(ts_rect_set_position(r, x, y), 0);
	assert_int_equal(ts_rect_set_size(r, w, h), 0);
	assert_int_equal(ts_rect_set_color(r, rgba), 0);
	return r;
}

static void test_rects_appear(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-rects");
	assert_non_null(d);
	int w, h;
	ts_display_get_size(d, &w, &h);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);

	make_rect(d, 10, 20, 40, 30, 0xff0000ffu);   // red
	make_rect(d, 30, 30, 40, 30, 0x00ff00ffu);   // green, over red
	make_rect(d, 200, 100, 50, 50, 0x0000ffffu); // blue
	struct ts_rect *hidden = make_rect(d, 100, 150, 20, 20, 0xffffffffu);
	assert_int_equal(ts_rect_set_visible(hidden, false), 0);
	// Not committed yet: nothing may show.
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	uint32_t flat;
	assert_true(e2e_flat(&img, &flat));
	e2e_image_free(&img);

	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	e2e_shot(&f->srv, &img);
	uint32_t bg = f->srv.background;
	assert_int_equal(e2e_pixel(&img, 10, 20), 0xff0000ffu);   // red's top-left
	assert_int_equal(e2e_pixel(&img, 29, 49), 0xff0000ffu);   // red not covered
	assert_int_equal(e2e_pixel(&img, 30, 30), 0x00ff00ffu);   // green on top
	assert_int_equal(e2e_pixel(&img, 69, 59), 0x00ff00ffu);
	assert_int_equal(e2e_pixel(&img, 70, 59), bg);            // right of green
	assert_int_equal(e2e_pixel(&img, 9, 20), bg);             // left of red
	assert_int_equal(e2e_count(&img, 0x0000ffffu), 2500);     // blue, exactly 50x50
	assert_int_equal(e2e_pixel(&img, 110, 160), bg);          // hidden stays hidden
	assert_int_equal(e2e_count(&img, 0xff0000ffu), 40 * 30 - 20 * 20);
	e2e_image_free(&img);

	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.clients, 1);
	assert_int_equal(info.objects, 4);
	assert_non_null(strstr(info.json, "\"name\": \"e2e-rects\""));

	// Making hidden visible and moving it is one atomic commit.
	assert_int_equal(ts_rect_set_visible(hidden, true), 0);
	assert_int_equal(ts_rect_set_position(hidden, 0, 0), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_pixel(&img, 5, 5), 0xffffffffu);
	assert_int_equal(e2e_pixel(&img, 110, 160), bg);
	e2e_image_free(&img);

	ts_display_disconnect(d);
}

static void on_done(void *data, uint32_t time_ms) {
	(*(int *)data)++;
}

static void test_frame_callbacks(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-frames");
	assert_non_null(d);
	int done = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ts_display_frame(d, on_done, &done), 0);
		assert_int_equal(ts_display_commit(d), 0);
		while (done == i) {
			assert_true(ts_display_dispatch(d) >= 0);
		}
	}
	assert_int_equal(done, 3);
	// A frame callback not yet committed never fires, however many frames are drawn.
	// The round trip makes sure the server holds it; then another client's commit
	// makes a frame, and that client's own callback says the frame was presented. Had
	// the server answered ours at that frame, the answer would come before the done of
	// the round trip after it, and be counted.
	assert_int_equal(ts_display_frame(d, on_done, &done), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct ts_display *other = ts_display_connect(f->srv.socket, "e2e-frames-other");
	assert_non_null(other);
	int other_done = 0;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ts_display_frame(other, on_done, &other_done), 0);
		assert_int_equal(ts_display_commit(other), 0);
		while (other_done == i) {
			assert_true(ts_display_dispatch(other) >= 0);
		}
	}
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(done, 3);
	// Committed at last, it fires at the next frame.
	assert_int_equal(ts_display_commit(d), 0);
	while (done == 3) {
		assert_true(ts_display_dispatch(d) >= 0);
	}
	assert_int_equal(done, 4);
	ts_display_disconnect(other);
	ts_display_disconnect(d);
}

static void run_crash(void **state, const char *mode, int expect_signal) {
	struct e2e_fixture *f = *state;
	pid_t pid = e2e_crash_start(&f->srv, mode, "500", false);

	// While it lives, the server holds and shows its 500 rectangles.
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.clients, 1);
	assert_true(info.objects >= 500);
	assert_non_null(strstr(info.json, "\"name\": \"tessera-crash\""));
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	size_t background = e2e_count(&img, f->srv.background);
	assert_true((size_t)img.width * img.height - background >= 500 * 4);
	e2e_image_free(&img);

	// It is dead, and nothing of it is left (how fast that is, bench/ measures:
	// cleanup_ms_100k).
	e2e_crash_reap(pid, expect_signal);
	struct ts_display *d = e2e_after_crash(&f->srv, "e2e-after-crash");

	// And the server still serves the new client.
	make_rect(d, 0, 0, 8, 8, 0xffff00ffu);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, 0xffff00ffu), 64);
	e2e_image_free(&img);
	ts_display_disconnect(d);
}

static void test_crash_segv(void **state) { run_crash(state, "segv", SIGSEGV); }
static void test_crash_abort(void **state) { run_crash(state, "abort", SIGABRT); }
static void test_crash_kill(void **state) { run_crash(state, "kill", SIGKILL); }
static void test_crash_midmsg(void **state) { run_crash(state, "midmsg", SIGKILL); }
static void test_crash_exit(void **state) { run_crash(state, "exit", 0); }

// Every malformed input the tests know (tests/peer/malformed.h), each on a connection
// of its own: the server answers each with its error and hangs up, and stays up. The
// random bytes, the 4 GiB header, the unknown opcode, the request before hello, the ids
// unknown, skipping ahead, in use, destroyed and naming a callback, visible 2, version 0
// and an fd with a commit that once were written out here are among them.
static void test_malformed(void **state) {
	struct e2e_fixture *f = *state;
	size_t checked = e2e_check_catalogue(&f->srv);
	print_message("%zu malformed inputs answered as expected\n", checked);
	// The teardown checks that the server's fd count is back to its baseline.
}

static void on_error(void *data, uint32_t object_id, uint32_t code, const char *message) {
	*(uint32_t *)data = code;
}

static void test_client_sees_error(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-error");
	assert_non_null(d);
	uint32_t seen = 0;
	ts_display_set_error_handler(d, on_error, &seen);
	struct ts_rect *r = ts_rect_create(d);
	assert_non_null(r);
	assert_int_equal(ts_rect_set_size(r, 100000, 10), 0); // too large: refused by the server
	assert_int_equal(ts_display_roundtrip(d), -1);
	assert_int_equal(seen, TS_ERR_invalid_value);
	assert_int_equal(ts_display_get_error(d), EPROTO);
	uint32_t object = 0;
	const char *message = NULL;
	assert_int_equal(ts_display_get_protocol_error(d, &object, &message), TS_ERR_invalid_value);
	assert_int_equal(object, ts_rect_get_id(r));
	assert_non_null(strstr(message, "not within 0 to 16384"));
	// The error sticks.
	assert_null(ts_rect_create(d));
	assert_int_equal(ts_display_commit(d), -1);
	ts_display_disconnect(d);
}

static void test_id_reuse(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-reuse");
	assert_non_null(d);
	// Create and destroy many times: ids are recycled only after delete_ids (which the
	// commit of the destroys brings), and the server's id rules are never broken.
	for (int round = 0; round < 20; round++) {
		struct ts_rect *rects[50];
		for (int i = 0; i < 50; i++) {
			rects[i] = make_rect(d, i, round, 1, 1, 0x808080ffu);
		}
		assert_int_equal(ts_display_commit(d), 0);
		for (int i = 0; i < 50; i++) {
			assert_int_equal(ts_rect_destroy(rects[i]), 0);
		}
		assert_int_equal(ts_display_commit(d), 0);
		assert_int_equal(ts_display_roundtrip(d), 0);
	}
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.objects, 0);
	assert_int_equal(ts_display_get_error(d), 0);
	ts_display_disconnect(d);
}

// A client that destroys many rectangles at its own pace and never waits for the
// server: each commit of destroys makes delete_ids, which libtessera must read as it
// goes (not only when the socket is full, which it never is here) so that the server
// never has to queue more than its limit for it.
static void test_unhurried_mass_destroy(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-mass-destroy");
	assert_non_null(d);
	// Three rounds of 50,000 (within the objects limit), committed by the thousand.
	enum { N = 50000, ROUNDS = 3 };
	struct ts_rect **rects = calloc(N, sizeof *rects);
	assert_non_null(rects);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < N; i++) {
			rects[i] = ts_rect_create(d);
			assert_non_null(rects[i]);
		}
		assert_int_equal(ts_display_roundtrip(d), 0);
		for (int i = 0; i < N; i++) {
			assert_int_equal(ts_rect_destroy(rects[i]), 0);
			if (i % 1000 == 999) {
				assert_int_equal(ts_display_commit(d), 0);
				poll(NULL, 0, 1); // the server keeps up
			}
		}
	}
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(ts_display_get_error(d), 0);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.objects, 0);
	free(rects);
	ts_display_disconnect(d);
}

// One commit that destroys a group of 60,000 rects frees them all at once: the ids come
// back in delete_ids, 128 to an event, so that what the server queues for a client that
// does not read meanwhile (about 246 KB) fits a 256 KiB out-buffer; one event per id
// (960 KB) would not, and the client would be disconnected.
static void test_destroy_big_group(void **state) {
	struct e2e_server srv;
	e2e_server_start_with(&srv, (const char *const[]){ "--limit", "out_bytes=256k", NULL });
	struct ts_display *d = ts_display_connect(srv.socket, "e2e-big-group");
	assert_non_null(d);
	enum { N = 60000 };
	struct ts_group *g = ts_group_create(d, NULL);
	assert_non_null(g);
	struct ts_rect **rects = calloc(N, sizeof *rects);
	assert_non_null(rects);
	for (int i = 0; i < N; i++) {
		rects[i] = ts_rect_create_in(g);
		assert_non_null(rects[i]);
	}
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(ts_group_destroy(g), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_flush(d), 0);
	// The server frees them while we read nothing.
	struct e2e_info info;
	assert_true(e2e_wait_totals(&srv, 1, 0, 5000, &info));
	assert_true(e2e_server_alive(&srv));
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(ts_display_get_error(d), 0);
	// Every handle of the group is dead: requests on them fail here, sending nothing.
	for (int i = 0; i < N; i++) {
		assert_int_equal(ts_rect_set_color(rects[i], 0xffffffffu), -1);
		assert_int_equal(ts_rect_destroy(rects[i]), 0);
	}
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(ts_display_get_error(d), 0);
	free(rects);
	ts_display_disconnect(d);
	e2e_server_stop(&srv);
}

// After the commit that destroys a group, libtessera knows which handles went with it,
// before the server's delete_ids come: calls on them, or naming them, fail locally
// (EINVAL) and send nothing the server would refuse; a rect made inside the doomed
// group before that commit goes with it; a rect moved out of it first stays.
static void test_gone_with_group(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-gone-with-group");
	assert_non_null(d);
	struct ts_group *g = ts_group_create(d, NULL);
	struct ts_group *inner = ts_group_create(d, g);
	struct ts_rect *in_g = ts_rect_create_in(g);
	struct ts_rect *deep = ts_rect_create_in(inner);
	struct ts_rect *saved = ts_rect_create_in(inner);
	struct ts_rect *outside = make_rect(d, 0, 0, 4, 4, 0xff0000ffu);
	assert_non_null(g);
	assert_non_null(inner);
	assert_non_null(in_g);
	assert_non_null(deep);
	assert_non_null(saved);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);

	assert_int_equal(ts_node_set_parent(ts_rect_node(saved), NULL), 0); // out, first
	assert_int_equal(ts_group_destroy(g), 0);
	struct ts_rect *late = ts_rect_create_in(inner); // inside the doomed group
	assert_non_null(late);
	// Until the commit they are the server's still: changes to them are fine.
	assert_int_equal(ts_rect_set_color(deep, 0x00ff00ffu), 0);
	assert_int_equal(ts_display_commit(d), 0);
	// From the commit on, without reading anything from the server:
	struct ts_rect *gone[] = { in_g, deep, late };
	for (size_t i = 0; i < 3; i++) {
		errno = 0;
		assert_int_equal(ts_rect_set_position(gone[i], 1, 1), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(ts_node_place_above(ts_rect_node(outside), ts_rect_node(gone[i])),
			-1);
	}
	assert_int_equal(ts_node_set_parent(ts_rect_node(outside), inner), -1);
	assert_int_equal(ts_rect_set_position(saved, 2, 2), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ts_rect_destroy(gone[i]), 0);
	}
	assert_int_equal(ts_group_destroy(inner), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(ts_display_get_error(d), 0);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.objects, 2); // saved and outside
	assert_int_equal(ts_rect_destroy(saved), 0);
	assert_int_equal(ts_rect_destroy(outside), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	ts_display_disconnect(d);
}

// Restacking walks nothing, however often; moving a big group between depths walks
// its subtree each time, and one commit that does it without end is stopped with
// limit_exceeded before it stalls the server (which serves others meanwhile).
static void test_commit_walk_budget(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-walk-budget");
	assert_non_null(d);
	struct ts_group *holder = ts_group_create(d, NULL);
	struct ts_group *big = ts_group_create(d, NULL);
	assert_non_null(holder);
	assert_non_null(big);
	for (int i = 0; i < 2000; i++) {
		assert_non_null(ts_rect_create_in(big));
	}
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(ts_node_place_above(ts_group_node(big), NULL), 0);
		assert_int_equal(ts_node_place_below(ts_group_node(big), NULL), 0);
	}
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(ts_node_set_parent(ts_group_node(big), i % 2 ? NULL : holder), 0);
	}
	ts_display_commit(d);
	assert_int_equal(ts_display_roundtrip(d), -1);
	uint32_t object;
	const char *message;
	assert_int_equal(ts_display_get_protocol_error(d, &object, &message),
		TS_ERR_limit_exceeded);
	assert_non_null(strstr(message, "between depths"));
	ts_display_disconnect(d);
	assert_true(e2e_server_alive(&f->srv));
}

// Creates rects until one takes @id (libtessera hands out freed ids last freed first,
// and a round trip frees its own callback id too); the others stay, empty and unseen.
// Returns the one with @id; *@extra counts the others.
static struct ts_rect *create_with_id(struct ts_display *d, uint32_t id, int *extra) {
	for (int tries = 0; tries < 4; tries++) {
		struct ts_rect *r = ts_rect_create(d);
		assert_non_null(r);
		if (ts_rect_get_id(r) == id) {
			return r;
		}
		(*extra)++;
	}
	fail_msg("id %u never came back", id);
	return NULL;
}

// Pending state in every form: rects destroyed before their first commit, changes to
// a rect destroyed before the commit that would apply them, ids reused in between.
static void test_pending_and_reuse(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-pending");
	assert_non_null(d);
	struct ts_rect *r1 = make_rect(d, 0, 0, 40, 40, 0xff0000ffu);    // red
	struct ts_rect *r2 = make_rect(d, 0, 0, 90, 90, 0x00ff00ffu);    // green, never shown
	struct ts_rect *r3 = make_rect(d, 10, 10, 40, 40, 0x0000ffffu);  // blue
	uint32_t id2 = ts_rect_get_id(r2);
	assert_int_equal(ts_rect_destroy(r2), 0);
	// A node goes at the commit, with its delete_ids: then the id may come back. The
	// commit that makes r2 goes with it: it is never shown.
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	int extra = 0;
	struct ts_rect *r4 = create_with_id(d, id2, &extra); // below r3's id, created after
	assert_true(ts_rect_get_id(r4) < ts_rect_get_id(r3));
	assert_int_equal(ts_rect_set_position(r4, 20, 20), 0);
	assert_int_equal(ts_rect_set_size(r4, 40, 40), 0); // white by default
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	// Siblings are drawn in order of creation, whatever the ids.
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, 0x00ff00ffu), 0);
	assert_int_equal(e2e_pixel(&img, 5, 5), 0xff0000ffu);
	assert_int_equal(e2e_pixel(&img, 15, 15), 0x0000ffffu);
	assert_int_equal(e2e_pixel(&img, 25, 25), 0xffffffffu);
	assert_int_equal(e2e_count(&img, 0xffffffffu), 40 * 40);
	e2e_image_free(&img);

	// Changes pending on a rect destroyed before the commit go with it: the new rect
	// that takes its id starts from the defaults.
	uint32_t id1 = ts_rect_get_id(r1);
	assert_int_equal(ts_rect_set_position(r1, 100, 100), 0);
	assert_int_equal(ts_rect_set_color(r1, 0xff00ffffu), 0);
	assert_int_equal(ts_rect_destroy(r1), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct ts_rect *r5 = create_with_id(d, id1, &extra);
	assert_int_equal(ts_rect_set_size(r5, 10, 10), 0); // white at (0, 0) by default
	assert_int_equal(ts_node_place_above(ts_rect_node(r3), NULL), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, 0xff0000ffu), 0);
	assert_int_equal(e2e_count(&img, 0xff00ffffu), 0);
	assert_int_equal(e2e_pixel(&img, 5, 5), 0xffffffffu);
	assert_int_equal(e2e_pixel(&img, 25, 25), 0x0000ffffu); // blue now above white
	assert_int_equal(e2e_pixel(&img, 55, 55), 0xffffffffu);
	assert_int_equal(e2e_count(&img, 0x0000ffffu), 40 * 40);
	e2e_image_free(&img);

	// Rects created and destroyed in turn, never committed, leave nothing behind.
	struct ts_rect *keep[8];
	for (int i = 0; i < 8; i++) {
		keep[i] = make_rect(d, 200 + i * 10, 200, 5, 5, 0xffff00ffu);
	}
	for (int i = 0; i < 3000; i++) {
		struct ts_rect *a = ts_rect_create(d), *b = ts_rect_create(d);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(ts_rect_destroy(i % 2 ? a : b), 0);
		assert_int_equal(ts_rect_destroy(i % 2 ? b : a), 0);
		if (i % 100 == 0) {
			assert_int_equal(ts_display_roundtrip(d), 0);
		}
	}
	assert_int_equal(ts_rect_destroy(keep[3]), 0);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.objects, 3 + 7 + extra); // r3, r4, r5, the keepers, the others
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, 0xffff00ffu), 7 * 25);
	assert_int_equal(e2e_pixel(&img, 232, 202), f->srv.background);
	e2e_image_free(&img);
	assert_int_equal(ts_display_get_error(d), 0);
	ts_display_disconnect(d);
}

// Clients that go with frame callbacks committed but not yet answered, and a client
// that goes while another's rects are above and below its own.
static void test_gone_with_pending_work(void **state) {
	struct e2e_fixture *f = *state;
	int done = 0;
	for (int i = 0; i < 20; i++) {
		struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-frame-gone");
		assert_non_null(d);
		make_rect(d, i, i, 4, 4, 0x00ffffffu);
		assert_int_equal(ts_display_frame(d, on_done, &done), 0);
		assert_int_equal(ts_display_commit(d), 0);
		assert_int_equal(ts_display_frame(d, on_done, &done), 0); // never committed
		assert_int_equal(ts_display_flush(d), 0);
		ts_display_disconnect(d);
	}

	// Another client's rects above and below: green in the overlay layer, blue in the
	// background layer, the crashing client between them in the normal one.
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-around");
	assert_non_null(d);
	assert_int_equal(ts_display_set_layer(d, TS_LAYER_BACKGROUND), 0);
	make_rect(d, 0, 0, 320, 240, 0x0000ffffu);   // blue below
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct ts_display *above = ts_display_connect(f->srv.socket, "e2e-above");
	assert_non_null(above);
	assert_int_equal(ts_display_set_layer(above, TS_LAYER_OVERLAY), 0);
	make_rect(above, 0, 0, 50, 50, 0x00ff00ffu);      // green above
	assert_int_equal(ts_display_commit(above), 0);
	assert_int_equal(ts_display_roundtrip(above), 0);
	pid_t pid = e2e_crash_start(&f->srv, "kill", "2000", false);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_pixel(&img, 10, 10), 0x00ff00ffu);
	assert_true(e2e_count(&img, 0x0000ffffu) < 320 * 240 / 2); // mostly covered
	e2e_image_free(&img);
	e2e_crash_reap(pid, SIGKILL);
	struct e2e_info info;
	assert_true(e2e_wait_totals(&f->srv, 2, 2, 2000, &info));
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, 0x00ff00ffu), 50 * 50);
	assert_int_equal(e2e_count(&img, 0x0000ffffu), 320 * 240 - 50 * 50);
	e2e_image_free(&img);
	ts_display_disconnect(above);
	ts_display_disconnect(d);
}

static void test_demo_rects(void **state) {
	struct e2e_fixture *f = *state;
	const char *argv[] = { e2e_bin("TESSERA_DEMO_RECTS"), "--socket", f->srv.socket,
		"--seconds", "2", NULL };
	pid_t pid = e2e_spawn(argv, -1);
	// Six rectangles, plus a frame callback most of the time.
	struct e2e_info info;
	for (int tries = 0;; tries++) {
		e2e_info(&f->srv, &info);
		if (info.clients == 1 && info.objects >= 6) {
			break;
		}
		assert_true(tries < 1000);
		poll(NULL, 0, 5);
	}
	assert_non_null(strstr(info.json, "\"name\": \"tessera-demo-rects\""));
	// It animates: two screenshots a tenth of a second apart differ.
	struct e2e_image a, b;
	e2e_shot(&f->srv, &a);
	poll(NULL, 0, 100);
	e2e_shot(&f->srv, &b);
	assert_true(e2e_count(&a, f->srv.background) < (size_t)a.width * a.height);
	assert_memory_not_equal(a.rgba, b.rgba, (size_t)a.width * a.height * 4);
	e2e_image_free(&a);
	e2e_image_free(&b);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

// Not a fixture test: two servers on one path, and a socket left by a killed server.
static void test_socket_ownership(void **state) {
	struct e2e_server a;
	e2e_server_start(&a);
	// A second server must not steal a live socket.
	pid_t second = e2e_server_spawn(a.socket, a.log, NULL);
	int status;
	assert_int_equal(waitpid(second, &status, 0), second);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	assert_true(e2e_server_alive(&a));
	assert_true(e2e_server_wait_ready(a.socket, 2000));

	// A server that dies leaves its socket behind; the next one replaces it.
	assert_int_equal(kill(a.pid, SIGKILL), 0);
	assert_int_equal(waitpid(a.pid, &status, 0), a.pid);
	assert_int_equal(access(a.socket, F_OK), 0);
	a.pid = e2e_server_spawn(a.socket, a.log, NULL);
	assert_true(e2e_server_wait_ready(a.socket, 20000));
	e2e_server_stop(&a);
}

int main(int argc, char *argv[]) {
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, e2e_fixture_setup, e2e_fixture_teardown)
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--window") == 0) {
			e2e_window_backend = true;
		}
	}
	// A server that hangs up on a raw client must fail an assertion, not kill us.
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		TEST(test_rects_appear),
		TEST(test_frame_callbacks),
		TEST(test_crash_segv),
		TEST(test_crash_abort),
		TEST(test_crash_kill),
		TEST(test_crash_midmsg),
		TEST(test_crash_exit),
		TEST(test_malformed),
		TEST(test_client_sees_error),
		TEST(test_id_reuse),
		TEST(test_unhurried_mass_destroy),
		cmocka_unit_test(test_destroy_big_group),
		TEST(test_gone_with_group),
		TEST(test_commit_walk_budget),
		TEST(test_pending_and_reuse),
		TEST(test_gone_with_pending_work),
		TEST(test_demo_rects),
		cmocka_unit_test(test_socket_ownership),
	};
	return cmocka_run_group_tests_name(e2e_window_backend ? "e2e-window" : "e2e-headless",
		tests, NULL, NULL);
}
