/*
 * Scenarios: the server measured through the real client library (and, for the
 * connection storm, through the protocol library itself), each run against a fresh
 * headless server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

#include "bench.h"
#include "connection.h"
#include "peer.h"

static struct ts_display *connect_or_fail(struct bench_server *server, const char *name) {
	struct ts_display *display = ts_display_connect(server->socket, name);
	if (display == NULL) {
		bench_fail("cannot connect: %s", ts_connect_error());
	}
	return display;
}

static void check(struct ts_display *display, int rc, const char *what) {
	if (rc < 0) {
		bench_fail("%s: %s", what, ts_display_get_error_message(display));
	}
}

static void roundtrip(struct ts_display *display) {
	check(display, ts_display_roundtrip(display), "round trip");
}

static void frame_done(void *data, uint32_t time_ms) {
	*(bool *)data = true;
}

// Commits with a frame callback and waits until the frame showing the commit is done.
static void commit_and_wait_frame(struct ts_display *display) {
	bool done = false;
	check(display, ts_display_frame(display, frame_done, &done), "frame");
	check(display, ts_display_commit(display), "commit");
	while (!done) {
		check(display, ts_display_dispatch(display), "dispatch");
	}
}

// Creates @n visible 16x16 rects spread over the screen (not committed).
static struct ts_rect **make_rects(struct ts_display *display, uint32_t n) {
	struct ts_rect **rects = malloc(n * sizeof *rects);
	if (rects == NULL) {
		bench_fail("out of memory");
	}
	for (uint32_t i = 0; i < n; i++) {
		rects[i] = ts_rect_create(display);
		if (rects[i] == NULL) {
			check(display, -1, "rect_create");
		}
		int32_t x, y;
		bench_rect_position(i, 0, &x, &y);
		if (ts_rect_set_size(rects[i], BENCH_RECT_SIZE, BENCH_RECT_SIZE) < 0
				|| ts_rect_set_position(rects[i], x, y) < 0
				|| ts_rect_set_color(rects[i], bench_rect_color(i)) < 0) {
			check(display, -1, "rect setup");
		}
	}
	return rects;
}

static void destroy_rects(struct ts_display *display, struct ts_rect **rects, uint32_t n) {
	for (uint32_t i = 0; i < n; i++) {
		check(display, ts_rect_destroy(rects[i]), "destroy");
	}
	free(rects);
}

/* ---- round trip ---- */

static double roundtrip_us(struct ts_display *display, uint32_t iterations) {
	uint64_t start = bench_now_ns();
	for (uint32_t i = 0; i < iterations; i++) {
		roundtrip(display);
	}
	return (double)(bench_now_ns() - start) / 1e3 / iterations;
}

// Each run measures its baseline right before, so both see the same machine.
void run_roundtrip(struct bench *b) {
	uint32_t iterations = b->quick ? 20000 : 100000;
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	struct ts_display *display = connect_or_fail(&server, "bench-roundtrip");
	roundtrip_us(display, 1000); // warm up
	bench_record(b, "raw_pingpong_us", bench_pingpong_us(iterations));
	bench_record(b, "roundtrip_us", roundtrip_us(display, iterations));
	bench_pin(server.pid, 0);
	bench_pin(0, 0); // the ping-pong's child inherits it
	roundtrip_us(display, 1000);
	bench_record(b, "raw_pingpong_pinned_us", bench_pingpong_us(iterations));
	bench_record(b, "roundtrip_pinned_us", roundtrip_us(display, iterations));
	bench_unpin();
	ts_display_disconnect(display);
	bench_server_stop(&server);
}

/* ---- one-way request stream ---- */

void run_set_position(struct bench *b) {
	uint32_t count = b->quick ? 1000000 : 5000000;
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	struct ts_display *display = connect_or_fail(&server, "bench-set-position");
	struct ts_rect **rect = make_rects(display, 1);
	check(display, ts_display_commit(display), "commit");
	roundtrip(display);

	uint64_t server_cpu = bench_cpu_ns(server.pid);
	struct timespec cpu0, cpu1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	uint64_t start = bench_now_ns();
	for (uint32_t i = 0; i < count; i++) {
		if (ts_rect_set_position(rect[0], (int32_t)(i & 1023), (int32_t)(i >> 10 & 511)) < 0) {
			check(display, -1, "set_position");
		}
		if (i % 1000 == 999) {
			check(display, ts_display_commit(display), "commit");
		}
	}
	roundtrip(display);
	uint64_t took = bench_now_ns() - start;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	server_cpu = bench_cpu_ns(server.pid) - server_cpu;
	double client_ns = (double)(cpu1.tv_sec - cpu0.tv_sec) * 1e9 + (double)(cpu1.tv_nsec - cpu0.tv_nsec);

	bench_record(b, "set_position_msgs_per_s", count / ((double)took / 1e9));
	bench_record(b, "set_position_server_ns", (double)server_cpu / count);
	bench_record(b, "set_position_client_ns", client_ns / count);
	destroy_rects(display, rect, 1);
	ts_display_disconnect(display);
	bench_server_stop(&server);
}

/* ---- object creation and destruction ---- */

void run_objects(struct bench *b) {
	const uint32_t n = 100000;
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	struct ts_display *display = connect_or_fail(&server, "bench-objects");
	struct ts_rect **rects = malloc(n * sizeof *rects);
	if (rects == NULL) {
		bench_fail("out of memory");
	}
	uint64_t server_cpu = bench_cpu_ns(server.pid);
	uint64_t start = bench_now_ns();
	for (uint32_t i = 0; i < n; i++) {
		rects[i] = ts_rect_create(display);
		if (rects[i] == NULL) {
			check(display, -1, "rect_create");
		}
	}
	check(display, ts_display_commit(display), "commit");
	roundtrip(display);
	uint64_t created = bench_now_ns();
	server_cpu = bench_cpu_ns(server.pid) - server_cpu;
	for (uint32_t i = 0; i < n; i++) {
		check(display, ts_rect_destroy(rects[i]), "destroy");
	}
	check(display, ts_display_commit(display), "commit");
	roundtrip(display);
	uint64_t destroyed = bench_now_ns();
	bench_record(b, "create_objects_per_s", n / ((double)(created - start) / 1e9));
	bench_record(b, "create_server_ns", (double)server_cpu / n);
	bench_record(b, "destroy_objects_per_s", n / ((double)(destroyed - created) / 1e9));
	free(rects);
	ts_display_disconnect(display);
	bench_server_stop(&server);
}

/* ---- cleanup after SIGKILL ---- */

static uint32_t other_objects(struct ts_display *display, uint32_t *cleanup_us) {
	struct ts_server_info info;
	check(display, ts_display_query_info(display, &info), "info query");
	uint32_t objects = info.objects;
	*cleanup_us = info.last_cleanup_us;
	ts_server_info_finish(&info);
	return objects;
}

static void make_victim_rects(struct ts_display *display, const void *data) {
	make_rects(display, *(const uint32_t *)data);
}

void run_cleanup(struct bench *b) {
	const uint32_t n = 100000;
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *observer = connect_or_fail(&server, "bench-observer");
	pid_t victim = bench_victim_start(&server, "bench-victim", make_victim_rects, &n);
	uint32_t cleanup_us;
	if (other_objects(observer, &cleanup_us) < n) {
		bench_fail("the server does not hold the %u rects", n);
	}

	uint64_t start = bench_now_ns();
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	while (other_objects(observer, &cleanup_us) != 0) {
	}
	// The frame after the one that dropped them: the screen no longer shows them.
	commit_and_wait_frame(observer);
	uint64_t shown = bench_now_ns();

	struct ts_image image;
	check(observer, ts_display_screenshot(observer, &image), "screenshot");
	const uint8_t *p = image.pixels;
	for (int y = 0; y < image.height; y++) {
		for (int x = 0; x < image.width; x++) {
			if (memcmp(p + (size_t)y * image.stride + (size_t)x * 4, p, 4) != 0) {
				bench_fail("the frame after the cleanup still shows something at %d,%d", x, y);
			}
		}
	}
	ts_image_finish(&image);
	bench_record(b, "cleanup_ms_100k", cleanup_us / 1e3);
	bench_record(b, "cleanup_frame_ms_100k", (double)(shown - start) / 1e6);
	ts_display_disconnect(observer);
	bench_server_stop(&server);
}

/* ---- frames ---- */

static double frame_ms(struct bench *b, uint32_t n, uint32_t frames) {
	struct bench_server server;
	bench_server_start(b, &server, BENCH_UNPACED);
	struct ts_display *display = connect_or_fail(&server, "bench-frames");
	struct ts_rect **rects = make_rects(display, n);
	commit_and_wait_frame(display);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 1; f <= warmup + frames; f++) {
		if (f == warmup + 1) {
			start = bench_now_ns();
		}
		for (uint32_t i = 0; i < n; i++) {
			int32_t x, y;
			bench_rect_position(i, f, &x, &y);
			if (ts_rect_set_position(rects[i], x, y) < 0) {
				check(display, -1, "set_position");
			}
		}
		commit_and_wait_frame(display);
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	destroy_rects(display, rects, n);
	ts_display_disconnect(display);
	bench_server_stop(&server);
	return ms;
}

struct ts_display *bench_connect_or_fail(struct bench_server *server, const char *name) {
	return connect_or_fail(server, name);
}

void bench_check(struct ts_display *display, int rc, const char *what) {
	check(display, rc, what);
}

void bench_commit_and_wait_frame(struct ts_display *display) {
	commit_and_wait_frame(display);
}

uint32_t bench_other_objects(struct ts_display *display, uint32_t *cleanup_us) {
	return other_objects(display, cleanup_us);
}

pid_t bench_victim_start(struct bench_server *server, const char *name,
		void (*make)(struct ts_display *display, const void *data), const void *data) {
	int ready[2];
	if (pipe(ready) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	pid_t victim = fork();
	if (victim < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (victim == 0) {
		close(ready[0]);
		struct ts_display *display = connect_or_fail(server, name);
		make(display, data);
		commit_and_wait_frame(display);
		if (write(ready[1], "r", 1) != 1) {
			_exit(1);
		}
		for (;;) {
			pause();
		}
	}
	close(ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1) {
		bench_fail("the client %s did not get ready", name);
	}
	close(ready[0]);
	return victim;
}

// Each size's plain GL baseline is drawn right before it, so both see the same machine.
void run_frames(struct bench *b) {
	static const struct {
		uint32_t n, frames, quick_frames;
		const char *raw, *metric;
	} sizes[] = {
		{ 1000, 200, 60, "raw_gl_frame_ms_1k", "frame_ms_1k" },
		{ 10000, 100, 30, "raw_gl_frame_ms_10k", "frame_ms_10k" },
		{ 100000, 20, 8, "raw_gl_frame_ms_100k", "frame_ms_100k" },
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t frames = b->quick ? sizes[i].quick_frames : sizes[i].frames;
		bench_record(b, sizes[i].raw, bench_gl_frame_ms(sizes[i].n, frames));
		bench_record(b, sizes[i].metric, frame_ms(b, sizes[i].n, frames));
	}
}

/* ---- memory per object ---- */

void run_memory(struct bench *b) {
	const uint32_t n = 100000;
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	struct ts_display *display = connect_or_fail(&server, "bench-memory");
	// Warm up the drawing path (first use of the GL driver's code and buffers), so
	// that what grows below is what the rects themselves cost.
	struct ts_rect **rects = make_rects(display, 1000);
	commit_and_wait_frame(display);
	destroy_rects(display, rects, 1000);
	commit_and_wait_frame(display);
	roundtrip(display);
	long before = bench_rss_kib(server.pid);

	// First the objects alone: committed into the scene, hidden, so nothing is drawn.
	rects = make_rects(display, n);
	for (uint32_t i = 0; i < n; i++) {
		check(display, ts_rect_set_visible(rects[i], false), "set_visible");
	}
	commit_and_wait_frame(display);
	roundtrip(display);
	long held = bench_rss_kib(server.pid);
	// Then on screen: what drawing them adds (vertex batch, the GL driver's buffers).
	for (uint32_t i = 0; i < n; i++) {
		check(display, ts_rect_set_visible(rects[i], true), "set_visible");
	}
	commit_and_wait_frame(display);
	roundtrip(display);
	long drawn = bench_rss_kib(server.pid);
	bench_record(b, "bytes_per_object", (double)(held - before) * 1024 / n);
	bench_record(b, "bytes_per_object_drawn", (double)(drawn - before) * 1024 / n);
	destroy_rects(display, rects, n);
	ts_display_disconnect(display);
	bench_server_stop(&server);
}

/* ---- many clients ---- */

struct storm_client {
	struct ts_connection conn;
	bool welcomed, done;
};

// Starts a connection to @path; false when the listen backlog is full (try later).
static bool storm_connect(struct storm_client *c, const char *path, uint32_t index,
		bool tessera) {
	int fd = peer_connect(path, PEER_NONBLOCK);
	if (fd < 0) {
		if (errno == EAGAIN) {
			return false;
		}
		bench_fail("connect: %s (raise the open file limit?)", strerror(errno));
	}
	ts_connection_init(&c->conn, fd, 64 * 1024, 64 * 1024);
	if (!tessera) {
		uint64_t ping = index;
		if (write(fd, &ping, sizeof ping) != (ssize_t)sizeof ping) {
			bench_fail("cannot send a ping");
		}
		return true;
	}
	char name[32];
	snprintf(name, sizeof name, "bench-client-%u", index);
	if (ts_connection_queue(&c->conn, &ts_request_interface, TS_REQ_hello,
			(union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = name } }) < 0
			|| ts_connection_queue(&c->conn, &ts_request_interface, TS_REQ_sync,
				(union ts_arg[]){ { .u = 1 } }) < 0) {
		bench_fail("cannot queue a hello");
	}
	// Two small messages into an empty socket: they go at once.
	if (ts_connection_flush(&c->conn) != TS_IO_OK) {
		bench_fail("a connecting client could not send its hello");
	}
	return true;
}

// Handles what arrived for @c; sets c->done once its answer is complete.
static void storm_receive(struct storm_client *c, bool tessera) {
	if (!tessera) {
		uint64_t pong;
		if (read(c->conn.fd, &pong, sizeof pong) != (ssize_t)sizeof pong) {
			bench_fail("the raw server did not answer");
		}
		c->done = true;
		return;
	}
	int rc = ts_connection_read(&c->conn);
	if (rc == TS_IO_EOF || rc == TS_IO_ERROR || rc == TS_IO_TOO_MANY_FDS) {
		bench_fail("the server dropped a connecting client");
	}
	struct ts_header hdr;
	union ts_arg args[TS_MAX_ARGS];
	const char *why;
	while ((rc = ts_connection_next(&c->conn, &ts_event_interface, &hdr, args, &why)) > 0) {
		if (hdr.opcode == TS_EV_welcome) {
			c->welcomed = true;
		} else if (hdr.opcode == TS_EV_done && c->welcomed) {
			c->done = true;
		} else if (hdr.opcode == TS_EV_error) {
			bench_fail("a connecting client got an error: %s", args[2].s);
		}
		ts_connection_consume(&c->conn, hdr.size);
	}
	if (rc < 0) {
		bench_fail("bad event: %s", why);
	}
}

double bench_connect_storm(const char *path, uint32_t n, pid_t server, long *rss_growth_kib) {
	bool tessera = server > 0;
	long rss_before = tessera ? bench_rss_kib(server) : 0;
	struct storm_client *clients = calloc(n, sizeof *clients);
	// epoll, so that this side costs O(ready) and the figure is the server's.
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (clients == NULL || ep < 0) {
		bench_fail("cannot set up %u clients: %s", n, strerror(errno));
	}
	uint64_t start = bench_now_ns();
	uint32_t connected = 0, finished = 0;
	while (finished < n) {
		while (connected < n && storm_connect(&clients[connected], path, connected, tessera)) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = connected };
			if (epoll_ctl(ep, EPOLL_CTL_ADD, clients[connected].conn.fd, &ev) < 0) {
				bench_fail("epoll_ctl: %s", strerror(errno));
			}
			connected++;
		}
		struct epoll_event events[64];
		// While connects wait for room in the backlog, do not sleep for long.
		int count = epoll_wait(ep, events, 64, connected < n ? 1 : 10000);
		if (count < 0 && errno != EINTR) {
			bench_fail("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < count; i++) {
			struct storm_client *c = &clients[events[i].data.u32];
			storm_receive(c, tessera);
			if (c->done) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->conn.fd, NULL);
				finished++;
			}
		}
	}
	uint64_t took = bench_now_ns() - start;
	if (rss_growth_kib != NULL) {
		// While every client is still connected.
		*rss_growth_kib = tessera ? bench_rss_kib(server) - rss_before : 0;
	}
	close(ep);
	for (uint32_t i = 0; i < n; i++) {
		ts_connection_finish(&clients[i].conn);
	}
	free(clients);
	return (double)took / 1e6;
}

void run_clients(struct bench *b) {
	enum { N = 1000 };
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	uint64_t server_cpu = bench_cpu_ns(server.pid);
	long growth_kib;
	double ms = bench_connect_storm(server.socket, N, server.pid, &growth_kib);
	server_cpu = bench_cpu_ns(server.pid) - server_cpu;
	bench_record(b, "connect_1000_ms", ms);
	bench_record(b, "connect_1000_server_cpu_ms", (double)server_cpu / 1e6);
	bench_record(b, "bytes_per_client", (double)growth_kib * 1024 / N);
	bench_server_stop(&server);
}

/* ---- idle ---- */

void run_idle(struct bench *b) {
	enum { N = 10 };
	struct bench_server server;
	bench_server_start(b, &server, BENCH_PACED);
	struct ts_display *displays[N];
	struct ts_animation *anims[N];
	for (int i = 0; i < N; i++) {
		displays[i] = connect_or_fail(&server, "bench-idle");
		struct ts_rect **rect = make_rects(displays[i], 1);
		// Each rect turns once, for 300 ms: the server draws at the display rate while
		// the animations run, and must sleep once they have ended.
		anims[i] = ts_animate(ts_rect_node(rect[0]), TS_PROP_ROTATION, 90, 0, 0, 300,
			TS_EASE_LINEAR);
		if (anims[i] == NULL) {
			check(displays[i], -1, "animate");
		}
		commit_and_wait_frame(displays[i]);
		free(rect); // the rect stays on screen; the connection owns it
	}
	for (int i = 0; i < N; i++) {
		while (ts_animation_get_state(anims[i]) == 0) {
			check(displays[i], ts_display_dispatch(displays[i]), "dispatch");
		}
	}
	struct timespec settle = { 0, 200000000 };
	nanosleep(&settle, NULL);
	uint64_t before = bench_context_switches(server.pid);
	double seconds = b->quick ? 1.0 : 3.0;
	struct timespec wait = { (time_t)seconds, 0 };
	nanosleep(&wait, NULL);
	uint64_t after = bench_context_switches(server.pid);
	bench_record(b, "idle_wakeups_per_s", (double)(after - before) / seconds);
	for (int i = 0; i < N; i++) {
		ts_display_disconnect(displays[i]);
	}
	bench_server_stop(&server);
}
