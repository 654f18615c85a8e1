/*
 * tessera-demo-rects: semi-transparent rectangles gliding along sine paths at
 * display rate. Each frame callback moves them for the frame's timestamp, asks for
 * the next frame and commits, so the server paces the animation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-demo-rects";

static const uint32_t palette[] = {
	0xe6194bb0, 0x3cb44bb0, 0xffe119b0, 0x4363d8b0, 0xf58231b0, 0x911eb4b0,
	0x46f0f0b0, 0xf032e6b0,
};

struct sprite {
	struct ts_rect *rect;
	int width, height;
	double speed_x, speed_y, phase;
};

struct demo {
	struct ts_display *display;
	int width, height;
	struct sprite *sprites;
	int count;
	bool started;
	uint32_t first_ms;  // timestamp of the first frame: the animation's t = 0
	bool failed;
};

static void usage(FILE *out) {
	fprintf(out,
		"usage: %s [--socket PATH] [--count N] [--seconds S]\n"
		"Animates N (default 6) semi-transparent rectangles, for S seconds or until killed.\n",
		prog);
}

// Puts every rectangle where it is at @t seconds into the animation.
static void place(struct demo *demo, double t) {
	for (int i = 0; i < demo->count; i++) {
		struct sprite *s = &demo->sprites[i];
		double room_x = (demo->width - s->width) / 2.0;
		double room_y = (demo->height - s->height) / 2.0;
		double x = room_x + room_x * sin(t * s->speed_x + s->phase);
		double y = room_y + room_y * sin(t * s->speed_y + s->phase * 1.7);
		ts_rect_set_position(s->rect, (int32_t)lround(x), (int32_t)lround(y));
	}
}

static void frame_done(void *data, uint32_t time_ms);

// Moves everything for @t, then asks for the next frame with the commit that shows it.
static void next_frame(struct demo *demo, double t) {
	place(demo, t);
	if (ts_display_frame(demo->display, frame_done, demo) < 0 ||
			ts_display_commit(demo->display) < 0) {
		demo->failed = true;
	}
}

static void frame_done(void *data, uint32_t time_ms) {
	struct demo *demo = data;
	if (!demo->started) {
		demo->started = true;
		demo->first_ms = time_ms;
	}
	// Unsigned subtraction keeps working when the 32-bit timestamp wraps.
	next_frame(demo, (uint32_t)(time_ms - demo->first_ms) / 1000.0);
}

static bool create_sprites(struct demo *demo) {
	demo->sprites = calloc((size_t)demo->count, sizeof *demo->sprites);
	if (demo->sprites == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return false;
	}
	int base = (demo->width < demo->height ? demo->width : demo->height) / 4;
	if (base < 4) {
		base = 4;
	}
	for (int i = 0; i < demo->count; i++) {
		struct sprite *s = &demo->sprites[i];
		s->rect = ts_rect_create(demo->display);
		if (s->rect == NULL) {
			return false;
		}
		s->width = base + base * (i % 3) / 2;
		s->height = base + base * ((i + 1) % 3) / 3;
		s->speed_x = 0.5 + 0.23 * i;
		s->speed_y = 0.7 + 0.17 * (demo->count - i);
		s->phase = 1.1 * i;
		ts_rect_set_size(s->rect, (uint32_t)s->width, (uint32_t)s->height);
		ts_rect_set_color(s->rect, palette[i % (sizeof palette / sizeof palette[0])]);
		ts_rect_set_z(s->rect, i % 4);
	}
	return true;
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

// The application's own poll() loop, so a time limit works even when no frame comes.
// @seconds <= 0 means forever. Returns false when the connection failed.
static bool run(struct demo *demo, double seconds) {
	double end = now_s() + seconds;
	while (!demo->failed) {
		// Reading first also handles events the library already holds (read while a
		// request waited for room on the socket), for which poll() would not wake up.
		if (ts_display_read_events(demo->display) < 0) {
			return false;
		}
		int timeout = -1;
		if (seconds > 0) {
			double left = end - now_s();
			if (left <= 0) {
				return true;
			}
			timeout = (int)ceil(left * 1000);
		}
		struct pollfd pfd = { .fd = ts_display_get_fd(demo->display), .events = POLLIN };
		if (ts_display_flush(demo->display) < 0) {
			if (errno != EAGAIN) {
				return false;
			}
			pfd.events |= POLLOUT;
		}
		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
			perror("poll");
			return false;
		}
	}
	return false;
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	unsigned long count = 6;
	double seconds = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:n:t:h", options, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 'n':
			if (!tool_parse_ulong(optarg, 1, 10000, &count)) {
				fprintf(stderr, "%s: --count wants a number from 1 to 10000\n", prog);
				return 2;
			}
			break;
		case 't':
			seconds = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(seconds > 0 && seconds < 1e6)) {
				fprintf(stderr, "%s: --seconds wants a positive number\n", prog);
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
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	struct demo demo = { .count = (int)count };
	demo.display = tool_connect(prog, socket_path, "tessera-demo-rects");
	if (demo.display == NULL) {
		return 1;
	}
	ts_display_get_size(demo.display, &demo.width, &demo.height);
	bool ok = create_sprites(&demo);
	if (ok) {
		// The first commit shows the starting picture; the frame callbacks take over.
		next_frame(&demo, 0);
		ok = run(&demo, seconds);
	}
	if (!ok && ts_display_get_error(demo.display) != 0) {
		tool_report(prog, demo.display, "connection lost");
	}
	for (int i = 0; demo.sprites != NULL && i < demo.count; i++) {
		ts_rect_destroy(demo.sprites[i].rect);
	}
	free(demo.sprites);
	ts_display_disconnect(demo.display);
	return ok ? 0 : 1;
}
