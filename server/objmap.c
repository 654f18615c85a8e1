#include "objmap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tessera-protocol.h"

void objmap_init(struct objmap *map) {
	memset(map, 0, sizeof *map);
}

void objmap_finish(struct objmap *map) {
	free(map->slots);
	memset(map, 0, sizeof *map);
}

int objmap_insert(struct objmap *map, uint32_t id, struct object *obj) {
	assert(obj != NULL);
	if (id == 0 || id > TS_MAX_ID || id > map->used + 1) {
		return -TS_ERR_invalid_id;
	}
	if (id <= map->used) {
		if (map->slots[id - 1] != NULL) {
			return -TS_ERR_id_in_use;
		}
	} else {
		if (map->used == map->cap) {
			uint32_t cap = map->cap ? map->cap * 2 : 16;
			struct object **slots = realloc(map->slots, (size_t)cap * sizeof *slots);
			if (slots == NULL) {
				return -TS_ERR_no_memory;
			}
			map->slots = slots;
			map->cap = cap;
		}
		map->used = id;
	}
	map->slots[id - 1] = obj;
	map->count++;
	return 0;
}

struct object *objmap_remove(struct objmap *map, uint32_t id) {
	struct object *obj = objmap_lookup(map, id);
	if (obj != NULL) {
		map->slots[id - 1] = NULL;
		map->count--;
	}
	return obj;
}
