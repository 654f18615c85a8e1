/*
 * The node interfaces (group, rect, node_*): request handlers, object types, and the
 * commit of structure changes. See node.c.
 */
#ifndef TESSERA_NODE_H
#define TESSERA_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "object.h"
#include "tessera-protocol.h"
#include "tree.h"
#include "wire.h"

struct client;

enum structure_op_kind {
	STRUCTURE_ATTACH = 1,  // a new node joins its parent (target; 0: the root), on top
	STRUCTURE_PARENT,      // moves to the top of target's children (0: the root)
	STRUCTURE_ABOVE,       // right above target (0: on top of its siblings)
	STRUCTURE_BELOW,       // right below target (0: at the bottom)
	STRUCTURE_DESTROY,     // goes, with its subtree
};

struct structure_op {
	uint32_t id, target;
	uint8_t kind;          // enum structure_op_kind
};

/** A client's changes of structure since its last commit, in order. */
struct structure_log {
	struct structure_op *ops;
	uint32_t len, cap;
};

/**
 * The destroy request on a node: it is gone for the client at once and from the screen,
 * with its subtree, at the next commit. Returns false after posting an error.
 */
bool node_request_destroy(struct client *client, uint32_t id);

/**
 * Applies the structure log (after the pending properties) and empties it. Returns
 * false after posting an error (a cycle, the depth limit, a sibling elsewhere).
 */
bool node_commit_structure(struct client *client);

struct tree_node;
struct tree_props;

/**
 * Makes node @id of @type (a @kind in the scene) that joins @parent (0: the root) at
 * the next commit. Posts an error on failure.
 */
void node_create(struct client *client, uint32_t id, uint32_t parent, enum object_type type,
	enum tree_kind kind);

/** The pending properties of node @id (@node_slot), with @field marked; NULL after posting. */
struct tree_props *node_pending_props(struct client *client, uint32_t id, void *node_slot,
	uint32_t field);

/** Marks @field of node @id pending (the next commit applies it). False after posting. */
bool node_mark_pending(struct client *client, uint32_t id, struct tree_node *node,
	uint32_t field);

#define NODE_HANDLER(name) void handle_##name(struct client *client, const union ts_arg *args, \
	void *const *objs);
NODE_HANDLER(group_create)
NODE_HANDLER(group_set_clip)
NODE_HANDLER(group_set_isolate)
NODE_HANDLER(rect_create)
NODE_HANDLER(rect_set_color)
NODE_HANDLER(rect_set_radius)
NODE_HANDLER(rect_set_border)
NODE_HANDLER(image_create)
NODE_HANDLER(image_set_buffer)
NODE_HANDLER(image_set_source)
NODE_HANDLER(node_set_position)
NODE_HANDLER(node_set_size)
NODE_HANDLER(node_set_anchor)
NODE_HANDLER(node_set_rotation)
NODE_HANDLER(node_set_scale)
NODE_HANDLER(node_set_opacity)
NODE_HANDLER(node_set_visible)
NODE_HANDLER(node_set_parent)
NODE_HANDLER(node_place_above)
NODE_HANDLER(node_place_below)
#undef NODE_HANDLER

#endif
