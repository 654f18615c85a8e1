/*
 * Unit tests of a client's object table: the id rules of PROTOCOL.md ("Object ids"),
 * lookups that must never index out of range, removal, reuse, growth across chunks,
 * slots that never overlap or move, and freeing everything at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "objmap.h"
#include "tessera-protocol.h"

#include "sanitizer.h"
#ifdef TESSERA_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#endif

enum { RECT = 1, CALLBACK = 2 };

// What the tests keep in a slot: enough to tell slots apart and to see overlaps.
struct thing {
	uint32_t id;
	uint32_t check;
	uint64_t fill[2];
};

static struct thing *put(struct objmap *map, uint32_t id, uint8_t type) {
	void *slot = NULL;
	assert_int_equal(objmap_insert(map, id, type, &slot), 0);
	assert_non_null(slot);
	struct thing *t = slot;
	t->id = id;
	t->check = ~id;
	t->fill[0] = t->fill[1] = (uint64_t)id * 0x9e3779b97f4a7c15ull;
	return t;
}

static struct thing *get(const struct objmap *map, uint32_t id, uint8_t *type) {
	return objmap_lookup(map, id, type);
}

static void test_insert_rules(void **state) {
	struct objmap map;
	objmap_init(&map, sizeof(struct thing));
	void *slot = NULL;
	uint8_t type = 99;

	assert_int_equal(objmap_insert(&map, 0, RECT, &slot), -TS_ERR_invalid_id);
	// More than one past the highest id used so far (none yet).
	assert_int_equal(objmap_insert(&map, 2, RECT, &slot), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, TS_MAX_ID, RECT, &slot), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, TS_MAX_ID + 1, RECT, &slot), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, 0xffffffffu, RECT, &slot), -TS_ERR_invalid_id);
	assert_null(slot);
	assert_int_equal(map.count, 0);
	assert_int_equal(map.used, 0);

	struct thing *a = put(&map, 1, RECT);
	assert_int_equal(map.count, 1);
	assert_int_equal(map.used, 1);
	assert_int_equal(objmap_insert(&map, 1, CALLBACK, &slot), -TS_ERR_id_in_use);
	assert_ptr_equal(get(&map, 1, &type), a);
	assert_int_equal(type, RECT);
	assert_int_equal(a->id, 1);
	assert_int_equal(objmap_insert(&map, 3, RECT, &slot), -TS_ERR_invalid_id);
	assert_int_equal(map.count, 1);

	struct thing *b = put(&map, 2, CALLBACK);
	struct thing *c = put(&map, 3, RECT);
	assert_int_equal(objmap_insert(&map, 2, RECT, &slot), -TS_ERR_id_in_use);
	assert_int_equal(objmap_insert(&map, 5, RECT, &slot), -TS_ERR_invalid_id);
	assert_int_equal(map.count, 3);
	assert_int_equal(map.used, 3);
	assert_ptr_equal(get(&map, 1, &type), a);
	assert_int_equal(type, RECT);
	assert_ptr_equal(get(&map, 2, &type), b);
	assert_int_equal(type, CALLBACK);
	assert_ptr_equal(get(&map, 3, &type), c);
	assert_int_equal(type, RECT);
	assert_true(a != b && b != c && a != c);
	objmap_finish(&map);
}

static void test_lookup_out_of_range(void **state) {
	struct objmap map;
	objmap_init(&map, sizeof(struct thing));
	// An empty table has no chunk at all: nothing may index it.
	static const uint32_t ids[] = { 0, 1, 2, 17, 64, 65, TS_MAX_ID, TS_MAX_ID + 1,
		0x80000000u, 0xfffffffeu, 0xffffffffu };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		uint8_t type = 99;
		assert_null(get(&map, ids[i], &type));
		assert_int_equal(type, OBJMAP_FREE);
		assert_int_equal(objmap_remove(&map, ids[i]), 0);
	}
	assert_int_equal(map.count, 0);

	for (uint32_t id = 1; id <= 20; id++) {
		put(&map, id, RECT);
	}
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		uint8_t type = 99;
		struct thing *t = get(&map, ids[i], &type);
		if (ids[i] >= 1 && ids[i] <= 20) {
			assert_non_null(t);
			assert_int_equal(t->id, ids[i]);
			assert_int_equal(type, RECT);
		} else {
			assert_null(t);
			assert_int_equal(type, OBJMAP_FREE);
		}
	}
	// Past the highest used id but inside a chunk already allocated, whose type bytes
	// there were never written: still free.
	uint8_t type = 99;
	assert_null(get(&map, 21, &type));
	assert_int_equal(type, OBJMAP_FREE);
	assert_null(get(&map, 64, &type));
	assert_null(get(&map, 65, &type));
	assert_int_equal(objmap_remove(&map, 21), 0);
	assert_int_equal(objmap_remove(&map, 0), 0);
	assert_int_equal(objmap_remove(&map, 0xffffffffu), 0);
	assert_int_equal(map.count, 20);
	objmap_finish(&map);
}

static void test_remove_and_reuse(void **state) {
	struct objmap map;
	objmap_init(&map, sizeof(struct thing));
	struct thing *slots[6];
	for (uint32_t id = 1; id <= 5; id++) {
		slots[id] = put(&map, id, RECT);
	}
	assert_int_equal(map.count, 5);

	uint8_t type;
	assert_int_equal(objmap_remove(&map, 3), 1);
	assert_int_equal(map.count, 4);
	assert_null(get(&map, 3, &type));
	assert_int_equal(type, OBJMAP_FREE);
	assert_int_equal(objmap_remove(&map, 3), 0);
	assert_int_equal(map.count, 4);
	assert_ptr_equal(get(&map, 2, &type), slots[2]);
	assert_ptr_equal(get(&map, 4, &type), slots[4]);
	assert_int_equal(slots[2]->id, 2);
	assert_int_equal(slots[4]->id, 4);

	// The freed id can be taken again, by another kind of object, in the same slot.
	void *slot = NULL;
	assert_int_equal(objmap_insert(&map, 3, CALLBACK, &slot), 0);
	assert_ptr_equal(slot, slots[3]);
	assert_ptr_equal(get(&map, 3, &type), slots[3]);
	assert_int_equal(type, CALLBACK);
	assert_int_equal(map.count, 5);
	assert_int_equal(objmap_insert(&map, 3, RECT, &slot), -TS_ERR_id_in_use);

	// Removing the highest id does not lower the limit for new ids.
	assert_int_equal(objmap_remove(&map, 5), 1);
	assert_int_equal(map.used, 5);
	assert_int_equal(objmap_insert(&map, 7, RECT, &slot), -TS_ERR_invalid_id);
	put(&map, 6, RECT);
	put(&map, 5, RECT);
	assert_int_equal(map.count, 6);

	// Emptying the table keeps it consistent.
	for (uint32_t id = 1; id <= 6; id++) {
		assert_int_equal(objmap_remove(&map, id), 1);
	}
	assert_int_equal(map.count, 0);
	for (uint32_t id = 1; id <= 8; id++) {
		assert_null(get(&map, id, &type));
	}
	put(&map, 1, RECT);
	put(&map, 7, RECT);
	assert_int_equal(map.count, 2);
	objmap_finish(&map);
}

// Enough ids for many chunks (8, 16, ... slots): every slot keeps its own
// contents (no two overlap), and no slot moves when the table grows.
static void test_growth(void **state) {
	enum { N = 100000 };
	struct objmap map;
	objmap_init(&map, sizeof(struct thing));
	const uint32_t chunk0 = 1u << OBJMAP_FIRST_SHIFT;
	struct thing *first = put(&map, 1, RECT);
	struct thing *last_of_chunk0 = NULL, *first_of_chunk1 = NULL;
	for (uint32_t id = 2; id <= N; id++) {
		struct thing *t = put(&map, id, id % 7 == 0 ? CALLBACK : RECT);
		if (id == chunk0) {
			last_of_chunk0 = t;
		} else if (id == chunk0 + 1) {
			first_of_chunk1 = t;
		}
		assert_int_equal(map.count, id);
		assert_int_equal(map.used, id);
	}
	assert_non_null(map.chunks[0]);
	assert_non_null(map.chunks[1]);
	// Chunks 0 to k - 1 hold chunk0 * (2^k - 1) ids: exactly those needed for N.
	unsigned k = 1;
	while (chunk0 * ((1u << k) - 1) < N) {
		k++;
	}
	assert_non_null(map.chunks[k - 1]);
	assert_null(map.chunks[k]);
	for (uint32_t id = 1; id <= N; id++) {
		uint8_t type;
		struct thing *t = get(&map, id, &type);
		assert_non_null(t);
		if (t->id != id || t->check != ~id ||
				t->fill[1] != (uint64_t)id * 0x9e3779b97f4a7c15ull) {
			fail_msg("slot of id %u holds id %u", id, t->id);
		}
		assert_int_equal(type, id % 7 == 0 ? CALLBACK : RECT);
	}
	uint8_t type;
	assert_ptr_equal(get(&map, 1, &type), first);
	assert_ptr_equal(get(&map, chunk0, &type), last_of_chunk0);
	assert_ptr_equal(get(&map, chunk0 + 1, &type), first_of_chunk1);
	assert_null(get(&map, N + 1, &type));
	void *slot;
	assert_int_equal(objmap_insert(&map, N + 2, RECT, &slot), -TS_ERR_invalid_id);

	// Free every third id, check the rest, then take them all back.
	uint32_t removed = 0;
	for (uint32_t id = 3; id <= N; id += 3) {
		assert_int_equal(objmap_remove(&map, id), 1);
		removed++;
	}
	assert_int_equal(map.count, N - removed);
	for (uint32_t id = 1; id <= N; id++) {
		if (id % 3 == 0) {
			assert_null(get(&map, id, &type));
			put(&map, id, RECT);
		} else {
			struct thing *t = get(&map, id, &type);
			assert_non_null(t);
			assert_int_equal(t->id, id);
			assert_int_equal(objmap_insert(&map, id, RECT, &slot), -TS_ERR_id_in_use);
		}
	}
	assert_int_equal(map.count, N);
	assert_int_equal(map.used, N);
	objmap_finish(&map);
}

static void test_finish(void **state) {
	struct objmap map;
	objmap_init(&map, 8);
	// Finishing an empty table is fine.
	objmap_finish(&map);
	assert_null(map.chunks[0]);

	for (uint32_t id = 1; id <= 200; id++) {
		void *slot;
		assert_int_equal(objmap_insert(&map, id, RECT, &slot), 0);
		memset(slot, 0xab, 8);
	}
	// Live objects and free ids alike go: nothing to remove one by one first. Under
	// AddressSanitizer, a chunk left behind is a leak.
	objmap_remove(&map, 100);
	objmap_finish(&map);
	for (unsigned k = 0; k < OBJMAP_CHUNKS; k++) {
		assert_null(map.chunks[k]);
	}
	assert_int_equal(map.count, 0);
	assert_int_equal(map.used, 0);
	assert_int_equal(map.slot_size, 8);
	uint8_t type;
	assert_null(get(&map, 1, &type));
	assert_null(get(&map, 200, &type));

	// A finished table is like a new one.
	void *slot;
	assert_int_equal(objmap_insert(&map, 2, RECT, &slot), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, 1, RECT, &slot), 0);
	assert_non_null(get(&map, 1, &type));
	objmap_finish(&map);
}

// Slots are 8-byte aligned (objects hold 64-bit fields) and a multiple of 8 apart.
static void test_alignment(void **state) {
	static const size_t sizes[] = { 8, 24, 32, 4096 };
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct objmap map;
		objmap_init(&map, sizes[s]);
		for (uint32_t id = 1; id <= 300; id++) {
			void *slot;
			assert_int_equal(objmap_insert(&map, id, RECT, &slot), 0);
			assert_int_equal((uintptr_t)slot % 8, 0);
			memset(slot, (int)id, sizes[s]);
		}
		for (uint32_t id = 1; id <= 300; id++) {
			uint8_t type;
			const uint8_t *slot = objmap_lookup(&map, id, &type);
			assert_int_equal(slot[0], (uint8_t)id);
			assert_int_equal(slot[sizes[s] - 1], (uint8_t)id);
		}
		objmap_finish(&map);
	}
}

#ifdef TESSERA_HAVE_ASAN
// Under AddressSanitizer a freed slot is poisoned whole, so a pointer kept to a
// destroyed object is caught; a live slot is not.
static void test_poisoned_when_free(void **state) {
	struct objmap map;
	objmap_init(&map, sizeof(struct thing));
	struct thing *a = put(&map, 1, RECT);
	struct thing *b = put(&map, 2, RECT);
	assert_false(__asan_region_is_poisoned(a, sizeof *a));
	objmap_remove(&map, 1);
	assert_true(__asan_address_is_poisoned(&a->id));
	assert_true(__asan_address_is_poisoned(&a->fill[1]));
	assert_false(__asan_region_is_poisoned(b, sizeof *b));
	// Taken again, it is usable again.
	struct thing *again = put(&map, 1, CALLBACK);
	assert_ptr_equal(again, a);
	assert_false(__asan_region_is_poisoned(a, sizeof *a));
	objmap_finish(&map);
}
#endif

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_rules),
		cmocka_unit_test(test_lookup_out_of_range),
		cmocka_unit_test(test_remove_and_reuse),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_alignment),
#ifdef TESSERA_HAVE_ASAN
		cmocka_unit_test(test_poisoned_when_free),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
