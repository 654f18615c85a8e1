/*
 * Server-side animation: N rects each moved by an animation of its own (for ever,
 * back and forth), with nothing sent by the client while they run.
 *
 * anim_server_ns_per_node_N: what moving them costs the server a frame, per
 * animation, beyond drawing (frame_info's animate_ns / animations: the time of the
 * animation pass, which computes every value and writes it into the scene). Median of
 * 7 queries spread over half a second.
 * frame_ms_anim_10k: frames of a server with --refresh 0 (a frame as soon as the last
 * is done) while 10,000 animations run, beside plain GLES 2 drawing the same number of
 * moving quads (raw_gl_anim_frame_ms_10k, measured right before).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <tessera/client.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void animate_rects(struct ts_display *d, uint32_t n) {
	for (uint32_t i = 0; i < n; i++) {
		struct ts_rect *r = ts_rect_create(d);
		int32_t x, y;
		bench_rect_position(i, 0, &x, &y);
		if (r == NULL || ts_rect_set_size(r, BENCH_RECT_SIZE, BENCH_RECT_SIZE) < 0 ||
				ts_rect_set_position(r, x, y) < 0 ||
				ts_rect_set_color(r, bench_rect_color(i)) < 0) {
			bench_check(d, -1, "rect");
		}
		struct ts_animation *a = ts_animate(ts_rect_node(r), TS_PROP_POSITION,
			(x + 200) % BENCH_WIDTH, (y + 100) % BENCH_HEIGHT, 0, 2000 + i % 1000,
			TS_EASE_IN_OUT);
		if (a == NULL || ts_animation_set_timing(a, 0, 0, true) < 0) {
			bench_check(d, -1, "animate");
		}
	}
	bench_commit_and_wait_frame(d);
}

static double ns_per_node(struct ts_display *d, uint32_t n) {
	double v[7];
	for (int i = 0; i < 7; i++) {
		struct timespec pause = { 0, 70000000 };
		nanosleep(&pause, NULL);
		struct ts_server_info info;
		bench_check(d, ts_display_query_info(d, &info), "info");
		if (info.frame.animations != n) {
			bench_fail("the server moved %u animations, not %u", info.frame.animations, n);
		}
		v[i] = (double)info.frame.animate_ns / n;
		ts_server_info_finish(&info);
	}
	qsort(v, 7, sizeof v[0], cmp_double);
	return v[3];
}

static void on_presented(void *data, const struct ts_presentation *p) {
	*(struct ts_presentation *)data = *p;
}

// The next frame's presentation.
static struct ts_presentation next_frame(struct ts_display *d) {
	struct ts_presentation p = { 0 };
	bench_check(d, ts_display_frame_presented(d, on_presented, &p), "frame");
	bench_check(d, ts_display_commit(d), "commit");
	while (p.time_ns == 0) {
		bench_check(d, ts_display_dispatch(d), "dispatch");
	}
	return p;
}

// ms a frame, from the frames the server presented (its sequence number counts them
// without a refresh rate) between two of ours: a frame callback itself waits for the
// frame after the one being drawn when it comes, so counting callbacks would not do.
static double frame_ms(struct ts_display *d, uint32_t frames) {
	struct ts_presentation first = next_frame(d), last = first;
	while (last.seq - first.seq < frames) {
		last = next_frame(d);
	}
	return (double)(last.time_ns - first.time_ns) / 1e6 / (double)(last.seq - first.seq);
}

void run_anim(struct bench *b) {
	uint32_t frames = b->quick ? 30 : 100;
	bench_record(b, "raw_gl_anim_frame_ms_10k", bench_gl_frame_ms(10000, frames));
	static const uint32_t sizes[] = { 1000, 10000 };
	for (int s = 0; s < 2; s++) {
		struct bench_server server;
		bench_server_start(b, &server, s == 1 ? BENCH_UNPACED : BENCH_PACED);
		struct ts_display *d = bench_connect_or_fail(&server, "bench-anim");
		animate_rects(d, sizes[s]);
		if (s == 1) {
			frame_ms(d, frames / 10); // warm up
			bench_record(b, "frame_ms_anim_10k", frame_ms(d, frames));
		}
		bench_record(b, s == 0 ? "anim_server_ns_per_node_1k" : "anim_server_ns_per_node_10k",
			ns_per_node(d, sizes[s]));
		ts_display_disconnect(d);
		bench_server_stop(&server);
	}
}
