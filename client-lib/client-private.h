/*
 * libtessera internals shared by client.c (connection, ids, dispatch), rect.c,
 * introspect.c and the generated client-protocol.h and client-protocol.c. Nothing here is exported: libtessera.map keeps only the public API.
 */
#ifndef TESSERA_CLIENT_PRIVATE_H
#define TESSERA_CLIENT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connection.h"
#include "tessera/client.h"
#include "wire.h"

enum entry_kind {
	ENTRY_FREE = 0,     // on the free list (or never used)
	ENTRY_NODE,         // a live group or rect
	ENTRY_ZOMBIE,       // a destroyed node whose delete_ids has not come yet
	// A node the server destroyed with a group it was in: the handle lives on (every
	// call on it fails) and keeps the id until the application destroys it.
	ENTRY_DEAD,
	// The same, from the commit that destroyed its group until the server's
	// delete_ids for it comes (then ENTRY_DEAD); calls on it fail already.
	ENTRY_GONE,
	ENTRY_CALLBACK,     // sync or frame: waits for done
	ENTRY_PRESENTED,    // frame with its presentation: presented, then done
	ENTRY_INFO,         // info_query: collects client_info until info_done
	ENTRY_SCREENSHOT,   // screenshot: waits for screenshot_done
	ENTRY_POOL,         // a live shm pool (struct ts_shm_pool)
	ENTRY_BUFFER,       // a live image buffer (struct ts_buffer)
	ENTRY_METRICS,      // text_measure: waits for text_metrics
	ENTRY_ANIMATION,    // a live animation (struct ts_animation)
	ENTRY_VALUE,        // node_get_value: waits for node_value
};

/** What an info_query collects while it waits; lives on the waiting caller's stack. */
struct info_query {
	struct ts_server_info *info;
	size_t cap;         // entries allocated in info->list
	size_t limit_cap;   // entries allocated in info->limits
	bool done;
};

/** What a screenshot waits for; lives on the waiting caller's stack. */
struct shot_query {
	struct ts_image *image;
	int fd;             // our copy of the memfd the server writes the pixels into
	size_t size;        // its size
	int width, height;  // the output's size when asked
	bool done;
	bool resized;       // answered 0 x 0: the output changed size meanwhile
};

/** What a text measurement waits for; lives on the waiting caller's stack. */
struct metrics_query {
	struct ts_text_metrics *metrics;
	bool done;
};

/** What a node_get_value waits for; lives on the waiting caller's stack. */
struct value_query {
	float a, b;
	uint32_t rgba;
	bool done;
};

/** One id of the client's namespace; the table is dense, indexed by id. */
struct entry {
	enum entry_kind kind;
	union {
		struct ts_node *node;                 // ENTRY_NODE, ENTRY_DEAD, ENTRY_GONE
		struct {
			union {
				ts_done_func done;            // ENTRY_CALLBACK
				ts_presented_func presented;  // ENTRY_PRESENTED
			} func;
			void *data;
		} callback;                           // ENTRY_CALLBACK, ENTRY_PRESENTED
		struct info_query *info;              // ENTRY_INFO
		struct shot_query *shot;              // ENTRY_SCREENSHOT
		struct ts_shm_pool *pool;             // ENTRY_POOL
		struct ts_buffer *buffer;             // ENTRY_BUFFER
		struct metrics_query *metrics;        // ENTRY_METRICS
		struct ts_animation *animation;       // ENTRY_ANIMATION
		struct value_query *value;            // ENTRY_VALUE
		uint32_t next_free;                   // ENTRY_FREE: next id on the free list
	};
};

/** A done event read where callbacks may not run, kept for the next waiting call. */
struct deferred_done {
	uint32_t callback, data;
	struct ts_presentation presentation; // for an ENTRY_PRESENTED callback
	bool presented;                      // presentation is set
};

/** A node handle. */
struct ts_node {
	struct ts_display *display;
	uint32_t id;
	bool group;
	// Destroyed with a group at the next commit: destroy was asked of a group above it
	// (or it was made inside a doomed group). It stays doomed whatever it is asked.
	bool doomed;
	// Where the application put it, as the server will have it: its group (NULL for
	// the root, or when its group's handle is gone) and its place in that group's
	// children (in no order: only who is inside whom matters here).
	struct ts_node *parent, *first_child, *prev, *next;
};

struct ts_rect {
	struct ts_node node;
};

struct ts_group {
	struct ts_node node;
};

struct ts_image_node {
	struct ts_node node;
};

struct ts_text {
	struct ts_node node;
};

struct ts_shm_pool {
	struct ts_display *display;
	uint32_t id;
	uint8_t *data;      // our mapping (read and write); NULL for a pool made from an fd
	size_t size;
};

struct ts_buffer {
	struct ts_display *display;
	uint32_t id;
	struct ts_shm_pool *own_pool; // ts_buffer_create_shm's: destroyed with the buffer
	uint8_t *data;      // its first pixel in our mapping, or NULL
	uint32_t width, height, stride;
};

/** The id of a live buffer, or 0 (a buffer of a lost display). */
uint32_t buffer_id(const struct ts_buffer *buffer);

/** Frees the pool and buffer handles still alive, for ts_display_disconnect. */
void image_handles_free(struct ts_display *display);
/** Frees the animation handles left when the display goes (animation.c). */
void animation_handles_free(struct ts_display *display);

struct ts_display {
	struct ts_connection conn;
	bool debug;                 // TESSERA_DEBUG: trace every message

	// From the welcome.
	bool welcomed;
	uint32_t version, client_id;
	int width, height;

	// Ids: entries[0] is unused; ids above `highest` have never been sent.
	struct entry *entries;
	uint32_t entries_cap;
	uint32_t highest;           // highest id ever used; a new one may be highest + 1
	uint32_t free_head;         // first reusable id, 0 when none

	// The sticky error.
	int error;                  // errno value, 0 while fine
	uint32_t protocol_code, protocol_object;
	char *error_message;        // the server's text (or ours for bad events), or NULL

	ts_error_func error_func;
	void *error_data;

	// The last presented event: the done that follows it, for the same callback, hands
	// it to the callback.
	uint32_t presented_callback;
	struct ts_presentation presented;

	// Done events read inside request calls, oldest at deferred[deferred_start].
	struct deferred_done *deferred;
	size_t deferred_start, deferred_len, deferred_cap;

	// Ids of nodes doomed since the last commit (struct ts_node.doomed): the commit
	// makes those still alive ENTRY_GONE.
	uint32_t *doomed;
	size_t doomed_len, doomed_cap;

	bool stop;                  // ts_display_stop was called
	uint64_t dispatched;        // events dispatched so far, to count per call
};

/**
 * Makes the connection fail for good with errno value @err (unless it failed already)
 * and @fmt as its text (NULL: strerror). Always returns -1 with errno set.
 */
int display_fail(struct ts_display *display, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Returns -1 with errno set to the sticky error when the connection has failed, else 0. */
int display_check(struct ts_display *display);

/**
 * Queues request @opcode with @args, flushing first (blocking) when the out-buffer
 * would pass its limit. Returns 0, or -1 with errno set (sticky on I/O failure).
 */
int display_queue(struct ts_display *display, uint16_t opcode, const union ts_arg *args);

/**
 * Flushes, then dispatches events until *@done is true. Returns 0, or -1 when the
 * connection fails first.
 */
int display_wait(struct ts_display *display, const bool *done);

/** Reserves a new id for an entry of @kind. Returns it, or 0 with errno set. */
uint32_t id_new(struct ts_display *display, enum entry_kind kind);

/** At a commit: the nodes doomed since (node.c) are gone from here on. */
void node_commit_doomed(struct ts_display *display);

/** The entry of @id when it is in use with @kind, else NULL. */
struct entry *id_lookup(struct ts_display *display, uint32_t id, enum entry_kind kind);

/** Puts @id back on the free list: its last event has arrived. */
void id_release(struct ts_display *display, uint32_t id);

/*
 * The request stubs (ts__req_NAME) and the event handlers (ts__handle_NAME, those of
 * introspection in introspect.c, the rest in client.c) are declared in
 * client-protocol.h, which scanner.py makes from the protocol spec.
 */

#endif
