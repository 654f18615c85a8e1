/*
 * misbehave-silent-storm: holds --count connections (default 2000) that never say a
 * word, and renews each one the moment the server drops it, until stdin reaches EOF
 * (with --hold: the test lets go) or --timeout-ms passes. A hostile local program:
 * if connections that have not said hello shared one budget with real sessions, it
 * would keep every new client out for as long as it liked.
 *
 * Prints "ready" once all of them are connected; at the end, one line
 *   renewed N evicted E refused R expired X other O
 * (connections the server dropped and we opened again; of those, how many were told
 * limit pending_clients, limit clients, limit hello_timeout_ms, or anything else or
 * nothing) and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "misbehave.h"

enum reason { REASON_NONE, REASON_EVICTED, REASON_REFUSED, REASON_EXPIRED, REASON_OTHER };

struct tally {
	unsigned long renewed, by_reason[REASON_OTHER + 1];
};

static int open_silent(const char *socket) {
	int fd = peer_connect(socket, PEER_NONBLOCK);
	if (fd < 0) {
		mb_die(socket);
	}
	return fd;
}

// What the server's error event said: enough to tell the limits apart.
static enum reason classify(const struct peer *p) {
	if (p->errors == 0) {
		return REASON_NONE;
	}
	if (strstr(p->message, "limit pending_clients=") != NULL) {
		return REASON_EVICTED;
	}
	if (strstr(p->message, "limit clients=") != NULL) {
		return REASON_REFUSED;
	}
	if (strstr(p->message, "limit hello_timeout_ms=") != NULL) {
		return REASON_EXPIRED;
	}
	return REASON_OTHER;
}

// The server wrote to or closed connection @p. Reads what it said and returns true
// once the connection has ended (a malformed event ends it too, as "other").
static bool dropped(struct peer *p) {
	for (;;) {
		struct peer_event ev;
		enum peer_status rc = peer_next(p, 0, &ev);
		if (rc == PEER_TIMEOUT) {
			return false;
		}
		if (rc != PEER_EVENT) {
			return true;
		}
	}
}

int main(int argc, char *argv[]) {
	struct mb_options opt;
	mb_parse(argc, argv,
		"Holds --count silent connections (default 2000), renewing every one the server\n"
		"drops, until stdin reaches EOF (--hold) or --timeout-ms passes.\n",
		NULL, 2000, &opt);
	size_t count = opt.count;
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < count + 16) {
		lim.rlim_cur = lim.rlim_max;
		if (lim.rlim_cur < count + 16 || setrlimit(RLIMIT_NOFILE, &lim) < 0) {
			fprintf(stderr, "misbehave-silent-storm: %zu connections need more fds than "
				"RLIMIT_NOFILE allows\n", count);
			return 2;
		}
	}
	// pfds[0] is stdin (for --hold); then one per connection.
	struct pollfd *pfds = calloc(count + 1, sizeof *pfds);
	if (pfds == NULL) {
		mb_die("calloc");
	}
	pfds[0] = (struct pollfd){ .fd = opt.hold ? STDIN_FILENO : -1, .events = POLLIN };
	for (size_t i = 1; i <= count; i++) {
		pfds[i] = (struct pollfd){ .fd = open_silent(opt.socket), .events = POLLIN };
	}
	// peers[i] reads connection pfds[i].
	struct peer *peers = calloc(count + 1, sizeof *peers);
	if (peers == NULL) {
		mb_die("calloc");
	}
	for (size_t i = 1; i <= count; i++) {
		peer_init(&peers[i], pfds[i].fd);
	}
	mb_say("ready");
	struct tally t = { 0 };
	long long deadline = peer_now_ms() + opt.timeout_ms;
	while (peer_now_ms() < deadline) {
		// The tests start us with a 30 s alarm against a hang; the storm may last
		// longer, so the alarm is against a pass of this loop that never ends (a
		// connect that blocks for good) instead.
		alarm(30);
		int ready = poll(pfds, count + 1, 100);
		if (ready < 0 && errno != EINTR) {
			mb_die("poll");
		}
		if (ready <= 0) {
			continue;
		}
		if (pfds[0].revents) {
			char byte;
			ssize_t n = read(STDIN_FILENO, &byte, 1);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				break;
			}
		}
		for (size_t i = 1; i <= count; i++) {
			if (pfds[i].revents && dropped(&peers[i])) {
				// Closed without a word counts as "other".
				enum reason why = classify(&peers[i]);
				t.by_reason[why == REASON_NONE ? REASON_OTHER : why]++;
				peer_close(&peers[i]);
				pfds[i].fd = open_silent(opt.socket);
				peer_init(&peers[i], pfds[i].fd);
				t.renewed++;
			}
		}
	}
	for (size_t i = 1; i <= count; i++) {
		peer_close(&peers[i]);
	}
	free(pfds);
	free(peers);
	printf("renewed %lu evicted %lu refused %lu expired %lu other %lu\n", t.renewed,
		t.by_reason[REASON_EVICTED], t.by_reason[REASON_REFUSED],
		t.by_reason[REASON_EXPIRED], t.by_reason[REASON_OTHER]);
	fflush(stdout);
	return 0;
}
