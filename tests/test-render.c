/*
 * The renderer against the headless backend: real GLES 2 (llvmpipe on machines with no
 * GPU), checked pixel by pixel. No EGL is a failure, not a skip: the server needs it.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <epoxy/gl.h>

#include "backend.h"
#include "render.h"
#include "scene.h"
#include "leakcheck.h"

#define WIDTH 64
#define HEIGHT 48
#define BACKGROUND 0x203040ffu

static struct backend *backend;
static struct renderer *renderer;

// Each test's scene and nodes; teardown empties the scene whatever the test did.
struct fixture {
	struct scene scene;
	uint16_t owner;
	struct scene_node nodes[8];
	uint8_t pixels[WIDTH * HEIGHT * 4];
};

static int setup(void **state) {
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL) {
		return -1;
	}
	scene_init(&f->scene, BACKGROUND);
	f->owner = scene_owner_create(&f->scene);
	for (size_t i = 0; i < sizeof f->nodes / sizeof f->nodes[0]; i++) {
		scene_node_init(&f->nodes[i]);
	}
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof f->nodes / sizeof f->nodes[0]; i++) {
		scene_node_remove(&f->scene, &f->nodes[i]);
	}
	scene_owner_destroy(&f->scene, f->owner);
	scene_finish(&f->scene);
	free(f);
	return 0;
}

// The first commit of a node adds it to the scene; later ones change it.
static void commit_node(struct fixture *f, struct scene_node *node,
		const struct scene_rect_state *s) {
	if (scene_node_in_scene(node)) {
		scene_node_commit(&f->scene, node, s);
	} else {
		node->state = *s;
		assert_true(scene_node_add(&f->scene, f->owner, node));
	}
}

static void add_rect(struct fixture *f, size_t i, int32_t x, int32_t y, uint32_t w,
		uint32_t h, uint32_t rgba, int32_t z) {
	struct scene_rect_state s = {
		.x = x, .y = y, .width = w, .height = h, .rgba = rgba, .z = z, .visible = true,
	};
	commit_node(f, &f->nodes[i], &s);
}

static uint32_t pixel_at(const uint8_t *pixels, int x, int y) {
	const uint8_t *p = pixels + ((size_t)y * WIDTH + (size_t)x) * 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t capture_pixel(struct fixture *f, int x, int y) {
	return pixel_at(f->pixels, x, y);
}

static void capture(struct fixture *f) {
	memset(f->pixels, 0xa5, sizeof f->pixels); // anything not written stands out
	assert_true(renderer_capture(renderer, &f->scene, WIDTH, HEIGHT, f->pixels));
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
	add_rect(f, 0, 10, 5, 20, 8, 0xff8000ffu, 0);
	capture(f);
	// Inside, exactly up to the edges, and nothing one pixel beyond them.
	assert_all(f, 10, 5, 30, 13, 0xff8000ffu);
	assert_all(f, 0, 0, WIDTH, 5, BACKGROUND);
	assert_all(f, 0, 13, WIDTH, HEIGHT, BACKGROUND);
	assert_all(f, 0, 5, 10, 13, BACKGROUND);
	assert_all(f, 30, 5, WIDTH, 13, BACKGROUND);
}

static void test_z_order(void **state) {
	struct fixture *f = *state;
	// Committed first but with the higher z: on top of the later one.
	add_rect(f, 0, 0, 0, 20, 20, 0xff0000ffu, 5);
	add_rect(f, 1, 10, 10, 20, 20, 0x00ff00ffu, 1);
	// Equal z: the later commit is drawn over the earlier one.
	add_rect(f, 2, 40, 0, 10, 10, 0x0000ffffu, 0);
	add_rect(f, 3, 45, 5, 10, 10, 0xffff00ffu, 0);
	capture(f);
	assert_int_equal(capture_pixel(f, 15, 15), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 25, 25), 0x00ff00ffu);
	assert_int_equal(capture_pixel(f, 5, 5), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 47, 7), 0xffff00ffu);
	assert_int_equal(capture_pixel(f, 42, 2), 0x0000ffffu);
	assert_int_equal(capture_pixel(f, 52, 12), 0xffff00ffu);

	// Raising z later reorders: the green one now covers the overlap.
	struct scene_rect_state s = f->nodes[1].state;
	s.z = 9;
	commit_node(f, &f->nodes[1], &s);
	capture(f);
	assert_int_equal(capture_pixel(f, 15, 15), 0x00ff00ffu);
	assert_int_equal(capture_pixel(f, 5, 5), 0xff0000ffu);
}

static void test_invisible(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 0, 0, 32, 32, 0xffffffffu, 0);
	struct scene_rect_state s = f->nodes[0].state;
	s.visible = false;
	commit_node(f, &f->nodes[0], &s);
	add_rect(f, 1, 40, 0, 8, 8, 0xffffff00u, 0); // alpha 0
	add_rect(f, 2, 50, 0, 0, 8, 0xffffffffu, 0); // empty
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
	add_rect(f, 0, 8, 8, 16, 16, 0xffffffffu, 0);
	add_rect(f, 1, 16, 16, 16, 16, 0xff000080u, 1); // red at 50%, straight alpha
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
	add_rect(f, 0, -10, -10, 15, 15, 0xff0000ffu, 0);      // top-left corner
	add_rect(f, 1, WIDTH - 4, HEIGHT - 3, 100, 100, 0x00ff00ffu, 0); // bottom-right
	add_rect(f, 2, -1000, 20, 2000, 2, 0x0000ffffu, 0);    // wider than the screen
	add_rect(f, 3, WIDTH, 0, 10, 10, 0xffffffffu, 0);      // wholly off screen
	add_rect(f, 4, INT32_MAX - 5, INT32_MAX - 5, 32768, 32768, 0xffffffffu, 0);
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
	struct scene_node *nodes = calloc(N, sizeof *nodes);
	assert_non_null(nodes);
	for (int i = 0; i < N; i++) {
		scene_node_init(&nodes[i]);
		struct scene_rect_state s = {
			.x = (i % (WIDTH / 2)) * 2, .y = (i / (WIDTH / 2)) * 2, .width = 1,
			.height = 1, .rgba = (uint32_t)i << 8 | 0xff, .z = 0, .visible = true,
		};
		commit_node(f, &nodes[i], &s);
	}
	capture(f);
	for (int i = 0; i < N; i++) {
		int x = (i % (WIDTH / 2)) * 2, y = (i / (WIDTH / 2)) * 2;
		assert_int_equal(capture_pixel(f, x, y), (uint32_t)i << 8 | 0xff);
		assert_int_equal(capture_pixel(f, x + 1, y), BACKGROUND);
		assert_int_equal(capture_pixel(f, x, y + 1), BACKGROUND);
	}
	for (int i = 0; i < N; i++) {
		scene_node_remove(&f->scene, &nodes[i]);
	}
	// Fewer rects than last frame: nothing of the previous batch may linger.
	add_rect(f, 0, 0, 0, 2, 2, 0xffffffffu, 0);
	capture(f);
	assert_all(f, 0, 0, 2, 2, 0xffffffffu);
	assert_all(f, 2, 0, WIDTH, HEIGHT, BACKGROUND);
	free(nodes);
}

// A whole owner going (a client killed): its nodes' memory is freed before the next
// frame, which shows what is left and reads none of them (AddressSanitizer would say).
static void test_owner_gone(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 0, 0, 8, 8, 0xff0000ffu, 5);
	uint16_t other = scene_owner_create(&f->scene);
	assert_int_not_equal(other, 0);
	enum { N = 100 };
	struct scene_node *nodes = calloc(N, sizeof *nodes);
	assert_non_null(nodes);
	for (int i = 0; i < N; i++) {
		scene_node_init(&nodes[i]);
		nodes[i].state = (struct scene_rect_state){
			.x = i % 10 * 4, .y = i / 10 * 4, .width = 4, .height = 4,
			.rgba = 0x00ff00ffu, .z = i % 3 - 1, .visible = true,
		};
		assert_true(scene_node_add(&f->scene, other, &nodes[i]));
	}
	capture(f);
	assert_int_equal(capture_pixel(f, 2, 2), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 20, 20), 0x00ff00ffu);
	f->scene.damaged = false;
	scene_owner_destroy(&f->scene, other);
	assert_true(f->scene.damaged);
	memset(nodes, 0xee, N * sizeof *nodes);
	free(nodes);
	capture(f);
	assert_all(f, 0, 0, 8, 8, 0xff0000ffu);
	assert_all(f, 8, 0, WIDTH, HEIGHT, BACKGROUND);
	assert_all(f, 0, 8, 8, HEIGHT, BACKGROUND);
}

// epoxy calls GL through public function pointers, so a test can count draw calls.
static PFNGLDRAWARRAYSPROC real_draw_arrays;
static int draw_calls;
static GLsizei drawn_vertices;

static void GLAPIENTRY counting_draw_arrays(GLenum mode, GLint first, GLsizei count) {
	draw_calls++;
	drawn_vertices += count;
	real_draw_arrays(mode, first, count);
}

static void test_one_draw_call(void **state) {
	struct fixture *f = *state;
	// Different colours, z values, overlaps and an invisible one: still one batch.
	add_rect(f, 0, 0, 0, 10, 10, 0xff0000ffu, 3);
	add_rect(f, 1, 5, 5, 10, 10, 0x00ff0080u, -2);
	add_rect(f, 2, 20, 5, 10, 10, 0x0000ffffu, 7);
	add_rect(f, 3, 40, 5, 10, 10, 0xffffffffu, 0);
	add_rect(f, 4, 100, 100, 10, 10, 0xffffffffu, 0); // off screen: left out
	struct scene_rect_state s = f->nodes[3].state;
	s.visible = false;
	commit_node(f, &f->nodes[3], &s);
	capture(f); // resolves epoxy's pointer, so the real one is what we wrap

	real_draw_arrays = epoxy_glDrawArrays;
	epoxy_glDrawArrays = counting_draw_arrays;
	draw_calls = 0;
	drawn_vertices = 0;
	bool ok = renderer_capture(renderer, &f->scene, WIDTH, HEIGHT, f->pixels);
	epoxy_glDrawArrays = real_draw_arrays;
	assert_true(ok);
	assert_int_equal(draw_calls, 1);
	assert_int_equal(drawn_vertices, 3 * 6);
	assert_int_equal(capture_pixel(f, 2, 2), 0xff0000ffu);
	assert_int_equal(capture_pixel(f, 25, 10), 0x0000ffffu);
	assert_int_equal(capture_pixel(f, 45, 10), BACKGROUND);
}

static void test_capture_sizes(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 0, 0, 4, 2, 0xff0000ffu, 0);
	// A smaller capture, then back: the capture target follows the size asked for.
	uint8_t small[8 * 4 * 4];
	assert_true(renderer_capture(renderer, &f->scene, 8, 4, small));
	for (int y = 0; y < 4; y++) {
		for (int x = 0; x < 8; x++) {
			const uint8_t *p = small + (y * 8 + x) * 4;
			uint32_t got = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16
				| (uint32_t)p[2] << 8 | p[3];
			assert_int_equal(got, x < 4 && y < 2 ? 0xff0000ffu : BACKGROUND);
		}
	}
	capture(f);
	assert_all(f, 0, 0, 4, 2, 0xff0000ffu);
	assert_all(f, 4, 0, WIDTH, HEIGHT, BACKGROUND);
	assert_false(renderer_capture(renderer, &f->scene, 0, 4, small));
}

static void test_frame(void **state) {
	struct fixture *f = *state;
	add_rect(f, 0, 1, 2, 3, 4, 0x11223344u, 0);
	add_rect(f, 1, 30, 30, 10, 10, 0x00ffffffu, 0);
	assert_int_equal(backend->width, WIDTH);
	assert_int_equal(backend->height, HEIGHT);
	assert_true(backend->impl->begin_frame(backend));
	GLint fbo = 0;
	glGetIntegerv(GL_FRAMEBUFFER_BINDING, &fbo);
	assert_true(renderer_draw(renderer, &f->scene, backend->width, backend->height));
	assert_true(backend->impl->end_frame(backend));

	// A capture in between must leave the backend's framebuffer and viewport bound.
	uint8_t small[4 * 4 * 4];
	assert_true(renderer_capture(renderer, &f->scene, 4, 4, small));
	GLint after = -1, viewport[4] = { 0 };
	glGetIntegerv(GL_FRAMEBUFFER_BINDING, &after);
	glGetIntegerv(GL_VIEWPORT, viewport);
	assert_int_equal(after, fbo);
	assert_int_equal(viewport[2], WIDTH);
	assert_int_equal(viewport[3], HEIGHT);

	// What the frame drew is in the backend's framebuffer (GL rows run bottom up).
	glReadPixels(0, 0, WIDTH, HEIGHT, GL_RGBA, GL_UNSIGNED_BYTE, f->pixels);
	assert_int_equal(glGetError(), GL_NO_ERROR);
	int gl_y = HEIGHT - 1 - 35;
	assert_int_equal(pixel_at(f->pixels, 35, gl_y), 0x00ffffffu);
	assert_int_equal(pixel_at(f->pixels, 0, HEIGHT - 1), BACKGROUND);
	// 0x11223344 premultiplied by 0x44 over the background.
	uint32_t want = (uint32_t)blend(0x11, 0x44, 0x20) << 24
		| (uint32_t)blend(0x22, 0x44, 0x30) << 16
		| (uint32_t)blend(0x33, 0x44, 0x40) << 8 | 0xff;
	assert_near(pixel_at(f->pixels, 2, HEIGHT - 1 - 3), want, 2);
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
		cmocka_unit_test_setup_teardown(test_z_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invisible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alpha_blend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clipped_at_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_rects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_draw_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame, setup, teardown),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	renderer_destroy(renderer);
	leak_check_now(); // before the driver is unloaded: see leakcheck.h
	backend_destroy(backend);
	return failed;
}
