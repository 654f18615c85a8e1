/*
 * Unit tests of the field types the spec file brought: fixed point, arrays (with and
 * without an element size), nullable ids and the interface each id names. A small
 * test-only table, built here by hand, exercises what no v1 message has; the tables
 * generated from tessera.protocol are compared with a copy of the v1 table written out
 * below, so that no existing message can change by accident.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

/* ---- a test-only table ---- */

enum {
	T_MOVE,       // o:rect id, f x, f angle, i z: plain, fixed on the fast path
	T_BYTES,      // o:rect id, a data
	T_BOXES,      // o:rect id, a:16 boxes
	T_REPARENT,   // o:rect node, o?:rect parent
	T_CREATE,     // n:rect id, o?:rect parent, u flags
	T_MIXED,      // o?:rect parent, a:4 words, s name, a tail
	T_COUNT,
};

static const struct ts_arg_desc t_args[T_COUNT][TS_MAX_ARGS] = {
	[T_MOVE] = { [0] = { .interface = "rect", .interfaces = 1u << 1 } },
	[T_BYTES] = { [0] = { .interface = "rect", .interfaces = 1u << 1 } },
	[T_BOXES] = {
		[0] = { .interface = "rect", .interfaces = 1u << 1 },
		[1] = { .elem_size = 16 },
	},
	[T_REPARENT] = {
		[0] = { .interface = "rect", .interfaces = 1u << 1 },
		[1] = { .interface = "rect", .interfaces = 1u << 1, .nullable = true },
	},
	[T_CREATE] = {
		[0] = { .interface = "rect", .interfaces = 1u << 1 },
		[1] = { .interface = "rect", .interfaces = 1u << 1, .nullable = true },
	},
	[T_MIXED] = {
		[0] = { .interface = "rect", .interfaces = 1u << 1, .nullable = true },
		[1] = { .elem_size = 4 },
	},
};

static const struct ts_message_desc t_messages[T_COUNT] = {
	[T_MOVE] = { "move", "offi", "id x angle z", "rect", 2, t_args[T_MOVE] },
	[T_BYTES] = { "bytes", "oa", "id data", "rect", 2, t_args[T_BYTES] },
	[T_BOXES] = { "boxes", "oa", "id boxes", "rect", 2, t_args[T_BOXES] },
	[T_REPARENT] = { "reparent", "oo", "node parent", "rect", 2, t_args[T_REPARENT] },
	[T_CREATE] = { "create", "nou", "id parent flags", "rect", 2, t_args[T_CREATE] },
	[T_MIXED] = { "mixed", "oasa", "parent words name tail", "rect", 2, t_args[T_MIXED] },
};

static struct ts_message_meta t_meta[T_COUNT];
static const struct ts_interface t_iface = {
	.messages = t_messages, .meta = t_meta, .count = T_COUNT,
};

static int setup_table(void **state) {
	for (unsigned op = 0; op < T_COUNT; op++) {
		t_meta[op] = ts_message_meta_of(&t_messages[op]);
	}
	return 0;
}

/* ---- helpers ---- */

static uint8_t msg[TS_MAX_MESSAGE + 64] __attribute__((aligned(8)));

// Writes a header for a body of @body_words words already in msg + 8.
static void put_header(uint16_t opcode, unsigned body_words) {
	ts_put_u32(msg, TS_HEADER_SIZE + 4 * body_words);
	ts_put_u32(msg + 4, opcode);
}

static int decode(uint16_t opcode, union ts_arg *args, const char **why) {
	struct ts_header hdr;
	assert_int_equal(ts_header_read(msg, sizeof msg, &hdr), TS_HEADER_OK);
	assert_int_equal(hdr.opcode, opcode);
	*why = "";
	return ts_decode(&t_iface, msg, &hdr, NULL, args, why);
}

/* ---- fixed point ---- */

static void test_fixed(void **state) {
	assert_int_equal(ts_fixed_from_double(1.0), 0x10000);
	assert_int_equal(ts_fixed_from_double(1.5), 0x18000);
	assert_int_equal(ts_fixed_from_double(-1.5), -0x18000);
	assert_int_equal(ts_fixed_from_double(0.0), 0);
	assert_int_equal(ts_fixed_from_double(1.0 / 65536), 1);
	assert_int_equal(ts_fixed_from_double(0.4 / 65536), 0);     // rounds to nearest
	assert_int_equal(ts_fixed_from_double(0.6 / 65536), 1);
	assert_int_equal(ts_fixed_from_double(-0.6 / 65536), -1);
	assert_int_equal(ts_fixed_from_double(32767.0), 32767 << 16);
	assert_int_equal(ts_fixed_from_double(-32768.0), INT32_MIN);
	assert_int_equal(ts_fixed_from_double(1e9), INT32_MAX);    // saturates
	assert_int_equal(ts_fixed_from_double(-1e9), INT32_MIN);
	assert_int_equal(ts_fixed_from_double(0.0 / 0.0), 0);      // NaN
	assert_true(ts_fixed_to_double(0x18000) == 1.5);
	assert_true(ts_fixed_to_double(-1) == -1.0 / 65536);
	assert_true(ts_fixed_to_double(INT32_MIN) == -32768.0);
	assert_int_equal(ts_fixed_from_int(-3), -3 * 65536);
	assert_int_equal(ts_fixed_from_int(7), 7 << 16);
	// Every value survives to double and back.
	for (int64_t v = INT32_MIN; v <= INT32_MAX; v += 65521) {
		assert_int_equal(ts_fixed_from_double(ts_fixed_to_double((int32_t)v)), (int32_t)v);
	}
}

static void test_fixed_round_trip(void **state) {
	const int32_t values[] = { 0, 1, -1, 0x18000, -0x18000, INT32_MIN, INT32_MAX,
		ts_fixed_from_double(359.99), ts_fixed_from_double(0.25) };
	for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
		union ts_arg in[4] = { { .u = 3 }, { .f = values[k] }, { .f = (int32_t)(0u - (uint32_t)values[k]) },
			{ .i = -(int32_t)k } };
		size_t size = ts_encode(msg, sizeof msg, &t_iface, T_MOVE, in);
		assert_int_equal(size, TS_HEADER_SIZE + 16);
		assert_true(t_meta[T_MOVE].plain);
		assert_int_equal(t_meta[T_MOVE].size, size);
		assert_int_equal((int32_t)ts_get_u32(msg + 12), values[k]); // as an int32
		union ts_arg out[TS_MAX_ARGS];
		const char *why;
		assert_int_equal(decode(T_MOVE, out, &why), 0);
		assert_int_equal(out[0].u, 3);
		assert_int_equal(out[1].f, values[k]);
		assert_int_equal(out[2].f, (int32_t)(0u - (uint32_t)values[k]));
		assert_int_equal(out[3].i, -(int32_t)k);
	}
}

/* ---- arrays ---- */

static void test_array_round_trip(void **state) {
	uint8_t data[300];
	for (size_t k = 0; k < sizeof data; k++) {
		data[k] = (uint8_t)(k * 7 + 1);
	}
	for (uint32_t len = 0; len <= 40; len++) {
		union ts_arg in[2] = { { .u = 9 }, { .a = { .data = data, .size = len } } };
		size_t padded = (len + 3) & ~3u;
		size_t size = ts_encode(msg, sizeof msg, &t_iface, T_BYTES, in);
		assert_int_equal(size, TS_HEADER_SIZE + 4 + 4 + padded);
		assert_int_equal(ts_encoded_size(&t_iface, T_BYTES, in), size);
		// uint32 byte length, the bytes, zeros to 4.
		assert_int_equal(ts_get_u32(msg + 12), len);
		if (len != 0) {
			assert_memory_equal(msg + 16, data, len);
		}
		for (size_t k = len; k < padded; k++) {
			assert_int_equal(msg[16 + k], 0);
		}
		union ts_arg out[TS_MAX_ARGS];
		const char *why;
		assert_int_equal(decode(T_BYTES, out, &why), 0);
		assert_int_equal(out[1].a.size, len);
		assert_ptr_equal(out[1].a.data, msg + 16); // into the message buffer
		if (len != 0) {
			assert_memory_equal(out[1].a.data, data, len);
		}
	}
	// An empty array may have no data at all.
	union ts_arg empty[2] = { { .u = 9 }, { .a = { .data = NULL, .size = 0 } } };
	assert_int_equal(ts_encode(msg, sizeof msg, &t_iface, T_BYTES, empty), 16);
}

static void test_array_elem_size(void **state) {
	int32_t boxes[4 * 5];
	for (int k = 0; k < 20; k++) {
		boxes[k] = k - 10;
	}
	for (uint32_t n = 0; n <= 5; n++) {
		union ts_arg in[2] = { { .u = 1 }, { .a = { .data = boxes, .size = 16 * n } } };
		size_t size = ts_encode(msg, sizeof msg, &t_iface, T_BOXES, in);
		assert_int_equal(size, 16 + 16 * n);
		union ts_arg out[TS_MAX_ARGS];
		const char *why;
		assert_int_equal(decode(T_BOXES, out, &why), 0);
		assert_int_equal(out[1].a.size, 16 * n);
		if (n != 0) {
			assert_memory_equal(out[1].a.data, boxes, 16 * n);
		}
	}
	// The encoder refuses what the decoder would.
	for (uint32_t len = 1; len < 16; len++) {
		union ts_arg in[2] = { { .u = 1 }, { .a = { .data = boxes, .size = len } } };
		assert_int_equal(ts_encoded_size(&t_iface, T_BOXES, in), 0);
		assert_int_equal(ts_encode(msg, sizeof msg, &t_iface, T_BOXES, in), 0);
	}
	union ts_arg bad[2] = { { .u = 1 }, { .a = { .data = boxes, .size = 20 } } };
	assert_int_equal(ts_encode(msg, sizeof msg, &t_iface, T_BOXES, bad), 0);
	union ts_arg null_data[2] = { { .u = 1 }, { .a = { .data = NULL, .size = 16 } } };
	assert_int_equal(ts_encode(msg, sizeof msg, &t_iface, T_BOXES, null_data), 0);
	static uint8_t big[TS_MAX_MESSAGE * 2];
	union ts_arg too_big[2] = { { .u = 1 }, { .a = { .data = big, .size = sizeof big } } };
	assert_int_equal(ts_encoded_size(&t_iface, T_BYTES, too_big), 0);
	too_big[1].a.size = TS_MAX_MESSAGE - 16; // fits exactly
	assert_int_equal(ts_encoded_size(&t_iface, T_BYTES, too_big), TS_MAX_MESSAGE);
	too_big[1].a.size++;
	assert_int_equal(ts_encoded_size(&t_iface, T_BYTES, too_big), 0);
}

static void test_array_several(void **state) {
	uint32_t words[3] = { 1, 2, 3 };
	union ts_arg in[4] = {
		{ .u = 0 }, { .a = { .data = words, .size = 12 } }, { .s = "abcde" },
		{ .a = { .data = "xyz", .size = 3 } },
	};
	size_t size = ts_encode(msg, sizeof msg, &t_iface, T_MIXED, in);
	assert_int_equal(size, TS_HEADER_SIZE + 4 + 16 + 12 + 8);
	union ts_arg out[TS_MAX_ARGS];
	const char *why;
	assert_int_equal(decode(T_MIXED, out, &why), 0);
	assert_int_equal(out[0].u, 0);
	assert_int_equal(out[1].a.size, 12);
	assert_memory_equal(out[1].a.data, words, 12);
	assert_string_equal(out[2].s, "abcde");
	assert_int_equal(out[3].a.size, 3);
	assert_memory_equal(out[3].a.data, "xyz", 3);
}

// Every malformed array: the code and a why that says what is wrong.
static void test_array_malformed(void **state) {
	union ts_arg args[TS_MAX_ARGS];
	const char *why;
	struct {
		uint16_t opcode;
		uint32_t words[6];   // the body
		unsigned count;      // words of it
		const char *why;     // a part of the expected why
	} cases[] = {
		// A length over the rest of the message, up to the largest uint32.
		{ T_BYTES, { 1, 100 }, 2, "past the end" },
		{ T_BYTES, { 1, 5, 0 }, 3, "past the end" },
		{ T_BYTES, { 1, 0xffffffffu }, 2, "past the end" },
		{ T_BYTES, { 1, 0xfffffffdu, 0, 0 }, 4, "past the end" },
		// Its bytes fit, its padding does not.
		{ T_BYTES, { 1, 5, 0x01020304 }, 3, "past the end" },
		// No length at all.
		{ T_BYTES, { 1 }, 1, "shorter" },
		// Not a multiple of the element size.
		{ T_BOXES, { 1, 8, 0, 0 }, 4, "multiple" },
		{ T_BOXES, { 1, 4, 0 }, 3, "multiple" },
		{ T_MIXED, { 0, 2, 0, 0, 0 }, 5, "multiple" },
		// Non-zero padding, in each of the three pad bytes.
		{ T_BYTES, { 1, 1, 0x0000ab00 }, 3, "padding not zero" },
		{ T_BYTES, { 1, 2, 0x00ab0000 }, 3, "padding not zero" },
		{ T_BYTES, { 1, 3, 0xab000000 }, 3, "padding not zero" },
		// Bytes left over after the last field.
		{ T_BYTES, { 1, 4, 0, 0 }, 4, "longer" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		memset(msg, 0, sizeof msg);
		for (unsigned k = 0; k < cases[c].count; k++) {
			ts_put_u32(msg + 8 + 4 * k, cases[c].words[k]);
		}
		put_header(cases[c].opcode, cases[c].count);
		int rc = decode(cases[c].opcode, args, &why);
		if (rc != TS_ERR_invalid_message || strstr(why, cases[c].why) == NULL) {
			fail_msg("case %zu: code %d (%s), wanted invalid_message (%s)", c, rc, why,
				cases[c].why);
		}
	}
	// The same with the padding right is fine.
	memset(msg, 0, sizeof msg);
	ts_put_u32(msg + 8, 1);
	ts_put_u32(msg + 12, 3);
	ts_put_u32(msg + 16, 0x00ababab);
	put_header(T_BYTES, 3);
	assert_int_equal(decode(T_BYTES, args, &why), 0);
	assert_int_equal(args[1].a.size, 3);
}

/* ---- ids ---- */

static void test_nullable_ids(void **state) {
	union ts_arg args[TS_MAX_ARGS];
	const char *why;
	const struct ts_message_meta *m = &t_meta[T_REPARENT];
	assert_true(m->plain);
	assert_int_equal(m->ids, 3);
	assert_int_equal(m->nullable, 2);
	assert_int_equal(t_meta[T_CREATE].nullable, 2);
	assert_int_equal(t_meta[T_CREATE].ids, 3);
	assert_int_equal(t_meta[T_MIXED].nullable, 1);
	assert_false(t_meta[T_MIXED].plain);
	struct {
		uint16_t opcode;
		uint32_t a, b, c;
		int rc;
	} cases[] = {
		{ T_REPARENT, 5, 0, 0, 0 },              // no parent
		{ T_REPARENT, 5, 6, 0, 0 },
		{ T_REPARENT, 5, TS_MAX_ID, 0, 0 },
		{ T_REPARENT, 0, 6, 0, TS_ERR_invalid_id },   // not nullable
		{ T_REPARENT, 0, 0, 0, TS_ERR_invalid_id },
		{ T_REPARENT, 5, TS_MAX_ID + 1, 0, TS_ERR_invalid_id },
		{ T_REPARENT, 5, 0xffffffffu, 0, TS_ERR_invalid_id },
		{ T_CREATE, 1, 0, 7, 0 },
		{ T_CREATE, 0, 1, 7, TS_ERR_invalid_id },     // a new id is never 0
		{ T_CREATE, 1, TS_MAX_ID + 1, 7, TS_ERR_invalid_id },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		ts_put_u32(msg + 8, cases[c].a);
		ts_put_u32(msg + 12, cases[c].b);
		ts_put_u32(msg + 16, cases[c].c);
		unsigned words = cases[c].opcode == T_CREATE ? 3 : 2;
		put_header(cases[c].opcode, words);
		int rc = decode(cases[c].opcode, args, &why);
		if (rc != cases[c].rc) {
			fail_msg("case %zu: %d (%s), wanted %d", c, rc, why, cases[c].rc);
		}
		// The fast path says the same.
		struct ts_header hdr;
		assert_int_equal(ts_header_read(msg, sizeof msg, &hdr), TS_HEADER_OK);
		union ts_arg fast[TS_MAX_ARGS];
		assert_int_equal(ts_decode_plain(&t_meta[cases[c].opcode], msg, &hdr, fast, &why),
			cases[c].rc);
		if (rc == 0) {
			assert_int_equal(args[1].u, cases[c].b);
			assert_int_equal(fast[1].u, cases[c].b);
		}
	}
	// A nullable id on the slow path (a message with arrays and a string).
	union ts_arg in[4] = { { .u = 0 }, { .a = { 0 } }, { .s = "" }, { .a = { 0 } } };
	assert_int_equal(ts_encode(msg, sizeof msg, &t_iface, T_MIXED, in), 28);
	assert_int_equal(decode(T_MIXED, args, &why), 0);
	assert_int_equal(args[0].u, 0);
	ts_put_u32(msg + 8, TS_MAX_ID + 1);
	assert_int_equal(decode(T_MIXED, args, &why), TS_ERR_invalid_id);
}

static void test_typed_ids(void **state) {
	// What the generated table says each id must name.
	const struct ts_arg_desc *a = ts_requests[TS_REQ_rect_set_color].args;
	assert_string_equal(a[0].interface, "rect");
	assert_int_equal(a[0].interfaces, TS_IFACE_MASK_rect);
	assert_int_equal(a[0].interfaces, 1u << TS_IFACE_rect);
	assert_null(a[1].interface);
	assert_int_equal(a[1].interfaces, 0);
	assert_false(a[0].nullable);
	// The node family: a group, a rect, an image or a text.
	a = ts_requests[TS_REQ_node_set_position].args;
	assert_string_equal(a[0].interface, "node");
	assert_int_equal(a[0].interfaces, (1u << TS_IFACE_group) | (1u << TS_IFACE_rect) |
		(1u << TS_IFACE_image) | (1u << TS_IFACE_text));
	// A parent may be none (the client's root).
	a = ts_requests[TS_REQ_rect_create].args;
	assert_string_equal(a[1].interface, "group");
	assert_true(a[1].nullable);
	a = ts_requests[TS_REQ_destroy].args;
	assert_string_equal(a[0].interface, "object");
	assert_int_equal(a[0].interfaces, TS_IFACE_MASK_ANY);
	assert_string_equal(ts_requests[TS_REQ_rect_create].args[0].interface, "rect");
	for (unsigned op = TS_REQ_rect_set_color; op <= TS_REQ_rect_set_border; op++) {
		assert_int_equal(ts_requests[op].args[0].interfaces, TS_IFACE_MASK_rect);
		assert_string_equal(ts_requests[op].interface, "rect");
	}
	for (unsigned op = TS_REQ_node_set_position; op <= TS_REQ_node_place_below; op++) {
		assert_int_equal(ts_requests[op].args[0].interfaces, TS_IFACE_MASK_node);
		assert_string_equal(ts_requests[op].interface, "node");
	}
	const unsigned callbacks[] = { TS_REQ_sync, TS_REQ_frame, TS_REQ_info_query,
		TS_REQ_screenshot };
	for (size_t k = 0; k < 4; k++) {
		const struct ts_message_desc *d = &ts_requests[callbacks[k]];
		assert_string_equal(d->args[0].interface, "callback");
		assert_int_equal(d->args[0].interfaces, TS_IFACE_MASK_callback);
		assert_string_equal(d->interface, "core");
	}
	assert_string_equal(ts_events[TS_EV_done].args[0].interface, "callback");
	assert_null(ts_events[TS_EV_delete_ids].args[0].interface);
	assert_int_equal(ts_events[TS_EV_delete_ids].args[0].elem_size, 4);
	// Every id field names an interface, every other field none; only parents and
	// siblings are nullable, only delete_ids' array is sized; what version 1 had is
	// from 1, the rest (delete_ids, which replaced delete_id, too) from 2.
	const struct ts_interface *ifaces[] = { &ts_request_interface, &ts_event_interface };
	for (size_t t = 0; t < 2; t++) {
		for (unsigned op = 0; op < ifaces[t]->count; op++) {
			const struct ts_message_desc *d = &ifaces[t]->messages[op];
			bool v1 = t == 0 ? op <= TS_REQ_screenshot :
				op <= TS_EV_limit && op != TS_EV_delete_ids;
			assert_int_equal(d->since, v1 ? 1 : 2);
			assert_non_null(d->interface);
			assert_non_null(d->args);
			for (unsigned k = 0; d->signature[k]; k++) {
				bool id = d->signature[k] == 'n' || d->signature[k] == 'o';
				assert_int_equal(d->args[k].interface != NULL, id);
				assert_int_equal(d->args[k].interfaces != 0, id);
				const char *field = d->fields;
				for (unsigned j = 0; j < k; j++) {
					field += strcspn(field, " ") + 1;
				}
				size_t len = strcspn(field, " ");
				bool optional = id && k > 0 && ((len == 6 && !strncmp(field, "parent", 6)) ||
					(len == 7 && !strncmp(field, "sibling", 7)) ||
					(t == 0 && op == TS_REQ_image_set_buffer && len == 6 &&
						!strncmp(field, "buffer", 6)));
				assert_int_equal(d->args[k].nullable, optional);
				assert_int_equal((ifaces[t]->meta[op].nullable >> k) & 1, optional);
				unsigned elem = t == 1 && op == TS_EV_delete_ids ? 4
					: t == 0 && op == TS_REQ_buffer_damage && k == 1 ? 16
					: t == 1 && op == TS_EV_text_metrics && k == 5 ? 16 : 0;
				assert_int_equal(d->args[k].elem_size, elem);
			}
		}
	}
	assert_true(TS_IFACE_COUNT_ >= 4);
	assert_int_equal(TS_PROTOCOL_VERSION, 2);
}

/* ---- v1 as it was ---- */

struct v1_message {
	const char *name, *signature, *fields;
};

// Today's table (version 2), written out by hand: the generated one must say exactly this.
static const struct v1_message v1_requests[] = {
	{ "hello", "us", "version name" },
	{ "sync", "n", "callback" },
	{ "destroy", "o", "id" },
	{ "commit", "", "" },
	{ "frame", "n", "callback" },
	{ "info_query", "n", "callback" },
	{ "screenshot", "nh", "callback pixels" },
	{ "set_layer", "u", "layer" },
	{ "raise", "", "" },
	{ "group_create", "no", "id parent" },
	{ "group_set_clip", "ou", "id clip" },
	{ "group_set_isolate", "ou", "id isolate" },
	{ "rect_create", "no", "id parent" },
	{ "rect_set_color", "ou", "id rgba" },
	{ "rect_set_radius", "of", "id radius" },
	{ "rect_set_border", "ofu", "id width rgba" },
	{ "node_set_position", "off", "id x y" },
	{ "node_set_size", "off", "id width height" },
	{ "node_set_anchor", "off", "id x y" },
	{ "node_set_rotation", "of", "id degrees" },
	{ "node_set_scale", "off", "id x y" },
	{ "node_set_opacity", "of", "id opacity" },
	{ "node_set_visible", "ou", "id visible" },
	{ "node_set_parent", "oo", "id parent" },
	{ "node_place_above", "oo", "id sibling" },
	{ "node_place_below", "oo", "id sibling" },
	{ "image_create", "no", "id parent" },
	{ "image_set_buffer", "oo", "id buffer" },
	{ "image_set_source", "offff", "id x y width height" },
	{ "shm_pool_create", "nhu", "id fd size" },
	{ "buffer_create", "nouuuuu", "id pool offset width height stride format" },
	{ "buffer_damage", "oa", "id boxes" },
	{ "text_create", "no", "id parent" },
	{ "text_set_string", "oa", "id utf8" },
	{ "text_append", "oa", "id utf8" },
	{ "text_set_font", "osfuu", "id family size weight italic" },
	{ "text_set_color", "ou", "id rgba" },
	{ "text_set_layout", "ofufu", "id wrap_width align line_height max_lines" },
	{ "text_measure", "no", "callback id" },
	{ "buffer_create_inline", "nuuua", "id width height format pixels" },
	{ "clock_step", "nu", "callback ms" },
	{ "animate", "nouffuuu", "id node property to_a to_b to_rgba duration_ms easing" },
	{ "animation_set_from", "offu", "id a b rgba" },
	{ "animation_set_timing", "ouuu", "id delay_ms repeat autoreverse" },
	{ "animation_set_curve", "offff", "id x1 y1 x2 y2" },
	{ "animation_set_steps", "ouu", "id count jump" },
	{ "node_get_value", "nou", "callback node property" },
};

static const struct v1_message v1_events[] = {
	{ "welcome", "uuuu", "version client_id width height" },
	{ "error", "uus", "id code message" },
	{ "done", "ou", "callback data" },
	{ "delete_ids", "a", "ids" },
	{ "client_info", "ouuuuuus", "callback client_id pid objects bytes textures texture_bytes name" },
	{ "info_done", "ouuuuuuuu", "callback clients objects last_cleanup_us pending evicted refused textures texture_bytes" },
	{ "screenshot_done", "ouuu", "callback width height stride" },
	{ "limit", "osu", "callback name value" },
	{ "frame_info", "ouuuuuuu", "callback draw_calls nodes_drawn damaged_pixels offscreen_passes frame_us animations animate_ns" },
	{ "text_metrics", "offfua", "callback width height baseline lines extents" },
	{ "atlas_info", "ouuuuu", "callback pages glyphs referenced evictions bytes" },
	{ "presented", "ouuuu", "callback seq time_hi time_lo refresh_ns" },
	{ "animation_ended", "ou", "id cancelled" },
	{ "node_value", "offu", "callback a b rgba" },
};

static const char *const v1_errors[] = {
	"none", "invalid_message", "unknown_opcode", "invalid_id", "id_in_use", "wrong_type",
	"invalid_value", "bad_version", "not_ready", "bad_fds", "no_memory",
	"limit_exceeded", "internal", "access_denied",
};

static void check_v1(const struct ts_interface *iface, const struct v1_message *want,
		size_t count) {
	assert_true(iface->count >= count);
	for (size_t op = 0; op < count; op++) {
		const struct ts_message_desc *d = &iface->messages[op];
		assert_string_equal(d->name, want[op].name);
		assert_string_equal(d->signature, want[op].signature);
		assert_string_equal(d->fields, want[op].fields);
	}
}

static void test_v1_unchanged(void **state) {
	check_v1(&ts_request_interface, v1_requests, sizeof v1_requests / sizeof v1_requests[0]);
	check_v1(&ts_event_interface, v1_events, sizeof v1_events / sizeof v1_events[0]);
	// The table has these and no more.
	assert_int_equal(TS_REQ_COUNT_, 47);
	assert_int_equal(TS_EV_COUNT_, 14);
	assert_int_equal(TS_ERR_COUNT_, 14);
	for (uint32_t code = 0; code < TS_ERR_COUNT_; code++) {
		assert_string_equal(ts_error_name(code), v1_errors[code]);
	}
	// The X-macros themselves, in the form their users expand.
#define TS_X_(op, n, sig, f) { op, #n, sig, f },
	static const struct { int op; const char *name, *sig, *fields; } reqs[] = {
		TS_REQUESTS(TS_X_)
	}, evs[] = {
		TS_EVENTS(TS_X_)
	};
#undef TS_X_
	for (size_t k = 0; k < sizeof reqs / sizeof reqs[0]; k++) {
		assert_int_equal(reqs[k].op, (int)k);
		assert_string_equal(reqs[k].name, v1_requests[k].name);
		assert_string_equal(reqs[k].sig, v1_requests[k].signature);
		assert_string_equal(reqs[k].fields, v1_requests[k].fields);
	}
	for (size_t k = 0; k < sizeof evs / sizeof evs[0]; k++) {
		assert_int_equal(evs[k].op, (int)k);
		assert_string_equal(evs[k].name, v1_events[k].name);
		assert_string_equal(evs[k].sig, v1_events[k].signature);
		assert_string_equal(evs[k].fields, v1_events[k].fields);
	}
	assert_int_equal(TS_REQ_node_set_position, 16);
	assert_int_equal(TS_PROTOCOL_VERSION, 2);
	assert_int_equal(TS_EV_limit, 7);
	assert_int_equal(TS_ERR_access_denied, 13);
	assert_int_equal(TS_HEADER_SIZE, 8);
	assert_int_equal(TS_MAX_MESSAGE, 4096);
	assert_int_equal(TS_MAX_STRING, 1024);
	assert_int_equal(TS_MAX_FDS_PER_MESSAGE, 4);
	assert_int_equal(TS_MAX_ARGS, 12);
	assert_int_equal(TS_MAX_ID, 0xffffff);
}

/* ---- tracing ---- */

static void test_format(void **state) {
	char out[256];
	union ts_arg move[4] = { { .u = 3 }, { .f = 0x18000 }, { .f = 90 << 16 },
		{ .i = -2 } };
	ts_format(out, sizeof out, &t_iface, T_MOVE, move);
	assert_string_equal(out, "move(id=#3, x=1.5, angle=90, z=-2)");
	move[1].f = -ts_fixed_from_double(0.25);
	move[2].f = 1; // the smallest step
	ts_format(out, sizeof out, &t_iface, T_MOVE, move);
	assert_string_equal(out, "move(id=#3, x=-0.25, angle=1.525878906e-05, z=-2)");
	union ts_arg bytes[2] = { { .u = 1 }, { .a = { .data = "abcdefg", .size = 7 } } };
	ts_format(out, sizeof out, &t_iface, T_BYTES, bytes);
	assert_string_equal(out, "bytes(id=#1, data=[7 bytes])");
	union ts_arg reparent[2] = { { .u = 4 }, { .u = 0 } };
	ts_format(out, sizeof out, &t_iface, T_REPARENT, reparent);
	assert_string_equal(out, "reparent(node=#4, parent=none)");
	reparent[1].u = 2;
	ts_format(out, sizeof out, &t_iface, T_REPARENT, reparent);
	assert_string_equal(out, "reparent(node=#4, parent=#2)");
	// Truncation stays safe with the new types.
	for (size_t cap = 1; cap < 30; cap++) {
		char small[30];
		memset(small, 'x', sizeof small);
		ts_format(small, cap, &t_iface, T_BYTES, bytes);
		assert_true(strlen(small) < cap);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_fixed_round_trip),
		cmocka_unit_test(test_array_round_trip),
		cmocka_unit_test(test_array_elem_size),
		cmocka_unit_test(test_array_several),
		cmocka_unit_test(test_array_malformed),
		cmocka_unit_test(test_nullable_ids),
		cmocka_unit_test(test_typed_ids),
		cmocka_unit_test(test_v1_unchanged),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, setup_table, NULL);
}
