/*
 * A client's objects, stored by id. Ids are dense (a new id is at most one past the
 * highest used so far), so the table is the storage itself: every id has a fixed-size
 * slot, and the slots live in chunks that double in size (8 slots, then 16, 32...).
 * Creating an object allocates nothing but, now and then, a new chunk; objmap_finish
 * frees every object at once, chunk by chunk.
 *
 * Each chunk holds a type byte per slot (0: free) followed by the slots, so that
 * telling a free id from a live one never reads a slot, and a freed slot can be
 * poisoned whole under AddressSanitizer.
 */
#ifndef TESSERA_OBJMAP_H
#define TESSERA_OBJMAP_H

#include <stddef.h>
#include <stdint.h>

#include "tessera-protocol.h"

#define OBJMAP_FREE 0         // the type of a free slot
#define OBJMAP_FIRST_SHIFT 3  // chunk 0 holds 1 << 3 = 8 slots, chunk k 8 << k
#define OBJMAP_CHUNKS 22      // 8 * (2^22 - 1) slots: more than TS_MAX_ID

struct objmap {
	// chunks[k]: 8 << k type bytes, then as many slots, for ids 8 * (2^k - 1) + 1 on.
	// NULL until an id in it is first used; never moves once allocated.
	uint8_t *chunks[OBJMAP_CHUNKS];
	uint32_t slot_size;   // bytes; a multiple of 8
	uint32_t used;        // highest id used so far
	uint32_t count;       // live objects
	size_t bytes;         // allocated for chunks
};

/** An empty table whose slots are @slot_size bytes (a multiple of 8, at most 4096). */
void objmap_init(struct objmap *map, size_t slot_size);

/** Frees every slot, whatever it holds, in a few free() calls. Then like a new table. */
void objmap_finish(struct objmap *map);

/**
 * Takes the slot of @id for an object of @type (not OBJMAP_FREE) and stores its address
 * in *@slot; its contents are undefined. Returns 0, or a negative TS_ERR_ code:
 * invalid_id when id is 0, above TS_MAX_ID or more than one past the highest id used so
 * far; id_in_use when the slot is taken; no_memory when a chunk cannot be allocated.
 */
int objmap_insert(struct objmap *map, uint32_t id, uint8_t type, void **slot);

/**
 * Where @id (1 to TS_MAX_ID) lives: in the chunk of 1 << TOP slots, chunks[TOP -
 * OBJMAP_FIRST_SHIFT], at *@off. Returns TOP. Chunk k starts at position 8 * (2^k - 1),
 * so the top bit of the position plus 8 names it.
 */
static inline unsigned objmap_place(uint32_t id, uint32_t *off) {
	uint32_t pos = id - 1 + (1u << OBJMAP_FIRST_SHIFT);
	unsigned top = 31u - (unsigned)__builtin_clz(pos);
	*off = pos - (1u << top);
	return top;
}

/**
 * The slot of @id and, in *@type, the type of what it holds. Returns NULL with *@type
 * OBJMAP_FREE when the id is free or out of range. The address stays valid until the
 * id is removed or the table finished.
 */
static inline void *objmap_lookup(const struct objmap *map, uint32_t id, uint8_t *type) {
	if (id - 1 >= map->used) { // id 0 wraps around and fails the check
		*type = OBJMAP_FREE;
		return NULL;
	}
	uint32_t off;
	unsigned top = objmap_place(id, &off);
	uint8_t *chunk = map->chunks[top - OBJMAP_FIRST_SHIFT];
	*type = chunk[off];
	if (*type == OBJMAP_FREE) {
		return NULL;
	}
	return chunk + (1u << top) + (size_t)off * map->slot_size;
}

/**
 * The bytes objmap_insert(@id) would allocate: a new chunk's size when @id is the
 * first of a chunk not yet allocated, else 0. (For memory limits: checked before.)
 */
static inline size_t objmap_insert_cost(const struct objmap *map, uint32_t id) {
	if (id != map->used + 1 || id == 0 || id > TS_MAX_ID) {
		return 0;
	}
	uint32_t off;
	unsigned top = objmap_place(id, &off);
	if (map->chunks[top - OBJMAP_FIRST_SHIFT] != NULL) {
		return 0;
	}
	return ((size_t)1 << top) * (1 + (size_t)map->slot_size);
}

/** Changes the type of the live object @id (1 to map->used) to @type (not OBJMAP_FREE). */
void objmap_set_type(struct objmap *map, uint32_t id, uint8_t type);

/**
 * The id whose slot is at @slot (an address objmap_insert or objmap_lookup gave), found
 * from the chunk it lies in: at most OBJMAP_CHUNKS comparisons.
 */
uint32_t objmap_id_of(const struct objmap *map, const void *slot);

/** Frees the slot of @id (its contents are lost). Returns 0 if it was already free. */
int objmap_remove(struct objmap *map, uint32_t id);

#endif
