#include "frame.h"

#include <stdlib.h>

#include "animation.h"
#include "backend.h"
#include "client.h"
#include "image.h"
#include "log.h"
#include "loop.h"
#include "object.h"
#include "render.h"
#include "server.h"
#include "text.h"

// After a frame, clients with requests left over get at least this long of slices
// before the next frame is drawn (see frame_backlog_due).
#define BACKLOG_SERVICE_NS 4000000u
// The repaint window: a long recent render time (counted from when the frame was due
// to be drawn, so the time the loop took to wake is in it), a quarter more, and a margin,
// but never less than WINDOW_MIN_NS nor more than the interval.
#define WINDOW_MARGIN_NS 1000000u
#define WINDOW_MIN_NS 1500000u
#define WINDOW_START_NS 4000000u

uint64_t frame_clock_ns(const struct server *server) {
	return server->pacing.manual ? server->pacing.manual_ns : loop_now_ns();
}

// True while backlogged clients are owed service before the next frame. Without it a
// slow renderer (llvmpipe, a Pi driving a large display) takes the whole refresh
// interval, every round draws a frame, and a backlogged client gets one slice a frame:
// a client flooding info_queries without reading would then fill its out-buffer, and
// be cut off, only after minutes. With it, slices go on for BACKLOG_SERVICE_NS after
// each frame however long frames take; the frame rate drops only while a client is
// backlogged, and only as far as the renderer is slow.
bool frame_backlog_due(const struct server *server, uint64_t now) {
	return !list_empty(&server->backlog_clients) &&
		now - server->pacing.done_ns < BACKLOG_SERVICE_NS;
}

static bool screen_changed(const struct server *server) {
	return tree_changed(&server->tree) || server->backend->damaged ||
		!list_empty(&server->shots);
}

// When a frame is wanted, on the presentation clock: at once for a change on screen or
// a client whose frame callbacks wait with something on screen; a second after its last
// ones for a client with nothing on screen. UINT64_MAX: nothing wanted. With the manual
// clock, frame callbacks wait for a step and want nothing here.
static uint64_t wanted_at(const struct server *server, uint64_t now) {
	if (screen_changed(server)) {
		return now;
	}
	if (server->pacing.manual) {
		return UINT64_MAX;
	}
	if (server->animation_len > 0) {
		return now; // animations run at the display's rate
	}
	uint64_t at = UINT64_MAX;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->frame_clients) {
		struct client *client = list_entry(pos, struct client, frame_link);
		if (client->has_root && tree_root_on_screen(&server->tree, &client->root)) {
			return now;
		}
		uint64_t hidden = client->frame_done_at + FRAME_HIDDEN_NS;
		if (hidden < at) {
			at = hidden;
		}
	}
	return at < now ? now : at;
}

// The first grid point at or after @t, and after the last presentation.
static uint64_t grid_at(const struct frame_pacing *fp, uint64_t t) {
	if (fp->interval_ns == 0 || fp->present_ns == 0) {
		return t; // no grid yet: it starts at the first presentation
	}
	if (t <= fp->present_ns) {
		return fp->present_ns + fp->interval_ns;
	}
	uint64_t k = (t - fp->present_ns + fp->interval_ns - 1) / fp->interval_ns;
	return fp->present_ns + k * fp->interval_ns;
}

void frame_schedule(struct server *server) {
	struct frame_pacing *fp = &server->pacing;
	if (fp->in_flight) {
		loop_timer_disarm(fp->timer); // the next is scheduled once this one is presented
		return;
	}
	uint64_t now = loop_now_ns();
	uint64_t at = wanted_at(server, frame_clock_ns(server));
	if (at == UINT64_MAX) {
		loop_timer_disarm(fp->timer);
		return;
	}
	if (fp->manual) {
		at = now; // only changes on screen are wanted: drawn at once
	}
	if (!list_empty(&server->backlog_clients) && fp->done_ns + BACKLOG_SERVICE_NS > at) {
		at = fp->done_ns + BACKLOG_SERVICE_NS;
	}
	uint64_t draw_at = at;
	if (fp->interval_ns > 0 && !fp->manual) {
		fp->target_ns = grid_at(fp, (at > now ? at : now) + fp->window_ns);
		draw_at = fp->target_ns - fp->window_ns;
	}
	fp->draw_at_ns = draw_at;
	if (loop_timer_deadline(fp->timer) != draw_at) {
		loop_timer_arm(fp->timer, draw_at, 0);
	}
}

static void remember_render_time(struct frame_pacing *fp, uint64_t ns) {
	uint32_t us = ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
	fp->render_us[fp->render_at] = us;
	fp->render_at = (fp->render_at + 1) % FRAME_RENDER_HISTORY;
	if (fp->render_len < FRAME_RENDER_HISTORY) {
		fp->render_len++;
	}
	// The third longest of the last FRAME_RENDER_HISTORY: one or two outliers (the
	// first frame compiles shaders, a screenshot reads back) must not push every frame
	// after them a period late; a frame that overruns the window is presented a period
	// late, which is what happens to it anyway.
	uint32_t top[3] = { 0, 0, 0 };
	for (uint32_t i = 0; i < fp->render_len; i++) {
		uint32_t v = fp->render_us[i];
		if (v > top[0]) {
			top[2] = top[1];
			top[1] = top[0];
			top[0] = v;
		} else if (v > top[1]) {
			top[2] = top[1];
			top[1] = v;
		} else if (v > top[2]) {
			top[2] = v;
		}
	}
	uint32_t worst = fp->render_len >= 3 ? top[2] : top[0];
	uint64_t window = (uint64_t)worst * 1000 * 5 / 4 + WINDOW_MARGIN_NS;
	window = window < WINDOW_MIN_NS ? WINDOW_MIN_NS : window;
	fp->window_ns = window > fp->interval_ns ? fp->interval_ns : window;
}

// Draws what is on screen now, answers the screenshots waiting for it and presents it
// to the backend. Returns whether anything was drawn (a frame with only frame callbacks
// waiting and nothing changed is "presented" without drawing it again: the screen
// already shows their commits).
static bool draw(struct server *server) {
	struct backend *backend = server->backend;
	struct tree *tree = &server->tree;
	if (!screen_changed(server)) {
		return false;
	}
	if (tree->width != backend->width || tree->height != backend->height ||
			backend->damaged) {
		tree_resize(tree, backend->width, backend->height);
	}
	backend->damaged = false;
	if (!backend->impl->begin_frame(backend)) {
		log_error("%s backend: cannot begin a frame", backend->impl->name);
		struct list *pos, *tmp;
		list_for_each_safe(pos, tmp, &server->shots) {
			shot_finish(list_entry(pos, struct shot, link), SHOT_FAILED);
		}
		return false;
	}
	// Glyphs new in the atlas reach the GPU before a frame draws them.
	image_textures_reap(server);
	text_system_flush(server->text);
	image_sprites_flush(server);
	if (!tree_build(tree)) {
		log_error("out of memory for the frame's draw list");
	}
	bool drawn = renderer_draw_list(server->renderer, &tree->list, backend->width,
		backend->height, &server->frame_stats);
	// Screenshots show this frame: read before presenting it, into mappings made for
	// the output's size when they were asked for.
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->shots) {
		struct shot *shot = list_entry(pos, struct shot, link);
		if (shot->width != backend->width || shot->height != backend->height) {
			shot_finish(shot, SHOT_RESIZED);
		} else {
			shot_finish(shot, drawn && renderer_read_frame(server->renderer,
				backend->width, backend->height, shot->pixels) ? SHOT_DONE : SHOT_FAILED);
		}
	}
	if (!backend->impl->end_frame(backend)) {
		log_error("%s backend: cannot present a frame", backend->impl->name);
	}
	return true;
}

// The frame callbacks the frame about to be drawn answers: every client's with
// something on screen, and those of clients with nothing on screen whose last ones
// were answered FRAME_HIDDEN_NS ago. With the manual clock, only at a step (@step).
static void take_frame_callbacks(struct server *server, uint64_t clock, bool step) {
	if (server->pacing.manual && !step) {
		return;
	}
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->frame_clients) {
		struct client *client = list_entry(pos, struct client, frame_link);
		bool shown = client->has_root && tree_root_on_screen(&server->tree, &client->root);
		if (shown || clock >= client->frame_done_at + FRAME_HIDDEN_NS) {
			client_frame_take(client);
		}
	}
}

static void present(struct server *server, uint64_t time_ns) {
	struct frame_pacing *fp = &server->pacing;
	fp->in_flight = false;
	// The sequence counts refresh periods, as a display's vblank counter does, so a
	// client sees the frames it missed; without a grid (no refresh rate, the manual
	// clock) it counts presentations.
	if (fp->interval_ns > 0 && !fp->manual && fp->present_ns != 0) {
		fp->seq += (time_ns - fp->present_ns) / fp->interval_ns;
	} else {
		fp->seq++;
	}
	fp->present_ns = time_ns;
	uint32_t refresh = fp->interval_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)fp->interval_ns;
	while (!list_empty(&server->present_clients)) {
		client_frame_presented(list_entry(server->present_clients.next, struct client,
			present_link), time_ns, (uint32_t)fp->seq, refresh);
	}
}

// Draws a frame now (@step: for a clock_step) and presents it: at once without a
// refresh grid or with the manual clock, else at the grid point it aimed at, or the
// first one after drawing ended if it overran that.
static void draw_frame(struct server *server, bool step) {
	struct frame_pacing *fp = &server->pacing;
	uint64_t start = loop_now_ns();
	// Animations move to the time this frame will be seen at; with the manual clock
	// only at a step (the frames drawn between show the same time).
	if (!fp->manual || step) {
		uint64_t t = fp->manual ? fp->manual_ns : fp->interval_ns == 0 ? start
			: fp->target_ns > start ? fp->target_ns : grid_at(fp, start);
		uint32_t n = server->animation_len;
		uint64_t before = loop_now_ns();
		animation_tick(server, t);
		if (n > 0) {
			fp->animated = n;
			fp->animate_ns = loop_now_ns() - before;
		}
	}
	// Drawing builds the tree, which says what is on screen: callbacks are taken after.
	bool drew = draw(server);
	take_frame_callbacks(server, frame_clock_ns(server), step);
	uint64_t done = loop_now_ns();
	fp->done_ns = done;
	server->frames++;
	if (drew) {
		// Late wake-ups count: what matters is whether the frame makes its grid point.
		uint64_t from = !step && fp->draw_at_ns != 0 && fp->draw_at_ns < start
			? fp->draw_at_ns : start;
		remember_render_time(fp, done - from);
	}
	if (fp->manual) {
		if (step) {
			present(server, fp->manual_ns);
		}
		return;
	}
	if (fp->interval_ns == 0) {
		present(server, done);
		return;
	}
	uint64_t target = fp->target_ns > done ? fp->target_ns : grid_at(fp, done);
	fp->target_ns = target;
	fp->in_flight = true;
	loop_timer_arm(fp->present_timer, target, 0);
}

static void handle_frame_timer(void *data) {
	struct server *server = data;
	uint64_t now = loop_now_ns();
	if (server->pacing.in_flight || frame_backlog_due(server, now) ||
			wanted_at(server, frame_clock_ns(server)) > frame_clock_ns(server)) {
		return; // frame_schedule arms it again for when it is
	}
	draw_frame(server, false);
}

static void handle_present_timer(void *data) {
	struct server *server = data;
	present(server, server->pacing.target_ns);
}

void handle_clock_step(struct client *client, const union ts_arg *args, void *const *objs) {
	struct server *server = client->server;
	struct frame_pacing *fp = &server->pacing;
	uint32_t cb = args[0].u;
	if (!object_check_new_id(client, cb)) {
		return;
	}
	if (!fp->manual) {
		client_post_error(client, 0, TS_ERR_access_denied,
			"clock_step needs a server started with --clock manual");
		return;
	}
	uint32_t ms = args[1].u;
	fp->manual_ns += ms > 0 ? (uint64_t)ms * 1000000u
		: fp->interval_ns > 0 ? fp->interval_ns : 16666667u;
	// A frame at the new time, which answers every frame callback it shows; then the
	// step's own done, with the frame's sequence number.
	draw_frame(server, true);
	client_send(client, TS_EV_done, (union ts_arg[]){ { .u = cb }, { .u = (uint32_t)fp->seq } });
}

void frame_init(struct server *server) {
	struct frame_pacing *fp = &server->pacing;
	const struct server_options *opts = &server->options;
	*fp = (struct frame_pacing){
		// 0: no limit, a frame as soon as something changed (benchmarks).
		.interval_ns = opts->refresh_mhz > 0
			? 1000000000000ull / (uint64_t)opts->refresh_mhz : 0,
		.manual = opts->manual_clock,
		// Starts where the real clock is, so times look like CLOCK_MONOTONIC's.
		.manual_ns = loop_now_ns(),
	};
	fp->window_ns = fp->interval_ns < WINDOW_START_NS ? fp->interval_ns : WINDOW_START_NS;
	fp->timer = loop_add_timer(server->loop, handle_frame_timer, server);
	fp->present_timer = loop_add_timer(server->loop, handle_present_timer, server);
	if (fp->timer == NULL || fp->present_timer == NULL) {
		log_error("out of memory for the frame timers");
		abort();
	}
}

void frame_finish(struct server *server) {
	loop_timer_remove(server->pacing.timer);
	loop_timer_remove(server->pacing.present_timer);
	server->pacing.timer = server->pacing.present_timer = NULL;
}
