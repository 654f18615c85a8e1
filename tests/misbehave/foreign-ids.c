/*
 * misbehave-foreign-ids: names objects it never created. Another client holds ids
 * 1..N; this one says hello and sends rect_set_position (or destroy) on each of them.
 * Ids live in each client's own namespace, so the first request must fail with
 * invalid_id and cost this client its connection, and the other client's objects
 * must not move.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "misbehave.h"

enum mode { MODE_SET_POSITION, MODE_DESTROY };
static const char *const modes[] = { "set-position", "destroy", NULL };

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Says hello, then moves (set-position) or destroys (destroy) the objects with\n"
		"ids 1..N (--count, default 8) that it never created.\n",
		modes, 8, &opt);
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	mb_hello(&r, "misbehave-foreign-ids", opt.timeout_ms);
	mb_say("ready");
	// All of them in one go: the server must stop at the first.
	for (uint32_t id = 1; id <= opt.count; id++) {
		bool sent = opt.mode == MODE_DESTROY
			? mb_send(r.fd, TS_REQ_destroy, (union ts_arg[]){ { .u = id } })
			: mb_send(r.fd, TS_REQ_node_set_position,
				(union ts_arg[]){ { .u = id }, { .f = 1000 << 16 }, { .f = 1000 << 16 } });
		if (!sent) {
			break;
		}
	}
	mb_finish(&r, opt.timeout_ms);
}
