/*
 * End-to-end tests of images over shared memory on the real headless server, and of
 * tessera-demo-image: pixels
 * arrive exactly in every format; a damage update changes only its rectangle; one
 * buffer serves several image nodes through source rectangles; a destroyed buffer's
 * picture stays while a node shows it; bad memory (unsealed, too small, not a memfd)
 * and bad buffers get invalid_value; and clients that die holding pools, buffers and
 * textures, in every mode, leave no texture, texture byte, mapping or fd behind. All
 * judged from screenshots, tessera-info and /proc, against values computed here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <poll.h>
#include <png.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"
#include "wire.h"

#define CRASH_COLOR 0xff2020ffu // what tessera-crash fills its images with

static struct ts_image_node *image_at(struct ts_display *d, struct ts_buffer *b, double x,
		double y) {
	struct ts_image_node *img = ts_image_node_create(d, NULL);
	assert_non_null(img);
	assert_int_equal(ts_image_node_set_buffer(img, b), 0);
	assert_int_equal(ts_node_set_position(ts_image_node_node(img), x, y), 0);
	return img;
}

static void put_rgba(uint8_t *p, uint32_t rgba) {
	p[0] = (uint8_t)(rgba >> 24), p[1] = (uint8_t)(rgba >> 16);
	p[2] = (uint8_t)(rgba >> 8), p[3] = (uint8_t)rgba;
}

static void fill_rgba(struct ts_buffer *b, uint32_t w, uint32_t h, uint32_t rgba) {
	uint8_t *data = ts_buffer_data(b);
	assert_non_null(data);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			put_rgba(data + y * ts_buffer_get_stride(b) + 4 * x, rgba);
		}
	}
}

static void expect_pixel(const struct e2e_image *img, int x, int y, uint32_t want) {
	uint32_t got = e2e_pixel(img, x, y);
	if (got != want) {
		fail_msg("pixel (%d, %d) is %08x, expected %08x", x, y, got, want);
	}
}

/* ---- formats ---- */

// RGBA8: a 4 x 2 pattern of opaque colours and one fully transparent texel, which
// shows the background.
static void test_rgba8_exact(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-rgba8");
	static const uint32_t texels[8] = {
		0xff0000ffu, 0x00ff00ffu, 0x0000ffffu, 0x00000000u,
		0x102030ffu, 0xfefdfcffu, 0x7f8081ffu, 0x010203ffu,
	};
	struct ts_buffer *b = ts_buffer_create_shm(d, 4, 2, TS_FORMAT_RGBA8);
	assert_non_null(b);
	uint8_t *data = ts_buffer_data(b);
	for (int i = 0; i < 8; i++) {
		put_rgba(data + (i / 4) * ts_buffer_get_stride(b) + 4 * (i % 4), texels[i]);
	}
	struct ts_image_node *img = image_at(d, b, 10, 20);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	for (int i = 0; i < 8; i++) {
		expect_pixel(&shot, 10 + i % 4, 20 + i / 4, i == 3 ? f->srv.background : texels[i]);
	}
	// Drawn at its own size (0 x 0 node): nothing beyond it.
	expect_pixel(&shot, 14, 20, f->srv.background);
	expect_pixel(&shot, 10, 22, f->srv.background);
	expect_pixel(&shot, 9, 20, f->srv.background);
	e2e_image_free(&shot);

	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 1);
	assert_int_equal(info.texture_bytes, 4 * 2 * 4);
	assert_non_null(strstr(info.json, "\"textures\": 1, \"texture_bytes\": 32}"));
	ts_image_node_destroy(img);
	ts_buffer_destroy(b);
	ts_display_disconnect(d);
}

// XRGB8: the X byte is ignored (garbage here), every pixel opaque.
static void test_xrgb8_exact(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-xrgb8");
	static const uint32_t rgb[3] = { 0x123456u, 0xabcdefu, 0xff0080u };
	struct ts_buffer *b = ts_buffer_create_shm(d, 3, 1, TS_FORMAT_XRGB8);
	assert_non_null(b);
	uint8_t *data = ts_buffer_data(b);
	for (int i = 0; i < 3; i++) {
		uint32_t v = 0x5a000000u | rgb[i]; // little endian in memory: B, G, R, X
		memcpy(data + 4 * i, &v, 4);
	}
	image_at(d, b, 30, 40);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	for (int i = 0; i < 3; i++) {
		expect_pixel(&shot, 30 + i, 40, rgb[i] << 8 | 0xffu);
	}
	e2e_image_free(&shot);
	ts_display_disconnect(d);
}

// RGB565: values whose expansion to 8 bits is the same by rounding and by bit
// replication (both are allowed to a GPU): 0, 8, 16, 31 of 31 and 0, 16, 32, 63 of 63.
static void test_rgb565_exact(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-rgb565");
	static const uint16_t r5[4] = { 0, 8, 16, 31 }, g6[4] = { 63, 32, 16, 0 };
	static const uint16_t b5[4] = { 16, 31, 0, 8 };
	struct ts_buffer *b = ts_buffer_create_shm(d, 4, 1, TS_FORMAT_RGB565);
	assert_non_null(b);
	uint8_t *data = ts_buffer_data(b);
	for (int i = 0; i < 4; i++) {
		uint16_t v = (uint16_t)(r5[i] << 11 | g6[i] << 5 | b5[i]);
		memcpy(data + 2 * i, &v, 2);
	}
	image_at(d, b, 5, 5);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	for (int i = 0; i < 4; i++) {
		uint32_t r = (r5[i] * 255u + 15) / 31, g = (g6[i] * 255u + 31) / 63;
		uint32_t bl = (b5[i] * 255u + 15) / 31;
		expect_pixel(&shot, 5 + i, 5, r << 24 | g << 16 | bl << 8 | 0xffu);
	}
	e2e_image_free(&shot);
	ts_display_disconnect(d);
}

/* ---- updates, sprites, lifetime ---- */

// The whole buffer is rewritten but only a 16 x 16 box is damaged: only that box
// changes on screen, so only it was uploaded.
static void test_damage_uploads_only_its_box(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-damage");
	struct ts_buffer *b = ts_buffer_create_shm(d, 64, 64, TS_FORMAT_RGBA8);
	assert_non_null(b);
	fill_rgba(b, 64, 64, 0xff0000ffu);
	image_at(d, b, 100, 50);
	e2e_commit(d);
	fill_rgba(b, 64, 64, 0x00ff00ffu);
	assert_int_equal(ts_buffer_damage(b, 8, 12, 16, 16), 0);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	size_t green = 0, red = 0;
	for (int y = 0; y < 64; y++) {
		for (int x = 0; x < 64; x++) {
			bool inside = x >= 8 && x < 24 && y >= 12 && y < 28;
			uint32_t want = inside ? 0x00ff00ffu : 0xff0000ffu;
			expect_pixel(&shot, 100 + x, 50 + y, want);
			green += inside;
			red += !inside;
		}
	}
	assert_int_equal(green, 256);
	assert_int_equal(red, 64 * 64 - 256);
	e2e_image_free(&shot);
	// A damage box that reaches past the buffer is cut to it.
	assert_int_equal(ts_buffer_damage(b, 60, 60, 1000, 1000), 0);
	e2e_commit(d);
	e2e_shot(&f->srv, &shot);
	expect_pixel(&shot, 100 + 63, 50 + 63, 0x00ff00ffu);
	expect_pixel(&shot, 100 + 59, 50 + 63, 0xff0000ffu);
	e2e_image_free(&shot);
	ts_display_disconnect(d);
}

// One pool, two buffers; one buffer shown by two nodes through different source
// rectangles, one of them scaled up by its node size.
static void test_sprites_share_a_buffer(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-sprites");
	struct ts_shm_pool *pool = ts_shm_pool_create(d, 2 * 8 * 4 * 4);
	assert_non_null(pool);
	// Buffer 1: 8 x 4, left half blue, right half yellow. Buffer 2 after it: magenta.
	struct ts_buffer *sheet = ts_buffer_create(pool, 0, 8, 4, 32, TS_FORMAT_RGBA8);
	struct ts_buffer *other = ts_buffer_create(pool, 128, 8, 4, 32, TS_FORMAT_RGBA8);
	assert_non_null(sheet);
	assert_non_null(other);
	uint8_t *data = ts_shm_pool_data(pool);
	for (int i = 0; i < 32; i++) {
		put_rgba(data + 4 * i, i % 8 < 4 ? 0x0000ffffu : 0xffff00ffu);
		put_rgba(data + 128 + 4 * i, 0xff00ffffu);
	}
	struct ts_image_node *left = image_at(d, sheet, 10, 10);
	assert_int_equal(ts_image_node_set_source(left, 0, 0, 4, 4), 0);
	struct ts_image_node *right = image_at(d, sheet, 40, 10);
	assert_int_equal(ts_image_node_set_source(right, 4, 0, 4, 4), 0);
	assert_int_equal(ts_node_set_size(ts_image_node_node(right), 8, 8), 0);
	image_at(d, other, 70, 10);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	expect_pixel(&shot, 10, 10, 0x0000ffffu);
	expect_pixel(&shot, 13, 13, 0x0000ffffu);
	expect_pixel(&shot, 14, 10, f->srv.background); // 4 x 4 only
	expect_pixel(&shot, 40, 10, 0xffff00ffu);
	expect_pixel(&shot, 47, 17, 0xffff00ffu);       // scaled to 8 x 8
	expect_pixel(&shot, 48, 10, f->srv.background);
	expect_pixel(&shot, 77, 13, 0xff00ffffu);
	e2e_image_free(&shot);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 2);
	assert_int_equal(e2e_server_memfd_maps(&f->srv), 1); // one pool, one mapping
	ts_display_disconnect(d);
}

static void frame_done(void *data, uint32_t time_ms) {
	*(bool *)data = true;
}

// Sprites of ten small buffers, 200 nodes taking turns among them: the buffers share a
// page of the atlas of small images, so the frame is one draw call for all of them (and
// one more at most for the background's clear), and every sprite shows its own pixels.
static void test_small_buffers_batch(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-small-buffers");
	enum { N = 10, SIDE = 16 };
	struct ts_buffer *buffers[N];
	uint32_t colors[N];
	for (int i = 0; i < N; i++) {
		colors[i] = (uint32_t)(0x10 + 20 * i) << 24 | (uint32_t)(0xf0 - 20 * i) << 16 |
			(uint32_t)(0x40 + 9 * i) << 8 | 0xffu;
		// Every format: the atlas holds them all as RGBA.
		enum ts_format format = i % 3 == 0 ? TS_FORMAT_RGBA8 : TS_FORMAT_XRGB8;
		buffers[i] = ts_buffer_create_shm(d, SIDE, SIDE, format);
		assert_non_null(buffers[i]);
		uint8_t *data = ts_buffer_data(buffers[i]);
		for (int p = 0; p < SIDE * SIDE; p++) {
			uint8_t *px = data + 4 * p;
			if (format == TS_FORMAT_RGBA8) {
				put_rgba(px, colors[i]);
			} else {
				px[0] = (uint8_t)(colors[i] >> 8), px[1] = (uint8_t)(colors[i] >> 16);
				px[2] = (uint8_t)(colors[i] >> 24), px[3] = 0x5a; // X: ignored
			}
		}
	}
	for (int k = 0; k < 200; k++) {
		image_at(d, buffers[k % N], (k % 20) * SIDE, (k / 20) * SIDE);
	}
	// The frame that shows the commit is the last one drawn when its callback comes.
	bool shown = false;
	assert_int_equal(ts_display_frame(d, frame_done, &shown), 0);
	e2e_commit(d);
	while (!shown) {
		assert_int_equal(ts_display_roundtrip(d), 0);
	}
	struct ts_server_info server_info;
	assert_int_equal(ts_display_query_info(d, &server_info), 0);
	uint32_t calls = server_info.frame.draw_calls;
	ts_server_info_finish(&server_info);
	if (calls < 1 || calls > 2) {
		fail_msg("200 sprites of 10 buffers took %u draw calls", calls);
	}
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	for (int k = 0; k < 200; k++) {
		expect_pixel(&shot, (k % 20) * SIDE + 3, (k / 20) * SIDE + 5, colors[k % N]);
		expect_pixel(&shot, (k % 20) * SIDE + SIDE - 1, (k / 20) * SIDE + SIDE - 1,
			colors[k % N]);
	}
	e2e_image_free(&shot);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, N);
	assert_int_equal(info.texture_bytes, N * SIDE * SIDE * 4);
	// A damage update of one buffer reaches its sprites, and only theirs.
	uint8_t *data = ts_buffer_data(buffers[4]); // an XRGB8 one
	for (int p = 0; p < SIDE * SIDE; p++) {
		data[4 * p] = 0x00, data[4 * p + 1] = 0x00, data[4 * p + 2] = 0xff, data[4 * p + 3] = 0;
	}
	assert_int_equal(ts_buffer_damage(buffers[4], 0, 0, SIDE, SIDE), 0);
	e2e_commit(d);
	e2e_shot(&f->srv, &shot);
	expect_pixel(&shot, 4 * SIDE + 3, 5, 0xff0000ffu);   // XRGB8 bytes B, G, R, X
	expect_pixel(&shot, 14 * SIDE + 3, 5, 0xff0000ffu);  // the same buffer's again
	expect_pixel(&shot, 5 * SIDE + 3, 5, colors[5]);
	e2e_image_free(&shot);
	ts_display_disconnect(d);
}

// Inline buffers: the pixels travel in the request, in every format, and show exactly;
// they take no pool and no mapping; damage on one changes nothing; a size that does not
// match its bytes is invalid_value.
static void test_inline_buffers(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-inline");
	uint8_t rgba[3 * 2 * 4], xrgb[3 * 2 * 4], rgb565[3 * 2 * 2 + 2];
	static const uint32_t want[6] = { 0xff0000ffu, 0x00ff00ffu, 0x0000ffffu,
		0xffffffffu, 0x000000ffu, 0x808080ffu };
	static const uint16_t want565[6] = { 0xf800, 0x07e0, 0x001f, 0xffff, 0x0000, 0x8410 };
	for (int i = 0; i < 6; i++) {
		put_rgba(rgba + 4 * i, want[i]);
		xrgb[4 * i] = (uint8_t)(want[i] >> 8), xrgb[4 * i + 1] = (uint8_t)(want[i] >> 16);
		xrgb[4 * i + 2] = (uint8_t)(want[i] >> 24), xrgb[4 * i + 3] = 0x33;
	}
	// RGB565 rows padded to 8 bytes: the stride is the caller's.
	memset(rgb565, 0xee, sizeof rgb565);
	for (int j = 0; j < 2; j++) {
		for (int i = 0; i < 3; i++) {
			uint16_t v = want565[j * 3 + i];
			rgb565[j * 7 + 2 * i] = (uint8_t)v, rgb565[j * 7 + 2 * i + 1] = (uint8_t)(v >> 8);
		}
	}
	struct ts_buffer *a = ts_buffer_create_inline(d, 3, 2, TS_FORMAT_RGBA8, rgba, 12);
	struct ts_buffer *b = ts_buffer_create_inline(d, 3, 2, TS_FORMAT_XRGB8, xrgb, 12);
	struct ts_buffer *c = ts_buffer_create_inline(d, 3, 2, TS_FORMAT_RGB565, rgb565, 7);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_null(ts_buffer_data(a)); // no memory of ours to write into
	image_at(d, a, 10, 10);
	image_at(d, b, 20, 10);
	image_at(d, c, 30, 10);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	for (int j = 0; j < 2; j++) {
		for (int i = 0; i < 3; i++) {
			expect_pixel(&shot, 10 + i, 10 + j, want[j * 3 + i]);
			expect_pixel(&shot, 20 + i, 10 + j, want[j * 3 + i]);
		}
	}
	// RGB565 widened as GL does: 0x8410 is 132, 130, 132.
	expect_pixel(&shot, 30, 10, 0xff0000ffu);
	expect_pixel(&shot, 32, 11, 0x848284ffu);
	expect_pixel(&shot, 13, 10, f->srv.background);
	e2e_image_free(&shot);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 3);
	assert_int_equal(e2e_server_memfd_maps(&f->srv), 0);
	// Too big for a message: refused here, nothing sent.
	static uint8_t big[64 * 64 * 4];
	assert_null(ts_buffer_create_inline(d, 64, 64, TS_FORMAT_RGBA8, big, 256));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ts_buffer_damage(a, 0, 0, 1, 1), 0);
	e2e_commit(d);
	e2e_shot(&f->srv, &shot);
	expect_pixel(&shot, 10, 10, want[0]);
	e2e_image_free(&shot);
	ts_display_disconnect(d);
	// A size that is not the bytes sent, by hand.
	struct peer p;
	e2e_peer_connect(&p, f->srv.socket);
	e2e_peer_send(&p, TS_REQ_hello, (union ts_arg[]){ { .u = 2 }, { .s = "e2e-inline-bad" } });
	e2e_peer_send(&p, TS_REQ_buffer_create_inline, (union ts_arg[]){ { .u = 1 }, { .u = 4 },
		{ .u = 4 }, { .u = 0 }, { .a = { .data = rgba, .size = 24 } } });
	e2e_peer_drain(&p, 5000);
	assert_int_equal(p.code, TS_ERR_invalid_value);
	peer_close(&p);
}

// 40 buffers, each in a pool of its own, made in a row with no round trip between: more
// fds than a connection queues at once (28), so libtessera sends as it goes.
static void test_many_pools_in_a_row(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-many-pools");
	for (int i = 0; i < 40; i++) {
		struct ts_buffer *b = ts_buffer_create_shm(d, 4, 4, TS_FORMAT_RGBA8);
		assert_non_null(b);
		fill_rgba(b, 4, 4, 0x102030ffu + ((uint32_t)i << 24));
		image_at(d, b, (i % 20) * 8, (i / 20) * 8);
	}
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	for (int i = 0; i < 40; i++) {
		expect_pixel(&shot, (i % 20) * 8 + 1, (i / 20) * 8 + 1, 0x102030ffu + ((uint32_t)i << 24));
	}
	e2e_image_free(&shot);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 40);
	ts_display_disconnect(d);
}

// A buffer destroyed while a node shows it: the picture stays, and so does its
// texture, until the node is destroyed.
static void test_destroyed_buffer_keeps_its_picture(void **state) {
	struct e2e_fixture *f = *state;
	struct ts_display *d = e2e_join(&f->srv, "e2e-orphan");
	struct ts_buffer *b = ts_buffer_create_shm(d, 16, 16, TS_FORMAT_RGBA8);
	assert_non_null(b);
	fill_rgba(b, 16, 16, 0x00ffffffu);
	struct ts_image_node *img = image_at(d, b, 20, 20);
	e2e_commit(d);
	assert_int_equal(ts_buffer_destroy(b), 0);
	e2e_commit(d);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	expect_pixel(&shot, 27, 27, 0x00ffffffu);
	e2e_image_free(&shot);
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 1);
	assert_int_equal(e2e_server_memfd_maps(&f->srv), 0); // the mapping went with it
	assert_int_equal(ts_image_node_destroy(img), 0);
	e2e_commit(d);
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 0);
	assert_int_equal(info.texture_bytes, 0);
	e2e_shot(&f->srv, &shot);
	expect_pixel(&shot, 27, 27, f->srv.background);
	e2e_image_free(&shot);
	ts_display_disconnect(d);
}

/* ---- bad memory and bad buffers ---- */

// The connection ends with invalid_value, and the message says @why.
static void expect_invalid(struct ts_display *d, const char *why) {
	assert_int_equal(ts_display_roundtrip(d), -1);
	const char *message = NULL;
	assert_int_equal(ts_display_get_protocol_error(d, NULL, &message), TS_ERR_invalid_value);
	if (message == NULL || strstr(message, why) == NULL) {
		fail_msg("the error says \"%s\", not \"%s\"", message ? message : "", why);
	}
	ts_display_disconnect(d);
}

static int memfd_of(size_t size, bool seal) {
	int fd = memfd_create("e2e-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seal) {
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	}
	return fd;
}

static void test_bad_memory(void **state) {
	struct e2e_fixture *f = *state;
	// Not sealed against shrinking: truncating it later would fault the server.
	struct ts_display *d = e2e_join(&f->srv, "e2e-unsealed");
	int fd = memfd_of(4096, false);
	assert_non_null(ts_shm_pool_create_fd(d, fd, 4096));
	expect_invalid(d, "sealed against shrinking");
	close(fd);
	// Sealed, but smaller than the pool it claims to be.
	d = e2e_join(&f->srv, "e2e-small");
	fd = memfd_of(4096, true);
	assert_non_null(ts_shm_pool_create_fd(d, fd, 8192));
	expect_invalid(d, "smaller than the pool");
	close(fd);
	// Not a memfd at all: a pipe.
	d = e2e_join(&f->srv, "e2e-pipe");
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_non_null(ts_shm_pool_create_fd(d, p[0], 4096));
	expect_invalid(d, "not a memfd");
	close(p[0]);
	close(p[1]);
	// A buffer whose rows run past its pool.
	d = e2e_join(&f->srv, "e2e-overrun");
	struct ts_shm_pool *pool = ts_shm_pool_create(d, 1024);
	assert_non_null(pool);
	assert_non_null(ts_buffer_create(pool, 512, 16, 16, 64, TS_FORMAT_RGBA8));
	expect_invalid(d, "past the pool");
	// A stride shorter than a row, and a format that does not exist.
	d = e2e_join(&f->srv, "e2e-stride");
	pool = ts_shm_pool_create(d, 4096);
	assert_non_null(ts_buffer_create(pool, 0, 16, 4, 32, TS_FORMAT_RGBA8));
	expect_invalid(d, "stride");
	d = e2e_join(&f->srv, "e2e-format");
	pool = ts_shm_pool_create(d, 4096);
	assert_non_null(ts_buffer_create(pool, 0, 4, 4, 16, (enum ts_format)7));
	expect_invalid(d, "format 7");
	// Wider than any GPU's textures (the limit is the server's GPU's, at run time).
	d = e2e_join(&f->srv, "e2e-huge");
	pool = ts_shm_pool_create(d, 4u << 20);
	assert_non_null(ts_buffer_create(pool, 0, 1u << 20, 1, 4u << 20, TS_FORMAT_RGBA8));
	expect_invalid(d, "maximum texture size");
}

/* ---- tessera-demo-image ---- */

// tessera-demo-image shows a PNG written here with libpng: centred on the screen (it
// fits, so unscaled), every pixel as in the file.
static void test_demo_image(void **state) {
	struct e2e_fixture *f = *state;
	enum { W = 12, H = 6 };
	uint8_t rgba[W * H * 4];
	for (int i = 0; i < W * H; i++) {
		uint8_t *p = rgba + 4 * i;
		p[0] = (uint8_t)(i * 3), p[1] = (uint8_t)(255 - i * 2), p[2] = (uint8_t)(i * 5 + 1);
		p[3] = 255;
	}
	char path[160];
	snprintf(path, sizeof path, "%s/demo.png", f->srv.dir);
	png_image png = { .version = PNG_IMAGE_VERSION, .width = W, .height = H,
		.format = PNG_FORMAT_RGBA };
	assert_true(png_image_write_to_file(&png, path, 0, rgba, W * 4, NULL));
	const char *argv[] = { e2e_bin("TESSERA_DEMO_IMAGE"), "--socket", f->srv.socket, path,
		NULL };
	pid_t pid = e2e_spawn(argv, -1);
	struct e2e_info info;
	for (int tries = 0; tries < 200; tries++) {
		e2e_info(&f->srv, &info);
		if (info.clients == 1 && info.textures == 1 && info.objects >= 3) {
			break;
		}
		poll(NULL, 0, 20);
	}
	assert_int_equal(info.textures, 1);
	assert_int_equal(info.texture_bytes, W * H * 4);
	struct e2e_image shot;
	e2e_shot(&f->srv, &shot);
	int x0 = (shot.width - W) / 2, y0 = (shot.height - H) / 2;
	for (int i = 0; i < W * H; i++) {
		const uint8_t *p = rgba + 4 * i;
		uint32_t want = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | 0xff;
		expect_pixel(&shot, x0 + i % W, y0 + i / W, want);
	}
	expect_pixel(&shot, x0 - 1, y0, f->srv.background);
	expect_pixel(&shot, x0 + W, y0 + H - 1, f->srv.background);
	e2e_image_free(&shot);
	kill(pid, SIGTERM);
	e2e_crash_reap(pid, SIGTERM);
	unlink(path);
}

/* ---- clients that die holding images ---- */

// tessera-crash with 200 rects and 40 image buffers in one pool, each shown by a node,
// dies in @mode: no texture, texture byte, mapping, object or fd of it is left.
static void run_image_crash(void **state, const char *mode, int expect_signal) {
	struct e2e_fixture *f = *state;
	pid_t pid = e2e_crash_start_images(&f->srv, mode, "200", false, "40");
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.textures, 40);
	assert_int_equal(info.texture_bytes, 40 * 64 * 64 * 4);
	assert_int_equal(e2e_server_memfd_maps(&f->srv), 1);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	// 40 images of 64 x 64 tiled from the top left corner, five across on this
	// 320-pixel screen, over the rects (which leave gaps between them): the first
	// three rows are solid.
	for (int y = 0; y < 3 * 64; y++) {
		for (int x = 0; x < 5 * 64; x++) {
			expect_pixel(&img, x, y, CRASH_COLOR);
		}
	}
	e2e_image_free(&img);
	e2e_crash_reap(pid, expect_signal);
	struct ts_display *d = e2e_after_crash(&f->srv, "e2e-after-image-crash");
	ts_display_disconnect(d);
}

static void test_image_crash_segv(void **state) { run_image_crash(state, "segv", SIGSEGV); }
static void test_image_crash_abort(void **state) { run_image_crash(state, "abort", SIGABRT); }
static void test_image_crash_kill(void **state) { run_image_crash(state, "kill", SIGKILL); }
static void test_image_crash_midmsg(void **state) { run_image_crash(state, "midmsg", SIGKILL); }
static void test_image_crash_exit(void **state) { run_image_crash(state, "exit", 0); }

int main(void) {
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, e2e_fixture_setup, e2e_fixture_teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_rgba8_exact),
		TEST(test_xrgb8_exact),
		TEST(test_rgb565_exact),
		TEST(test_damage_uploads_only_its_box),
		TEST(test_sprites_share_a_buffer),
		TEST(test_small_buffers_batch),
		TEST(test_inline_buffers),
		TEST(test_many_pools_in_a_row),
		TEST(test_destroyed_buffer_keeps_its_picture),
		TEST(test_bad_memory),
		TEST(test_demo_image),
		TEST(test_image_crash_segv),
		TEST(test_image_crash_abort),
		TEST(test_image_crash_kill),
		TEST(test_image_crash_midmsg),
		TEST(test_image_crash_exit),
	};
#undef TEST
	return cmocka_run_group_tests(tests, NULL, NULL);
}
