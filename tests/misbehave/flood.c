/*
 * misbehave-flood: valid traffic, as fast as it can, forever. It shows a few rects,
 * then moves them and commits without pause, reading its events as it goes (a sync
 * now and then makes sure there are some). The server must not disconnect it, and
 * must keep serving every other client while it runs.
 *
 * It prints "ready" once its rects are shown, then never stops by itself: it goes on
 * until killed, or prints what happened and exits if the server hangs up.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "misbehave.h"

#define BATCH 256u // set_position + commit pairs per write

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Creates N rects (--count, default 4) on the right of the screen, then moves\n"
		"them and commits as fast as it can, forever.\n",
		NULL, 4, &opt);
	if (opt.count < 1 || opt.count > 64) {
		mb_say("--count must be 1 to 64");
		return 2;
	}
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	mb_hello(&r, "misbehave-flood", opt.timeout_ms);
	int fd = r.fd;
	uint32_t rects = (uint32_t)opt.count, callback = rects + 1;
	for (uint32_t id = 1; id <= rects; id++) {
		bool ok = mb_send(fd, TS_REQ_rect_create, (union ts_arg[]){ { .u = id }, { .u = 0 } }) &&
			mb_send(fd, TS_REQ_node_set_size,
				(union ts_arg[]){ { .u = id }, { .f = 10 << 16 }, { .f = 10 << 16 } }) &&
			mb_send(fd, TS_REQ_rect_set_color,
				(union ts_arg[]){ { .u = id }, { .u = 0xffa000ffu } });
		if (!ok) {
			mb_finish(&r, opt.timeout_ms);
		}
	}
	if (!mb_send(fd, TS_REQ_commit, NULL) ||
			!mb_send(fd, TS_REQ_sync, (union ts_arg[]){ { .u = callback } })) {
		mb_finish(&r, opt.timeout_ms);
	}
	mb_wait_event(&r, TS_EV_done, callback, opt.timeout_ms);
	mb_say("ready");

	static uint8_t batch[TS_MAX_MESSAGE + BATCH * (20 + 8)];
	bool sync_out = false; // one sync at a time: its id is reused only once answered
	for (uint32_t step = 0;; step++) {
		size_t len = 0;
		for (unsigned i = 0; i < BATCH; i++) {
			// The right part of a 320x240 screen (x 170..309), where tests put nothing.
			uint32_t id = (step * BATCH + i) % rects + 1;
			int32_t x = 170 + (int32_t)((step + i * 7) % 140);
			int32_t y = 10 + (int32_t)((step * 3 + i * 5 + id * 40) % 220);
			len += mb_encode(batch + len, TS_REQ_node_set_position,
				(union ts_arg[]){ { .u = id }, { .f = x * 65536 }, { .f = y * 65536 } });
			len += mb_encode(batch + len, TS_REQ_commit, NULL);
		}
		if (!sync_out) {
			len += mb_encode(batch + len, TS_REQ_sync, (union ts_arg[]){ { .u = callback } });
			sync_out = true;
		}
		if (!mb_write(fd, batch, len, NULL, 0)) {
			mb_finish(&r, opt.timeout_ms);
		}
		// Read whatever has come, without waiting.
		for (;;) {
			struct peer_event ev;
			enum peer_status rc = mb_next_event(&r, 0, &ev);
			if (rc == PEER_HANGUP) {
				mb_say("disconnected");
				return 0;
			}
			if (rc == PEER_TIMEOUT) {
				break;
			}
			if (ev.hdr.opcode == TS_EV_done && ev.args[0].u == callback) {
				sync_out = false;
			}
		}
	}
}
