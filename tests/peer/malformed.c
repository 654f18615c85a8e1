#define _GNU_SOURCE
#include "malformed.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen.h"

#define ALL_FATAL true // version 1: every protocol error ends the client

struct builder {
	struct peer_case *cases;
	size_t count, cap;
	bool failed;
	struct peer_rng rng; // fixed seed: the catalogue is the same every time
};

// A new case named as @fmt says, with a hello first when @hello. NULL when out of room.
static struct peer_case *begin(struct builder *b, bool hello, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
static struct peer_case *begin(struct builder *b, bool hello, const char *fmt, ...) {
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 128;
		struct peer_case *grown = realloc(b->cases, cap * sizeof *grown);
		if (grown == NULL) {
			b->failed = true;
			return NULL;
		}
		b->cases = grown;
		b->cap = cap;
	}
	struct peer_case *c = &b->cases[b->count++];
	memset(c, 0, offsetof(struct peer_case, bytes));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->name, sizeof c->name, fmt, ap);
	va_end(ap);
	c->fatal = ALL_FATAL;
	if (hello) {
		c->len = peer_encode_hello(c->bytes, sizeof c->bytes, "peer");
	}
	c->setup = c->len;
	return c;
}

// Appends request @opcode with @args to the setup of @c (before the bad part).
static void setup_request(struct peer_case *c, uint16_t opcode, const union ts_arg *args) {
	c->len += peer_encode(c->bytes + c->len, sizeof c->bytes - c->len, opcode, args);
	c->setup = c->len;
}

// Appends raw bytes to the bad part of @c.
static void bad_bytes(struct peer_case *c, const void *bytes, size_t n) {
	if (n <= sizeof c->bytes - c->len) {
		memcpy(c->bytes + c->len, bytes, n);
		c->len += n;
	}
}

static void bad_words(struct peer_case *c, unsigned n, ...) {
	va_list ap;
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t w[4];
		ts_put_u32(w, va_arg(ap, uint32_t));
		bad_bytes(c, w, 4);
	}
	va_end(ap);
}

static void finish(struct peer_case *c, enum peer_level level, uint32_t expect, unsigned nfds) {
	c->level = level;
	c->expect = expect;
	c->nfds = nfds;
}

/* ---- a valid message, and where its fields lie ---- */

// A request the case can make: its opcode, arguments, encoding and the ids it used.
struct msg {
	uint16_t opcode;
	union ts_arg args[TS_MAX_ARGS];
	char strings[TS_MAX_STRING];
	uint8_t bytes[TS_MAX_MESSAGE];
	size_t size;
};

// Whether request @op needs nothing but its new id: no string, no fd, and no id of
// another object unless 0 (none) will do.
static bool needs_nothing(uint16_t op) {
	const char *sig = ts_requests[op].signature;
	const struct ts_message_meta *meta = &ts_request_interface.meta[op];
	for (unsigned k = 0; sig[k]; k++) {
		if (sig[k] == 's' || sig[k] == 'h' || (sig[k] == 'o' && !((meta->nullable >> k) & 1))) {
			return false;
		}
	}
	return true;
}

// The request that makes an object with nothing else needed (the first such in the
// table: group_create today).
static uint16_t creating_request(void) {
	for (uint16_t op = 0; op < TS_REQ_COUNT_; op++) {
		if (peer_request_creates(op) && needs_nothing(op)) {
			return op;
		}
	}
	return TS_REQ_COUNT_;
}

// The interfaces requests that need nothing can make (an object to name).
static uint32_t makeable_interfaces(void) {
	uint32_t mask = 0;
	for (uint16_t op = 0; op < TS_REQ_COUNT_; op++) {
		const char *sig = ts_requests[op].signature;
		for (unsigned k = 0; sig[k] && peer_request_creates(op) && needs_nothing(op); k++) {
			if (sig[k] == 'n' && ts_requests[op].args != NULL) {
				mask |= ts_requests[op].args[k].interfaces;
			}
		}
	}
	return mask;
}

// Whether a valid @op can be made on a fresh connection: every object it must name is
// of an interface some request that needs nothing makes. Buffers are not: they need a
// pool, which needs a sealed memfd that the catalogue's bytes cannot carry; the e2e
// tests of images send those.
static bool reachable(uint16_t op) {
	const char *sig = ts_requests[op].signature;
	const struct ts_message_meta *meta = &ts_request_interface.meta[op];
	uint32_t made = makeable_interfaces();
	for (unsigned k = 0; sig[k]; k++) {
		if (sig[k] == 'o' && !((meta->nullable >> k) & 1) && ts_requests[op].args != NULL &&
				ts_requests[op].args[k].interfaces != UINT32_MAX &&
				!(ts_requests[op].args[k].interfaces & made)) {
			return false;
		}
	}
	return true;
}

// Makes a live object on the connection of @c (a setup request); returns its id.
static uint32_t setup_object(struct builder *b, struct peer_case *c, struct peer_ids *ids) {
	uint16_t op = creating_request();
	union ts_arg args[TS_MAX_ARGS];
	char strings[TS_MAX_STRING];
	if (op == TS_REQ_COUNT_ || !peer_gen_args(&b->rng, ids, PEER_VALUES_SAFE, op, args, strings)) {
		b->failed = true;
		return 0;
	}
	setup_request(c, op, args);
	return ids->live[ids->nlive - 1];
}

// A valid @opcode for the connection of @c: an object is made first when it names
// one. Returns false (and fails the build) if the generator cannot make it.
static bool valid_msg(struct builder *b, struct peer_case *c, struct peer_ids *ids,
		uint16_t opcode, struct msg *m) {
	if (strchr(ts_requests[opcode].signature, 'o') && ids->nlive == 0) {
		setup_object(b, c, ids);
	}
	m->opcode = opcode;
	memset(m->args, 0, sizeof m->args);
	if (opcode == TS_REQ_hello) {
		m->args[0].u = TS_PROTOCOL_VERSION;
		m->args[1].s = "peer";
	} else if (!peer_gen_args(&b->rng, ids, PEER_VALUES_SAFE, opcode, m->args, m->strings)) {
		// It names an object of another interface: make one of every kind that needs
		// nothing else, and try again.
		for (uint16_t op = 0; op < TS_REQ_COUNT_; op++) {
			union ts_arg args[TS_MAX_ARGS];
			char strings[TS_MAX_STRING];
			if (op != creating_request() && peer_request_creates(op) && needs_nothing(op) &&
					peer_gen_args(&b->rng, ids, PEER_VALUES_SAFE, op, args, strings)) {
				setup_request(c, op, args);
			}
		}
		if (!peer_gen_args(&b->rng, ids, PEER_VALUES_SAFE, opcode, m->args, m->strings)) {
			b->failed = true;
			return false;
		}
	}
	m->size = peer_encode(m->bytes, sizeof m->bytes, opcode, m->args);
	b->failed |= m->size == 0;
	return m->size != 0;
}

static void reencode(struct builder *b, struct msg *m) {
	m->size = peer_encode(m->bytes, sizeof m->bytes, m->opcode, m->args);
	b->failed |= m->size == 0;
}

// The offset of field @k in the encoding of @m, and its length in bytes.
static size_t field_at(const struct msg *m, unsigned k, size_t *len) {
	const char *sig = ts_requests[m->opcode].signature;
	size_t at = TS_HEADER_SIZE;
	for (unsigned j = 0;; j++) {
		size_t n = sig[j] == 'h' ? 0 : sig[j] == 's'
			? 4 + ((strlen(m->args[j].s) + 1 + 3) & ~(size_t)3)
			: sig[j] == 'a' ? 4 + ((m->args[j].a.size + 3) & ~(size_t)3) : 4;
		if (j == k) {
			*len = n;
			return at;
		}
		at += n;
	}
}

// The fds @m takes, as the table says.
static unsigned fds_of(const struct msg *m) {
	return ts_request_interface.meta[m->opcode].nfds;
}

// Ends case @c with @m, its fields changed since valid_msg, as the bad message that the
// server must answer with @code.
static void finish_bad_msg(struct builder *b, struct peer_case *c, struct msg *m,
		uint32_t code) {
	reencode(b, m);
	bad_bytes(c, m->bytes, m->size);
	finish(c, PEER_AT_SERVER, PEER_ERR(code), fds_of(m));
}

/* ---- the cases ---- */

// Breaks of a whole request: its length, its fds, and its place before hello.
static void request_cases(struct builder *b, uint16_t op) {
	const char *name = ts_requests[op].name;
	bool hello = op != TS_REQ_hello; // a bad hello is sent as the first message
	struct msg m;
	struct peer_ids ids;
	struct peer_case *c;

	// Only a request with a word to cut off has a short form.
	const char *sig = ts_requests[op].signature;
	if (strspn(sig, "h") < strlen(sig) && (c = begin(b, hello, "%s-short", name))) {
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		ts_put_u32(m.bytes, (uint32_t)m.size - 4);
		bad_bytes(c, m.bytes, m.size - 4);
		finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_invalid_message), fds_of(&m));
	}

	if ((c = begin(b, hello, "%s-long", name))) {
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		ts_put_u32(m.bytes, (uint32_t)m.size + 4);
		ts_put_u32(m.bytes + m.size, 0);
		bad_bytes(c, m.bytes, m.size + 4);
		finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_invalid_message), fds_of(&m));
	}

	if ((c = begin(b, hello, "%s-fd-too-many", name))) {
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		ts_put_u32(m.bytes + 4, peer_header_word(op, (uint8_t)(fds_of(&m) + 1), 0));
		bad_bytes(c, m.bytes, m.size);
		finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_bad_fds), fds_of(&m) + 1);
	}

	// The header claims an fd more than it takes, and none more is sent.
	if ((c = begin(b, hello, "%s-fd-too-many-not-sent", name))) {
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		ts_put_u32(m.bytes + 4, peer_header_word(op, (uint8_t)(fds_of(&m) + 1), 0));
		bad_bytes(c, m.bytes, m.size);
		finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_bad_fds), fds_of(&m));
	}

	if (ts_request_interface.meta[op].nfds > 0) {
		if ((c = begin(b, hello, "%s-fds-left-out", name))) {
			ids = (struct peer_ids){ 0 };
			valid_msg(b, c, &ids, op, &m);
			ts_put_u32(m.bytes + 4, peer_header_word(op, 0, 0));
			bad_bytes(c, m.bytes, m.size);
			finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_bad_fds), 0);
		}
		// The header says the fds come; they never do.
		if ((c = begin(b, hello, "%s-fds-not-sent", name))) {
			ids = (struct peer_ids){ 0 };
			valid_msg(b, c, &ids, op, &m);
			bad_bytes(c, m.bytes, m.size);
			finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_bad_fds), 0);
		}
	} else if (op != TS_REQ_clock_step && (c = begin(b, hello, "%s-stray-fd", name))) {
		// Well formed and accepted, with an fd that no message claims. (clock_step is
		// refused, access_denied, by a server without --clock manual, as the catalogue's
		// servers are: it is never accepted to find the fd left over.)
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		bad_bytes(c, m.bytes, m.size);
		finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_bad_fds), 1);
	}

	if (op != TS_REQ_hello && (c = begin(b, false, "%s-before-hello", name))) {
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		c->len = c->setup = 0; // not even the object it names: nothing before it
		bad_bytes(c, m.bytes, m.size);
		finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_not_ready), fds_of(&m));
	}
}

// Breaks of id field @k of request @op.
static void id_cases(struct builder *b, uint16_t op, unsigned k) {
	const char *name = ts_requests[op].name;
	char field[32];
	peer_field_name(&ts_requests[op], k, field, sizeof field);
	bool hello = op != TS_REQ_hello;
	char kind = ts_requests[op].signature[k];
	struct msg m;
	struct peer_ids ids;
	struct peer_case *c;
	static const struct {
		const char *what;
		uint32_t id;
	} out_of_range[] = {
		{ "0", 0 }, { "above-max", TS_MAX_ID + 1 }, { "all-ones", 0xffffffffu },
	};
	const struct ts_arg_desc *desc = ts_requests[op].args;
	bool nullable = desc != NULL && desc[k].nullable;
	for (size_t i = nullable ? 1 : 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
		if ((c = begin(b, hello, "%s-%s-%s", name, field, out_of_range[i].what))) {
			ids = (struct peer_ids){ 0 };
			valid_msg(b, c, &ids, op, &m);
			m.args[k].u = out_of_range[i].id;
			reencode(b, &m);
			bad_bytes(c, m.bytes, m.size);
			finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_invalid_id), fds_of(&m));
		}
	}
	if (kind == 'n') {
		// A live object's id, and an id one past the next free one.
		if ((c = begin(b, hello, "%s-%s-in-use", name, field))) {
			ids = (struct peer_ids){ 0 };
			uint32_t live = setup_object(b, c, &ids);
			valid_msg(b, c, &ids, op, &m);
			m.args[k].u = live;
			finish_bad_msg(b, c, &m, TS_ERR_id_in_use);
		}
		if ((c = begin(b, hello, "%s-%s-ahead", name, field))) {
			ids = (struct peer_ids){ 0 };
			valid_msg(b, c, &ids, op, &m);
			m.args[k].u = ids.highest + 1;
			finish_bad_msg(b, c, &m, TS_ERR_invalid_id);
		}
		return;
	}
	// An existing id: one never used, one destroyed, one naming a callback that waits
	// for its frame (a frame request, never committed).
	if ((c = begin(b, hello, "%s-%s-unknown", name, field))) {
		ids = (struct peer_ids){ 0 };
		valid_msg(b, c, &ids, op, &m);
		m.args[k].u = ids.highest + 1;
		finish_bad_msg(b, c, &m, TS_ERR_invalid_id);
	}
	if ((c = begin(b, hello, "%s-%s-destroyed", name, field))) {
		ids = (struct peer_ids){ 0 };
		uint32_t gone = setup_object(b, c, &ids);
		setup_request(c, TS_REQ_destroy, (union ts_arg[]){ { .u = gone } });
		ids.nlive = 0;
		uint32_t other = setup_object(b, c, &ids); // so that the request can be made
		valid_msg(b, c, &ids, op, &m);
		for (unsigned j = 0; ts_requests[op].signature[j]; j++) {
			if (m.args[j].u == other && ts_requests[op].signature[j] == 'o') {
				m.args[j].u = j == k ? gone : other;
			}
		}
		m.args[k].u = gone; // a nullable field may have been generated as none
		finish_bad_msg(b, c, &m, TS_ERR_invalid_id);
	}
	if ((c = begin(b, hello, "%s-%s-callback", name, field))) {
		// The callback comes first, so that the ids the message makes come after it.
		uint32_t callback = 1;
		setup_request(c, TS_REQ_frame, (union ts_arg[]){ { .u = callback } });
		ids = (struct peer_ids){ .highest = callback };
		valid_msg(b, c, &ids, op, &m);
		m.args[k].u = callback;
		finish_bad_msg(b, c, &m, TS_ERR_wrong_type);
	}
}

// A way to break a field of variable length: what replaces its bytes (length word and
// data) in the message.
struct length_break {
	const char *what;
	uint32_t length;   // the length word
	const char *data;  // the bytes after it (NULL: that many 'x'), @size of them
	size_t size;
};

// Breaks of array field @k of request @op (its elements of elem bytes, 0: bytes).
static const struct length_break array_breaks[] = {
	{ "huge-length", 0xffffffffu, "\0\0\0\0", 4 },
	{ "past-end", 8, "abcd", 4 },
	{ "no-bytes", 100, "", 0 },
	{ "padding", 1, "a\0\xff\0", 4 },
};

// Breaks of string field @k of request @op.
static void length_cases(struct builder *b, uint16_t op, unsigned k) {
	char field[32];
	peer_field_name(&ts_requests[op], k, field, sizeof field);
	static const struct length_break string_breaks[] = {
		{ "zero-length", 0, "\0\0\0\0", 4 },
		{ "too-long", TS_MAX_STRING + 1, NULL, TS_MAX_STRING + 4 },
		{ "huge-length", 0xffffffffu, "\0\0\0\0", 4 },
		{ "past-end", 8, "abc\0", 4 },
		{ "one-past-end", 5, "abc\0", 4 },
		{ "no-bytes", 100, NULL, 0 },
		{ "no-nul", 4, "abcd", 4 },
		{ "inner-nul", 4, "a\0b\0", 4 },
		{ "early-nul", 3, "a\0\0\0", 4 },
		{ "padding", 2, "a\0\xff\0", 4 },
	};
	bool array = ts_requests[op].signature[k] == 'a';
	const struct length_break *breaks = array ? array_breaks : string_breaks;
	size_t nbreaks = array ? sizeof array_breaks / sizeof array_breaks[0]
		: sizeof string_breaks / sizeof string_breaks[0];
	const char *name = ts_requests[op].name;
	bool hello = op != TS_REQ_hello;
	// An array of elements wider than a byte: one byte more than whole elements.
	const struct ts_arg_desc *desc = ts_requests[op].args;
	uint32_t elem = array && desc != NULL ? desc[k].elem_size : 0;
	static char ragged[TS_MAX_STRING];
	struct length_break not_whole = { "not-whole", elem + 1, ragged, (elem + 1 + 3) & ~3u };
	for (size_t i = 0; i < nbreaks + (elem > 1); i++) {
		const struct length_break *br = i < nbreaks ? &breaks[i] : &not_whole;
		struct peer_case *c = begin(b, hello, "%s-%s-%s", name, field, br->what);
		if (c == NULL) {
			return;
		}
		struct peer_ids ids = { 0 };
		struct msg m;
		valid_msg(b, c, &ids, op, &m);
		size_t len, at = field_at(&m, k, &len);
		uint8_t out[2 * TS_MAX_MESSAGE];
		memcpy(out, m.bytes, at);
		size_t n = at;
		ts_put_u32(out + n, br->length);
		n += 4;
		if (br->data != NULL) {
			memcpy(out + n, br->data, br->size);
		} else {
			memset(out + n, 'x', br->size); // too long: no NUL where one would be
		}
		n += br->size;
		memcpy(out + n, m.bytes + at + len, m.size - at - len);
		n += m.size - at - len;
		ts_put_u32(out, (uint32_t)n);
		bad_bytes(c, out, n);
		finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_invalid_message), fds_of(&m));
	}
}

// Headers out of range, each as 16 bytes after a hello (the size of a sync and a word).
static void header_cases(struct builder *b) {
	static const struct {
		const char *what;
		uint32_t size, word;
	} headers[] = {
		{ "size-0", 0, TS_REQ_sync },
		{ "size-4", 4, TS_REQ_sync },
		{ "size-below-header", TS_HEADER_SIZE - 1, TS_REQ_sync },
		{ "size-odd", 10, TS_REQ_commit },
		{ "size-not-multiple-of-4", 14, TS_REQ_sync },
		{ "size-above-max", TS_MAX_MESSAGE + 4, TS_REQ_sync },
		{ "size-huge", 0xffffffffu, TS_REQ_sync },
		{ "flags-low-bit", 12, TS_REQ_sync | 1u << 24 },
		{ "flags-high-bit", 12, TS_REQ_sync | 0x80u << 24 },
		{ "nfds-above-max", 12, TS_REQ_sync | (TS_MAX_FDS_PER_MESSAGE + 1) << 16 },
		{ "nfds-255", 12, TS_REQ_sync | 0xffu << 16 },
	};
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		struct peer_case *c = begin(b, true, "header-%s", headers[i].what);
		if (c != NULL) {
			bad_words(c, 4, headers[i].size, headers[i].word, 1, 0);
			finish(c, PEER_AT_HEADER, PEER_ERR(TS_ERR_invalid_message), 0);
		}
	}
	// A 4 GiB header as the very first bytes.
	struct peer_case *c = begin(b, false, "header-size-huge-before-hello");
	if (c != NULL) {
		bad_words(c, 2, 0xffffffffu, (uint32_t)TS_REQ_sync);
		finish(c, PEER_AT_HEADER, PEER_ERR(TS_ERR_invalid_message), 0);
	}
	// Well framed, as large as a message may be, but a sync.
	if ((c = begin(b, true, "sync-largest"))) {
		uint8_t big[TS_MAX_MESSAGE] = { 0 };
		peer_header(big, TS_MAX_MESSAGE, TS_REQ_sync, 0, 0);
		ts_put_u32(big + TS_HEADER_SIZE, 1);
		bad_bytes(c, big, sizeof big);
		finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_invalid_message), 0);
	}
}

static void opcode_cases(struct builder *b) {
	static const struct {
		const char *what;
		uint32_t opcode;
		unsigned words; // after the header
	} opcodes[] = {
		{ "count", TS_REQ_COUNT_, 1 }, { "999", 999, 0 }, { "ffff", 0xffff, 2 },
	};
	for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++) {
		struct peer_case *c = begin(b, true, "opcode-%s", opcodes[i].what);
		if (c != NULL) {
			bad_words(c, 2, TS_HEADER_SIZE + 4 * opcodes[i].words, opcodes[i].opcode);
			for (unsigned w = 0; w < opcodes[i].words; w++) {
				bad_words(c, 1, 1u);
			}
			finish(c, PEER_AT_DECODE, PEER_ERR(TS_ERR_unknown_opcode), 0);
		}
	}
}

// What the table cannot know: ranges of values, the handshake, the order of requests.
static void semantic_cases(struct builder *b) {
	static const struct {
		const char *what;
		uint16_t opcode;
		uint32_t a, b;
	} values[] = {
		// Fixed-point fields are given raw: 0x10000 is 1.
		{ "node_set_visible-2", TS_REQ_node_set_visible, 2, 0 },
		{ "node_set_visible-all-ones", TS_REQ_node_set_visible, 0xffffffffu, 0 },
		{ "node_set_size-width-negative", TS_REQ_node_set_size, 0xffffffffu, 0x100000 },
		{ "node_set_size-width-most-negative", TS_REQ_node_set_size, 0x80000000u, 0x100000 },
		{ "node_set_size-height-minus-1", TS_REQ_node_set_size, 0x100000, 0xffff0000u },
		{ "node_set_opacity-1.5", TS_REQ_node_set_opacity, 0x18000, 0 },
		{ "node_set_opacity-negative", TS_REQ_node_set_opacity, 0xffff8000u, 0 },
	};
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		struct peer_case *c = begin(b, true, "value-%s", values[i].what);
		if (c != NULL) {
			struct peer_ids ids = { 0 };
			uint32_t id = setup_object(b, c, &ids);
			uint8_t msg[TS_MAX_MESSAGE];
			size_t n = peer_encode(msg, sizeof msg, values[i].opcode, (union ts_arg[]){
				{ .u = id }, { .u = values[i].a }, { .u = values[i].b } });
			bad_bytes(c, msg, n);
			finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_invalid_value), 0);
		}
	}
	struct peer_case *c = begin(b, false, "hello-version-0");
	if (c != NULL) {
		uint8_t msg[TS_MAX_MESSAGE];
		bad_bytes(c, msg, peer_encode(msg, sizeof msg, TS_REQ_hello,
			(union ts_arg[]){ { .u = 0 }, { .s = "v0" } }));
		finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_bad_version), 0);
	}
	if ((c = begin(b, true, "hello-twice"))) {
		uint8_t msg[TS_MAX_MESSAGE];
		bad_bytes(c, msg, peer_encode_hello(msg, sizeof msg, "again"));
		finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_invalid_message), 0);
	}
	// Random bytes as the first thing: some error, whichever the bytes make first.
	if ((c = begin(b, false, "random-bytes"))) {
		unsigned seed = 12345;
		for (int i = 0; i < 512; i++) {
			uint8_t byte = (uint8_t)(rand_r(&seed) >> 7);
			bad_bytes(c, &byte, 1);
		}
		finish(c, PEER_AT_SERVER, PEER_ERR(TS_ERR_invalid_message) |
			PEER_ERR(TS_ERR_unknown_opcode) | PEER_ERR(TS_ERR_not_ready) |
			PEER_ERR(TS_ERR_bad_fds), 0);
	}
}

struct peer_case *peer_malformed(size_t *count) {
	struct builder b = { .rng = { 0x7e55e7a5eedull } };
	for (uint16_t op = 0; op < TS_REQ_COUNT_; op++) {
		if (!reachable(op)) {
			continue;
		}
		request_cases(&b, op);
		const char *sig = ts_requests[op].signature;
		for (unsigned k = 0; sig[k]; k++) {
			// The fields the wire itself can get wrong; 'u' and 'i' take any value
			// there (their ranges are the semantic cases'), 'h' is the fds' cases.
			switch (sig[k]) {
			case 'n':
			case 'o':
				id_cases(&b, op, k);
				break;
			case 's':
			case 'a':
				length_cases(&b, op, k);
				break;
			default:
				break;
			}
		}
	}
	header_cases(&b);
	opcode_cases(&b);
	semantic_cases(&b);
	if (b.failed) {
		free(b.cases);
		return NULL;
	}
	*count = b.count;
	return b.cases;
}

enum peer_write_result peer_case_send(int fd, const struct peer_case *c) {
	enum peer_write_result rc = c->setup > 0 ? peer_write(fd, c->bytes, c->setup, NULL, 0)
		: PEER_WRITTEN;
	if (rc != PEER_WRITTEN) {
		return rc;
	}
	int fds[TS_MAX_FDS_PER_MESSAGE + 1];
	unsigned n = 0;
	while (n < c->nfds && n < sizeof fds / sizeof fds[0]) {
		fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0) {
			break;
		}
		n++;
	}
	rc = n < c->nfds ? PEER_FAILED
		: peer_write(fd, c->bytes + c->setup, c->len - c->setup, fds, n);
	for (unsigned i = 0; i < n; i++) {
		close(fds[i]);
	}
	return rc;
}

bool peer_case_check(const struct peer_case *c, const struct peer *p, char *why, size_t cap) {
	if (p->bad != NULL) {
		snprintf(why, cap, "%s: the server sent %s", c->name, p->bad);
		return false;
	}
	if (p->errors != 1 || !peer_case_allows(c, p->code)) {
		snprintf(why, cap, "%s: %d error event(s), the last %s (%s)", c->name, p->errors,
			p->errors ? ts_error_name(p->code) : "-", p->errors ? p->message : "");
		return false;
	}
	if (c->fatal && !p->hung_up) {
		snprintf(why, cap, "%s: %s, but the server did not hang up", c->name,
			ts_error_name(p->code));
		return false;
	}
	return true;
}
