/*
 * The renderer against the headless backend: real GLES 2 (llvmpipe on machines with no
 * GPU), checked pixel by pixel: scene trees built by tree.c first, then draw lists made
 * by hand (the rect material, clips, layers, damage, batching), then images: textures
 * of the three client formats made, uploaded whole and in part, and drawn; then glyphs:
 * A8 atlas pages drawn as tint * coverage. No EGL is a failure, not a skip: the server
 * needs it.
 */
#define _DEFAULT_SOURCE // MAP_ANONYMOUS
#include <setjmp.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <epoxy/gl.h>

#include "backend.h"
#include "render.h"
#include "tree.h"
#include "leakcheck.h"

#define WIDTH 64
#define HEIGHT 48
#define BACKGROUND 0x203040ffu

static struct backend *backend;
static struct renderer *renderer;

// Each test's tree: one client's root and its nodes; teardown frees it whatever the
// test did.
struct fixture {
	struct tree tree;
	struct tree_root root;
	struct tree_node nodes[8];
	bool made[8];
	uint8_t pixels[WIDTH * HEIGHT * 4];
};

static int setup(void **state) {
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL || !tree_init(&f->tree, BACKGROUND, WIDTH, HEIGHT, 16) ||
			!tree_root_init(&f->tree, &f->root, TREE_LAYER_NORMAL)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fixture *f = *state;
	tree_root_finish(&f->tree, &f->root);
	tree_finish(&f->tree);
	free(f);
	return 0;
}

// A rect of the props given on top of @root's children, made (in @node) if new.
static void put_rect(struct fixture *f, struct tree_root *root, struct tree_node *node,
		bool fresh, const struct tree_props *props) {
	if (fresh) {
		assert_true(tree_node_init(root, node, TREE_RECT));
		assert_int_equal(tree_node_attach(&f->tree, root, node, &root->node, NULL, true),
			TREE_ATTACH_OK);
	}
	assert_true(tree_node_set_props(&f->tree, root, node, props));
}

static struct tree_props rect_props(float x, float y, float w, float h, uint32_t rgba) {
	return (struct tree_props){
		.x = x, .y = y, .width = w, .height = h, .scale_x = 1, .scale_y = 1, .opacity = 1,
		.rgba = rgba, .border_rgba = 0x000000ffu, .flags = TREE_VISIBLE,
	};
}

// Node @i of the fixture: made on top of the others when new, else changed in place.
static void add_rect(struct fixture *f, size_t i, float x, float y, float w, float h,
		uint32_t rgba) {
	struct tree_props p = rect_props(x, y, w, h, rgba);
	put_rect(f, &f->root, &f->nodes[i], !f->made[i], &p);
	f->made[i] = true;
}

static struct render_stats draw(struct fixture *f, const struct draw_list *list);

static uint32_t pixel_at(const uint8_t *pixels, int x, int y) {
	const uint8_t *p = pixels + ((size_t)y * WIDTH + (size_t)x) * 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t capture_pixel(struct fixture *f, int x, int y) {
	return pixel_at(f->pixels, x, y);
}

// Builds the tree's frame, draws it and reads it back into f->pixels.
static void capture(struct fixture *f) {
	assert_true(tree_build(&f->tree));
	draw(f, &f->tree.list);
}

static void assert_all(struct fixture *f, int x0, int y0, int x1, int y1, uint32_t rgba) {
	for (int y = y0; y < y1; y++) {
		for (int x = x0; x < x1; x++) {
			if (capture_pixel(f, x, y) != rgba) {
				fail_msg("pixel (%d, %d) is %08x, expected %08x", x, y,
					capture_pixel(f, x, y), rgba);
			}
		}
	}
}

static void test_background(void **state) {
	struct fixture *f = *state;
	capture(f);
	assert_all(f, 0, 0, WIDTH, HEIGHT, BACKGROUND);
}

static void test_rect(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 10, 5, 20, 8, 0xff8000ffu);
	capture(f);
	// Inside, exactly up to the edges, and nothing one pixel beyond them.
	assert_all(f, 10, 5, 30, 13, 0xff8000ffu);
	assert_all(f, 0, 0, WIDTH, 5, BACKGROUND);
	assert_all(f, 0, 13, WIDTH, HEIGHT, BACKGROUND);
	assert_all(f, 0, 5, 10, 13, BACKGROUND);
	assert_all(f, 30, 5, WIDTH, 13, BACKGROUND);
}

static void test_sibling_order(void **state) {
	struct fixture *f = *state;
	// The later sibling is drawn over the earlier one.
	add_rect(f, 0, 0, 0, 20, 20, 0xff0000ffu);
	add_rect(f, 1, 10, 10, 20, 20, 0x00ff00ffu);
	add_rect(f, 2, 40, 0, 10, 10, 0x0000ffffu);
	add_rect(f, 3, 45, 5, 10, 10, 0xffff00ffu);
	capture(f);
	assert_int_equal(capture_pixel(f, 15, 15), 0x00ff00ffu);
	assert_int_equal(capture_pixel(f, 5, 5), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 25, 25), 0x00ff00ffu);
	assert_int_equal(capture_pixel(f, 47, 7), 0xffff00ffu);
	assert_int_equal(capture_pixel(f, 42, 2), 0x0000ffffu);
	// Restacked on top, the red one covers the overlap; the damage redraws it.
	assert_int_equal(tree_node_attach(&f->tree, &f->root, &f->nodes[0], &f->root.node,
		NULL, true), TREE_ATTACH_OK);
	capture(f);
	assert_int_equal(capture_pixel(f, 15, 15), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 25, 25), 0x00ff00ffu);
	assert_int_equal(capture_pixel(f, 47, 7), 0xffff00ffu);
}

static void test_invisible(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 0, 0, 32, 32, 0xffffffffu);
	struct tree_props p = rect_props(0, 0, 32, 32, 0xffffffffu);
	p.flags = 0; // hidden
	put_rect(f, &f->root, &f->nodes[0], false, &p);
	add_rect(f, 1, 40, 0, 8, 8, 0xffffff00u); // alpha 0
	add_rect(f, 2, 50, 0, 0, 8, 0xffffffffu); // empty
	capture(f);
	assert_all(f, 0, 0, WIDTH, HEIGHT, BACKGROUND);
}

static uint8_t blend(uint8_t src, uint8_t alpha, uint8_t dst) {
	double a = alpha / 255.0;
	return (uint8_t)(src * a + dst * (1.0 - a) + 0.5);
}

static void assert_near(uint32_t got, uint32_t want, int tolerance) {
	for (int shift = 0; shift < 32; shift += 8) {
		int g = (int)(got >> shift & 0xff), w = (int)(want >> shift & 0xff);
		if (abs(g - w) > tolerance) {
			fail_msg("got %08x, expected %08x within %d per channel", got, want,
				tolerance);
		}
	}
}

static void test_alpha_blend(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 8, 8, 16, 16, 0xffffffffu);
	add_rect(f, 1, 16, 16, 16, 16, 0xff000080u); // red at 50%, straight alpha
	capture(f);
	// Over the background and over white: source-over with straight alpha as reference.
	uint32_t over_bg = (uint32_t)blend(0xff, 0x80, 0x20) << 24
		| (uint32_t)blend(0x00, 0x80, 0x30) << 16
		| (uint32_t)blend(0x00, 0x80, 0x40) << 8 | 0xff;
	uint32_t over_white = (uint32_t)blend(0xff, 0x80, 0xff) << 24
		| (uint32_t)blend(0x00, 0x80, 0xff) << 16
		| (uint32_t)blend(0x00, 0x80, 0xff) << 8 | 0xff;
	assert_near(capture_pixel(f, 28, 28), over_bg, 2);
	assert_near(capture_pixel(f, 20, 20), over_white, 2);
	assert_int_equal(capture_pixel(f, 10, 10), 0xffffffffu);
	assert_int_equal(capture_pixel(f, 33, 33), BACKGROUND);
}

static void test_clipped_at_edges(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, -10, -10, 15, 15, 0xff0000ffu);      // top-left corner
	add_rect(f, 1, WIDTH - 4, HEIGHT - 3, 100, 100, 0x00ff00ffu); // bottom-right
	add_rect(f, 2, -1000, 20, 2000, 2, 0x0000ffffu);    // wider than the screen
	add_rect(f, 3, WIDTH, 0, 10, 10, 0xffffffffu);      // wholly off screen
	add_rect(f, 4, 32767, 32767, 16384, 16384, 0xffffffffu); // the protocol's farthest
	capture(f);
	assert_all(f, 0, 0, 5, 5, 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 5, 5), BACKGROUND);
	assert_all(f, WIDTH - 4, HEIGHT - 3, WIDTH, HEIGHT, 0x00ff00ffu);
	assert_int_equal(capture_pixel(f, WIDTH - 5, HEIGHT - 1), BACKGROUND);
	assert_all(f, 0, 20, WIDTH, 22, 0x0000ffffu);
	assert_all(f, 0, 22, WIDTH, 23, BACKGROUND);
	assert_all(f, WIDTH - 10, 0, WIDTH, 10, BACKGROUND);
}

static void test_many_rects(void **state) {
	struct fixture *f = *state;
	// More rects than the first batch allocation holds: the batch must grow.
	enum { N = WIDTH * HEIGHT / 4 };
	struct tree_node *nodes = calloc(N, sizeof *nodes);
	assert_non_null(nodes);
	for (int i = 0; i < N; i++) {
		struct tree_props p = rect_props((float)(i % (WIDTH / 2) * 2),
			(float)(i / (WIDTH / 2) * 2), 1, 1, (uint32_t)i << 8 | 0xff);
		put_rect(f, &f->root, &nodes[i], true, &p);
	}
	capture(f);
	for (int i = 0; i < N; i++) {
		int x = (i % (WIDTH / 2)) * 2, y = (i / (WIDTH / 2)) * 2;
		assert_int_equal(capture_pixel(f, x, y), (uint32_t)i << 8 | 0xff);
		assert_int_equal(capture_pixel(f, x + 1, y), BACKGROUND);
		assert_int_equal(capture_pixel(f, x, y + 1), BACKGROUND);
	}
	for (int i = 0; i < N; i++) {
		tree_node_detach(&f->tree, &f->root, &nodes[i]);
		tree_node_finish(&f->root, &nodes[i]);
	}
	// Fewer rects than last frame: nothing of the previous batch may linger.
	add_rect(f, 0, 0, 0, 2, 2, 0xffffffffu);
	capture(f);
	assert_all(f, 0, 0, 2, 2, 0xffffffffu);
	assert_all(f, 2, 0, WIDTH, HEIGHT, BACKGROUND);
	free(nodes);
}

// A whole root going (a client killed): its nodes' memory is freed before the next
// frame, which shows what is left and reads none of them (AddressSanitizer would say).
static void test_root_gone(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 0, 0, 8, 8, 0xff0000ffu);
	struct tree_root *other = calloc(1, sizeof *other);
	assert_non_null(other);
	assert_true(tree_root_init(&f->tree, other, TREE_LAYER_NORMAL));
	enum { N = 100 };
	struct tree_node *nodes = calloc(N, sizeof *nodes);
	assert_non_null(nodes);
	for (int i = 0; i < N; i++) {
		struct tree_props p = rect_props((float)(i % 10 * 4 + 4), (float)(i / 10 * 4), 4,
			4, 0x00ff00ffu);
		put_rect(f, other, &nodes[i], true, &p);
	}
	capture(f);
	assert_int_equal(capture_pixel(f, 2, 2), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 20, 20), 0x00ff00ffu);
	tree_root_finish(&f->tree, other);
	assert_true(tree_changed(&f->tree));
	memset(nodes, 0xee, N * sizeof *nodes);
	free(nodes);
	free(other);
	capture(f);
	assert_all(f, 0, 0, 8, 8, 0xff0000ffu);
	assert_all(f, 8, 0, WIDTH, HEIGHT, BACKGROUND);
	assert_all(f, 0, 8, 8, HEIGHT, BACKGROUND);
}

// epoxy calls GL through public function pointers, so a test can count draw calls.
static PFNGLDRAWARRAYSPROC real_draw_arrays;
static PFNGLDRAWELEMENTSPROC real_draw_elements;
static int draw_calls;
static GLsizei drawn_vertices; // vertices of glDrawArrays, indices of glDrawElements

static void GLAPIENTRY counting_draw_arrays(GLenum mode, GLint first, GLsizei count) {
	draw_calls++;
	drawn_vertices += count;
	real_draw_arrays(mode, first, count);
}

static void GLAPIENTRY counting_draw_elements(GLenum mode, GLsizei count, GLenum type,
		const void *indices) {
	draw_calls++;
	drawn_vertices += count;
	real_draw_elements(mode, count, type, indices);
}

// Call once GL has resolved both (after a first frame), so the real ones are wrapped.
static void count_draws(void) {
	real_draw_arrays = epoxy_glDrawArrays;
	real_draw_elements = epoxy_glDrawElements;
	epoxy_glDrawArrays = counting_draw_arrays;
	epoxy_glDrawElements = counting_draw_elements;
	draw_calls = 0;
	drawn_vertices = 0;
}

static void stop_counting(void) {
	epoxy_glDrawArrays = real_draw_arrays;
	epoxy_glDrawElements = real_draw_elements;
}

static void test_one_draw_call(void **state) {
	struct fixture *f = *state;
	// Different colours, overlaps, a hidden one and one off screen: still one batch.
	add_rect(f, 0, 0, 0, 10, 10, 0xff0000ffu);
	add_rect(f, 1, 5, 5, 10, 10, 0x00ff0080u);
	add_rect(f, 2, 20, 5, 10, 10, 0x0000ffffu);
	add_rect(f, 3, 40, 5, 10, 10, 0xffffffffu);
	add_rect(f, 4, 100, 100, 10, 10, 0xffffffffu); // off screen: left out
	struct tree_props p = rect_props(40, 5, 10, 10, 0xffffffffu);
	p.flags = 0;
	put_rect(f, &f->root, &f->nodes[3], false, &p);
	capture(f); // resolves epoxy's pointers, so the real ones are what we wrap

	add_rect(f, 0, 0, 0, 10, 10, 0xff0000feu); // something to draw again: all of it
	f->tree.full_damage = true;
	assert_true(tree_build(&f->tree));
	count_draws();
	struct render_stats stats = draw(f, &f->tree.list);
	stop_counting();
	assert_int_equal(draw_calls, 1);
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(drawn_vertices, 3 * 6); // two triangles a rect
	assert_int_equal(capture_pixel(f, 25, 10), 0x0000ffffu);
	assert_int_equal(capture_pixel(f, 45, 10), BACKGROUND);
}

// ---- Draw lists (draw-list.h) drawn into the backend's frame ----

#define LIST_ITEMS 16
#define LIST_CLIPS 8

struct test_list {
	struct draw_list dl;
	struct draw_item items[LIST_ITEMS];
	struct draw_clip clips[LIST_CLIPS];
	struct draw_box damage[8];
};

static void test_list_init(struct test_list *l) {
	memset(l, 0, sizeof *l);
	l->dl.items = l->items;
	l->dl.cap = LIST_ITEMS;
	l->dl.clips = l->clips;
	l->dl.clip_cap = LIST_CLIPS;
	l->dl.damage = l->damage;
	l->dl.damage_cap = 8;
	l->dl.full = true;
	l->dl.background = BACKGROUND;
}

static struct affine translate(float x, float y) {
	return (struct affine){ 1, 0, 0, 1, x, y };
}

// Turned by @degrees about the centre of a @w x @h rect placed centred on (cx, cy).
static struct affine turned(float degrees, float cx, float cy, float w, float h) {
	const double t = degrees * 3.14159265358979323846 / 180.0;
	const float a = (float)cos(t), b = (float)sin(t);
	return (struct affine){
		a, b, -b, a, cx - (a * w / 2 - b * h / 2), cy - (b * w / 2 + a * h / 2),
	};
}

// The whole pixels holding the transformed (0, 0)-(w, h), inside the output.
static struct draw_box quad_box(struct affine m, float w, float h) {
	const float xs[4] = { m.e, m.e + m.a * w, m.e + m.c * h, m.e + m.a * w + m.c * h };
	const float ys[4] = { m.f, m.f + m.b * w, m.f + m.d * h, m.f + m.b * w + m.d * h };
	float x0 = xs[0], x1 = xs[0], y0 = ys[0], y1 = ys[0];
	for (int i = 1; i < 4; i++) {
		x0 = fminf(x0, xs[i]), x1 = fmaxf(x1, xs[i]);
		y0 = fminf(y0, ys[i]), y1 = fmaxf(y1, ys[i]);
	}
	struct draw_box box = {
		(int32_t)floorf(x0), (int32_t)floorf(y0), (int32_t)ceilf(x1), (int32_t)ceilf(y1),
	};
	box.x0 = box.x0 < 0 ? 0 : box.x0;
	box.y0 = box.y0 < 0 ? 0 : box.y0;
	box.x1 = box.x1 > WIDTH ? WIDTH : box.x1;
	box.y1 = box.y1 > HEIGHT ? HEIGHT : box.y1;
	return box;
}

static struct draw_box meet(struct draw_box a, struct draw_box b) {
	return (struct draw_box){
		a.x0 > b.x0 ? a.x0 : b.x0, a.y0 > b.y0 ? a.y0 : b.y0,
		a.x1 < b.x1 ? a.x1 : b.x1, a.y1 < b.y1 ? a.y1 : b.y1,
	};
}

static uint32_t add_clip(struct test_list *l, struct affine world, float w, float h,
		uint32_t parent) {
	assert_true(l->dl.clip_len < LIST_CLIPS);
	uint32_t index = (uint32_t)l->dl.clip_len++;
	struct draw_clip *c = &l->clips[index];
	c->world = world;
	c->width = w;
	c->height = h;
	c->box = quad_box(world, w, h);
	c->parent = parent;
	c->depth = 1;
	c->axis_aligned = world.b == 0 && world.c == 0;
	if (parent != DRAW_NO_CLIP) {
		c->box = meet(c->box, l->clips[parent].box);
		c->depth = (uint16_t)(l->clips[parent].depth + 1);
		c->axis_aligned = c->axis_aligned && l->clips[parent].axis_aligned;
	}
	return index;
}

static struct draw_item *add_item(struct test_list *l, uint8_t kind, uint32_t clip) {
	assert_true(l->dl.len < LIST_ITEMS);
	struct draw_item *item = &l->items[l->dl.len++];
	memset(item, 0, sizeof *item);
	item->kind = kind;
	item->clip = clip;
	item->bounds = (struct draw_box){ 0, 0, WIDTH, HEIGHT };
	if (clip != DRAW_NO_CLIP) {
		item->bounds = l->clips[clip].box;
	}
	return item;
}

static struct draw_item *add_shape(struct test_list *l, struct affine world, float w, float h,
		uint32_t fill, uint32_t clip) {
	struct draw_item *item = add_item(l, DRAW_RECT, clip);
	item->bounds = meet(item->bounds, quad_box(world, w, h));
	item->rect.world = world;
	item->rect.width = w;
	item->rect.height = h;
	item->rect.fill = fill;
	return item;
}

static void add_layer(struct test_list *l, float opacity, struct draw_box bounds) {
	struct draw_item *item = add_item(l, DRAW_LAYER_BEGIN, DRAW_NO_CLIP);
	item->bounds = bounds;
	item->layer.opacity = opacity;
}

static void end_layer(struct test_list *l) {
	add_item(l, DRAW_LAYER_END, DRAW_NO_CLIP);
}

// Draws @list as a frame of the backend and reads back what it shows into f->pixels.
static struct render_stats draw(struct fixture *f, const struct draw_list *list) {
	struct render_stats stats;
	memset(&stats, 0xff, sizeof stats); // every field must be set
	assert_true(backend->impl->begin_frame(backend));
	assert_true(renderer_draw_list(renderer, list, WIDTH, HEIGHT, &stats));
	assert_true(backend->impl->end_frame(backend));
	memset(f->pixels, 0xa5, sizeof f->pixels);
	assert_true(renderer_read_frame(renderer, WIDTH, HEIGHT, f->pixels));
	return stats;
}

// Where the centre of pixel (x, y) is against the quad @m (0, 0)-(w, h): its distance
// in screen pixels to the quad's outline, positive inside. @m must be a rotation.
static double inside_by(struct affine m, float w, float h, int x, int y) {
	const double dx = x + 0.5 - m.e, dy = y + 0.5 - m.f;
	const double lx = m.a * dx + m.b * dy, ly = m.c * dx + m.d * dy; // the inverse
	const double in = fmin(fmin(lx, w - lx), fmin(ly, h - ly));
	if (in >= 0) {
		return in;
	}
	const double ox = fmax(fmax(-lx, lx - w), 0), oy = fmax(fmax(-ly, ly - h), 0);
	return -sqrt(ox * ox + oy * oy);
}

// Pixels whose centre is this close to an edge may go either way: rasterisers snap
// vertices to a sub-pixel grid (llvmpipe: 1/256 px) and round the corners of the
// quad through float on the way.
#define EDGE_TOLERANCE 0.01

// Every pixel is @in where @inside says its centre is, else @out (unless @out is
// ANY); returns how many were checked inside.
#define ANY 0x00000001u
static int assert_region(struct fixture *f, double (*inside)(int x, int y), uint32_t in,
		uint32_t out) {
	int checked_in = 0;
	for (int y = 0; y < HEIGHT; y++) {
		for (int x = 0; x < WIDTH; x++) {
			double d = inside(x, y);
			if (fabs(d) < EDGE_TOLERANCE) {
				continue;
			}
			uint32_t want = d > 0 ? in : out;
			checked_in += d > 0;
			if (want == ANY) {
				continue;
			}
			if (pixel_at(f->pixels, x, y) != want) {
				fail_msg("pixel (%d, %d), %.3f px %s, is %08x, expected %08x", x, y,
					fabs(d), d > 0 ? "inside" : "outside", pixel_at(f->pixels, x, y),
					want);
			}
		}
	}
	return checked_in;
}

static struct affine rotated_rect;

static double in_rotated_rect(int x, int y) {
	return inside_by(rotated_rect, 30, 14, x, y);
}

static void test_rotated_rect(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	rotated_rect = turned(30, 32, 24, 30, 14);
	add_shape(&l, rotated_rect, 30, 14, 0xff8000ffu, DRAW_NO_CLIP);
	struct render_stats stats = draw(f, &l.dl);
	// About 30 * 14 pixels inside, every one the fill, and none outside.
	assert_in_range(assert_region(f, in_rotated_rect, 0xff8000ffu, BACKGROUND), 380, 420);
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(stats.nodes_drawn, 1);
	assert_int_equal(stats.damaged_pixels, WIDTH * HEIGHT);
	assert_int_equal(stats.offscreen_passes, 0);
	assert_true(stats.frame_ms >= 0);
}

static void test_rounded_corners(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	struct draw_item *item = add_shape(&l, translate(8, 8), 32, 24, 0xffffffffu,
		DRAW_NO_CLIP);
	item->rect.radius = 8;
	draw(f, &l.dl);
	// The corner pixels are the background, the centre and the straight edges the fill.
	assert_int_equal(pixel_at(f->pixels, 8, 8), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 39, 8), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 8, 31), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 39, 31), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 24, 20), 0xffffffffu);
	for (int x = 16; x < 32; x++) { // between the corners: exact up to the edge
		assert_int_equal(pixel_at(f->pixels, x, 8), 0xffffffffu);
		assert_int_equal(pixel_at(f->pixels, x, 31), 0xffffffffu);
		assert_int_equal(pixel_at(f->pixels, x, 7), BACKGROUND);
		assert_int_equal(pixel_at(f->pixels, x, 32), BACKGROUND);
	}
	for (int y = 16; y < 24; y++) {
		assert_int_equal(pixel_at(f->pixels, 8, y), 0xffffffffu);
		assert_int_equal(pixel_at(f->pixels, 39, y), 0xffffffffu);
		assert_int_equal(pixel_at(f->pixels, 7, y), BACKGROUND);
		assert_int_equal(pixel_at(f->pixels, 40, y), BACKGROUND);
	}
	// On the curve, about 0.7 of the pixel is covered (8.5 - |(5.5, 5.5)|): a blend.
	uint32_t edge = pixel_at(f->pixels, 10, 10);
	uint8_t red = (uint8_t)(edge >> 24);
	assert_in_range(red, blend(0xff, 0xb0, 0x20) - 8, blend(0xff, 0xb0, 0x20) + 8);
}

static void test_border(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	struct draw_item *item = add_shape(&l, translate(10, 10), 20, 16, 0xff0000ffu,
		DRAW_NO_CLIP);
	item->rect.border = 2;
	item->rect.border_rgba = 0x0000ffffu;
	struct draw_item *round = add_shape(&l, translate(40, 10), 20, 20, 0xff0000ffu,
		DRAW_NO_CLIP);
	round->rect.border = 2;
	round->rect.radius = 6;
	round->rect.border_rgba = 0x0000ffffu;
	struct render_stats stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 1); // bordered, rounded or not: one program
	// Square: two pixels of border all round, exactly, and the fill inside.
	for (int y = 10; y < 26; y++) {
		for (int x = 10; x < 30; x++) {
			bool in_border = x < 12 || x >= 28 || y < 12 || y >= 24;
			uint32_t want = in_border ? 0x0000ffffu : 0xff0000ffu;
			if (pixel_at(f->pixels, x, y) != want) {
				fail_msg("pixel (%d, %d) is %08x, expected %08x", x, y,
					pixel_at(f->pixels, x, y), want);
			}
		}
	}
	assert_int_equal(pixel_at(f->pixels, 9, 15), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 30, 15), BACKGROUND);
	// Rounded: the corner is the background, the edges' middles border, inside fill.
	assert_int_equal(pixel_at(f->pixels, 40, 10), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 40, 20), 0x0000ffffu);
	assert_int_equal(pixel_at(f->pixels, 41, 20), 0x0000ffffu);
	assert_int_equal(pixel_at(f->pixels, 42, 20), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 50, 10), 0x0000ffffu);
	assert_int_equal(pixel_at(f->pixels, 50, 12), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 50, 20), 0xff0000ffu);
}

static void test_scissor_clip(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	uint32_t clip = add_clip(&l, translate(16, 8), 24, 22, DRAW_NO_CLIP);
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0x00ff00ffu, clip);
	struct render_stats stats = draw(f, &l.dl);
	for (int y = 0; y < HEIGHT; y++) {
		for (int x = 0; x < WIDTH; x++) {
			bool in = x >= 16 && x < 40 && y >= 8 && y < 30;
			assert_int_equal(pixel_at(f->pixels, x, y), in ? 0x00ff00ffu : BACKGROUND);
		}
	}
	assert_int_equal(stats.draw_calls, 1); // a scissor, no stencil
	assert_int_equal(stats.nodes_drawn, 1);
}

static struct affine clip_a, clip_b;

static double in_clip_a(int x, int y) {
	return inside_by(clip_a, 40, 24, x, y);
}

static void test_stencil_clip(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	clip_a = turned(30, 32, 24, 40, 24);
	uint32_t clip = add_clip(&l, clip_a, 40, 24, DRAW_NO_CLIP);
	assert_false(l.clips[clip].axis_aligned);
	// A child far larger than the clip: only the rotated quad of the clip shows it.
	add_shape(&l, translate(-10, -10), 100, 100, 0x00ff00ffu, clip);
	struct render_stats stats = draw(f, &l.dl);
	assert_in_range(assert_region(f, in_clip_a, 0x00ff00ffu, BACKGROUND), 900, 1020);
	assert_int_equal(stats.draw_calls, 2); // the stencil write and the child
	assert_int_equal(stats.nodes_drawn, 1);
}

static double in_both(int x, int y) {
	double a = inside_by(clip_a, 40, 24, x, y), b = inside_by(clip_b, 30, 30, x, y);
	return fmin(a, b);
}

static double in_a_only(int x, int y) {
	double a = inside_by(clip_a, 40, 24, x, y), b = inside_by(clip_b, 30, 30, x, y);
	return fmin(a, -b);
}

static void test_nested_clips(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	clip_a = turned(30, 32, 24, 40, 24);
	clip_b = turned(-20, 40, 20, 30, 30);
	uint32_t a = add_clip(&l, clip_a, 40, 24, DRAW_NO_CLIP);
	uint32_t b = add_clip(&l, clip_b, 30, 30, a);
	assert_int_equal(l.clips[b].depth, 2);
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0xff0000ffu, a);
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0x00ff00ffu, b);
	// Back under a: its stencil was overwritten by b's chain, so it is written again.
	add_shape(&l, translate(0, 0), 4, 4, 0x0000ffffu, a);
	struct render_stats stats = draw(f, &l.dl);
	// Inside both: the child of b; inside a only: a's child; elsewhere nothing.
	assert_true(assert_region(f, in_both, 0x00ff00ffu, ANY) > 100);
	assert_true(assert_region(f, in_a_only, 0xff0000ffu, ANY) > 100);
	for (int y = 0; y < HEIGHT; y++) {
		for (int x = 0; x < WIDTH; x++) {
			if (in_clip_a(x, y) < -EDGE_TOLERANCE) {
				assert_int_equal(pixel_at(f->pixels, x, y), BACKGROUND);
			}
		}
	}
	// Stencil a, child; stencil a and b (one call for the chain), child; stencil a,
	// child.
	assert_int_equal(stats.draw_calls, 6);
	assert_int_equal(stats.nodes_drawn, 3);
}

static void test_stencil_kept(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	clip_a = turned(30, 32, 24, 40, 24);
	uint32_t a = add_clip(&l, clip_a, 40, 24, DRAW_NO_CLIP);
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0xff0000ffu, a);
	add_shape(&l, translate(0, 0), 4, 4, 0xffffffffu, DRAW_NO_CLIP);
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0x00ff00ffu, a);
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0x0000ffffu, a);
	struct render_stats stats = draw(f, &l.dl);
	assert_true(assert_region(f, in_clip_a, 0x0000ffffu, ANY) > 900);
	assert_int_equal(pixel_at(f->pixels, 1, 1), 0xffffffffu);
	assert_int_equal(pixel_at(f->pixels, 5, 5), BACKGROUND);
	// The stencil still holds a's chain after the unclipped rect: written once; the
	// last two share a draw call.
	assert_int_equal(stats.draw_calls, 1 + 3);
	assert_int_equal(stats.nodes_drawn, 4);
}

static uint32_t over(uint32_t src, uint32_t dst) {
	// Premultiplied source-over, channel by channel, rounded.
	uint32_t out = 0, a = src & 0xff;
	for (int shift = 0; shift < 32; shift += 8) {
		double v = (src >> shift & 0xff) + (dst >> shift & 0xff) * (1.0 - a / 255.0);
		out |= (uint32_t)(v + 0.5) << shift;
	}
	return out;
}

static uint32_t scale(uint32_t rgba, double k) {
	uint32_t out = 0;
	for (int shift = 0; shift < 32; shift += 8) {
		out |= (uint32_t)((rgba >> shift & 0xff) * k + 0.5) << shift;
	}
	return out;
}

static void test_layer_opacity(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	// Left: a group of two overlapping opaque rects at half group opacity. Right: the
	// same rects with half opacity each, multiplied in.
	add_layer(&l, 0.5f, (struct draw_box){ 2, 4, 26, 28 });
	add_shape(&l, translate(2, 4), 16, 16, 0xff0000ffu, DRAW_NO_CLIP);
	add_shape(&l, translate(10, 12), 16, 16, 0x0000ffffu, DRAW_NO_CLIP);
	end_layer(&l);
	add_shape(&l, translate(34, 4), 16, 16, scale(0xff0000ffu, 0.5), DRAW_NO_CLIP);
	add_shape(&l, translate(42, 12), 16, 16, scale(0x0000ffffu, 0.5), DRAW_NO_CLIP);
	struct render_stats stats = draw(f, &l.dl);

	const uint32_t red = 0xff0000ffu, blue = 0x0000ffffu;
	// The group: the overlap is the blue on top alone, then half of it over the screen.
	uint32_t group_overlap = over(scale(blue, 0.5), BACKGROUND);
	uint32_t group_red = over(scale(red, 0.5), BACKGROUND);
	// Each at half: the overlap shows the red under the blue.
	uint32_t each_overlap = over(scale(blue, 0.5), over(scale(red, 0.5), BACKGROUND));
	assert_int_not_equal(group_overlap, each_overlap);
	assert_near(pixel_at(f->pixels, 14, 16), group_overlap, 1);
	assert_near(pixel_at(f->pixels, 4, 6), group_red, 1);
	assert_near(pixel_at(f->pixels, 24, 26), group_overlap, 1); // blue alone: the same
	assert_near(pixel_at(f->pixels, 46, 16), each_overlap, 1);
	assert_near(pixel_at(f->pixels, 36, 6), group_red, 1);
	assert_int_equal(pixel_at(f->pixels, 1, 4), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 26, 27), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 2, 20), BACKGROUND); // in the layer's box only
	// The layer's rects, its composite, the multiplied rects.
	assert_int_equal(stats.offscreen_passes, 1);
	assert_int_equal(stats.draw_calls, 3);
	assert_int_equal(stats.nodes_drawn, 4);
}

static void test_nested_layers(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	add_layer(&l, 0.5f, (struct draw_box){ 0, 0, 32, 32 });
	add_shape(&l, translate(0, 0), 32, 32, 0xff0000ffu, DRAW_NO_CLIP);
	add_layer(&l, 0.5f, (struct draw_box){ 8, 8, 24, 24 });
	add_shape(&l, translate(8, 8), 16, 16, 0xffffffffu, DRAW_NO_CLIP);
	end_layer(&l);
	end_layer(&l);
	// Opaque and empty layers cost no offscreen pass.
	add_layer(&l, 1.0f, (struct draw_box){ 40, 0, 48, 8 });
	add_shape(&l, translate(40, 0), 8, 8, 0x00ff00ffu, DRAW_NO_CLIP);
	end_layer(&l);
	add_layer(&l, 0.0f, (struct draw_box){ 50, 0, 58, 8 });
	add_shape(&l, translate(50, 0), 8, 8, 0x00ff00ffu, DRAW_NO_CLIP);
	end_layer(&l);
	struct render_stats stats = draw(f, &l.dl);
	uint32_t inner = over(scale(0xffffffffu, 0.5), 0xff0000ffu);
	assert_near(pixel_at(f->pixels, 16, 16), over(scale(inner, 0.5), BACKGROUND), 2);
	assert_near(pixel_at(f->pixels, 2, 2), over(scale(0xff0000ffu, 0.5), BACKGROUND), 1);
	assert_int_equal(pixel_at(f->pixels, 44, 4), 0x00ff00ffu);
	assert_int_equal(pixel_at(f->pixels, 54, 4), BACKGROUND);
	assert_int_equal(stats.offscreen_passes, 2);
	// Outer rect, inner rect, inner composite, outer composite, the opaque layer's rect.
	assert_int_equal(stats.draw_calls, 5);
	assert_int_equal(stats.nodes_drawn, 3);
}

static void test_layer_clipped(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	// A rotated clip around a half-opaque group: the composite is cut by the stencil.
	clip_a = turned(30, 32, 24, 40, 24);
	uint32_t a = add_clip(&l, clip_a, 40, 24, DRAW_NO_CLIP);
	struct draw_item *layer = add_item(&l, DRAW_LAYER_BEGIN, a);
	layer->layer.opacity = 0.5f;
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0xffffffffu, a);
	end_layer(&l);
	struct render_stats stats = draw(f, &l.dl);
	assert_true(assert_region(f, in_clip_a, over(scale(0xffffffffu, 0.5), BACKGROUND),
		BACKGROUND) > 900);
	assert_int_equal(stats.offscreen_passes, 1);
	// Stencil and rect in the layer, stencil and composite on the screen.
	assert_int_equal(stats.draw_calls, 4);
}

static void test_damage(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	add_shape(&l, translate(0, 0), 32, 24, 0xff0000ffu, DRAW_NO_CLIP);
	add_shape(&l, translate(32, 24), 32, 24, 0x00ff00ffu, DRAW_NO_CLIP);
	struct render_stats stats = draw(f, &l.dl);
	assert_int_equal(stats.damaged_pixels, WIDTH * HEIGHT);

	// The red rect turns blue and a white one appears outside the damage, which holds
	// only part of the change: outside it the old frame stays.
	l.items[0].rect.fill = 0x0000ffffu;
	add_shape(&l, translate(50, 2), 8, 8, 0xffffffffu, DRAW_NO_CLIP);
	l.dl.full = false;
	l.damage[0] = (struct draw_box){ 8, 8, 40, 32 };
	l.dl.damage_len = 1;
	stats = draw(f, &l.dl);
	for (int y = 0; y < HEIGHT; y++) {
		for (int x = 0; x < WIDTH; x++) {
			bool damaged = x >= 8 && x < 40 && y >= 8 && y < 32;
			uint32_t want = BACKGROUND;
			if (x < 32 && y < 24) {
				want = damaged ? 0x0000ffffu : 0xff0000ffu;
			} else if (x >= 32 && y >= 24) {
				want = 0x00ff00ffu;
			}
			if (pixel_at(f->pixels, x, y) != want) {
				fail_msg("pixel (%d, %d) is %08x, expected %08x", x, y,
					pixel_at(f->pixels, x, y), want);
			}
		}
	}
	assert_int_equal(stats.damaged_pixels, 32 * 24);
	assert_int_equal(stats.nodes_drawn, 2); // the white rect misses the damage
	assert_int_equal(stats.draw_calls, 1);

	// Overlapping boxes: a half-transparent rect over both is blended once everywhere.
	l.dl.len = 0;
	add_shape(&l, translate(0, 0), WIDTH, HEIGHT, 0x80808080u, DRAW_NO_CLIP);
	l.damage[0] = (struct draw_box){ 8, 8, 24, 24 };
	l.damage[1] = (struct draw_box){ 16, 16, 40, 32 };
	l.damage[2] = (struct draw_box){ 60, 40, 100, 100 }; // cut to the output
	l.dl.damage_len = 3;
	stats = draw(f, &l.dl);
	uint32_t once = over(0x80808080u, BACKGROUND);
	assert_near(pixel_at(f->pixels, 20, 20), once, 1);
	assert_near(pixel_at(f->pixels, 10, 10), once, 1);
	assert_near(pixel_at(f->pixels, 30, 30), once, 1);
	assert_near(pixel_at(f->pixels, 62, 46), once, 1);
	assert_int_equal(pixel_at(f->pixels, 4, 4), 0xff0000ffu); // still the first frame's
	assert_int_equal(pixel_at(f->pixels, 50, 40), 0x00ff00ffu);
	assert_int_equal(stats.damaged_pixels, 16 * 16 + 24 * 16 - 8 * 8 + 4 * 8);
	assert_int_equal(stats.nodes_drawn, 1);
	assert_int_equal(stats.draw_calls, 3); // one per box

	// No damage at all: nothing drawn, nothing changed.
	l.dl.damage_len = 0;
	stats = draw(f, &l.dl);
	assert_int_equal(stats.damaged_pixels, 0);
	assert_int_equal(stats.draw_calls, 0);
	assert_int_equal(pixel_at(f->pixels, 4, 4), 0xff0000ffu);
}

static void test_damage_after_capture(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	add_shape(&l, translate(0, 0), 32, 24, 0xff0000ffu, DRAW_NO_CLIP);
	draw(f, &l.dl);
	// A screenshot in between reads the frame back; the screen keeps its own last frame.
	assert_true(renderer_read_frame(renderer, WIDTH, HEIGHT, f->pixels));
	l.items[0].rect.fill = 0x0000ffffu;
	l.dl.full = false;
	l.damage[0] = (struct draw_box){ 0, 0, 8, 8 };
	l.dl.damage_len = 1;
	struct render_stats stats = draw(f, &l.dl);
	assert_int_equal(stats.damaged_pixels, 64);
	assert_int_equal(pixel_at(f->pixels, 4, 4), 0x0000ffffu);
	assert_int_equal(pixel_at(f->pixels, 20, 20), 0xff0000ffu);
}

// The window's path: with the default framebuffer bound (which a surfaceless context
// does not have, so the copy to it goes nowhere), frames go through the canvas, which
// keeps what is outside the damage.
static void test_canvas(void **state) {
	struct fixture *f = *state;
	struct test_list l;
	test_list_init(&l);
	add_shape(&l, translate(0, 0), 32, 24, 0xff0000ffu, DRAW_NO_CLIP);
	struct render_stats stats;
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	assert_true(renderer_draw_list(renderer, &l.dl, WIDTH, HEIGHT, &stats));
	assert_int_equal(stats.draw_calls, 2); // the rect, the copy
	l.items[0].rect.fill = 0x0000ffffu;
	l.dl.full = false;
	l.damage[0] = (struct draw_box){ 0, 0, 8, 8 };
	l.dl.damage_len = 1;
	assert_true(renderer_draw_list(renderer, &l.dl, WIDTH, HEIGHT, &stats));
	assert_int_equal(stats.damaged_pixels, 64);
	GLint fbo = -1;
	glGetIntegerv(GL_FRAMEBUFFER_BINDING, &fbo);
	assert_int_equal(fbo, 0);
	while (glGetError() != GL_NO_ERROR) {
		// drawing into the missing default framebuffer
	}
	assert_true(renderer_read_frame(renderer, WIDTH, HEIGHT, f->pixels));
	assert_int_equal(pixel_at(f->pixels, 4, 4), 0x0000ffffu);
	assert_int_equal(pixel_at(f->pixels, 20, 20), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 40, 40), BACKGROUND);
	assert_false(renderer_read_frame(renderer, 8, 8, f->pixels)); // not that frame's size
}

// Interleaved solid and rounded rects are one program, so one draw call per 16384 of
// them (65536 vertices, the reach of 16-bit indices).
static void test_batching(void **state) {
	struct fixture *f = *state;
	enum { N = 40000 };
	struct draw_list list = { .full = true, .background = BACKGROUND };
	list.items = calloc(N, sizeof *list.items);
	assert_non_null(list.items);
	for (int i = 0; i < N; i++) {
		struct draw_item *item = &list.items[i];
		item->kind = DRAW_RECT;
		item->clip = DRAW_NO_CLIP;
		int x = i * 7 % (WIDTH - 4), y = i * 3 % (HEIGHT - 4);
		item->bounds = (struct draw_box){ x, y, x + 4, y + 4 };
		item->rect.world = translate((float)x, (float)y);
		item->rect.width = item->rect.height = 4;
		item->rect.radius = i % 2 ? 1.5f : 0.0f;
		item->rect.fill = i % 3 ? 0xff0000ffu : 0x00ff00ffu;
	}
	// The last rect, alone at a corner, shows that the last batch is drawn right.
	list.items[N - 1].rect.world = translate(WIDTH - 2, HEIGHT - 2);
	list.items[N - 1].rect.width = list.items[N - 1].rect.height = 2;
	list.items[N - 1].rect.radius = 0;
	list.items[N - 1].rect.fill = 0xffffffffu;
	list.items[N - 1].bounds = (struct draw_box){ WIDTH - 2, HEIGHT - 2, WIDTH, HEIGHT };

	list.len = 10000;
	draw(f, &list); // resolves epoxy's pointers
	count_draws();
	struct render_stats stats = draw(f, &list);
	stop_counting();
	assert_true(stats.draw_calls <= 2);
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(draw_calls, (int)stats.draw_calls);
	assert_int_equal(drawn_vertices, 10000 * 6);
	assert_int_equal(stats.nodes_drawn, 10000);

	list.len = N;
	count_draws();
	stats = draw(f, &list);
	stop_counting();
	assert_int_equal(stats.draw_calls, (N + 16383) / 16384);
	assert_int_equal(draw_calls, (int)stats.draw_calls);
	assert_int_equal(drawn_vertices, N * 6);
	assert_int_equal(pixel_at(f->pixels, WIDTH - 1, HEIGHT - 1), 0xffffffffu);
	assert_int_equal(pixel_at(f->pixels, WIDTH - 3, HEIGHT - 1), BACKGROUND);
	free(list.items);
}

// ---- Images: textures made and uploaded through render.h, drawn as DRAW_IMAGE ----

// The unit square to the screen box (x, y)-(x + w, y + h).
static struct affine placed(float x, float y, float w, float h) {
	return (struct affine){ w, 0, 0, h, x, y };
}

static struct draw_item *add_image(struct test_list *l, struct affine world,
		uint32_t texture, uint32_t clip) {
	struct draw_item *item = add_item(l, DRAW_IMAGE, clip);
	item->bounds = meet(item->bounds, quad_box(world, 1, 1));
	item->image.world = world;
	item->image.u1 = item->image.v1 = 1;
	item->image.texture = texture;
	item->image.tint = 0xffffffffu;
	return item;
}

// A @w x @h texture of @format holding @pixels (rows @stride bytes apart).
static struct render_texture make_texture(enum render_format format, int w, int h,
		const uint8_t *pixels, size_t stride) {
	struct render_texture tex;
	assert_int_equal(render_texture_init(renderer, &tex, w, h, format), RENDER_OK);
	assert_int_not_equal(tex.name, 0);
	assert_int_equal(tex.width, w);
	assert_int_equal(tex.height, h);
	assert_int_equal(render_texture_upload(renderer, &tex, pixels, stride,
		(struct draw_box){ 0, 0, w, h }), RENDER_OK);
	return tex;
}

// The frame is @want (w x h, row by row) at (x, y) and @outside everywhere else.
static void assert_picture(struct fixture *f, int x, int y, int w, int h,
		const uint32_t *want, uint32_t outside) {
	for (int py = 0; py < HEIGHT; py++) {
		for (int px = 0; px < WIDTH; px++) {
			bool in = px >= x && px < x + w && py >= y && py < y + h;
			uint32_t expected = in ? want[(py - y) * w + (px - x)] : outside;
			if (pixel_at(f->pixels, px, py) != expected) {
				fail_msg("pixel (%d, %d) is %08x, expected %08x", px, py,
					pixel_at(f->pixels, px, py), expected);
			}
		}
	}
}

static void put_bytes(uint8_t *p, uint32_t rgba) {
	p[0] = (uint8_t)(rgba >> 24), p[1] = (uint8_t)(rgba >> 16);
	p[2] = (uint8_t)(rgba >> 8), p[3] = (uint8_t)rgba;
}

// Premultiplied RGBA8 texels, all different: opaque, partly transparent, and clear.
static uint32_t rgba8_texel(int i, int j) {
	uint32_t a = 255 - (uint32_t)(j * 8 + i) * 5;
	if (i == 7 && j == 5) {
		return 0; // fully transparent
	}
	return (a * (uint32_t)i / 7) << 24 | (a * (uint32_t)j / 5) << 16 | (a / 2) << 8 | a;
}

static void test_image_rgba8(void **state) {
	struct fixture *f = *state;
	enum { W = 8, H = 6 };
	uint8_t pixels[W * H * 4];
	uint32_t texels[W * H], over_bg[W * H];
	for (int j = 0; j < H; j++) {
		for (int i = 0; i < W; i++) {
			texels[j * W + i] = rgba8_texel(i, j);
			over_bg[j * W + i] = over(texels[j * W + i], BACKGROUND);
			put_bytes(pixels + (j * W + i) * 4, texels[j * W + i]);
		}
	}
	struct render_texture tex = make_texture(RENDER_RGBA8, W, H, pixels, W * 4);
	struct test_list l;
	test_list_init(&l);
	add_image(&l, placed(5, 7, W, H), tex.name, DRAW_NO_CLIP);
	// Over a clear background the frame holds the texels exactly as uploaded.
	l.dl.background = 0;
	struct render_stats stats = draw(f, &l.dl);
	assert_picture(f, 5, 7, W, H, texels, 0);
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(stats.nodes_drawn, 1);
	// Over the background: premultiplied source-over.
	l.dl.background = BACKGROUND;
	draw(f, &l.dl);
	assert_picture(f, 5, 7, W, H, over_bg, BACKGROUND);
	render_texture_finish(renderer, &tex);
	assert_int_equal(tex.name, 0);
}

static void test_image_xrgb8(void **state) {
	struct fixture *f = *state;
	enum { W = 7, H = 5, STRIDE = 10 * 4 };
	// Rows padded to 10 pixels; the padding and the X bytes are junk that must not show.
	uint8_t pixels[STRIDE * H];
	memset(pixels, 0xee, sizeof pixels);
	uint32_t want[W * H];
	for (int j = 0; j < H; j++) {
		for (int i = 0; i < W; i++) {
			const uint8_t r = (uint8_t)(200 - i * 20), g = (uint8_t)(j * 60 + 3);
			const uint8_t b = (uint8_t)(i * 30 + j);
			uint8_t *p = pixels + j * STRIDE + i * 4;
			p[0] = b, p[1] = g, p[2] = r, p[3] = (uint8_t)(i * 40); // B, G, R, X
			want[j * W + i] = (uint32_t)r << 24 | (uint32_t)g << 16 | (uint32_t)b << 8
				| 0xff;
		}
	}
	struct render_texture tex = make_texture(RENDER_XRGB8, W, H, pixels, STRIDE);
	struct test_list l;
	test_list_init(&l);
	add_image(&l, placed(3, 2, W, H), tex.name, DRAW_NO_CLIP);
	struct render_stats stats = draw(f, &l.dl);
	assert_picture(f, 3, 2, W, H, want, BACKGROUND);
	assert_int_equal(stats.nodes_drawn, 1);
	// Partly off the screen's right and bottom edges: what is on it, cut there.
	l.dl.len = 0;
	add_image(&l, placed(WIDTH - 4, HEIGHT - 3, W, H), tex.name, DRAW_NO_CLIP);
	draw(f, &l.dl);
	uint32_t corner[4 * 3];
	for (int j = 0; j < 3; j++) {
		for (int i = 0; i < 4; i++) {
			corner[j * 4 + i] = want[j * W + i];
		}
	}
	assert_picture(f, WIDTH - 4, HEIGHT - 3, 4, 3, corner, BACKGROUND);
	render_texture_finish(renderer, &tex);
}

// A 5- or 6-bit channel (@bits) in 8 bits, as GL says (v / max as a float, stored to
// the nearest of 255 steps) or by repeating its top bits below it, as Mesa (llvmpipe)
// and many GPUs do: the two differ by one for some values, and either is fine.
static bool expanded(uint32_t got, uint32_t v, unsigned bits) {
	const uint32_t max = (1u << bits) - 1;
	const uint32_t rounded = (v * 255 + max / 2) / max;
	const uint32_t repeated = (v << (8 - bits) | v >> (2 * bits - 8)) & 0xff;
	return got == rounded || got == repeated;
}

static void test_image_rgb565(void **state) {
	struct fixture *f = *state;
	enum { W = 8, H = 8 };
	// Every green value once, every red and blue value twice: all different texels.
	uint8_t pixels[W * H * 2];
	uint32_t rgb[W * H][3];
	for (uint32_t k = 0; k < W * H; k++) {
		const uint32_t r = k % 32, g = k, b = 31 - (k * 7) % 32;
		const uint16_t v = (uint16_t)(r << 11 | g << 5 | b);
		pixels[2 * k] = (uint8_t)v, pixels[2 * k + 1] = (uint8_t)(v >> 8); // little endian
		rgb[k][0] = r, rgb[k][1] = g, rgb[k][2] = b;
	}
	struct render_texture tex = make_texture(RENDER_RGB565, W, H, pixels, W * 2);
	struct test_list l;
	test_list_init(&l);
	add_image(&l, placed(20, 9, W, H), tex.name, DRAW_NO_CLIP);
	l.dl.background = 0; // opaque texels: alpha 1 over nothing
	draw(f, &l.dl);
	for (int k = 0; k < W * H; k++) {
		const uint32_t got = pixel_at(f->pixels, 20 + k % W, 9 + k / W);
		if (!expanded(got >> 24, rgb[k][0], 5) || !expanded(got >> 16 & 0xff, rgb[k][1], 6)
				|| !expanded(got >> 8 & 0xff, rgb[k][2], 5) || (got & 0xff) != 0xff) {
			fail_msg("texel %d (%u, %u, %u) is %08x", k, rgb[k][0], rgb[k][1], rgb[k][2],
				got);
		}
	}
	// Where the two ways agree: 0 and full, and 6 of 31 (49 either way).
	assert_int_equal(pixel_at(f->pixels, 20, 9), 0x0000ffffu);          // 0, 0, 31
	assert_int_equal(pixel_at(f->pixels, 20 + 7, 9 + 7), 0xffff31ffu);  // 31, 63, 6
	assert_all(f, 0, 0, 20, HEIGHT, 0);
	assert_all(f, 28, 0, WIDTH, HEIGHT, 0);
	assert_all(f, 20, 0, 28, 9, 0);
	assert_all(f, 20, 17, 28, HEIGHT, 0);
	render_texture_finish(renderer, &tex);
}

// A 8 x 8 RGBA8 texture whose texel (i, j) is opaque (i * 30, j * 30, 99).
static struct render_texture grid_texture(void) {
	uint8_t pixels[8 * 8 * 4];
	for (int j = 0; j < 8; j++) {
		for (int i = 0; i < 8; i++) {
			put_bytes(pixels + (j * 8 + i) * 4, (uint32_t)(i * 30) << 24
				| (uint32_t)(j * 30) << 16 | 99 << 8 | 0xff);
		}
	}
	return make_texture(RENDER_RGBA8, 8, 8, pixels, 8 * 4);
}

static uint32_t grid_texel(int i, int j) {
	return (uint32_t)(i * 30) << 24 | (uint32_t)(j * 30) << 16 | 99 << 8 | 0xff;
}

static void test_image_source_rect(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = grid_texture();
	struct test_list l;
	test_list_init(&l);
	// A sprite: the middle 4 x 4 texels drawn at 4 x 4 pixels.
	struct draw_item *item = add_image(&l, placed(30, 20, 4, 4), tex.name, DRAW_NO_CLIP);
	item->image.u0 = item->image.v0 = 2.0f / 8;
	item->image.u1 = item->image.v1 = 6.0f / 8;
	draw(f, &l.dl);
	uint32_t want[4 * 4];
	for (int j = 0; j < 4; j++) {
		for (int i = 0; i < 4; i++) {
			want[j * 4 + i] = grid_texel(i + 2, j + 2);
		}
	}
	assert_picture(f, 30, 20, 4, 4, want, BACKGROUND);
	// Flipped: (u0, v0) lands on the quad's (0, 0) corner, so u1 < u0 mirrors it.
	item->image.u0 = 6.0f / 8, item->image.u1 = 2.0f / 8;
	draw(f, &l.dl);
	for (int j = 0; j < 4; j++) {
		for (int i = 0; i < 4; i++) {
			want[j * 4 + i] = grid_texel(5 - i, j + 2);
		}
	}
	assert_picture(f, 30, 20, 4, 4, want, BACKGROUND);
	// Scaled up twice: the outermost pixels sample the sprite's own edge texels, never
	// a blend with their neighbours outside it on the sheet (texels 1 and 6).
	item->image.u0 = 2.0f / 8, item->image.u1 = 6.0f / 8;
	item->image.world = placed(30, 20, 8, 8);
	item->bounds = quad_box(item->image.world, 1, 1);
	draw(f, &l.dl);
	assert_int_equal(pixel_at(f->pixels, 30, 20), grid_texel(2, 2));
	assert_int_equal(pixel_at(f->pixels, 37, 20), grid_texel(5, 2));
	assert_int_equal(pixel_at(f->pixels, 30, 27), grid_texel(2, 5));
	assert_int_equal(pixel_at(f->pixels, 37, 27), grid_texel(5, 5));
	// Inside, between texel centres: a quarter of the way from texel 2 to texel 3
	// (red 60 to 90), so linear filtering is still on.
	assert_near(pixel_at(f->pixels, 31, 20), 68u << 24 | 60 << 16 | 99 << 8 | 0xff, 1);
	assert_int_equal(pixel_at(f->pixels, 38, 20), BACKGROUND);
	render_texture_finish(renderer, &tex);
}

static void test_image_scaled(void **state) {
	struct fixture *f = *state;
	// Black and white texels drawn twice as wide: linear filtering between the texel
	// centres, clamped to the edge texels beyond them.
	uint8_t pixels[2 * 4] = { 0, 0, 0, 255, 255, 255, 255, 255 };
	struct render_texture tex = make_texture(RENDER_RGBA8, 2, 1, pixels, 2 * 4);
	struct test_list l;
	test_list_init(&l);
	add_image(&l, placed(10, 10, 4, 2), tex.name, DRAW_NO_CLIP);
	draw(f, &l.dl);
	// Pixel centres at texel 0.25, 0.75, 1.25, 1.75: 0, 1/4, 3/4 and 1 of the way.
	const int grey[4] = { 0, 64, 191, 255 };
	for (int y = 10; y < 12; y++) {
		for (int x = 0; x < 4; x++) {
			uint32_t g = (uint32_t)grey[x];
			assert_near(pixel_at(f->pixels, 10 + x, y), g << 24 | g << 16 | g << 8 | 0xff,
				1);
		}
	}
	assert_int_equal(pixel_at(f->pixels, 10, 10), 0x000000ffu); // clamped, not wrapped
	assert_int_equal(pixel_at(f->pixels, 13, 11), 0xffffffffu);
	assert_int_equal(pixel_at(f->pixels, 14, 10), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 10, 12), BACKGROUND);
	render_texture_finish(renderer, &tex);
}

static void test_image_tint(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = grid_texture();
	struct test_list l;
	test_list_init(&l);
	struct draw_item *item = add_image(&l, placed(4, 4, 8, 8), tex.name, DRAW_NO_CLIP);
	item->image.tint = 0x80808080u; // opacity 128 / 255 in all four channels
	struct render_stats stats = draw(f, &l.dl);
	for (int j = 0; j < 8; j++) {
		for (int i = 0; i < 8; i++) {
			assert_near(pixel_at(f->pixels, 4 + i, 4 + j),
				over(scale(grid_texel(i, j), 128.0 / 255), BACKGROUND), 1);
		}
	}
	assert_int_not_equal(pixel_at(f->pixels, 11, 11), grid_texel(7, 7));
	assert_int_equal(pixel_at(f->pixels, 12, 12), BACKGROUND);
	assert_int_equal(stats.draw_calls, 1);
	render_texture_finish(renderer, &tex);
}

static void test_image_rotated(void **state) {
	struct fixture *f = *state;
	enum { W = 8, H = 6 };
	uint8_t pixels[W * H * 4];
	for (int j = 0; j < H; j++) {
		for (int i = 0; i < W; i++) {
			put_bytes(pixels + (j * W + i) * 4, rgba8_texel(i, j));
		}
	}
	struct render_texture tex = make_texture(RENDER_RGBA8, W, H, pixels, W * 4);
	struct test_list l;
	test_list_init(&l);
	// Turned 90 degrees clockwise: the image's x runs down the screen, its y to the
	// left, so texel (i, j) shows at (x + H - 1 - j, y + i).
	const int x = 20, y = 10;
	add_image(&l, (struct affine){ 0, W, -H, 0, x + H, y }, tex.name, DRAW_NO_CLIP);
	l.dl.background = 0;
	draw(f, &l.dl);
	uint32_t want[H * W]; // H wide, W high on the screen
	for (int j = 0; j < H; j++) {
		for (int i = 0; i < W; i++) {
			want[i * H + (H - 1 - j)] = rgba8_texel(i, j);
		}
	}
	assert_picture(f, x, y, H, W, want, 0);
	render_texture_finish(renderer, &tex);
}

// One texture of a single opaque colour, so that any scaling samples it exactly.
static struct render_texture solid_texture(uint32_t rgba) {
	uint8_t pixels[4 * 4 * 4];
	for (int k = 0; k < 16; k++) {
		put_bytes(pixels + k * 4, rgba);
	}
	return make_texture(RENDER_RGBA8, 4, 4, pixels, 4 * 4);
}

static void test_image_batching(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = grid_texture();
	struct render_texture white = solid_texture(0xffffffffu);
	enum { N = 1000 };
	struct draw_list list = { .full = true, .background = BACKGROUND };
	list.items = calloc(N, sizeof *list.items);
	assert_non_null(list.items);
	list.len = list.cap = N;
	for (int i = 0; i < N; i++) {
		struct draw_item *item = &list.items[i];
		item->kind = DRAW_IMAGE;
		item->clip = DRAW_NO_CLIP;
		int x = i * 7 % (WIDTH - 8), y = i * 3 % (HEIGHT - 8);
		item->bounds = (struct draw_box){ x, y, x + 8, y + 8 };
		item->image.world = placed((float)x, (float)y, 8, 8);
		item->image.u1 = item->image.v1 = 1;
		item->image.texture = tex.name;
		item->image.tint = i % 2 ? 0xffffffffu : 0x80808080u;
	}
	draw(f, &list); // resolves epoxy's pointers
	count_draws();
	struct render_stats stats = draw(f, &list);
	stop_counting();
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(draw_calls, 1);
	assert_int_equal(drawn_vertices, N * 6);
	assert_int_equal(stats.nodes_drawn, N);
	// The last one drawn is on top, whole.
	const int lx = (N - 1) * 7 % (WIDTH - 8), ly = (N - 1) * 3 % (HEIGHT - 8);
	assert_int_equal(pixel_at(f->pixels, lx + 3, ly + 5), grid_texel(3, 5));

	// Rect, image, rect overlapping: drawn in that order, so three draw calls.
	struct test_list l;
	test_list_init(&l);
	add_shape(&l, translate(0, 0), 20, 20, 0xff0000ffu, DRAW_NO_CLIP);
	add_image(&l, placed(10, 10, 20, 20), white.name, DRAW_NO_CLIP);
	add_shape(&l, translate(20, 20), 20, 20, 0x0000ffffu, DRAW_NO_CLIP);
	count_draws();
	stats = draw(f, &l.dl);
	stop_counting();
	assert_int_equal(stats.draw_calls, 3);
	assert_int_equal(draw_calls, 3);
	assert_int_equal(stats.nodes_drawn, 3);
	assert_int_equal(pixel_at(f->pixels, 5, 5), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 15, 15), 0xffffffffu); // the image over red
	assert_int_equal(pixel_at(f->pixels, 25, 25), 0x0000ffffu); // blue over the image
	assert_int_equal(pixel_at(f->pixels, 35, 35), 0x0000ffffu);
	assert_int_equal(pixel_at(f->pixels, 25, 12), 0xffffffffu);

	// Two textures alternating: a draw call each; one texture again after a rect that
	// is not between them in the list still joins nothing out of order.
	l.dl.len = 0;
	add_image(&l, placed(0, 0, 8, 8), tex.name, DRAW_NO_CLIP);
	add_image(&l, placed(4, 4, 8, 8), white.name, DRAW_NO_CLIP);
	add_image(&l, placed(8, 8, 8, 8), tex.name, DRAW_NO_CLIP);
	add_image(&l, placed(40, 0, 8, 8), tex.name, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 3);
	assert_int_equal(pixel_at(f->pixels, 6, 6), 0xffffffffu);
	assert_int_equal(pixel_at(f->pixels, 9, 9), grid_texel(1, 1));
	assert_int_equal(pixel_at(f->pixels, 47, 7), grid_texel(7, 7));
	free(list.items);
	render_texture_finish(renderer, &white);
	render_texture_finish(renderer, &tex);
}

static void test_image_scissor_clip(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = grid_texture();
	struct test_list l;
	test_list_init(&l);
	uint32_t clip = add_clip(&l, translate(12, 10), 5, 3, DRAW_NO_CLIP);
	add_image(&l, placed(10, 8, 8, 8), tex.name, clip);
	struct render_stats stats = draw(f, &l.dl);
	uint32_t want[5 * 3];
	for (int j = 0; j < 3; j++) {
		for (int i = 0; i < 5; i++) {
			want[j * 5 + i] = grid_texel(i + 2, j + 2);
		}
	}
	assert_picture(f, 12, 10, 5, 3, want, BACKGROUND);
	assert_int_equal(stats.draw_calls, 1); // a scissor, no stencil
	assert_int_equal(stats.nodes_drawn, 1);
	render_texture_finish(renderer, &tex);
}

static void test_image_stencil_clip(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = solid_texture(0x00ff00ffu);
	struct test_list l;
	test_list_init(&l);
	clip_a = turned(30, 32, 24, 40, 24);
	uint32_t clip = add_clip(&l, clip_a, 40, 24, DRAW_NO_CLIP);
	add_image(&l, placed(-10, -10, 100, 100), tex.name, clip);
	struct render_stats stats = draw(f, &l.dl);
	assert_in_range(assert_region(f, in_clip_a, 0x00ff00ffu, BACKGROUND), 900, 1020);
	assert_int_equal(stats.draw_calls, 2); // the stencil write and the image
	assert_int_equal(stats.nodes_drawn, 1);
	render_texture_finish(renderer, &tex);
}

static void test_image_layer(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = grid_texture();
	struct test_list l;
	test_list_init(&l);
	// Two overlapping images at half group opacity: the overlap shows the top one only.
	add_layer(&l, 0.5f, (struct draw_box){ 4, 4, 16, 16 });
	add_image(&l, placed(4, 4, 8, 8), tex.name, DRAW_NO_CLIP);
	add_image(&l, placed(8, 8, 8, 8), tex.name, DRAW_NO_CLIP);
	end_layer(&l);
	struct render_stats stats = draw(f, &l.dl);
	assert_near(pixel_at(f->pixels, 5, 6), over(scale(grid_texel(1, 2), 0.5), BACKGROUND), 1);
	assert_near(pixel_at(f->pixels, 10, 11), over(scale(grid_texel(2, 3), 0.5), BACKGROUND),
		1);
	assert_near(pixel_at(f->pixels, 15, 15), over(scale(grid_texel(7, 7), 0.5), BACKGROUND),
		1);
	assert_int_equal(pixel_at(f->pixels, 13, 5), BACKGROUND);
	assert_int_equal(pixel_at(f->pixels, 16, 16), BACKGROUND);
	assert_int_equal(stats.offscreen_passes, 1);
	assert_int_equal(stats.draw_calls, 2); // both images in one, the composite
	assert_int_equal(stats.nodes_drawn, 2);
	render_texture_finish(renderer, &tex);
}

// Client memory that ends exactly at @size bytes, with an unreadable page after it: a
// read past the box's last row faults, whoever does it (GL included).
struct guarded {
	uint8_t *map, *data;
	size_t map_size;
};

static struct guarded guarded_alloc(size_t size) {
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct guarded g;
	g.map_size = (size + page - 1) / page * page + page;
	g.map = mmap(NULL, g.map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		-1, 0);
	assert_true(g.map != MAP_FAILED);
	assert_int_equal(mprotect(g.map + g.map_size - page, page, PROT_NONE), 0);
	g.data = g.map + g.map_size - page - size;
	return g;
}

static void guarded_free(struct guarded *g) {
	munmap(g->map, g->map_size);
}

// @format's bytes for an opaque colour: red (0xff0000) or blue (0x0000ff), as 8 bits.
static void put_texel(enum render_format format, uint8_t *p, bool red) {
	switch (format) {
	case RENDER_RGBA8:
		put_bytes(p, red ? 0xff0000ffu : 0x0000ffffu);
		break;
	case RENDER_XRGB8:
		put_bytes(p, red ? 0x0000ff00u : 0xff000000u); // B, G, R, X (X zero)
		break;
	default: {
		const uint16_t v = red ? 0xf800 : 0x001f;
		p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
		break;
	}
	}
}

// An 8 x 8 texture all red, drawn; then the 4 x 4 box at (3, 2) uploaded blue from
// client memory with padded rows that ends with the box; drawn again (damage only).
static void partial_upload(struct fixture *f, enum render_format format) {
	enum { W = 8, H = 8, BX = 3, BY = 2, BW = 4, BH = 4 };
	const size_t bpp = render_format_bpp(format), stride = (W + 3) * bpp;
	uint8_t red[W * H * 4];
	for (int k = 0; k < W * H; k++) {
		put_texel(format, red + (size_t)k * bpp, true);
	}
	struct render_texture tex = make_texture(format, W, H, red, W * bpp);
	struct test_list l;
	test_list_init(&l);
	add_image(&l, placed(10, 10, W, H), tex.name, DRAW_NO_CLIP);
	draw(f, &l.dl);
	assert_all(f, 10, 10, 10 + W, 10 + H, 0xff0000ffu);

	// The image's memory up to the end of the box's last row, and no further.
	struct guarded g = guarded_alloc((BY + BH - 1) * stride + (BX + BW) * bpp);
	memset(g.data, 0x55, (BY + BH - 1) * stride + (BX + BW) * bpp); // junk outside
	for (int y = BY; y < BY + BH; y++) {
		for (int x = BX; x < BX + BW; x++) {
			put_texel(format, g.data + (size_t)y * stride + (size_t)x * bpp, false);
		}
	}
	const uint64_t before = renderer_uploaded_bytes(renderer);
	assert_int_equal(render_texture_upload(renderer, &tex, g.data, stride,
		(struct draw_box){ BX, BY, BX + BW, BY + BH }), RENDER_OK);
	assert_int_equal(renderer_uploaded_bytes(renderer) - before,
		BW * BH * render_texture_bytes(1, 1, format));
	guarded_free(&g);

	l.dl.full = false;
	l.damage[0] = (struct draw_box){ 10 + BX, 10 + BY, 10 + BX + BW, 10 + BY + BH };
	l.dl.damage_len = 1;
	struct render_stats stats = draw(f, &l.dl);
	assert_int_equal(stats.damaged_pixels, BW * BH);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			bool in = x >= BX && x < BX + BW && y >= BY && y < BY + BH;
			assert_int_equal(pixel_at(f->pixels, 10 + x, 10 + y),
				in ? 0x0000ffffu : 0xff0000ffu);
		}
	}
	// A full redraw shows the same: the texture changed in the box only.
	l.dl.full = true;
	draw(f, &l.dl);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			bool in = x >= BX && x < BX + BW && y >= BY && y < BY + BH;
			assert_int_equal(pixel_at(f->pixels, 10 + x, 10 + y),
				in ? 0x0000ffffu : 0xff0000ffu);
		}
	}
	render_texture_finish(renderer, &tex);
}

static void test_partial_upload(void **state) {
	struct fixture *f = *state;
	for (int format = 0; format < RENDER_CLIENT_FORMATS; format++) {
		partial_upload(f, (enum render_format)format);
	}
	// Again through the staging copy, which drivers without EXT_unpack_subimage take:
	// a renderer made with it turned off draws into the same frame.
	struct renderer *straight = renderer;
	assert_int_equal(setenv("TESSERA_UPLOAD_STAGING", "1", 1), 0);
	renderer = renderer_create();
	unsetenv("TESSERA_UPLOAD_STAGING");
	assert_non_null(renderer);
	for (int format = 0; format < RENDER_CLIENT_FORMATS; format++) {
		partial_upload(f, (enum render_format)format);
	}
	renderer_destroy(renderer);
	renderer = straight;
}

// A staged upload larger than the staging buffer goes up in bands of rows: an XRGB8
// texture of 300 x 300 (360,000 bytes staged) whose every row has its own colour;
// 8 x 8 windows of its first, middle and last rows, drawn 1:1, show every band arrived.
static void test_staged_upload_in_bands(void **state) {
	struct fixture *f = *state;
	enum { W = 300, H = 300 };
	uint8_t *pixels = malloc((size_t)W * H * 4);
	assert_non_null(pixels);
	for (int j = 0; j < H; j++) {
		for (int i = 0; i < W; i++) {
			uint8_t *p = pixels + ((size_t)j * W + (size_t)i) * 4;
			p[0] = (uint8_t)(j * 7), p[1] = (uint8_t)j, p[2] = (uint8_t)(j >> 8), p[3] = 0;
		}
	}
	struct render_texture tex = make_texture(RENDER_XRGB8, W, H, pixels, W * 4);
	free(pixels);
	assert_int_equal(glGetError(), GL_NO_ERROR);
	static const int rows[3] = { 0, 150, H - 8 };
	for (int k = 0; k < 3; k++) {
		struct test_list l;
		test_list_init(&l);
		struct draw_item *item = add_image(&l, placed(10, 10, 8, 8), tex.name, DRAW_NO_CLIP);
		item->image.u0 = 0, item->image.u1 = 8.0f / W;
		item->image.v0 = (float)rows[k] / H, item->image.v1 = (float)(rows[k] + 8) / H;
		draw(f, &l.dl);
		uint32_t want[8 * 8];
		for (int j = 0; j < 8; j++) {
			int row = rows[k] + j;
			for (int i = 0; i < 8; i++) {
				want[j * 8 + i] = (uint32_t)(row >> 8 & 0xff) << 24 |
					(uint32_t)(row & 0xff) << 16 | (uint32_t)(row * 7 & 0xff) << 8 | 0xff;
			}
		}
		assert_picture(f, 10, 10, 8, 8, want, BACKGROUND);
	}
	render_texture_finish(renderer, &tex);
}

static void test_texture_limits(void **state) {
	(void)state;
	const int max = renderer_max_texture_size(renderer);
	assert_true(max >= 64);
	struct render_texture tex = { .name = 77, .width = 1 };
	assert_int_equal(render_texture_init(renderer, &tex, max + 1, 4, RENDER_RGBA8),
		RENDER_TOO_LARGE);
	assert_int_equal(tex.name, 0);
	assert_int_equal(tex.width, 0);
	assert_int_equal(render_texture_init(renderer, &tex, 4, max + 1, RENDER_RGB565),
		RENDER_TOO_LARGE);
	assert_int_equal(render_texture_init(renderer, &tex, 0, 4, RENDER_XRGB8),
		RENDER_TOO_LARGE);
	assert_int_equal(tex.name, 0);
	render_texture_finish(renderer, &tex); // zeroed: fine
	assert_int_equal(render_format_bpp(RENDER_RGBA8), 4);
	assert_int_equal(render_format_bpp(RENDER_XRGB8), 4);
	assert_int_equal(render_format_bpp(RENDER_RGB565), 2);
	assert_int_equal(render_texture_bytes(10, 3, RENDER_RGBA8), 120);
	assert_int_equal(render_texture_bytes(10, 3, RENDER_XRGB8), 120);
	assert_int_equal(render_texture_bytes(10, 3, RENDER_RGB565), 60);
	// Glyph pages: one byte a texel, and not a format a client may name.
	assert_int_equal(RENDER_CLIENT_FORMATS, 3);
	assert_true(RENDER_A8 >= RENDER_CLIENT_FORMATS && RENDER_A8 < RENDER_FORMATS);
	assert_int_equal(render_format_bpp(RENDER_A8), 1);
	assert_int_equal(render_texture_bytes(10, 3, RENDER_A8), 30);
	assert_int_equal(render_texture_bytes(1024, 1024, RENDER_A8), 1 << 20);
	assert_int_equal(render_format_bpp(RENDER_FORMATS), 0);
	assert_int_equal(render_texture_init(renderer, &tex, 4, max + 1, RENDER_A8),
		RENDER_TOO_LARGE);
	assert_int_equal(tex.name, 0);
	// The largest allowed is made (the GPU has the memory for one 1-texel-high row).
	assert_int_equal(render_texture_init(renderer, &tex, max, 1, RENDER_RGBA8), RENDER_OK);
	assert_int_not_equal(tex.name, 0);
	render_texture_finish(renderer, &tex);
	assert_int_equal(glGetError(), GL_NO_ERROR);
}

static void test_image_skipped(void **state) {
	struct fixture *f = *state;
	struct render_texture tex = grid_texture();
	struct test_list l;
	test_list_init(&l);
	add_image(&l, placed(0, 0, 8, 8), 0, DRAW_NO_CLIP);                   // no texture
	add_image(&l, placed(10, 0, 8, 8), tex.name, DRAW_NO_CLIP)->image.tint = 0; // clear
	add_image(&l, placed(20, 0, 8, 0), tex.name, DRAW_NO_CLIP);           // no area
	struct draw_item *item = add_image(&l, placed(30, 0, 8, 8), tex.name, DRAW_NO_CLIP);
	item->image.world.c = 8, item->image.world.d = 0;                     // a line
	struct render_stats stats = draw(f, &l.dl);
	assert_all(f, 0, 0, WIDTH, HEIGHT, BACKGROUND);
	assert_int_equal(stats.draw_calls, 0);
	assert_int_equal(stats.nodes_drawn, 0);
	// The same list with a texture in the first: only that one is drawn.
	l.items[0].image.texture = tex.name;
	stats = draw(f, &l.dl);
	assert_int_equal(pixel_at(f->pixels, 1, 1), grid_texel(1, 1));
	assert_all(f, 8, 0, WIDTH, HEIGHT, BACKGROUND);
	assert_int_equal(stats.nodes_drawn, 1);
	render_texture_finish(renderer, &tex);
}

// ---- Glyphs: A8 atlas pages (coverage) drawn as DRAW_GLYPH, tint * coverage ----

static struct draw_item *add_glyph(struct test_list *l, struct affine world,
		uint32_t page, uint32_t tint, uint32_t clip) {
	struct draw_item *item = add_image(l, world, page, clip);
	item->kind = DRAW_GLYPH;
	item->image.tint = tint;
	return item;
}

// What a glyph's pixel must be: the premultiplied @tint times @coverage, over @dst.
static uint32_t glyph_over(uint32_t tint, uint8_t coverage, uint32_t dst) {
	return over(scale(tint, coverage / 255.0), dst);
}

// A @w x @h page of @coverage everywhere.
static struct render_texture solid_page(int w, int h, uint8_t coverage) {
	uint8_t texels[16 * 16];
	assert_true(w * h <= (int)sizeof texels);
	memset(texels, coverage, sizeof texels);
	return make_texture(RENDER_A8, w, h, texels, (size_t)w);
}

static void assert_unpack_defaults(void) {
	GLint alignment = 0;
	glGetIntegerv(GL_UNPACK_ALIGNMENT, &alignment);
	assert_int_equal(alignment, 4);
	assert_int_equal(glGetError(), GL_NO_ERROR);
}

// The frame is the glyph of @coverage (w x h texels) at (x, y) drawn 1:1 with @tint over
// @bg, each channel within @tolerance, and exactly @bg everywhere else.
static void assert_glyph(struct fixture *f, int x, int y, int w, int h,
		const uint8_t *coverage, uint32_t tint, uint32_t bg, int tolerance) {
	for (int py = 0; py < HEIGHT; py++) {
		for (int px = 0; px < WIDTH; px++) {
			const uint32_t got = pixel_at(f->pixels, px, py);
			if (px < x || px >= x + w || py < y || py >= y + h) {
				if (got != bg) {
					fail_msg("pixel (%d, %d) is %08x, expected %08x", px, py, got, bg);
				}
				continue;
			}
			const uint8_t c = coverage[(py - y) * w + (px - x)];
			assert_near(got, glyph_over(tint, c, bg), tolerance);
		}
	}
}

static void test_glyph_coverage(void **state) {
	struct fixture *f = *state;
	// 5 texels a row: tight rows of an odd width, which GL's default unpack alignment
	// of 4 would misread from the second row on.
	enum { W = 5, H = 3 };
	static const uint8_t coverage[W * H] = {
		255, 128, 0, 64, 200,
		1, 254, 32, 160, 96,
		0, 255, 0, 255, 127,
	};
	struct render_texture page = make_texture(RENDER_A8, W, H, coverage, W);
	assert_int_equal(page.format, RENDER_A8);
	assert_unpack_defaults();
	struct test_list l;
	test_list_init(&l);
	struct draw_item *item = add_glyph(&l, placed(21, 13, W, H), page.name, 0xffffffffu,
		DRAW_NO_CLIP);

	// White (0xffffffff) over clear: the pixel is (c, c, c, c), exactly.
	l.dl.background = 0;
	struct render_stats stats = draw(f, &l.dl);
	assert_glyph(f, 21, 13, W, H, coverage, 0xffffffffu, 0, 0);
	assert_int_equal(pixel_at(f->pixels, 22, 13), 0x80808080u);
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(stats.nodes_drawn, 1);
	// White over opaque black: (c, c, c, 255), exactly.
	l.dl.background = 0x000000ffu;
	draw(f, &l.dl);
	assert_glyph(f, 21, 13, W, H, coverage, 0xffffffffu, 0x000000ffu, 0);
	assert_int_equal(pixel_at(f->pixels, 22, 13), 0x808080ffu);
	// Red over the background: c * red + (1 - c) * background; coverage 255 is red
	// itself, 0 the background itself.
	l.dl.background = BACKGROUND;
	item->image.tint = 0xff0000ffu;
	draw(f, &l.dl);
	assert_glyph(f, 21, 13, W, H, coverage, 0xff0000ffu, BACKGROUND, 1);
	assert_int_equal(pixel_at(f->pixels, 21, 13), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 23, 13), BACKGROUND);
	assert_near(pixel_at(f->pixels, 22, 13), 0x901820ffu, 1); // 128: half way, rounded
	// Red at half opacity (premultiplied 0x80000080), and a translucent green.
	item->image.tint = 0x80000080u;
	draw(f, &l.dl);
	assert_glyph(f, 21, 13, W, H, coverage, 0x80000080u, BACKGROUND, 1);
	item->image.tint = 0x26734d99u; // 0x40c080 at alpha 0x99, premultiplied
	draw(f, &l.dl);
	assert_glyph(f, 21, 13, W, H, coverage, 0x26734d99u, BACKGROUND, 1);
	render_texture_finish(renderer, &page);
}

// A glyph is a source rectangle of its page: drawn 1:1 its texels exactly, scaled up
// its own edge texels at the edges, never a blend with the glyphs beside it.
static void test_glyph_source_rect(void **state) {
	struct fixture *f = *state;
	enum { W = 8, H = 8 };
	uint8_t texels[W * H];
	memset(texels, 0, sizeof texels);
	for (int j = 2; j < 5; j++) {
		for (int i = 2; i < 5; i++) {
			texels[j * W + i] = 255; // a 3 x 3 glyph, clear all round
		}
	}
	struct render_texture page = make_texture(RENDER_A8, W, H, texels, W);
	struct test_list l;
	test_list_init(&l);
	l.dl.background = 0;
	struct draw_item *item = add_glyph(&l, placed(20, 10, 3, 3), page.name, 0xffffffffu,
		DRAW_NO_CLIP);
	item->image.u0 = item->image.v0 = 2.0f / W;
	item->image.u1 = item->image.v1 = 5.0f / W;
	draw(f, &l.dl);
	uint32_t want[12 * 12];
	for (int k = 0; k < 12 * 12; k++) {
		want[k] = 0xffffffffu;
	}
	assert_picture(f, 20, 10, 3, 3, want, 0);
	item->image.world = placed(20, 10, 12, 12);
	item->bounds = quad_box(item->image.world, 1, 1);
	draw(f, &l.dl);
	assert_picture(f, 20, 10, 12, 12, want, 0);
	render_texture_finish(renderer, &page);
}

// A 9 x 7 page of full coverage, drawn white over clear; then the 5 x 4 box at (2, 1)
// uploaded from memory with rows 11 bytes apart that ends with the box; drawn again,
// the damage only and then in full.
static void glyph_partial_upload(struct fixture *f) {
	enum { W = 9, H = 7, BX = 2, BY = 1, BW = 5, BH = 4, STRIDE = W + 2 };
	struct render_texture page = solid_page(W, H, 255);
	struct test_list l;
	test_list_init(&l);
	l.dl.background = 0;
	add_glyph(&l, placed(10, 10, W, H), page.name, 0xffffffffu, DRAW_NO_CLIP);
	draw(f, &l.dl);
	assert_all(f, 10, 10, 10 + W, 10 + H, 0xffffffffu);

	const size_t size = (BY + BH - 1) * STRIDE + BX + BW;
	struct guarded g = guarded_alloc(size);
	memset(g.data, 0x55, size); // junk outside the box
	for (int y = BY; y < BY + BH; y++) {
		for (int x = BX; x < BX + BW; x++) {
			g.data[y * STRIDE + x] = (uint8_t)(x * 40 + y * 10 + 7);
		}
	}
	const uint64_t before = renderer_uploaded_bytes(renderer);
	assert_int_equal(render_texture_upload(renderer, &page, g.data, STRIDE,
		(struct draw_box){ BX, BY, BX + BW, BY + BH }), RENDER_OK);
	assert_int_equal(renderer_uploaded_bytes(renderer) - before, BW * BH);
	assert_unpack_defaults();
	guarded_free(&g);

	l.dl.full = false;
	l.damage[0] = (struct draw_box){ 10 + BX, 10 + BY, 10 + BX + BW, 10 + BY + BH };
	l.dl.damage_len = 1;
	for (int pass = 0; pass < 2; pass++) {
		struct render_stats stats = draw(f, &l.dl);
		assert_int_equal(stats.damaged_pixels, pass == 0 ? BW * BH : WIDTH * HEIGHT);
		for (int y = 0; y < H; y++) {
			for (int x = 0; x < W; x++) {
				bool in = x >= BX && x < BX + BW && y >= BY && y < BY + BH;
				uint32_t c = (uint32_t)(x * 40 + y * 10 + 7) & 0xff;
				assert_int_equal(pixel_at(f->pixels, 10 + x, 10 + y),
					in ? c << 24 | c << 16 | c << 8 | c : 0xffffffffu);
			}
		}
		l.dl.full = true; // the second pass: everything, the same picture
	}
	render_texture_finish(renderer, &page);
}

static void test_glyph_partial_upload(void **state) {
	struct fixture *f = *state;
	glyph_partial_upload(f);
	// Again through the staging copy (drivers without EXT_unpack_subimage).
	struct renderer *straight = renderer;
	assert_int_equal(setenv("TESSERA_UPLOAD_STAGING", "1", 1), 0);
	renderer = renderer_create();
	unsetenv("TESSERA_UPLOAD_STAGING");
	assert_non_null(renderer);
	glyph_partial_upload(f);
	renderer_destroy(renderer);
	renderer = straight;
}

static void test_glyph_batching(void **state) {
	struct fixture *f = *state;
	struct render_texture page = solid_page(8, 8, 255);
	struct render_texture other = solid_page(4, 4, 255);
	struct render_texture white = solid_texture(0xffffffffu);
	enum { N = 1000 };
	struct draw_list list = { .full = true, .background = BACKGROUND };
	list.items = calloc(N, sizeof *list.items);
	assert_non_null(list.items);
	list.len = list.cap = N;
	for (int i = 0; i < N; i++) {
		struct draw_item *item = &list.items[i];
		item->kind = DRAW_GLYPH;
		item->clip = DRAW_NO_CLIP;
		int x = i * 7 % (WIDTH - 8), y = i * 3 % (HEIGHT - 8);
		item->bounds = (struct draw_box){ x, y, x + 8, y + 8 };
		item->image.world = placed((float)x, (float)y, 8, 8);
		item->image.u0 = (float)(i % 4) / 8, item->image.v0 = 0;
		item->image.u1 = item->image.u0 + 0.5f, item->image.v1 = 1;
		item->image.texture = page.name;
		item->image.tint = i % 2 ? 0x00ff00ffu : 0x80000080u;
	}
	draw(f, &list); // resolves epoxy's pointers
	count_draws();
	struct render_stats stats = draw(f, &list);
	stop_counting();
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(draw_calls, 1);
	assert_int_equal(drawn_vertices, N * 6);
	assert_int_equal(stats.nodes_drawn, N);
	const int lx = (N - 1) * 7 % (WIDTH - 8), ly = (N - 1) * 3 % (HEIGHT - 8);
	assert_int_equal(pixel_at(f->pixels, lx + 3, ly + 5), 0x00ff00ffu); // the last, on top
	// Two pages in runs of 10: a draw call a run.
	for (int i = 0; i < N; i++) {
		list.items[i].image.texture = (i / 10) % 2 ? other.name : page.name;
	}
	stats = draw(f, &list);
	assert_int_equal(stats.draw_calls, N / 10);
	assert_int_equal(stats.nodes_drawn, N);
	free(list.items);

	// Rect, glyph, rect overlapping: drawn in that order, so three draw calls.
	struct test_list l;
	test_list_init(&l);
	add_shape(&l, translate(0, 0), 20, 20, 0xff0000ffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(10, 10, 20, 20), page.name, 0xffffffffu, DRAW_NO_CLIP);
	add_shape(&l, translate(20, 20), 20, 20, 0x0000ffffu, DRAW_NO_CLIP);
	count_draws();
	stats = draw(f, &l.dl);
	stop_counting();
	assert_int_equal(stats.draw_calls, 3);
	assert_int_equal(draw_calls, 3);
	assert_int_equal(stats.nodes_drawn, 3);
	assert_int_equal(pixel_at(f->pixels, 5, 5), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 15, 15), 0xffffffffu); // the glyph over red
	assert_int_equal(pixel_at(f->pixels, 25, 25), 0x0000ffffu); // blue over the glyph
	assert_int_equal(pixel_at(f->pixels, 25, 12), 0xffffffffu);

	// Glyphs, a rect, a glyph, an image, a glyph of another page and one of the first:
	// a run each, in list order: [g g] [rect] [g] [image] [g'] [g] is six.
	l.dl.len = 0;
	add_glyph(&l, placed(0, 0, 8, 8), page.name, 0xff0000ffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(8, 0, 8, 8), page.name, 0xff0000ffu, DRAW_NO_CLIP);
	add_shape(&l, translate(4, 4), 8, 8, 0x0000ffffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(8, 8, 8, 8), page.name, 0x00ff00ffu, DRAW_NO_CLIP);
	add_image(&l, placed(12, 12, 8, 8), white.name, DRAW_NO_CLIP);
	add_glyph(&l, placed(16, 16, 8, 8), other.name, 0xff0000ffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(40, 0, 8, 8), page.name, 0x00ff00ffu, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 6);
	assert_int_equal(stats.nodes_drawn, 7);
	assert_int_equal(pixel_at(f->pixels, 1, 1), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 6, 6), 0x0000ffffu);   // the rect over glyphs
	assert_int_equal(pixel_at(f->pixels, 10, 10), 0x00ff00ffu); // the glyph over the rect
	assert_int_equal(pixel_at(f->pixels, 14, 14), 0xffffffffu); // the image over it
	assert_int_equal(pixel_at(f->pixels, 18, 18), 0xff0000ffu); // the other page's over it
	assert_int_equal(pixel_at(f->pixels, 44, 4), 0x00ff00ffu);

	// Two pages: a draw call each; then one more each time the page changes. A glyph
	// and an image of the same texture are two programs: two draw calls.
	l.dl.len = 0;
	add_glyph(&l, placed(0, 0, 8, 8), page.name, 0xff0000ffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(20, 0, 8, 8), page.name, 0xff0000ffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(0, 20, 8, 8), other.name, 0x00ff00ffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(20, 20, 8, 8), other.name, 0x00ff00ffu, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 2);
	assert_int_equal(pixel_at(f->pixels, 24, 4), 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 24, 24), 0x00ff00ffu);
	add_glyph(&l, placed(40, 0, 8, 8), page.name, 0xff0000ffu, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 3);
	add_image(&l, placed(40, 20, 8, 8), page.name, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 4);
	// As an image, a GL_ALPHA page samples (0, 0, 0, coverage): opaque black.
	assert_int_equal(pixel_at(f->pixels, 44, 24), 0x000000ffu);

	// Nothing to draw: no page, a zero tint, no area. Skipped, and not counted.
	l.dl.len = 0;
	add_glyph(&l, placed(0, 0, 8, 8), 0, 0xffffffffu, DRAW_NO_CLIP);
	add_glyph(&l, placed(10, 0, 8, 8), page.name, 0, DRAW_NO_CLIP);
	add_glyph(&l, placed(20, 0, 8, 0), page.name, 0xffffffffu, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 0);
	assert_int_equal(stats.nodes_drawn, 0);
	assert_all(f, 0, 0, WIDTH, HEIGHT, BACKGROUND);
	render_texture_finish(renderer, &white);
	render_texture_finish(renderer, &other);
	render_texture_finish(renderer, &page);
}

static void test_glyph_clip(void **state) {
	struct fixture *f = *state;
	struct render_texture page = solid_page(8, 8, 255);
	struct test_list l;
	test_list_init(&l);
	// An axis-aligned clip: a scissor, cutting the glyph to exactly its box.
	uint32_t clip = add_clip(&l, translate(12, 10), 5, 3, DRAW_NO_CLIP);
	add_glyph(&l, placed(10, 8, 8, 8), page.name, 0xff0000ffu, clip);
	struct render_stats stats = draw(f, &l.dl);
	uint32_t want[5 * 3];
	for (int k = 0; k < 5 * 3; k++) {
		want[k] = 0xff0000ffu;
	}
	assert_picture(f, 12, 10, 5, 3, want, BACKGROUND);
	assert_int_equal(stats.draw_calls, 1);
	assert_int_equal(stats.nodes_drawn, 1);
	// A glyph of the same page beside it under no clip: another scissor, another call.
	add_glyph(&l, placed(30, 8, 8, 8), page.name, 0xff0000ffu, DRAW_NO_CLIP);
	stats = draw(f, &l.dl);
	assert_int_equal(stats.draw_calls, 2);
	assert_all(f, 30, 8, 38, 16, 0xff0000ffu);
	assert_int_equal(pixel_at(f->pixels, 11, 9), BACKGROUND);

	// A turned clip: the stencil.
	test_list_init(&l);
	clip_a = turned(30, 32, 24, 40, 24);
	clip = add_clip(&l, clip_a, 40, 24, DRAW_NO_CLIP);
	add_glyph(&l, placed(-10, -10, 100, 100), page.name, 0x00ff00ffu, clip);
	stats = draw(f, &l.dl);
	assert_in_range(assert_region(f, in_clip_a, 0x00ff00ffu, BACKGROUND), 900, 1020);
	assert_int_equal(stats.draw_calls, 2); // the stencil write and the glyph
	assert_int_equal(stats.nodes_drawn, 1);
	render_texture_finish(renderer, &page);
}

int main(void) {
	backend = backend_headless_create(WIDTH, HEIGHT);
	if (backend == NULL) {
		fprintf(stderr, "test-render: no headless backend (EGL/GLES 2 unavailable)\n");
		return 1;
	}
	if (!backend->impl->begin_frame(backend)) {
		backend_destroy(backend);
		return 1;
	}
	renderer = renderer_create();
	if (renderer == NULL) {
		fprintf(stderr, "test-render: renderer_create failed\n");
		backend_destroy(backend);
		return 1;
	}

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_background, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sibling_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invisible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alpha_blend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clipped_at_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_rects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_draw_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_rect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rounded_corners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_border, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scissor_clip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stencil_clip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_clips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stencil_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layer_opacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layer_clipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_after_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canvas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_rgba8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_xrgb8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_rgb565, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_source_rect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_scaled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_tint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_rotated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_scissor_clip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_stencil_clip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_upload_in_bands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_texture_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glyph_coverage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glyph_source_rect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glyph_partial_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glyph_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glyph_clip, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	renderer_destroy(renderer);
	leak_check_now(); // before the driver is unloaded: see leakcheck.h
	backend_destroy(backend);
	return failed;
}
