/*
 * The server: the listening socket, the set of clients, and when to draw a frame.
 * main.c wires a server to a loop, a backend and a renderer.
 */
#ifndef TESSERA_SERVER_H
#define TESSERA_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "atlas-gpu.h"
#include "limit.h"
#include "list.h"
#include "draw-list.h"
#include "frame.h"
#include "tree.h"

struct backend;
struct loop;
struct loop_source;
struct loop_timer;
struct renderer;
struct text_system;

#define SERVER_MAX_ALLOW_UIDS 16
#define SERVER_IN_BYTES (64u << 10) // per client: request bytes read but not handled yet

/** Something that can happen by the thousand a second: how often, and when last logged. */
struct log_burst {
	uint64_t count;
	uint64_t logged_ns;
};

struct server_options {
	const char *socket_path;  // NULL: $TESSERA_SOCKET, else $XDG_RUNTIME_DIR/tessera-0
	int refresh_mhz;          // frame rate limit in millihertz; 0: none
	bool manual_clock;        // --clock manual: time moves only by clock_step (frame.h)
	struct server_limits limits;
	uid_t allow_uids[SERVER_MAX_ALLOW_UIDS]; // users besides our own who may connect
	size_t allow_uid_count;
	bool trace;               // print every message (-v or TESSERA_DEBUG=1)
};

struct server {
	struct server_options options;
	struct loop *loop;
	struct backend *backend;
	struct renderer *renderer;
	struct text_system *text;      // NULL: no text nodes (no fonts)
	// Small image buffers share the pages of one atlas (image.c), made at the first.
	struct atlas_gpu sprites;
	bool sprites_ready;
	// Textures of contents gone since the last frame: deleted before it (image.c), so
	// that a dying client's cleanup does not wait for the driver.
	struct render_texture *dead_textures;
	size_t dead_len, dead_cap;
	struct tree tree;              // every client's nodes: what frames show
	struct render_stats frame_stats; // what the last frame drawn cost
	struct list shots;             // struct shot.link: screenshots the next frame answers

	char *socket_path;
	char *lock_path;
	int lock_fd;
	int listen_fd;
	struct loop_source *listen_source;
	// The loop's timers (loop.h): each armed only while it has something to do, so an
	// idle server sleeps with none.
	struct loop_timer *hello_timer;   // the oldest connection without a hello expires
	struct loop_timer *accept_timer;  // accept() paused (EMFILE, or no room for a
	                                  // pending connection yet) resumes
	struct loop_timer *backend_timer; // a backend with events but no fd: asked each frame
	sigset_t wait_sigmask;         // the signal mask while the loop sleeps (see loop.h)
	bool running;

	struct list clients;           // client.link
	size_t client_count;           // every connection, dying ones until freed
	size_t session_count;          // clients that said hello and are not dying
	size_t pending_count;          // connections yet to say hello: on hello_clients
	size_t object_count;           // objects of every client
	uint32_t texture_count;        // image textures of every client
	uint64_t texture_bytes;        // what they cost
	uint32_t next_client_id;
	struct list dead_clients;      // client.dead_link: destroyed after the loop round
	struct list flush_clients;     // client.flush_link: have queued output
	struct list frame_clients;     // client.frame_link: have frame callbacks due
	struct list present_clients;   // client.present_link: shown by the frame in flight
	struct list hello_clients;     // client.hello_link: no hello yet, not dying; oldest first
	struct list backlog_clients;   // client.backlog_link: requests left after their slice
	struct log_burst refusals;     // connections refused (limit, user)
	struct log_burst evictions;    // pending connections dropped for newer ones
	uint32_t last_cleanup_us;      // freeing the last client that owned objects

	struct frame_pacing pacing;    // when frames are drawn and presented (frame.h)
	// Animations committed and not ended, of every client (animation.h).
	struct animation **animations;
	uint32_t animation_len, animation_cap;
	uint64_t frames;               // frames drawn
};

/**
 * Sets up signal handling (SIGINT/SIGTERM end the loop, SIGPIPE ignored), takes
 * the socket's lock, replaces a stale socket, binds and listens. Returns false after
 * logging a message a user understands; everything done so far is undone.
 */
bool server_init(struct server *server, struct loop *loop, const struct server_options *opts);

/**
 * What server_init does short of signals and the socket: the options, the lists of
 * clients and the scene; the loop sleeps with the signal mask it was called with.
 * The caller adds clients with client_create and sets backend and renderer. Cannot fail.
 * For drivers with no listening socket (the fuzz targets); server_finish undoes it.
 */
void server_init_core(struct server *server, struct loop *loop,
	const struct server_options *opts);

/** Destroys every client (they see EOF), closes and removes the socket and its lock. */
void server_finish(struct server *server);

/** Runs the loop until SIGINT/SIGTERM or the window is closed. Returns false on failure. */
bool server_run(struct server *server);

/**
 * One round of the loop: draws a frame if one is due, sleeps in poll() until a fd is
 * ready or the next deadline, handles what is ready, flushes output and frees the
 * clients that went away. Sets server->running to false when the server must stop
 * (signal, window closed, poll failure). Returns false when poll() failed.
 */
bool server_iterate(struct server *server);

/**
 * A screenshot waiting for the next frame: the client's memory, mapped. Owned by the
 * client (client.shots too): it goes with the client.
 */
struct shot {
	struct list link;              // server.shots
	struct list client_link;       // client.shots
	struct client *client;
	uint32_t callback;
	uint8_t *pixels;
	size_t size;
	int width, height;             // the output's when asked: the mapping fits those
};

/* Screenshots one client may have waiting for a frame at once (each maps a frame). */
#define CLIENT_MAX_SHOTS 4

enum shot_result {
	SHOT_DONE,      // the pixels are in the client's memory
	SHOT_RESIZED,   // the output changed size since the request: nothing was written
	SHOT_FAILED,    // the renderer could not read back (an internal error)
};

/**
 * Answers @shot and frees it: screenshot_done with the output's size, or with 0 x 0
 * when it was SHOT_RESIZED (the client may ask again), or an internal error.
 */
void shot_finish(struct shot *shot, enum shot_result result);

/** Frees @shot unanswered (its client is going). */
void shot_free(struct shot *shot);

#endif
