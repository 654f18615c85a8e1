/*
 * misbehave-half-hello: connects and never finishes its hello, then waits.
 *   nothing      sends nothing at all
 *   half-header  the first 4 bytes of a hello's header
 *   header       a hello's whole header and none of its body
 *   half-hello   a hello's header and half of its body
 * A client that has not said hello by the server's hello deadline must get
 * limit_exceeded (naming hello_timeout_ms) and be closed: until then it only holds a
 * connection, and every other client is served as usual.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "misbehave.h"

enum mode { MODE_NOTHING, MODE_HALF_HEADER, MODE_HEADER, MODE_HALF_HELLO };
static const char *const modes[] = { "nothing", "half-header", "header", "half-hello", NULL };

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Connects, sends part of a hello (or nothing) and waits for the server.\n",
		modes, 0, &opt);
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	uint8_t hello[TS_MAX_MESSAGE];
	size_t len = mb_encode(hello, TS_REQ_hello,
		(union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "misbehave-half-hello" } });
	size_t part = 0;
	switch ((enum mode)opt.mode) {
	case MODE_NOTHING:
		break;
	case MODE_HALF_HEADER:
		part = TS_HEADER_SIZE / 2;
		break;
	case MODE_HEADER:
		part = TS_HEADER_SIZE;
		break;
	case MODE_HALF_HELLO:
		part = TS_HEADER_SIZE + (len - TS_HEADER_SIZE) / 2;
		break;
	}
	if (part > 0 && !mb_write(r.fd, hello, part, NULL, 0)) {
		mb_finish(&r, opt.timeout_ms);
	}
	mb_say("ready");
	mb_finish(&r, opt.timeout_ms);
}
