/*
 * misbehave-fds-and-die: dies with file descriptors in flight. After a proper hello it
 * writes part of a message together with 3 fds, prints "ready", and SIGKILLs itself
 * (with --hold: once its stdin reaches EOF, so a test can look at the server first).
 *   header  the first 6 bytes of a sync's header
 *   body    a whole hello header and half of its body
 * The server holds the fds with the unfinished message; they must all be closed when
 * the client goes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "misbehave.h"

enum mode { MODE_HEADER, MODE_BODY };
static const char *const modes[] = { "header", "body", NULL };

#define FDS 3u

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Writes part of a message with 3 fds, then SIGKILLs itself.\n", modes, 0, &opt);
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	mb_hello(&r, "misbehave-fds-and-die", opt.timeout_ms);
	int fds[FDS];
	for (unsigned i = 0; i < FDS; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			mb_die("/dev/null");
		}
	}
	uint8_t msg[TS_MAX_MESSAGE];
	size_t len;
	if (opt.mode == MODE_BODY) {
		// A second hello would be an error, but the server never sees all of it.
		len = mb_encode(msg, TS_REQ_hello,
			(union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "a name long enough to cut in half" } });
		len = TS_HEADER_SIZE + (len - TS_HEADER_SIZE) / 2;
	} else {
		mb_encode(msg, TS_REQ_sync, (union ts_arg[]){ { .u = 1 } });
		len = 6;
	}
	if (!mb_write(r.fd, msg, len, fds, FDS)) {
		mb_finish(&r, opt.timeout_ms);
	}
	mb_say("ready");
	mb_hold(&opt);
	kill(getpid(), SIGKILL);
	return 1;
}
