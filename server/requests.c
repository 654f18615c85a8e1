/*
 * Request handlers, one per request in the protocol table, and the dispatch that
 * decodes a client's bytes and calls them.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "client.h"
#include "image.h"
#include "log.h"
#include "animation.h"
#include "node.h"
#include "server.h"
#include "text.h"


typedef void (*request_func)(struct client *client, const union ts_arg *args,
	void *const *objs);

// The core interface's handlers are here; the node interfaces' in node.c (node.h).
#define TS_X_(op, name, sig, fields) \
	void handle_##name(struct client *client, const union ts_arg *args, void *const *objs);
TS_REQUESTS(TS_X_)
#undef TS_X_

static const request_func handlers[TS_REQ_COUNT_] = {
#define TS_X_(op, name, sig, fields) [op] = handle_##name,
	TS_REQUESTS(TS_X_)
#undef TS_X_
};

// The existing-object fields ('o') of each request, from the table: what
// object_resolve checks. Made once, before main.
struct object_field {
	uint32_t types;      // the object types it accepts: bit t for type t (see object.h)
	uint8_t index;       // of the field in the message
	bool nullable;
};

// Most requests name one object, first (node_set_*, rect_set_*, destroy): that field's
// types are kept apart, so that checking it costs the lookup and one test. The rest
// (parents, siblings) go through the list.
static struct {
	uint32_t first_types; // field 0's accepted types when it is a non-nullable 'o'; else 0
	struct object_field fields[TS_MAX_ARGS];
	uint8_t count;
} object_fields[TS_REQ_COUNT_];

static void __attribute__((constructor)) object_fields_init(void) {
	for (uint16_t op = 0; op < TS_REQ_COUNT_; op++) {
		const struct ts_message_desc *desc = &ts_requests[op];
		for (uint8_t k = 0; desc->signature[k]; k++) {
			if (desc->signature[k] == 'o') {
				// Live types are interfaces one up; free (0) and doomed are never in.
				uint32_t types = (desc->args[k].interfaces << 1) & ~(1u << OBJECT_DOOMED);
				types &= ~1u;
				if (k == 0 && !desc->args[k].nullable) {
					object_fields[op].first_types = types;
					continue;
				}
				object_fields[op].fields[object_fields[op].count++] = (struct object_field){
					.types = types, .index = k, .nullable = desc->args[k].nullable,
				};
			}
		}
	}
}

// Checks every existing-object field of request @opcode against the table: the id
// names a live object of an interface the field accepts, or is 0 where the field is
// nullable. Sets @objs[k] to the slot of field k (NULL for 0). False after posting
// invalid_id or wrong_type.
static inline bool object_resolve(struct client *client, uint16_t opcode,
		const union ts_arg *args, void **objs) {
	uint32_t first = object_fields[opcode].first_types;
	if (first != 0) {
		uint8_t found;
		void *slot = objmap_lookup(&client->objects, args[0].u, &found);
		if (__builtin_expect(!((first >> found) & 1), 0)) {
			object_resolve_failed(client, args[0].u, found,
				ts_requests[opcode].args[0].interface);
			return false;
		}
		objs[0] = slot;
	}
	for (unsigned i = 0; i < object_fields[opcode].count; i++) {
		const struct object_field *f = &object_fields[opcode].fields[i];
		uint32_t id = args[f->index].u;
		if (id == 0 && f->nullable) {
			objs[f->index] = NULL;
			continue;
		}
		uint8_t found;
		void *slot = objmap_lookup(&client->objects, id, &found);
		if (__builtin_expect(!((f->types >> found) & 1), 0)) {
			object_resolve_failed(client, id, found,
				ts_requests[opcode].args[f->index].interface);
			return false;
		}
		objs[f->index] = slot;
	}
	return true;
}

// Closes the fds a decoded message carried, for a message that is not handled.
static void close_fd_args(uint16_t opcode, const union ts_arg *args) {
	const char *sig = ts_requests[opcode].signature;
	for (unsigned i = 0; sig[i]; i++) {
		if (sig[i] == 'h') {
			close(args[i].h);
		}
	}
}

void client_dispatch(struct client *client) {
	struct server *server = client->server;
	uint32_t budget = server->options.limits.requests;
	bool slice_over = false;
	while (!client->dying && !client->held) {
		if (budget == 0) {
			slice_over = true;
			break;
		}
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		const char *why = "";
		int rc = ts_connection_next(&client->conn, &ts_request_interface, &hdr, args, &why);
		if (rc == 0) {
			break;
		}
		if (rc < 0) {
			client_post_error(client, 0, (uint32_t)-rc, "%s", why);
			break;
		}
		if (server->options.trace) {
			char text[1200];
			ts_format(text, sizeof text, &ts_request_interface, hdr.opcode, args);
			fprintf(stderr, "[tessera] client %u -> %s\n", client->id, text);
		}
		if (!client->welcomed && hdr.opcode != TS_REQ_hello) {
			client_post_error(client, 0, TS_ERR_not_ready, "the first request must be hello");
			close_fd_args(hdr.opcode, args);
		} else {
			void *objs[TS_MAX_ARGS];
			if (object_resolve(client, hdr.opcode, args, objs)) {
				// The handler owns the message's fds from here.
				handlers[hdr.opcode](client, args, objs);
			} else {
				close_fd_args(hdr.opcode, args);
			}
		}
		ts_connection_consume(&client->conn, hdr.size);
		if (client->nfreed > 0) {
			client_send_freed(client);
		}
		budget--;
		if (hdr.opcode == TS_REQ_screenshot) {
			// It reads back a whole frame: a slice on its own.
			budget = 0;
		} else if (hdr.opcode == TS_REQ_info_query) {
			// It answers with an event per client and per limit, and costs a request
			// for each: a slice's work stays bounded whatever the server holds, and a
			// client that floods them without reading fills its out-buffer in a few
			// slices, not in hundreds.
			uint32_t events = (uint32_t)server->session_count + (uint32_t)limits_count() + 3;
			budget = events >= budget ? 0 : budget - events;
		}
	}
	if (client->dying) {
		return;
	}
	// Fds travel with the first byte of their message: once every byte that came has
	// been handled, fds still waiting belong to no message and never will.
	if (!slice_over && client->conn.nfds_in > 0 &&
			ts_connection_pending_input(&client->conn) == 0) {
		client_post_error(client, 0, TS_ERR_bad_fds,
			"%u file descriptors came with no message that takes them",
			client->conn.nfds_in);
		return;
	}
	if (slice_over != client_backlogged(client)) {
		if (slice_over) {
			list_append(&server->backlog_clients, &client->backlog_link);
		} else {
			list_remove(&client->backlog_link);
		}
		client_update_events(client);
	}
}

// Callback ids answered at once still obey the id rules, so that the client's and the
// server's view of which ids are in use never differ.
static bool check_new_callback_id(struct client *client, uint32_t id) {
	return object_check_new_id(client, id);
}

void handle_hello(struct client *client, const union ts_arg *args,
		void *const *objs) {
	if (client->welcomed) {
		client_post_error(client, 0, TS_ERR_invalid_message, "hello sent twice");
		return;
	}
	uint32_t version = args[0].u;
	if (version < TS_PROTOCOL_VERSION) {
		// Version 1 had a flat list of rectangles with one z for every client; nothing
		// of it maps onto the scene tree, so it is refused rather than half-served.
		client_post_error(client, 0, TS_ERR_bad_version,
			"protocol version %u is not spoken here; this server speaks %d", version,
			TS_PROTOCOL_VERSION);
		return;
	}
	// Only sessions count against the clients limit: connections that never say
	// hello have a budget of their own (pending_clients) and cannot crowd them out.
	uint32_t max = client->server->options.limits.clients;
	if (client->server->session_count >= max) {
		client_post_error(client, 0, TS_ERR_limit_exceeded,
			"limit clients=%u reached: the server is full", max);
		return;
	}
	client->name = strdup(args[1].s);
	if (client->name == NULL) {
		client_post_error(client, 0, TS_ERR_no_memory, "out of memory");
		return;
	}
	client_welcome(client);
	uint32_t agreed = version < TS_PROTOCOL_VERSION ? version : TS_PROTOCOL_VERSION;
	struct backend *backend = client->server->backend;
	client_send(client, TS_EV_welcome, (union ts_arg[]){
		{ .u = agreed }, { .u = client->id },
		{ .u = (uint32_t)backend->width }, { .u = (uint32_t)backend->height } });
}

void handle_sync(struct client *client, const union ts_arg *args,
		void *const *objs) {
	if (check_new_callback_id(client, args[0].u)) {
		client_send(client, TS_EV_done, (union ts_arg[]){ { .u = args[0].u }, { .u = 0 } });
	}
}

void handle_destroy(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u; // a live object of some type: object_resolve
	uint8_t type;
	void *slot = objmap_lookup(&client->objects, id, &type);
	if (!object_types[type]->destroyable) {
		client_post_error(client, id, TS_ERR_wrong_type, "%ss cannot be destroyed",
			object_types[type]->name);
		return;
	}
	if (object_types[type]->request_destroy != NULL) {
		object_types[type]->request_destroy(client, id);
		return;
	}
	object_destroy(client, id, type, slot);
	client_free_id(client, id);
}

// The layer and raise requests since the last commit.
static bool commit_root(struct client *client) {
	if (client->pending_layer < 0 && !client->pending_raise) {
		return true;
	}
	struct tree_root *root = client_root(client);
	if (root == NULL) {
		return false;
	}
	struct tree *tree = &client->server->tree;
	if (client->pending_layer >= 0) {
		tree_root_set_layer(tree, root, (enum tree_layer)client->pending_layer);
	}
	if (client->pending_raise) {
		tree_root_raise(tree, root);
	}
	client->pending_layer = -1;
	client->pending_raise = false;
	return true;
}

void handle_commit(struct client *client, const union ts_arg *args,
		void *const *objs) {
	// A commit that changed a text waits for its layout, holding the client.
	if (text_commit_begin(client)) {
		client_commit_apply(client);
	}
}

void client_commit_apply(struct client *client) {
	struct server *server = client->server;
	if (!object_commit_all(client) || !node_commit_structure(client) || !commit_root(client)) {
		return;
	}
	// No pending change names a content any more: those nothing shows can go.
	image_sweep(client);
	// Animations made since the last commit start at the frame that shows it.
	animation_commit(client);
	// Frame callbacks now wait for the next frame.
	struct id_array *due = &client->frame_due;
	if (due->len == 0) {
		struct id_array swap = *due;
		*due = client->frame_pending;
		client->frame_pending = swap;
	} else {
		for (uint32_t i = 0; i < client->frame_pending.len; i++) {
			if (!client_push_id(client, due, client->frame_pending.ids[i])) {
				return;
			}
		}
		id_array_clear(&client->frame_pending);
	}
	if (due->len > 0 && list_empty(&client->frame_link)) {
		list_append(&server->frame_clients, &client->frame_link);
	}
}

void handle_frame(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u;
	if (object_insert(client, id, OBJECT_CALLBACK) == NULL) {
		return;
	}
	if (!client_push_id(client, &client->frame_pending, id)) {
		object_forget(client, id);
	}
}

static uint32_t saturate_u32(uint64_t value) {
	return value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
}

void handle_info_query(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t cb = args[0].u;
	if (!check_new_callback_id(client, cb)) {
		return;
	}
	struct server *server = client->server;
	uint32_t clients = 0, objects = 0;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->clients) {
		struct client *other = list_entry(pos, struct client, link);
		// Connections yet to say hello are counted, not listed: they have no name,
		// and a storm of them would drown the answer.
		if (other == client || other->dying || !other->welcomed) {
			continue;
		}
		clients++;
		objects += other->objects.count;
		size_t bytes = client_memory(other);
		client_send(client, TS_EV_client_info, (union ts_arg[]){
			{ .u = cb }, { .u = other->id }, { .u = (uint32_t)other->pid },
			{ .u = other->objects.count }, { .u = saturate_u32(bytes) },
			{ .u = other->textures }, { .u = saturate_u32(other->texture_bytes) },
			{ .s = other->name ? other->name : "" } });
	}
	for (size_t i = 0; i < limits_count(); i++) {
		client_send(client, TS_EV_limit, (union ts_arg[]){ { .u = cb },
			{ .s = limits_name(i) }, { .u = limits_value(&server->options.limits, i) } });
	}
	const struct render_stats *f = &server->frame_stats;
	client_send(client, TS_EV_frame_info, (union ts_arg[]){ { .u = cb },
		{ .u = f->draw_calls }, { .u = f->nodes_drawn }, { .u = saturate_u32(f->damaged_pixels) },
		{ .u = f->offscreen_passes }, { .u = saturate_u32((uint64_t)(f->frame_ms * 1000.0)) },
		{ .u = server->pacing.animated }, { .u = saturate_u32(server->pacing.animate_ns) } });
	struct atlas_stats atlas;
	text_system_stats(server->text, &atlas);
	client_send(client, TS_EV_atlas_info, (union ts_arg[]){ { .u = cb },
		{ .u = atlas.pages }, { .u = atlas.glyphs },
		{ .u = atlas.referenced }, { .u = saturate_u32(atlas.evictions) },
		{ .u = saturate_u32(atlas.bytes) } });
	client_send(client, TS_EV_info_done, (union ts_arg[]){
		{ .u = cb }, { .u = clients }, { .u = objects }, { .u = server->last_cleanup_us },
		{ .u = (uint32_t)server->pending_count }, { .u = saturate_u32(server->evictions.count) },
		{ .u = saturate_u32(server->refusals.count) }, { .u = server->texture_count },
		{ .u = saturate_u32(server->texture_bytes) } });
}

// The size of a screenshot's pixels: width * 4 * height of the output.
static size_t screenshot_bytes(const struct client *client) {
	const struct backend *backend = client->server->backend;
	return (size_t)backend->width * 4 * (size_t)backend->height;
}

// The client's memory for a screenshot must take @size bytes of writes without ever
// faulting: a memfd sealed against shrinking, at least that large, writable. Returns
// the mapping, or MAP_FAILED after posting an error.
static uint8_t *map_client_pixels(struct client *client, uint32_t cb, int fd, size_t size) {
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		client_post_error(client, cb, TS_ERR_invalid_value, "screenshot memory must be a "
			"memfd sealed against shrinking (F_SEAL_SHRINK)");
		return MAP_FAILED;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (unsigned long long)st.st_size < size) {
		client_post_error(client, cb, TS_ERR_invalid_value, "screenshot memory is %lld "
			"bytes; the output needs %zu", (long long)st.st_size, size);
		return MAP_FAILED;
	}
	uint8_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pixels == MAP_FAILED) {
		client_post_error(client, cb, TS_ERR_invalid_value, "cannot map the screenshot "
			"memory for writing: %s", strerror(errno));
	}
	return pixels;
}

void handle_set_layer(struct client *client, const union ts_arg *args,
		void *const *objs) {
	if (args[0].u >= TREE_LAYERS) {
		client_post_error(client, 0, TS_ERR_invalid_value,
			"layer %u does not exist: 0 (background), 1 (normal) or 2 (overlay)", args[0].u);
		return;
	}
	// Like everything else, at the commit.
	client->pending_layer = (int8_t)args[0].u;
}

void handle_raise(struct client *client, const union ts_arg *args,
		void *const *objs) {
	client->pending_raise = true;
}

void handle_screenshot(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t cb = args[0].u;
	int fd = args[1].h; // ours: closed on every path
	if (!check_new_callback_id(client, cb)) {
		close(fd);
		return;
	}
	if (client->shot_count >= CLIENT_MAX_SHOTS) {
		close(fd);
		client_post_error(client, cb, TS_ERR_limit_exceeded, "more than %d screenshots "
			"waiting for a frame", CLIENT_MAX_SHOTS);
		return;
	}
	// The pixels go into the client's own memory: a screenshot the client does not
	// read costs the server nothing. They are those of the next frame, which is drawn
	// for it if nothing else asks for one.
	size_t size = screenshot_bytes(client);
	uint8_t *pixels = map_client_pixels(client, cb, fd, size);
	close(fd);
	if (pixels == MAP_FAILED) {
		return;
	}
	struct shot *shot = malloc(sizeof *shot);
	if (shot == NULL) {
		munmap(pixels, size);
		client_post_error(client, cb, TS_ERR_no_memory, "out of memory");
		return;
	}
	const struct backend *backend = client->server->backend;
	*shot = (struct shot){ .client = client, .callback = cb, .pixels = pixels, .size = size,
		.width = backend->width, .height = backend->height };
	list_append(&client->server->shots, &shot->link);
	list_append(&client->shots, &shot->client_link);
	client->shot_count++;
}

void shot_free(struct shot *shot) {
	munmap(shot->pixels, shot->size);
	list_remove(&shot->link);
	list_remove(&shot->client_link);
	shot->client->shot_count--;
	free(shot);
}

void shot_finish(struct shot *shot, enum shot_result result) {
	struct client *client = shot->client;
	uint32_t cb = shot->callback, width = (uint32_t)shot->width;
	uint32_t height = (uint32_t)shot->height;
	shot_free(shot);
	if (result == SHOT_FAILED) {
		client_post_error(client, cb, TS_ERR_internal, "the renderer failed to read back");
		return;
	}
	if (result == SHOT_RESIZED) {
		width = height = 0;
	}
	client_send(client, TS_EV_screenshot_done, (union ts_arg[]){
		{ .u = cb }, { .u = width }, { .u = height }, { .u = width * 4 } });
}

const struct object_ops callback_ops = {
	.name = "callback",
};
