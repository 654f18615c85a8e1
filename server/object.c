#include "object.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "server.h"

const struct object_ops *const object_types[OBJECT_TYPE_COUNT_] = {
	[OBJECT_GROUP] = &group_ops,
	[OBJECT_RECT] = &rect_ops,
	[OBJECT_IMAGE] = &image_ops,
	[OBJECT_TEXT] = &text_ops,
	[OBJECT_SHM_POOL] = &shm_pool_ops,
	[OBJECT_BUFFER] = &buffer_ops,
	[OBJECT_DOOMED] = &doomed_ops,
	[OBJECT_CALLBACK] = &callback_ops,
	[OBJECT_ANIMATION] = &animation_ops,
};

void object_resolve_failed(struct client *client, uint32_t id, uint8_t found,
		const char *what) {
	if (found == OBJMAP_FREE || found == OBJECT_DOOMED) {
		client_post_error(client, id, TS_ERR_invalid_id, "no object with id %u%s", id,
			found == OBJECT_DOOMED ? " (destroyed)" : "");
	} else {
		client_post_error(client, id, TS_ERR_wrong_type, "object %u is a %s, not a %s", id,
			object_types[found]->name, what);
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

void object_forget(struct client *client, uint32_t id) {
	objmap_remove(&client->objects, id);
	client->server->object_count--;
}

void *object_insert(struct client *client, uint32_t id, enum object_type type) {
	return insert(client, id, type, false);
}

bool object_check_new_id(struct client *client, uint32_t id) {
	if (insert(client, id, OBJECT_CALLBACK, true) == NULL) {
		return false;
	}
	object_forget(client, id);
	return true;
}

// Where an object of @type at @slot keeps its pending index.
static uint32_t *slot_pending_index(uint8_t type, void *slot) {
	assert(slot != NULL && object_types[type]->commit != NULL);
	return (uint32_t *)(void *)((uint8_t *)slot + object_types[type]->pending_offset);
}

static uint32_t *pending_index_of(const struct client *client, uint32_t id) {
	uint8_t type;
	void *slot = objmap_lookup(&client->objects, id, &type);
	return slot_pending_index(type, slot);
}

// Drops the entries of destroyed objects, keeping the order of the rest.
static void compact(struct client *client) {
	uint32_t j = 0;
	for (uint32_t i = 0; i < client->pending_len; i++) {
		struct pending_entry *e = &client->pending[i];
		if (e->id != 0) {
			*pending_index_of(client, e->id) = j + 1;
			client->pending[j++] = *e;
		}
	}
	client->pending_len = j;
	client->pending_gone = 0;
}

struct pending_entry *object_pending_add(struct client *client, uint32_t id,
		uint32_t *index, uint32_t fields) {
	assert(*index == 0);
	if (client->pending_len == client->pending_cap) {
		if (client->pending_gone >= client->pending_len / 2 && client->pending_gone > 0) {
			// Mostly destroyed before any commit: reuse the room rather than grow.
			compact(client);
		} else {
			uint32_t cap = client->pending_cap ? client->pending_cap * 2 : 16;
			size_t more = (size_t)(cap - client->pending_cap) * sizeof *client->pending;
			if (!client_charge(client, more)) {
				return NULL;
			}
			struct pending_entry *grown = realloc(client->pending,
				(size_t)cap * sizeof *grown);
			if (grown == NULL) {
				client_post_error(client, id, TS_ERR_no_memory, "out of memory");
				return NULL;
			}
			client->pending = grown;
			client->pending_cap = cap;
		}
	}
	struct pending_entry *e = &client->pending[client->pending_len++];
	e->id = id;
	e->fields = fields;
	*index = client->pending_len;
	return e;
}

void object_pending_drop(struct client *client, uint32_t index) {
	assert(index >= 1 && index <= client->pending_len);
	client->pending[index - 1].id = 0;
	client->pending_gone++;
	// Empty places at the end go at once, so that making and destroying objects in
	// turn does not pile them up.
	while (client->pending_len > 0 && client->pending[client->pending_len - 1].id == 0) {
		client->pending_len--;
		client->pending_gone--;
	}
}

bool object_commit_all(struct client *client) {
	for (uint32_t i = 0; i < client->pending_len; i++) {
		const struct pending_entry *e = &client->pending[i];
		if (e->id == 0) {
			continue;
		}
		uint8_t type;
		void *slot = objmap_lookup(&client->objects, e->id, &type);
		*slot_pending_index(type, slot) = 0;
		if (!object_types[type]->commit(client, e->id, slot, e)) {
			return false;
		}
	}
	// A client that changes as many objects every frame keeps the room; one that
	// changed (or made) many once gives it back at once.
	uint32_t quarter = client->pending_cap / 4;
	bool shrink = client->pending_cap > 1024 &&
		(client->pending_len < quarter || client->pending_last < quarter);
	client->pending_last = client->pending_len;
	client->pending_len = 0;
	client->pending_gone = 0;
	if (shrink) {
		free(client->pending);
		heap_give_back((size_t)client->pending_cap * sizeof *client->pending);
		client->pending = NULL;
		client->pending_cap = 0;
	}
	return true;
}

void object_listen(struct client *client, uint32_t id, struct object_listener *listener) {
	listener->id = id;
	list_append(&client->listeners, &listener->link);
}

void object_unlisten(struct object_listener *listener) {
	list_remove(&listener->link);
}

// Tells the listeners of @id (all of them for @id 0) that it went. A listener told may
// stop others (or free them), so the walk starts again after each one.
static void notify(struct client *client, uint32_t id) {
	bool again = true;
	while (again) {
		again = false;
		for (struct list *pos = client->listeners.next; pos != &client->listeners;
				pos = pos->next) {
			struct object_listener *l = list_entry(pos, struct object_listener, link);
			if (id == 0 || l->id == id) {
				list_remove(&l->link);
				l->destroyed(l);
				again = true;
				break;
			}
		}
	}
}

void object_listeners_client_gone(struct client *client) {
	notify(client, 0);
}

void object_destroy(struct client *client, uint32_t id, enum object_type type, void *slot) {
	if (!list_empty(&client->listeners)) {
		notify(client, id);
	}
	const struct object_ops *ops = object_types[type];
	if (ops->destroy != NULL) {
		ops->destroy(client, id, slot);
	}
	if (ops->commit != NULL) {
		uint32_t index = *slot_pending_index(type, slot);
		if (index != 0) {
			object_pending_drop(client, index);
		}
	}
	objmap_remove(&client->objects, id);
	client->server->object_count--;
}
