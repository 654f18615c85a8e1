#include "objmap.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer.h"
#include "tessera-protocol.h"

// Under AddressSanitizer a free slot is poisoned, so that a pointer kept to an object
// after it was destroyed is caught like a use after free() (its chunk lives on).
#ifdef TESSERA_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(addr, size) ASAN_POISON_MEMORY_REGION(addr, size)
#define UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#define POISON(addr, size) ((void)(addr), (void)(size))
#define UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

void objmap_init(struct objmap *map, size_t slot_size) {
	assert(slot_size > 0 && slot_size <= 4096 && slot_size % 8 == 0);
	memset(map, 0, sizeof *map);
	map->slot_size = (uint32_t)slot_size;
}

void objmap_finish(struct objmap *map) {
	for (unsigned k = 0; k < OBJMAP_CHUNKS && map->chunks[k] != NULL; k++) {
		free(map->chunks[k]);
		map->chunks[k] = NULL;
	}
	map->used = 0;
	map->count = 0;
	map->bytes = 0;
}

// Where @id's type byte is, with the address of its slot in *@slot. The id must be in
// 1..used and its chunk allocated.
static uint8_t *type_byte(const struct objmap *map, uint32_t id, uint8_t **slot) {
	uint32_t off;
	unsigned top = objmap_place(id, &off);
	uint8_t *chunk = map->chunks[top - OBJMAP_FIRST_SHIFT];
	*slot = chunk + (1u << top) + (size_t)off * map->slot_size;
	return chunk + off;
}

int objmap_insert(struct objmap *map, uint32_t id, uint8_t type, void **slot) {
	assert(type != OBJMAP_FREE);
	if (id == 0 || id > TS_MAX_ID || id > map->used + 1) {
		return -TS_ERR_invalid_id;
	}
	bool fresh = id > map->used;
	uint32_t off;
	unsigned top = objmap_place(id, &off);
	uint8_t **chunk = &map->chunks[top - OBJMAP_FIRST_SHIFT];
	if (fresh) {
		// The first id of a chunk allocates it. Type bytes are written as ids come into
		// use: only ids up to map->used are ever looked at.
		if (*chunk == NULL) {
			size_t slots = (size_t)1 << top;
			*chunk = malloc(slots * (1 + (size_t)map->slot_size));
			if (*chunk == NULL) {
				return -TS_ERR_no_memory;
			}
			POISON(*chunk + slots, slots * map->slot_size);
			map->bytes += slots * (1 + (size_t)map->slot_size);
		}
		map->used = id;
	} else if ((*chunk)[off] != OBJMAP_FREE) {
		return -TS_ERR_id_in_use;
	}
	(*chunk)[off] = type;
	uint8_t *s = *chunk + (1u << top) + (size_t)off * map->slot_size;
	UNPOISON(s, map->slot_size);
	map->count++;
	*slot = s;
	return 0;
}

int objmap_remove(struct objmap *map, uint32_t id) {
	if (id == 0 || id > map->used) {
		return 0;
	}
	uint8_t *s;
	uint8_t *t = type_byte(map, id, &s);
	if (*t == OBJMAP_FREE) {
		return 0;
	}
	*t = OBJMAP_FREE;
	POISON(s, map->slot_size);
	map->count--;
	return 1;
}

void objmap_set_type(struct objmap *map, uint32_t id, uint8_t type) {
	assert(id >= 1 && id <= map->used && type != OBJMAP_FREE);
	uint8_t *s;
	uint8_t *t = type_byte(map, id, &s);
	assert(*t != OBJMAP_FREE);
	*t = type;
}

uint32_t objmap_id_of(const struct objmap *map, const void *slot) {
	const uint8_t *p = slot;
	for (unsigned k = 0; k < OBJMAP_CHUNKS && map->chunks[k] != NULL; k++) {
		size_t slots = (size_t)1 << (k + OBJMAP_FIRST_SHIFT);
		const uint8_t *first = map->chunks[k] + slots;
		// Compared as integers: pointers into different objects do not order in C.
		uintptr_t at = (uintptr_t)p, lo = (uintptr_t)first;
		if (at >= lo && at < lo + slots * map->slot_size) {
			uint32_t off = (uint32_t)((at - lo) / map->slot_size);
			return (uint32_t)(slots - (1u << OBJMAP_FIRST_SHIFT)) + off + 1;
		}
	}
	assert(!"objmap_id_of: not a slot of this table");
	return 0;
}
