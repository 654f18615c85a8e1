/*
 * tessera-demo-rects: the scene tree at display rate. Rounded rects orbit the centre of
 * the screen in groups that turn, each with a moon in a group of its own turning the
 * other way (nested transforms), half of them faded as groups (opacity down the tree);
 * a tilted, clipped panel with a border scrolls a row of tiles through its bounds (a
 * rotated clip). Each frame callback sets everything for the frame's timestamp, asks
 * for the next frame and commits, so the server paces the animation.
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

#define TILES 8
#define TILE 56.0

// A planet: a group turning about the centre of the screen, holding the planet and a
// group turning about it that holds its moon.
struct sprite {
	struct ts_group *orbit;
	struct ts_rect *body;
	struct ts_group *moon_orbit;
	struct ts_rect *moon;
	double radius, size, speed, phase;
};

struct demo {
	struct ts_display *display;
	int width, height;
	struct sprite *sprites;
	int count;
	struct ts_group *panel;     // clipped and tilted
	struct ts_rect *panel_back;
	struct ts_rect *tiles[TILES];
	double panel_width, panel_height;
	bool started;
	uint32_t first_ms;  // timestamp of the first frame: the animation's t = 0
	bool failed;
};

static void usage(FILE *out) {
	fprintf(out,
		"usage: %s [--socket PATH] [--count N] [--seconds S]\n"
		"Animates N (default 6) orbiting groups and a clipped panel, for S seconds or until\n"
		"killed.\n",
		prog);
}

// Sets everything where it is at @t seconds into the animation.
static void place(struct demo *demo, double t) {
	for (int i = 0; i < demo->count; i++) {
		struct sprite *s = &demo->sprites[i];
		ts_node_set_rotation(ts_group_node(s->orbit), fmod(t * s->speed * 57.3 + s->phase, 360));
		ts_node_set_rotation(ts_group_node(s->moon_orbit), fmod(-t * s->speed * 180, 360));
	}
	ts_node_set_rotation(ts_group_node(demo->panel), 8 * sin(t * 0.7));
	double span = TILES * (TILE + 12);
	for (int i = 0; i < TILES; i++) {
		double x = fmod(i * (TILE + 12) + t * 60, span) - TILE;
		ts_node_set_position(ts_rect_node(demo->tiles[i]), x, (demo->panel_height - TILE) / 2);
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

static bool create_panel(struct demo *demo) {
	demo->panel_width = demo->width * 0.5;
	demo->panel_height = TILE * 1.6;
	demo->panel = ts_group_create(demo->display, NULL);
	if (demo->panel == NULL) {
		return false;
	}
	struct ts_node *panel = ts_group_node(demo->panel);
	ts_node_set_size(panel, demo->panel_width, demo->panel_height);
	ts_node_set_anchor(panel, 0.5, 0.5);
	ts_node_set_position(panel, demo->width / 2.0, demo->height - demo->panel_height);
	ts_group_set_clip(demo->panel, true);
	demo->panel_back = ts_rect_create_in(demo->panel);
	if (demo->panel_back == NULL) {
		return false;
	}
	ts_node_set_size(ts_rect_node(demo->panel_back), demo->panel_width, demo->panel_height);
	ts_rect_set_color(demo->panel_back, 0x1b2230e0);
	ts_rect_set_radius(demo->panel_back, 14);
	ts_rect_set_border(demo->panel_back, 3, 0xc8d2e0ff);
	for (int i = 0; i < TILES; i++) {
		demo->tiles[i] = ts_rect_create_in(demo->panel);
		if (demo->tiles[i] == NULL) {
			return false;
		}
		ts_node_set_size(ts_rect_node(demo->tiles[i]), TILE, TILE);
		ts_rect_set_radius(demo->tiles[i], 10);
		ts_rect_set_color(demo->tiles[i], palette[i % (sizeof palette / sizeof palette[0])] | 0xff);
	}
	return true;
}

static bool create_sprites(struct demo *demo) {
	demo->sprites = calloc((size_t)demo->count, sizeof *demo->sprites);
	if (demo->sprites == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return false;
	}
	double room = (demo->width < demo->height ? demo->width : demo->height) / 2.0;
	for (int i = 0; i < demo->count; i++) {
		struct sprite *s = &demo->sprites[i];
		s->radius = room * (0.25 + 0.6 * (i + 1) / demo->count);
		s->size = room * 0.12 + room * 0.05 * (i % 3);
		s->speed = 0.3 + 0.9 / (i + 1);
		s->phase = 360.0 * i / demo->count;
		s->orbit = ts_group_create(demo->display, NULL);
		if (s->orbit == NULL) {
			return false;
		}
		// The orbit is a square around the centre of the screen, turning about its own
		// centre; the planet sits at its right edge.
		struct ts_node *orbit = ts_group_node(s->orbit);
		ts_node_set_size(orbit, 2 * s->radius, 2 * s->radius);
		ts_node_set_anchor(orbit, 0.5, 0.5);
		ts_node_set_position(orbit, demo->width / 2.0, demo->height / 2.0);
		// Every other planet is faded, its moon too: opacity multiplies down the tree.
		ts_node_set_opacity(orbit, i % 2 ? 0.55 : 1.0);
		s->body = ts_rect_create_in(s->orbit);
		s->moon_orbit = ts_group_create(demo->display, s->orbit);
		if (s->body == NULL || s->moon_orbit == NULL) {
			return false;
		}
		struct ts_node *body = ts_rect_node(s->body);
		ts_node_set_size(body, s->size, s->size);
		ts_node_set_anchor(body, 0.5, 0.5);
		ts_node_set_position(body, 2 * s->radius - s->size, s->radius);
		ts_rect_set_radius(s->body, s->size * 0.3);
		ts_rect_set_color(s->body, palette[i % (sizeof palette / sizeof palette[0])] | 0xff);
		struct ts_node *moon_orbit = ts_group_node(s->moon_orbit);
		ts_node_set_size(moon_orbit, s->size * 2, s->size * 2);
		ts_node_set_anchor(moon_orbit, 0.5, 0.5);
		ts_node_set_position(moon_orbit, 2 * s->radius - s->size, s->radius);
		s->moon = ts_rect_create_in(s->moon_orbit);
		if (s->moon == NULL) {
			return false;
		}
		ts_node_set_size(ts_rect_node(s->moon), s->size * 0.3, s->size * 0.3);
		ts_rect_set_radius(s->moon, s->size * 0.15);
		ts_rect_set_color(s->moon, 0xf0f0f0ff);
	}
	return create_panel(demo);
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
			if (!tool_parse_ulong(optarg, 1, 1000, &count)) {
				fprintf(stderr, "%s: --count wants a number from 1 to 1000\n", prog);
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
	// Destroying a group destroys what is in it; the handles inside are freed after.
	for (int i = 0; demo.sprites != NULL && i < demo.count; i++) {
		ts_group_destroy(demo.sprites[i].orbit);
		ts_rect_destroy(demo.sprites[i].body);
		ts_group_destroy(demo.sprites[i].moon_orbit);
		ts_rect_destroy(demo.sprites[i].moon);
	}
	ts_group_destroy(demo.panel);
	ts_rect_destroy(demo.panel_back);
	for (int i = 0; i < TILES; i++) {
		ts_rect_destroy(demo.tiles[i]);
	}
	free(demo.sprites);
	ts_display_disconnect(demo.display);
	return ok ? 0 : 1;
}
