/*
 * End-to-end tests of text nodes on the real headless server, and of tessera-demo-text:
 * glyph pixels fall inside the box ts_text_measure reports and nowhere else; a
 * right-to-left paragraph starts at the right; a CJK character comes from a fallback
 * font (its glyphs differ from one another, where missing glyphs would all be the same
 * box); wrapping gives the lines measured; invalid UTF-8 is drawn, not fatal; the atlas
 * reports its glyphs and lets go of them; bad values and limits end the client with
 * their error; and clients that die holding texts, in every mode, leave no glyph
 * referenced, object or fd behind. Judged from screenshots, tessera-info and the
 * measurements, against the background read when the server started.
 */
#define _GNU_SOURCE
#include <errno.h>
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
#include "wire.h"

// The ink of a screenshot: every pixel that is not the background.
struct ink {
	size_t pixels;
	int x0, y0, x1, y1;   // bounding box, x1 and y1 exclusive; empty when pixels is 0
};

static struct ink ink_of(const struct e2e_image *img, uint32_t background) {
	struct ink ink = { 0, img->width, img->height, 0, 0 };
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			if (e2e_pixel(img, x, y) == background) {
				continue;
			}
			ink.pixels++;
			ink.x0 = x < ink.x0 ? x : ink.x0;
			ink.y0 = y < ink.y0 ? y : ink.y0;
			ink.x1 = x + 1 > ink.x1 ? x + 1 : ink.x1;
			ink.y1 = y + 1 > ink.y1 ? y + 1 : ink.y1;
		}
	}
	return ink;
}

static struct ts_text *text_at(struct ts_display *d, const char *utf8, double size, double x,
		double y) {
	struct ts_text *t = ts_text_create(d, NULL);
	assert_non_null(t);
	assert_int_equal(ts_text_set_string(t, utf8, strlen(utf8)), 0);
	assert_int_equal(ts_text_set_font(t, NULL, size, 400, false), 0);
	assert_int_equal(ts_text_set_color(t, 0xffffffffu), 0);
	assert_int_equal(ts_node_set_position(ts_text_node(t), x, y), 0);
	return t;
}

// Commits, takes a screenshot and returns the ink on it.
static struct ink shot_ink(struct e2e_fixture *f, struct ts_display *d) {
	e2e_commit(d);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	struct ink ink = ink_of(&img, f->srv.background);
	e2e_image_free(&img);
	return ink;
}

/* ---- where glyphs go ---- */

static void test_glyphs_inside_measured_box(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-box");
	struct ts_text *t = text_at(d, "Hello, Wg", 32, 40, 50);
	struct ts_text_metrics m;
	assert_int_equal(ts_text_measure(t, &m), 0);
	assert_int_equal(m.lines, 1);
	assert_true(m.width > 60 && m.width < 320);
	assert_true(m.height >= 32 && m.height < 60);
	assert_true(m.baseline > 0 && m.baseline < m.height);
	struct ink ink = shot_ink(f, d);
	// Glyph pixels, and all of them inside the measured box (to the pixel it rounds to).
	assert_true(ink.pixels > 200);
	if (ink.x0 < 40 || ink.y0 < 50 || ink.x1 > 40 + (int)(m.width + 1.0) ||
			ink.y1 > 50 + (int)(m.height + 1.0)) {
		fail_msg("ink (%d, %d)-(%d, %d) outside the box (40, 50) %.1f x %.1f", ink.x0, ink.y0,
			ink.x1, ink.y1, m.width, m.height);
	}
	// And the box is the ink's, more or less: nothing drawn far from where text goes.
	assert_true(ink.x1 - ink.x0 > m.width * 0.8);
	ts_text_metrics_finish(&m);
	ts_display_disconnect(d);
}

// A right-to-left paragraph starts at the right of its wrap width; a left-to-right one at
// the left.
static void test_rtl_starts_at_the_right(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-rtl");
	struct ts_text *t = text_at(d, "שלום", 24, 20, 40);
	assert_int_equal(ts_text_set_layout(t, 280, TS_ALIGN_START, 0, 0), 0);
	struct ink rtl = shot_ink(f, d);
	assert_true(rtl.pixels > 50);
	assert_true(rtl.x1 > 20 + 280 - 12 && rtl.x1 <= 20 + 280 + 1);
	assert_true(rtl.x0 > 20 + 140);
	assert_int_equal(ts_text_set_string(t, "abcd", 4), 0);
	struct ink ltr = shot_ink(f, d);
	assert_true(ltr.pixels > 50);
	assert_true(ltr.x0 >= 20 && ltr.x0 < 20 + 12);
	assert_true(ltr.x1 < 20 + 140);
	ts_display_disconnect(d);
}

// Two Han characters come from the CJK fallback font: each has many pixels, and they
// differ (two missing glyphs would be the same .notdef box).
static void test_cjk_from_fallback(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-cjk");
	struct ts_text *a = text_at(d, "你", 40, 20, 20);
	struct ts_text *b = text_at(d, "好", 40, 120, 20);
	assert_non_null(a);
	assert_non_null(b);
	e2e_commit(d);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	size_t ink_a = 0, ink_b = 0, differ = 0;
	for (int y = 0; y < 80; y++) {
		for (int x = 0; x < 80; x++) {
			bool pa = e2e_pixel(&img, 20 + x, 20 + y) != f->srv.background;
			bool pb = e2e_pixel(&img, 120 + x, 20 + y) != f->srv.background;
			ink_a += pa;
			ink_b += pb;
			differ += pa != pb;
		}
	}
	e2e_image_free(&img);
	assert_true(ink_a > 100);
	assert_true(ink_b > 100);
	assert_true(differ > 50);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_true(info.atlas_glyphs >= 2);
	assert_true(info.atlas_referenced >= 2);
	ts_display_disconnect(d);
}

/* ---- layout, measurement, bytes ---- */

static void test_wrap_and_measure(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-wrap");
	struct ts_text *t = text_at(d, "one two three four five six seven eight nine ten", 16, 10,
		10);
	struct ts_text_metrics one;
	assert_int_equal(ts_text_measure(t, &one), 0);
	assert_int_equal(one.lines, 1);
	assert_int_equal(ts_text_set_layout(t, 100, TS_ALIGN_START, 20, 0), 0);
	struct ts_text_metrics m;
	assert_int_equal(ts_text_measure(t, &m), 0);
	assert_true(m.lines >= 4);
	assert_int_equal(m.extent_count, m.lines);
	for (size_t i = 0; i < m.extent_count; i++) {
		assert_true(m.extents[i].width <= 100.5);
		if (i > 0) {
			// Line height 20: the lines are 20 px apart.
			double gap = m.extents[i].y - m.extents[i - 1].y;
			assert_true(gap > 19.5 && gap < 20.5);
		}
	}
	assert_true(m.height >= 20.0 * (m.lines - 1));
	// Measured before any commit: what is drawn after the commit fits in it.
	struct ink ink = shot_ink(f, d);
	assert_true(ink.pixels > 100);
	assert_true(ink.x1 <= 10 + 101 && ink.y1 <= 10 + (int)(m.height + 1));
	// With max_lines 2 the text stops at two lines.
	assert_int_equal(ts_text_set_layout(t, 100, TS_ALIGN_START, 20, 2), 0);
	struct ts_text_metrics cut;
	assert_int_equal(ts_text_measure(t, &cut), 0);
	assert_int_equal(cut.lines, 2);
	ts_text_metrics_finish(&one);
	ts_text_metrics_finish(&m);
	ts_text_metrics_finish(&cut);
	ts_display_disconnect(d);
}

// Invalid UTF-8 is drawn as U+FFFD, and a long text crosses many messages intact.
static void test_invalid_utf8_and_long_text(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-bytes");
	static const char bad[] = "\xff\xfe \xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 ok \xe2\x82";
	struct ts_text *t = ts_text_create(d, NULL);
	assert_non_null(t);
	assert_int_equal(ts_text_set_string(t, bad, sizeof bad - 1), 0);
	struct ts_text_metrics m;
	assert_int_equal(ts_text_measure(t, &m), 0);
	assert_true(m.width > 0);
	struct ink ink = shot_ink(f, d);
	assert_true(ink.pixels > 20);
	ts_text_metrics_finish(&m);
	// 20,000 bytes: five messages' worth, wrapped into many lines.
	size_t len = 20000;
	char *many = malloc(len);
	assert_non_null(many);
	for (size_t i = 0; i < len; i++) {
		many[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
	}
	assert_int_equal(ts_text_set_string(t, many, len), 0);
	assert_int_equal(ts_text_set_layout(t, 300, TS_ALIGN_START, 0, 0), 0);
	assert_int_equal(ts_text_measure(t, &m), 0);
	// About 8 px a character at 16 px: 20,000 of them are hundreds of lines.
	assert_true(m.lines > 200);
	free(many);
	ts_text_metrics_finish(&m);
	e2e_commit(d);
	ts_display_disconnect(d);
}

// The atlas holds glyphs while texts show them, and lets go when they go.
static void test_atlas_references(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-atlas");
	struct ts_text *t = text_at(d, "abcdefghij", 20, 10, 10);
	e2e_commit(d);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_true(info.atlas_pages >= 1);
	assert_true(info.atlas_glyphs >= 10);
	assert_int_equal(info.atlas_referenced, 10);
	assert_int_equal(ts_text_set_string(t, "aaaa", 4), 0);
	e2e_commit(d);
	e2e_info(&f->srv, &info);
	// One glyph, held once per quarter-pixel position it falls on: 1 to 4, not 10.
	assert_true(info.atlas_referenced >= 1 && info.atlas_referenced <= 4);
	// Kept for later texts, unreferenced.
	assert_true(info.atlas_glyphs >= 10);
	// Spaces draw nothing and take nothing: seven kinds of them (not trailing, so they
	// are glyphs of the layout) before an x add at most the x's glyph (one per quarter
	// pixel it may start on), at sizes never used before.
	long glyphs = info.atlas_glyphs;
	static const char spaces_x[] = "\xe2\x80\x82\xe2\x80\x83\xe2\x80\x84\xe2\x80\x85"
		"\xe2\x80\x86\xe2\x80\x89 x";
	for (int size = 11; size <= 14; size++) {
		assert_int_equal(ts_text_set_string(t, spaces_x, sizeof spaces_x - 1), 0);
		assert_int_equal(ts_text_set_font(t, NULL, size, 400, false), 0);
		e2e_commit(d);
	}
	e2e_info(&f->srv, &info);
	assert_true(info.atlas_glyphs - glyphs <= 4);
	assert_true(info.atlas_referenced == 1);
	assert_int_equal(ts_text_destroy(t), 0);
	e2e_commit(d);
	e2e_info(&f->srv, &info);
	assert_int_equal(info.atlas_referenced, 0);
	ts_display_disconnect(d);
}

/* ---- bad values and limits ---- */

static void expect_error(struct ts_display *d, uint32_t code, const char *why) {
	assert_int_equal(ts_display_roundtrip(d), -1);
	const char *message = NULL;
	assert_int_equal(ts_display_get_protocol_error(d, NULL, &message), code);
	if (message == NULL || strstr(message, why) == NULL) {
		fail_msg("the error says \"%s\", not \"%s\"", message ? message : "", why);
	}
	ts_display_disconnect(d);
}

static void test_bad_values(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-text-size");
	struct ts_text *t = ts_text_create(d, NULL);
	ts_text_set_font(t, NULL, 0.5, 400, false);
	expect_error(d, TS_ERR_invalid_value, "size");
	d = e2e_join(&f->srv, "e2e-text-weight");
	t = ts_text_create(d, NULL);
	ts_text_set_font(t, NULL, 12, 1000, false);
	expect_error(d, TS_ERR_invalid_value, "weight");
	d = e2e_join(&f->srv, "e2e-text-align");
	t = ts_text_create(d, NULL);
	ts_text_set_layout(t, 0, (enum ts_align)3, 0, 0);
	expect_error(d, TS_ERR_invalid_value, "align");
	// A text's size is its layout's: node_set_size leaves it.
	d = e2e_join(&f->srv, "e2e-text-setsize");
	t = ts_text_create(d, NULL);
	assert_int_equal(ts_text_set_string(t, "size", 4), 0);
	assert_int_equal(ts_node_set_size(ts_text_node(t), 300, 200), 0);
	e2e_commit(d);
	struct ts_text_metrics m;
	assert_int_equal(ts_text_measure(t, &m), 0);
	assert_true(m.width > 10 && m.width < 100 && m.height < 40);
	ts_text_metrics_finish(&m);
	ts_display_disconnect(d);
}

static void test_text_limits(void **state) {
	struct e2e_fixture *f = *state;
	struct e2e_server srv;
	static const char *const extra[] = { "--limit", "text_bytes=100", "--limit",
		"glyph_bytes=2000", NULL };
	e2e_server_start_with(&srv, extra);
	struct ts_display *d = e2e_join(&srv, "e2e-text-bytes-limit");
	struct ts_text *t = ts_text_create(d, NULL);
	char text[101];
	memset(text, 'x', sizeof text);
	ts_text_set_string(t, text, sizeof text);
	expect_error(d, TS_ERR_limit_exceeded, "text_bytes");
	// 2,000 bytes of atlas: a few large glyphs are more.
	d = e2e_join(&srv, "e2e-text-glyph-limit");
	t = text_at(d, "ABCDEFGH", 40, 0, 0);
	assert_int_equal(ts_display_commit(d), 0);
	expect_error(d, TS_ERR_limit_exceeded, "glyph_bytes");
	// The server carries on, holding nothing of either.
	struct ts_display *after = e2e_join(&srv, "e2e-text-after-limits");
	ts_display_disconnect(after);
	e2e_check_as_found(&srv, e2e_server_settled_fds(&srv), 5000);
	e2e_server_stop(&srv);
	(void)f;
}

/* ---- the demo ---- */

static void test_demo_text(void **state) {
	struct e2e_fixture *f = *state;
	const char *argv[] = { e2e_bin("TESSERA_DEMO_TEXT"), "--socket", f->srv.socket,
		"--seconds", "3", NULL };
	pid_t pid = e2e_spawn(argv, -1);
	// It has its page up once the server holds its texts and their glyphs.
	struct e2e_info info;
	for (int i = 0; i < 200; i++) {
		e2e_info(&f->srv, &info);
		if (info.clients == 1 && info.atlas_referenced > 100) {
			break;
		}
		usleep(20000);
	}
	assert_int_equal(info.clients, 1);
	assert_true(info.atlas_referenced > 100);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	struct ink ink = ink_of(&img, f->srv.background);
	// The panel covers the screen; text draws on it in several colours.
	uint32_t panel = e2e_pixel(&img, 0, img.height - 1);
	struct ink text = ink_of(&img, panel);
	assert_true(ink.pixels > 0);
	assert_true(text.pixels > 1000);
	e2e_image_free(&img);
	e2e_crash_reap(pid, 0);
}

/* ---- clients that die holding texts ---- */

static void run_text_crash(void **state, const char *mode, int expect_signal) {
	struct e2e_fixture *f = *state;
	pid_t pid = e2e_crash_start_texts(&f->srv, mode, "50", false, "4", "60");
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_true(info.atlas_referenced > 60);
	assert_int_equal(info.textures, 4);
	e2e_crash_reap(pid, expect_signal);
	struct ts_display *d = e2e_after_crash(&f->srv, "e2e-after-text-crash");
	e2e_info(&f->srv, &info);
	assert_int_equal(info.atlas_referenced, 0);
	ts_display_disconnect(d);
}

static void test_text_crash_segv(void **state) { run_text_crash(state, "segv", SIGSEGV); }
static void test_text_crash_abort(void **state) { run_text_crash(state, "abort", SIGABRT); }
static void test_text_crash_kill(void **state) { run_text_crash(state, "kill", SIGKILL); }
static void test_text_crash_midmsg(void **state) { run_text_crash(state, "midmsg", SIGKILL); }
static void test_text_crash_exit(void **state) { run_text_crash(state, "exit", 0); }

int main(void) {
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, e2e_fixture_setup, e2e_fixture_teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_glyphs_inside_measured_box),
		TEST(test_rtl_starts_at_the_right),
		TEST(test_cjk_from_fallback),
		TEST(test_wrap_and_measure),
		TEST(test_invalid_utf8_and_long_text),
		TEST(test_atlas_references),
		TEST(test_bad_values),
		TEST(test_text_limits),
		TEST(test_demo_text),
		TEST(test_text_crash_segv),
		TEST(test_text_crash_abort),
		TEST(test_text_crash_kill),
		TEST(test_text_crash_midmsg),
		TEST(test_text_crash_exit),
	};
#undef TEST
	return cmocka_run_group_tests(tests, NULL, NULL);
}
