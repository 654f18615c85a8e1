/*
 * Fairness: a well-behaved animating client against a server paced at 60 Hz, alone and
 * beside 50 other client processes that misbehave: stuck (hello, a few rects, then
 * nothing), silent (connected, nothing or half a header), flooding (set_position and
 * commit as fast as they can) or syncing (sync requests as fast as they can). The
 * figure is the animation's frame rate, and its worst gap between two frames, next to
 * the same animation alone. The server's and the animation's time spent runnable but
 * not running (run-queue wait, /proc/PID/schedstat) say how much of a loss is the
 * CPU scheduler's rather than the server loop's: on two CPUs, 50 flooders that never
 * sleep are runnable beside them. The _bg conditions run the same flooders at
 * SCHED_IDLE, so that the server and the animation get a CPU whenever they want one
 * and what is left is the loop's own share-out. The CPU time of every other process
 * on the machine is measured too: on a shared machine it is part of the story.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

#include "bench.h"
#include "peer.h"
#include "wire.h"

#define CROWD 50
#define CROWD_RECTS 4    // rects of each stuck or flooding client
#define FLOOD_BATCH 64   // set_positions per commit of a flooding client
#define WARMUP_FRAMES 10 // animated before the measurement starts

enum behaviour { NOBODY, STUCK, SILENT, FLOODING, SYNCING };

// One condition, its metrics named after it (bench_record keeps the pointers).
static const struct condition {
	const char *name;
	enum behaviour behaviour;
	bool background; // the crowd runs only on CPU time nobody else wants (SCHED_IDLE)
	const char *fps, *worst_gap, *server_cpu, *server_wait, *client_wait, *others, *requests;
} conditions[] = {
#define C(n, b, bg, req) { n, b, bg, "fairness_fps_" n, "fairness_worst_gap_ms_" n, \
	"fairness_server_cpu_pct_" n, "fairness_server_wait_pct_" n, \
	"fairness_client_wait_pct_" n, "fairness_others_cpu_pct_" n, req }
	C("alone", NOBODY, false, NULL),
	C("50_stuck", STUCK, false, NULL),
	C("50_silent", SILENT, false, NULL),
	C("50_flooding", FLOODING, false, "fairness_requests_per_s_50_flooding"),
	C("50_syncing", SYNCING, false, "fairness_requests_per_s_50_syncing"),
	C("50_flooding_bg", FLOODING, true, "fairness_requests_per_s_50_flooding_bg"),
	C("50_syncing_bg", SYNCING, true, "fairness_requests_per_s_50_syncing_bg"),
#undef C
};

/* ---- the crowd: 50 client processes ---- */

// The server of the condition being measured, for fail().
static struct bench_server *current_server;

// bench_fail, after saying what became of the server: a client that lost its
// connection may be the sign of a server that died.
static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...) {
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (current_server != NULL) {
		bench_server_explain(current_server);
	}
	bench_fail("%s", text);
}

// The crowd alive now, so that an exit on a failure (bench_fail) still kills and reaps
// it. Each member also dies with this process (PR_SET_PDEATHSIG) if it is killed.
static struct crowd {
	pid_t pids[CROWD];
	int count;
	// Shared with the members: the requests each has sent or had answered (see
	// member_flood and member_sync). Written by one member each, read here.
	_Atomic uint64_t *counters;
} crowd;
static pid_t crowd_owner;

static void crowd_kill(void) {
	for (int i = 0; i < crowd.count; i++) {
		if (crowd.pids[i] > 0) {
			kill(crowd.pids[i], SIGKILL);
		}
	}
	for (int i = 0; i < crowd.count; i++) {
		if (crowd.pids[i] > 0) {
			while (waitpid(crowd.pids[i], NULL, 0) < 0 && errno == EINTR) {
			}
			crowd.pids[i] = 0;
		}
	}
	crowd.count = 0;
}

static void crowd_kill_at_exit(void) {
	// Members inherit the handler but leave with _exit; only the owner kills.
	if (getpid() == crowd_owner) {
		crowd_kill();
	}
}

// A member that cannot go on says why and leaves; the parent notices (see crowd_check).
static void __attribute__((format(printf, 2, 3), noreturn))
member_fail(int index, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "tessera-bench: fairness client %d: ", index);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	_exit(1);
}

static void member_ready(int ready_fd) {
	if (write(ready_fd, "r", 1) != 1) {
		_exit(1);
	}
	close(ready_fd);
}

static struct ts_display *member_connect(const char *socket_path, int index,
		const char *name, struct ts_rect **rects) {
	struct ts_display *display = ts_display_connect(socket_path, name);
	if (display == NULL) {
		member_fail(index, "cannot connect: %s", ts_connect_error());
	}
	for (uint32_t i = 0; i < CROWD_RECTS; i++) {
		rects[i] = ts_rect_create(display);
		int32_t x, y;
		bench_rect_position((uint32_t)index * CROWD_RECTS + i, 0, &x, &y);
		if (rects[i] == NULL || ts_rect_set_size(rects[i], BENCH_RECT_SIZE, BENCH_RECT_SIZE) < 0
				|| ts_rect_set_position(rects[i], x, y) < 0
				|| ts_rect_set_color(rects[i], bench_rect_color(i)) < 0) {
			member_fail(index, "rect setup: %s", ts_display_get_error_message(display));
		}
	}
	if (ts_display_commit(display) < 0 || ts_display_roundtrip(display) < 0) {
		member_fail(index, "commit: %s", ts_display_get_error_message(display));
	}
	return display;
}

static void ignore_done(void *data, uint32_t time_ms) {
}

// Hello, a few rects on screen, a frame callback it will never read, and then nothing.
static void member_stuck(const char *socket_path, int index, int ready_fd) {
	struct ts_rect *rects[CROWD_RECTS];
	struct ts_display *display = member_connect(socket_path, index, "bench-stuck", rects);
	if (ts_display_frame(display, ignore_done, NULL) < 0 || ts_display_commit(display) < 0
			|| ts_display_flush(display) < 0) {
		member_fail(index, "frame: %s", ts_display_get_error_message(display));
	}
	member_ready(ready_fd);
	for (;;) {
		pause();
	}
}

// Connected, then nothing (even members) or the first half of a hello header (odd).
static void member_silent(const char *socket_path, int index, int ready_fd) {
	int fd = peer_connect(socket_path, PEER_BLOCKING);
	if (fd < 0) {
		member_fail(index, "cannot connect: %s", strerror(errno));
	}
	if (index % 2 == 1) {
		uint8_t hello[TS_MAX_MESSAGE];
		size_t n = peer_encode_hello(hello, sizeof hello, "bench-silent");
		// Half of a hello's header: its size word; its opcode never comes.
		if (n == 0 || peer_write(fd, hello, TS_HEADER_SIZE / 2, NULL, 0) != PEER_WRITTEN) {
			member_fail(index, "cannot send half a header: %s", strerror(errno));
		}
	}
	member_ready(ready_fd);
	for (;;) {
		pause();
	}
}

// set_position on its rects and a commit every FLOOD_BATCH, as fast as the socket
// takes them. The library sends when its out-buffer is full, blocking until the
// server reads, and reads what the server sends meanwhile (errors only: these
// requests have no answer), so the member is never cut off for not reading.
static void member_flood(const char *socket_path, int index, int ready_fd,
		_Atomic uint64_t *sent) {
	struct ts_rect *rects[CROWD_RECTS];
	struct ts_display *display = member_connect(socket_path, index, "bench-flood", rects);
	member_ready(ready_fd);
	uint64_t count = 0;
	for (uint32_t frame = 1;; frame++) {
		for (uint32_t i = 0; i < FLOOD_BATCH; i++) {
			int32_t x, y;
			uint32_t r = i % CROWD_RECTS;
			bench_rect_position((uint32_t)index * CROWD_RECTS + r, frame, &x, &y);
			if (ts_rect_set_position(rects[r], x, y) < 0) {
				member_fail(index, "set_position: %s", ts_display_get_error_message(display));
			}
		}
		// Nothing answers these requests; an error would, so look now and then.
		if (ts_display_commit(display) < 0
				|| (frame % 64 == 0 && ts_display_read_events(display) < 0)) {
			member_fail(index, "commit: %s", ts_display_get_error_message(display));
		}
		count += FLOOD_BATCH + 1;
		atomic_store_explicit(sent, count, memory_order_relaxed);
	}
}

static void count_done(void *data, uint32_t serial) {
	(*(uint64_t *)data)++;
}

// sync requests as fast as the socket takes them, dispatching the answers (counted)
// as they come, every 256 requests.
static void member_sync(const char *socket_path, int index, int ready_fd,
		_Atomic uint64_t *answered) {
	struct ts_rect *rects[CROWD_RECTS];
	struct ts_display *display = member_connect(socket_path, index, "bench-sync", rects);
	member_ready(ready_fd);
	uint64_t count = 0;
	for (;;) {
		for (int i = 0; i < 256; i++) {
			if (ts_display_sync(display, count_done, &count) < 0) {
				member_fail(index, "sync: %s", ts_display_get_error_message(display));
			}
		}
		if (ts_display_read_events(display) < 0) {
			member_fail(index, "reading: %s", ts_display_get_error_message(display));
		}
		atomic_store_explicit(answered, count, memory_order_relaxed);
	}
}

// Starts CROWD members of @behaviour and waits until each is set up.
static void crowd_start(struct bench_server *server, enum behaviour behaviour,
		bool background) {
	if (crowd_owner == 0) {
		crowd_owner = getpid();
		atexit(crowd_kill_at_exit);
		void *shared = mmap(NULL, CROWD * sizeof *crowd.counters, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared == MAP_FAILED) {
			bench_fail("mmap: %s", strerror(errno));
		}
		crowd.counters = shared;
	}
	for (int i = 0; i < CROWD; i++) {
		atomic_store(&crowd.counters[i], 0);
	}
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	fflush(NULL); // nothing buffered here is written twice
	for (int i = 0; i < CROWD; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			close(ready[0]);
			close(ready[1]);
			bench_fail("fork: %s", strerror(errno));
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != crowd_owner) {
				_exit(1); // the parent is already gone
			}
			close(ready[0]);
			struct sched_param param = { 0 };
			if (background && sched_setscheduler(0, SCHED_IDLE, &param) < 0) {
				member_fail(i, "SCHED_IDLE: %s", strerror(errno));
			}
			switch (behaviour) {
			case STUCK:
				member_stuck(server->socket, i, ready[1]);
				break;
			case SILENT:
				member_silent(server->socket, i, ready[1]);
				break;
			case FLOODING:
				member_flood(server->socket, i, ready[1], &crowd.counters[i]);
				break;
			case SYNCING:
				member_sync(server->socket, i, ready[1], &crowd.counters[i]);
				break;
			default:
				break;
			}
			_exit(1);
		}
		crowd.pids[crowd.count++] = pid;
	}
	close(ready[1]);
	// One byte from each; end of file first means a member gave up (it said why).
	uint64_t deadline = bench_now_ns() + 20000000000ull;
	for (int got = 0; got < CROWD;) {
		struct pollfd pfd = { .fd = ready[0], .events = POLLIN };
		uint64_t now = bench_now_ns();
		if (now >= deadline) {
			close(ready[0]);
			fail("only %d of %d fairness clients got ready within 20 s", got, CROWD);
		}
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0) {
			continue;
		}
		char buf[CROWD];
		ssize_t n = read(ready[0], buf, sizeof buf);
		if (n == 0 || (n < 0 && errno != EINTR)) {
			close(ready[0]);
			fail("a fairness client failed to set up");
		}
		got += n > 0 ? (int)n : 0;
	}
	close(ready[0]);
}

// Fails when a member has left before being killed: the condition was not what its
// name says.
static void crowd_check(const char *condition) {
	for (int i = 0; i < crowd.count; i++) {
		int status;
		if (waitpid(crowd.pids[i], &status, WNOHANG) == crowd.pids[i]) {
			crowd.pids[i] = 0;
			fail("a client of '%s' ended during the measurement (status %d)",
				condition, status);
		}
	}
}

static uint64_t crowd_total(void) {
	uint64_t total = 0;
	for (int i = 0; crowd.counters != NULL && i < CROWD; i++) {
		total += atomic_load_explicit(&crowd.counters[i], memory_order_relaxed);
	}
	return total;
}

/* ---- the animation ---- */

// Run time and run-queue wait of @pid's main thread (/proc/PID/schedstat), in ns.
static void schedstat(pid_t pid, uint64_t *run_ns, uint64_t *wait_ns) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	FILE *f = fopen(path, "r");
	unsigned long long run = 0, wait = 0;
	if (f == NULL || fscanf(f, "%llu %llu", &run, &wait) != 2) {
		bench_fail("cannot read %s", path);
	}
	fclose(f);
	*run_ns = run;
	*wait_ns = wait;
}

// Clock ticks of CPU time (user and system, every thread) of @pid, from /proc/PID/stat.
static uint64_t process_ticks(pid_t pid) {
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL || fgets(line, sizeof line, f) == NULL) {
		bench_fail("cannot read %s", path);
	}
	fclose(f);
	// The name in parentheses may hold spaces; utime and stime are the 12th and 13th
	// fields after it.
	const char *p = strrchr(line, ')');
	unsigned long long utime = 0, stime = 0;
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			&utime, &stime) != 2) {
		bench_fail("cannot parse %s", path);
	}
	return utime + stime;
}

// Clock ticks the machine's CPUs spent busy, all of them together (/proc/stat).
static uint64_t machine_busy_ticks(void) {
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = { 0 };
	if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			&v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) {
		bench_fail("cannot read /proc/stat");
	}
	fclose(f);
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

// Busy ticks of the machine minus those of the server, this process and the crowd:
// what everything else running on the machine took.
static uint64_t others_ticks(pid_t server) {
	uint64_t ours = process_ticks(server) + process_ticks(getpid());
	for (int i = 0; i < crowd.count; i++) {
		ours += process_ticks(crowd.pids[i]);
	}
	return machine_busy_ticks() - ours;
}

static void check(struct ts_display *display, int rc, const char *what) {
	if (rc < 0) {
		fail("%s: %s", what, ts_display_get_error_message(display));
	}
}

static void frame_done(void *data, uint32_t time_ms) {
	*(bool *)data = true;
}

// Moves the rect to where frame @frame puts it and waits for that frame to be shown.
static void animate_one(struct ts_display *display, struct ts_rect *rect, uint32_t frame) {
	int32_t x, y;
	bench_rect_position(0, frame, &x, &y);
	bool done = false;
	check(display, ts_rect_set_position(rect, x, y), "set_position");
	check(display, ts_display_frame(display, frame_done, &done), "frame");
	check(display, ts_display_commit(display), "commit");
	while (!done) {
		check(display, ts_display_dispatch(display), "dispatch");
	}
}

static void measure(struct bench *b, const struct condition *c, double seconds) {
	struct bench_server server;
	current_server = &server;
	// The silent ones would be closed after the hello deadline (5 s by default), maybe
	// before the end: what is measured is the time they are there.
	bench_server_start_limit(b, &server, BENCH_PACED,
		c->behaviour == SILENT ? "hello_timeout_ms=3600000" : NULL);
	if (c->behaviour != NOBODY) {
		crowd_start(&server, c->behaviour, c->background);
	}
	struct ts_display *display = ts_display_connect(server.socket, "bench-animation");
	if (display == NULL) {
		fail("cannot connect: %s", ts_connect_error());
	}
	struct ts_rect *rect = ts_rect_create(display);
	if (rect == NULL) {
		check(display, -1, "rect_create");
	}
	check(display, ts_rect_set_size(rect, 4 * BENCH_RECT_SIZE, 4 * BENCH_RECT_SIZE), "set_size");
	check(display, ts_rect_set_color(rect, 0xf0f0f0ff), "set_color");
	// Above the crowd's rects, whatever order they connected in.
	check(display, ts_display_set_layer(display, TS_LAYER_OVERLAY), "set_layer");
	uint32_t frame = 0;
	while (frame < WARMUP_FRAMES) {
		animate_one(display, rect, frame++);
	}

	// From one frame callback to the last: every gap counts, none is cut in half.
	uint64_t server_run, server_wait, client_run, client_wait;
	schedstat(server.pid, &server_run, &server_wait);
	schedstat(getpid(), &client_run, &client_wait);
	uint64_t requests = crowd_total(), others = others_ticks(server.pid);
	uint64_t start = bench_now_ns(), last = start, worst = 0;
	uint32_t frames = 0;
	while (last - start < (uint64_t)(seconds * 1e9)) {
		animate_one(display, rect, frame++);
		uint64_t now = bench_now_ns();
		worst = now - last > worst ? now - last : worst;
		last = now;
		frames++;
	}
	uint64_t server_run1, server_wait1, client_run1, client_wait1;
	schedstat(server.pid, &server_run1, &server_wait1);
	schedstat(getpid(), &client_run1, &client_wait1);
	requests = crowd_total() - requests;
	others = others_ticks(server.pid) - others;
	double wall = (double)(last - start);

	// Every member must still be there and connected, or the figure is not of 50.
	if (c->behaviour != NOBODY) {
		crowd_check(c->name);
		struct ts_server_info info;
		check(display, ts_display_query_info(display, &info), "info query");
		// The silent ones never said hello: they are pending connections, counted
		// apart from the clients.
		uint32_t connected = c->behaviour == SILENT ? info.pending : info.clients;
		ts_server_info_finish(&info);
		if (connected != CROWD) {
			fail("'%s': %u other %s at the end, not %d", c->name, connected,
				c->behaviour == SILENT ? "pending connections" : "clients connected",
				CROWD);
		}
	}
	crowd_kill();
	ts_display_disconnect(display);
	bench_server_stop(&server);
	current_server = NULL;

	bench_record(b, c->fps, frames / (wall / 1e9));
	bench_record(b, c->worst_gap, (double)worst / 1e6);
	bench_record(b, c->server_cpu, (double)(server_run1 - server_run) / wall * 100);
	bench_record(b, c->server_wait, (double)(server_wait1 - server_wait) / wall * 100);
	bench_record(b, c->client_wait, (double)(client_wait1 - client_wait) / wall * 100);
	bench_record(b, c->others, (double)(int64_t)others / (double)sysconf(_SC_CLK_TCK)
		/ (wall / 1e9) * 100);
	if (c->requests != NULL) {
		bench_record(b, c->requests, (double)requests / (wall / 1e9));
	}
}

// With --only naming one condition's metric, that condition and its baseline (alone).
static bool wanted(const struct bench *b, const struct condition *c) {
	if (b->only == NULL || strncmp(b->only, "fairness_", 9) != 0 || c->behaviour == NOBODY) {
		return true;
	}
	size_t len = strlen(b->only), n = strlen(c->name);
	return len > n && strcmp(b->only + len - n, c->name) == 0 && b->only[len - n - 1] == '_';
}

void run_fairness(struct bench *b) {
	double seconds = b->quick ? 1.0 : 3.0;
	for (size_t i = 0; i < sizeof conditions / sizeof conditions[0]; i++) {
		if (wanted(b, &conditions[i])) {
			measure(b, &conditions[i], seconds);
		}
	}
}
