/*
 * Node handles (groups and rects): a small heap struct per node, named in the display's
 * id table until destroyed. A destroyed node's id stays taken (a zombie entry) until
 * the server's delete_ids says nothing more about it is in flight; a node the server
 * destroyed with its group keeps its id (a gone, then dead entry) until its handle is
 * destroyed. Each handle knows its group, as the server will have it, so that the
 * library knows which nodes a group's destroy takes at the commit and fails calls on
 * them from then on, instead of sending requests the server must refuse.
 */
#include "client-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-protocol.h"

// Puts @node in @parent's children (NULL: the root).
static void link_into(struct ts_node *node, struct ts_node *parent) {
	node->parent = parent;
	node->prev = NULL;
	node->next = NULL;
	if (parent != NULL) {
		node->next = parent->first_child;
		if (parent->first_child != NULL) {
			parent->first_child->prev = node;
		}
		parent->first_child = node;
	}
}

static void unlink_node(struct ts_node *node) {
	if (node->parent != NULL) {
		if (node->prev != NULL) {
			node->prev->next = node->next;
		} else {
			node->parent->first_child = node->next;
		}
		if (node->next != NULL) {
			node->next->prev = node->prev;
		}
	}
	node->parent = node->prev = node->next = NULL;
}

static bool doom(struct ts_node *node) {
	struct ts_display *display = node->display;
	if (display->doomed_len == display->doomed_cap) {
		size_t cap = display->doomed_cap ? display->doomed_cap * 2 : 64;
		uint32_t *ids = realloc(display->doomed, cap * sizeof *ids);
		if (ids == NULL) {
			display_fail(display, ENOMEM, NULL);
			return false;
		}
		display->doomed = ids;
		display->doomed_cap = cap;
	}
	display->doomed[display->doomed_len++] = node->id;
	node->doomed = true;
	return true;
}

// Dooms every node inside @group, without recursion: depth first through the child
// lists, back up through the parents.
static bool doom_subtree(struct ts_node *group) {
	struct ts_node *n = group->first_child;
	while (n != NULL) {
		if (!n->doomed && !doom(n)) {
			return false;
		}
		if (n->first_child != NULL) {
			n = n->first_child;
			continue;
		}
		while (n != group && n->next == NULL) {
			n = n->parent;
		}
		n = n == group ? NULL : n->next;
	}
	return true;
}

void node_commit_doomed(struct ts_display *display) {
	for (size_t i = 0; i < display->doomed_len; i++) {
		struct entry *entry = &display->entries[display->doomed[i]];
		if (entry->kind == ENTRY_NODE && entry->node->doomed) {
			entry->kind = ENTRY_GONE;
		}
	}
	display->doomed_len = 0;
}

enum node_kind { KIND_GROUP, KIND_RECT, KIND_IMAGE, KIND_TEXT };

static struct ts_node *create(struct ts_display *display, struct ts_group *parent,
		enum node_kind kind, size_t size) {
	bool group = kind == KIND_GROUP;
	if (display_check(display) < 0) {
		return NULL;
	}
	if (parent != NULL && (parent->node.display != display || parent->node.id == 0 ||
			display->entries[parent->node.id].kind != ENTRY_NODE)) {
		display_fail(display, EINVAL, "the parent group is not a live group of this display");
		return NULL;
	}
	struct ts_node *node = malloc(size);
	if (node == NULL) {
		display_fail(display, ENOMEM, NULL);
		return NULL;
	}
	uint32_t id = id_new(display, ENTRY_NODE);
	if (id == 0) {
		free(node);
		return NULL;
	}
	*node = (struct ts_node){ .display = display, .id = id, .group = group };
	display->entries[id].node = node;
	link_into(node, parent ? &parent->node : NULL);
	// Made inside a group destroyed in this commit: the server destroys it with it.
	if (parent != NULL && parent->node.doomed && !doom(node)) {
		return NULL;
	}
	uint32_t parent_id = parent ? parent->node.id : 0;
	int rc = kind == KIND_GROUP ? ts__req_group_create(display, id, parent_id)
		: kind == KIND_RECT ? ts__req_rect_create(display, id, parent_id)
		: kind == KIND_IMAGE ? ts__req_image_create(display, id, parent_id)
		: ts__req_text_create(display, id, parent_id);
	if (rc < 0) {
		unlink_node(node);
		id_release(display, id);
		free(node);
		return NULL;
	}
	return node;
}

struct ts_group *ts_group_create(struct ts_display *display, struct ts_group *parent) {
	return (struct ts_group *)create(display, parent, KIND_GROUP, sizeof(struct ts_group));
}

struct ts_rect *ts_rect_create(struct ts_display *display) {
	return (struct ts_rect *)create(display, NULL, KIND_RECT, sizeof(struct ts_rect));
}

struct ts_rect *ts_rect_create_in(struct ts_group *parent) {
	if (parent == NULL) {
		return NULL;
	}
	return (struct ts_rect *)create(parent->node.display, parent, KIND_RECT,
		sizeof(struct ts_rect));
}

struct ts_node *ts_rect_node(struct ts_rect *rect) {
	return rect != NULL ? &rect->node : NULL;
}

struct ts_node *ts_group_node(struct ts_group *group) {
	return group != NULL ? &group->node : NULL;
}

int ts_node_destroy(struct ts_node *node) {
	if (node == NULL) {
		return 0;
	}
	struct ts_display *display = node->display;
	struct entry *entry = &display->entries[node->id];
	int rc = 0;
	if (entry->kind == ENTRY_DEAD) {
		// The server destroyed it already, with its group, and said so.
		id_release(display, node->id);
	} else if (entry->kind == ENTRY_GONE) {
		// The same, and its delete_ids is still to come.
		entry->kind = ENTRY_ZOMBIE;
		entry->node = NULL;
	} else {
		if (node->group && !doom_subtree(node)) {
			rc = -1;
		}
		entry->kind = ENTRY_ZOMBIE;
		entry->node = NULL;
		if (ts__req_destroy(display, node->id) < 0) {
			rc = -1;
		}
	}
	// Its children forget it: they are doomed, or gone, with it.
	for (struct ts_node *c = node->first_child; c != NULL;) {
		struct ts_node *next = c->next;
		c->parent = c->prev = c->next = NULL;
		c = next;
	}
	unlink_node(node);
	free(node);
	return rc;
}

int ts_rect_destroy(struct ts_rect *rect) {
	return ts_node_destroy(ts_rect_node(rect));
}

int ts_group_destroy(struct ts_group *group) {
	return ts_node_destroy(ts_group_node(group));
}

uint32_t ts_node_get_id(const struct ts_node *node) {
	return node != NULL ? node->id : 0;
}

uint32_t ts_rect_get_id(const struct ts_rect *rect) {
	return rect != NULL ? rect->node.id : 0;
}

// A dead node (destroyed by the server with its group) fails with EINVAL, without
// failing the display; so does a call naming one as parent or sibling.
static bool live(const struct ts_node *node) {
	if (node->display->entries[node->id].kind != ENTRY_NODE) {
		errno = EINVAL;
		return false;
	}
	return true;
}

static bool live_or_none(const struct ts_node *node) {
	return node == NULL || live(node);
}

// Where a move leaves @node, as the server will apply it: into @parent, unless the
// node or @parent is to go with a destroyed group (the server then leaves it).
static void moved(struct ts_node *node, struct ts_node *parent) {
	if (!node->doomed && (parent == NULL || !parent->doomed)) {
		unlink_node(node);
		link_into(node, parent);
	}
}

#define FX(v) ts_fixed_from_double(v)

int ts_node_set_position(struct ts_node *node, double x, double y) {
	return live(node) ? ts__req_node_set_position(node->display, node->id, FX(x), FX(y)) : -1;
}

int ts_node_set_size(struct ts_node *node, double width, double height) {
	return live(node) ? ts__req_node_set_size(node->display, node->id, FX(width), FX(height)) : -1;
}

int ts_node_set_anchor(struct ts_node *node, double x, double y) {
	return live(node) ? ts__req_node_set_anchor(node->display, node->id, FX(x), FX(y)) : -1;
}

int ts_node_set_scale(struct ts_node *node, double x, double y) {
	return live(node) ? ts__req_node_set_scale(node->display, node->id, FX(x), FX(y)) : -1;
}

int ts_node_set_rotation(struct ts_node *node, double degrees) {
	return live(node) ? ts__req_node_set_rotation(node->display, node->id, FX(degrees)) : -1;
}

int ts_node_set_opacity(struct ts_node *node, double opacity) {
	return live(node) ? ts__req_node_set_opacity(node->display, node->id, FX(opacity)) : -1;
}

int ts_node_set_visible(struct ts_node *node, bool visible) {
	return live(node) ? ts__req_node_set_visible(node->display, node->id, visible) : -1;
}

int ts_node_set_parent(struct ts_node *node, struct ts_group *parent) {
	struct ts_node *p = parent ? &parent->node : NULL;
	if (!live(node) || !live_or_none(p)) {
		return -1;
	}
	if (ts__req_node_set_parent(node->display, node->id, p ? p->id : 0) < 0) {
		return -1;
	}
	moved(node, p);
	return 0;
}

// A restack beside @sibling moves the node into the sibling's group.
static int place(struct ts_node *node, struct ts_node *sibling, bool above) {
	if (!live(node) || !live_or_none(sibling)) {
		return -1;
	}
	uint32_t to = sibling ? sibling->id : 0;
	int rc = above ? ts__req_node_place_above(node->display, node->id, to)
		: ts__req_node_place_below(node->display, node->id, to);
	if (rc == 0 && sibling != NULL) {
		if (sibling->doomed) {
			return 0; // the server finds it gone and leaves the node where it is
		}
		moved(node, sibling->parent);
	}
	return rc;
}

int ts_node_place_above(struct ts_node *node, struct ts_node *sibling) {
	return place(node, sibling, true);
}

int ts_node_place_below(struct ts_node *node, struct ts_node *sibling) {
	return place(node, sibling, false);
}

int ts_group_set_clip(struct ts_group *group, bool clip) {
	return live(&group->node) ? ts__req_group_set_clip(group->node.display, group->node.id,
		clip) : -1;
}

int ts_group_set_isolate(struct ts_group *group, bool isolate) {
	return live(&group->node) ? ts__req_group_set_isolate(group->node.display,
		group->node.id, isolate) : -1;
}

int ts_rect_set_color(struct ts_rect *rect, uint32_t rgba) {
	return live(&rect->node) ? ts__req_rect_set_color(rect->node.display, rect->node.id,
		rgba) : -1;
}

int ts_rect_set_radius(struct ts_rect *rect, double radius) {
	return live(&rect->node) ? ts__req_rect_set_radius(rect->node.display, rect->node.id,
		FX(radius)) : -1;
}

int ts_rect_set_border(struct ts_rect *rect, double width, uint32_t rgba) {
	return live(&rect->node) ? ts__req_rect_set_border(rect->node.display, rect->node.id,
		FX(width), rgba) : -1;
}

int ts_rect_set_position(struct ts_rect *rect, int32_t x, int32_t y) {
	return ts_node_set_position(&rect->node, x, y);
}

int ts_rect_set_size(struct ts_rect *rect, uint32_t width, uint32_t height) {
	return ts_node_set_size(&rect->node, width, height);
}

int ts_rect_set_visible(struct ts_rect *rect, bool visible) {
	return ts_node_set_visible(&rect->node, visible);
}

int ts_display_set_layer(struct ts_display *display, enum ts_layer layer) {
	return display_check(display) < 0 ? -1 : ts__req_set_layer(display, (uint32_t)layer);
}

int ts_display_raise(struct ts_display *display) {
	return display_check(display) < 0 ? -1 : ts__req_raise(display);
}

struct ts_image_node *ts_image_node_create(struct ts_display *display,
		struct ts_group *parent) {
	if (parent != NULL && parent->node.display != display) {
		display_fail(display, EINVAL, "the parent group is not of this display");
		return NULL;
	}
	return (struct ts_image_node *)create(display, parent, KIND_IMAGE,
		sizeof(struct ts_image_node));
}

struct ts_node *ts_image_node_node(struct ts_image_node *image) {
	return image != NULL ? &image->node : NULL;
}

int ts_image_node_destroy(struct ts_image_node *image) {
	return ts_node_destroy(ts_image_node_node(image));
}

int ts_image_node_set_buffer(struct ts_image_node *image, struct ts_buffer *buffer) {
	if (!live(&image->node)) {
		return -1;
	}
	uint32_t id = 0;
	if (buffer != NULL) {
		id = buffer_id(buffer);
		if (id == 0) {
			errno = EINVAL;
			return -1;
		}
	}
	return ts__req_image_set_buffer(image->node.display, image->node.id, id);
}

int ts_image_node_set_source(struct ts_image_node *image, double x, double y,
		double width, double height) {
	return live(&image->node) ? ts__req_image_set_source(image->node.display,
		image->node.id, FX(x), FX(y), FX(width), FX(height)) : -1;
}

/* Text nodes. */

// UTF-8 bytes per text_set_string or text_append message: what fits in one.
#define TEXT_PER_MESSAGE (TS_MAX_MESSAGE - TS_HEADER_SIZE - 8)

struct ts_text *ts_text_create(struct ts_display *display, struct ts_group *parent) {
	if (parent != NULL && parent->node.display != display) {
		display_fail(display, EINVAL, "the parent group is not of this display");
		return NULL;
	}
	return (struct ts_text *)create(display, parent, KIND_TEXT, sizeof(struct ts_text));
}

struct ts_node *ts_text_node(struct ts_text *text) {
	return text != NULL ? &text->node : NULL;
}

int ts_text_destroy(struct ts_text *text) {
	return ts_node_destroy(ts_text_node(text));
}

int ts_text_set_string(struct ts_text *text, const char *utf8, size_t len) {
	if (!live(&text->node) || (utf8 == NULL && len > 0)) {
		errno = EINVAL;
		return -1;
	}
	struct ts_display *display = text->node.display;
	size_t first = len < TEXT_PER_MESSAGE ? len : TEXT_PER_MESSAGE;
	if (ts__req_text_set_string(display, text->node.id, utf8, (uint32_t)first) < 0) {
		return -1;
	}
	for (size_t at = first; at < len; at += TEXT_PER_MESSAGE) {
		size_t n = len - at < TEXT_PER_MESSAGE ? len - at : TEXT_PER_MESSAGE;
		if (ts__req_text_append(display, text->node.id, utf8 + at, (uint32_t)n) < 0) {
			return -1;
		}
	}
	return 0;
}

int ts_text_set_font(struct ts_text *text, const char *family, double size, unsigned weight,
		bool italic) {
	return live(&text->node) ? ts__req_text_set_font(text->node.display, text->node.id,
		family != NULL ? family : "", FX(size), weight, italic ? 1 : 0) : -1;
}

int ts_text_set_color(struct ts_text *text, uint32_t rgba) {
	return live(&text->node) ? ts__req_text_set_color(text->node.display, text->node.id,
		rgba) : -1;
}

int ts_text_set_layout(struct ts_text *text, double wrap_width, enum ts_align align,
		double line_height, uint32_t max_lines) {
	return live(&text->node) ? ts__req_text_set_layout(text->node.display, text->node.id,
		FX(wrap_width), (uint32_t)align, FX(line_height), max_lines) : -1;
}

int ts_text_measure(struct ts_text *text, struct ts_text_metrics *metrics) {
	*metrics = (struct ts_text_metrics){ 0 };
	if (!live(&text->node)) {
		return -1;
	}
	struct ts_display *display = text->node.display;
	struct metrics_query query = { .metrics = metrics };
	uint32_t id = id_new(display, ENTRY_METRICS);
	if (id == 0) {
		return -1;
	}
	display->entries[id].metrics = &query;
	if (ts__req_text_measure(display, id, text->node.id) < 0) {
		id_release(display, id);
		return -1;
	}
	if (display_wait(display, &query.done) < 0) {
		ts_text_metrics_finish(metrics);
		return -1;
	}
	return 0;
}

void ts_text_metrics_finish(struct ts_text_metrics *metrics) {
	if (metrics != NULL) {
		free(metrics->extents);
		*metrics = (struct ts_text_metrics){ 0 };
	}
}

int ts__handle_text_metrics(struct ts_display *display, const union ts_arg *args) {
	struct entry *entry = id_lookup(display, args[0].u, ENTRY_METRICS);
	if (entry == NULL) {
		return display_fail(display, EPROTO, "the server sent text_metrics for #%u, "
			"which is not a measurement", args[0].u);
	}
	struct metrics_query *query = entry->metrics;
	struct ts_text_metrics *m = query->metrics;
	id_release(display, args[0].u);
	query->done = true;
	m->width = ts_fixed_to_double(args[1].f);
	m->height = ts_fixed_to_double(args[2].f);
	m->baseline = ts_fixed_to_double(args[3].f);
	m->lines = args[4].u;
	size_t n = args[5].a.size / 16;
	if (n > 0) {
		m->extents = calloc(n, sizeof *m->extents);
		if (m->extents == NULL) {
			return display_fail(display, ENOMEM, NULL);
		}
		const uint8_t *p = args[5].a.data;
		for (size_t i = 0; i < n; i++) {
			int32_t v[4];
			memcpy(v, p + 16 * i, sizeof v);
			m->extents[i] = (struct ts_line_extent){ ts_fixed_to_double(v[0]),
				ts_fixed_to_double(v[1]), ts_fixed_to_double(v[2]), ts_fixed_to_double(v[3]) };
		}
		m->extent_count = n;
	}
	return 0;
}
