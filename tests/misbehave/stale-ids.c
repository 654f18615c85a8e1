/*
 * misbehave-stale-ids: uses an id after destroying its object. It shows a rect (create,
 * commit, round trip), destroys it, and then sets its colour (set-color) or destroys it
 * again (destroy-twice) straight away. The id names nothing any more: invalid_id, and
 * the connection goes.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "misbehave.h"

enum mode { MODE_SET_COLOR, MODE_DESTROY_TWICE };
static const char *const modes[] = { "set-color", "destroy-twice", NULL };

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Creates and shows a rect, destroys it, then uses its id again.\n",
		modes, 0, &opt);
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	mb_hello(&r, "misbehave-stale-ids", opt.timeout_ms);
	int fd = r.fd;
	const uint32_t rect = 1, callback = 2;
	bool ok = mb_send(fd, TS_REQ_rect_create, (union ts_arg[]){ { .u = rect }, { .u = 0 } }) &&
		mb_send(fd, TS_REQ_node_set_size,
			(union ts_arg[]){ { .u = rect }, { .f = 20 << 16 }, { .f = 20 << 16 } }) &&
		mb_send(fd, TS_REQ_rect_set_color,
			(union ts_arg[]){ { .u = rect }, { .u = 0xff00ffffu } }) &&
		mb_send(fd, TS_REQ_commit, NULL) &&
		mb_send(fd, TS_REQ_sync, (union ts_arg[]){ { .u = callback } });
	if (!ok) {
		mb_finish(&r, opt.timeout_ms);
	}
	mb_wait_event(&r, TS_EV_done, callback, opt.timeout_ms);
	mb_say("ready");
	// The bad part: no wait for delete_ids either, as a careless client would not.
	if (mb_send(fd, TS_REQ_destroy, (union ts_arg[]){ { .u = rect } })) {
		if (opt.mode == MODE_DESTROY_TWICE) {
			mb_send(fd, TS_REQ_destroy, (union ts_arg[]){ { .u = rect } });
		} else {
			mb_send(fd, TS_REQ_rect_set_color,
				(union ts_arg[]){ { .u = rect }, { .u = 0x00ff00ffu } });
		}
	}
	mb_finish(&r, opt.timeout_ms);
}
