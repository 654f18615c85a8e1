/*
 * End-to-end tests of the scene tree (protocol v2) on the real headless server: a
 * rotated rect against a reference computed here, clips straight and rotated,
 * opacity down the tree and isolated groups, sibling order and layers, clients kept
 * out of each other's trees, atomic commits watched by a screenshotter, and deep trees
 * of clients that crash. Everything is judged from screenshots and tessera-info, with
 * what they should show computed in the test, not taken from the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"
#include "peer.h"
#include "wire.h"

// The output e2e_server_start asks for.
#define SCREEN_W 320
#define SCREEN_H 240

#define RED     0xff0000ffu
#define GREEN   0x00ff00ffu
#define BLUE    0x0000ffffu
#define YELLOW  0xffff00ffu
#define MAGENTA 0xff00ffffu
#define CYAN    0x00ffffffu
#define WHITE   0xffffffffu
#define ORANGE  0xff8000ffu
#define CRASH_COLOR 0xff2020ffu // what tessera-crash fills the screen with


/* ---- clients and nodes ---- */



static void on_done(void *data, uint32_t time_ms) {
	*(bool *)data = true;
}

// Commits and waits until the first frame that shows the commit has been presented,
// so that the frame statistics tessera-info reports next are that frame's.
static void commit_presented(struct ts_display *d) {
	bool done = false;
	assert_int_equal(ts_display_frame(d, on_done, &done), 0);
	assert_int_equal(ts_display_commit(d), 0);
	while (!done) {
		assert_true(ts_display_dispatch(d) >= 0);
	}
}

static struct ts_group *group_at(struct ts_display *d, struct ts_group *parent,
		double x, double y) {
	struct ts_group *g = ts_group_create(d, parent);
	assert_non_null(g);
	assert_int_equal(ts_node_set_position(ts_group_node(g), x, y), 0);
	return g;
}

// A rect on top of @parent's children (NULL: the root's), at (@x, @y) in its space.
static struct ts_rect *rect_at(struct ts_display *d, struct ts_group *parent, double x,
		double y, double w, double h, uint32_t rgba) {
	struct ts_rect *r = parent != NULL ? ts_rect_create_in(parent) : ts_rect_create(d);
	assert_non_null(r);
	struct ts_node *n = ts_rect_node(r);
	assert_int_equal(ts_node_set_position(n, x, y), 0);
	assert_int_equal(ts_node_set_size(n, w, h), 0);
	assert_int_equal(ts_rect_set_color(r, rgba), 0);
	return r;
}

/* ---- colours ---- */

// Channel @k (0 red, 1 green, 2 blue, 3 alpha) of 0xRRGGBBAA.
static int channel(uint32_t rgba, int k) {
	return (int)(rgba >> (24 - 8 * k) & 0xff);
}

// @src at @alpha over the opaque @dst: straight-alpha source-over, rounded.
static uint32_t over(uint32_t src, double alpha, uint32_t dst) {
	uint32_t out = 0xff;
	for (int k = 0; k < 3; k++) {
		double v = channel(src, k) * alpha + channel(dst, k) * (1 - alpha);
		out |= (uint32_t)lround(v) << (24 - 8 * k);
	}
	return out;
}

static bool near(uint32_t got, uint32_t want, int tolerance) {
	for (int k = 0; k < 4; k++) {
		if (abs(channel(got, k) - channel(want, k)) > tolerance) {
			return false;
		}
	}
	return true;
}

// Blending rounds differently on every GPU: within 3 of the exact value per channel.
static void assert_near(uint32_t got, uint32_t want, const char *what) {
	if (!near(got, want, 3)) {
		fail_msg("%s: 0x%08x, expected 0x%08x +-3 per channel", what, got, want);
	}
}

/* ---- expected pictures ---- */

// A rectangle of whole pixels on screen.
struct box {
	int x, y, w, h;
	uint32_t rgba;
};

// The screen as it should be: @bg, then @boxes painted over it in order, cut to the
// output. Freed with e2e_image_free.
static struct e2e_image picture(uint32_t bg, const struct box *boxes, size_t n) {
	struct e2e_image img = { SCREEN_W, SCREEN_H, malloc((size_t)SCREEN_W * SCREEN_H * 4) };
	assert_non_null(img.rgba);
	const struct box all = { 0, 0, SCREEN_W, SCREEN_H, bg };
	for (size_t i = 0; i <= n; i++) {
		const struct box *b = i == 0 ? &all : &boxes[i - 1];
		for (int y = b->y < 0 ? 0 : b->y; y < b->y + b->h && y < SCREEN_H; y++) {
			for (int x = b->x < 0 ? 0 : b->x; x < b->x + b->w && x < SCREEN_W; x++) {
				uint8_t *p = img.rgba + ((size_t)y * SCREEN_W + (size_t)x) * 4;
				for (int k = 0; k < 4; k++) {
					p[k] = (uint8_t)channel(b->rgba, k);
				}
			}
		}
	}
	return img;
}

// Pixels of @got (@stride bytes a row) that differ from @want; the first goes to *@at.
static size_t differing(const uint8_t *got, size_t stride, const struct e2e_image *want,
		int *at_x, int *at_y) {
	size_t n = 0;
	for (int y = 0; y < want->height; y++) {
		for (int x = 0; x < want->width; x++) {
			const uint8_t *g = got + (size_t)y * stride + (size_t)x * 4;
			const uint8_t *w = want->rgba + ((size_t)y * (size_t)want->width + (size_t)x) * 4;
			if (memcmp(g, w, 4) != 0 && n++ == 0) {
				*at_x = x;
				*at_y = y;
			}
		}
	}
	return n;
}

// The next frame must be exactly @boxes over the background.
static void expect_picture(const struct e2e_fixture *f, const struct box *boxes, size_t n,
		const char *what) {
	struct e2e_image want = picture(f->srv.background, boxes, n), got;
	e2e_shot(&f->srv, &got);
	int x = 0, y = 0;
	size_t wrong = differing(got.rgba, (size_t)got.width * 4, &want, &x, &y);
	if (wrong != 0) {
		fail_msg("%s: %zu pixels differ, the first at (%d, %d): 0x%08x, expected 0x%08x",
			what, wrong, x, y, e2e_pixel(&got, x, y), e2e_pixel(&want, x, y));
	}
	e2e_image_free(&got);
	e2e_image_free(&want);
}

// A pixel the next frame must show.
struct probe {
	int x, y;
	uint32_t rgba;
};

static void expect_pixels(const struct e2e_fixture *f, const struct probe *probes, size_t n,
		const char *what) {
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	for (size_t i = 0; i < n; i++) {
		uint32_t got = e2e_pixel(&img, probes[i].x, probes[i].y);
		if (got != probes[i].rgba) {
			fail_msg("%s: (%d, %d) is 0x%08x, expected 0x%08x", what, probes[i].x,
				probes[i].y, got, probes[i].rgba);
		}
	}
	e2e_image_free(&img);
}

/* ---- geometry: the reference for rotated shapes ---- */

struct point {
	double x, y;
};

// The corners, in order, of a @w x @h node whose anchor point (@ax, @ay, fractions of
// its size) is at (@x, @y), rotated @degrees clockwise on screen about it, as
// PROTOCOL.md defines a node's transform (y points down, so clockwise takes the x axis
// towards +y).
static void node_corners(double x, double y, double w, double h, double ax, double ay,
		double degrees, struct point out[4]) {
	double t = degrees * M_PI / 180, c = cos(t), s = sin(t);
	const double u[4] = { 0, w, w, 0 }, v[4] = { 0, 0, h, h };
	for (int i = 0; i < 4; i++) {
		double lx = u[i] - ax * w, ly = v[i] - ay * h;
		out[i] = (struct point){ x + lx * c - ly * s, y + lx * s + ly * c };
	}
}

// How far (@x, @y) lies inside the convex polygon @p (@n corners, either winding): the
// distance to the nearest edge's line, positive inside. Outside it is negative and no
// larger than the distance to the polygon, so "below -margin" is safely outside.
static double inside_by(const struct point *p, int n, double x, double y) {
	double area = 0;
	for (int i = 0; i < n; i++) {
		const struct point *a = &p[i], *b = &p[(i + 1) % n];
		area += a->x * b->y - b->x * a->y;
	}
	double sign = area > 0 ? 1 : -1, nearest = INFINITY;
	for (int i = 0; i < n; i++) {
		const struct point *a = &p[i], *b = &p[(i + 1) % n];
		double ex = b->x - a->x, ey = b->y - a->y;
		double d = sign * (ex * (y - a->y) - ey * (x - a->x)) / hypot(ex, ey);
		nearest = fmin(nearest, d);
	}
	return nearest;
}

struct shape_check {
	size_t inside, outside, edge;                   // pixels in each class
	size_t wrong_inside, wrong_outside, wrong_edge; // of those, not as they should be
};

// Judges every pixel centre of @img against polygon @p: more than @margin inside it
// must be @fill, more than @margin outside @empty. Pixels on the edge between may be
// either but nothing else: straight edges are not smoothed (shaders/rect.frag), a
// pixel is in when its centre is.
static struct shape_check check_shape(const struct e2e_image *img, const struct point *p,
		int n, double margin, uint32_t fill, uint32_t empty) {
	struct shape_check c = { 0 };
	int reported = 0;
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			double d = inside_by(p, n, x + 0.5, y + 0.5);
			uint32_t got = e2e_pixel(img, x, y);
			bool wrong;
			if (d > margin) {
				c.inside++;
				wrong = got != fill;
				c.wrong_inside += wrong;
			} else if (d < -margin) {
				c.outside++;
				wrong = got != empty;
				c.wrong_outside += wrong;
			} else {
				c.edge++;
				wrong = got != fill && got != empty;
				c.wrong_edge += wrong;
			}
			if (wrong && reported++ < 5) {
				print_message("(%d, %d), %.2f px inside: 0x%08x\n", x, y, d, got);
			}
		}
	}
	return c;
}

static void assert_shape(const struct e2e_image *img, const struct point *p, int n,
		uint32_t fill, uint32_t empty, const char *what) {
	struct shape_check c = check_shape(img, p, n, 1.5, fill, empty);
	if (c.wrong_inside || c.wrong_outside || c.wrong_edge) {
		fail_msg("%s: %zu of %zu pixels inside, %zu of %zu outside and %zu of %zu on the "
			"edge are wrong", what, c.wrong_inside, c.inside, c.wrong_outside, c.outside,
			c.wrong_edge, c.edge);
	}
	assert_true(c.inside > 0 && c.outside > 0);
}

/* ---- 1. a rotated rect ---- */

static void test_rotated_rect(void **state) {
	struct e2e_fixture *f = *state;
	uint32_t bg = f->srv.background;
	struct ts_display *d = e2e_join(&f->srv, "e2e-rotated");
	// First straight, near the top left: the screenshot must come top row first, x to
	// the right, for the reference below to mean anything. Upside down, (20, 10) would
	// be background.
	struct ts_rect *r = rect_at(d, NULL, 20, 10, 30, 15, ORANGE);
	e2e_commit(d);
	const struct probe straight[] = {
		{ 20, 10, ORANGE }, { 49, 24, ORANGE }, { 19, 10, bg }, { 20, 9, bg },
		{ 50, 24, bg }, { 49, 25, bg }, { 20, SCREEN_H - 11, bg },
	};
	expect_pixels(f, straight, sizeof straight / sizeof straight[0], "straight rect");

	// 200x100 about its centre, in the middle of the screen, turned 30 degrees.
	struct ts_node *n = ts_rect_node(r);
	assert_int_equal(ts_node_set_size(n, 200, 100), 0);
	assert_int_equal(ts_node_set_anchor(n, 0.5, 0.5), 0);
	assert_int_equal(ts_node_set_position(n, 160, 120), 0);
	assert_int_equal(ts_node_set_rotation(n, 30), 0);
	e2e_commit(d);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	struct point corners[4];
	node_corners(160, 120, 200, 100, 0.5, 0.5, 30, corners);
	assert_shape(&img, corners, 4, ORANGE, bg, "rect turned 30 degrees");
	// Clockwise: the right end goes down. Counter-clockwise it would be up there.
	double c = cos(M_PI / 6), s = sin(M_PI / 6);
	assert_int_equal(e2e_pixel(&img, (int)(160 + 90 * c), (int)(120 + 90 * s)), ORANGE);
	assert_int_equal(e2e_pixel(&img, (int)(160 + 90 * c), (int)(120 - 90 * s)), bg);
	// Its area, within what sampling at pixel centres changes along 600 px of edge.
	long drawn = (long)e2e_count(&img, ORANGE);
	print_message("rotated: %ld pixels of 20000\n", drawn);
	assert_true(labs(drawn - 200 * 100) < 100);
	e2e_image_free(&img);
	ts_display_disconnect(d);
}

/* ---- 2. clips ---- */

static void test_clip(void **state) {
	struct e2e_fixture *f = *state;
	uint32_t bg = f->srv.background;
	struct ts_display *d = e2e_join(&f->srv, "e2e-clip");
	// A 100x100 clipping group at (100, 60) and a 200x200 child reaching 50 px past it
	// on every side: (-50, -50) in the group is (50, 10) on screen.
	struct ts_group *g = group_at(d, NULL, 100, 60);
	struct ts_node *gn = ts_group_node(g);
	assert_int_equal(ts_node_set_size(gn, 100, 100), 0);
	assert_int_equal(ts_group_set_clip(g, true), 0);
	rect_at(d, g, -50, -50, 200, 200, GREEN);
	e2e_commit(d);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, GREEN), 100 * 100);
	assert_int_equal(e2e_count(&img, bg), SCREEN_W * SCREEN_H - 100 * 100);
	e2e_image_free(&img);
	// Inside the clip's corners, and just outside every edge.
	const struct probe clipped[] = {
		{ 100, 60, GREEN }, { 199, 60, GREEN }, { 100, 159, GREEN }, { 199, 159, GREEN },
		{ 99, 100, bg }, { 200, 100, bg }, { 150, 59, bg }, { 150, 160, bg },
		{ 60, 20, bg }, { 240, 200, bg },
	};
	expect_pixels(f, clipped, sizeof clipped / sizeof clipped[0], "straight clip");

	// The group turned 45 degrees about its centre, (150, 110): the clip is a diamond,
	// cut through the stencil, and the child turns with it.
	assert_int_equal(ts_node_set_anchor(gn, 0.5, 0.5), 0);
	assert_int_equal(ts_node_set_position(gn, 150, 110), 0);
	assert_int_equal(ts_node_set_rotation(gn, 45), 0);
	e2e_commit(d);
	struct point clip[4];
	node_corners(150, 110, 100, 100, 0.5, 0.5, 45, clip);
	e2e_shot(&f->srv, &img);
	assert_shape(&img, clip, 4, GREEN, bg, "clip turned 45 degrees");
	long drawn = (long)e2e_count(&img, GREEN);
	assert_true(labs(drawn - 100 * 100) < 100);
	e2e_image_free(&img);

	// Without the clip the whole child shows: a 200x200 diamond round the same centre...
	assert_int_equal(ts_group_set_clip(g, false), 0);
	e2e_commit(d);
	struct point child[4];
	node_corners(150, 110, 200, 200, 0.5, 0.5, 45, child);
	e2e_shot(&f->srv, &img);
	assert_shape(&img, child, 4, GREEN, bg, "unclipped child turned 45 degrees");
	e2e_image_free(&img);
	// ... and straight, all of its 200x200 pixels.
	assert_int_equal(ts_node_set_rotation(gn, 0), 0);
	e2e_commit(d);
	const struct box whole = { 50, 10, 200, 200, GREEN };
	expect_picture(f, &whole, 1, "unclipped child");
	ts_display_disconnect(d);
}

/* ---- 3. opacity ---- */

// The number after "key": in the "frame" object of tessera-info --json output.
static long frame_stat(const struct e2e_info *info, const char *key) {
	const char *frame = strstr(info->json, "\"frame\": {");
	assert_non_null(frame);
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\"%s\": ", key);
	const char *p = strstr(frame, pattern);
	assert_non_null(p);
	return strtol(p + strlen(pattern), NULL, 10);
}

static long offscreen_passes(const struct e2e_fixture *f) {
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	return frame_stat(&info, "offscreen_passes");
}

static void test_opacity(void **state) {
	struct e2e_fixture *f = *state;
	uint32_t bg = f->srv.background;
	struct ts_display *d = e2e_join(&f->srv, "e2e-opacity");
	// A group at half opacity: a white rect at half opacity in it is drawn at a
	// quarter, one at full opacity at half; a rect at half in the root at half.
	struct ts_group *half = group_at(d, NULL, 0, 0);
	assert_int_equal(ts_node_set_opacity(ts_group_node(half), 0.5), 0);
	struct ts_rect *quarter = rect_at(d, half, 10, 10, 60, 60, WHITE);
	assert_int_equal(ts_node_set_opacity(ts_rect_node(quarter), 0.5), 0);
	rect_at(d, half, 80, 10, 60, 60, WHITE);
	struct ts_rect *alone = rect_at(d, NULL, 150, 10, 60, 60, WHITE);
	assert_int_equal(ts_node_set_opacity(ts_rect_node(alone), 0.5), 0);

	// An isolated group at half opacity: its red and green rects overlap, green on top.
	struct ts_group *iso = group_at(d, NULL, 0, 0);
	assert_int_equal(ts_node_set_opacity(ts_group_node(iso), 0.5), 0);
	assert_int_equal(ts_group_set_isolate(iso, true), 0);
	rect_at(d, iso, 20, 100, 80, 60, RED);
	rect_at(d, iso, 60, 130, 80, 60, GREEN);
	commit_presented(d);
	assert_true(offscreen_passes(f) >= 1);

	// As one picture at half: the overlap is green at half, as a single layer would be.
	uint32_t isolated = over(GREEN, 0.5, bg);
	uint32_t separate = over(GREEN, 0.5, over(RED, 0.5, bg));
	assert_false(near(isolated, separate, 3)); // the test can tell them apart
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	assert_near(e2e_pixel(&img, 40, 40), over(WHITE, 0.25, bg), "half in half");
	assert_near(e2e_pixel(&img, 110, 40), over(WHITE, 0.5, bg), "opaque in half");
	assert_near(e2e_pixel(&img, 180, 40), over(WHITE, 0.5, bg), "half in the root");
	assert_near(e2e_pixel(&img, 30, 110), over(RED, 0.5, bg), "isolated, red alone");
	assert_near(e2e_pixel(&img, 80, 140), isolated, "isolated, the overlap");
	assert_near(e2e_pixel(&img, 130, 180), over(GREEN, 0.5, bg), "isolated, green alone");
	e2e_image_free(&img);

	// Not isolated, each rect is faded on its own: the red shows through the green.
	assert_int_equal(ts_group_set_isolate(iso, false), 0);
	commit_presented(d);
	assert_int_equal(offscreen_passes(f), 0);
	e2e_shot(&f->srv, &img);
	assert_near(e2e_pixel(&img, 30, 110), over(RED, 0.5, bg), "not isolated, red alone");
	assert_near(e2e_pixel(&img, 80, 140), separate, "not isolated, the overlap");
	assert_near(e2e_pixel(&img, 40, 40), over(WHITE, 0.25, bg), "half in half, again");
	e2e_image_free(&img);
	ts_display_disconnect(d);
}

/* ---- 4. sibling order and layers ---- */

// Where the rects of the test below meet, and points only some of them cover.
#define AT_P 110, 100 // A's two rects, B's, D's
#define AT_B 115, 175 // only B's (and C's below everything)
#define AT_C 5, 5     // only C's

static void test_order_and_layers(void **state) {
	struct e2e_fixture *f = *state;
	uint32_t bg = f->srv.background;
	// One client: the rect made later is on top.
	struct ts_display *a = e2e_join(&f->srv, "e2e-order-a");
	struct ts_rect *a1 = rect_at(a, NULL, 40, 40, 100, 80, RED);
	struct ts_rect *a2 = rect_at(a, NULL, 90, 80, 100, 80, GREEN);
	e2e_commit(a);
	expect_pixels(f, (struct probe[]){ { 110, 100, GREEN }, { 50, 50, RED },
		{ 180, 150, GREEN }, { 5, 5, bg } }, 4, "later sibling on top");
	assert_int_equal(ts_node_place_below(ts_rect_node(a2), ts_rect_node(a1)), 0);
	e2e_commit(a);
	expect_pixels(f, (struct probe[]){ { 110, 100, RED }, { 180, 150, GREEN } }, 2,
		"placed below");

	// A client that came later is above A in the normal layer, until A raises itself.
	struct ts_display *b = e2e_join(&f->srv, "e2e-order-b");
	rect_at(b, NULL, 100, 90, 30, 100, BLUE);
	e2e_commit(b);
	expect_pixels(f, (struct probe[]){ { AT_P, BLUE }, { AT_B, BLUE } }, 2,
		"later client on top");
	assert_int_equal(ts_display_raise(a), 0);
	e2e_commit(a);
	expect_pixels(f, (struct probe[]){ { AT_P, RED }, { AT_B, BLUE } }, 2, "A raised");

	// The background layer is below both, made last and raised or not.
	struct ts_display *c = e2e_join(&f->srv, "e2e-order-c");
	assert_int_equal(ts_display_set_layer(c, TS_LAYER_BACKGROUND), 0);
	rect_at(c, NULL, 0, 0, SCREEN_W, SCREEN_H, YELLOW);
	e2e_commit(c);
	expect_pixels(f, (struct probe[]){ { AT_P, RED }, { AT_B, BLUE }, { AT_C, YELLOW } },
		3, "background layer");
	assert_int_equal(ts_display_raise(c), 0);
	e2e_commit(c);
	expect_pixels(f, (struct probe[]){ { AT_P, RED }, { AT_B, BLUE }, { AT_C, YELLOW } },
		3, "background layer raised");
	assert_int_equal(ts_display_raise(b), 0);
	e2e_commit(b);
	expect_pixels(f, (struct probe[]){ { AT_P, BLUE }, { AT_C, YELLOW } }, 2, "B raised");

	// The overlay is above all, whoever raises itself in the normal layer.
	struct ts_display *o = e2e_join(&f->srv, "e2e-order-d");
	assert_int_equal(ts_display_set_layer(o, TS_LAYER_OVERLAY), 0);
	rect_at(o, NULL, 105, 95, 10, 10, MAGENTA);
	e2e_commit(o);
	expect_pixels(f, (struct probe[]){ { AT_P, MAGENTA }, { AT_B, BLUE } }, 2, "overlay");
	assert_int_equal(ts_display_raise(a), 0);
	e2e_commit(a);
	expect_pixels(f, (struct probe[]){ { AT_P, MAGENTA } }, 1, "overlay over A raised");
	// Back in the normal layer it goes on top of it, and a raise there beats it.
	assert_int_equal(ts_display_set_layer(o, TS_LAYER_NORMAL), 0);
	e2e_commit(o);
	expect_pixels(f, (struct probe[]){ { AT_P, MAGENTA } }, 1, "overlay back to normal");
	assert_int_equal(ts_display_raise(a), 0);
	e2e_commit(a);
	expect_pixels(f, (struct probe[]){ { AT_P, RED }, { AT_C, YELLOW } }, 2,
		"A raised over D");
	ts_display_disconnect(o);
	ts_display_disconnect(c);
	ts_display_disconnect(b);
	ts_display_disconnect(a);
}

/* ---- 5. another client's tree is out of reach ---- */

struct intrusion {
	const char *what;
	bool own_rect;        // the intruder makes a rect of its own, id 1, first
	uint16_t opcode;
	union ts_arg args[3]; // an id of A's where A's are named (filled in below)
	uint32_t named;       // the id of A's the error must be about
};

// Sends @c's requests and a commit in one write (the server may hang up at the bad
// one), then checks that the server answered invalid_id about A's id and hung up.
static void intrude(const struct e2e_fixture *f, const struct intrusion *c) {
	struct peer p;
	struct peer_event ev;
	e2e_peer_connect(&p, f->srv.socket);
	assert_int_equal(peer_hello(&p, "e2e-intruder", 2000, &ev), PEER_EVENT);
	assert_int_equal(ev.hdr.opcode, TS_EV_welcome);
	uint8_t buf[3 * TS_MAX_MESSAGE];
	size_t len = 0;
	if (c->own_rect) {
		len += peer_encode(buf + len, sizeof buf - len, TS_REQ_rect_create,
			(union ts_arg[]){ { .u = 1 }, { .u = 0 } });
	}
	size_t bad = peer_encode(buf + len, sizeof buf - len, c->opcode, c->args);
	assert_true(bad > 0);
	len += bad;
	size_t end = peer_encode(buf + len, sizeof buf - len, TS_REQ_commit, NULL);
	assert_true(end > 0);
	len += end;
	assert_int_not_equal(peer_write(p.fd, buf, len, NULL, 0), PEER_FAILED);
	if (peer_drain(&p, 3000) != PEER_HANGUP) {
		fail_msg("%s: the server did not hang up (%d errors)", c->what, p.errors);
	}
	if (p.errors != 1 || p.code != TS_ERR_invalid_id || p.object != c->named) {
		fail_msg("%s: %d errors, the last code %u about %u (\"%s\"); expected invalid_id "
			"about %u", c->what, p.errors, p.code, p.object, p.message, c->named);
	}
	peer_close(&p);
}

static void test_other_clients_tree(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *a = e2e_join(&f->srv, "e2e-owner");
	// A's ids are 1, 2 and 3: the intruder's own rect is 1, so A's group and the rect
	// in it are numbers it has no object for.
	rect_at(a, NULL, 0, 0, 20, 20, YELLOW);
	struct ts_group *g = group_at(a, NULL, 40, 40);
	struct ts_rect *r = rect_at(a, g, 10, 10, 50, 30, BLUE);
	e2e_commit(a);
	uint32_t gid = ts_node_get_id(ts_group_node(g)), rid = ts_rect_get_id(r);
	assert_true(gid > 1 && rid > 1);
	struct e2e_image before;
	e2e_shot(&f->srv, &before);
	assert_int_equal(e2e_count(&before, BLUE), 50 * 30);

	const struct intrusion cases[] = {
		{ "rect_create in A's group", false, TS_REQ_rect_create,
			{ { .u = 1 }, { .u = gid } }, gid },
		{ "group_create in A's group", false, TS_REQ_group_create,
			{ { .u = 1 }, { .u = gid } }, gid },
		{ "own rect into A's group", true, TS_REQ_node_set_parent,
			{ { .u = 1 }, { .u = gid } }, gid },
		{ "A's rect to the root", false, TS_REQ_node_set_parent,
			{ { .u = rid }, { .u = 0 } }, rid },
		{ "own rect above A's rect", true, TS_REQ_node_place_above,
			{ { .u = 1 }, { .u = rid } }, rid },
		{ "own rect below A's group", true, TS_REQ_node_place_below,
			{ { .u = 1 }, { .u = gid } }, gid },
		{ "A's rect above nothing", false, TS_REQ_node_place_above,
			{ { .u = rid }, { .u = 0 } }, rid },
		{ "recolour A's rect", false, TS_REQ_rect_set_color,
			{ { .u = rid }, { .u = RED } }, rid },
		{ "destroy A's group", false, TS_REQ_destroy, { { .u = gid } }, gid },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		intrude(f, &cases[i]);
	}

	// A never noticed: still connected, its round trip answered, its pixels the same.
	assert_int_equal(ts_display_roundtrip(a), 0);
	assert_int_equal(ts_display_get_error(a), 0);
	assert_true(e2e_server_alive(&f->srv));
	struct e2e_image after;
	e2e_shot(&f->srv, &after);
	assert_memory_equal(after.rgba, before.rgba, (size_t)SCREEN_W * SCREEN_H * 4);
	e2e_image_free(&after);
	e2e_image_free(&before);
	struct e2e_info info;
	assert_true(e2e_wait_totals(&f->srv, 1, 3, 2000, &info));
	ts_display_disconnect(a);
}

/* ---- 6. atomic commits ---- */

// One commit that moves a rect between groups and recolours it, destroys another and
// makes a new one, after a scene built with nesting, reparenting and a destroy.
static void test_one_commit(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-one-commit");
	struct ts_group *g1 = group_at(d, NULL, 20, 20);
	struct ts_group *g2 = group_at(d, NULL, 180, 20);
	struct ts_group *g3 = group_at(d, g2, 0, 0);
	struct ts_rect *moved = rect_at(d, g1, 10, 10, 40, 40, RED);
	struct ts_rect *doomed = rect_at(d, g1, 10, 60, 40, 40, BLUE);
	struct ts_rect *nested = rect_at(d, g2, 0, 0, 30, 30, GREEN);
	struct ts_rect *cover = rect_at(d, NULL, 0, 0, SCREEN_W, SCREEN_H, WHITE);
	e2e_commit(d);
	const struct box covered = { 0, 0, SCREEN_W, SCREEN_H, WHITE };
	expect_picture(f, &covered, 1, "covered");

	// The cover goes, the green rect moves into g3, g3 and g2 move.
	assert_int_equal(ts_rect_destroy(cover), 0);
	assert_int_equal(ts_node_set_parent(ts_rect_node(nested), g3), 0);
	assert_int_equal(ts_node_set_position(ts_group_node(g3), 10, 100), 0);
	assert_int_equal(ts_node_set_position(ts_group_node(g2), 170, 20), 0);
	e2e_commit(d);
	const struct box built[] = {
		{ 30, 30, 40, 40, RED }, { 30, 80, 40, 40, BLUE }, { 180, 120, 30, 30, GREEN },
	};
	expect_picture(f, built, 3, "built");

	// All in one commit; until it comes, none of it shows.
	struct ts_node *m = ts_rect_node(moved);
	assert_int_equal(ts_node_set_parent(m, g2), 0);
	assert_int_equal(ts_node_set_position(m, 40, 10), 0);
	assert_int_equal(ts_rect_set_color(moved, YELLOW), 0);
	assert_int_equal(ts_rect_destroy(doomed), 0);
	rect_at(d, g1, 10, 110, 40, 20, CYAN);
	assert_int_equal(ts_display_roundtrip(d), 0);
	expect_picture(f, built, 3, "pending");
	e2e_commit(d);
	const struct box after[] = {
		{ 210, 30, 40, 40, YELLOW }, { 180, 120, 30, 30, GREEN }, { 30, 130, 40, 20, CYAN },
	};
	expect_picture(f, after, 3, "after the commit");
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.objects, 6); // three groups, three rects
	ts_display_disconnect(d);
}

// The toggling client's scene: a grid of rects, each with a place, size and colour
// in state A and another in state B; every third moves between groups G1 (at the
// origin) and G2 (at TOG_G2) at each toggle, every third stays in G2 and the rest are
// in the root; and one rect destroyed and made anew at each toggle. One toggle is more
// requests than the server handles for a client in one round (the requests limit,
// 1024), so a commit arrives over several rounds with frames drawn between them.
enum {
	TOG_COLS = 20,
	TOG_ROWS = 18, // 12 px a row: the grid ends at y = 216, the extra rect is below
	TOG_RECTS = TOG_COLS * TOG_ROWS,
	TOG_SHOTS = 60,
};
static const int TOG_G2[2] = { 3, 2 };
// A toggle sets three properties of every rect, moves every third and remakes the
// extra one: it must not fit in one round.
_Static_assert(TOG_RECTS * 3 + TOG_RECTS / 3 > 1024, "a toggle fits in one round");

static struct box tog_box(int i, int s) {
	static const uint32_t colours[2][3] = {
		{ 0xe04040ffu, 0x40e040ffu, 0x4040e0ffu },
		{ 0xe0e040ffu, 0x40e0e0ffu, 0xe040e0ffu },
	};
	int x = i % TOG_COLS * 16, y = i / TOG_COLS * 12;
	uint32_t c = colours[s][i % 3];
	return s == 0 ? (struct box){ x + 1, y + 1, 6, 5, c } : (struct box){ x + 8, y + 6, 5, 4, c };
}

static struct box tog_extra(int s) {
	return s == 0 ? (struct box){ 10, 220, 40, 15, WHITE } : (struct box){ 200, 222, 30, 12, ORANGE };
}

// The group rect @i is in, in state @s: 0 the root, 1 G1, 2 G2.
static int tog_parent(int i, int s) {
	return i % 3 == 0 ? 1 + s : i % 3 == 1 ? 2 : 0;
}

static struct e2e_image tog_picture(uint32_t bg, int s) {
	struct box boxes[TOG_RECTS + 1];
	for (int i = 0; i < TOG_RECTS; i++) {
		boxes[i] = tog_box(i, s);
	}
	boxes[TOG_RECTS] = tog_extra(s);
	return picture(bg, boxes, TOG_RECTS + 1);
}

struct toggler {
	struct ts_display *d;
	struct ts_group *groups[3]; // [0] NULL: the root
	struct ts_rect *rects[TOG_RECTS];
	struct ts_rect *extra;
};

static bool tog_place(struct ts_rect *r, struct box b, int parent) {
	struct ts_node *n = ts_rect_node(r);
	int dx = parent == 2 ? TOG_G2[0] : 0, dy = parent == 2 ? TOG_G2[1] : 0;
	return ts_node_set_position(n, b.x - dx, b.y - dy) == 0 &&
		ts_node_set_size(n, b.w, b.h) == 0 && ts_rect_set_color(r, b.rgba) == 0;
}

// Puts the whole scene into state @s, pending until the commit.
static bool tog_apply(struct toggler *t, int s) {
	for (int i = 0; i < TOG_RECTS; i++) {
		int p = tog_parent(i, s);
		if (i % 3 == 0 && ts_node_set_parent(ts_rect_node(t->rects[i]), t->groups[p]) < 0) {
			return false;
		}
		if (!tog_place(t->rects[i], tog_box(i, s), p)) {
			return false;
		}
	}
	if (t->extra != NULL && ts_rect_destroy(t->extra) < 0) {
		return false;
	}
	t->extra = ts_rect_create(t->d);
	return t->extra != NULL && tog_place(t->extra, tog_extra(s), 0);
}

static bool tog_build(struct toggler *t, const char *socket) {
	t->d = ts_display_connect(socket, "e2e-toggler");
	if (t->d == NULL) {
		return false;
	}
	for (int k = 1; k <= 2; k++) {
		t->groups[k] = ts_group_create(t->d, NULL);
		if (t->groups[k] == NULL) {
			return false;
		}
	}
	if (ts_node_set_position(ts_group_node(t->groups[2]), TOG_G2[0], TOG_G2[1]) < 0) {
		return false;
	}
	for (int i = 0; i < TOG_RECTS; i++) {
		struct ts_group *parent = t->groups[tog_parent(i, 0)];
		t->rects[i] = parent != NULL ? ts_rect_create_in(parent) : ts_rect_create(t->d);
		if (t->rects[i] == NULL) {
			return false;
		}
	}
	return tog_apply(t, 0) && ts_display_commit(t->d) == 0 && ts_display_roundtrip(t->d) == 0;
}

// The toggling client, in a child process: builds state A, says so on @ready_fd, then
// commits B, A, B... as fast as the server takes them, until @stop_fd becomes readable
// (the parent closed it). Every other commit it waits for a round trip, which reads
// the delete_ids its destroys bring. Exit status: 0, or which step failed.
static void __attribute__((noreturn)) run_toggler(const char *socket, int ready_fd,
		int stop_fd) {
	alarm(60); // a parent that failed half way must not leave it running for ever
	struct toggler t = { 0 };
	if (!tog_build(&t, socket)) {
		_exit(1);
	}
	if (write(ready_fd, "r", 1) != 1) {
		_exit(2);
	}
	for (unsigned n = 1;; n++) {
		if (!tog_apply(&t, (int)(n % 2)) || ts_display_commit(t.d) < 0) {
			_exit(3);
		}
		if (n % 2 == 0 ? ts_display_roundtrip(t.d) < 0
				: ts_display_flush(t.d) < 0 && errno != EAGAIN) {
			_exit(4);
		}
		struct pollfd p = { .fd = stop_fd, .events = POLLIN };
		if (poll(&p, 1, 0) != 0) {
			break;
		}
	}
	ts_display_disconnect(t.d);
	_exit(0);
}

// Screenshots taken while the client toggles: each must be exactly state A or state
// B. A frame drawn while the server had applied part of a commit (some rects moved,
// the extra one destroyed and not yet made, a rect reparented but not yet moved)
// would match neither.
static void test_atomic_toggles(void **state) {
	struct e2e_fixture *f = *state;
	int ready[2], stop[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(stop, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);
		run_toggler(f->srv.socket, ready[1], stop[0]);
	}
	close(ready[1]);
	close(stop[0]);
	struct pollfd p = { .fd = ready[0], .events = POLLIN };
	char c = 0;
	bool started = poll(&p, 1, 20000) == 1 && read(ready[0], &c, 1) == 1;
	close(ready[0]);

	struct e2e_image want[2] = { tog_picture(f->srv.background, 0),
		tog_picture(f->srv.background, 1) };
	// Each state's pixel counts, for the report: rects of A and B never overlap.
	size_t drawn[2] = { 0, 0 };
	for (int s = 0; s < 2; s++) {
		drawn[s] = (size_t)SCREEN_W * SCREEN_H - e2e_count(&want[s], f->srv.background);
	}
	int seen[2] = { 0, 0 }, mixed = 0, failed = 0;
	struct ts_display *shooter = started ? e2e_join(&f->srv, "e2e-shooter") : NULL;
	for (int i = 0; started && i < TOG_SHOTS && !failed; i++) {
		struct ts_image shot;
		if (ts_display_screenshot(shooter, &shot) < 0) {
			failed = 1;
			break;
		}
		int xa = 0, ya = 0, xb = 0, yb = 0;
		size_t off_a = differing(shot.pixels, shot.stride, &want[0], &xa, &ya);
		size_t off_b = differing(shot.pixels, shot.stride, &want[1], &xb, &yb);
		if (off_a == 0 || off_b == 0) {
			seen[off_a == 0 ? 0 : 1]++;
		} else if (mixed++ < 3) {
			print_message("shot %d is neither: %zu pixels off A (first at %d, %d), %zu off "
				"B (first at %d, %d)\n", i, off_a, xa, ya, off_b, xb, yb);
		}
		ts_image_finish(&shot);
	}
	close(stop[1]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ts_display_disconnect(shooter);
	e2e_image_free(&want[0]);
	e2e_image_free(&want[1]);
	print_message("%d screenshots of A (%zu px), %d of B (%zu px), %d of neither\n",
		seen[0], drawn[0], seen[1], drawn[1], mixed);
	assert_true(started);
	assert_false(failed);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(mixed, 0);
	// Both states showed: the screenshots really were taken while it toggled.
	assert_true(seen[0] > 0 && seen[1] > 0);
}

/* ---- 7. deep trees of crashing clients, and the depth limit ---- */

// tessera-crash with 2000 rects in nested groups (--tree: ten a group, 16 deep) dies
// in @mode; afterwards nothing of it is left: no client, no object, no pixel, no fd.
static void run_tree_crash(void **state, const char *mode, int expect_signal) {
	struct e2e_fixture *f = *state;
	pid_t pid = e2e_crash_start(&f->srv, mode, "2000", true);

	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.clients, 1);
	assert_true(info.objects >= 2000 + 2000 / 10); // the rects and their groups
	assert_non_null(strstr(info.json, "\"name\": \"tessera-crash\""));
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	// 2000 rects of at least 4x4 pixels (a 52x39 grid of 6 px cells).
	assert_true(e2e_count(&img, CRASH_COLOR) >= 2000 * 16);
	e2e_image_free(&img);

	e2e_crash_reap(pid, expect_signal);
	struct ts_display *d = e2e_after_crash(&f->srv, "e2e-after-tree-crash");
	ts_display_disconnect(d);
	e2e_check_as_found(&f->srv, f->fd_baseline, 2000);
}

static void test_tree_crash_segv(void **state) { run_tree_crash(state, "segv", SIGSEGV); }
static void test_tree_crash_abort(void **state) { run_tree_crash(state, "abort", SIGABRT); }
static void test_tree_crash_kill(void **state) { run_tree_crash(state, "kill", SIGKILL); }
static void test_tree_crash_midmsg(void **state) { run_tree_crash(state, "midmsg", SIGKILL); }
static void test_tree_crash_exit(void **state) { run_tree_crash(state, "exit", 0); }

// @count groups in @g (NULL: the root), each inside the one before and 1 px further
// right and down. Returns the deepest.
static struct ts_group *nest(struct ts_display *d, struct ts_group *g, int count) {
	for (int i = 0; i < count; i++) {
		g = group_at(d, g, 1, 1);
	}
	return g;
}

static void test_depth_limit(void **state) {
	struct e2e_fixture *f = *state;
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	long depth = e2e_info_limit(&info, "depth");
	assert_int_equal(depth, 64); // the default; what follows counts on it

	// As deep as the limit allows: a rect in the 63rd nested group is at depth 64.
	struct ts_display *ok = e2e_join(&f->srv, "e2e-deep-ok");
	struct ts_rect *deepest = rect_at(ok, nest(ok, NULL, 63), 0, 0, 10, 10, GREEN);
	e2e_commit(ok);
	expect_pixels(f, (struct probe[]){ { 63, 63, GREEN }, { 72, 72, GREEN },
		{ 62, 62, f->srv.background } }, 3, "at the depth limit");

	// 100 nested groups, a rect in the first: the commit would nest them too deep.
	struct ts_display *d = e2e_join(&f->srv, "e2e-too-deep");
	struct ts_group *first = group_at(d, NULL, 0, 0);
	rect_at(d, first, 200, 100, 10, 10, RED);
	nest(d, first, 99);
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), -1);
	const char *message = NULL;
	assert_int_equal(ts_display_get_protocol_error(d, NULL, &message), TS_ERR_limit_exceeded);
	char expected[64];
	snprintf(expected, sizeof expected, "limit depth=%ld", depth);
	if (strstr(message, "limit depth=") == NULL || strstr(message, expected) == NULL) {
		fail_msg("the error says \"%s\", not \"%s\"", message, expected);
	}
	ts_display_disconnect(d);

	// The server carries on: the deep client's nodes are gone and the first one works.
	assert_true(e2e_wait_totals(&f->srv, 1, 64, 2000, &info));
	assert_int_equal(ts_rect_set_color(deepest, BLUE), 0);
	e2e_commit(ok);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	assert_int_equal(e2e_count(&img, BLUE), 100);
	assert_int_equal(e2e_count(&img, GREEN), 0);
	assert_int_equal(e2e_count(&img, RED), 0); // nothing of the failed commit
	e2e_image_free(&img);
	ts_display_disconnect(ok);
}

int main(void) {
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, e2e_fixture_setup, e2e_fixture_teardown)
	// A server that hangs up on a raw client must fail an assertion, not kill us.
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		TEST(test_rotated_rect),
		TEST(test_clip),
		TEST(test_opacity),
		TEST(test_order_and_layers),
		TEST(test_other_clients_tree),
		TEST(test_one_commit),
		TEST(test_atomic_toggles),
		TEST(test_tree_crash_segv),
		TEST(test_tree_crash_abort),
		TEST(test_tree_crash_kill),
		TEST(test_tree_crash_midmsg),
		TEST(test_tree_crash_exit),
		TEST(test_depth_limit),
	};
	return cmocka_run_group_tests_name("e2e-scene", tests, NULL, NULL);
}
