/*
 * tessera-bench: the server out of fds. Started with a soft limit of 64 fds, it gets
 * 100 clients that each say hello: it welcomes what it can and pauses accepts for the
 * rest. emfile_server_cpu_pct is the CPU its loop uses in a second meanwhile, with
 * connections it cannot take waiting in the backlog; a loop that spun on the listening
 * socket would use all of it. (That it pauses, keeps serving and takes the waiting
 * connections once fds are free is checked in order by e2e-limits, test_emfile_pause.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "peer.h"

#define CLIENTS 100
#define SERVER_FDS 64

// True once the server's log says it paused accepts; waits up to @timeout_ms.
static bool wait_for_pause(const struct bench_server *server, int timeout_ms) {
	long long deadline = peer_now_ms() + timeout_ms;
	while (peer_now_ms() < deadline) {
		char text[16384];
		int fd = open(server->log, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
		if (fd >= 0) {
			close(fd);
		}
		if (n > 0) {
			text[n] = '\0';
			if (strstr(text, "pausing accepts") != NULL) {
				return true;
			}
		}
		poll(NULL, 0, 10);
	}
	return false;
}

void run_emfile(struct bench *b) {
	struct rlimit saved, low;
	if (getrlimit(RLIMIT_NOFILE, &saved) < 0) {
		bench_fail("getrlimit: %s", strerror(errno));
	}
	// The server inherits the low limit; we take ours back once it runs.
	low = saved;
	low.rlim_cur = SERVER_FDS;
	if (setrlimit(RLIMIT_NOFILE, &low) < 0) {
		bench_fail("setrlimit: %s", strerror(errno));
	}
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	if (setrlimit(RLIMIT_NOFILE, &saved) < 0) {
		bench_fail("setrlimit: %s", strerror(errno));
	}
	int fds[CLIENTS];
	uint8_t hello[TS_MAX_MESSAGE];
	size_t len = peer_encode_hello(hello, sizeof hello, "bench-emfile");
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = peer_connect(server.socket, PEER_BLOCKING);
		if (fds[i] < 0 || peer_write(fds[i], hello, len, NULL, 0) != PEER_WRITTEN) {
			bench_server_explain(&server);
			bench_fail("client %d could not connect and say hello: %s", i, strerror(errno));
		}
	}
	if (!wait_for_pause(&server, 10000)) {
		bench_server_explain(&server);
		bench_fail("the server never ran out of fds (no \"pausing accepts\" in its log)");
	}
	uint64_t cpu = bench_cpu_ns(server.pid), start = bench_now_ns();
	poll(NULL, 0, 1000);
	cpu = bench_cpu_ns(server.pid) - cpu;
	uint64_t wall = bench_now_ns() - start;
	bench_record(b, "emfile_server_cpu_pct", 100.0 * (double)cpu / (double)wall);
	for (int i = 0; i < CLIENTS; i++) {
		close(fds[i]);
	}
	bench_server_stop(&server);
}
