#define _DEFAULT_SOURCE // MADV_HUGEPAGE
#include "objmap.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reaper.h"
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

// Chunks of at least this many bytes are mapped on their own, aligned to it, and asked
// for transparent huge pages where the kernel has them. A client with 100,000 objects
// then faults in its table a 2 MiB page at a time rather than 4 KiB, and its cleanup
// unmaps a few huge pages instead of some 1,500 small ones: on a VM whose page faults
// cost 15 us each, creation runs far faster and the cleanup of 100,000 nodes takes a
// fraction of the time (bench/: cleanup_ms_100k_tree, create). Where huge pages are
// off, madvise fails and the chunk is an ordinary mapping. A chunk only part used
// touches only the huge pages its ids reach, and its tail that is not a whole aligned
// huge page is in small pages: what is resident stays close to what is used.
#define HUGE_BYTES ((size_t)2 << 20)

static size_t page_round(size_t bytes) {
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (bytes + page - 1) / page * page;
}

static uint8_t *chunk_alloc(size_t bytes) {
	if (bytes < HUGE_BYTES) {
		return malloc(bytes);
	}
	size_t len = page_round(bytes), span = len + HUGE_BYTES;
	uint8_t *map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		-1, 0);
	if (map == MAP_FAILED) {
		return NULL;
	}
	uintptr_t at = ((uintptr_t)map + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
	size_t head = at - (uintptr_t)map, tail = span - head - len;
	if (head > 0) {
		munmap(map, head);
	}
	if (tail > 0) {
		munmap((uint8_t *)at + len, tail);
	}
	(void)madvise((void *)at, len, MADV_HUGEPAGE); // a hint: fine to be refused
	return (uint8_t *)at;
}

static void chunk_free(uint8_t *chunk, size_t bytes) {
	// Big chunks go to the reaper (reaper.h): nothing reads them after this.
	if (bytes < HUGE_BYTES) {
		reaper_free(chunk, bytes);
	} else {
		UNPOISON(chunk, bytes); // the address range may be mapped again
		reaper_unmap(chunk, page_round(bytes));
	}
}

static size_t chunk_bytes(const struct objmap *map, unsigned k) {
	return ((size_t)1 << (k + OBJMAP_FIRST_SHIFT)) * (1 + (size_t)map->slot_size);
}

void objmap_init(struct objmap *map, size_t slot_size) {
	assert(slot_size > 0 && slot_size <= 4096 && slot_size % 8 == 0);
	memset(map, 0, sizeof *map);
	map->slot_size = (uint32_t)slot_size;
}

void objmap_finish(struct objmap *map) {
	for (unsigned k = 0; k < OBJMAP_CHUNKS && map->chunks[k] != NULL; k++) {
		chunk_free(map->chunks[k], chunk_bytes(map, k));
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
			*chunk = chunk_alloc(slots * (1 + (size_t)map->slot_size));
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
