/*
 * The object model: every object a client holds has a type, and every type an ops
 * table. One destroy function per type is called by the destroy request, by a parent's
 * destroy and by client_destroy alike; one commit function applies the object's pending
 * state. The types of live objects are the protocol's interfaces: before a request's
 * handler runs, object_resolve checks each of its object ids against the interfaces
 * the protocol table names for that field and hands the handler the slots, posting
 * invalid_id or wrong_type itself, so no handler looks up or checks types by hand.
 *
 * Pending state is per object: a changed or new object has one entry in its client's
 * pending list (struct pending_entry: which fields were set, and their values), found
 * from the object through its slot; commit applies the list in order and empties it.
 */
#ifndef TESSERA_OBJECT_H
#define TESSERA_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "tessera-protocol.h"
#include "tree.h"
#include "wire.h"

struct client;

enum object_type {
	// The type of a live object is its protocol interface, one up (0 is a free slot in
	// the object map): an id field of the table accepts type t when bit t - 1 of its
	// TS_IFACE_MASK_ is set, so that object_resolve checks every request's ids from
	// the table alone.
	OBJECT_CALLBACK = TS_IFACE_callback + 1, // an id a callback answers: later (frame)
	                                         // or at once (sync, info_query, screenshot);
	                                         // only its type byte is used
	OBJECT_GROUP = TS_IFACE_group + 1,
	OBJECT_RECT = TS_IFACE_rect + 1,
	OBJECT_IMAGE = TS_IFACE_image + 1,
	OBJECT_SHM_POOL = TS_IFACE_shm_pool + 1,
	OBJECT_BUFFER = TS_IFACE_buffer + 1,
	OBJECT_TEXT = TS_IFACE_text + 1,
	OBJECT_ANIMATION = TS_IFACE_animation + 1,
	// A node whose destroy request waits for the commit: no request may name it.
	OBJECT_DOOMED = TS_IFACE_COUNT_ + 1,
	OBJECT_TYPE_COUNT_,
};

/** What set_* requests changed on an object since the last commit. */
enum pending_field {
	PENDING_CREATED = 1u << 0,   // made since the last commit: the commit shows it first
	PENDING_POSITION = 1u << 1,
	PENDING_SIZE = 1u << 2,
	PENDING_COLOR = 1u << 3,
	PENDING_VISIBLE = 1u << 4,
	PENDING_ANCHOR = 1u << 5,
	PENDING_ROTATION = 1u << 6,
	PENDING_SCALE = 1u << 7,
	PENDING_OPACITY = 1u << 8,
	PENDING_CLIP = 1u << 9,
	PENDING_ISOLATE = 1u << 10,
	PENDING_RADIUS = 1u << 11,
	PENDING_BORDER = 1u << 12,
	PENDING_DAMAGE = 1u << 13,   // a buffer: pixels to upload
	PENDING_IMAGE = 1u << 14,    // an image node: its buffer or source
	PENDING_TEXT = 1u << 15,     // a text node: its source (laid out before the commit)
};

/** One object's pending state: what the next commit applies to it. */
struct pending_entry {
	uint32_t id;                 // 0 once the object is destroyed before the commit
	uint32_t fields;             // enum pending_field
	union {
		struct tree_props props;  // groups and rects
	} state;
};

struct object_ops {
	const char *name;            // "rect": for error messages
	// The client may destroy it with the destroy request.
	bool destroyable;
	/**
	 * What the destroy request does, when it does not destroy the object at once
	 * (nodes: at the commit). Returns false after posting an error. NULL: at once.
	 */
	bool (*request_destroy)(struct client *client, uint32_t id);
	/**
	 * Takes the object out of everything that refers to it (the scene, the pending
	 * list). Its slot is freed by the caller. Called by the destroy request and by a
	 * parent's destroy. client_destroy frees the slots of every object at once without
	 * calling it, which is right while no type owns anything outside its client's own
	 * memory (true of every type so far; a type that does, such as an image with a
	 * texture, gets a per-object destroy in client_destroy too).
	 */
	void (*destroy)(struct client *client, uint32_t id, void *slot);
	/**
	 * Applies @entry (the object's pending state). Returns false after posting an
	 * error. NULL for a type that has no pending state.
	 */
	bool (*commit)(struct client *client, uint32_t id, void *slot,
		const struct pending_entry *entry);
	// Where in the slot the type keeps its pending index (0, or 1 + its entry's place
	// in client.pending).
	uint16_t pending_offset;
};

extern const struct object_ops group_ops;    // node.c
extern const struct object_ops rect_ops;     // node.c
extern const struct object_ops image_ops;    // node.c
extern const struct object_ops text_ops;     // node.c
extern const struct object_ops shm_pool_ops; // image.c
extern const struct object_ops buffer_ops;   // image.c
extern const struct object_ops doomed_ops;   // node.c
extern const struct object_ops callback_ops; // requests.c
extern const struct object_ops animation_ops; // animation.c

/** The ops of each type, indexed by enum object_type. */
extern const struct object_ops *const object_types[OBJECT_TYPE_COUNT_];

/**
 * Whoever keeps a pointer to an object it does not own (an animation its node, the
 * input seat the focused node, an image its users) registers a listener on it and is
 * told when the object goes, whichever way it goes: its destroy request's commit, the
 * destroy of a group it was in, or the end of its client. The listener is unregistered
 * before @destroyed is called, which may free it and may stop other listeners. It must
 * not listen again, nor destroy or move objects: it runs in the middle of a destroy.
 * Listeners hang on the owning client, so objects nobody listens to pay nothing, in
 * memory or in time (a destroy walks the client's listeners only when it has some).
 */
struct object_listener {
	struct list link;          // in the owning client's listeners
	uint32_t id;               // the object listened to
	void (*destroyed)(struct object_listener *listener);
};

/** Listens to the live object @id of @client. */
void object_listen(struct client *client, uint32_t id, struct object_listener *listener);

/** Stops listening (a listener that was told of the destruction is stopped already). */
void object_unlisten(struct object_listener *listener);

/** Tells every listener of @client's objects, for the end of the client. */
void object_listeners_client_gone(struct client *client);

/**
 * Posts the error of an id field that names no object of its interfaces (@what, the
 * table's name for them): invalid_id when @found (the type there) is free or doomed,
 * wrong_type otherwise. Out of line: requests.c's object_resolve checks every request's
 * object ids against the table before its handler runs, and this keeps its error path
 * out of the dispatch's fast path.
 */
void object_resolve_failed(struct client *client, uint32_t id, uint8_t found,
	const char *what) __attribute__((noinline, cold));

/**
 * Takes the slot of new object @id of @type, within the objects limit and client_bytes;
 * its contents are undefined. NULL after posting an error.
 */
void *object_insert(struct client *client, uint32_t id, enum object_type type);

/**
 * Checks that @id could be a new object (the id rules: free, at most one past the
 * highest used) without making one: a callback answered at once. False after posting
 * an error.
 */
bool object_check_new_id(struct client *client, uint32_t id);

/** Frees the slot of @id at once, without its type's destroy: for a half-made object. */
void object_forget(struct client *client, uint32_t id);

/**
 * Appends a pending entry for object @id, whose pending index is *@index (0: none yet),
 * and sets *@index to it. The caller fills entry->state. NULL after posting an error
 * (client_bytes, no memory).
 */
struct pending_entry *object_pending_add(struct client *client, uint32_t id,
	uint32_t *index, uint32_t fields);

/** Empties the pending entry at @index (1 + its place) of a destroyed object. */
void object_pending_drop(struct client *client, uint32_t index);

/**
 * Applies every pending entry in order (object_ops.commit) and empties the list.
 * Returns false after the first failure (which posted an error).
 */
bool object_commit_all(struct client *client);

/**
 * Destroys object @id of @type (through its ops, then frees its slot), as the destroy
 * request and a parent's destroy do.
 */
void object_destroy(struct client *client, uint32_t id, enum object_type type, void *slot);

#endif
