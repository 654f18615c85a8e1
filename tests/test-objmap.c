/*
 * Unit tests of a client's object table: the id rules of PROTOCOL.md ("Object ids"),
 * lookups that must never index out of range, removal, reuse and growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "objmap.h"
#include "tessera-protocol.h"

// The table never looks inside objects; the test gives them an id to check against.
struct object {
	uint32_t id;
};

static void test_insert_rules(void **state) {
	struct objmap map;
	objmap_init(&map);
	struct object a = { 1 }, b = { 2 }, c = { 3 };

	assert_int_equal(objmap_insert(&map, 0, &a), -TS_ERR_invalid_id);
	// More than one past the highest id used so far (none yet).
	assert_int_equal(objmap_insert(&map, 2, &a), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, TS_MAX_ID, &a), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, TS_MAX_ID + 1, &a), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, 0xffffffffu, &a), -TS_ERR_invalid_id);
	assert_int_equal(map.count, 0);
	assert_int_equal(map.used, 0);

	assert_int_equal(objmap_insert(&map, 1, &a), 0);
	assert_int_equal(map.count, 1);
	assert_int_equal(map.used, 1);
	assert_int_equal(objmap_insert(&map, 1, &b), -TS_ERR_id_in_use);
	assert_ptr_equal(objmap_lookup(&map, 1), &a);
	assert_int_equal(objmap_insert(&map, 3, &c), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, 0, &c), -TS_ERR_invalid_id);
	assert_int_equal(map.count, 1);

	assert_int_equal(objmap_insert(&map, 2, &b), 0);
	assert_int_equal(objmap_insert(&map, 3, &c), 0);
	assert_int_equal(objmap_insert(&map, 2, &a), -TS_ERR_id_in_use);
	assert_int_equal(objmap_insert(&map, 5, &a), -TS_ERR_invalid_id);
	assert_int_equal(map.count, 3);
	assert_int_equal(map.used, 3);
	assert_ptr_equal(objmap_lookup(&map, 1), &a);
	assert_ptr_equal(objmap_lookup(&map, 2), &b);
	assert_ptr_equal(objmap_lookup(&map, 3), &c);
	objmap_finish(&map);
}

static void test_lookup_out_of_range(void **state) {
	struct objmap map;
	objmap_init(&map);
	// An empty table has no array at all: nothing may index it.
	static const uint32_t ids[] = { 0, 1, 2, 17, TS_MAX_ID, TS_MAX_ID + 1, 0x80000000u,
		0xfffffffeu, 0xffffffffu };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		assert_null(objmap_lookup(&map, ids[i]));
		assert_null(objmap_remove(&map, ids[i]));
	}
	assert_int_equal(map.count, 0);

	struct object objs[20];
	for (uint32_t id = 1; id <= 20; id++) {
		objs[id - 1].id = id;
		assert_int_equal(objmap_insert(&map, id, &objs[id - 1]), 0);
	}
	assert_true(map.cap >= 20);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		if (ids[i] >= 1 && ids[i] <= 20) {
			assert_ptr_equal(objmap_lookup(&map, ids[i]), &objs[ids[i] - 1]);
		} else {
			assert_null(objmap_lookup(&map, ids[i]));
		}
	}
	// Past the highest used id but inside the allocated array.
	assert_null(objmap_lookup(&map, 21));
	assert_null(objmap_lookup(&map, map.cap));
	assert_null(objmap_lookup(&map, map.cap + 1));
	assert_null(objmap_remove(&map, 21));
	assert_null(objmap_remove(&map, 0));
	assert_null(objmap_remove(&map, 0xffffffffu));
	assert_int_equal(map.count, 20);
	objmap_finish(&map);
}

static void test_remove_and_reuse(void **state) {
	struct objmap map;
	objmap_init(&map);
	struct object objs[6];
	for (uint32_t id = 1; id <= 5; id++) {
		objs[id - 1].id = id;
		assert_int_equal(objmap_insert(&map, id, &objs[id - 1]), 0);
	}
	assert_int_equal(map.count, 5);

	assert_ptr_equal(objmap_remove(&map, 3), &objs[2]);
	assert_int_equal(map.count, 4);
	assert_null(objmap_lookup(&map, 3));
	assert_null(objmap_remove(&map, 3));
	assert_int_equal(map.count, 4);
	assert_ptr_equal(objmap_lookup(&map, 2), &objs[1]);
	assert_ptr_equal(objmap_lookup(&map, 4), &objs[3]);

	// The freed id can be taken again, by another object.
	objs[5].id = 3;
	assert_int_equal(objmap_insert(&map, 3, &objs[5]), 0);
	assert_ptr_equal(objmap_lookup(&map, 3), &objs[5]);
	assert_int_equal(map.count, 5);
	assert_int_equal(objmap_insert(&map, 3, &objs[0]), -TS_ERR_id_in_use);

	// Removing the highest id does not lower the limit for new ids.
	assert_ptr_equal(objmap_remove(&map, 5), &objs[4]);
	assert_int_equal(map.used, 5);
	assert_int_equal(objmap_insert(&map, 7, &objs[0]), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, 6, &objs[4]), 0);
	assert_int_equal(objmap_insert(&map, 5, &objs[4]), 0);
	assert_int_equal(map.count, 6);

	// Emptying the table keeps it consistent.
	for (uint32_t id = 1; id <= 6; id++) {
		assert_non_null(objmap_remove(&map, id));
	}
	assert_int_equal(map.count, 0);
	for (uint32_t id = 1; id <= 8; id++) {
		assert_null(objmap_lookup(&map, id));
	}
	assert_int_equal(objmap_insert(&map, 1, &objs[0]), 0);
	assert_int_equal(objmap_insert(&map, 7, &objs[1]), 0);
	assert_int_equal(map.count, 2);
	objmap_finish(&map);
}

static void test_growth(void **state) {
	enum { N = 100000 };
	struct object *objs = calloc(N + 1, sizeof *objs);
	assert_non_null(objs);
	struct objmap map;
	objmap_init(&map);
	for (uint32_t id = 1; id <= N; id++) {
		objs[id].id = id;
		assert_int_equal(objmap_insert(&map, id, &objs[id]), 0);
		assert_int_equal(map.count, id);
		assert_true(map.cap >= map.used);
	}
	assert_int_equal(map.used, N);
	for (uint32_t id = 1; id <= N; id++) {
		struct object *o = objmap_lookup(&map, id);
		assert_non_null(o);
		assert_int_equal(o->id, id);
	}
	assert_null(objmap_lookup(&map, N + 1));
	assert_int_equal(objmap_insert(&map, N + 2, &objs[0]), -TS_ERR_invalid_id);

	// Free every third id, check the rest, then take them all back.
	uint32_t removed = 0;
	for (uint32_t id = 3; id <= N; id += 3) {
		assert_ptr_equal(objmap_remove(&map, id), &objs[id]);
		removed++;
	}
	assert_int_equal(map.count, N - removed);
	for (uint32_t id = 1; id <= N; id++) {
		if (id % 3 == 0) {
			assert_null(objmap_lookup(&map, id));
			assert_int_equal(objmap_insert(&map, id, &objs[id]), 0);
		} else {
			assert_ptr_equal(objmap_lookup(&map, id), &objs[id]);
			assert_int_equal(objmap_insert(&map, id, &objs[0]), -TS_ERR_id_in_use);
		}
	}
	assert_int_equal(map.count, N);
	assert_int_equal(map.used, N);
	objmap_finish(&map);
	free(objs);
}

static void test_finish(void **state) {
	struct objmap map;
	objmap_init(&map);
	struct object a = { 1 };
	// Finishing an empty table is fine.
	objmap_finish(&map);
	assert_null(map.slots);

	for (uint32_t id = 1; id <= 40; id++) {
		assert_int_equal(objmap_insert(&map, id, &a), 0);
	}
	objmap_finish(&map);
	assert_null(map.slots);
	assert_int_equal(map.count, 0);
	assert_int_equal(map.used, 0);
	assert_int_equal(map.cap, 0);
	assert_null(objmap_lookup(&map, 1));
	assert_null(objmap_lookup(&map, 40));

	// A finished table is like a new one.
	assert_int_equal(objmap_insert(&map, 2, &a), -TS_ERR_invalid_id);
	assert_int_equal(objmap_insert(&map, 1, &a), 0);
	assert_ptr_equal(objmap_lookup(&map, 1), &a);
	objmap_finish(&map);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_rules),
		cmocka_unit_test(test_lookup_out_of_range),
		cmocka_unit_test(test_remove_and_reuse),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
