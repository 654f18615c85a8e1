/*
 * A client's object table: ids the client chose, mapped to its objects. Ids are dense
 * (a new id is at most one past the highest used so far), so the table is an array.
 */
#ifndef TESSERA_OBJMAP_H
#define TESSERA_OBJMAP_H

#include <stddef.h>
#include <stdint.h>

struct object;

struct objmap {
	struct object **slots; // slots[id - 1]; NULL where free
	uint32_t used;         // highest id used so far
	uint32_t cap;
	uint32_t count;        // live objects
};

void objmap_init(struct objmap *map);
/** Frees the table, not the objects. */
void objmap_finish(struct objmap *map);

/**
 * Puts @obj at @id. Returns 0, or a negative TS_ERR_ code: invalid_id when id is 0,
 * above TS_MAX_ID or more than one past the highest id used so far; id_in_use when the
 * slot is taken; no_memory when the table cannot grow.
 */
int objmap_insert(struct objmap *map, uint32_t id, struct object *obj);

/** The object at @id, or NULL when the id is free or out of range. */
static inline struct object *objmap_lookup(const struct objmap *map, uint32_t id) {
	return id - 1 < map->used ? map->slots[id - 1] : NULL;
}

/** Empties the slot at @id and returns what was there (NULL if nothing). */
struct object *objmap_remove(struct objmap *map, uint32_t id);

#endif
