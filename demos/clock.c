/*
 * tessera-demo-clock: an analogue clock whose hands the server turns. Each hand is
 * one animation that runs for ever (a turn a minute, an hour, twelve hours), started at
 * the hand's angle now; the client sends nothing while they turn but the time in
 * digits, once a minute. It stays until the server goes or the demo is interrupted;
 * --seconds S leaves after S.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-demo-clock";

static void usage(FILE *out) {
	fprintf(out, "usage: %s [--socket PATH] [--seconds S]\n"
		"An analogue clock turned by server-side animations, with the time as text.\n"
		"  -s, --socket PATH  the server's socket\n"
		"  -t, --seconds S    leave after S seconds (default: stay)\n"
		"  -h, --help         show this help\n", prog);
}

struct clock {
	struct ts_display *display;
	struct ts_text *digits;
	double cx, cy, radius;
};

// A hand of @length x @width pointing at @angle now, turning a full turn in @turn_ms.
static bool hand(struct clock *c, double length, double width, uint32_t rgba,
		double angle, uint32_t turn_ms) {
	struct ts_rect *r = ts_rect_create(c->display);
	if (r == NULL) {
		return false;
	}
	struct ts_node *n = ts_rect_node(r);
	if (ts_rect_set_size(r, (uint32_t)width, (uint32_t)length) < 0 ||
			ts_rect_set_color(r, rgba) < 0 || ts_rect_set_radius(r, width / 2) < 0 ||
			ts_node_set_anchor(n, 0.5, 0.9) < 0 ||  // turns about a point near its foot
			ts_node_set_position(n, c->cx, c->cy) < 0 ||
			ts_node_set_rotation(n, angle) < 0) {
		return false;
	}
	struct ts_animation *a = ts_animate(n, TS_PROP_ROTATION, angle + 360, 0, 0, turn_ms,
		TS_EASE_LINEAR);
	return a != NULL && ts_animation_set_from(a, angle, 0, 0) == 0 &&
		ts_animation_set_timing(a, 0, 0, false) == 0; // for ever
}

static bool set_digits(struct clock *c, const struct tm *tm) {
	char text[16];
	int len = snprintf(text, sizeof text, "%02d:%02d", tm->tm_hour, tm->tm_min);
	if (ts_text_set_string(c->digits, text, (size_t)len) < 0) {
		return false;
	}
	struct ts_text_metrics m;
	if (ts_text_measure(c->digits, &m) < 0) {
		return false;
	}
	int rc = ts_node_set_position(ts_text_node(c->digits), c->cx - m.width / 2,
		c->cy + c->radius * 0.35);
	ts_text_metrics_finish(&m);
	return rc == 0 && ts_display_commit(c->display) == 0;
}

static bool build(struct clock *c, const struct tm *tm, double ms) {
	double size = c->radius * 2;
	struct ts_rect *face = ts_rect_create(c->display);
	if (face == NULL || ts_rect_set_size(face, (uint32_t)size, (uint32_t)size) < 0 ||
			ts_rect_set_position(face, (int32_t)(c->cx - c->radius),
				(int32_t)(c->cy - c->radius)) < 0 ||
			ts_rect_set_radius(face, c->radius) < 0 ||
			ts_rect_set_color(face, 0x1c2230ff) < 0 ||
			ts_rect_set_border(face, 4, 0x8090a8ff) < 0) {
		return false;
	}
	for (int i = 0; i < 12; i++) {
		struct ts_rect *tick = ts_rect_create(c->display);
		double a = i * 30 * M_PI / 180, len = i % 3 ? 10 : 20;
		if (tick == NULL || ts_rect_set_size(tick, i % 3 ? 3 : 6, (uint32_t)len) < 0 ||
				ts_rect_set_color(tick, 0xd0d8e8ff) < 0 ||
				ts_node_set_anchor(ts_rect_node(tick), 0.5, 0.5) < 0 ||
				ts_node_set_position(ts_rect_node(tick), c->cx + sin(a) * (c->radius - 20),
					c->cy - cos(a) * (c->radius - 20)) < 0 ||
				ts_node_set_rotation(ts_rect_node(tick), i * 30) < 0) {
			return false;
		}
	}
	c->digits = ts_text_create(c->display, NULL);
	if (c->digits == NULL || ts_text_set_font(c->digits, NULL, c->radius / 5, 600, false) < 0 ||
			ts_text_set_color(c->digits, 0x9ad0ffff) < 0) {
		return false;
	}
	double sec = tm->tm_sec + ms / 1000;
	double min = tm->tm_min + sec / 60;
	double hour = tm->tm_hour % 12 + min / 60;
	return hand(c, c->radius * 0.55, 10, 0xf0f0f0ff, hour * 30, 12 * 3600 * 1000u) &&
		hand(c, c->radius * 0.8, 6, 0xf0f0f0ff, min * 6, 3600 * 1000u) &&
		hand(c, c->radius * 0.88, 2, 0xff5050ff, sec * 6, 60 * 1000u) &&
		set_digits(c, tm);
}

static void now(struct tm *tm, double *ms) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, tm);
	*ms = ts.tv_nsec / 1e6;
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	unsigned long seconds = 0;
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
	struct clock c = { .display = tool_connect(prog, socket_path, prog) };
	if (c.display == NULL) {
		return 1;
	}
	int width, height;
	ts_display_get_size(c.display, &width, &height);
	c.cx = width / 2.0;
	c.cy = height / 2.0;
	c.radius = (width < height ? width : height) * 0.45;
	struct tm tm;
	double ms;
	now(&tm, &ms);
	if (!build(&c, &tm, ms)) {
		tool_report(prog, c.display, "cannot build the clock");
		ts_display_disconnect(c.display);
		return 1;
	}
	time_t start = time(NULL);
	int status = 0;
	for (;;) {
		now(&tm, &ms);
		unsigned long wait = (unsigned long)(60 - tm.tm_sec);
		if (seconds > 0) {
			long left = (long)seconds - (long)(time(NULL) - start);
			if (left <= 0) {
				break;
			}
			wait = (unsigned long)left < wait ? (unsigned long)left : wait;
		}
		if (tool_wait(c.display, wait) < 0) {
			status = 1; // the server went
			break;
		}
		now(&tm, &ms);
		if (tm.tm_sec < 2 && !set_digits(&c, &tm)) {
			tool_report(prog, c.display, "cannot show the time");
			status = 1;
			break;
		}
	}
	ts_display_disconnect(c.display);
	return status;
}
