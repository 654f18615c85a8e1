/*
 * Frames: when the server draws one, and when it counts as presented.
 *
 * The output refreshes on a grid of the refresh interval (a virtual one for the
 * headless and window backends, which have no vblank to read: see docs/pacing.md). A
 * frame is drawn late in the period, a repaint window before the grid point it aims at,
 * so that a commit that comes shortly before still makes it; the window follows the
 * measured render time. The frame is presented at that grid point (or the next one, if
 * drawing overran it): only then are frame callbacks answered, with the presentation
 * time, the frame's sequence number and the refresh interval.
 *
 * Frame callbacks of a client with nothing on screen (no node, all hidden or off the
 * output) still complete, about once a second (FRAME_HIDDEN_NS).
 *
 * With --clock manual (headless tests), time is a counter moved by clock_step: frames
 * for changes are still drawn at once, but frame callbacks complete, and the clock that
 * presentation times (and animations) read advances, only at a step.
 */
#ifndef TESSERA_FRAME_H
#define TESSERA_FRAME_H

#include <stdbool.h>
#include <stdint.h>

struct client;
struct loop_timer;
struct server;
union ts_arg;

/* Frame callbacks of a client with nothing on screen complete this often. */
#define FRAME_HIDDEN_NS 1000000000u
/* Render times remembered for the repaint window. */
#define FRAME_RENDER_HISTORY 16

struct frame_pacing {
	uint64_t interval_ns;      // 0: a frame as soon as something changed, presented at once
	bool manual;               // --clock manual
	uint64_t manual_ns;        // its time
	uint64_t present_ns;       // the last presentation, on the grid; 0: none yet
	uint64_t target_ns;        // the presentation the frame timer (or the frame in
	                           // flight) aims at
	uint64_t draw_at_ns;       // when the frame timer was armed to draw (loop_now_ns)
	uint64_t done_ns;          // when the last frame finished drawing (loop_now_ns)
	uint64_t seq;              // frames presented
	uint64_t window_ns;        // draw this long before the grid point
	// The last render times, from when the frame was due to be drawn (so the loop's
	// and the scheduler's lateness count) to when drawing ended.
	uint32_t render_us[FRAME_RENDER_HISTORY];
	uint32_t render_at, render_len;
	bool in_flight;            // drawn, waiting for target_ns to be presented
	uint32_t animated;         // animations the last frame moved
	uint64_t animate_ns;       // and the time that took (info_query's frame_info)
	struct loop_timer *timer;  // the next frame is to be drawn
	struct loop_timer *present_timer; // the frame in flight is presented
};

/** Sets up pacing from the server's options and makes its timers; aborts without memory. */
void frame_init(struct server *server);
void frame_finish(struct server *server);

/** The clock presentation times are on: CLOCK_MONOTONIC, or the manual clock. */
uint64_t frame_clock_ns(const struct server *server);

/**
 * Arms or disarms the frame timer for what is wanted now. Called at the end of every
 * loop round, so what a round changed (commits, frame callbacks, screenshots, an
 * expose) is seen before the loop sleeps.
 */
void frame_schedule(struct server *server);

/** The clock_step request (requests.c's table). */
void handle_clock_step(struct client *client, const union ts_arg *args, void *const *objs);

/** Whether clients left over from their slice are owed service before a frame now. */
bool frame_backlog_due(const struct server *server, uint64_t now);

#endif
