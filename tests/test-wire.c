/*
 * Unit tests of the codec: every message of the table round-trips, every way a
 * header or a body can be malformed is rejected with its exact code, tracing output,
 * and a deterministic fuzz loop (meant to run under AddressSanitizer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "malformed.h"
#include "wire.h"

static const struct ts_interface *const ifaces[] = {
	&ts_request_interface,
	&ts_event_interface,
};

// String lengths (without the NUL) that every string field is tried with.
static const size_t string_lengths[] = { 0, 1, 2, 3, 4, 5, 7, 8, 100, 1022, 1023 };
#define VARIANTS (sizeof string_lengths / sizeof string_lengths[0])

static uint64_t rng_state;

static uint32_t rng(void) {
	// xorshift64*: deterministic for a fixed seed.
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

// Fills @args for message @desc with values distinct per field and per variant.
// String fields point into @strings (one TS_MAX_STRING buffer per field).
static void fill_args(const struct ts_message_desc *desc, unsigned variant,
		union ts_arg *args, char strings[][TS_MAX_STRING + 1]) {
	unsigned k = 0;
	for (const char *c = desc->signature; *c; c++, k++) {
		switch (*c) {
		case 'u':
			args[k].u = variant == 1 ? 0xffffffffu : 0x01020300u + k * 7 + variant;
			break;
		case 'i':
		case 'f':
			args[k].i = variant == 1 ? INT32_MIN : -1000 - (int32_t)(k * 13 + variant);
			break;
		case 'n':
		case 'o':
			args[k].u = variant == 1 ? TS_MAX_ID : 1 + k * 3 + variant;
			break;
		case 'a': {
			// Whole elements (of the field's size; every array of the table takes 4-byte
			// multiples): none, one, and as many as fit a string of the variant's length.
			static const uint8_t bytes[TS_MAX_STRING + 16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
			size_t elem = desc->args != NULL && desc->args[k].elem_size > 0
				? desc->args[k].elem_size : 4;
			size_t len = variant == 0 ? 0 : variant == 1 ? elem
				: string_lengths[variant] / elem * elem;
			args[k].a = (struct ts_array){ .data = bytes, .size = (uint32_t)len };
			break;
		}
		case 's': {
			size_t len = string_lengths[variant];
			for (size_t j = 0; j < len; j++) {
				strings[k][j] = (char)('!' + (j * 7 + k + variant) % 90);
			}
			strings[k][len] = '\0';
			args[k].s = strings[k];
			break;
		}
		case 'h':
			args[k].h = 100 + (int)(k * 5 + variant);
			break;
		default:
			fail_msg("unexpected signature character '%c'", *c);
		}
	}
}

static void test_table_consistent(void **state) {
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		assert_true(iface->count > 0);
		for (uint16_t op = 0; op < iface->count; op++) {
			const struct ts_message_desc *d = &iface->messages[op];
			assert_non_null(d->name);
			assert_non_null(d->signature);
			assert_non_null(d->fields);
			size_t nsig = strlen(d->signature);
			assert_true(nsig <= TS_MAX_ARGS);
			assert_int_equal(strspn(d->signature, "uifnosha"), nsig);
			// One field name per signature character.
			size_t names = 0;
			for (const char *f = d->fields; *f; ) {
				size_t n = strcspn(f, " ");
				assert_true(n > 0);
				names++;
				f += n + (f[n] == ' ');
			}
			assert_int_equal(names, nsig);
			unsigned h = 0;
			for (const char *c = d->signature; *c; c++) {
				h += *c == 'h';
			}
			assert_int_equal(ts_message_fd_count(d), h);
			assert_true(h <= TS_MAX_FDS_PER_MESSAGE);
			for (uint16_t other = 0; other < op; other++) {
				assert_string_not_equal(iface->messages[other].name, d->name);
			}
		}
	}
	assert_int_equal(ts_message_fd_count(&ts_requests[TS_REQ_screenshot]), 1);
	assert_int_equal(ts_message_fd_count(&ts_events[TS_EV_screenshot_done]), 0);
	assert_int_equal(ts_message_fd_count(&ts_requests[TS_REQ_commit]), 0);
}

static void test_round_trip_all(void **state) {
	static char strings[TS_MAX_ARGS][TS_MAX_STRING + 1];
	unsigned messages = 0;
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			const struct ts_message_desc *desc = &iface->messages[op];
			for (unsigned v = 0; v < VARIANTS; v++) {
				union ts_arg in[TS_MAX_ARGS], out[TS_MAX_ARGS];
				memset(in, 0, sizeof in);
				memset(out, 0, sizeof out);
				fill_args(desc, v, in, strings);

				size_t expect = TS_HEADER_SIZE;
				int fds[TS_MAX_FDS_PER_MESSAGE];
				unsigned nfds = 0;
				for (unsigned k = 0; desc->signature[k]; k++) {
					char c = desc->signature[k];
					if (c == 's') {
						expect += 4 + ((strlen(in[k].s) + 1 + 3) & ~(size_t)3);
					} else if (c == 'a') {
						expect += 4 + ((in[k].a.size + 3) & ~(size_t)3);
					} else if (c == 'h') {
						fds[nfds++] = in[k].h;
					} else {
						expect += 4;
					}
				}
				size_t size = ts_encoded_size(iface, op, in);
				assert_int_equal(size, expect);

				// Exactly sized, so that ASan sees any write or read past the end.
				uint8_t *buf = malloc(size);
				assert_non_null(buf);
				assert_int_equal(ts_encode(buf, size, iface, op, in), size);

				struct ts_header hdr;
				assert_int_equal(ts_header_read(buf, size, &hdr), TS_HEADER_OK);
				assert_int_equal(hdr.size, size);
				assert_int_equal(hdr.opcode, op);
				assert_int_equal(hdr.nfds, nfds);
				assert_int_equal(hdr.flags, 0);

				const char *why = NULL;
				assert_int_equal(ts_decode(iface, buf, &hdr, fds, out, &why), 0);
				const uint8_t *p = buf + TS_HEADER_SIZE;
				for (unsigned k = 0; desc->signature[k]; k++) {
					switch (desc->signature[k]) {
					case 'i':
						assert_int_equal((int32_t)ts_get_u32(p), in[k].i);
						assert_int_equal(out[k].i, in[k].i);
						p += 4;
						break;
					case 'h':
						assert_int_equal(out[k].h, in[k].h);
						break;
					case 'a':
						assert_int_equal(ts_get_u32(p), in[k].a.size);
						assert_int_equal(out[k].a.size, in[k].a.size);
						assert_ptr_equal(out[k].a.data, p + 4);
						assert_memory_equal(p + 4, in[k].a.data, in[k].a.size);
						p += 4 + ((in[k].a.size + 3) & ~(size_t)3);
						break;
					case 's': {
						size_t len = strlen(in[k].s) + 1;
						size_t padded = (len + 3) & ~(size_t)3;
						assert_int_equal(ts_get_u32(p), len);
						assert_ptr_equal(out[k].s, (const char *)p + 4);
						assert_string_equal(out[k].s, in[k].s);
						// Padding is zeros.
						for (size_t j = len; j < padded; j++) {
							assert_int_equal(p[4 + j], 0);
						}
						p += 4 + padded;
						break;
					}
					default:
						assert_int_equal(ts_get_u32(p), in[k].u);
						assert_int_equal(out[k].u, in[k].u);
						p += 4;
						break;
					}
				}
				assert_ptr_equal(p, buf + size);
				free(buf);
				messages++;
			}
		}
	}
	assert_int_equal(messages, (TS_REQ_COUNT_ + TS_EV_COUNT_) * VARIANTS);
}

static void test_exact_layout(void **state) {
	uint8_t buf[64];
	union ts_arg a[TS_MAX_ARGS] = { { .u = 5 }, { .i = -3 }, { .i = 7 } };
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface,
		TS_REQ_node_set_position, a), 20);
	assert_int_equal(ts_get_u32(buf), 20);
	assert_int_equal(ts_get_u32(buf + 4), TS_REQ_node_set_position);
	assert_int_equal(ts_get_u32(buf + 8), 5);
	assert_int_equal(ts_get_u32(buf + 12), 0xfffffffdu);
	assert_int_equal(ts_get_u32(buf + 16), 7);

	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface, TS_REQ_commit, a), 8);
	assert_int_equal(ts_get_u32(buf), 8);
	assert_int_equal(ts_get_u32(buf + 4), TS_REQ_commit);

	union ts_arg sd[TS_MAX_ARGS] = { { .u = 3 }, { .h = 9 } };
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface,
		TS_REQ_screenshot, sd), 12);
	// opcode in the low 16 bits, nfds in the next 8, flags 0.
	assert_int_equal(ts_get_u32(buf + 4), TS_REQ_screenshot | 1u << 16);
	assert_int_equal(ts_get_u32(buf + 8), 3);

	union ts_arg hello[TS_MAX_ARGS] = { { .u = 1 }, { .s = "abcd" } };
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface, TS_REQ_hello, hello), 24);
	assert_int_equal(ts_get_u32(buf + 8), 1);
	assert_int_equal(ts_get_u32(buf + 12), 5);
	assert_memory_equal(buf + 16, "abcd\0\0\0\0", 8);
}

// The error event's id is 0 when no object is concerned (PROTOCOL.md, "Errors"), so a
// client must be able to decode error(0, ...).
static void test_error_event_id_zero(void **state) {
	uint8_t buf[64];
	union ts_arg a[TS_MAX_ARGS] = { { .u = 0 }, { .u = TS_ERR_not_ready }, { .s = "hello first" } };
	size_t size = ts_encode(buf, sizeof buf, &ts_event_interface, TS_EV_error, a);
	assert_int_not_equal(size, 0);
	struct ts_header hdr;
	assert_int_equal(ts_header_read(buf, size, &hdr), TS_HEADER_OK);
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;
	int rc = ts_decode(&ts_event_interface, buf, &hdr, NULL, out, &why);
	if (rc != 0) {
		fail_msg("error(id=0) rejected with %s (%s)", ts_error_name((uint32_t)rc), why);
	}
	assert_int_equal(out[0].u, 0);
	assert_int_equal(out[1].u, TS_ERR_not_ready);
	assert_string_equal(out[2].s, "hello first");
}

static void put_header(uint8_t *buf, uint32_t size, uint16_t opcode, uint8_t nfds, uint8_t flags) {
	ts_put_u32(buf, size);
	ts_put_u32(buf + 4, (uint32_t)opcode | (uint32_t)nfds << 16 | (uint32_t)flags << 24);
}

static void test_header_rejections(void **state) {
	uint8_t buf[TS_HEADER_SIZE];
	struct ts_header hdr;

	put_header(buf, 8, 0, 0, 0);
	for (size_t len = 0; len < TS_HEADER_SIZE; len++) {
		assert_int_equal(ts_header_read(buf, len, &hdr), TS_HEADER_NEED_MORE);
	}
	assert_int_equal(ts_header_read(buf, 8, &hdr), TS_HEADER_OK);
	assert_int_equal(hdr.size, 8);

	static const uint32_t bad_sizes[] = {
		0, 4, 7, 9, 10, 11, 13, 4095, TS_MAX_MESSAGE + 4, TS_MAX_MESSAGE + 1,
		0x10000, 0xfffffffcu, 0xffffffffu,
	};
	for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
		put_header(buf, bad_sizes[i], 0, 0, 0);
		assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), -TS_ERR_invalid_message);
	}
	put_header(buf, TS_MAX_MESSAGE, 0, 0, 0);
	assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), TS_HEADER_OK);
	assert_int_equal(hdr.size, TS_MAX_MESSAGE);

	for (unsigned bit = 0; bit < 8; bit++) {
		put_header(buf, 16, 1, 0, (uint8_t)(1u << bit));
		assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), -TS_ERR_invalid_message);
	}
	put_header(buf, 16, 1, TS_MAX_FDS_PER_MESSAGE, 0);
	assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), TS_HEADER_OK);
	assert_int_equal(hdr.nfds, TS_MAX_FDS_PER_MESSAGE);
	put_header(buf, 16, 1, TS_MAX_FDS_PER_MESSAGE + 1, 0);
	assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), -TS_ERR_invalid_message);
	put_header(buf, 16, 1, 0xff, 0);
	assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), -TS_ERR_invalid_message);

	// The header alone does not know the opcode table.
	put_header(buf, 8, 0xffff, 0, 0);
	assert_int_equal(ts_header_read(buf, sizeof buf, &hdr), TS_HEADER_OK);
	assert_int_equal(hdr.opcode, 0xffff);
}

// The last message decode_words built: decoded strings point into it.
static uint8_t *last_msg;

// Builds a message from raw 32-bit words after the header, in a buffer of exactly
// its size, and decodes it with @nfds fake fds; returns the ts_decode result.
// The message lives until the next call (or free_last_msg).
static int decode_words(const struct ts_interface *iface, uint16_t opcode, uint8_t nfds,
		const uint32_t *words, size_t nwords, union ts_arg *args) {
	size_t size = TS_HEADER_SIZE + 4 * nwords;
	uint8_t *buf = malloc(size);
	assert_non_null(buf);
	put_header(buf, (uint32_t)size, opcode, nfds, 0);
	for (size_t i = 0; i < nwords; i++) {
		ts_put_u32(buf + TS_HEADER_SIZE + 4 * i, words[i]);
	}
	struct ts_header hdr;
	assert_int_equal(ts_header_read(buf, size, &hdr), TS_HEADER_OK);
	int fds[TS_MAX_FDS_PER_MESSAGE] = { 40, 41, 42, 43 };
	const char *why = NULL;
	int rc = ts_decode(iface, buf, &hdr, fds, args, &why);
	if (rc != 0) {
		assert_non_null(why);
		assert_true(strlen(why) > 0);
	}
	free(last_msg);
	last_msg = buf;
	return rc;
}

static void free_last_msg(void) {
	free(last_msg);
	last_msg = NULL;
}

#define DECODE(iface, op, nfds, ...) \
	decode_words(iface, op, nfds, (const uint32_t[]){ __VA_ARGS__ }, \
		sizeof((const uint32_t[]){ __VA_ARGS__ }) / 4, args)

static uint32_t chars(const char *four) {
	return ts_get_u32((const uint8_t *)four);
}

static void test_body_rejections(void **state) {
	union ts_arg args[TS_MAX_ARGS];
	const struct ts_interface *rq = &ts_request_interface;
	const struct ts_interface *ev = &ts_event_interface;

	// Unknown opcodes.
	assert_int_equal(decode_words(rq, TS_REQ_COUNT_, 0, NULL, 0, args), TS_ERR_unknown_opcode);
	assert_int_equal(decode_words(rq, 0xffff, 0, NULL, 0, args), TS_ERR_unknown_opcode);
	assert_int_equal(decode_words(ev, TS_EV_COUNT_, 0, NULL, 0, args), TS_ERR_unknown_opcode);

	// Shorter and longer than the fields.
	assert_int_equal(DECODE(rq, TS_REQ_node_set_position, 0, 5, 1, 2), 0);
	assert_int_equal(DECODE(rq, TS_REQ_node_set_position, 0, 5, 1), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_node_set_position, 0, 5), TS_ERR_invalid_message);
	assert_int_equal(decode_words(rq, TS_REQ_node_set_position, 0, NULL, 0, args),
		TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_node_set_position, 0, 5, 1, 2, 3), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_commit, 0, 0), TS_ERR_invalid_message);
	assert_int_equal(decode_words(rq, TS_REQ_commit, 0, NULL, 0, args), 0);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 2, chars("a\0\0\0"), 0),
		TS_ERR_invalid_message);

	// Ids: new and existing, 0 and above TS_MAX_ID.
	assert_int_equal(DECODE(rq, TS_REQ_rect_create, 0, 0, 0), TS_ERR_invalid_id);
	assert_int_equal(DECODE(rq, TS_REQ_rect_create, 0, TS_MAX_ID + 1, 0), TS_ERR_invalid_id);
	assert_int_equal(DECODE(rq, TS_REQ_rect_create, 0, 0xffffffffu, 0), TS_ERR_invalid_id);
	assert_int_equal(DECODE(rq, TS_REQ_rect_create, 0, TS_MAX_ID, 0), 0);
	assert_int_equal(args[0].u, TS_MAX_ID);
	assert_int_equal(DECODE(rq, TS_REQ_rect_create, 0, 1, 0), 0);
	// The parent may be 0 (the root), not above TS_MAX_ID.
	assert_int_equal(DECODE(rq, TS_REQ_rect_create, 0, 1, TS_MAX_ID + 1), TS_ERR_invalid_id);
	assert_int_equal(DECODE(rq, TS_REQ_destroy, 0, 0), TS_ERR_invalid_id);
	assert_int_equal(DECODE(rq, TS_REQ_destroy, 0, TS_MAX_ID + 1), TS_ERR_invalid_id);
	assert_int_equal(DECODE(rq, TS_REQ_node_set_rotation, 0, 0, 1), TS_ERR_invalid_id);

	// Strings.
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 4, chars("abc\0")), 0);
	assert_string_equal(args[1].s, "abc");
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 1, 0), 0);
	assert_string_equal(args[1].s, "");
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 0), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 0, 0), TS_ERR_invalid_message);
	// Runs past the end: length 8 with 4 bytes, length 5 with 4 bytes.
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 8, chars("abc\0")), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 5, chars("abc\0")), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 0xffffffffu, 0), TS_ERR_invalid_message);
	// No NUL at the end, an embedded NUL, a NUL earlier than the length says.
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 4, chars("abcd")), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 4, chars("a\0b\0")), TS_ERR_invalid_message);
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 3, chars("a\0\0\0")), TS_ERR_invalid_message);
	// String followed by extra words.
	assert_int_equal(DECODE(rq, TS_REQ_hello, 0, 1, 4, chars("abc\0"), 0), TS_ERR_invalid_message);

	// Longest and too long strings, built by hand.
	size_t words = 2 + (TS_MAX_STRING + 4) / 4;
	uint32_t *w = calloc(words, 4);
	assert_non_null(w);
	w[0] = 1;
	w[1] = TS_MAX_STRING;
	memset(&w[2], 'x', TS_MAX_STRING - 1);
	assert_int_equal(decode_words(rq, TS_REQ_hello, 0, w, 2 + TS_MAX_STRING / 4, args), 0);
	assert_int_equal(strlen(args[1].s), TS_MAX_STRING - 1);
	w[1] = TS_MAX_STRING + 1;
	memset(&w[2], 'x', TS_MAX_STRING);
	assert_int_equal(decode_words(rq, TS_REQ_hello, 0, w, words, args), TS_ERR_invalid_message);
	free(w);

	// Fd counts must match the signature.
	assert_int_equal(DECODE(rq, TS_REQ_screenshot, 1, 1), 0);
	assert_int_equal(args[1].h, 40);
	assert_int_equal(DECODE(rq, TS_REQ_screenshot, 0, 1), TS_ERR_bad_fds);
	assert_int_equal(DECODE(rq, TS_REQ_screenshot, 2, 1), TS_ERR_bad_fds);
	assert_int_equal(DECODE(ev, TS_EV_screenshot_done, 1, 1, 2, 3, 4), TS_ERR_bad_fds);
	assert_int_equal(decode_words(rq, TS_REQ_commit, 1, NULL, 0, args), TS_ERR_bad_fds);
	assert_int_equal(DECODE(rq, TS_REQ_sync, 4, 1), TS_ERR_bad_fds);
	free_last_msg();
}

// The catalogue of malformed inputs (tests/peer/malformed.h), as far as the codec can
// tell: every case the table alone makes wrong is refused by ts_header_read or
// ts_decode with exactly its code, and every case only the server can tell apart (its
// state, the fds that came, the values) decodes here, so that it reaches the server's
// own checks. What comes before the bad part decodes too.
static void test_catalogue(void **state) {
	size_t count;
	struct peer_case *cases = peer_malformed(&count);
	assert_non_null(cases);
	int fds[TS_MAX_FDS_PER_MESSAGE + 1] = { 40, 41, 42, 43, 44 };
	unsigned at_codec = 0;
	for (size_t i = 0; i < count; i++) {
		const struct peer_case *c = &cases[i];
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(cases[j].name, c->name);
		}
		assert_true(c->expect != 0);
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		const char *why;
		for (size_t off = 0; off < c->setup; off += hdr.size) {
			assert_int_equal(ts_header_read(c->bytes + off, c->setup - off, &hdr), TS_HEADER_OK);
			assert_true(off + hdr.size <= c->setup);
			if (ts_decode(&ts_request_interface, c->bytes + off, &hdr, fds, args, &why) != 0) {
				fail_msg("%s: its setup does not decode: %s", c->name, why);
			}
		}
		const uint8_t *bad = c->bytes + c->setup;
		size_t len = c->len - c->setup;
		int rc = ts_header_read(bad, len, &hdr);
		bool one_code = (c->expect & (c->expect - 1)) == 0;
		if (c->level == PEER_AT_HEADER) {
			if (rc >= 0 || !peer_case_allows(c, (uint32_t)-rc)) {
				fail_msg("%s: ts_header_read gave %d", c->name, rc);
			}
			at_codec++;
			continue;
		}
		if (!one_code) {
			continue; // random bytes: whatever they make first
		}
		assert_int_equal(rc, TS_HEADER_OK);
		assert_int_equal(hdr.size, len); // the bad part is one message, whole
		rc = ts_decode(&ts_request_interface, bad, &hdr, fds, args, &why);
		if (c->level == PEER_AT_DECODE) {
			if (rc <= 0 || !peer_case_allows(c, (uint32_t)rc)) {
				fail_msg("%s: ts_decode gave %d", c->name, rc);
			}
			at_codec++;
		} else if (rc != 0) {
			fail_msg("%s: the server's to refuse, but ts_decode does: %s", c->name, why);
		}
	}
	free(cases);
	// Every request has cases of its own (it is long by a word, at least).
	assert_true(count > 5 * TS_REQ_COUNT_);
	assert_true(at_codec > 3 * TS_REQ_COUNT_);
}

static void test_encode_rejections(void **state) {
	static char big[TS_MAX_STRING + 2];
	uint8_t buf[TS_MAX_MESSAGE];
	union ts_arg a[TS_MAX_ARGS] = { { .u = 1 }, { .s = big } };

	memset(big, 'y', TS_MAX_STRING - 1);
	big[TS_MAX_STRING - 1] = '\0';
	size_t size = ts_encoded_size(&ts_request_interface, TS_REQ_hello, a);
	assert_int_equal(size, TS_HEADER_SIZE + 4 + 4 + TS_MAX_STRING);
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface, TS_REQ_hello, a), size);

	// One byte more than the limit, and far more.
	memset(big, 'y', TS_MAX_STRING);
	big[TS_MAX_STRING] = '\0';
	assert_int_equal(ts_encoded_size(&ts_request_interface, TS_REQ_hello, a), 0);
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface, TS_REQ_hello, a), 0);
	memset(big, 'y', TS_MAX_STRING + 1);
	big[TS_MAX_STRING + 1] = '\0';
	assert_int_equal(ts_encoded_size(&ts_request_interface, TS_REQ_hello, a), 0);

	a[1].s = NULL;
	assert_int_equal(ts_encoded_size(&ts_request_interface, TS_REQ_hello, a), 0);
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_request_interface, TS_REQ_hello, a), 0);

	// Unknown opcodes.
	assert_int_equal(ts_encoded_size(&ts_request_interface, TS_REQ_COUNT_, a), 0);
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_event_interface, TS_EV_COUNT_, a), 0);
	assert_int_equal(ts_encode(buf, sizeof buf, &ts_event_interface, 0xffff, a), 0);

	// A buffer one byte too small is left untouched.
	a[1].s = "name";
	size = ts_encoded_size(&ts_request_interface, TS_REQ_hello, a);
	assert_int_equal(size, 24);
	memset(buf, 0xaa, sizeof buf);
	assert_int_equal(ts_encode(buf, size - 1, &ts_request_interface, TS_REQ_hello, a), 0);
	assert_int_equal(ts_encode(buf, 0, &ts_request_interface, TS_REQ_hello, a), 0);
	for (size_t i = 0; i < size; i++) {
		assert_int_equal(buf[i], 0xaa);
	}
	assert_int_equal(ts_encode(buf, size, &ts_request_interface, TS_REQ_hello, a), size);
}

// The meta the codec works out from the table, recomputed here by a walk of its own.
static void test_meta(void **state) {
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			const char *sig = iface->messages[op].signature;
			const struct ts_message_meta *meta = &iface->meta[op];
			unsigned nfds = 0, ids = 0;
			size_t size = TS_HEADER_SIZE;
			bool string = false;
			for (unsigned k = 0; sig[k]; k++) {
				nfds += sig[k] == 'h';
				string |= sig[k] == 's' || sig[k] == 'a'; // of variable size
				ids |= (sig[k] == 'n' || sig[k] == 'o') ? 1u << k : 0;
				size += sig[k] == 'h' ? 0 : 4;
			}
			assert_int_equal(meta->nfds, nfds);
			assert_int_equal(meta->ids, ids);
			assert_int_equal(meta->size, string ? 0 : size);
			assert_int_equal(meta->plain, !string && nfds == 0);
			if (!string) {
				union ts_arg args[TS_MAX_ARGS] = { { .u = 0 } };
				assert_int_equal(ts_encoded_size(iface, op, args), size);
			}
		}
	}
	// Known values, so that a meta that is wrong the way this test is cannot pass.
	const struct ts_message_meta *m = &ts_request_interface.meta[TS_REQ_node_set_position];
	assert_int_equal(m->size, 20);
	assert_true(m->plain);
	assert_int_equal(m->ids, 1);
	m = &ts_request_interface.meta[TS_REQ_commit];
	assert_int_equal(m->size, 8);
	assert_true(m->plain);
	m = &ts_request_interface.meta[TS_REQ_hello];
	assert_int_equal(m->size, 0);
	assert_false(m->plain);
	m = &ts_request_interface.meta[TS_REQ_screenshot];
	assert_int_equal(m->size, 12);
	assert_int_equal(m->nfds, 1);
	assert_false(m->plain);
	assert_int_equal(m->ids, 1);
	m = &ts_event_interface.meta[TS_EV_screenshot_done];
	assert_int_equal(m->size, 24);
	assert_int_equal(m->nfds, 0);
	assert_true(m->plain);
	assert_int_equal(ts_event_interface.meta[TS_EV_delete_ids].ids, 0);
	assert_int_equal(ts_event_interface.meta[TS_EV_done].ids, 1);
}

// Encodes as PROTOCOL.md describes, field by field and without the codec: what every
// path of ts_encode must produce. Returns the size.
static size_t reference_encode(uint8_t *buf, const struct ts_interface *iface,
		uint16_t opcode, const union ts_arg *args) {
	const char *sig = iface->messages[opcode].signature;
	size_t at = TS_HEADER_SIZE;
	uint32_t nfds = 0;
	for (unsigned k = 0; sig[k]; k++) {
		switch (sig[k]) {
		case 'h':
			nfds++;
			break;
		case 's': {
			size_t len = strlen(args[k].s) + 1;
			size_t padded = (len + 3) & ~(size_t)3;
			ts_put_u32(buf + at, (uint32_t)len);
			memcpy(buf + at + 4, args[k].s, len);
			memset(buf + at + 4 + len, 0, padded - len);
			at += 4 + padded;
			break;
		}
		case 'a': {
			size_t len = args[k].a.size, padded = (len + 3) & ~(size_t)3;
			ts_put_u32(buf + at, (uint32_t)len);
			memcpy(buf + at + 4, args[k].a.data, len);
			memset(buf + at + 4 + len, 0, padded - len);
			at += 4 + padded;
			break;
		}
		default:
			ts_put_u32(buf + at, args[k].u);
			at += 4;
			break;
		}
	}
	ts_put_u32(buf, (uint32_t)at);
	ts_put_u32(buf + 4, opcode | nfds << 16);
	return at;
}

// The fast path (plain messages) and the general one both write exactly the bytes the
// reference does, for every message, and neither writes past a buffer too small.
static void test_encode_matches_reference(void **state) {
	static char strings[TS_MAX_ARGS][TS_MAX_STRING + 1];
	static uint8_t expect[TS_MAX_MESSAGE], got[TS_MAX_MESSAGE];
	unsigned plain = 0;
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			plain += iface->meta[op].plain;
			for (unsigned v = 0; v < VARIANTS; v++) {
				union ts_arg args[TS_MAX_ARGS];
				memset(args, 0, sizeof args);
				fill_args(&iface->messages[op], v, args, strings);
				size_t size = reference_encode(expect, iface, op, args);
				memset(got, 0xaa, sizeof got);
				assert_int_equal(ts_encode(got, size - 1, iface, op, args), 0);
				for (size_t i = 0; i < size; i++) {
					assert_int_equal(got[i], 0xaa);
				}
				assert_int_equal(ts_encode(got, size, iface, op, args), size);
				assert_memory_equal(got, expect, size);
				assert_int_equal(got[size], 0xaa);
			}
		}
	}
	// Both paths were taken.
	assert_true(plain > 5);
	assert_true(plain < TS_REQ_COUNT_ + TS_EV_COUNT_);
}

// Every plain message (only 4-byte fields) decodes through the fast path when its size
// is exact, and is rejected with the same codes as the general walk gives otherwise:
// fields are checked in order before the length, so an id out of range in the words
// that are there wins over a wrong size.
static void test_plain_rejections(void **state) {
	union ts_arg args[TS_MAX_ARGS];
	uint32_t words[TS_MAX_ARGS + 2];
	unsigned checked = 0;
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			const struct ts_message_meta *meta = &iface->meta[op];
			if (!meta->plain) {
				continue;
			}
			const char *sig = iface->messages[op].signature;
			size_t n = strlen(sig);
			for (size_t k = 0; k < TS_MAX_ARGS + 2; k++) {
				bool id = k < n && (sig[k] == 'n' || sig[k] == 'o');
				words[k] = id ? 1 + (uint32_t)k : 0xfffffff0u - (uint32_t)k;
			}
			assert_int_equal(decode_words(iface, op, 0, words, n, args), 0);
			for (size_t k = 0; k < n; k++) {
				assert_int_equal(args[k].u, words[k]);
			}
			// The wrong number of words, every id right.
			for (size_t len = 0; len <= n + 2; len++) {
				if (len != n) {
					assert_int_equal(decode_words(iface, op, 0, words, len, args),
						TS_ERR_invalid_message);
				}
			}
			// Fds the message does not take.
			assert_int_equal(decode_words(iface, op, 1, words, n, args), TS_ERR_bad_fds);
			assert_int_equal(decode_words(iface, op, 4, words, n, args), TS_ERR_bad_fds);
			// Each id out of range, with the right number of words or not.
			for (size_t k = 0; k < n; k++) {
				if (sig[k] != 'n' && sig[k] != 'o') {
					continue;
				}
				uint32_t keep = words[k];
				// 0 is "none" where the field is nullable: then only the others are bad.
				bool nullable = (iface->meta[op].nullable >> k) & 1;
				static const uint32_t bad[] = { 0, TS_MAX_ID + 1, 0xffffffffu };
				for (size_t b = nullable ? 1 : 0; b < sizeof bad / sizeof bad[0]; b++) {
					words[k] = bad[b];
					for (size_t len = 0; len <= n + 2; len++) {
						assert_int_equal(decode_words(iface, op, 0, words, len, args),
							len > k ? TS_ERR_invalid_id : TS_ERR_invalid_message);
					}
				}
				words[k] = TS_MAX_ID;
				assert_int_equal(decode_words(iface, op, 0, words, n, args), 0);
				assert_int_equal(args[k].u, TS_MAX_ID);
				words[k] = keep;
				checked++;
			}
		}
	}
	free_last_msg();
	assert_true(checked >= 8);
}

static void check_format(const struct ts_interface *iface, uint16_t opcode,
		const union ts_arg *args, const char *expect) {
	char out[256];
	memset(out, 'X', sizeof out);
	assert_ptr_equal(ts_format(out, sizeof out, iface, opcode, args), out);
	assert_string_equal(out, expect);

	// Every smaller buffer gets a NUL-terminated prefix and nothing past its end.
	size_t len = strlen(expect);
	for (size_t cap = 0; cap <= len + 1; cap++) {
		char small[300];
		memset(small, 'X', sizeof small);
		assert_ptr_equal(ts_format(small, cap, iface, opcode, args), small);
		if (cap > 0) {
			size_t got = cap - 1 < len ? cap - 1 : len;
			assert_int_equal(strlen(small), got);
			assert_memory_equal(small, expect, got);
		}
		for (size_t i = cap; i < sizeof small; i++) {
			assert_int_equal(small[i], 'X');
		}
	}
}

static void test_format(void **state) {
	const struct ts_interface *rq = &ts_request_interface;
	const struct ts_interface *ev = &ts_event_interface;
	union ts_arg a[TS_MAX_ARGS];

	a[0].u = 5; a[1].f = -3 * 65536; a[2].f = 7 * 65536 + 32768;
	check_format(rq, TS_REQ_node_set_position, a, "node_set_position(id=#5, x=-3, y=7.5)");
	a[0].u = 9; a[1].u = 0;
	check_format(rq, TS_REQ_rect_create, a, "rect_create(id=#9, parent=none)");
	a[0].u = 1; a[1].s = "demo";
	check_format(rq, TS_REQ_hello, a, "hello(version=1, name=\"demo\")");
	a[1].s = "";
	check_format(rq, TS_REQ_hello, a, "hello(version=1, name=\"\")");
	check_format(rq, TS_REQ_commit, a, "commit()");
	a[0].u = 1; a[1].f = INT32_MIN;
	check_format(rq, TS_REQ_node_set_rotation, a, "node_set_rotation(id=#1, degrees=-32768)");
	a[0].u = 0xffffffffu; a[1].u = 0;
	check_format(ev, TS_EV_done, a, "done(callback=#4294967295, data=0)");
	a[0].u = 3; a[1].u = 640; a[2].u = 480; a[3].u = 2560;
	check_format(ev, TS_EV_screenshot_done, a,
		"screenshot_done(callback=#3, width=640, height=480, stride=2560)");
	a[0].u = 3; a[1].h = 7;
	check_format(rq, TS_REQ_screenshot, a, "screenshot(callback=#3, pixels=fd 7)");
	a[0].u = 2; a[1].u = 1; a[2].u = 4242; a[3].u = 17; a[4].u = 4096; a[5].u = 3;
	a[6].u = 65536; a[7].s = "term";
	check_format(ev, TS_EV_client_info, a, "client_info(callback=#2, client_id=1, "
		"pid=4242, objects=17, bytes=4096, textures=3, texture_bytes=65536, name=\"term\")");
	check_format(rq, 200, a, "unknown(opcode=200)");
	char unknown[32];
	snprintf(unknown, sizeof unknown, "unknown(opcode=%d)", TS_EV_COUNT_);
	check_format(ev, TS_EV_COUNT_, a, unknown);

	// A long string truncates without overflowing.
	static char big[TS_MAX_STRING];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	a[0].u = 1; a[1].s = big;
	char out[64];
	memset(out, 'X', sizeof out);
	ts_format(out, 40, rq, TS_REQ_hello, a);
	assert_int_equal(strlen(out), 39);
	assert_memory_equal(out, "hello(version=1, name=\"zzzz", 27);
	assert_int_equal(out[40], 'X');
}

static void test_error_names(void **state) {
	assert_string_equal(ts_error_name(0), "none");
	assert_string_equal(ts_error_name(TS_ERR_invalid_message), "invalid_message");
	assert_string_equal(ts_error_name(TS_ERR_invalid_id), "invalid_id");
	assert_string_equal(ts_error_name(TS_ERR_bad_fds), "bad_fds");
	assert_string_equal(ts_error_name(TS_ERR_internal), "internal");
	assert_string_equal(ts_error_name(TS_ERR_COUNT_), "unknown");
	assert_string_equal(ts_error_name(1000), "unknown");
	assert_string_equal(ts_error_name(0xffffffffu), "unknown");
	for (uint32_t c = 0; c < TS_ERR_COUNT_; c++) {
		assert_string_not_equal(ts_error_name(c), "unknown");
		for (uint32_t d = 0; d < c; d++) {
			assert_string_not_equal(ts_error_name(c), ts_error_name(d));
		}
	}
}

// How often the fuzz loop saw each ts_decode result, and header rejections.
static unsigned fuzz_results[TS_ERR_COUNT_];
static unsigned fuzz_bad_headers;

// Checks one fuzzed input: header and decode stay inside @buf (exactly @len bytes),
// return only documented codes, and a successful decode is self-consistent.
static void fuzz_one(const struct ts_interface *iface, const uint8_t *buf, size_t len,
		unsigned *decoded) {
	struct ts_header hdr;
	int rc = ts_header_read(buf, len, &hdr);
	assert_true(rc == TS_HEADER_OK || rc == TS_HEADER_NEED_MORE || rc == -TS_ERR_invalid_message);
	fuzz_bad_headers += rc < 0;
	if (rc != TS_HEADER_OK) {
		assert_true(rc != TS_HEADER_NEED_MORE || len < TS_HEADER_SIZE);
		return;
	}
	assert_true(hdr.size >= TS_HEADER_SIZE && hdr.size <= TS_MAX_MESSAGE);
	assert_true(hdr.size % 4 == 0 && hdr.flags == 0 && hdr.nfds <= TS_MAX_FDS_PER_MESSAGE);
	if (hdr.size > len) {
		return;
	}
	// The decoder sees exactly hdr.size bytes and exactly hdr.nfds fds.
	uint8_t *msg = malloc(hdr.size);
	assert_non_null(msg);
	memcpy(msg, buf, hdr.size);
	int *fds = hdr.nfds ? malloc(hdr.nfds * sizeof *fds) : NULL;
	for (unsigned i = 0; i < hdr.nfds; i++) {
		fds[i] = 50 + (int)i;
	}
	union ts_arg args[TS_MAX_ARGS];
	const char *why = NULL;
	rc = ts_decode(iface, msg, &hdr, fds, args, &why);
	if (rc >= 0 && rc < (int)TS_ERR_COUNT_) {
		fuzz_results[rc]++;
	}
	switch (rc) {
	case 0: {
		(*decoded)++;
		assert_true(hdr.opcode < iface->count);
		const char *sig = iface->messages[hdr.opcode].signature;
		for (unsigned k = 0; sig[k]; k++) {
			if (sig[k] == 's') {
				const uint8_t *s = (const uint8_t *)args[k].s;
				assert_true(s > msg && s < msg + hdr.size);
				assert_non_null(memchr(s, '\0', (size_t)(msg + hdr.size - s)));
			} else if (sig[k] == 'n' || sig[k] == 'o') {
				bool nullable = (iface->meta[hdr.opcode].nullable >> k) & 1;
				assert_true((nullable && args[k].u == 0) ||
					(args[k].u >= 1 && args[k].u <= TS_MAX_ID));
			}
		}
		// What decodes re-encodes to the same size and header.
		uint8_t again[TS_MAX_MESSAGE];
		assert_int_equal(ts_encode(again, sizeof again, iface, hdr.opcode, args), hdr.size);
		assert_memory_equal(again, msg, TS_HEADER_SIZE);
		char trace[128];
		ts_format(trace, sizeof trace, iface, hdr.opcode, args);
		assert_true(strlen(trace) < sizeof trace);
		break;
	}
	case TS_ERR_invalid_message:
	case TS_ERR_unknown_opcode:
	case TS_ERR_invalid_id:
	case TS_ERR_bad_fds:
		assert_non_null(why);
		break;
	default:
		fail_msg("ts_decode returned %d", rc);
	}
	free(fds);
	free(msg);
}

static void test_fuzz(void **state) {
	static char strings[TS_MAX_ARGS][TS_MAX_STRING + 1];
	rng_state = 0x7e55e7a2024ull;
	unsigned decoded = 0, mutated = 0;
	for (unsigned iter = 0; iter < 200000; iter++) {
		const struct ts_interface *iface = ifaces[iter & 1];
		size_t len;
		uint8_t *buf;
		if (iter % 4 == 0) {
			// Random bytes behind a plausible header.
			len = rng() % 80;
			buf = malloc(len ? len : 1);
			for (size_t i = 0; i < len; i++) {
				buf[i] = (uint8_t)rng();
			}
			if (len >= TS_HEADER_SIZE && (rng() & 1)) {
				put_header(buf, (uint32_t)(len & ~(size_t)3), (uint16_t)(rng() % 16),
					(uint8_t)(rng() % 3), 0);
			}
		} else {
			// A valid message, then mutated.
			uint16_t op = (uint16_t)(rng() % iface->count);
			union ts_arg args[TS_MAX_ARGS];
			fill_args(&iface->messages[op], rng() % VARIANTS, args, strings);
			size_t size = ts_encoded_size(iface, op, args);
			assert_int_not_equal(size, 0);
			len = size + rng() % 9;
			buf = calloc(len, 1);
			assert_int_equal(ts_encode(buf, len, iface, op, args), size);
			unsigned mutations = 1 + rng() % 4;
			for (unsigned m = 0; m < mutations; m++) {
				uint32_t r = rng();
				size_t at = rng() % len;
				switch (r % 6) {
				case 0: buf[at] = (uint8_t)(r >> 8); break;
				case 1: buf[at] ^= (uint8_t)(1u << (r >> 8) % 8); break;
				case 2: // Resize: the size field off by a few words.
					ts_put_u32(buf, (uint32_t)size + 4 * ((r >> 8) % 5) - 8);
					break;
				case 3: // A string length or id word set to an edge value.
					if (len >= 12) {
						static const uint32_t edge[] = { 0, 1, 3, 4, 5, 1023, 1024, 1025,
							TS_MAX_ID, TS_MAX_ID + 1, 0x7fffffff, 0xffffffff };
						ts_put_u32(buf + 8 + 4 * ((at / 4) % ((len - 8) / 4)),
							edge[(r >> 8) % 12]);
					}
					break;
				case 4: buf[6] = (uint8_t)((r >> 8) % 6); break;
				default: len = at > 0 ? at : len; break; // truncate
				}
			}
			mutated++;
		}
		fuzz_one(iface, buf, len, &decoded);
		free(buf);
	}
	// The mix exercised every path.
	assert_true(mutated > 100000);
	assert_true(decoded > 1000);
	assert_int_equal(fuzz_results[0], decoded);
	assert_true(fuzz_bad_headers > 1000);
	assert_true(fuzz_results[TS_ERR_invalid_message] > 1000);
	assert_true(fuzz_results[TS_ERR_unknown_opcode] > 100);
	assert_true(fuzz_results[TS_ERR_invalid_id] > 100);
	assert_true(fuzz_results[TS_ERR_bad_fds] > 100);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_consistent),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_exact_layout),
		cmocka_unit_test(test_error_event_id_zero),
		cmocka_unit_test(test_header_rejections),
		cmocka_unit_test(test_body_rejections),
		cmocka_unit_test(test_catalogue),
		cmocka_unit_test(test_encode_rejections),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_encode_matches_reference),
		cmocka_unit_test(test_plain_rejections),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
