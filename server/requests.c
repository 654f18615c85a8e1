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
#include "log.h"
#include "server.h"

#define MAX_RECT_SIZE 32768u

typedef void (*request_func)(struct client *client, const union ts_arg *args);

#define TS_X_(op, name, sig, fields) \
	static void handle_##name(struct client *client, const union ts_arg *args);
TS_REQUESTS(TS_X_)
#undef TS_X_

static const request_func handlers[TS_REQ_COUNT_] = {
#define TS_X_(op, name, sig, fields) [op] = handle_##name,
	TS_REQUESTS(TS_X_)
#undef TS_X_
};

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
	while (!client->dying) {
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
			// The handler owns the message's fds from here.
			handlers[hdr.opcode](client, args);
		}
		ts_connection_consume(&client->conn, hdr.size);
		budget--;
		if (hdr.opcode == TS_REQ_screenshot) {
			// It reads back a whole frame: a slice on its own.
			budget = 0;
		} else if (hdr.opcode == TS_REQ_info_query) {
			// It answers with an event per client and per limit, and costs a request
			// for each: a slice's work stays bounded whatever the server holds, and a
			// client that floods them without reading fills its out-buffer in a few
			// slices, not in hundreds.
			uint32_t events = (uint32_t)server->session_count + (uint32_t)limits_count();
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

// Takes the slot of a new object; NULL after posting an error. A @transient id (a
// callback answered at once) is never a live object: only the id rules apply to it.
static void *insert(struct client *client, uint32_t id, enum object_type type,
		bool transient) {
	uint32_t max = client->server->options.limits.objects;
	if (!transient && client->objects.count >= max) {
		client_post_error(client, id, TS_ERR_limit_exceeded,
			"limit objects=%u exceeded: the client holds that many already", max);
		return NULL;
	}
	// Ids are dense, but transient ids can push the highest one up without making
	// objects: what that grows the table by is charged like any other memory.
	size_t cost = objmap_insert_cost(&client->objects, id);
	if (cost > 0 && !client_charge(client, cost)) {
		return NULL;
	}
	void *slot;
	int rc = objmap_insert(&client->objects, id, (uint8_t)type, &slot);
	if (rc < 0) {
		client_post_error(client, id, (uint32_t)-rc, "cannot create object %u: %s", id,
			rc == -TS_ERR_id_in_use ? "id in use" :
			rc == -TS_ERR_no_memory ? "out of memory" :
			"id beyond the next free one");
		return NULL;
	}
	client->server->object_count++;
	return slot;
}

static void forget(struct client *client, uint32_t id) {
	objmap_remove(&client->objects, id);
	client->server->object_count--;
}

// Callback ids answered at once still obey the id rules, so that the client's and the
// server's view of which ids are in use never differ.
static bool check_new_callback_id(struct client *client, uint32_t id) {
	if (insert(client, id, OBJECT_CALLBACK, true) == NULL) {
		return false;
	}
	forget(client, id);
	return true;
}

static void handle_hello(struct client *client, const union ts_arg *args) {
	if (client->welcomed) {
		client_post_error(client, 0, TS_ERR_invalid_message, "hello sent twice");
		return;
	}
	uint32_t version = args[0].u;
	if (version == 0) {
		client_post_error(client, 0, TS_ERR_bad_version,
			"protocol version 0 does not exist; this server speaks 1 to %d",
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

static void handle_sync(struct client *client, const union ts_arg *args) {
	if (check_new_callback_id(client, args[0].u)) {
		client_send(client, TS_EV_done, (union ts_arg[]){ { .u = args[0].u }, { .u = 0 } });
	}
}

static void handle_destroy(struct client *client, const union ts_arg *args) {
	uint32_t id = args[0].u;
	uint8_t type;
	void *slot = objmap_lookup(&client->objects, id, &type);
	if (type == OBJMAP_FREE) {
		client_post_error(client, id, TS_ERR_invalid_id, "no object with id %u", id);
		return;
	}
	if (!object_types[type]->destroyable) {
		client_post_error(client, id, TS_ERR_wrong_type, "%ss cannot be destroyed",
			object_types[type]->name);
		return;
	}
	object_destroy(client, id, type, slot);
	client_send(client, TS_EV_delete_id, (union ts_arg[]){ { .u = id } });
}

static void handle_commit(struct client *client, const union ts_arg *args) {
	struct server *server = client->server;
	if (!object_commit_all(client)) {
		return;
	}
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

static void handle_frame(struct client *client, const union ts_arg *args) {
	uint32_t id = args[0].u;
	if (insert(client, id, OBJECT_CALLBACK, false) == NULL) {
		return;
	}
	if (!client_push_id(client, &client->frame_pending, id)) {
		forget(client, id);
	}
}

static void handle_rect_create(struct client *client, const union ts_arg *args) {
	uint32_t id = args[0].u;
	struct rect *rect = insert(client, id, OBJECT_RECT, false);
	if (rect == NULL) {
		return;
	}
	// A new rect joins the scene at the next commit even if nothing is set on it.
	rect->pending = 0;
	struct pending_entry *e = object_pending_add(client, id, &rect->pending,
		PENDING_CREATED);
	if (e == NULL) {
		forget(client, id);
		return;
	}
	rect->node.index = SCENE_DETACHED;
	e->state.rect = (struct scene_rect_state){ .rgba = 0xffffffffu, .visible = true };
}

// The first change to a rect since the last commit: its entry in client.pending,
// starting from the committed state.
static struct scene_rect_state * __attribute__((noinline)) new_pending(
		struct client *client, uint32_t id, struct rect *rect, uint32_t field) {
	struct pending_entry *e = object_pending_add(client, id, &rect->pending, field);
	if (e == NULL) {
		return NULL;
	}
	e->state.rect = rect->node.state;
	return &e->state.rect;
}

// Where set_* requests write @field of rect @id: its entry in client.pending. NULL after
// posting an error.
static inline struct scene_rect_state *pending_state(struct client *client, uint32_t id,
		uint32_t field) {
	struct rect *rect = object_lookup(client, id, OBJECT_RECT);
	if (rect == NULL) {
		return NULL;
	}
	if (rect->pending != 0) {
		struct pending_entry *e = &client->pending[rect->pending - 1];
		e->fields |= field;
		return &e->state.rect;
	}
	return new_pending(client, id, rect, field);
}

static void handle_rect_set_position(struct client *client, const union ts_arg *args) {
	struct scene_rect_state *pending = pending_state(client, args[0].u, PENDING_POSITION);
	if (pending != NULL) {
		pending->x = args[1].i;
		pending->y = args[2].i;
	}
}

static void handle_rect_set_size(struct client *client, const union ts_arg *args) {
	if (args[1].u > MAX_RECT_SIZE || args[2].u > MAX_RECT_SIZE) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"size %ux%u is larger than %u", args[1].u, args[2].u, MAX_RECT_SIZE);
		return;
	}
	struct scene_rect_state *pending = pending_state(client, args[0].u, PENDING_SIZE);
	if (pending != NULL) {
		pending->width = (uint16_t)args[1].u;
		pending->height = (uint16_t)args[2].u;
	}
}

static void handle_rect_set_color(struct client *client, const union ts_arg *args) {
	struct scene_rect_state *pending = pending_state(client, args[0].u, PENDING_COLOR);
	if (pending != NULL) {
		pending->rgba = args[1].u;
	}
}

static void handle_rect_set_z(struct client *client, const union ts_arg *args) {
	struct scene_rect_state *pending = pending_state(client, args[0].u, PENDING_Z);
	if (pending != NULL) {
		pending->z = args[1].i;
	}
}

static void handle_rect_set_visible(struct client *client, const union ts_arg *args) {
	if (args[1].u > 1) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"visible must be 0 or 1, not %u", args[1].u);
		return;
	}
	struct scene_rect_state *pending = pending_state(client, args[0].u, PENDING_VISIBLE);
	if (pending != NULL) {
		pending->visible = args[1].u != 0;
	}
}

static uint32_t saturate_u32(uint64_t value) {
	return value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
}

static void handle_info_query(struct client *client, const union ts_arg *args) {
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
			{ .s = other->name ? other->name : "" } });
	}
	for (size_t i = 0; i < limits_count(); i++) {
		client_send(client, TS_EV_limit, (union ts_arg[]){ { .u = cb },
			{ .s = limits_name(i) }, { .u = limits_value(&server->options.limits, i) } });
	}
	client_send(client, TS_EV_info_done, (union ts_arg[]){
		{ .u = cb }, { .u = clients }, { .u = objects }, { .u = server->last_cleanup_us },
		{ .u = (uint32_t)server->pending_count }, { .u = saturate_u32(server->evictions.count) },
		{ .u = saturate_u32(server->refusals.count) } });
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

static void handle_screenshot(struct client *client, const union ts_arg *args) {
	uint32_t cb = args[0].u;
	int fd = args[1].h; // ours: closed on every path
	if (!check_new_callback_id(client, cb)) {
		close(fd);
		return;
	}
	// The pixels go into the client's own memory: a screenshot the client does not
	// read costs the server nothing.
	size_t size = screenshot_bytes(client);
	uint8_t *pixels = map_client_pixels(client, cb, fd, size);
	close(fd);
	if (pixels == MAP_FAILED) {
		return;
	}
	bool ok = server_capture(client->server, pixels);
	munmap(pixels, size);
	if (!ok) {
		client_post_error(client, cb, TS_ERR_internal, "the renderer failed to read back");
		return;
	}
	struct backend *backend = client->server->backend;
	client_send(client, TS_EV_screenshot_done, (union ts_arg[]){
		{ .u = cb }, { .u = (uint32_t)backend->width }, { .u = (uint32_t)backend->height },
		{ .u = (uint32_t)backend->width * 4 } });
}

// A rect in the scene gets its new state; a new one joins the scene above the rest.
static bool rect_commit(struct client *client, uint32_t id, void *slot,
		const struct pending_entry *entry) {
	struct rect *rect = slot;
	struct scene *scene = &client->server->scene;
	if (!(entry->fields & PENDING_CREATED)) {
		scene_node_commit(scene, &rect->node, &entry->state.rect);
		return true;
	}
	if (client->scene_owner == 0) {
		client->scene_owner = scene_owner_create(scene);
		if (client->scene_owner == 0) {
			client_post_error(client, 0, TS_ERR_no_memory,
				"out of memory (or too many clients) for the scene");
			return false;
		}
	}
	rect->node.state = entry->state.rect;
	if (!scene_node_add(scene, client->scene_owner, &rect->node)) {
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return false;
	}
	return true;
}

static void rect_destroy(struct client *client, uint32_t id, void *slot) {
	struct rect *rect = slot;
	scene_node_remove(&client->server->scene, &rect->node);
}

const struct object_ops rect_ops = {
	.name = "rect",
	.destroyable = true,
	.destroy = rect_destroy,
	.commit = rect_commit,
	.pending_offset = offsetof(struct rect, pending),
};

const struct object_ops callback_ops = {
	.name = "callback",
};
