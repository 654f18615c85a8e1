/*
 * The loop backends on Tessera's own workload (the seed documents compare poll and
 * epoll on a web server: 432 against 506 req/s), and frame pacing as clients see it.
 *
 * loops: for 10, 100 and 1,000 connected clients, under poll and under epoll, the round
 * trip of one active client while the rest sit idle, and the sync throughput when one,
 * a tenth or all of them are active (one driver thread, 8 syncs in flight a client).
 *
 * pacing: 1 and 50 client processes, each moving its rect and committing at a random
 * point of the refresh period, then waiting for the frame callback: how long from the
 * commit to the presentation time the callback gives.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

#include "bench.h"

#define LOOP_BATCH 8 // syncs in flight per active client

// bench_record keeps the name's pointer: names made at run time live here, one copy
// each, for the whole run of the harness.
static const char *metric_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *metric_name(const char *fmt, ...) {
	static char names[48][48];
	static size_t count;
	char name[48];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(names[i], name) == 0) {
			return names[i];
		}
	}
	if (count == sizeof names / sizeof names[0]) {
		bench_fail("too many metric names");
	}
	memcpy(names[count], name, sizeof name);
	return names[count++];
}

static void check(struct ts_display *display, int rc, const char *what) {
	bench_check(display, rc, what);
}

static void count_done(void *data, uint32_t serial) {
	(*(uint32_t *)data)++;
}

// Sync requests a second with @active of the @displays busy, for about @seconds.
static double throughput(struct ts_display **displays, uint32_t active, double seconds) {
	uint32_t *done = calloc(active, sizeof *done);
	if (done == NULL) {
		bench_fail("out of memory");
	}
	uint64_t start = bench_now_ns(), until = start + (uint64_t)(seconds * 1e9);
	uint64_t requests = 0;
	do {
		for (uint32_t a = 0; a < active; a++) {
			done[a] = 0;
			for (int k = 0; k < LOOP_BATCH; k++) {
				check(displays[a], ts_display_sync(displays[a], count_done, &done[a]), "sync");
			}
			check(displays[a], ts_display_flush(displays[a]), "flush");
		}
		for (uint32_t a = 0; a < active; a++) {
			while (done[a] < LOOP_BATCH) {
				check(displays[a], ts_display_dispatch(displays[a]), "dispatch");
			}
		}
		requests += (uint64_t)active * LOOP_BATCH;
	} while (bench_now_ns() < until);
	double took = (double)(bench_now_ns() - start) / 1e9;
	free(done);
	return (double)requests / took;
}

static double roundtrip_us(struct ts_display *display, uint32_t iterations) {
	uint64_t start = bench_now_ns();
	for (uint32_t i = 0; i < iterations; i++) {
		check(display, ts_display_roundtrip(display), "round trip");
	}
	return (double)(bench_now_ns() - start) / 1e3 / iterations;
}

static void start_with_loop(struct bench *b, struct bench_server *server, const char *loop) {
	// The server takes TESSERA_LOOP as the default of --loop.
	setenv("TESSERA_LOOP", loop, 1);
	bench_server_start(b, server, BENCH_PACED);
	unsetenv("TESSERA_LOOP");
}

void run_loops(struct bench *b) {
	static const uint32_t sizes[] = { 10, 100, 1000 };
	static const char *const loops[] = { "poll", "epoll" };
	uint32_t iterations = b->quick ? 5000 : 20000;
	double seconds = b->quick ? 0.1 : 0.25;
	bench_record(b, "raw_pingpong_loops_us", bench_pingpong_us(iterations));
	for (size_t l = 0; l < 2; l++) {
		for (size_t s = 0; s < 3; s++) {
			uint32_t n = sizes[s];
			struct bench_server server;
			start_with_loop(b, &server, loops[l]);
			struct ts_display **d = calloc(n, sizeof *d);
			if (d == NULL) {
				bench_fail("out of memory");
			}
			for (uint32_t i = 0; i < n; i++) {
				d[i] = bench_connect_or_fail(&server, "bench-loops");
			}
			roundtrip_us(d[0], iterations / 10); // warm up
			bench_record(b, metric_name("loop_rt_us_%s_%u", loops[l], n),
				roundtrip_us(d[0], iterations));
			static const char *const shares[] = { "one", "tenth", "all" };
			uint32_t active[] = { 1, n / 10, n };
			for (int k = 0; k < 3; k++) {
				bench_record(b, metric_name("loop_req_per_s_%s_%u_%s", loops[l], n, shares[k]),
					throughput(d, active[k], seconds));
			}
			for (uint32_t i = 0; i < n; i++) {
				ts_display_disconnect(d[i]);
			}
			free(d);
			bench_server_stop(&server);
		}
	}
}

/* ---- commit to presentation ---- */

struct pacing_child {
	uint32_t count;
	uint32_t latency_us[512];
};

static void on_presented(void *data, const struct ts_presentation *p) {
	*(struct ts_presentation *)data = *p;
}

// One client: @seconds of commits at random points of the period, each waited for.
static void pacing_client(struct bench_server *server, uint32_t index, double seconds,
		struct pacing_child *out, int go_fd) {
	struct ts_display *d = bench_connect_or_fail(server, "bench-pacing");
	struct ts_rect *r = ts_rect_create(d);
	if (r == NULL) {
		check(d, -1, "rect_create");
	}
	int32_t x, y;
	bench_rect_position(index, 0, &x, &y);
	check(d, ts_rect_set_size(r, BENCH_RECT_SIZE, BENCH_RECT_SIZE), "set_size");
	check(d, ts_rect_set_position(r, x, y), "set_position");
	check(d, ts_rect_set_color(r, bench_rect_color(index)), "set_color");
	bench_commit_and_wait_frame(d);
	char byte;
	if (read(go_fd, &byte, 1) < 0) { // everyone starts together (EOF)
		bench_fail("read: %m");
	}
	uint32_t seed = 2654435761u * (index + 1);
	uint64_t until = bench_now_ns() + (uint64_t)(seconds * 1e9);
	for (uint32_t i = 0; bench_now_ns() < until && out->count < 512; i++) {
		seed = seed * 1103515245u + 12345u;
		struct timespec pause = { 0, (long)((seed >> 8) % 16666667u) };
		nanosleep(&pause, NULL);
		check(d, ts_rect_set_position(r, x + (int32_t)(i & 7), y), "set_position");
		struct ts_presentation p = { 0 };
		check(d, ts_display_frame_presented(d, on_presented, &p), "frame");
		uint64_t committed = bench_now_ns();
		check(d, ts_display_commit(d), "commit");
		check(d, ts_display_flush(d), "flush");
		while (p.time_ns == 0) {
			check(d, ts_display_dispatch(d), "dispatch");
		}
		uint64_t latency = p.time_ns > committed ? p.time_ns - committed : 0;
		out->latency_us[out->count++] = (uint32_t)(latency / 1000);
	}
	ts_display_disconnect(d);
}

static int cmp_u32(const void *a, const void *b) {
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void pacing_with(struct bench *b, uint32_t clients) {
	double seconds = b->quick ? 1.0 : 2.5;
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	size_t size = clients * sizeof(struct pacing_child);
	struct pacing_child *shared = mmap(NULL, size, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		bench_fail("mmap: %m");
	}
	memset(shared, 0, size);
	int go[2];
	if (pipe(go) < 0) {
		bench_fail("pipe: %m");
	}
	pid_t *pids = calloc(clients, sizeof *pids);
	if (pids == NULL) {
		bench_fail("out of memory");
	}
	for (uint32_t c = 0; c < clients; c++) {
		pids[c] = fork();
		if (pids[c] < 0) {
			bench_fail("fork: %m");
		}
		if (pids[c] == 0) {
			close(go[1]);
			pacing_client(&server, c, seconds, &shared[c], go[0]);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]); // go
	// Half way through, what a frame with every client's rect costs the server to draw:
	// the render time the median is judged against.
	struct timespec half = { (time_t)(seconds / 2), (long)((seconds / 2 - (int)(seconds / 2)) * 1e9) };
	nanosleep(&half, NULL);
	struct ts_display *probe = bench_connect_or_fail(&server, "bench-pacing-probe");
	struct ts_server_info info;
	check(probe, ts_display_query_info(probe, &info), "info");
	double render_ms = info.frame.frame_us / 1e3;
	ts_server_info_finish(&info);
	ts_display_disconnect(probe);
	uint32_t total = 0;
	for (uint32_t c = 0; c < clients; c++) {
		int status;
		if (waitpid(pids[c], &status, 0) != pids[c] || !WIFEXITED(status) ||
				WEXITSTATUS(status) != 0) {
			bench_server_explain(&server);
			bench_fail("a pacing client failed");
		}
		total += shared[c].count;
	}
	uint32_t *all = malloc((total ? total : 1) * sizeof *all);
	if (all == NULL) {
		bench_fail("out of memory");
	}
	uint32_t at = 0;
	for (uint32_t c = 0; c < clients; c++) {
		memcpy(all + at, shared[c].latency_us, shared[c].count * sizeof *all);
		at += shared[c].count;
	}
	if (total == 0) {
		bench_fail("no frame presented");
	}
	qsort(all, total, sizeof *all, cmp_u32);
	bench_record(b, metric_name("commit_render_ms_%u", clients), render_ms);
	bench_record(b, metric_name("commit_to_present_ms_%u", clients), all[total / 2] / 1e3);
	bench_record(b, metric_name("commit_to_present_p99_ms_%u", clients),
		all[(size_t)((total - 1) * 0.99)] / 1e3);
	free(all);
	free(pids);
	munmap(shared, size);
	bench_server_stop(&server);
}

void run_pacing(struct bench *b) {
	pacing_with(b, 1);
	pacing_with(b, 50);
}
