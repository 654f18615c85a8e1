/*
 * Request handlers, one per request in the protocol table, and the dispatch that
 * decodes a client's bytes and calls them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

void client_dispatch(struct client *client) {
	struct server *server = client->server;
	while (!client->dying) {
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
		} else {
			handlers[hdr.opcode](client, args);
		}
		ts_connection_consume(&client->conn, hdr.size);
	}
}

// Looks up an object of the client's own namespace, posting an error when the id is
// free or names another kind of object.
static struct object *lookup(struct client *client, uint32_t id, enum object_type type) {
	struct object *obj = objmap_lookup(&client->objects, id);
	if (obj == NULL) {
		client_post_error(client, id, TS_ERR_invalid_id, "no object with id %u", id);
		return NULL;
	}
	if (obj->type != type) {
		client_post_error(client, id, TS_ERR_wrong_type, "object %u has the wrong type", id);
		return NULL;
	}
	return obj;
}

static bool insert(struct client *client, uint32_t id, struct object *obj) {
	// Ids are dense, so an honest client never needs one above the object limit; the
	// bound also caps the id table (and client_destroy's walk of it) for callback ids,
	// which are used and freed without ever counting as live objects.
	size_t max = client->server->options.max_objects;
	if (client->objects.count >= max || id > max) {
		client_post_error(client, id, TS_ERR_limit_exceeded,
			"object limit of %zu reached (ids go up to %zu)", max, max);
		return false;
	}
	int rc = objmap_insert(&client->objects, id, obj);
	if (rc < 0) {
		client_post_error(client, id, (uint32_t)-rc, "cannot create object %u: %s", id,
			rc == -TS_ERR_id_in_use ? "id in use" :
			rc == -TS_ERR_no_memory ? "out of memory" :
			"id beyond the next free one");
		return false;
	}
	obj->id = id;
	client->server->object_count++;
	return true;
}

// Callback ids answered at once still obey the id rules, so that the client's and the
// server's view of which ids are in use never differ.
static bool check_new_callback_id(struct client *client, uint32_t id) {
	static struct object probe = { .type = OBJECT_CALLBACK };
	if (!insert(client, id, &probe)) {
		return false;
	}
	objmap_remove(&client->objects, id);
	client->server->object_count--;
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
	client->name = strdup(args[1].s);
	if (client->name == NULL) {
		client_post_error(client, 0, TS_ERR_no_memory, "out of memory");
		return;
	}
	client->welcomed = true;
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
	struct object *obj = objmap_lookup(&client->objects, args[0].u);
	if (obj == NULL) {
		client_post_error(client, args[0].u, TS_ERR_invalid_id, "no object with id %u",
			args[0].u);
		return;
	}
	if (obj->type == OBJECT_CALLBACK) {
		client_post_error(client, args[0].u, TS_ERR_wrong_type,
			"callbacks cannot be destroyed");
		return;
	}
	object_destroy(client, obj);
	client_send(client, TS_EV_delete_id, (union ts_arg[]){ { .u = args[0].u } });
}

static void handle_commit(struct client *client, const union ts_arg *args) {
	struct server *server = client->server;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &client->dirty_rects) {
		struct rect *rect = list_entry(pos, struct rect, dirty_link);
		if (!scene_node_commit(&server->scene, &rect->node, &rect->pending)) {
			client_post_error(client, rect->base.id, TS_ERR_no_memory, "out of memory");
			return;
		}
		list_remove(&rect->dirty_link);
	}
	list_for_each_safe(pos, tmp, &client->frame_pending) {
		list_remove(pos);
		list_append(&server->frame_callbacks, pos);
	}
}

static void handle_frame(struct client *client, const union ts_arg *args) {
	struct callback *cb = calloc(1, sizeof *cb);
	if (cb == NULL) {
		client_post_error(client, args[0].u, TS_ERR_no_memory, "out of memory");
		return;
	}
	cb->base.type = OBJECT_CALLBACK;
	cb->client = client;
	if (!insert(client, args[0].u, &cb->base)) {
		free(cb);
		return;
	}
	list_append(&client->frame_pending, &cb->link);
}

static void handle_rect_create(struct client *client, const union ts_arg *args) {
	struct rect *rect = calloc(1, sizeof *rect);
	if (rect == NULL) {
		client_post_error(client, args[0].u, TS_ERR_no_memory, "out of memory");
		return;
	}
	rect->base.type = OBJECT_RECT;
	scene_node_init(&rect->node, SCENE_NODE_RECT);
	rect->pending = (struct scene_rect_state){ .rgba = 0xffffffffu, .visible = true };
	list_init(&rect->dirty_link);
	if (!insert(client, args[0].u, &rect->base)) {
		free(rect);
		return;
	}
	// A new rect joins the scene at the next commit even if nothing is set on it.
	list_append(&client->dirty_rects, &rect->dirty_link);
}

// The rect a set_* request names, with its pending state marked dirty.
static struct rect *pending_rect(struct client *client, uint32_t id) {
	struct rect *rect = (struct rect *)lookup(client, id, OBJECT_RECT);
	if (rect != NULL && list_empty(&rect->dirty_link)) {
		list_append(&client->dirty_rects, &rect->dirty_link);
	}
	return rect;
}

static void handle_rect_set_position(struct client *client, const union ts_arg *args) {
	struct rect *rect = pending_rect(client, args[0].u);
	if (rect != NULL) {
		rect->pending.x = args[1].i;
		rect->pending.y = args[2].i;
	}
}

static void handle_rect_set_size(struct client *client, const union ts_arg *args) {
	if (args[1].u > MAX_RECT_SIZE || args[2].u > MAX_RECT_SIZE) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"size %ux%u is larger than %u", args[1].u, args[2].u, MAX_RECT_SIZE);
		return;
	}
	struct rect *rect = pending_rect(client, args[0].u);
	if (rect != NULL) {
		rect->pending.width = args[1].u;
		rect->pending.height = args[2].u;
	}
}

static void handle_rect_set_color(struct client *client, const union ts_arg *args) {
	struct rect *rect = pending_rect(client, args[0].u);
	if (rect != NULL) {
		rect->pending.rgba = args[1].u;
	}
}

static void handle_rect_set_z(struct client *client, const union ts_arg *args) {
	struct rect *rect = pending_rect(client, args[0].u);
	if (rect != NULL) {
		rect->pending.z = args[1].i;
	}
}

static void handle_rect_set_visible(struct client *client, const union ts_arg *args) {
	if (args[1].u > 1) {
		client_post_error(client, args[0].u, TS_ERR_invalid_value,
			"visible must be 0 or 1, not %u", args[1].u);
		return;
	}
	struct rect *rect = pending_rect(client, args[0].u);
	if (rect != NULL) {
		rect->pending.visible = args[1].u != 0;
	}
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
		if (other == client || other->dying) {
			continue;
		}
		clients++;
		objects += other->objects.count;
		client_send(client, TS_EV_client_info, (union ts_arg[]){
			{ .u = cb }, { .u = other->id }, { .u = (uint32_t)other->pid },
			{ .u = other->objects.count }, { .s = other->name ? other->name : "" } });
	}
	client_send(client, TS_EV_info_done, (union ts_arg[]){
		{ .u = cb }, { .u = clients }, { .u = objects }, { .u = server->last_cleanup_us } });
}

static void handle_screenshot(struct client *client, const union ts_arg *args) {
	uint32_t cb = args[0].u;
	if (!check_new_callback_id(client, cb)) {
		return;
	}
	// Each answer carries an fd; the connection queues a bounded number. Send what
	// waits first, so only a client that truly does not read runs into the bound.
	if (client->conn.nfds_out >= TS_CONNECTION_MAX_FDS) {
		if (!client_flush(client)) {
			client_kill(client, "write failed");
			return;
		}
		if (client->conn.nfds_out >= TS_CONNECTION_MAX_FDS) {
			client_post_error(client, cb, TS_ERR_limit_exceeded,
				"more than %d screenshots waiting to be read", TS_CONNECTION_MAX_FDS);
			return;
		}
	}
	struct backend *backend = client->server->backend;
	size_t stride = (size_t)backend->width * 4;
	size_t size = stride * (size_t)backend->height;
	int fd = memfd_create("tessera-screenshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		client_post_error(client, cb, TS_ERR_internal, "memfd_create: %s", strerror(errno));
		return;
	}
	uint8_t *pixels = MAP_FAILED;
	if (ftruncate(fd, (off_t)size) == 0) {
		pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	}
	if (pixels == MAP_FAILED) {
		client_post_error(client, cb, TS_ERR_internal, "cannot map %zu bytes: %s", size,
			strerror(errno));
		close(fd);
		return;
	}
	bool ok = server_capture(client->server, pixels);
	munmap(pixels, size);
	if (!ok) {
		client_post_error(client, cb, TS_ERR_internal, "the renderer failed to read back");
		close(fd);
		return;
	}
	// The receiver only reads: seal the size so it cannot shrink it under a mapping.
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	client_send(client, TS_EV_screenshot_done, (union ts_arg[]){
		{ .u = cb }, { .u = (uint32_t)backend->width }, { .u = (uint32_t)backend->height },
		{ .u = (uint32_t)stride }, { .h = fd } });
}
