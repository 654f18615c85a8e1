/*
 * tessera-demo-sprites N: N sprites bouncing around the output, sharing 10 images. The
 * images are small buffers (32 x 32, drawn here: discs of ten colours with a light
 * rim), so the server keeps them in one atlas page and draws every sprite of a frame in
 * one draw call. Each frame moves every sprite and commits with a frame callback, so
 * the demo runs at the display's rate. --seconds S leaves after S seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tessera/client.h>

#include "common.h"

#define IMAGES 10
#define SIDE 32

static const char *prog = "tessera-demo-sprites";

struct sprite {
	struct ts_image_node *node;
	double x, y, dx, dy;      // pixels, pixels per second
};

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// A disc of @rgb with a lighter rim, premultiplied RGBA8, smooth edged.
static void draw_disc(uint8_t *data, uint32_t stride, uint32_t rgb) {
	for (int y = 0; y < SIDE; y++) {
		for (int x = 0; x < SIDE; x++) {
			double dx = x + 0.5 - SIDE / 2.0, dy = y + 0.5 - SIDE / 2.0;
			double r = sqrt(dx * dx + dy * dy), edge = SIDE / 2.0 - 1.0;
			double a = r < edge ? 1.0 : r < edge + 1.0 ? edge + 1.0 - r : 0.0;
			double light = r > edge - 3.0 ? 1.35 : 1.0;
			uint8_t *p = data + (size_t)y * stride + 4 * (size_t)x;
			for (int c = 0; c < 3; c++) {
				double v = ((rgb >> (16 - 8 * c)) & 0xff) * light;
				p[c] = (uint8_t)((v > 255 ? 255 : v) * a + 0.5);
			}
			p[3] = (uint8_t)(255 * a + 0.5);
		}
	}
}

static void frame_done(void *data, uint32_t time_ms) {
	*(bool *)data = true;
}

static void usage(FILE *out) {
	fprintf(out, "usage: %s [--socket PATH] [--seconds S] [N]\n"
		"N (default 200) sprites sharing %d images bounce around the output.\n", prog,
		IMAGES);
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	unsigned long seconds = 0, count = 200;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:t:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			if (!tool_parse_ulong(optarg, 1, 86400, &seconds)) {
				fprintf(stderr, "%s: --seconds wants 1 to 86400\n", prog);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 == argc && !tool_parse_ulong(argv[optind++], 1, 20000, &count)) {
		fprintf(stderr, "%s: N wants 1 to 20000\n", prog);
		return 2;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	struct ts_display *display = tool_connect(prog, socket_path, prog);
	if (display == NULL) {
		return 1;
	}
	int width, height;
	ts_display_get_size(display, &width, &height);
	static const uint32_t colors[IMAGES] = { 0xe04040, 0xe09030, 0xe0d040, 0x70d040,
		0x30c0a0, 0x3090e0, 0x5060e0, 0x9050e0, 0xd050c0, 0xa0a0a0 };
	struct ts_buffer *buffers[IMAGES];
	for (int i = 0; i < IMAGES; i++) {
		buffers[i] = ts_buffer_create_shm(display, SIDE, SIDE, TS_FORMAT_RGBA8);
		if (buffers[i] == NULL) {
			tool_report(prog, display, "cannot make the images");
			ts_display_disconnect(display);
			return 1;
		}
		draw_disc(ts_buffer_data(buffers[i]), ts_buffer_get_stride(buffers[i]), colors[i]);
	}
	struct sprite *sprites = calloc(count, sizeof *sprites);
	if (sprites == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		ts_display_disconnect(display);
		return 1;
	}
	srand(1);
	for (unsigned long i = 0; i < count; i++) {
		struct sprite *s = &sprites[i];
		s->node = ts_image_node_create(display, NULL);
		if (s->node == NULL || ts_image_node_set_buffer(s->node, buffers[i % IMAGES]) < 0) {
			tool_report(prog, display, "cannot make the sprites");
			free(sprites);
			ts_display_disconnect(display);
			return 1;
		}
		s->x = rand() % (width > SIDE ? width - SIDE : 1);
		s->y = rand() % (height > SIDE ? height - SIDE : 1);
		double angle = (rand() % 6283) / 1000.0, speed = 60 + rand() % 180;
		s->dx = cos(angle) * speed;
		s->dy = sin(angle) * speed;
	}
	double start = now_s(), last = start;
	int rc = 0;
	while (rc == 0 && (seconds == 0 || now_s() - start < (double)seconds)) {
		double t = now_s(), dt = t - last;
		last = t;
		for (unsigned long i = 0; i < count && rc == 0; i++) {
			struct sprite *s = &sprites[i];
			s->x += s->dx * dt;
			s->y += s->dy * dt;
			if (s->x < 0 || s->x > width - SIDE) {
				s->dx = -s->dx;
				s->x = s->x < 0 ? -s->x : 2.0 * (width - SIDE) - s->x;
			}
			if (s->y < 0 || s->y > height - SIDE) {
				s->dy = -s->dy;
				s->y = s->y < 0 ? -s->y : 2.0 * (height - SIDE) - s->y;
			}
			rc = ts_node_set_position(ts_image_node_node(s->node), s->x, s->y);
		}
		bool shown = false;
		if (rc == 0) {
			rc = ts_display_frame(display, frame_done, &shown);
		}
		if (rc == 0) {
			rc = ts_display_commit(display);
		}
		while (rc == 0 && !shown) {
			rc = ts_display_flush(display);
			struct pollfd pfd = { .fd = ts_display_get_fd(display), .events = POLLIN };
			if (rc == 0 && poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
				rc = -1;
			}
			if (rc == 0 && (pfd.revents & POLLIN)) {
				rc = ts_display_dispatch(display) < 0 ? -1 : 0;
			}
		}
	}
	if (rc < 0 && seconds == 0 && ts_display_get_error(display) == EPIPE) {
		rc = 0; // the server went: that is how this demo ends
	}
	if (rc < 0) {
		tool_report(prog, display, "lost the server");
	}
	free(sprites);
	ts_display_disconnect(display);
	return rc < 0 ? 1 : 0;
}
