/*
 * End-to-end test harness: starts the real tessera binary on a temporary socket, runs
 * real client processes and tools, and reads back what tessera-info and tessera-shot
 * report. Paths of the binaries come from the environment set by meson.
 */
#ifndef TESSERA_E2E_HARNESS_H
#define TESSERA_E2E_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peer.h"
#include "wire.h"

struct e2e_server {
	pid_t pid;
	char dir[64];        // private temporary folder
	char socket[128];
	char log[128];       // the server's stderr
	uint32_t background; // the colour of the empty screen, read at start
};

/** Which backend e2e_server_start uses: set once from the command line. */
extern bool e2e_window_backend;

/** The path of a built binary from the environment variable @var; fails the test if unset. */
const char *e2e_bin(const char *var);

/**
 * Starts tessera (--size 320x240) in a fresh folder, waits until it answers, and checks
 * that its empty screen is one flat colour (kept in srv->background).
 */
void e2e_server_start(struct e2e_server *srv);
/** The same, with @extra arguments for tessera (NULL-terminated; NULL for none). */
void e2e_server_start_with(struct e2e_server *srv, const char *const *extra);
/** Starts tessera with extra arguments on a given socket; returns its pid (no wait). */
pid_t e2e_server_spawn(const char *socket, const char *log, const char *const *extra);
/** Waits until a client can connect and get a welcome; false after @timeout_ms. */
bool e2e_server_wait_ready(const char *socket, int timeout_ms);
/** SIGTERMs the server, checks it exits 0 and removed its socket, removes the folder. */
void e2e_server_stop(struct e2e_server *srv);
/** True when the server process is still running. */
bool e2e_server_alive(const struct e2e_server *srv);
/** Number of open fds of the server process. */
int e2e_server_fd_count(const struct e2e_server *srv);
/**
 * The server's fd count with no client connected, free of the race with clients that
 * just hung up: a round trip on a new connection comes after the server has handled
 * every hang-up that happened before it connected.
 */
int e2e_server_settled_fds(const struct e2e_server *srv);

/**
 * Starts @argv (argv[0] a path) with its stdout on @stdout_fd (-1: inherited) and a
 * 30 s alarm that survives exec, so a client stuck on a broken server dies and fails
 * the test instead of hanging it. Returns its pid.
 */
pid_t e2e_spawn(const char *const *argv, int stdout_fd);

struct ts_display;

/**
 * Starts tessera-crash on @srv with @objects rects (in nested groups with @tree) to die
 * in @mode after lingering 1.5 s, and waits (20 s at most) for its "ready" line: the
 * server holds all of it then. Returns its pid.
 */
pid_t e2e_crash_start(const struct e2e_server *srv, const char *mode, const char *objects,
	bool tree);

/** The same, holding @images image buffers (in one pool) shown by image nodes too. */
pid_t e2e_crash_start_images(const struct e2e_server *srv, const char *mode,
	const char *objects, bool tree, const char *images);

/** The same, with @texts text nodes (holding glyphs of the shared atlas) too. */
pid_t e2e_crash_start_texts(const struct e2e_server *srv, const char *mode,
	const char *objects, bool tree, const char *images, const char *texts);

/** Mappings of memfds (shm pools, screenshots) in the server, from /proc/PID/maps. */
int e2e_server_memfd_maps(const struct e2e_server *srv);

/** Waits for it and checks how it died: by @expect_signal, or exit 0 when that is 0. */
void e2e_crash_reap(pid_t pid, int expect_signal);
/** tessera-crash in @mode with --animations @animations (rects turning for ever). */
pid_t e2e_crash_start_animations(const struct e2e_server *srv, const char *mode,
	const char *animations);

/**
 * A new client @name, once a crashed client has gone: its round trip is answered after
 * the server saw the hang-up, so what it asks next shows all of it freed. Checks that
 * no other client and no object is left and that the screen is the background, and
 * returns the client.
 */
struct ts_display *e2e_after_crash(const struct e2e_server *srv, const char *name);

/**
 * Runs @argv (argv[0] a path), capturing stdout into @out (NUL-terminated, @cap bytes).
 * Returns the raw wait status.
 */
int e2e_run(const char *const *argv, char *out, size_t cap);

/** What tessera-info --json says. */
struct e2e_info {
	long clients, objects;   // "totals"
	long pending;            // "totals": connections yet to say hello
	long evicted, refused;   // "connections", since the server started
	long textures, texture_bytes; // "totals"
	long atlas_pages, atlas_glyphs, atlas_referenced, atlas_evictions; // "atlas"
	char json[65536];
};
/** Runs tessera-info --json and parses the totals; fails the test on bad output. */
void e2e_info(const struct e2e_server *srv, struct e2e_info *info);
/** Polls tessera-info until totals are @clients and @objects; false after @timeout_ms. */
bool e2e_wait_totals(const struct e2e_server *srv, long clients, long objects,
	int timeout_ms, struct e2e_info *last);

/** A screenshot read back from the PNG tessera-shot wrote. */
struct e2e_image {
	int width, height;
	uint8_t *rgba; // width * height * 4
};
/** Runs tessera-shot and decodes its PNG; fails the test on any error. */
void e2e_shot(const struct e2e_server *srv, struct e2e_image *img);
void e2e_image_free(struct e2e_image *img);
/** The pixel at (x, y) as 0xRRGGBBAA. */
uint32_t e2e_pixel(const struct e2e_image *img, int x, int y);
/** Pixels equal to @rgba. */
size_t e2e_count(const struct e2e_image *img, uint32_t rgba);
/** True when every pixel has the same value; *@rgba gets it. */
bool e2e_flat(const struct e2e_image *img, uint32_t *rgba);

/** A test's own server (e2e_server_start) and its fd count when it was ready. */
struct e2e_fixture {
	struct e2e_server srv;
	int fd_baseline;
};
/** cmocka setup: starts the fixture's server. */
int e2e_fixture_setup(void **state);
/** cmocka teardown: every test leaves the server as it found it (e2e_check_as_found). */
int e2e_fixture_teardown(void **state);

/** Connects a client @name to @srv; fails the test if it cannot. */
struct ts_display *e2e_join(const struct e2e_server *srv, const char *name);
/** Commits and waits until the server has applied it: a screenshot after shows it. */
void e2e_commit(struct ts_display *d);

/**
 * Checks that the server is as a test found it: alive, no clients, no connections
 * without a hello, no objects, no textures and no pool mapped
 * (waiting up to @timeout_ms for hang-ups to be handled), @fd_baseline fds, and the
 * screen back to its flat background.
 */
void e2e_check_as_found(const struct e2e_server *srv, int fd_baseline, int timeout_ms);

/*
 * Clients that speak the protocol by hand are raw peers (tests/peer); these wrap it
 * with what a test does when the peer itself fails: fail the test.
 */

/** Connects raw peer @p (blocking) to @path, no hello sent; fails the test if it cannot. */
void e2e_peer_connect(struct peer *p, const char *path);

/** Encodes and writes request @opcode; fails the test unless it is written whole. */
void e2e_peer_send(struct peer *p, uint16_t opcode, const union ts_arg *args);

/**
 * Reads @p until the server hangs up, failing the test after @timeout_ms or on an
 * event that does not decode; then p->errors, p->code and p->message say what it was
 * told.
 */
void e2e_peer_drain(struct peer *p, int timeout_ms);

/**
 * Sends every case of the malformed-input catalogue (tests/peer/malformed.h), each on a
 * new connection, and checks that the server answers each with its error and hangs up.
 * Fails the test at the first case answered otherwise; returns how many were checked.
 */
size_t e2e_check_catalogue(const struct e2e_server *srv);

/* ---- Added for tests/e2e/test-misbehave.c ---- */

/**
 * After a failed test: kills the server if it still runs and removes its folder, so
 * that nothing is left behind. Does nothing once the server was stopped and reaped
 * (or when srv->pid is 0).
 */
void e2e_server_discard(struct e2e_server *srv);

/**
 * e2e_spawn with stdin on @stdin_fd as well (-1: inherited). Both fds are left open
 * in the caller.
 */
pid_t e2e_spawn_stdio(const char *const *argv, int stdin_fd, int stdout_fd);

/** True when the server's log (its stderr so far) contains @text. */
bool e2e_log_contains(const struct e2e_server *srv, const char *text);

/** Polls the server's fd count until it is @count; false after @timeout_ms. */
bool e2e_wait_fd_count(const struct e2e_server *srv, int count, int timeout_ms);

/**
 * The value of limit @name in the "limits" object of tessera-info --json output
 * @info, or -1 when there is no such limit.
 */
long e2e_info_limit(const struct e2e_info *info, const char *name);

#endif
