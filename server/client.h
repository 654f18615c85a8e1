/*
 * Clients: one per connection. A client owns every object it created; client_destroy
 * is the one function that frees a client, whatever the reason it goes.
 */
#ifndef TESSERA_CLIENT_H
#define TESSERA_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "connection.h"
#include "list.h"
#include "node.h"
#include "object.h"
#include "objmap.h"
#include "tree.h"

struct server;

/** A growable array of object ids. */
struct id_array {
	uint32_t *ids;
	uint32_t len, cap;
};

/* Ids one delete_ids event carries at most: 512 bytes of them in every client, and
 * 12 bytes of header for 128 ids on the wire. */
#define CLIENT_FREED_BATCH 128

struct client {
	struct server *server;
	struct ts_connection conn;
	struct loop_source *source;
	struct list link;                 // server.clients
	struct list dead_link;            // server.dead_clients while dying
	struct list flush_link;           // server.flush_clients while output is queued
	struct list frame_link;           // server.frame_clients while frame_due is not empty
	struct list present_link;         // server.present_clients while frame_shown is not
	struct list hello_link;           // server.hello_clients until hello (or death)
	// server.backlog_clients while backlogged: it used its slice with requests left,
	// and is not read meanwhile (client_backlogged)
	struct list backlog_link;
	uint64_t connected_ns;            // loop_now_ns() at accept
	uint32_t id;
	pid_t pid;
	uid_t uid;
	char *name;
	bool welcomed;                    // hello done
	bool dying;                       // no more dispatch; destroyed after this round
	bool gone;                        // being destroyed: nothing is sent to it any more
	bool write_blocked;               // the socket is full: waiting for POLLOUT
	// Every object, stored by id (struct tree_node slots): freed all at once.
	struct objmap objects;
	struct tree_root root;            // the client's tree in the scene, once has_root
	bool has_root;                    // made at its first node
	uint32_t node_count;              // groups and rects (the nodes limit)
	struct structure_log structure;   // changes of structure until the commit
	struct list shots;                // struct shot.client_link: waiting for a frame
	uint32_t shot_count;              // in shots (at most CLIENT_MAX_SHOTS)
	struct list listeners;            // struct object_listener.link (object.h)
	// Images (image.h): every buffer's content, live or orphaned, and every pool's
	// mapping; what they cost against the texture_bytes and shm_bytes limits.
	struct list images;               // struct image_content.link
	struct list maps;                 // struct shm_map.link
	uint32_t textures;
	uint64_t texture_bytes;
	uint64_t shm_bytes;
	uint32_t image_orphans;           // contents whose buffer object is gone
	// Texts (text.h): every text object, those whose source changed since the last
	// commit, jobs in flight; the held commit waits for text_waiting jobs.
	struct list texts;                // struct text_object.link
	struct list text_dirty;           // struct text_object.dirty_link
	struct list text_jobs;            // struct text_job.link
	uint32_t text_waiting;
	bool held;                        // a commit waits for its texts: not read meanwhile
	size_t text_memory;               // what texts hold (client_bytes counts it)
	size_t glyph_bytes;               // atlas texels its texts hold (glyph_bytes limit)
	size_t glyph_pinned;              // and its commits in flight (counted with it)
	// Animations (animation.h): every one, and those made since the last commit.
	struct list animations;           // struct animation.link
	struct list animations_new;       // struct animation.new_link
	uint32_t animation_count;
	int8_t pending_layer;             // set_layer since the last commit; -1: none
	bool pending_raise;               // raise since the last commit
	// Objects made or changed since the last commit, in the order they first were:
	// what the next commit applies (object.h).
	struct pending_entry *pending;
	uint32_t pending_len, pending_cap;
	uint32_t pending_gone;            // entries of objects destroyed since (id 0)
	uint32_t pending_last;            // entries the last commit applied
	struct id_array frame_pending;    // frame callbacks waiting for a commit
	// Ids freed and not yet told (delete_ids), little-endian as on the wire: sent
	// before any other event and at the end of each request.
	uint8_t freed[CLIENT_FREED_BATCH * 4];
	uint32_t nfreed;
	struct id_array frame_due;        // committed frame callbacks: done at the next frame
	struct id_array frame_shown;      // those of a frame drawn, done when it is presented
	uint64_t frame_done_at;           // presentation time its callbacks were last done at
};

/**
 * Takes ownership of the accepted socket @fd, whose peer is @pid / @uid.
 * Returns NULL (fd closed) on failure.
 */
struct client *client_create(struct server *server, int fd, pid_t pid, uid_t uid);

/**
 * The one destroy path: frees every object the client owns, takes them out of the
 * scene, closes the socket. The objects go all at once: the scene forgets the client's
 * nodes in O(1) and the object slots are freed a chunk at a time (chunks double in
 * size): a few free() calls, not one per object. NULL is fine.
 */
void client_destroy(struct client *client);

/**
 * Takes a connection off server.hello_clients (and out of the pending_clients budget):
 * it said hello, or it is going. Harmless when it is not there.
 */
void client_leave_pending(struct client *client);

/** The hello is done: the connection becomes a session (the clients limit counts it). */
void client_welcome(struct client *client);

/**
 * Reads and handles what the socket holds now, as when poll() finds it readable: for a
 * connection just accepted, whose hello is usually there already.
 */
void client_read(struct client *client);

/** Marks the client for destruction after this loop round and stops dispatching it. */
void client_kill(struct client *client, const char *reason);

/**
 * Sends a fatal protocol error (code, object id, text) and kills the client.
 * Never aborts: this is how bad input from a client ends.
 */
void client_post_error(struct client *client, uint32_t object_id, uint32_t code,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * The same, without the log line: for errors that can come by the thousand a second
 * (pending connections dropped for newer ones), which the caller logs as a count.
 */
void client_post_error_unlogged(struct client *client, uint32_t object_id, uint32_t code,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Queues an event; a client whose out-buffer overflows is killed. */
void client_send(struct client *client, uint16_t opcode, const union ts_arg *args);

/**
 * Tells the client that @id is free for reuse: ids are batched into delete_ids
 * events, sent before the client's next other event and after each request.
 */
void client_free_id(struct client *client, uint32_t id);

/** Sends the ids client_free_id has batched, if any. */
void client_send_freed(struct client *client);

/**
 * Called after freeing @bytes of a client's working memory (the pending list, the
 * structure log) that a burst made big: past 1 MiB, the heap's free pages go back to
 * the kernel now. malloc keeps big freed blocks in its heap once its mmap threshold has
 * grown, so a client that built 100,000 nodes in one commit would otherwise leave the
 * server holding megabytes it no longer uses.
 */
void heap_give_back(size_t bytes);

/** Writes queued output. Returns false when the client must go. */
bool client_flush(struct client *client);

/**
 * Request handling, in requests.c: decodes and dispatches what the client sent, at
 * most its slice (the requests limit; a screenshot ends it, an info_query costs a
 * request per event of its answer). A client with requests left over is backlogged:
 * not read until a later round has handled them.
 */
void client_dispatch(struct client *client);

/** True while the client waits on server.backlog_clients for its next slice. */
static inline bool client_backlogged(const struct client *client) {
	return !list_empty(&client->backlog_link);
}

/**
 * Applies the client's pending state (handle_commit's work past the texts): objects,
 * structure, layer, then frame callbacks. Posts an error on failure.
 */
void client_commit_apply(struct client *client);

/** Sets the events the loop watches for the client from its state. */
void client_update_events(struct client *client);

/**
 * Server memory the client holds: its objects, pending state and name. What the
 * client_bytes limit bounds. (The connection's buffers have limits of their own:
 * SERVER_IN_BYTES and out_bytes.)
 */
size_t client_memory(const struct client *client);

/**
 * Checks that the client may hold @more bytes on top of what it holds. Returns false
 * after posting limit_exceeded when it may not.
 */
bool client_charge(struct client *client, size_t more);

/** Appends @id to one of the client's id arrays, within client_bytes. */
bool client_push_id(struct client *client, struct id_array *array, uint32_t id);

/**
 * The client's tree in the scene, made (in the normal layer) the first time it is
 * needed. NULL after posting an error.
 */
struct tree_root *client_root(struct client *client);

/**
 * The frame being drawn shows the client's committed frame callbacks: they move to
 * frame_shown, and the client from server.frame_clients to server.present_clients.
 */
void client_frame_take(struct client *client);

/** Sends presented and done for every callback of client_frame_take, and frees them. */
void client_frame_presented(struct client *client, uint64_t time_ns, uint32_t seq,
	uint32_t refresh_ns);

/** Appends @id. Returns false when memory cannot be had. */
bool id_array_push(struct id_array *array, uint32_t id);

/** Empties the array, giving its memory back when it grew large. */
void id_array_clear(struct id_array *array);

#endif
