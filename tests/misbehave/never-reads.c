/*
 * misbehave-never-reads: says hello, then sends requests that the server must answer
 * (sync, info_query) as fast as it can and never reads an answer. Once what the server
 * has queued for it passes the server's out-buffer limit the server must let it go;
 * the server must not queue without bound, nor stop serving anyone else.
 *
 * After the hang-up it reads what had reached its socket, for the report only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "misbehave.h"

// Callback ids cycle through this many. The server forgets a callback id as soon as
// it answers it; a client that never reads cannot know that, but one that kept taking
// new ids would run into the id limit first, and this one is about not reading.
#define CALLBACK_IDS 1024u
#define BATCH 256u // pairs of requests per write

// Writes all of @buf, waiting at most @timeout_ms for the socket to take each part.
// Returns 1 when written, 0 when the server hung up, -1 when it stopped taking bytes.
static int write_within(int fd, const uint8_t *buf, size_t len, int timeout_ms) {
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			return 0;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			mb_die("send");
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int rc = poll(&p, 1, timeout_ms);
		if (rc == 0) {
			return -1;
		}
		if (rc < 0 && errno != EINTR) {
			mb_die("poll");
		}
	}
	return 1;
}

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Sends hello, then sync and info_query without end (at most --count pairs,\n"
		"default 4000000), never reading the answers.\n",
		NULL, 4000000, &opt);
	struct peer r;
	peer_init(&r, mb_connect(opt.socket));
	// Not even the welcome is read.
	if (!mb_send(r.fd, TS_REQ_hello,
			(union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "misbehave-never-reads" } })) {
		mb_finish(&r, opt.timeout_ms);
	}
	mb_say("ready");
	static uint8_t batch[BATCH * 2 * 12];
	uint32_t id = 0;
	for (unsigned long sent = 0; sent < opt.count; sent += BATCH) {
		size_t len = 0;
		for (unsigned i = 0; i < BATCH; i++) {
			id = id % CALLBACK_IDS + 1;
			len += mb_encode(batch + len, TS_REQ_sync, (union ts_arg[]){ { .u = id } });
			id = id % CALLBACK_IDS + 1;
			len += mb_encode(batch + len, TS_REQ_info_query, (union ts_arg[]){ { .u = id } });
		}
		int rc = write_within(r.fd, batch, len, opt.timeout_ms);
		if (rc == 0) {
			mb_finish(&r, opt.timeout_ms);
		}
		if (rc < 0) {
			break; // the server stopped reading us instead: not what it should do
		}
	}
	mb_say("timeout");
	return 1;
}
