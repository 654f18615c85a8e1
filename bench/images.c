/*
 * The image scenarios:
 *
 * - frame_ms_sprites_1000: 1,000 32x32 image nodes sharing 10 small buffers (one atlas
 *   page on the server), all moving every frame, through an unpaced server, beside
 *   raw_gl_sprites_frame_ms_1000: plain GLES 2 drawing the same quads from one texture
 *   in one draw call; draw_calls_sprites_1000.
 * - image_update_us: a 256x256 box of a 1920x1080 buffer changed, damaged and
 *   committed, the server's cost measured as the commit's round trip minus that of an
 *   empty commit, beside raw_gl_texsubimage_us: plain glTexSubImage2D of the same box
 *   from a 1920-wide client buffer (GL_UNPACK_ROW_LENGTH) and glFinish;
 *   image_update_bytes: the texels that update changed, read back from screenshots.
 * - cleanup_ms_images_texts: a client holding 100 buffers of 1 MiB, each shown, and 100
 *   texts is SIGKILLed: the server's time in client_destroy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <epoxy/gl.h>

#include <tessera/client.h>

#include "backend.h"
#include "bench.h"
#include "log.h"

static int compare_u64(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

// The median of @n timings (sorts them).
static double median_ns(uint64_t *ns, size_t n) {
	qsort(ns, n, sizeof *ns, compare_u64);
	return n % 2 ? (double)ns[n / 2] : ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2;
}

static void reap_or_fail(pid_t pid, const char *what) {
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_fail("%s failed (status %d)", what, status);
	}
}

// Both plain GL children raise glibc's thresholds first, as text.c's does: llvmpipe
// allocates its vertex and bin buffers per draw, and in a process this small glibc
// would map (or grow the heap for) and give back megabytes every frame, and the page
// faults would double the frame. A long-running process with a busy heap (the server)
// keeps that memory; so does this one.
static struct backend *gl_child_start(void) {
	log_set_level(LOG_ERROR);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	struct backend *backend = backend_headless_create(BENCH_WIDTH, BENCH_HEIGHT);
	if (backend == NULL || !backend->impl->begin_frame(backend)) {
		return NULL;
	}
	return backend;
}

static const char *const tex_vert_src =
	"#version 100\n"
	"uniform vec2 u_scale;\n"
	"attribute vec2 a_pos;\n"
	"attribute vec2 a_uv;\n"
	"varying vec2 v_uv;\n"
	"void main() {\n"
	"  v_uv = a_uv;\n"
	"  gl_Position = vec4(a_pos * u_scale + vec2(-1.0, 1.0), 0.0, 1.0);\n"
	"}\n";
static const char *const tex_frag_src =
	"#version 100\n"
	"precision mediump float;\n"
	"uniform sampler2D u_tex;\n"
	"varying vec2 v_uv;\n"
	"void main() { gl_FragColor = texture2D(u_tex, v_uv); }\n";

struct tex_vertex {
	float x, y, u, v;
};

// The textured program, in use, its scale set for 1280x720 pixels; 0 on failure.
static GLuint tex_program(void) {
	GLuint program = glCreateProgram();
	const char *const sources[] = { tex_vert_src, tex_frag_src };
	const GLenum types[] = { GL_VERTEX_SHADER, GL_FRAGMENT_SHADER };
	for (int i = 0; i < 2; i++) {
		GLuint shader = glCreateShader(types[i]);
		glShaderSource(shader, 1, &sources[i], NULL);
		glCompileShader(shader);
		glAttachShader(program, shader);
		glDeleteShader(shader);
	}
	glBindAttribLocation(program, 0, "a_pos");
	glBindAttribLocation(program, 1, "a_uv");
	glLinkProgram(program);
	GLint ok = 0;
	glGetProgramiv(program, GL_LINK_STATUS, &ok);
	if (!ok) {
		return 0;
	}
	glUseProgram(program);
	glUniform2f(glGetUniformLocation(program, "u_scale"), 2.0f / BENCH_WIDTH,
		-2.0f / BENCH_HEIGHT);
	glUniform1i(glGetUniformLocation(program, "u_tex"), 0);
	return program;
}

static void tex_attribs(void) {
	glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(struct tex_vertex),
		(const void *)offsetof(struct tex_vertex, x));
	glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, sizeof(struct tex_vertex),
		(const void *)offsetof(struct tex_vertex, u));
	glEnableVertexAttribArray(0);
	glEnableVertexAttribArray(1);
}

// A texture of @width x @height RGBA8 from @pixels (rows tight, NULL: undefined),
// sampled linearly, clamped, as the server samples its image textures.
static GLuint rgba_texture(int width, int height, const void *pixels) {
	GLuint tex;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
		pixels);
	glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
	return tex;
}

/* ---- 1,000 sprites of 10 small images against plain GL ---- */

#define SPRITES 1000
#define SPRITE_IMAGES 10
#define SPRITE_SIZE 32

// Texel (@x, @y) of sprite image @k, premultiplied RGBA8: a disc in a colour of its own
// shaded across, with a half-covered rim, on transparent.
static void sprite_texel(uint32_t k, uint32_t x, uint32_t y, uint8_t out[4]) {
	float dx = (float)x - 15.5f, dy = (float)y - 15.5f, d2 = dx * dx + dy * dy;
	uint32_t a = d2 <= 14.0f * 14.0f ? 255 : d2 <= 16.0f * 16.0f ? 128 : 0;
	uint32_t shade = 128 + (x + y) * 2;
	const uint32_t rgb[3] = { (k * 97 + 40) % 256, (k * 53 + 120) % 256, (k * 29 + 200) % 256 };
	for (int i = 0; i < 3; i++) {
		out[i] = (uint8_t)(rgb[i] * shade / 255 * a / 255);
	}
	out[3] = (uint8_t)a;
}

// Child process: @frames frames of the 1,000 sprites, four vertices each built on the
// CPU and uploaded every frame, static indices, one draw call from one texture holding
// the 10 images side by side; writes ms per frame to @out.
static int sprites_gl_child(uint32_t frames, int out) {
	struct backend *backend = gl_child_start();
	if (backend == NULL) {
		return 2;
	}
	enum { TEX_W = SPRITE_IMAGES * SPRITE_SIZE };
	static uint8_t texels[SPRITE_SIZE][TEX_W][4];
	for (uint32_t k = 0; k < SPRITE_IMAGES; k++) {
		for (uint32_t y = 0; y < SPRITE_SIZE; y++) {
			for (uint32_t x = 0; x < SPRITE_SIZE; x++) {
				sprite_texel(k, x, y, texels[y][k * SPRITE_SIZE + x]);
			}
		}
	}
	GLuint program = tex_program();
	if (program == 0) {
		return 2;
	}
	GLuint tex = rgba_texture(TEX_W, SPRITE_SIZE, texels);
	struct tex_vertex *verts = malloc(SPRITES * 4 * sizeof *verts);
	uint16_t *indices = malloc(SPRITES * 6 * sizeof *indices);
	if (verts == NULL || indices == NULL) {
		return 2;
	}
	for (size_t i = 0; i < SPRITES; i++) {
		const uint16_t order[6] = { 0, 1, 2, 2, 1, 3 };
		for (int k = 0; k < 6; k++) {
			indices[i * 6 + (size_t)k] = (uint16_t)(i * 4 + order[k]);
		}
	}
	GLuint vbo, ibo;
	glGenBuffers(1, &vbo);
	glGenBuffers(1, &ibo);
	glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, ibo);
	glBufferData(GL_ELEMENT_ARRAY_BUFFER, SPRITES * 6 * sizeof *indices, indices,
		GL_STATIC_DRAW);
	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 0; f < warmup + frames; f++) {
		if (f == warmup) {
			start = bench_now_ns();
		}
		for (uint32_t i = 0; i < SPRITES; i++) {
			int32_t x, y;
			bench_rect_position(i, f, &x, &y);
			float x0 = (float)x, y0 = (float)y, x1 = x0 + SPRITE_SIZE, y1 = y0 + SPRITE_SIZE;
			float u0 = (float)(i % SPRITE_IMAGES) / SPRITE_IMAGES;
			float u1 = u0 + 1.0f / SPRITE_IMAGES;
			struct tex_vertex *v = &verts[i * 4];
			v[0] = (struct tex_vertex){ x0, y0, u0, 0 };
			v[1] = (struct tex_vertex){ x1, y0, u1, 0 };
			v[2] = (struct tex_vertex){ x0, y1, u0, 1 };
			v[3] = (struct tex_vertex){ x1, y1, u1, 1 };
		}
		glClearColor(0.125f, 0.157f, 0.2f, 1.0f);
		glClear(GL_COLOR_BUFFER_BIT);
		glBindBuffer(GL_ARRAY_BUFFER, vbo);
		glBufferData(GL_ARRAY_BUFFER, SPRITES * 4 * sizeof *verts, verts, GL_STREAM_DRAW);
		tex_attribs();
		glDrawElements(GL_TRIANGLES, SPRITES * 6, GL_UNSIGNED_SHORT, NULL);
		glFinish();
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	if (glGetError() != GL_NO_ERROR) {
		return 2;
	}
	ssize_t put = write(out, &ms, sizeof ms);
	free(verts);
	free(indices);
	glDeleteBuffers(1, &vbo);
	glDeleteBuffers(1, &ibo);
	glDeleteTextures(1, &tex);
	glDeleteProgram(program);
	backend_destroy(backend);
	return put == (ssize_t)sizeof ms ? 0 : 2;
}

static double sprites_gl_frame_ms(uint32_t frames) {
	int fds[2];
	if (pipe(fds) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		_exit(sprites_gl_child(frames, fds[1]));
	}
	close(fds[1]);
	double ms = 0;
	ssize_t n = read(fds[0], &ms, sizeof ms);
	close(fds[0]);
	reap_or_fail(pid, "the plain GL sprites baseline");
	if (n != (ssize_t)sizeof ms) {
		bench_fail("the plain GL sprites baseline drew nothing");
	}
	return ms;
}

// The same through the server: 10 shm buffers, 1,000 image nodes drawn at their size
// (32x32), every one moved every frame. *@draw_calls: the last frame's.
static double sprites_frame_ms(struct bench *b, uint32_t frames, uint32_t *draw_calls) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = bench_connect_or_fail(&server, "bench-sprites");
	struct ts_buffer *buffers[SPRITE_IMAGES];
	for (uint32_t k = 0; k < SPRITE_IMAGES; k++) {
		buffers[k] = ts_buffer_create_shm(display, SPRITE_SIZE, SPRITE_SIZE, TS_FORMAT_RGBA8);
		if (buffers[k] == NULL) {
			bench_check(display, -1, "buffer_create_shm");
		}
		uint8_t *p = ts_buffer_data(buffers[k]);
		uint32_t stride = ts_buffer_get_stride(buffers[k]);
		for (uint32_t y = 0; y < SPRITE_SIZE; y++) {
			for (uint32_t x = 0; x < SPRITE_SIZE; x++) {
				sprite_texel(k, x, y, p + (size_t)y * stride + x * 4);
			}
		}
	}
	struct ts_image_node **sprites = malloc(SPRITES * sizeof *sprites);
	if (sprites == NULL) {
		bench_fail("out of memory");
	}
	for (uint32_t i = 0; i < SPRITES; i++) {
		int32_t x, y;
		bench_rect_position(i, 0, &x, &y);
		sprites[i] = ts_image_node_create(display, NULL);
		if (sprites[i] == NULL
				|| ts_image_node_set_buffer(sprites[i], buffers[i % SPRITE_IMAGES]) < 0
				|| ts_node_set_position(ts_image_node_node(sprites[i]), x, y) < 0) {
			bench_check(display, -1, "sprite setup");
		}
	}
	bench_commit_and_wait_frame(display);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 1; f <= warmup + frames; f++) {
		if (f == warmup + 1) {
			start = bench_now_ns();
		}
		for (uint32_t i = 0; i < SPRITES; i++) {
			int32_t x, y;
			bench_rect_position(i, f, &x, &y);
			if (ts_node_set_position(ts_image_node_node(sprites[i]), x, y) < 0) {
				bench_check(display, -1, "node_set_position");
			}
		}
		bench_commit_and_wait_frame(display);
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	struct ts_server_info info;
	bench_check(display, ts_display_query_info(display, &info), "info_query");
	*draw_calls = info.frame.draw_calls;
	// Every sprite starts on screen; the 10 buffers are small, so in the atlas.
	if (info.frame.nodes_drawn < SPRITES) {
		bench_fail("the frame drew %u nodes of %u sprites", info.frame.nodes_drawn, SPRITES);
	}
	ts_server_info_finish(&info);
	free(sprites);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return ms;
}

// The plain GL baseline is drawn right before, so both see the same machine.
void run_sprite_frames(struct bench *b) {
	uint32_t frames = b->quick ? 60 : 200, calls;
	bench_record(b, "raw_gl_sprites_frame_ms_1000", sprites_gl_frame_ms(frames));
	bench_record(b, "frame_ms_sprites_1000", sprites_frame_ms(b, frames, &calls));
	bench_record(b, "draw_calls_sprites_1000", calls);
}

/* ---- a 256x256 box of a 1920x1080 buffer, updated, against glTexSubImage2D ---- */

#define UPDATE_W 1920
#define UPDATE_H 1080
#define UPDATE_STRIDE (UPDATE_W * 4)
#define BOX 256
#define BOX_X 600 // on screen, and across the tiles the check looks through
#define BOX_Y 300

// The box's pixels for update @gen: opaque, different from one update to the next.
static void fill_box(uint8_t *pixels, uint32_t gen) {
	for (uint32_t y = BOX_Y; y < BOX_Y + BOX; y++) {
		uint32_t *row = (uint32_t *)(pixels + (size_t)y * UPDATE_STRIDE);
		for (uint32_t x = BOX_X; x < BOX_X + BOX; x++) {
			// Little endian: bytes R, G, B, A.
			row[x] = 0xff000000u | ((x ^ gen) & 0xff) << 16 | ((y + gen * 7) & 0xff) << 8
				| ((x + y + gen * 13) & 0xff);
		}
	}
}

// The whole image before any update: opaque, a gradient.
static void fill_image(uint8_t *pixels) {
	for (uint32_t y = 0; y < UPDATE_H; y++) {
		uint32_t *row = (uint32_t *)(pixels + (size_t)y * UPDATE_STRIDE);
		for (uint32_t x = 0; x < UPDATE_W; x++) {
			row[x] = 0xff000000u | (x * 255 / UPDATE_W) << 16 | (y * 255 / UPDATE_H) << 8 | 0x40;
		}
	}
}

static const struct tex_vertex screen_quad[4] = {
	{ 0, 0, 0, 0 }, { BENCH_WIDTH, 0, 1, 0 },
	{ 0, BENCH_HEIGHT, 0, 1 }, { BENCH_WIDTH, BENCH_HEIGHT, 1, 1 },
};

// The frame after an update, as the server draws it: the image scaled to the screen.
static void draw_screen(void) {
	glClear(GL_COLOR_BUFFER_BIT);
	glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
	glFinish();
}

/*
 * Child process: the image of @pixels (shared memory the parent writes) in a texture,
 * drawn once; then, for each byte on @go, the box uploaded from the parent's memory,
 * rows UPDATE_W pixels apart (GL_UNPACK_ROW_LENGTH, as the server uploads), and
 * glFinish: the ns that took go to @out. Then, untimed, a frame of the image, as the
 * server draws one after each update. Exit 4: no GL_UNPACK_ROW_LENGTH.
 */
static int texsubimage_child(const uint8_t *pixels, int go, int out) {
	struct backend *backend = gl_child_start();
	if (backend == NULL) {
		return 2;
	}
	if (!epoxy_has_gl_extension("GL_EXT_unpack_subimage")
			&& (epoxy_is_desktop_gl() || epoxy_gl_version() < 30)) {
		return 4;
	}
	GLuint program = tex_program();
	if (program == 0) {
		return 2;
	}
	GLuint tex = rgba_texture(UPDATE_W, UPDATE_H, pixels);
	GLuint vbo;
	glGenBuffers(1, &vbo);
	glBindBuffer(GL_ARRAY_BUFFER, vbo);
	glBufferData(GL_ARRAY_BUFFER, sizeof screen_quad, screen_quad, GL_STATIC_DRAW);
	tex_attribs();
	glClearColor(0.125f, 0.157f, 0.2f, 1.0f);
	draw_screen();
	if (write(out, "r", 1) != 1) {
		return 2;
	}
	const uint8_t *box = pixels + (size_t)BOX_Y * UPDATE_STRIDE + BOX_X * 4;
	char c;
	while (read(go, &c, 1) == 1) {
		uint64_t start = bench_now_ns();
		glBindTexture(GL_TEXTURE_2D, tex);
		glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
		glPixelStorei(GL_UNPACK_ROW_LENGTH_EXT, UPDATE_W);
		glTexSubImage2D(GL_TEXTURE_2D, 0, BOX_X, BOX_Y, BOX, BOX, GL_RGBA, GL_UNSIGNED_BYTE,
			box);
		glPixelStorei(GL_UNPACK_ROW_LENGTH_EXT, 0);
		glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
		glFinish();
		uint64_t took = bench_now_ns() - start;
		draw_screen();
		if (write(out, &took, sizeof took) != (ssize_t)sizeof took) {
			return 2;
		}
	}
	if (glGetError() != GL_NO_ERROR) {
		return 2;
	}
	glDeleteBuffers(1, &vbo);
	glDeleteTextures(1, &tex);
	glDeleteProgram(program);
	backend_destroy(backend);
	return 0;
}

// The median µs of @iterations box uploads (after @warmup), plain GL in a child.
static double texsubimage_us(uint32_t warmup, uint32_t iterations) {
	size_t size = (size_t)UPDATE_STRIDE * UPDATE_H;
	int fd = memfd_create("bench-texsubimage", MFD_CLOEXEC);
	uint8_t *pixels = fd >= 0 && ftruncate(fd, (off_t)size) == 0
		? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	if (pixels == MAP_FAILED) {
		bench_fail("no shared memory for the plain GL upload: %s", strerror(errno));
	}
	close(fd);
	fill_image(pixels);
	int go[2], back[2];
	if (pipe(go) < 0 || pipe(back) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(go[1]);
		close(back[0]);
		_exit(texsubimage_child(pixels, go[0], back[1]));
	}
	close(go[0]);
	close(back[1]);
	uint64_t *ns = malloc(iterations * sizeof *ns);
	char c;
	if (ns == NULL || read(back[0], &c, 1) != 1) {
		int status;
		close(go[1]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
		bench_fail(WIFEXITED(status) && WEXITSTATUS(status) == 4
			? "the plain GL upload baseline: GL has no GL_UNPACK_ROW_LENGTH (GLES 3 or "
				"EXT_unpack_subimage)" : "the plain GL upload baseline did not start");
	}
	for (uint32_t i = 0; i < warmup + iterations; i++) {
		// Written here, in another process, as a client writes its buffer.
		fill_box(pixels, i + 1);
		uint64_t took;
		if (write(go[1], "g", 1) != 1
				|| read(back[0], &took, sizeof took) != (ssize_t)sizeof took) {
			bench_fail("the plain GL upload baseline stopped");
		}
		if (i >= warmup) {
			ns[i - warmup] = took;
		}
	}
	close(go[1]);
	close(back[0]);
	reap_or_fail(pid, "the plain GL upload baseline");
	munmap(pixels, size);
	double us = median_ns(ns, iterations) / 1e3;
	free(ns);
	return us;
}

static void frame_done(void *data, uint32_t time_ms) {
	*(bool *)data = true;
}

// Commits (with a frame callback asked for before), times the commit and a round trip
// after it, then waits, untimed, for the frame: the next commit finds the server idle.
static uint64_t timed_commit(struct ts_display *display) {
	bool shown = false;
	bench_check(display, ts_display_frame(display, frame_done, &shown), "frame");
	uint64_t start = bench_now_ns();
	bench_check(display, ts_display_commit(display), "commit");
	bench_check(display, ts_display_roundtrip(display), "round trip");
	uint64_t took = bench_now_ns() - start;
	while (!shown) {
		bench_check(display, ts_display_dispatch(display), "dispatch");
	}
	return took;
}

/*
 * The proof of what the last update uploaded: every pixel of the buffer changes in
 * memory, only the box is damaged and committed; then the image is shown a texel to a
 * pixel, through four 1280x720 windows (its source) that cover it, and screenshot.
 * Returns the bytes of the texels that show the new pixels (4 a texel, RGBA8); fails
 * the run when a pixel outside the box changed (the server uploaded undamaged pixels)
 * or the box is not wholly new.
 */
static uint32_t changed_bytes(struct ts_display *display, struct ts_buffer *buffer,
		struct ts_image_node *image) {
	uint8_t *pixels = ts_buffer_data(buffer);
	size_t size = (size_t)UPDATE_STRIDE * UPDATE_H;
	uint32_t *old = malloc(size);
	uint8_t *seen = calloc((size_t)UPDATE_W * UPDATE_H, 1);
	if (old == NULL || seen == NULL) {
		bench_fail("out of memory");
	}
	memcpy(old, pixels, size);
	uint32_t *now = (uint32_t *)pixels;
	for (size_t i = 0; i < (size_t)UPDATE_W * UPDATE_H; i++) {
		now[i] = old[i] ^ 0x00ffffffu; // every colour byte different, still opaque
	}
	bench_check(display, ts_buffer_damage(buffer, BOX_X, BOX_Y, BOX, BOX), "buffer_damage");
	bench_check(display, ts_display_commit(display), "commit");
	bench_check(display, ts_display_roundtrip(display), "round trip");
	struct ts_node *node = ts_image_node_node(image);
	bench_check(display, ts_node_set_size(node, 0, 0), "set_size");
	static const uint32_t windows[4][2] = {
		{ 0, 0 }, { UPDATE_W - BENCH_WIDTH, 0 }, { 0, UPDATE_H - BENCH_HEIGHT },
		{ UPDATE_W - BENCH_WIDTH, UPDATE_H - BENCH_HEIGHT },
	};
	uint32_t changed = 0;
	for (int w = 0; w < 4; w++) {
		uint32_t wx = windows[w][0], wy = windows[w][1];
		bench_check(display, ts_image_node_set_source(image, wx, wy, BENCH_WIDTH,
			BENCH_HEIGHT), "set_source");
		bench_commit_and_wait_frame(display);
		struct ts_image shot;
		bench_check(display, ts_display_screenshot(display, &shot), "screenshot");
		if (shot.width != BENCH_WIDTH || shot.height != BENCH_HEIGHT) {
			bench_fail("a screenshot of %dx%d", shot.width, shot.height);
		}
		for (uint32_t y = 0; y < BENCH_HEIGHT; y++) {
			for (uint32_t x = 0; x < BENCH_WIDTH; x++) {
				uint32_t shown;
				memcpy(&shown, shot.pixels + y * shot.stride + x * 4, 4);
				uint32_t bx = wx + x, by = wy + y;
				size_t i = (size_t)by * UPDATE_W + bx;
				bool in_box = bx >= BOX_X && bx < BOX_X + BOX && by >= BOX_Y && by < BOX_Y + BOX;
				if (shown == now[i] && !in_box) {
					bench_fail("pixel %u,%u of the image changed outside its damage", bx, by);
				} else if (shown != (in_box ? now[i] : old[i])) {
					bench_fail("pixel %u,%u of the image shows %08x, not %08x", bx, by, shown,
						in_box ? now[i] : old[i]);
				}
				if (in_box && !seen[i]) {
					seen[i] = 1;
					changed++;
				}
			}
		}
		ts_image_finish(&shot);
	}
	if (changed != BOX * BOX) {
		bench_fail("%u pixels of the %dx%d box were seen changed", changed, BOX, BOX);
	}
	free(old);
	free(seen);
	return changed * 4;
}

struct update_figures {
	double update_us, commit_us, empty_commit_us;
	uint32_t bytes;
};

// The same update through the server: the box changed, damaged and committed, against
// an empty commit, in turn, @iterations times each after @warmup.
static struct update_figures image_update(struct bench *b, uint32_t warmup,
		uint32_t iterations) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = bench_connect_or_fail(&server, "bench-image-update");
	struct ts_buffer *buffer = ts_buffer_create_shm(display, UPDATE_W, UPDATE_H,
		TS_FORMAT_RGBA8);
	if (buffer == NULL || ts_buffer_get_stride(buffer) != UPDATE_STRIDE) {
		bench_check(display, -1, "buffer_create_shm");
	}
	uint8_t *pixels = ts_buffer_data(buffer);
	fill_image(pixels);
	struct ts_image_node *image = ts_image_node_create(display, NULL);
	if (image == NULL || ts_image_node_set_buffer(image, buffer) < 0
			|| ts_node_set_size(ts_image_node_node(image), BENCH_WIDTH, BENCH_HEIGHT) < 0) {
		bench_check(display, -1, "image setup");
	}
	bench_commit_and_wait_frame(display);
	uint64_t *updates = malloc(iterations * sizeof *updates);
	uint64_t *empties = malloc(iterations * sizeof *empties);
	if (updates == NULL || empties == NULL) {
		bench_fail("out of memory");
	}
	for (uint32_t i = 0; i < warmup + iterations; i++) {
		uint64_t empty = timed_commit(display);
		// Written and damaged before the clock starts; the damage request goes with the
		// commit, so the server's handling of it is timed.
		fill_box(pixels, i + 1);
		bench_check(display, ts_buffer_damage(buffer, BOX_X, BOX_Y, BOX, BOX),
			"buffer_damage");
		uint64_t update = timed_commit(display);
		if (i >= warmup) {
			empties[i - warmup] = empty;
			updates[i - warmup] = update;
		}
	}
	struct update_figures fig;
	fig.commit_us = median_ns(updates, iterations) / 1e3;
	fig.empty_commit_us = median_ns(empties, iterations) / 1e3;
	fig.update_us = fig.commit_us - fig.empty_commit_us;
	fig.bytes = changed_bytes(display, buffer, image);
	free(updates);
	free(empties);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return fig;
}

// The plain GL baseline is measured right before, so both see the same machine.
void run_image_update(struct bench *b) {
	uint32_t warmup = 20, iterations = b->quick ? 100 : 300;
	bench_record(b, "raw_gl_texsubimage_us", texsubimage_us(warmup, iterations));
	struct update_figures fig = image_update(b, warmup, iterations);
	bench_record(b, "image_update_us", fig.update_us);
	bench_record(b, "image_update_commit_us", fig.commit_us);
	bench_record(b, "image_update_empty_commit_us", fig.empty_commit_us);
	bench_record(b, "image_update_bytes", fig.bytes);
}

/* ---- cleanup of a client holding images and texts ---- */

#define VICTIM_IMAGES 100
#define VICTIM_IMAGE_SIDE 512 // 1 MiB of RGBA8 each
#define VICTIM_TEXTS 100

// 100 buffers of 512x512, each in a pool of its own, filled and shown by an image node
// (drawn at 64x64, in a 10x10 grid), and 100 texts of a line each beside them.
static void make_victim(struct ts_display *display, const void *data) {
	for (uint32_t i = 0; i < VICTIM_IMAGES; i++) {
		// A pool's fd waits in the library's queue until it is sent, and the queue
		// takes 28 (TS_CONNECTION_MAX_FDS): send them on now and then.
		if (i % 16 == 15) {
			bench_check(display, ts_display_roundtrip(display), "round trip");
		}
		struct ts_buffer *buffer = ts_buffer_create_shm(display, VICTIM_IMAGE_SIDE,
			VICTIM_IMAGE_SIDE, TS_FORMAT_RGBA8);
		if (buffer == NULL) {
			bench_check(display, -1, "buffer_create_shm");
		}
		uint32_t *p = ts_buffer_data(buffer);
		for (size_t k = 0; k < (size_t)VICTIM_IMAGE_SIDE * VICTIM_IMAGE_SIDE; k++) {
			p[k] = 0xff000000u | bench_rect_color(i + (uint32_t)k / 4096) >> 8;
		}
		struct ts_image_node *image = ts_image_node_create(display, NULL);
		if (image == NULL || ts_image_node_set_buffer(image, buffer) < 0
				|| ts_node_set_size(ts_image_node_node(image), 64, 64) < 0
				|| ts_node_set_position(ts_image_node_node(image), (i % 10) * 66,
					(i / 10) * 66) < 0) {
			bench_check(display, -1, "image setup");
		}
	}
	for (uint32_t t = 0; t < VICTIM_TEXTS; t++) {
		char line[64];
		int len = snprintf(line, sizeof line, "Text %u: the quick brown fox jumps", t);
		struct ts_text *text = ts_text_create(display, NULL);
		if (text == NULL || ts_text_set_string(text, line, (size_t)len) < 0
				|| ts_node_set_position(ts_text_node(text), 680 + (t % 2) * 300,
					(t / 2) * 14) < 0) {
			bench_check(display, -1, "text setup");
		}
	}
}

void run_image_cleanup(struct bench *b) {
	struct bench_server server;
	// 100 MiB of textures: past the default 64 MiB a client.
	bench_server_start_limit(b, &server, BENCH_UNPACED, "texture_bytes=128M");
	struct ts_display *observer = bench_connect_or_fail(&server, "bench-observer");
	pid_t victim = bench_victim_start(&server, "bench-image-victim", make_victim, NULL);
	struct ts_server_info info;
	bench_check(observer, ts_display_query_info(observer, &info), "info_query");
	// Each buffer has its pool: 300 image objects and 100 texts.
	if (info.objects < VICTIM_IMAGES * 3 + VICTIM_TEXTS || info.textures < VICTIM_IMAGES
			|| info.texture_bytes < VICTIM_IMAGES << 20 || info.atlas.referenced == 0) {
		bench_fail("the victim holds %u objects and %u textures (%u bytes), %u glyphs",
			info.objects, info.textures, info.texture_bytes, info.atlas.referenced);
	}
	ts_server_info_finish(&info);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	uint32_t cleanup_us;
	while (bench_other_objects(observer, &cleanup_us) != 0) {
	}
	// The frame after: the textures' GL names are deleted before it is drawn.
	bench_commit_and_wait_frame(observer);
	bench_check(observer, ts_display_query_info(observer, &info), "info_query");
	if (info.textures != 0 || info.texture_bytes != 0) {
		bench_fail("after the cleanup the server still holds %u textures (%u bytes)",
			info.textures, info.texture_bytes);
	}
	ts_server_info_finish(&info);
	bench_record(b, "cleanup_ms_images_texts", cleanup_us / 1e3);
	ts_display_disconnect(observer);
	bench_server_stop(&server);
}
