/*
 * Unit tests for the limits table: defaults, parsing of --limit NAME=VALUE and its
 * errors, and the names reported by tessera-info.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "limit.h"

static uint32_t value_of(const struct server_limits *limits, const char *name) {
	for (size_t i = 0; i < limits_count(); i++) {
		if (strcmp(limits_name(i), name) == 0) {
			return limits_value(limits, i);
		}
	}
	fail_msg("no limit named %s", name);
	return 0;
}

static void test_defaults(void **state) {
	struct server_limits l;
	memset(&l, 0xff, sizeof l);
	limits_init(&l);
	assert_int_equal(l.clients, 256);
	assert_int_equal(l.pending_clients, 128);
	assert_int_equal(l.objects, 65536);
	assert_int_equal(l.nodes, 65536);
	assert_int_equal(l.depth, 64);
	assert_int_equal(l.client_bytes, 16u << 20);
	assert_int_equal(l.texture_bytes, 64u << 20);
	assert_int_equal(l.shm_bytes, 256u << 20);
	assert_int_equal(l.out_bytes, 1u << 20);
	assert_int_equal(l.fds, 28);
	assert_int_equal(l.requests, 1024);
	assert_int_equal(l.hello_timeout_ms, 5000);
	assert_int_equal(l.text_bytes, 64u << 10);
	assert_int_equal(l.glyph_bytes, 8u << 20);
	assert_int_equal(l.atlas_bytes, 16u << 20);
	// The names are the table's, in its order, and match the fields.
	assert_int_equal(limits_count(), 15);
	assert_string_equal(limits_name(0), "clients");
	assert_string_equal(limits_name(1), "pending_clients");
	assert_string_equal(limits_name(3), "nodes");
	assert_string_equal(limits_name(4), "depth");
	assert_string_equal(limits_name(6), "texture_bytes");
	assert_string_equal(limits_name(7), "shm_bytes");
	assert_string_equal(limits_name(8), "text_bytes");
	assert_string_equal(limits_name(9), "glyph_bytes");
	assert_string_equal(limits_name(10), "atlas_bytes");
	assert_string_equal(limits_name(14), "hello_timeout_ms");
	assert_null(limits_name(15));
	assert_int_equal(value_of(&l, "pending_clients"), l.pending_clients);
	assert_int_equal(value_of(&l, "requests"), l.requests);
	assert_int_equal(value_of(&l, "client_bytes"), l.client_bytes);
	assert_int_equal(value_of(&l, "depth"), l.depth);
	assert_int_equal(value_of(&l, "glyph_bytes"), l.glyph_bytes);
}

static void test_parse(void **state) {
	struct server_limits l;
	limits_init(&l);
	char err[200] = "";
	assert_true(limits_parse(&l, "objects=1000", err, sizeof err));
	assert_int_equal(l.objects, 1000);
	assert_true(limits_parse(&l, "client_bytes=2M", err, sizeof err));
	assert_int_equal(l.client_bytes, 2u << 20);
	assert_true(limits_parse(&l, "out_bytes=64k", err, sizeof err));
	assert_int_equal(l.out_bytes, 64u << 10);
	assert_true(limits_parse(&l, "objects=1G", err, sizeof err) == false);
	assert_int_equal(l.objects, 1000); // unchanged after a refusal
	assert_true(limits_parse(&l, "clients=1", err, sizeof err));
	assert_int_equal(l.clients, 1);
	assert_int_equal(l.requests, 1024); // the others untouched
}

static void test_parse_errors(void **state) {
	struct server_limits l, before;
	limits_init(&l);
	before = l;
	static const struct {
		const char *text, *says;
	} cases[] = {
		{ "objects", "expected NAME=VALUE" },
		{ "=5", "expected NAME=VALUE" },
		{ "nonsense=5", "unknown limit 'nonsense'" },
		{ "object=5", "unknown limit 'object'" },      // a prefix is not a name
		{ "objectsx=5", "unknown limit 'objectsx'" },
		{ "objects=", "not a number" },
		{ "objects=-1", "not a number" },
		{ "objects=+1", "not a number" },
		{ "objects= 1", "not a number" },
		{ "objects=12x", "not a number" },
		{ "objects=1KK", "not a number" },
		{ "objects=0", "out of range (1 to 16777216)" },
		{ "fds=29", "out of range (1 to 28)" },
		{ "clients=99999999999999999999", "not a number" },
		{ "client_bytes=4G", "out of range" },          // past 32 bits
		{ "client_bytes=4194304K", "out of range" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[200] = "";
		assert_false(limits_parse(&l, cases[i].text, err, sizeof err));
		if (strstr(err, cases[i].says) == NULL) {
			fail_msg("--limit %s: message '%s' does not say '%s'", cases[i].text, err,
				cases[i].says);
		}
		assert_memory_equal(&l, &before, sizeof l);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
