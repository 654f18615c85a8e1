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
#include "objmap.h"
#include "scene.h"

struct server;

enum object_type {
	OBJECT_RECT = 1,
	OBJECT_CALLBACK,
};

/** Embedded at the start of every object a client owns. */
struct object {
	uint32_t id;
	enum object_type type;
};

struct rect {
	struct object base;
	struct scene_node node;           // committed state lives in node.state
	struct scene_rect_state pending;
	struct list dirty_link;           // client.dirty_rects while pending has changes
};

/** A frame callback: pending on its client until commit, then on server.frame_callbacks. */
struct callback {
	struct object base;
	struct client *client;
	struct list link;                 // client.frame_pending or server.frame_callbacks
};

struct client {
	struct server *server;
	struct ts_connection conn;
	struct loop_source *source;
	struct list link;                 // server.clients
	struct list dead_link;            // server.dead_clients while dying
	struct list flush_link;           // server.flush_clients while output is queued
	uint32_t id;
	pid_t pid;
	uid_t uid;
	char *name;
	bool welcomed;                    // hello done
	bool dying;                       // no more dispatch; destroyed after this round
	struct objmap objects;
	struct list dirty_rects;          // rect.dirty_link
	struct list frame_pending;        // callback.link
};

/** Takes ownership of the accepted socket @fd. Returns NULL (fd closed) on failure. */
struct client *client_create(struct server *server, int fd);

/**
 * The one destroy path: frees every object the client owns, takes them out of the
 * scene, closes the socket. O(the client's own objects). NULL is fine.
 */
void client_destroy(struct client *client);

/** Marks the client for destruction after this loop round and stops dispatching it. */
void client_kill(struct client *client, const char *reason);

/**
 * Sends a fatal protocol error (code, object id, text) and kills the client.
 * Never aborts: this is how bad input from a client ends.
 */
void client_post_error(struct client *client, uint32_t object_id, uint32_t code,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Queues an event; a client whose out-buffer overflows is killed. */
void client_send(struct client *client, uint16_t opcode, const union ts_arg *args);

/** Writes queued output. Returns false when the client must go. */
bool client_flush(struct client *client);

/** Request handling, in requests.c: decodes and dispatches what the client sent. */
void client_dispatch(struct client *client);

/** Frees one object: out of the scene, off every list, memory released. */
void object_destroy(struct client *client, struct object *obj);

#endif
