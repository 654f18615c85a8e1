#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tessera/client.h>

#include "malformed.h"
#include "peer.h"
#include "wire.h"

bool e2e_window_backend = false;

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *e2e_bin(const char *var) {
	const char *path = getenv(var);
	if (path == NULL) {
		fail_msg("environment variable %s (path of a built binary) is not set", var);
	}
	return path;
}

// Servers started by this process. A failed assertion leaves its test half way, with
// the server it started still running: they are all killed when the tests end.
static pid_t servers[64];
static size_t server_count;

static void kill_servers(void) {
	for (size_t i = 0; i < server_count; i++) {
		if (waitpid(servers[i], NULL, WNOHANG) == 0) {
			kill(servers[i], SIGKILL);
			waitpid(servers[i], NULL, 0);
		}
	}
}

static void remember_server(pid_t pid) {
	if (server_count == 0) {
		atexit(kill_servers);
	}
	if (server_count == sizeof servers / sizeof servers[0]) {
		// Forget the ones that are gone already.
		size_t kept = 0;
		for (size_t i = 0; i < server_count; i++) {
			if (waitpid(servers[i], NULL, WNOHANG) == 0) {
				servers[kept++] = servers[i];
			}
		}
		server_count = kept;
	}
	if (server_count < sizeof servers / sizeof servers[0]) {
		servers[server_count++] = pid;
	}
}

pid_t e2e_server_spawn(const char *socket, const char *log, const char *const *extra) {
	const char *argv[16];
	size_t n = 0;
	argv[n++] = e2e_bin("TESSERA_BIN");
	if (!e2e_window_backend) {
		argv[n++] = "--headless";
	}
	argv[n++] = "--size";
	argv[n++] = "320x240";
	argv[n++] = "--socket";
	argv[n++] = socket;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 15; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		// Both outputs go to the log: a server left running by a failed test must not
		// hold the test's stdout, which meson waits on.
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	remember_server(pid);
	return pid;
}

bool e2e_server_wait_ready(const char *socket, int timeout_ms) {
	long long deadline = now_ms() + timeout_ms;
	while (now_ms() < deadline) {
		struct ts_display *display = ts_display_connect(socket, "e2e-probe");
		if (display != NULL) {
			ts_display_disconnect(display);
			return true;
		}
		poll(NULL, 0, 10); // the server is still starting: try again shortly
	}
	return false;
}

void e2e_server_start(struct e2e_server *srv) {
	e2e_server_start_with(srv, NULL);
}

void e2e_server_start_with(struct e2e_server *srv, const char *const *extra) {
	memset(srv, 0, sizeof *srv);
	strcpy(srv->dir, "/tmp/tessera-e2e-XXXXXX");
	assert_non_null(mkdtemp(srv->dir));
	snprintf(srv->socket, sizeof srv->socket, "%s/sock", srv->dir);
	snprintf(srv->log, sizeof srv->log, "%s/server.log", srv->dir);
	srv->pid = e2e_server_spawn(srv->socket, srv->log, extra);
	// Up to 20 s for a slow start, but no longer than the server lives.
	bool ready = false;
	for (int tries = 0; tries < 200 && !ready && e2e_server_alive(srv); tries++) {
		ready = e2e_server_wait_ready(srv->socket, 100);
	}
	if (!ready) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "cat %s >&2", srv->log);
		(void)!system(cmd);
		fail_msg("tessera did not start on %s", srv->socket);
	}
	struct e2e_image img;
	e2e_shot(srv, &img);
	assert_int_equal(img.width, 320);
	assert_int_equal(img.height, 240);
	assert_true(e2e_flat(&img, &srv->background));
	e2e_image_free(&img);
	// The suite runs once per loop backend (tests/e2e/meson.build): make sure the server
	// really took the one asked for. The log line comes before the socket answers.
	const char *loop = getenv("TESSERA_LOOP");
	char expect[32];
	snprintf(expect, sizeof expect, ", %s loop", loop != NULL && loop[0] ? loop : "poll");
	if (!e2e_log_contains(srv, expect)) {
		fail_msg("the server's log does not say '%s'", expect);
	}
}

bool e2e_server_alive(const struct e2e_server *srv) {
	return waitpid(srv->pid, NULL, WNOHANG) == 0;
}

int e2e_server_fd_count(const struct e2e_server *srv) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)srv->pid);
	DIR *dir = opendir(path);
	assert_non_null(dir);
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		count += entry->d_name[0] != '.';
	}
	closedir(dir);
	return count;
}

int e2e_server_settled_fds(const struct e2e_server *srv) {
	struct ts_display *display = ts_display_connect(srv->socket, "e2e-fd-probe");
	assert_non_null(display);
	assert_int_equal(ts_display_roundtrip(display), 0);
	int count = e2e_server_fd_count(srv) - 1; // less the probe's own connection
	ts_display_disconnect(display);
	return count;
}

void e2e_server_stop(struct e2e_server *srv) {
	assert_true(e2e_server_alive(srv));
	assert_int_equal(kill(srv->pid, SIGTERM), 0);
	int status;
	assert_int_equal(waitpid(srv->pid, &status, 0), srv->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	// A clean exit removes the socket and its lock.
	assert_int_equal(access(srv->socket, F_OK), -1);
	char lock[160];
	snprintf(lock, sizeof lock, "%s.lock", srv->socket);
	assert_int_equal(access(lock, F_OK), -1);
	char path[160];
	snprintf(path, sizeof path, "%s/shot.png", srv->dir);
	unlink(path);
	unlink(srv->log);
	rmdir(srv->dir);
}

pid_t e2e_spawn(const char *const *argv, int stdout_fd) {
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (stdout_fd >= 0) {
			dup2(stdout_fd, STDOUT_FILENO);
		}
		// The timer survives exec: a client stuck on a broken server dies and fails the test.
		alarm(30);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int e2e_run(const char *const *argv, char *out, size_t cap) {
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	pid_t pid = e2e_spawn(argv, pipefd[1]);
	close(pipefd[1]);
	size_t used = 0;
	for (;;) {
		char scratch[4096];
		char *dst = used + 1 < cap ? out + used : scratch;
		size_t room = used + 1 < cap ? cap - used - 1 : sizeof scratch;
		ssize_t n = read(pipefd[0], dst, room);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		if (dst != scratch) {
			used += (size_t)n;
		}
	}
	out[used] = '\0';
	close(pipefd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

// The number after "key": within @json, or -1.
static long json_number(const char *json, const char *key) {
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\"%s\":", key);
	const char *p = strstr(json, pattern);
	if (p == NULL) {
		return -1;
	}
	p += strlen(pattern);
	while (*p == ' ') {
		p++;
	}
	char *end;
	long v = strtol(p, &end, 10);
	return end == p ? -1 : v;
}

void e2e_info(const struct e2e_server *srv, struct e2e_info *info) {
	const char *argv[] = { e2e_bin("TESSERA_INFO"), "--socket", srv->socket, "--json", NULL };
	int status = e2e_run(argv, info->json, sizeof info->json);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	const char *totals = strstr(info->json, "\"totals\"");
	assert_non_null(totals);
	info->clients = json_number(totals, "clients");
	info->objects = json_number(totals, "objects");
	info->pending = json_number(totals, "pending_clients");
	const char *connections = strstr(info->json, "\"connections\"");
	assert_non_null(connections);
	info->textures = json_number(totals, "textures");
	info->texture_bytes = json_number(totals, "texture_bytes");
	const char *atlas = strstr(info->json, "\"atlas\"");
	assert_non_null(atlas);
	info->atlas_pages = json_number(atlas, "pages");
	info->atlas_glyphs = json_number(atlas, "glyphs");
	info->atlas_referenced = json_number(atlas, "referenced");
	info->atlas_evictions = json_number(atlas, "evictions");
	info->evicted = json_number(connections, "evicted");
	info->refused = json_number(connections, "refused");
	assert_true(info->clients >= 0);
	assert_true(info->objects >= 0);
	assert_true(info->pending >= 0);
	assert_true(info->evicted >= 0);
	assert_true(info->refused >= 0);
	assert_non_null(strstr(info->json, "\"clients\": ["));
}

// Polls tessera-info until it reports @clients, @objects and (unless -1) @pending.
static bool wait_info(const struct e2e_server *srv, long clients, long objects, long pending,
		int timeout_ms, struct e2e_info *last) {
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		e2e_info(srv, last);
		if (last->clients == clients && last->objects == objects &&
				(pending < 0 || last->pending == pending)) {
			return true;
		}
		if (now_ms() >= deadline) {
			return false;
		}
		poll(NULL, 0, 5);
	}
}

bool e2e_wait_totals(const struct e2e_server *srv, long clients, long objects,
		int timeout_ms, struct e2e_info *last) {
	return wait_info(srv, clients, objects, -1, timeout_ms, last);
}

void e2e_shot(const struct e2e_server *srv, struct e2e_image *img) {
	char path[160];
	snprintf(path, sizeof path, "%s/shot.png", srv->dir);
	unlink(path);
	const char *argv[] = { e2e_bin("TESSERA_SHOT"), "--socket", srv->socket, path, NULL };
	char out[256];
	int status = e2e_run(argv, out, sizeof out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	png_image image;
	memset(&image, 0, sizeof image);
	image.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_file(&image, path));
	image.format = PNG_FORMAT_RGBA;
	img->width = (int)image.width;
	img->height = (int)image.height;
	img->rgba = malloc(PNG_IMAGE_SIZE(image));
	assert_non_null(img->rgba);
	assert_true(png_image_finish_read(&image, NULL, img->rgba, 0, NULL));
}

void e2e_image_free(struct e2e_image *img) {
	free(img->rgba);
	img->rgba = NULL;
}

uint32_t e2e_pixel(const struct e2e_image *img, int x, int y) {
	const uint8_t *p = img->rgba + ((size_t)y * (size_t)img->width + (size_t)x) * 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t e2e_count(const struct e2e_image *img, uint32_t rgba) {
	size_t n = 0;
	for (int y = 0; y < img->height; y++) {
		for (int x = 0; x < img->width; x++) {
			n += e2e_pixel(img, x, y) == rgba;
		}
	}
	return n;
}

bool e2e_flat(const struct e2e_image *img, uint32_t *rgba) {
	*rgba = e2e_pixel(img, 0, 0);
	return e2e_count(img, *rgba) == (size_t)img->width * (size_t)img->height;
}

void e2e_check_as_found(const struct e2e_server *srv, int fd_baseline, int timeout_ms) {
	assert_true(e2e_server_alive(srv));
	struct e2e_info info;
	// Nor a connection that never said hello (counted apart from the clients).
	if (!wait_info(srv, 0, 0, 0, timeout_ms, &info)) {
		// Who is left, by name, says which part of the test did not let go.
		fail_msg("left: %ld clients, %ld objects, %ld connections without a hello: %.1500s",
			info.clients, info.objects, info.pending, info.json);
	}
	// Nothing of an image left: no texture, no texture byte, no pool mapped.
	if (info.textures != 0 || info.texture_bytes != 0) {
		fail_msg("left: %ld textures of %ld bytes", info.textures, info.texture_bytes);
	}
	assert_int_equal(e2e_server_memfd_maps(srv), 0);
	// No glyph of the shared atlas held by a text of a client gone.
	if (info.atlas_referenced != 0) {
		fail_msg("left: %ld atlas glyphs referenced", info.atlas_referenced);
	}
	// Back to the baseline, within the deadline: a connection that just went (a tool's)
	// may be closed a loop round after the probe's answer, and the GL driver may hold a
	// file for a moment (its shader cache is written by a thread of its own). A leak
	// stays and fails.
	int fds = e2e_server_settled_fds(srv);
	for (long long deadline = now_ms() + timeout_ms; fds != fd_baseline &&
			now_ms() < deadline; fds = e2e_server_settled_fds(srv)) {
		poll(NULL, 0, 10);
	}
	assert_int_equal(fds, fd_baseline);
	struct e2e_image img;
	e2e_shot(srv, &img);
	uint32_t flat;
	assert_true(e2e_flat(&img, &flat));
	assert_int_equal(flat, srv->background);
	e2e_image_free(&img);
}

int e2e_fixture_setup(void **state) {
	struct e2e_fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	e2e_server_start(&f->srv);
	f->fd_baseline = e2e_server_settled_fds(&f->srv);
	*state = f;
	return 0;
}

int e2e_fixture_teardown(void **state) {
	struct e2e_fixture *f = *state;
	e2e_check_as_found(&f->srv, f->fd_baseline, 2000);
	e2e_server_stop(&f->srv);
	free(f);
	return 0;
}

struct ts_display *e2e_join(const struct e2e_server *srv, const char *name) {
	struct ts_display *d = ts_display_connect(srv->socket, name);
	if (d == NULL) {
		fail_msg("%s cannot connect: %s", name, ts_connect_error());
	}
	return d;
}

void e2e_commit(struct ts_display *d) {
	assert_int_equal(ts_display_commit(d), 0);
	assert_int_equal(ts_display_roundtrip(d), 0);
}

void e2e_peer_connect(struct peer *p, const char *path) {
	int fd = peer_connect(path, PEER_BLOCKING);
	if (fd < 0) {
		fail_msg("cannot connect to %s: %s", path, strerror(errno));
	}
	peer_init(p, fd);
}

void e2e_peer_send(struct peer *p, uint16_t opcode, const union ts_arg *args) {
	assert_int_equal(peer_send(p->fd, opcode, args), PEER_WRITTEN);
}

void e2e_peer_drain(struct peer *p, int timeout_ms) {
	enum peer_status rc = peer_drain(p, timeout_ms);
	if (rc != PEER_HANGUP) {
		fail_msg("the server %s", rc == PEER_TIMEOUT ? "did not hang up in time" : p->bad);
	}
}

size_t e2e_check_catalogue(const struct e2e_server *srv) {
	size_t count;
	struct peer_case *cases = peer_malformed(&count);
	assert_non_null(cases);
	for (size_t i = 0; i < count; i++) {
		struct peer p;
		e2e_peer_connect(&p, srv->socket);
		// The server may hang up before it has read it all: its reason is still there.
		assert_int_not_equal(peer_case_send(p.fd, &cases[i]), PEER_FAILED);
		if (peer_drain(&p, 5000) == PEER_TIMEOUT) {
			fail_msg("%s: no hang-up within 5 s (%d errors)", cases[i].name, p.errors);
		}
		char why[768];
		if (!peer_case_check(&cases[i], &p, why, sizeof why)) {
			fail_msg("%s", why);
		}
		peer_close(&p);
	}
	assert_true(e2e_server_alive(srv));
	free(cases);
	return count;
}

/* ---- Added for tests/e2e/test-misbehave.c ---- */

void e2e_server_discard(struct e2e_server *srv) {
	if (srv->pid <= 0) {
		return;
	}
	if (e2e_server_alive(srv)) {
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, NULL, 0);
	}
	char path[160];
	const char *const names[] = { "shot.png", "sock", "sock.lock" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", srv->dir, names[i]);
		unlink(path);
	}
	unlink(srv->log);
	rmdir(srv->dir);
	srv->pid = 0;
}

pid_t e2e_spawn_stdio(const char *const *argv, int stdin_fd, int stdout_fd) {
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (stdin_fd >= 0) {
			dup2(stdin_fd, STDIN_FILENO);
		}
		if (stdout_fd >= 0) {
			dup2(stdout_fd, STDOUT_FILENO);
		}
		alarm(30); // as in e2e_spawn
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

bool e2e_log_contains(const struct e2e_server *srv, const char *text) {
	FILE *log = fopen(srv->log, "r");
	assert_non_null(log);
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, log) != NULL) {
		found = strstr(line, text) != NULL;
	}
	fclose(log);
	return found;
}

bool e2e_wait_fd_count(const struct e2e_server *srv, int count, int timeout_ms) {
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		if (e2e_server_fd_count(srv) == count) {
			return true;
		}
		if (now_ms() >= deadline) {
			return false;
		}
		poll(NULL, 0, 5);
	}
}

long e2e_info_limit(const struct e2e_info *info, const char *name) {
	const char *limits = strstr(info->json, "\"limits\"");
	if (limits == NULL) {
		return -1;
	}
	const char *end = strchr(limits, '}');
	long v = json_number(limits, name);
	// Only inside the limits object.
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\"%s\":", name);
	const char *at = strstr(limits, pattern);
	return at != NULL && (end == NULL || at < end) ? v : -1;
}

// Reads lines from a child's stdout until "ready"; false on EOF or after 20 s.
static bool wait_ready_line(int fd) {
	char buf[256];
	size_t used = 0;
	while (used + 1 < sizeof buf) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 20000) <= 0) {
			return false;
		}
		ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
		if (n <= 0) {
			return false;
		}
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, "ready\n") != NULL) {
			return true;
		}
	}
	return false;
}

pid_t e2e_crash_start(const struct e2e_server *srv, const char *mode, const char *objects,
		bool tree) {
	return e2e_crash_start_images(srv, mode, objects, tree, "0");
}

pid_t e2e_crash_start_images(const struct e2e_server *srv, const char *mode,
		const char *objects, bool tree, const char *images) {
	return e2e_crash_start_texts(srv, mode, objects, tree, images, "0");
}

pid_t e2e_crash_start_texts(const struct e2e_server *srv, const char *mode,
		const char *objects, bool tree, const char *images, const char *texts) {
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	const char *argv[] = { e2e_bin("TESSERA_CRASH"), "--socket", srv->socket, "--mode",
		mode, "--objects", objects, "--images", images, "--texts", texts, "--linger-ms",
		"1500", tree ? "--tree" : NULL, NULL };
	pid_t pid = e2e_spawn(argv, pipefd[1]);
	close(pipefd[1]);
	assert_true(wait_ready_line(pipefd[0]));
	close(pipefd[0]);
	return pid;
}

pid_t e2e_crash_start_animations(const struct e2e_server *srv, const char *mode,
		const char *animations) {
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	const char *argv[] = { e2e_bin("TESSERA_CRASH"), "--socket", srv->socket, "--mode",
		mode, "--objects", "0", "--animations", animations, "--linger-ms", "1500", NULL };
	pid_t pid = e2e_spawn(argv, pipefd[1]);
	close(pipefd[1]);
	assert_true(wait_ready_line(pipefd[0]));
	close(pipefd[0]);
	return pid;
}

void e2e_crash_reap(pid_t pid, int expect_signal) {
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (expect_signal) {
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), expect_signal);
	} else {
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

int e2e_server_memfd_maps(const struct e2e_server *srv) {
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%ld/maps", (long)srv->pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		n += strstr(line, "/memfd:") != NULL;
	}
	fclose(f);
	return n;
}

struct ts_display *e2e_after_crash(const struct e2e_server *srv, const char *name) {
	struct ts_display *d = ts_display_connect(srv->socket, name);
	if (d == NULL) {
		fail_msg("%s cannot connect: %s", name, ts_connect_error());
	}
	assert_int_equal(ts_display_roundtrip(d), 0);
	struct ts_server_info si;
	assert_int_equal(ts_display_query_info(d, &si), 0);
	assert_int_equal(si.clients, 0); // besides the one asking
	assert_int_equal(si.objects, 0);
	assert_int_equal(si.textures, 0);
	assert_int_equal(si.texture_bytes, 0);
	ts_server_info_finish(&si);
	assert_int_equal(e2e_server_memfd_maps(srv), 0);
	struct e2e_image img;
	e2e_shot(srv, &img);
	uint32_t flat;
	assert_true(e2e_flat(&img, &flat));
	assert_int_equal(flat, srv->background);
	e2e_image_free(&img);
	return d;
}
