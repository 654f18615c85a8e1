/*
 * The node interfaces: group, rect, and the node_* requests both take. Their object
 * types, their requests, and how a commit applies them to the scene tree.
 *
 * Property changes go into the node's pending entry (object.h) as a whole
 * tree_props value; changes of structure (a new node joining its parent, reparenting,
 * restacking, destruction) go into the client's structure log in the order they came.
 * A commit applies the entries, then the log, then the frame shows all of it at once.
 * Destroying a node is applied at commit too, with its whole subtree: until then it is
 * drawn as it was and its id cannot be used or reused (delete_ids comes at the commit).
 */
#include "node.h"
#include "animation.h"

#include <assert.h>
#include <stdlib.h>

#include "client.h"
#include "image.h"
#include "text.h"
#include "server.h"

// Below what 16.16 can carry, so that a saturated value is refused.
#define MAX_NODE_SIZE ((float)TS_MAX_NODE_SIZE)
#define FIXED_ONE 65536.0f

static float fixed(int32_t v) {
	return (float)v / FIXED_ONE;
}

// Appends a change of structure to the log, within client_bytes.
static bool log_op(struct client *client, enum structure_op_kind kind, uint32_t id,
		uint32_t target) {
	struct structure_log *log = &client->structure;
	if (log->len == log->cap) {
		uint32_t cap = log->cap ? log->cap * 2 : 16;
		if (!client_charge(client, (size_t)(cap - log->cap) * sizeof *log->ops)) {
			return false;
		}
		struct structure_op *ops = realloc(log->ops, (size_t)cap * sizeof *ops);
		if (ops == NULL) {
			client_post_error(client, id, TS_ERR_no_memory, "out of memory");
			return false;
		}
		log->ops = ops;
		log->cap = cap;
	}
	log->ops[log->len++] = (struct structure_op){ .kind = (uint8_t)kind, .id = id,
		.target = target };
	return true;
}

void node_create(struct client *client, uint32_t id, uint32_t parent,
		enum object_type type, enum tree_kind kind) {
	struct server *server = client->server;
	uint32_t max = server->options.limits.nodes;
	if (client->node_count >= max) {
		client_post_error(client, id, TS_ERR_limit_exceeded,
			"limit nodes=%u exceeded: the client holds that many already", max);
		return;
	}
	struct tree_root *root = client_root(client);
	if (root == NULL) {
		return;
	}
	struct tree_node *node = object_insert(client, id, type);
	if (node == NULL) {
		return;
	}
	if (!tree_node_init(root, node, kind)) {
		object_forget(client, id);
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return;
	}
	node->user = 0;
	if (kind == TREE_TEXT && !text_node_created(client, id, node)) {
		tree_node_finish(root, node);
		object_forget(client, id);
		return;
	}
	client->node_count++;
	// It joins its parent, on top, at the next commit.
	if (!log_op(client, STRUCTURE_ATTACH, id, parent)) {
		return;
	}
}

void handle_group_create(struct client *client, const union ts_arg *args,
		void *const *objs) {
	node_create(client, args[0].u, args[1].u, OBJECT_GROUP, TREE_GROUP);
}

void handle_rect_create(struct client *client, const union ts_arg *args,
		void *const *objs) {
	node_create(client, args[0].u, args[1].u, OBJECT_RECT, TREE_RECT);
}

void handle_image_create(struct client *client, const union ts_arg *args,
		void *const *objs) {
	node_create(client, args[0].u, args[1].u, OBJECT_IMAGE, TREE_IMAGE);
}

// The first change since the last commit: a pending entry starting from the node's
// committed properties.
static struct tree_props * __attribute__((noinline)) new_pending(struct client *client,
		uint32_t id, struct tree_node *node, uint32_t field) {
	struct pending_entry *e = object_pending_add(client, id, &node->user, field);
	if (e == NULL) {
		return NULL;
	}
	tree_node_props(&client->root, node, &e->state.props);
	return &e->state.props;
}

// Where a set_* request writes @field of @node (@id; its type was checked against the
// table by object_resolve). NULL after posting an error.
static inline struct tree_props *pending_props(struct client *client, uint32_t id,
		void *node_slot, uint32_t field) {
	struct tree_node *node = node_slot;
	if (node->user != 0) {
		struct pending_entry *e = &client->pending[node->user - 1];
		e->fields |= field;
		return &e->state.props;
	}
	return new_pending(client, id, node, field);
}

struct tree_props *node_pending_props(struct client *client, uint32_t id, void *node_slot,
		uint32_t field) {
	return pending_props(client, id, node_slot, field);
}

bool node_mark_pending(struct client *client, uint32_t id, struct tree_node *node,
		uint32_t field) {
	return pending_props(client, id, node, field) != NULL;
}

static bool check_size(struct client *client, uint32_t id, float w, float h) {
	if (!(w >= 0 && w <= MAX_NODE_SIZE && h >= 0 && h <= MAX_NODE_SIZE)) {
		client_post_error(client, id, TS_ERR_invalid_value,
			"size %gx%g is not within 0 to %g", (double)w, (double)h, (double)MAX_NODE_SIZE);
		return false;
	}
	return true;
}

static bool check_flag(struct client *client, uint32_t id, const char *what, uint32_t v) {
	if (v > 1) {
		client_post_error(client, id, TS_ERR_invalid_value, "%s must be 0 or 1, not %u",
			what, v);
		return false;
	}
	return true;
}

static void set_flag(struct tree_props *p, uint8_t flag, bool on) {
	p->flags = (uint8_t)(on ? p->flags | flag : p->flags & ~flag);
}

void handle_node_set_position(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_POSITION);
	if (p != NULL) {
		p->x = fixed(args[1].f);
		p->y = fixed(args[2].f);
	}
}

void handle_node_set_size(struct client *client, const union ts_arg *args,
		void *const *objs) {
	float w = fixed(args[1].f), h = fixed(args[2].f);
	if (!check_size(client, args[0].u, w, h)) {
		return;
	}
	if (((struct tree_node *)objs[0])->kind == TREE_TEXT) {
		return; // a text's size is its layout's (PROTOCOL.md): set at each layout
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_SIZE);
	if (p != NULL) {
		p->width = w;
		p->height = h;
	}
}

void handle_node_set_anchor(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_ANCHOR);
	if (p != NULL) {
		p->anchor_x = fixed(args[1].f);
		p->anchor_y = fixed(args[2].f);
	}
}

void handle_node_set_rotation(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_ROTATION);
	if (p != NULL) {
		p->rotation = fixed(args[1].f);
	}
}

void handle_node_set_scale(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_SCALE);
	if (p != NULL) {
		p->scale_x = fixed(args[1].f);
		p->scale_y = fixed(args[2].f);
	}
}

void handle_node_set_opacity(struct client *client, const union ts_arg *args,
		void *const *objs) {
	float opacity = fixed(args[1].f);
	if (!(opacity >= 0 && opacity <= 1)) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"opacity %g is not within 0 to 1", (double)opacity);
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_OPACITY);
	if (p != NULL) {
		p->opacity = opacity;
	}
}

void handle_node_set_visible(struct client *client, const union ts_arg *args,
		void *const *objs) {
	if (!check_flag(client, args[0].u, "visible", args[1].u)) {
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_VISIBLE);
	if (p != NULL) {
		set_flag(p, TREE_VISIBLE, args[1].u != 0);
	}
}

void handle_group_set_clip(struct client *client, const union ts_arg *args,
		void *const *objs) {
	if (!check_flag(client, args[0].u, "clip", args[1].u)) {
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_CLIP);
	if (p != NULL) {
		set_flag(p, TREE_CLIP, args[1].u != 0);
	}
}

void handle_group_set_isolate(struct client *client, const union ts_arg *args,
		void *const *objs) {
	if (!check_flag(client, args[0].u, "isolate", args[1].u)) {
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_ISOLATE);
	if (p != NULL) {
		set_flag(p, TREE_ISOLATE, args[1].u != 0);
	}
}

void handle_rect_set_color(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_COLOR);
	if (p != NULL) {
		p->rgba = args[1].u;
	}
}

void handle_rect_set_radius(struct client *client, const union ts_arg *args,
		void *const *objs) {
	float radius = fixed(args[1].f);
	if (!(radius >= 0 && radius <= MAX_NODE_SIZE)) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"corner radius %g is not within 0 to %g", (double)radius, (double)MAX_NODE_SIZE);
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_RADIUS);
	if (p != NULL) {
		p->radius = radius;
	}
}

void handle_rect_set_border(struct client *client, const union ts_arg *args,
		void *const *objs) {
	float width = fixed(args[1].f);
	if (!(width >= 0 && width <= MAX_NODE_SIZE)) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"border width %g is not within 0 to %g", (double)width, (double)MAX_NODE_SIZE);
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_BORDER);
	if (p != NULL) {
		p->border = width;
		p->border_rgba = args[2].u;
	}
}

// The ids of node_set_parent and node_place_* are checked by object_resolve; where
// they lead (a cycle, a sibling elsewhere) is checked at the commit.
void handle_image_set_buffer(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_IMAGE);
	if (p != NULL) {
		const struct buffer_slot *buffer = objs[1];
		p->texture = buffer != NULL ? &buffer->content->texture : NULL;
	}
}

void handle_image_set_source(struct client *client, const union ts_arg *args,
		void *const *objs) {
	float x = fixed(args[1].f), y = fixed(args[2].f);
	float w = fixed(args[3].f), h = fixed(args[4].f);
	if (!(x >= 0 && x <= MAX_NODE_SIZE && y >= 0 && y <= MAX_NODE_SIZE)) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value, "image %u: source at "
			"(%g, %g): x and y must be 0 to %g", args[0].u, (double)x, (double)y,
			(double)MAX_NODE_SIZE);
		return;
	}
	if (!check_size(client, args[0].u, w, h)) {
		return;
	}
	struct tree_props *p = pending_props(client, args[0].u, objs[0], PENDING_IMAGE);
	if (p != NULL) {
		p->src_x = x;
		p->src_y = y;
		p->src_w = w;
		p->src_h = h;
	}
}

void handle_node_set_parent(struct client *client, const union ts_arg *args,
		void *const *objs) {
	log_op(client, STRUCTURE_PARENT, args[0].u, args[1].u);
}

void handle_node_place_above(struct client *client, const union ts_arg *args,
		void *const *objs) {
	log_op(client, STRUCTURE_ABOVE, args[0].u, args[1].u);
}

void handle_node_place_below(struct client *client, const union ts_arg *args,
		void *const *objs) {
	log_op(client, STRUCTURE_BELOW, args[0].u, args[1].u);
}

bool node_request_destroy(struct client *client, uint32_t id) {
	// Gone for the client at once (no request may name it again); gone from the
	// screen, with its subtree, at the commit.
	if (!log_op(client, STRUCTURE_DESTROY, id, 0)) {
		return false;
	}
	objmap_set_type(&client->objects, id, OBJECT_DOOMED);
	return true;
}

// Destroys the detached subtree of @top, every node through its type's destroy, and
// tells the client each id is free.
static void destroy_subtree(struct client *client, struct tree_node *top) {
	struct tree_root *root = &client->root;
	tree_node_detach(&client->server->tree, root, top);
	struct tree_node *next;
	for (struct tree_node *n = tree_subtree_first(root, top); n != NULL; n = next) {
		next = tree_subtree_next(root, top, n);
		uint32_t id = objmap_id_of(&client->objects, n);
		uint8_t type;
		objmap_lookup(&client->objects, id, &type);
		object_destroy(client, id, type, n);
		client_free_id(client, id);
	}
}

static const char *attach_error(enum tree_attach_error rc) {
	switch (rc) {
	case TREE_ATTACH_NOT_GROUP:
		return "the parent is not a group";
	case TREE_ATTACH_CYCLE:
		return "the parent is the node itself or inside it";
	case TREE_ATTACH_SIBLING:
		return "the sibling is not a child of the node's parent";
	default:
		return "";
	}
}

// Applies one change of structure. Returns false after posting an error.
static bool apply_op(struct client *client, const struct structure_op *op) {
	struct tree *tree = &client->server->tree;
	struct tree_root *root = &client->root;
	uint8_t type;
	struct tree_node *node = objmap_lookup(&client->objects, op->id, &type);
	if (node == NULL) {
		// Destroyed earlier in this commit with an ancestor: nothing left to move.
		return true;
	}
	if (op->kind == STRUCTURE_DESTROY) {
		destroy_subtree(client, node);
		return true;
	}
	struct tree_node *parent = node->parent, *sibling = NULL;
	bool above = true;
	uint8_t target_type = OBJMAP_FREE;
	struct tree_node *target = op->target != 0
		? objmap_lookup(&client->objects, op->target, &target_type) : NULL;
	if (op->target != 0 && target == NULL) {
		// Destroyed earlier in this commit. A new node made in it goes with it, as it
		// would have had it joined first (its id comes back in delete_ids); a node
		// moved into it or beside it stays where it is.
		if (op->kind == STRUCTURE_ATTACH) {
			destroy_subtree(client, node);
		}
		return true;
	}
	switch (op->kind) {
	case STRUCTURE_ATTACH:
	case STRUCTURE_PARENT:
		parent = target != NULL ? target : &root->node;
		break;
	case STRUCTURE_ABOVE:
	case STRUCTURE_BELOW:
		above = op->kind == STRUCTURE_ABOVE;
		sibling = target;
		if (sibling != NULL) {
			parent = sibling->parent;
		}
		if (parent == NULL) {
			client_post_error(client, op->id, TS_ERR_invalid_value,
				"node %u cannot be restacked: %s is not in the tree", op->id,
				sibling != NULL ? "its sibling" : "it");
			return false;
		}
		break;
	}
	enum tree_attach_error rc = tree_node_attach(tree, root, node, parent, sibling, above);
	if (rc == TREE_ATTACH_DEPTH) {
		client_post_error(client, op->id, TS_ERR_limit_exceeded,
			"limit depth=%u exceeded by node %u", tree->max_depth, op->id);
		return false;
	}
	if (rc != TREE_ATTACH_OK) {
		client_post_error(client, op->id, TS_ERR_invalid_value, "node %u: %s", op->id,
			attach_error(rc));
		return false;
	}
	return true;
}

// A move between depths walks the moved subtree. One commit may walk at most this
// many times what the client holds and changes: an honest commit walks each node about
// twice, and a client that moves a big subtree back and forth a million times in one
// commit (which the requests budget cannot see: it is one request) is stopped before
// it stalls the server.
#define COMMIT_WALK_FACTOR 8

bool node_commit_structure(struct client *client) {
	struct structure_log *log = &client->structure;
	struct tree *tree = &client->server->tree;
	uint64_t budget = COMMIT_WALK_FACTOR * ((uint64_t)client->node_count + log->len);
	uint64_t start = tree->walked;
	for (uint32_t i = 0; i < log->len; i++) {
		if (!apply_op(client, &log->ops[i])) {
			return false;
		}
		if (tree->walked - start > budget) {
			client_post_error(client, log->ops[i].id, TS_ERR_limit_exceeded,
				"one commit moved subtrees of %llu nodes between depths: at most %d x "
				"the nodes and changes of the client", (unsigned long long)(tree->walked -
				start), COMMIT_WALK_FACTOR);
			return false;
		}
	}
	log->len = 0;
	if (log->cap > 1024) {
		free(log->ops);
		heap_give_back((size_t)log->cap * sizeof *log->ops);
		log->ops = NULL;
		log->cap = 0;
	}
	return true;
}

// What an image node shows now; NULL for any other node.
static const struct tree_texture *shown(const struct client *client,
		const struct tree_node *node) {
	return node->kind == TREE_IMAGE
		? tree_node_extra(&client->root, node)->u.image.texture : NULL;
}

static bool node_commit(struct client *client, uint32_t id, void *slot,
		const struct pending_entry *entry) {
	const struct tree_texture *before = shown(client, slot);
	if (((struct tree_node *)slot)->kind == TREE_TEXT) {
		text_node_commit(client, slot);
		if (client->dying) {
			return false;
		}
	}
	const struct tree_props *props = &entry->state.props;
	struct tree_props animated;
	if (((struct tree_node *)slot)->flags & TREE_ANIMATED) {
		// Sets of animated properties cancel their animations; the rest of the
		// animated values stay as they are on screen (animation.h).
		animated = *props;
		animation_node_commit(client, slot, entry->fields, &animated);
		props = &animated;
	}
	if (!tree_node_set_props(&client->server->tree, &client->root, slot, props)) {
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return false;
	}
	image_users_change(before, shown(client, slot));
	return true;
}

static void node_destroy(struct client *client, uint32_t id, void *slot) {
	image_users_change(shown(client, slot), NULL);
	if (((struct tree_node *)slot)->kind == TREE_TEXT) {
		text_node_destroyed(client, slot);
	}
	tree_node_finish(&client->root, slot);
	client->node_count--;
}

const struct object_ops group_ops = {
	.name = "group",
	.destroyable = true,
	.request_destroy = node_request_destroy,
	.destroy = node_destroy,
	.commit = node_commit,
	.pending_offset = offsetof(struct tree_node, user),
};

const struct object_ops rect_ops = {
	.name = "rect",
	.destroyable = true,
	.request_destroy = node_request_destroy,
	.destroy = node_destroy,
	.commit = node_commit,
	.pending_offset = offsetof(struct tree_node, user),
};

const struct object_ops image_ops = {
	.name = "image",
	.destroyable = true,
	.request_destroy = node_request_destroy,
	.destroy = node_destroy,
	.commit = node_commit,
	.pending_offset = offsetof(struct tree_node, user),
};

const struct object_ops text_ops = {
	.name = "text",
	.destroyable = true,
	.request_destroy = node_request_destroy,
	.destroy = node_destroy,
	.commit = node_commit,
	.pending_offset = offsetof(struct tree_node, user),
};

const struct object_ops doomed_ops = {
	.name = "destroyed node",
	.destroy = node_destroy,
	.commit = node_commit,
	.pending_offset = offsetof(struct tree_node, user),
};
