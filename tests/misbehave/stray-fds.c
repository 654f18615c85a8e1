/*
 * misbehave-stray-fds: sends file descriptors the protocol has no place for. After a
 * proper hello, one of:
 *   unclaimed  a sync (header nfds 0) with an fd attached: no message claims it
 *   missing    a sync whose header says 2 fds, with only 1 attached
 *   burst      32 fds in one write, with the first bytes of a sync: more than the
 *              28 a connection may hold
 *   trickle    4 fds with each byte of a sync's header, sent one byte a write: the
 *              message never completes while the fds pile up past 28
 * Each is bad_fds, and every fd the server received must be closed with the client.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "misbehave.h"

enum mode { MODE_UNCLAIMED, MODE_MISSING, MODE_BURST, MODE_TRICKLE };
static const char *const modes[] = { "unclaimed", "missing", "burst", "trickle", NULL };

#define BURST_FDS 32u
#define TRICKLE_FDS 4u // per byte; 8 header bytes make 32

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv, "Sends file descriptors that no message takes.\n", modes, 0, &opt);
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	mb_hello(&r, "misbehave-stray-fds", opt.timeout_ms);
	// Every fd sent is a copy of this one: the server gets a new fd for each.
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		mb_die("/dev/null");
	}
	int fds[BURST_FDS];
	for (unsigned i = 0; i < BURST_FDS; i++) {
		fds[i] = devnull;
	}
	uint8_t sync[TS_MAX_MESSAGE];
	size_t len = mb_encode(sync, TS_REQ_sync, (union ts_arg[]){ { .u = 1 } });
	mb_say("ready");
	switch ((enum mode)opt.mode) {
	case MODE_UNCLAIMED:
		mb_write(r.fd, sync, len, fds, 1);
		break;
	case MODE_MISSING:
		sync[6] = 2; // the header's nfds
		mb_write(r.fd, sync, len, fds, 1);
		break;
	case MODE_BURST:
		mb_write(r.fd, sync, 4, fds, BURST_FDS);
		break;
	case MODE_TRICKLE:
		for (size_t i = 0; i < TS_HEADER_SIZE; i++) {
			if (!mb_write(r.fd, sync + i, 1, fds, TRICKLE_FDS)) {
				break;
			}
		}
		break;
	}
	close(devnull);
	mb_finish(&r, opt.timeout_ms);
}
