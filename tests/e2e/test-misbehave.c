/*
 * End-to-end tests with misbehaving clients: the programs of tests/misbehave, each
 * doing one bad thing, and hostile connections made here (bad headers, a storm of
 * connections, clients that never say hello), against the real server, headless.
 *
 * Each test checks what the server did: the error the offender got (the programs
 * print "error CODE OBJECT MESSAGE" and "disconnected"; see tests/misbehave/
 * misbehave.h), the totals tessera-info reports, the pixels of a well-behaved client's
 * rects in a screenshot, and the server's fd count. Nothing waits by sleeping: every
 * wait polls for its condition, with a generous deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"
#include "wire.h"

#define INNOCENT_COLOR 0x3366ccffu // the well-behaved client's rects
#define FLOOD_COLOR 0xffa000ffu    // misbehave-flood's rects
#define STALE_COLOR 0xff00ffffu    // misbehave-stale-ids' rect
#define CELL 16                    // innocent rects: 12x12 in a grid of 16x16 cells
#define SIDE 12

struct fixture {
	struct e2e_server srv;
	int fd_baseline;
};

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// One test at a time: static, so that a setup that fails leaks nothing, and main can
// clean up after a test that failed before its teardown stopped the server.
static struct fixture fixture;

static int start_fixture(void **state, const char *const *extra) {
	struct fixture *f = &fixture;
	e2e_server_discard(&f->srv); // left running by a test that failed
	memset(f, 0, sizeof *f);
	e2e_server_start_with(&f->srv, extra);
	f->fd_baseline = e2e_server_settled_fds(&f->srv);
	*state = f;
	return 0;
}

static int setup(void **state) {
	return start_fixture(state, NULL);
}

// A short hello deadline, for clients that never finish their hello.
static int setup_hello_500(void **state) {
	return start_fixture(state, (const char *const[]){ "--limit", "hello_timeout_ms=500", NULL });
}

// Long enough to count the silent clients before it passes, even under a sanitizer
// on a loaded machine; short enough not to slow the suite much.
#define SILENT_DEADLINE "3000"
#define SILENT_DEADLINE_MS 3000
static int setup_hello_3000(void **state) {
	return start_fixture(state,
		(const char *const[]){ "--limit", "hello_timeout_ms=" SILENT_DEADLINE, NULL });
}

// Every test leaves the server as it found it: alive, no clients, no objects, the
// screen back to its background and no fd leaked.
static int teardown(void **state) {
	struct fixture *f = *state;
	e2e_check_as_found(&f->srv, f->fd_baseline, 5000);
	e2e_server_stop(&f->srv);
	f->srv.pid = 0; // stopped: nothing for e2e_server_discard to do
	return 0;
}

/* ---- the well-behaved client ---- */

// Connects and shows @n rects in a grid at the top left (x and y below 150, where
// the misbehaving programs draw nothing), with ids 1..@n.
static struct ts_display *innocent_show(struct fixture *f, int n) {
	struct ts_display *d = ts_display_connect(f->srv.socket, "e2e-innocent");
	assert_non_null(d);
	for (int i = 0; i < n; i++) {
		struct ts_rect *r = ts_rect_create(d);
		assert_non_null(r);
		assert_int_equal(ts_rect_get_id(r), (uint32_t)i + 1);
		assert_int_equal(ts_rect_set_position(r, 4 + i % 8 * CELL, 4 + i / 8 * CELL), 0);
		assert_int_equal(ts_rect_set_size(r, SIDE, SIDE), 0);
		assert_int_equal(ts_rect_set_color(r, INNOCENT_COLOR), 0);
	}
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	return d;
}

// The pixels of @n innocent rects, every one where it was put.
static void check_innocent_pixels(const struct e2e_image *img, int n) {
	assert_int_equal(e2e_count(img, INNOCENT_COLOR), (size_t)n * SIDE * SIDE);
	for (int i = 0; i < n; i++) {
		int x = 4 + i % 8 * CELL, y = 4 + i / 8 * CELL;
		assert_int_equal(e2e_pixel(img, x, y), INNOCENT_COLOR);
		assert_int_equal(e2e_pixel(img, x + SIDE - 1, y + SIDE - 1), INNOCENT_COLOR);
	}
}

// The innocent client still works, holds its @n objects and shows them, and is the
// only client left.
static void check_innocent(struct fixture *f, struct ts_display *d, int n) {
	assert_int_equal(ts_display_roundtrip(d), 0);
	assert_int_equal(ts_display_get_error(d), 0);
	struct e2e_info info;
	assert_true(e2e_wait_totals(&f->srv, 1, n, 5000, &info));
	assert_non_null(strstr(info.json, "\"name\": \"e2e-innocent\""));
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	check_innocent_pixels(&img, n);
	e2e_image_free(&img);
}

static void on_count(void *data, uint32_t time_ms) {
	(*(int *)data)++;
}

// Reads and dispatches @d's events until *@counter reaches @target; false after
// @timeout_ms or if the connection fails. Never blocks past the deadline.
static bool wait_count(struct ts_display *d, int *counter, int target, int timeout_ms) {
	long long deadline = now_ms() + timeout_ms;
	while (*counter < target) {
		if (ts_display_flush(d) < 0 && errno != EAGAIN) {
			return false;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			return false;
		}
		struct pollfd p = { .fd = ts_display_get_fd(d), .events = POLLIN };
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
			return false;
		}
		if (ts_display_read_events(d) < 0) {
			return false;
		}
	}
	return true;
}

/* ---- running the misbehaving programs ---- */

// What a program printed, and how it ended.
struct outcome {
	int status;
	char out[16384];
};

// argv for program @var: its path, --socket, then @args (NULL-terminated).
static void build_argv(const char **argv, size_t cap, struct fixture *f, const char *var,
		const char *const *args) {
	size_t n = 0;
	argv[n++] = e2e_bin(var);
	argv[n++] = "--socket";
	argv[n++] = f->srv.socket;
	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		assert_true(n + 1 < cap);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
}

static void run_program(struct fixture *f, const char *var, const char *const *args,
		struct outcome *o) {
	const char *argv[16];
	build_argv(argv, 16, f, var, args);
	o->status = e2e_run(argv, o->out, sizeof o->out);
}

static bool has_line(const struct outcome *o, const char *line) {
	size_t len = strlen(line);
	for (const char *p = o->out; (p = strstr(p, line)) != NULL; p += len) {
		if ((p == o->out || p[-1] == '\n') && (p[len] == '\n' || p[len] == ' ')) {
			return true;
		}
	}
	return false;
}

static int count_lines(const struct outcome *o, const char *prefix) {
	int n = 0;
	size_t len = strlen(prefix);
	for (const char *p = o->out; p != NULL && *p != '\0';) {
		n += strncmp(p, prefix, len) == 0;
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return n;
}

// The program ran to the server's hang-up after exactly one error: @expect (by
// prefix, "error invalid_id 1 "); the text of the error must contain @text (or NULL).
static void assert_refused(const struct outcome *o, const char *expect, const char *text) {
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != 0 || strstr(o->out, expect) == NULL ||
			!has_line(o, "disconnected") || count_lines(o, "error ") != 1 ||
			(text != NULL && strstr(o->out, text) == NULL)) {
		fail_msg("expected \"%s...\"%s%s and \"disconnected\", got (status 0x%x):\n%s",
			expect, text ? " containing " : "", text ? text : "", o->status, o->out);
	}
}

// A program running beside the test, its stdout on a pipe (and stdin, with --hold).
struct running {
	pid_t pid;
	int out;      // read end of its stdout
	int in;       // write end of its stdin, or -1
	struct outcome seen;
	size_t used;
};

static void start_program(struct running *p, struct fixture *f, const char *var,
		const char *const *args, bool with_stdin) {
	const char *argv[16];
	build_argv(argv, 16, f, var, args);
	int out[2], in[2] = { -1, -1 };
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	if (with_stdin) {
		assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	}
	p->pid = e2e_spawn_stdio(argv, in[0], out[1]);
	close(out[1]);
	if (in[0] >= 0) {
		close(in[0]);
	}
	p->out = out[0];
	p->in = in[1];
	p->used = 0;
	p->seen.out[0] = '\0';
}

// Reads its output until it contains @text (true) or it ends or @timeout_ms pass.
// @text NULL: reads until it ends.
static bool read_until(struct running *p, const char *text, int timeout_ms) {
	long long deadline = now_ms() + timeout_ms;
	while (text == NULL || strstr(p->seen.out, text) == NULL) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			return false;
		}
		ssize_t n = read(p->out, p->seen.out + p->used, sizeof p->seen.out - 1 - p->used);
		if (n <= 0) {
			return text == NULL;
		}
		p->used += (size_t)n;
		p->seen.out[p->used] = '\0';
	}
	return true;
}

// Reads the rest of its output and reaps it; its outcome is in p->seen.
static void finish_program(struct running *p) {
	if (!read_until(p, NULL, 20000)) {
		kill(p->pid, SIGKILL);
	}
	close(p->out);
	if (p->in >= 0) {
		close(p->in);
	}
	assert_int_equal(waitpid(p->pid, &p->seen.status, 0), p->pid);
}

/* ---- one test per misbehaving program ---- */

static void test_foreign_ids(void **state) {
	struct fixture *f = *state;
	enum { N = 8 };
	struct ts_display *d = innocent_show(f, N);
	static const char *const modes[] = { "set-position", "destroy" };
	for (size_t m = 0; m < 2; m++) {
		struct outcome o;
		run_program(f, "MISBEHAVE_FOREIGN_IDS",
			(const char *const[]){ "--mode", modes[m], "--count", "8", NULL }, &o);
		// Refused at the very first id, which names nothing in its own namespace.
		assert_refused(&o, "error invalid_id 1 ", NULL);
		check_innocent(f, d, N);
	}
	ts_display_disconnect(d);
}

static void test_stale_ids(void **state) {
	struct fixture *f = *state;
	enum { N = 4 };
	struct ts_display *d = innocent_show(f, N);
	static const char *const modes[] = { "set-color", "destroy-twice" };
	for (size_t m = 0; m < 2; m++) {
		struct outcome o;
		run_program(f, "MISBEHAVE_STALE_IDS", (const char *const[]){ "--mode", modes[m], NULL },
			&o);
		assert_true(has_line(&o, "ready")); // its rect was shown before it misbehaved
		assert_refused(&o, "error invalid_id 1 ", NULL);
		check_innocent(f, d, N);
		struct e2e_image img;
		e2e_shot(&f->srv, &img);
		assert_int_equal(e2e_count(&img, STALE_COLOR), 0);
		e2e_image_free(&img);
	}
	ts_display_disconnect(d);
}

static void test_never_reads(void **state) {
	struct fixture *f = *state;
	enum { N = 6 };
	struct ts_display *d = innocent_show(f, N);
	struct outcome o;
	run_program(f, "MISBEHAVE_NEVER_READS", NULL, &o);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0 || !has_line(&o, "disconnected")) {
		fail_msg("misbehave-never-reads was not disconnected (status 0x%x):\n%s", o.status,
			o.out);
	}
	// It is not reading: the reason goes to the server's log, not to it.
	assert_int_equal(count_lines(&o, "error "), 0);
	assert_true(e2e_log_contains(&f->srv, "stopped reading"));
	check_innocent(f, d, N);
	ts_display_disconnect(d);
}

static void test_flood(void **state) {
	struct fixture *f = *state;
	struct running flood;
	start_program(&flood, f, "MISBEHAVE_FLOOD", NULL, false);
	assert_true(read_until(&flood, "ready\n", 20000));

	// A well-behaved client, while the flood goes on: it connects, shows its rects,
	// gets its round trips answered and its frame callbacks done.
	enum { N = 6, ROUNDTRIPS = 50, FRAMES = 10 };
	struct ts_display *d = innocent_show(f, N);
	int synced = 0;
	for (int i = 0; i < ROUNDTRIPS; i++) {
		assert_int_equal(ts_display_sync(d, on_count, &synced), 0);
		assert_true(wait_count(d, &synced, i + 1, 10000));
	}
	int frames = 0;
	for (int i = 0; i < FRAMES; i++) {
		assert_int_equal(ts_display_frame(d, on_count, &frames), 0);
		assert_int_equal(ts_display_commit(d), 0);
		assert_true(wait_count(d, &frames, i + 1, 10000));
	}
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	check_innocent_pixels(&img, N);
	assert_true(e2e_count(&img, FLOOD_COLOR) > 0);
	e2e_image_free(&img);

	// The flood is still connected: valid traffic is never a reason to go.
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	assert_int_equal(info.clients, 2);
	assert_non_null(strstr(info.json, "\"name\": \"misbehave-flood\""));
	assert_int_equal(waitpid(flood.pid, NULL, WNOHANG), 0);
	struct pollfd p = { .fd = flood.out, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0); // nothing said since "ready": no error

	assert_int_equal(kill(flood.pid, SIGKILL), 0);
	finish_program(&flood);
	assert_true(WIFSIGNALED(flood.seen.status));
	assert_int_equal(count_lines(&flood.seen, "error "), 0);
	check_innocent(f, d, N);
	ts_display_disconnect(d);
}

static void test_stray_fds(void **state) {
	struct fixture *f = *state;
	// fds no message takes are bad_fds; more in flight than the fds limit allows
	// (28 at most, the default) is that limit exceeded (PROTOCOL.md, Limits).
	static const struct {
		const char *mode, *error, *text;
	} runs[] = {
		{ "missing", "error bad_fds 0 ", NULL },
		{ "unclaimed", "error bad_fds 0 ", NULL },
		{ "burst", "error limit_exceeded 0 ", "limit fds=28" },
		{ "trickle", "error limit_exceeded 0 ", "limit fds=28" },
	};
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		struct outcome o;
		run_program(f, "MISBEHAVE_STRAY_FDS",
			(const char *const[]){ "--mode", runs[i].mode, NULL }, &o);
		assert_refused(&o, runs[i].error, runs[i].text);
		// Every fd it sent was closed with it.
		assert_int_equal(e2e_server_settled_fds(&f->srv), f->fd_baseline);
	}
}

static void test_fds_and_die(void **state) {
	struct fixture *f = *state;
	static const char *const modes[] = { "header", "body" };
	for (size_t m = 0; m < 2; m++) {
		struct running p;
		start_program(&p, f, "MISBEHAVE_FDS_AND_DIE",
			(const char *const[]){ "--mode", modes[m], "--hold", NULL }, true);
		assert_true(read_until(&p, "ready\n", 20000));
		// The server holds its socket and the 3 fds that came with the partial message.
		assert_true(e2e_wait_fd_count(&f->srv, f->fd_baseline + 1 + 3, 5000));
		close(p.in); // let go: it SIGKILLs itself
		p.in = -1;
		finish_program(&p);
		assert_true(WIFSIGNALED(p.seen.status));
		assert_int_equal(WTERMSIG(p.seen.status), SIGKILL);
		struct e2e_info info;
		assert_true(e2e_wait_totals(&f->srv, 0, 0, 5000, &info));
		assert_int_equal(e2e_server_settled_fds(&f->srv), f->fd_baseline);
	}
}

static void test_reconnect_loop(void **state) {
	struct fixture *f = *state;
	enum { N = 5 };
	struct ts_display *d = innocent_show(f, N);
	static const char *const runs[][2] = { { "close", "2000" }, { "kill", "500" } };
	for (size_t i = 0; i < 2; i++) {
		struct outcome o;
		run_program(f, "MISBEHAVE_RECONNECT_LOOP",
			(const char *const[]){ "--mode", runs[i][0], "--count", runs[i][1], NULL }, &o);
		if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
			fail_msg("misbehave-reconnect-loop --mode %s failed (status 0x%x):\n%s",
				runs[i][0], o.status, o.out);
		}
		check_innocent(f, d, N);
		// Nothing held but the innocent client's connection.
		assert_int_equal(e2e_server_settled_fds(&f->srv), f->fd_baseline + 1);
	}
	ts_display_disconnect(d);
}

static void test_half_hello(void **state) {
	struct fixture *f = *state;
	static const char *const modes[] = { "nothing", "half-header", "header", "half-hello" };
	struct running p[4];
	for (size_t m = 0; m < 4; m++) {
		start_program(&p[m], f, "MISBEHAVE_HALF_HELLO",
			(const char *const[]){ "--mode", modes[m], NULL }, false);
	}
	for (size_t m = 0; m < 4; m++) {
		assert_true(read_until(&p[m], "ready\n", 20000));
	}
	// Meanwhile a client that does say hello is served as usual.
	enum { N = 3 };
	struct ts_display *d = innocent_show(f, N);
	struct e2e_image img;
	e2e_shot(&f->srv, &img);
	check_innocent_pixels(&img, N);
	e2e_image_free(&img);
	for (size_t m = 0; m < 4; m++) {
		finish_program(&p[m]);
		assert_refused(&p[m].seen, "error limit_exceeded 0 ", "limit hello_timeout_ms=500");
	}
	check_innocent(f, d, N);
	ts_display_disconnect(d);
}

/* ---- hostile connections made here ---- */

static void raw_write(struct peer *p, const void *buf, size_t len) {
	assert_int_equal(peer_write(p->fd, buf, len, NULL, 0), PEER_WRITTEN);
}

static void raw_hello(struct peer *p) {
	uint8_t buf[TS_MAX_MESSAGE];
	size_t n = peer_encode_hello(buf, sizeof buf, "raw");
	assert_true(n > 0);
	raw_write(p, buf, n);
}

// Reads what is there for each of @count peers until each is @done, polling them all;
// false after @timeout_ms.
static bool peers_wait(struct peer *peers, size_t count, bool (*done)(const struct peer *),
		int timeout_ms) {
	struct pollfd *fds = calloc(count, sizeof *fds);
	size_t *which = calloc(count, sizeof *which);
	assert_non_null(fds);
	assert_non_null(which);
	long long deadline = now_ms() + timeout_ms;
	bool ok = false;
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < count; i++) {
			if (!done(&peers[i])) {
				fds[n] = (struct pollfd){ .fd = peers[i].fd, .events = POLLIN };
				which[n++] = i;
			}
		}
		if (n == 0) {
			ok = true;
			break;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			break;
		}
		int rc = poll(fds, n, (int)left);
		assert_true(rc >= 0 || errno == EINTR);
		for (size_t k = 0; rc > 0 && k < n; k++) {
			if (fds[k].revents == 0) {
				continue;
			}
			struct peer *p = &peers[which[k]];
			struct peer_event ev;
			enum peer_status got;
			while ((got = peer_next(p, 0, &ev)) == PEER_EVENT) {
				// Noted in *p.
			}
			if (got == PEER_BAD) {
				fail_msg("connection %zu: %s", which[k], p->bad);
			}
		}
	}
	free(fds);
	free(which);
	return ok;
}

static bool welcomed_or_gone(const struct peer *p) {
	return p->welcomed || p->hung_up;
}

static bool gone(const struct peer *p) {
	return p->hung_up;
}

// What the catalogue of malformed inputs (checked by test_malformed in test-e2e.c)
// does not cover: messages cut short by a hang-up, which are no error, and a header
// arriving a byte at a time.
static void test_cut_short(void **state) {
	struct fixture *f = *state;
	// Cut short by a hang-up: half a header, a header without its body, most of a
	// large message. The server just lets the client go.
	uint8_t sync[TS_MAX_MESSAGE];
	assert_int_equal(peer_encode(sync, sizeof sync, TS_REQ_sync, (union ts_arg[]){ { .u = 1 } }),
		12);
	static uint8_t largest[TS_MAX_MESSAGE];
	peer_header(largest, TS_MAX_MESSAGE, TS_REQ_sync, 0, 0);
	static const size_t cuts[] = { 3, TS_HEADER_SIZE, TS_MAX_MESSAGE - 4 };
	struct peer p;
	for (size_t i = 0; i < 3; i++) {
		e2e_peer_connect(&p, f->srv.socket);
		raw_hello(&p);
		raw_write(&p, cuts[i] < 12 ? sync : largest, cuts[i]);
		assert_int_equal(shutdown(p.fd, SHUT_WR), 0);
		assert_true(peers_wait(&p, 1, gone, 5000));
		assert_true(p.welcomed);
		assert_int_equal(p.errors, 0);
		peer_close(&p);
	}

	// A sync that arrives a byte at a time is answered all the same.
	e2e_peer_connect(&p, f->srv.socket);
	raw_hello(&p);
	assert_true(peers_wait(&p, 1, welcomed_or_gone, 5000));
	assert_true(p.welcomed);
	for (size_t i = 0; i < 12; i++) {
		raw_write(&p, sync + i, 1);
		// Each byte alone: wait until the server has read it (SIOCOUTQ counts what
		// the peer has not read yet).
		long long deadline = now_ms() + 5000;
		int queued;
		for (;;) {
			assert_int_equal(ioctl(p.fd, SIOCOUTQ, &queued), 0);
			if (queued == 0) {
				break;
			}
			assert_true(now_ms() < deadline);
			poll(NULL, 0, 1);
		}
	}
	struct peer_event ev;
	assert_int_equal(peer_next(&p, 5000, &ev), PEER_EVENT);
	assert_int_equal(ev.hdr.opcode, TS_EV_done);
	assert_int_equal(ev.args[0].u, 1);
	assert_int_equal(peer_next(&p, 0, &ev), PEER_TIMEOUT); // that, and nothing else
	assert_int_equal(p.errors, 0);
	peer_close(&p);
	// The teardown checks that nothing of any of them is left.
}

// Raises this process's fd limit to its hard limit; the server it starts inherits it.
static void raise_fd_limit(void) {
	struct rlimit lim;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	lim.rlim_cur = lim.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
}

// 2,000 clients connect at once, each saying hello. The server keeps as many as its
// clients limit allows, tells every other one limit_exceeded (naming "clients") and
// closes it, and the client that was there first keeps everything.
static void test_connection_storm(void **state) {
	struct fixture *f = *state;
	enum { N = 7, STORM = 2000 };
	struct rlimit lim;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_cur < STORM + 64) {
		skip(); // the hard limit does not allow it (see raise_fd_limit in main)
	}
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	long limit = e2e_info_limit(&info, "clients");
	if (limit < 1 || limit >= STORM) {
		fail_msg("tessera-info --json reports no usable \"clients\" limit (%ld)", limit);
	}
	// The innocent client connects after every earlier connection was let go (its
	// hello is answered after the hang-ups before it), and from here on asks the
	// server itself, not through tools, so it is the only other client.
	struct ts_display *d = innocent_show(f, N);

	struct peer *peers = calloc(STORM, sizeof *peers);
	assert_non_null(peers);
	uint8_t hello[TS_MAX_MESSAGE];
	size_t hello_len = peer_encode_hello(hello, sizeof hello, "storm");
	assert_true(hello_len > 0);
	// Each says hello as soon as it is connected, so none is left without one long
	// enough to be dropped from the pending_clients budget: the clients limit is what
	// this test is about (test_silent_storm is about the other).
	for (size_t i = 0; i < STORM; i++) {
		e2e_peer_connect(&peers[i], f->srv.socket);
		// One that was already refused may be closed: that is fine.
		(void)!send(peers[i].fd, hello, hello_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	// Each is welcomed, or told why not and closed.
	assert_true(peers_wait(peers, STORM, welcomed_or_gone, 30000));
	char named[64];
	snprintf(named, sizeof named, "limit clients=%ld", limit);
	long welcomed = 0;
	for (size_t i = 0; i < STORM; i++) {
		if (peers[i].welcomed) {
			welcomed++;
			assert_int_equal(peers[i].errors, 0);
		} else {
			if (peers[i].errors != 1 || peers[i].code != TS_ERR_limit_exceeded ||
					strstr(peers[i].message, named) == NULL) {
				fail_msg("connection %zu: %d error(s), %s (%s)", i, peers[i].errors,
					ts_error_name(peers[i].code), peers[i].message);
			}
		}
	}
	assert_int_equal(welcomed, limit - 1);

	// The server still serves the innocent client, with everything it had.
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct ts_server_info si;
	assert_int_equal(ts_display_query_info(d, &si), 0);
	assert_int_equal(si.clients, (uint32_t)welcomed);
	assert_int_equal(si.objects, 0); // the asker's own are not counted
	ts_server_info_finish(&si);
	struct ts_image shot;
	assert_int_equal(ts_display_screenshot(d, &shot), 0);
	const uint8_t want[4] = { INNOCENT_COLOR >> 24, INNOCENT_COLOR >> 16 & 0xff,
		INNOCENT_COLOR >> 8 & 0xff, INNOCENT_COLOR & 0xff };
	size_t innocent = 0;
	for (int y = 0; y < shot.height; y++) {
		for (int x = 0; x < shot.width; x++) {
			innocent += memcmp(shot.pixels + (size_t)y * shot.stride + (size_t)x * 4, want,
				4) == 0;
		}
	}
	assert_int_equal(innocent, N * SIDE * SIDE);
	ts_image_finish(&shot);

	for (size_t i = 0; i < STORM; i++) {
		peer_close(&peers[i]);
	}
	free(peers);
	// Until the server has let them all go it is full, and would refuse the tools.
	long long deadline = now_ms() + 10000;
	for (;;) {
		assert_int_equal(ts_display_query_info(d, &si), 0);
		uint32_t others = si.clients;
		ts_server_info_finish(&si);
		if (others == 0) {
			break;
		}
		assert_true(now_ms() < deadline);
		poll(NULL, 0, 5);
	}
	check_innocent(f, d, N);
	ts_display_disconnect(d);
}

// 50 clients connect and say nothing. Each holds a pending connection until the hello
// deadline (counted by tessera-info, not listed); meanwhile a well-behaved client
// connects and works; then all 50 are gone, each told limit_exceeded naming
// hello_timeout_ms.
static void test_silent_clients(void **state) {
	struct fixture *f = *state;
	enum { N = 4, SILENT = 50 };
	struct peer peers[SILENT];
	for (size_t i = 0; i < SILENT; i++) {
		e2e_peer_connect(&peers[i], f->srv.socket);
	}
	struct ts_display *d = innocent_show(f, N);
	struct ts_server_info si;
	assert_int_equal(ts_display_query_info(d, &si), 0);
	// The answer came before any of them was let go: none has heard a word yet, so
	// the deadline had not struck any of them when the server counted (a server that
	// answers late fails here, rather than counting what it may).
	struct pollfd pfds[SILENT];
	for (size_t i = 0; i < SILENT; i++) {
		pfds[i] = (struct pollfd){ .fd = peers[i].fd, .events = POLLIN };
	}
	assert_int_equal(poll(pfds, SILENT, 0), 0);
	assert_int_equal(si.clients, 0);
	assert_int_equal(si.count, 0);
	assert_int_equal(si.pending, SILENT);
	assert_int_equal(si.objects, 0);
	ts_server_info_finish(&si);

	assert_true(peers_wait(peers, SILENT, gone, SILENT_DEADLINE_MS + 10000));
	for (size_t i = 0; i < SILENT; i++) {
		assert_false(peers[i].welcomed);
		if (peers[i].errors != 1 || peers[i].code != TS_ERR_limit_exceeded ||
				strstr(peers[i].message, "limit hello_timeout_ms=" SILENT_DEADLINE) == NULL) {
			fail_msg("silent client %zu: %d error(s), %s (%s)", i, peers[i].errors,
				ts_error_name(peers[i].code), peers[i].message);
		}
		peer_close(&peers[i]);
	}
	check_innocent(f, d, N);
	ts_display_disconnect(d);
}

// 2,000 connections that never say hello, each renewed the moment the server drops
// it, cannot keep anyone out: they have a budget of their own (pending_clients), the
// oldest of them makes room for a newcomer, and a session is never dropped for one.
// Round after round while the storm goes on, a new client connects, draws and sees
// its pixels, and tessera-info (a new connection too) answers.
static void test_silent_storm(void **state) {
	struct fixture *f = *state;
	enum { N = 4, STORM = 2000, ROUNDS = 10 };
	struct rlimit lim;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_max < STORM + 64) {
		skip(); // the storm cannot hold that many connections here
	}
	struct ts_display *d = innocent_show(f, N);
	struct running storm;
	char count[16];
	snprintf(count, sizeof count, "%d", STORM);
	start_program(&storm, f, "MISBEHAVE_SILENT_STORM", (const char *const[]){
		"--count", count, "--hold", "--timeout-ms", "300000", NULL }, true);
	if (!read_until(&storm, "ready", 60000)) {
		fail_msg("misbehave-silent-storm did not get its connections: %s", storm.seen.out);
	}
	struct e2e_info info;
	e2e_info(&f->srv, &info);
	long pending_max = e2e_info_limit(&info, "pending_clients");
	assert_true(pending_max > 0 && pending_max < STORM);
	long evicted = info.evicted;
	for (int round = 0; round < ROUNDS; round++) {
		struct ts_display *c = ts_display_connect(f->srv.socket, "e2e-through-the-storm");
		if (c == NULL) {
			fail_msg("round %d: a new client could not connect: %s", round,
				ts_connect_error());
		}
		uint32_t color = 0x20a040ffu + ((uint32_t)round << 16);
		struct ts_rect *r = ts_rect_create(c);
		assert_non_null(r);
		assert_int_equal(ts_rect_set_position(r, 200, 100), 0);
		assert_int_equal(ts_rect_set_size(r, 20, 20), 0);
		assert_int_equal(ts_rect_set_color(r, color), 0);
		assert_int_equal(ts_display_commit(c), 0);
		assert_int_equal(ts_display_roundtrip(c), 0);
		struct ts_image shot;
		assert_int_equal(ts_display_screenshot(c, &shot), 0);
		const uint8_t *px = shot.pixels + 110 * shot.stride + 210 * 4;
		uint32_t got = (uint32_t)px[0] << 24 | (uint32_t)px[1] << 16 |
			(uint32_t)px[2] << 8 | px[3];
		ts_image_finish(&shot);
		if (got != color) {
			fail_msg("round %d: the new client's rect shows as %08x, not %08x", round, got,
				color);
		}
		// The tool gets in too, and the storm is still on: pending connections are
		// still being dropped for newer ones, and no more than the budget is held.
		e2e_info(&f->srv, &info);
		assert_int_equal(info.clients, 2);
		assert_true(info.pending <= pending_max);
		if (info.evicted <= evicted) {
			fail_msg("round %d: no connection was dropped since the last round (%ld): "
				"the storm is not on", round, evicted);
		}
		evicted = info.evicted;
		assert_int_equal(ts_display_get_error(c), 0);
		ts_display_disconnect(c);
	}
	close(storm.in);
	storm.in = -1;
	finish_program(&storm);
	if (!WIFEXITED(storm.seen.status) || WEXITSTATUS(storm.seen.status) != 0 ||
			strstr(storm.seen.out, "renewed ") == NULL) {
		fail_msg("misbehave-silent-storm failed (status 0x%x):\n%s", storm.seen.status,
			storm.seen.out);
	}
	// Every drop was the budget's: none refused as if the server were full.
	assert_non_null(strstr(storm.seen.out, " refused 0 "));
	// The first client was never dropped and still has everything.
	check_innocent(f, d, N);
	ts_display_disconnect(d);
}

int main(void) {
	// A server that hangs up on a raw client must fail an assertion, not kill us.
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_foreign_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stray_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_and_die, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_hello, setup_hello_500, teardown),
		cmocka_unit_test_setup_teardown(test_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_clients, setup_hello_3000, teardown),
	};
	int failed = cmocka_run_group_tests_name("e2e-misbehave", tests, NULL, NULL);
	e2e_server_discard(&fixture.srv);
	return failed;
}
