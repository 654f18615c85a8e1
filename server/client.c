#define _GNU_SOURCE
#include "client.h"
#include "animation.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "loop.h"
#include "reaper.h"
#include "server.h"
#include "text.h"

static void handle_io(void *data, int fd, short revents);

struct client *client_create(struct server *server, int fd, pid_t pid, uid_t uid) {
	struct client *client = calloc(1, sizeof *client);
	if (client == NULL) {
		log_error("out of memory accepting a client");
		close(fd);
		return NULL;
	}
	client->server = server;
	const struct server_limits *limits = &server->options.limits;
	ts_connection_init(&client->conn, fd, SERVER_IN_BYTES, limits->out_bytes);
	client->conn.max_fds_in = limits->fds;
	client->pid = pid;
	client->uid = uid;
	client->source = loop_add_fd(server->loop, fd, POLLIN, handle_io, client);
	if (client->source == NULL) {
		log_error("out of memory accepting a client");
		ts_connection_finish(&client->conn);
		free(client);
		return NULL;
	}
	client->id = ++server->next_client_id;
	client->connected_ns = loop_now_ns();
	objmap_init(&client->objects, sizeof(struct tree_node));
	list_init(&client->dead_link);
	list_init(&client->flush_link);
	list_init(&client->frame_link);
	list_init(&client->present_link);
	list_init(&client->backlog_link);
	list_init(&client->texts);
	list_init(&client->animations);
	list_init(&client->animations_new);
	list_init(&client->text_dirty);
	list_init(&client->text_jobs);
	list_init(&client->shots);
	list_init(&client->listeners);
	list_init(&client->images);
	list_init(&client->maps);
	client->pending_layer = -1;
	// Accept order is deadline order: the hello deadline is the same for everyone,
	// and the oldest is the first to go when the pending_clients budget is full.
	list_append(&server->hello_clients, &client->hello_link);
	server->pending_count++;
	list_append(&server->clients, &client->link);
	server->client_count++;
	log_debug("client %u connected (pid %d)", client->id, (int)client->pid);
	return client;
}

// The capacity an id array grows to when full: how id_array_push grows it, and what
// client_push_id charges for it.
static uint32_t id_array_next_cap(const struct id_array *array) {
	return array->cap ? array->cap * 2 : 16;
}

size_t client_memory(const struct client *client) {
	return sizeof *client + client->objects.bytes +
		(client->name != NULL ? strlen(client->name) + 1 : 0) +
		(size_t)client->pending_cap * sizeof *client->pending +
		(size_t)client->structure.cap * sizeof *client->structure.ops +
		(client->has_root ? (size_t)client->root.extras_cap * sizeof *client->root.extras : 0) +
		((size_t)client->frame_pending.cap + client->frame_due.cap +
			client->frame_shown.cap) * sizeof(uint32_t) +
		client->text_memory + animation_bytes(client);
}

bool client_charge(struct client *client, size_t more) {
	uint32_t limit = client->server->options.limits.client_bytes;
	size_t held = client_memory(client);
	if (held <= limit && more <= limit - held) {
		return true;
	}
	client_post_error(client, 0, TS_ERR_limit_exceeded,
		"limit client_bytes=%u exceeded: the client holds %zu bytes and needs %zu more",
		limit, held, more);
	return false;
}

bool client_push_id(struct client *client, struct id_array *array, uint32_t id) {
	if (array->len == array->cap) {
		size_t more = (size_t)(id_array_next_cap(array) - array->cap) * sizeof *array->ids;
		if (!client_charge(client, more)) {
			return false;
		}
	}
	if (!id_array_push(array, id)) {
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return false;
	}
	return true;
}

// The slot size is what each node costs; keep it from growing by accident.
_Static_assert(sizeof(struct tree_node) == 56, "a node is a 56-byte slot");

bool id_array_push(struct id_array *array, uint32_t id) {
	if (array->len == array->cap) {
		uint32_t cap = id_array_next_cap(array);
		uint32_t *ids = realloc(array->ids, (size_t)cap * sizeof *ids);
		if (ids == NULL) {
			return false;
		}
		array->ids = ids;
		array->cap = cap;
	}
	array->ids[array->len++] = id;
	return true;
}

void id_array_clear(struct id_array *array) {
	array->len = 0;
	if (array->cap > 1024) {
		free(array->ids);
		array->ids = NULL;
		array->cap = 0;
	}
}

struct tree_root *client_root(struct client *client) {
	if (!client->has_root) {
		if (!tree_root_init(&client->server->tree, &client->root, TREE_LAYER_NORMAL)) {
			client_post_error(client, 0, TS_ERR_no_memory, "out of memory for a scene root");
			return NULL;
		}
		client->has_root = true;
	}
	return &client->root;
}

void client_frame_take(struct client *client) {
	struct id_array *due = &client->frame_due, *shown = &client->frame_shown;
	if (shown->len == 0) {
		struct id_array swap = *shown;
		*shown = *due;
		*due = swap;
	} else {
		// Not reached while one frame is presented at a time; kept exact anyway.
		for (uint32_t i = 0; i < due->len; i++) {
			if (!client_push_id(client, shown, due->ids[i])) {
				break;
			}
		}
	}
	id_array_clear(due);
	list_remove(&client->frame_link);
	if (list_empty(&client->present_link)) {
		list_append(&client->server->present_clients, &client->present_link);
	}
}

void client_frame_presented(struct client *client, uint64_t time_ns, uint32_t seq,
		uint32_t refresh_ns) {
	struct id_array *shown = &client->frame_shown;
	uint32_t time_ms = (uint32_t)(time_ns / 1000000u);
	for (uint32_t i = 0; i < shown->len; i++) {
		uint32_t id = shown->ids[i];
		client_send(client, TS_EV_presented, (union ts_arg[]){ { .u = id }, { .u = seq },
			{ .u = (uint32_t)(time_ns >> 32) }, { .u = (uint32_t)time_ns },
			{ .u = refresh_ns } });
		client_send(client, TS_EV_done, (union ts_arg[]){ { .u = id }, { .u = time_ms } });
		objmap_remove(&client->objects, id);
	}
	client->server->object_count -= shown->len;
	id_array_clear(shown);
	list_remove(&client->present_link);
	client->frame_done_at = time_ns;
}

void client_destroy(struct client *client) {
	if (client == NULL) {
		return;
	}
	struct server *server = client->server;
	uint64_t start = loop_now_ns();
	uint32_t count = client->objects.count;
	// Whoever holds a pointer into the client's objects listens to them (object.h) and
	// hears of it first. Then nothing points into them but the scene, which forgets
	// them all at once, and the slots go a chunk at a time, unread: the big chunks and
	// pools are handed to the reaper thread (reaper.h), woken at the end. No type owns
	// anything outside the client's memory yet, so none needs its destroy called one
	// by one here.
	client->gone = true;
	object_listeners_client_gone(client);
	// Textures and mappings are outside the client's memory: they go one by one, a
	// few hundred at most, before the slots that point at them.
	image_client_gone(client);
	text_client_gone(client);
	animation_client_gone(client);
	if (client->has_root) {
		tree_root_finish(&server->tree, &client->root);
	}
	objmap_finish(&client->objects);
	free(client->structure.ops);
	while (!list_empty(&client->shots)) {
		shot_free(list_entry(client->shots.next, struct shot, client_link));
	}
	server->object_count -= count;
	free(client->pending);
	free(client->frame_pending.ids);
	free(client->frame_due.ids);
	free(client->frame_shown.ids);
	list_remove(&client->frame_link);
	list_remove(&client->present_link);
	loop_source_remove(client->source);
	ts_connection_finish(&client->conn);
	list_remove(&client->link);
	list_remove(&client->dead_link);
	list_remove(&client->flush_link);
	client_leave_pending(client);
	list_remove(&client->backlog_link);
	if (client->welcomed && !client->dying) {
		server->session_count--;
	}
	server->client_count--;
	uint64_t took = loop_now_ns() - start;
	// Tools that only ask questions own nothing: they must not hide the figure of the
	// last client that did.
	if (count > 0) {
		server->last_cleanup_us = (uint32_t)(took / 1000);
	}
	log_debug("client %u (%s) freed with %u objects in %.3f ms", client->id,
		client->name ? client->name : "?", count, (double)took / 1e6);
	free(client->name);
	free(client);
	reaper_wake();
}

void client_leave_pending(struct client *client) {
	if (!list_empty(&client->hello_link)) {
		list_remove(&client->hello_link);
		client->server->pending_count--;
	}
}

void client_welcome(struct client *client) {
	client_leave_pending(client);
	client->welcomed = true;
	client->server->session_count++;
}

void client_kill(struct client *client, const char *reason) {
	if (client->dying) {
		return;
	}
	// Neither a session nor a pending connection from here: the budgets count
	// only those that are still going.
	client_leave_pending(client);
	if (client->welcomed) {
		client->server->session_count--;
	}
	client->dying = true;
	// Parked: the loop no longer wakes for it; it is freed after this round.
	client_update_events(client);
	list_append(&client->server->dead_clients, &client->dead_link);
	log_debug("client %u going away: %s", client->id, reason);
}

static void trace(struct client *client, const char *dir, uint16_t opcode,
		const union ts_arg *args, const struct ts_interface *iface) {
	char text[1200];
	ts_format(text, sizeof text, iface, opcode, args);
	fprintf(stderr, "[tessera] client %u %s %s\n", client->id, dir, text);
}

void heap_give_back(size_t bytes) {
#ifdef __GLIBC__
	if (bytes >= (size_t)1 << 20) {
		malloc_trim(0);
	}
#else
	(void)bytes;
#endif
}

void client_send_freed(struct client *client) {
	if (client->nfreed == 0) {
		return;
	}
	union ts_arg arg = { .a = { .data = client->freed, .size = client->nfreed * 4 } };
	client->nfreed = 0; // first: client_send sends what is batched before its event
	client_send(client, TS_EV_delete_ids, &arg);
}

void client_free_id(struct client *client, uint32_t id) {
	if (client->nfreed == CLIENT_FREED_BATCH) {
		client_send_freed(client);
	}
	ts_put_u32(client->freed + 4 * client->nfreed++, id);
}

void client_send(struct client *client, uint16_t opcode, const union ts_arg *args) {
	if (client->nfreed > 0 && opcode != TS_EV_delete_ids) {
		client_send_freed(client); // the ids freed before this event are told first
	}
	if (client->dying && opcode != TS_EV_error) {
		// Nothing more goes to a dying client; fds meant for it are closed here.
		const char *sig = ts_events[opcode].signature;
		for (unsigned i = 0; sig[i]; i++) {
			if (sig[i] == 'h') {
				close(args[i].h);
			}
		}
		return;
	}
	if (client->server->options.trace) {
		trace(client, "<-", opcode, args, &ts_event_interface);
	}
	if (ts_connection_queue(&client->conn, &ts_event_interface, opcode, args) < 0) {
		if (!client->dying) {
			log_info("client %u (%s) stopped reading its events (more than %zu bytes "
				"queued): disconnecting it", client->id,
				client->name ? client->name : "?", client->conn.out.limit);
			client_kill(client, "out-buffer full");
		}
		return;
	}
	if (list_empty(&client->flush_link)) {
		list_append(&client->server->flush_clients, &client->flush_link);
	}
}

static void post_error(struct client *client, uint32_t object_id, uint32_t code, bool logged,
		const char *fmt, va_list ap) {
	if (client->dying) {
		return;
	}
	char message[512];
	vsnprintf(message, sizeof message, fmt, ap);
	if (logged) {
		log_info("client %u (%s, pid %d): protocol error %s on object %u: %s", client->id,
			client->name ? client->name : "?", (int)client->pid, ts_error_name(code),
			object_id, message);
	}
	client_send(client, TS_EV_error,
		(union ts_arg[]){ { .u = object_id }, { .u = code }, { .s = message } });
	client_kill(client, "protocol error");
}

void client_post_error(struct client *client, uint32_t object_id, uint32_t code,
		const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	post_error(client, object_id, code, true, fmt, ap);
	va_end(ap);
}

void client_post_error_unlogged(struct client *client, uint32_t object_id, uint32_t code,
		const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	post_error(client, object_id, code, false, fmt, ap);
	va_end(ap);
}

void client_update_events(struct client *client) {
	short events = 0;
	if (!client->dying) {
		events = (client_backlogged(client) || client->held ? 0 : POLLIN) |
			(client->write_blocked ? POLLOUT : 0);
	}
	if (loop_source_get_events(client->source) != events) {
		loop_source_set_events(client->source, events);
	}
}

bool client_flush(struct client *client) {
	int rc = ts_connection_flush(&client->conn);
	bool blocked = rc == TS_IO_AGAIN;
	list_remove(&client->flush_link);
	// A full socket keeps the bytes; POLLOUT tells us when it drains.
	if (blocked != client->write_blocked) {
		client->write_blocked = blocked;
		client_update_events(client);
	}
	return rc == TS_IO_OK || rc == TS_IO_AGAIN;
}

void client_read(struct client *client) {
	handle_io(client, client->conn.fd, POLLIN);
}

static void handle_io(void *data, int fd, short revents) {
	struct client *client = data;
	if (revents & POLLOUT) {
		if (!client_flush(client)) {
			client_kill(client, "write failed");
			return;
		}
	}
	// A client held by its commit (text.h) is not read until the commit applies; if
	// it hung up meanwhile, nothing it sent after could still matter.
	if (client->held) {
		if (revents & (POLLHUP | POLLERR)) {
			client_kill(client, "hung up");
		}
		return;
	}
	// A backlogged client is not read (a hang-up included) until the server has
	// handled what it already sent; the loop gives it a slice every round.
	if (client_backlogged(client) || !(revents & (POLLIN | POLLHUP | POLLERR))) {
		return;
	}
	int rc = ts_connection_read(&client->conn);
	// Handle what did arrive, even alongside a hang-up: the last requests before a
	// clean exit still count.
	if (ts_connection_pending_input(&client->conn) > 0 || client->conn.nfds_in > 0) {
		client_dispatch(client);
	}
	if (client->dying) {
		return;
	}
	switch (rc) {
	case TS_IO_OK:
	case TS_IO_AGAIN:
		if ((revents & (POLLHUP | POLLERR)) && rc == TS_IO_AGAIN && !client_backlogged(client)) {
			client_kill(client, "hung up");
		}
		break;
	case TS_IO_EOF:
		// Requests left over are handled first; the hang-up is seen again after.
		if (!client_backlogged(client)) {
			client_kill(client, "hung up");
		}
		break;
	case TS_IO_TOO_MANY_FDS:
		client_post_error(client, 0, TS_ERR_limit_exceeded,
			"limit fds=%u exceeded: more file descriptors in flight than that",
			client->conn.max_fds_in);
		break;
	default:
		client_kill(client, strerror(errno));
		break;
	}
}
