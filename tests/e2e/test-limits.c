/*
 * End-to-end tests of the server's limits and of its socket's security: the real
 * server started with --limit options, real clients that pass them, and what
 * tessera-info, the error events and the screen say afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "harness.h"

#define NOBODY 65534 // a user id that is not ours when the tests run as root

// The server's log, whole, for checking what it said.
static void read_log(const struct e2e_server *srv, char *text, size_t cap) {
	int fd = open(srv->log, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, text, cap - 1);
	assert_true(n >= 0);
	text[n] = '\0';
	close(fd);
}


static struct ts_rect *rect_at(struct ts_display *d, int x, int y, uint32_t rgba) {
	struct ts_rect *r = ts_rect_create(d);
	assert_non_null(r);
	assert_int_equal(ts_rect_set_position(r, x, y), 0);
	assert_int_equal(ts_rect_set_size(r, 4, 4), 0);
	assert_int_equal(ts_rect_set_color(r, rgba), 0);
	return r;
}

// The limits set on the command line are what tessera-info reports; a client's
// memory is reported too.
static void test_limits_reported(void **state) {
	struct e2e_server srv;
	e2e_server_start_with(&srv, (const char *const[]){
		"--limit", "objects=100", "--limit", "requests=7", "--limit", "out_bytes=64K",
		NULL });
	struct ts_display *d = ts_display_connect(srv.socket, "e2e-limits");
	assert_non_null(d);
	for (int i = 0; i < 20; i++) {
		rect_at(d, i * 4, 0, 0xff0000ffu);
	}
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct e2e_info info;
	e2e_info(&srv, &info);
	const char *limits = strstr(info.json, "\"limits\": {");
	assert_non_null(limits);
	static const char *const expect[] = {
		"\"clients\": 256", "\"pending_clients\": 128", "\"objects\": 100", "\"client_bytes\": 16777216",
		"\"out_bytes\": 65536", "\"fds\": 28", "\"requests\": 7",
		"\"hello_timeout_ms\": 5000",
	};
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
		if (strstr(limits, expect[i]) == NULL) {
			fail_msg("%s not in %s", expect[i], limits);
		}
	}
	// 20 rects hold at least their 20 slots of 32 bytes, and far less than a limit.
	const char *bytes = strstr(info.json, "\"bytes\": ");
	assert_non_null(bytes);
	long held = strtol(bytes + 9, NULL, 10);
	assert_true(held >= 20 * 32 && held < 64 * 1024);
	ts_display_disconnect(d);
	e2e_server_stop(&srv);
}

// Connects, makes @count rects, commits and waits. Returns the protocol error code
// the server sent (0 for none) with its text in @text.
static uint32_t make_many(const char *socket, int count, char *text, size_t cap,
		struct ts_display **out) {
	struct ts_display *d = ts_display_connect(socket, "e2e-many");
	assert_non_null(d);
	for (int i = 0; i < count; i++) {
		// Side by side, 75 to a row, so that none covers another. Once the server
		// has cut the client off, the calls fail: the error is what we are after.
		struct ts_rect *r = ts_rect_create(d);
		if (r == NULL || ts_rect_set_position(r, (i % 75) * 4, (i / 75) * 4) < 0 ||
				ts_rect_set_size(r, 4, 4) < 0 || ts_rect_set_color(r, 0x00ff00ffu) < 0) {
			break;
		}
	}
	ts_display_commit(d);
	ts_display_roundtrip(d);
	uint32_t code = ts_display_get_protocol_error(d, NULL, NULL);
	snprintf(text, cap, "%s", code ? ts_display_get_error_message(d) : "");
	*out = d;
	return code;
}

// A client past its objects limit is cut off with an error naming the limit; another
// client keeps all of its objects and pixels.
static void test_objects_limit(void **state) {
	struct e2e_server srv;
	e2e_server_start_with(&srv, (const char *const[]){ "--limit", "objects=100", NULL });
	int baseline = e2e_server_settled_fds(&srv);
	char text[512];
	struct ts_display *good, *bad;
	assert_int_equal(make_many(srv.socket, 100, text, sizeof text, &good), 0);
	assert_int_equal(make_many(srv.socket, 101, text, sizeof text, &bad), TS_ERR_limit_exceeded);
	if (strstr(text, "limit objects=100") == NULL) {
		fail_msg("the error does not name the limit: %s", text);
	}
	ts_display_disconnect(bad);
	struct e2e_info info;
	assert_true(e2e_wait_totals(&srv, 1, 100, 2000, &info));
	struct e2e_image img;
	e2e_shot(&srv, &img);
	assert_int_equal(e2e_count(&img, 0x00ff00ffu), 100 * 16);
	e2e_image_free(&img);
	ts_display_disconnect(good);
	e2e_check_as_found(&srv, baseline, 5000);
	e2e_server_stop(&srv);
}

// client_bytes bounds what a client makes the server hold.
static void test_client_bytes_limit(void **state) {
	struct e2e_server srv;
	e2e_server_start_with(&srv, (const char *const[]){ "--limit", "client_bytes=64K", NULL });
	int baseline = e2e_server_settled_fds(&srv);
	char text[512];
	struct ts_display *good, *bad;
	assert_int_equal(make_many(srv.socket, 200, text, sizeof text, &good), 0);
	// 33 bytes a slot: 10,000 rects are five times the limit.
	assert_int_equal(make_many(srv.socket, 10000, text, sizeof text, &bad),
		TS_ERR_limit_exceeded);
	if (strstr(text, "limit client_bytes=65536") == NULL) {
		fail_msg("the error does not name the limit: %s", text);
	}
	ts_display_disconnect(bad);
	struct e2e_info info;
	assert_true(e2e_wait_totals(&srv, 1, 200, 2000, &info));
	const char *bytes = strstr(info.json, "\"bytes\": ");
	assert_non_null(bytes);
	assert_true(strtol(bytes + 9, NULL, 10) <= 65536);
	ts_display_disconnect(good);
	e2e_check_as_found(&srv, baseline, 5000);
	e2e_server_stop(&srv);
}

// With a slice of one request, a burst of thousands is handled a request a round,
// in order, and the result is exactly what it would be at once.
static void test_slices_keep_order(void **state) {
	struct e2e_server srv;
	e2e_server_start_with(&srv, (const char *const[]){ "--limit", "requests=1", NULL });
	struct ts_display *a = ts_display_connect(srv.socket, "e2e-burst");
	struct ts_display *b = ts_display_connect(srv.socket, "e2e-other");
	assert_non_null(a);
	assert_non_null(b);
	struct ts_rect *r = rect_at(a, 0, 0, 0x0000ffffu);
	assert_int_equal(ts_display_commit(a), 0);
	// 3,000 moves and commits, flushed in one go; the last one wins.
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(ts_rect_set_position(r, i % 300, (i / 300) * 10), 0);
		assert_int_equal(ts_display_commit(a), 0);
	}
	assert_int_equal(ts_display_flush(a), 0);
	// Meanwhile another client is served.
	rect_at(b, 310, 230, 0xffffffffu);
	assert_int_equal(ts_display_commit(b), 0);
	assert_int_equal(ts_display_roundtrip(b), 0);
	assert_int_equal(ts_display_roundtrip(a), 0);
	struct e2e_image img;
	e2e_shot(&srv, &img);
	assert_int_equal(e2e_count(&img, 0x0000ffffu), 16);
	assert_int_equal(e2e_pixel(&img, 2999 % 300, (2999 / 300) * 10), 0x0000ffffu);
	assert_int_equal(e2e_count(&img, 0xffffffffu), 16);
	e2e_image_free(&img);
	ts_display_disconnect(a);
	ts_display_disconnect(b);
	e2e_server_stop(&srv);
}

// The socket is born private.
static void test_socket_private(void **state) {
	struct e2e_server srv;
	e2e_server_start(&srv);
	struct stat st;
	assert_int_equal(lstat(srv.socket, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	e2e_server_stop(&srv);
}

// In a child running as NOBODY: connects, and prints what happened.
static void connect_as_nobody(const char *socket, char *out, size_t cap) {
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) {
			_exit(3);
		}
		struct ts_display *d = ts_display_connect(socket, "e2e-nobody");
		if (d != NULL && ts_display_roundtrip(d) == 0) {
			dprintf(pipefd[1], "welcome");
		} else {
			dprintf(pipefd[1], "%s", ts_connect_error());
		}
		_exit(0);
	}
	close(pipefd[1]);
	ssize_t n = 0, got;
	while ((got = read(pipefd[0], out + n, cap - 1 - (size_t)n)) > 0) {
		n += got;
	}
	out[n] = '\0';
	close(pipefd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

// Another user is refused (SO_PEERCRED) even where the socket's mode lets them in,
// unless --allow-uid names them.
static void test_other_user(void **state) {
	if (geteuid() != 0) {
		skip(); // needs a second user: root can become one
	}
	struct e2e_server srv;
	e2e_server_start(&srv);
	int baseline = e2e_server_settled_fds(&srv);
	// Open the way on purpose, so that only the server's own check stands.
	assert_int_equal(chmod(srv.dir, 0755), 0);
	assert_int_equal(chmod(srv.socket, 0666), 0);
	char out[600];
	connect_as_nobody(srv.socket, out, sizeof out);
	if (strstr(out, "server refused: user 65534 may not connect") == NULL) {
		fail_msg("nobody was not refused as expected: %s", out);
	}
	e2e_check_as_found(&srv, baseline, 5000);
	char log[8192];
	read_log(&srv, log, sizeof log);
	assert_non_null(strstr(log, "refused a connection: user 65534"));
	e2e_server_stop(&srv);

	e2e_server_start_with(&srv, (const char *const[]){ "--allow-uid", "65534", NULL });
	struct stat st;
	assert_int_equal(lstat(srv.socket, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
	assert_int_equal(chmod(srv.dir, 0755), 0);
	connect_as_nobody(srv.socket, out, sizeof out);
	assert_string_equal(out, "welcome");
	e2e_server_stop(&srv);
}

// Runs tessera on @socket and expects it to refuse to start, saying @says.
static void expect_refusal(const char *dir, const char *socket, const char *says) {
	char log[160];
	snprintf(log, sizeof log, "%s/refused.log", dir);
	unlink(log);
	pid_t pid = e2e_server_spawn(socket, log, NULL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	char text[4096] = "";
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	if (strstr(text, says) == NULL) {
		fail_msg("tessera on %s did not say '%s': %s", socket, says, text);
	}
	unlink(log);
}

// The server never listens where someone else could swap its socket, and never
// replaces a socket that is not its user's.
static void test_foreign_paths(void **state) {
	char dir[] = "/tmp/tessera-e2e-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[48], sock[80];

	// A folder anyone may write to, without the sticky bit.
	snprintf(sub, sizeof sub, "%s/open", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	snprintf(sock, sizeof sock, "%s/sock", sub);
	expect_refusal(dir, sock, "may be written by other users and is not sticky");
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(rmdir(sub), 0);

	if (geteuid() == 0) {
		// A folder of another user.
		snprintf(sub, sizeof sub, "%s/theirs", dir);
		assert_int_equal(mkdir(sub, 0755), 0);
		assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
		snprintf(sock, sizeof sock, "%s/sock", sub);
		expect_refusal(dir, sock, "belongs to user 65534, not to us");
		assert_int_equal(rmdir(sub), 0);

		// A socket of another user where ours would go: left alone.
		snprintf(sock, sizeof sock, "%s/sock", dir);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		memcpy(addr.sun_path, sock, strlen(sock) + 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
		close(fd);
		assert_int_equal(lchown(sock, NOBODY, NOBODY), 0);
		expect_refusal(dir, sock, "belongs to user 65534, not to us (0); not replacing it");
		assert_int_equal(access(sock, F_OK), 0);
		unlink(sock);
		char lock[96];
		snprintf(lock, sizeof lock, "%s.lock", sock);
		unlink(lock);
	}
	assert_int_equal(rmdir(dir), 0);
}

// Out of fds, the server stops accepting for a while instead of failing on the
// connection it cannot take, serves the clients it has meanwhile, and takes the
// waiting ones once fds are free again. (That it does not spin while it waits is a
// figure of bench/: emfile_server_cpu_pct.)
static void test_emfile_pause(void **state) {
	char dir[] = "/tmp/tessera-e2e-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sock[96], log[96];
	snprintf(sock, sizeof sock, "%s/sock", dir);
	snprintf(log, sizeof log, "%s/server.log", dir);
	// The server inherits a soft limit of 64 fds.
	struct rlimit saved, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	struct e2e_server srv = { 0 };
	srv.pid = e2e_server_spawn(sock, log, NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true(e2e_server_wait_ready(sock, 20000));
	snprintf(srv.dir, sizeof srv.dir, "%s", dir);
	snprintf(srv.socket, sizeof srv.socket, "%s", sock);
	snprintf(srv.log, sizeof srv.log, "%s", log);

	// More clients than the server has fds; each says hello.
	enum { N = 100 };
	static struct peer peers[N];
	for (int i = 0; i < N; i++) {
		e2e_peer_connect(&peers[i], sock);
		assert_int_equal(peer_send(peers[i].fd, TS_REQ_hello,
			(union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "many" } }), PEER_WRITTEN);
	}
	// The first ones are welcomed; then the server runs out.
	int welcomed = 0;
	struct peer_event ev;
	while (welcomed < N && peer_wait(&peers[welcomed], TS_EV_welcome, 0, 2000, &ev) ==
			PEER_EVENT && ev.hdr.opcode == TS_EV_welcome) {
		welcomed++;
	}
	assert_true(welcomed > 10 && welcomed < N);
	// It said it paused; the clients it has are served all the same while the rest
	// wait in the backlog: a round trip of the first is answered, and none of the
	// waiting ones was welcomed before it.
	char text[16384];
	for (int tries = 0; tries < 200; tries++) {
		read_log(&srv, text, sizeof text);
		if (strstr(text, "pausing accepts") != NULL) {
			break;
		}
		poll(NULL, 0, 10);
	}
	assert_non_null(strstr(text, "pausing accepts"));
	for (uint32_t id = 1; id <= 3; id++) {
		assert_int_equal(peer_send(peers[0].fd, TS_REQ_sync, (union ts_arg[]){ { .u = id } }),
			PEER_WRITTEN);
		assert_int_equal(peer_wait(&peers[0], TS_EV_done, id, 5000, &ev), PEER_EVENT);
		assert_int_equal(ev.hdr.opcode, TS_EV_done);
	}
	for (int i = welcomed; i < N; i++) {
		assert_int_equal(peer_next(&peers[i], 0, &ev), PEER_TIMEOUT);
		assert_false(peers[i].welcomed);
	}
	// Free the first half: the waiting connections get in and are welcomed.
	for (int i = 0; i < welcomed; i++) {
		peer_close(&peers[i]);
	}
	for (int i = welcomed; i < N && i < 2 * welcomed; i++) {
		assert_int_equal(peer_wait(&peers[i], TS_EV_welcome, 0, 5000, &ev), PEER_EVENT);
		assert_int_equal(ev.hdr.opcode, TS_EV_welcome);
	}
	for (int i = welcomed; i < N; i++) {
		peer_close(&peers[i]);
	}
	e2e_server_stop(&srv);
}

// Sends @opcode with @fd attached (SCM_RIGHTS), as libtessera would.
static void send_with_fd(struct peer *p, uint16_t opcode, const union ts_arg *args, int fd) {
	uint8_t buf[64];
	size_t n = peer_encode(buf, sizeof buf, opcode, args);
	assert_true(n > 0);
	assert_int_equal(peer_write(p->fd, buf, n, &fd, 1), PEER_WRITTEN);
}

// A memfd of @size bytes with @seals.
static int memfd_with(size_t size, int seals) {
	int fd = memfd_create("e2e-shot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals != 0) {
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	}
	return fd;
}

// Screenshot memory the server could fault on, or cannot write, is refused with
// invalid_value; the fds sent are all closed.
static void test_screenshot_memory(void **state) {
	struct e2e_server srv;
	e2e_server_start(&srv);
	int baseline = e2e_server_settled_fds(&srv);
	const size_t need = 320 * 4 * 240;
	struct {
		int fd;
		const char *says;
	} cases[] = {
		{ memfd_with(need, 0), "sealed against shrinking" },
		{ memfd_with(need - 4, F_SEAL_SHRINK), "the output needs 307200" },
		{ memfd_with(need, F_SEAL_SHRINK | F_SEAL_WRITE), "cannot map" },
		{ open("/dev/null", O_RDONLY | O_CLOEXEC), "sealed against shrinking" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct peer p;
		e2e_peer_connect(&p, srv.socket);
		e2e_peer_send(&p, TS_REQ_hello, (union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "shot" } });
		send_with_fd(&p, TS_REQ_screenshot, (union ts_arg[]){ { .u = 1 }, { .h = -1 } },
			cases[i].fd);
		close(cases[i].fd);
		e2e_peer_drain(&p, 5000);
		assert_int_equal(p.errors, 1);
		assert_int_equal(p.code, TS_ERR_invalid_value);
		if (strstr(p.message, cases[i].says) == NULL) {
			fail_msg("case %zu: '%s' does not say '%s'", i, p.message, cases[i].says);
		}
		peer_close(&p);
	}
	// A good one, by hand: the pixels land in our memory.
	struct peer p;
	e2e_peer_connect(&p, srv.socket);
	e2e_peer_send(&p, TS_REQ_hello, (union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = "shot" } });
	int fd = memfd_with(need, F_SEAL_SHRINK);
	send_with_fd(&p, TS_REQ_screenshot, (union ts_arg[]){ { .u = 1 }, { .h = -1 } }, fd);
	// The screenshot is answered after the next frame, which shows it.
	struct peer_event ev;
	assert_int_equal(peer_wait(&p, TS_EV_screenshot_done, 1, 5000, &ev), PEER_EVENT);
	assert_int_equal(ev.hdr.opcode, TS_EV_screenshot_done);
	assert_true(p.welcomed);
	assert_int_equal(p.errors, 0);
	uint8_t px[4];
	assert_int_equal(pread(fd, px, 4, 0), 4);
	uint32_t rgba = (uint32_t)px[0] << 24 | (uint32_t)px[1] << 16 | (uint32_t)px[2] << 8 | px[3];
	assert_int_equal(rgba, srv.background);
	close(fd);
	peer_close(&p);
	e2e_check_as_found(&srv, baseline, 5000);
	e2e_server_stop(&srv);
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_reported),
		cmocka_unit_test(test_objects_limit),
		cmocka_unit_test(test_client_bytes_limit),
		cmocka_unit_test(test_slices_keep_order),
		cmocka_unit_test(test_socket_private),
		cmocka_unit_test(test_other_user),
		cmocka_unit_test(test_foreign_paths),
		cmocka_unit_test(test_emfile_pause),
		cmocka_unit_test(test_screenshot_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
