/*
 * Writes the seed corpus of the fuzz targets, in each target's input format (see
 * fuzz-decode.c and fuzz-server.c), from streams made with the protocol's encoder:
 * every request well formed after a hello, every event, realistic sessions, and each
 * malformed case the unit and end-to-end tests know.
 *
 * usage: gen-corpus DIR    writes DIR/fuzz-decode/NAME, DIR/fuzz-server/NAME and the
 *                          dictionaries DIR/fuzz-decode.dict, DIR/fuzz-server.dict
 *        gen-corpus --check DIR   fails when a file there differs from what it writes
 *
 * Files are overwritten, none removed: inputs kept from fuzzing (regress-*) stay.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-server.h"
#include "wire.h"

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static const char *out_dir;
static bool check;       // --check: compare with the files, write nothing
static unsigned stale;   // files that --check found different or missing

static void put(struct buf *b, const void *bytes, size_t n) {
	if (b->cap - b->len < n) {
		while (b->cap - b->len < n) {
			b->cap = b->cap ? b->cap * 2 : 256;
		}
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL) {
			fprintf(stderr, "gen-corpus: out of memory\n");
			exit(1);
		}
	}
	if (n > 0) {
		memcpy(b->data + b->len, bytes, n);
	}
	b->len += n;
}

static void put_byte(struct buf *b, uint8_t v) {
	put(b, &v, 1);
}

// Raw 32-bit words, for messages the encoder refuses to make.
static void words(struct buf *b, unsigned n, ...) {
	va_list ap;
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t w[4];
		ts_put_u32(w, va_arg(ap, uint32_t));
		put(b, w, 4);
	}
	va_end(ap);
}

// The second header word: opcode, fd count, flags.
static uint32_t op_word(uint16_t opcode, uint8_t nfds, uint8_t flags) {
	return opcode | (uint32_t)nfds << 16 | (uint32_t)flags << 24;
}

static void message(struct buf *b, const struct ts_interface *iface, uint16_t opcode,
		const union ts_arg *args) {
	uint8_t msg[TS_MAX_MESSAGE];
	size_t n = ts_encode(msg, sizeof msg, iface, opcode, args);
	if (n == 0) {
		fprintf(stderr, "gen-corpus: cannot encode %s\n", iface->messages[opcode].name);
		exit(1);
	}
	put(b, msg, n);
}

#define REQ(b, name, ...) message(b, &ts_request_interface, TS_REQ_##name, \
	(const union ts_arg[TS_MAX_ARGS]){ __VA_ARGS__ })
#define EV(b, name, ...) message(b, &ts_event_interface, TS_EV_##name, \
	(const union ts_arg[TS_MAX_ARGS]){ __VA_ARGS__ })

static void hello(struct buf *b) {
	REQ(b, hello, { .u = TS_PROTOCOL_VERSION }, { .s = "fuzz" });
}

// Writes @b as DIR/TARGET/NAME (DIR/NAME when @target is NULL), or with --check
// compares it with what is there.
static void write_file(const char *target, const char *name, const struct buf *b) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", out_dir, target ? target : "");
	if (!check && mkdir(path, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen-corpus: cannot make %s: %s\n", path, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s%s%s", out_dir, target ? target : "",
		target ? "/" : "", name);
	if (check) {
		FILE *f = fopen(path, "rb");
		uint8_t *old = malloc(b->len + 1);
		size_t n = f && old ? fread(old, 1, b->len + 1, f) : 0;
		if (n != b->len || (n > 0 && memcmp(old, b->data, n) != 0)) {
			fprintf(stderr, "gen-corpus: %s is not what gen-corpus writes\n", path);
			stale++;
		}
		free(old);
		if (f) {
			fclose(f);
		}
		return;
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		fprintf(stderr, "gen-corpus: cannot write %s\n", path);
		exit(1);
	}
}

/* fuzz-server's operations. */
enum { SEND = FUZZ_OP_SEND, SEND_FDS = FUZZ_OP_SEND_FDS, ROUND = FUZZ_OP_ROUND,
	HANGUP = FUZZ_OP_HANG_UP, READ = FUZZ_OP_READ, SHUT_WR = FUZZ_OP_SHUT_WR };

static void op(struct buf *b, unsigned kind, unsigned client, unsigned arg) {
	put_byte(b, (uint8_t)(kind | client << 3 | arg << 5));
}

// Sends @len bytes as they are.
static void op_send_raw(struct buf *b, unsigned client, const uint8_t *bytes, size_t len) {
	while (len > 0) {
		size_t n = len > 0xffff ? 0xffff : len;
		op(b, SEND, client, 0);
		put_byte(b, (uint8_t)n);
		put_byte(b, (uint8_t)(n >> 8));
		put(b, bytes, n);
		bytes += n;
		len -= n;
	}
}

// Sends @len (1 to 0xffff) bytes with @nfds (1 to 3) fds of @kind (enum fuzz_fd).
static void op_send_fds(struct buf *b, unsigned client, unsigned nfds, enum fuzz_fd kind,
		const uint8_t *bytes, size_t len) {
	op(b, SEND_FDS, client, nfds - 1);
	put_byte(b, (uint8_t)kind);
	put_byte(b, (uint8_t)len);
	put_byte(b, (uint8_t)(len >> 8));
	put(b, bytes, len);
}

// Sends a stream of requests as a client would: each request that takes fds (a
// screenshot) goes with screenshot memory. Bytes past a malformed header go as they are.
static void op_send(struct buf *b, unsigned client, const uint8_t *bytes, size_t len) {
	size_t plain = 0; // bytes before @bytes not sent yet
	while (len > 0) {
		struct ts_header hdr;
		if (ts_header_read(bytes, len, &hdr) != TS_HEADER_OK || hdr.size > len) {
			break;
		}
		if (hdr.nfds > 0 && hdr.opcode < TS_REQ_COUNT_ &&
				hdr.nfds == ts_request_interface.meta[hdr.opcode].nfds) {
			op_send_raw(b, client, bytes - plain, plain);
			op_send_fds(b, client, hdr.nfds, FUZZ_FD_SCREENSHOT, bytes, hdr.size);
			plain = 0;
		} else {
			plain += hdr.size;
		}
		bytes += hdr.size;
		len -= hdr.size;
	}
	op_send_raw(b, client, bytes - plain, plain + len);
}

// Rounds and reads enough for the server to answer everything sent so far.
static void settle(struct buf *b, unsigned clients) {
	for (int i = 0; i < 2; i++) {
		op(b, ROUND, 0, 0);
		for (unsigned k = 0; k < clients; k++) {
			op(b, READ, k, 0);
		}
	}
}

// The fds the well-formed requests of @stream take (7 at most: what fuzz-decode
// can queue).
static unsigned stream_fds(const struct buf *stream) {
	unsigned n = 0;
	const uint8_t *p = stream->data;
	size_t len = stream->len;
	struct ts_header hdr;
	while (ts_header_read(p, len, &hdr) == TS_HEADER_OK && hdr.size <= len) {
		if (hdr.opcode < TS_REQ_COUNT_ &&
				hdr.nfds == ts_request_interface.meta[hdr.opcode].nfds) {
			n += hdr.nfds;
		}
		p += hdr.size;
		len -= hdr.size;
	}
	return n < 7 ? n : 7;
}

/*
 * One stream of requests: a seed for both targets. fuzz-decode gets it whole, with the
 * fds its requests take queued; fuzz-server sends it from one client, each screenshot
 * with its memory, then lets the server answer.
 */
static void seed_stream(const char *name, const struct buf *stream) {
	struct buf b = { 0 };
	put_byte(&b, (uint8_t)stream_fds(stream));
	put(&b, stream->data, stream->len);
	write_file("fuzz-decode", name, &b);
	b.len = 0;
	put_byte(&b, 0); // one client
	op_send(&b, 0, stream->data, stream->len);
	settle(&b, 1);
	write_file("fuzz-server", name, &b);
	free(b.data);
}

// A stream made by @fn after a hello (or without one when @with_hello is false).
static void seed(const char *name, bool with_hello, void (*fn)(struct buf *)) {
	struct buf s = { 0 };
	if (with_hello) {
		hello(&s);
	}
	fn(&s);
	seed_stream(name, &s);
	free(s.data);
}

/* Every request, well formed, after a hello. */

static void one_each(void) {
	for (uint16_t opcode = 0; opcode < TS_REQ_COUNT_; opcode++) {
		struct buf s = { 0 };
		hello(&s);
		// Requests about a rect get one; a new id is the next one.
		const char *sig = ts_requests[opcode].signature;
		bool needs_rect = strchr(sig, 'o') != NULL;
		if (needs_rect) {
			REQ(&s, rect_create, { .u = 1 });
		}
		union ts_arg args[TS_MAX_ARGS] = { 0 };
		for (unsigned i = 0; sig[i]; i++) {
			switch (sig[i]) {
			case 'n':
				args[i].u = needs_rect ? 2 : 1;
				break;
			case 'o':
				args[i].u = 1;
				break;
			case 's':
				args[i].s = "seed";
				break;
			default:
				args[i].u = 1; // a valid value for every field
				break;
			}
		}
		if (opcode != TS_REQ_hello) {
			message(&s, &ts_request_interface, opcode, args);
		}
		REQ(&s, commit);
		char name[64];
		snprintf(name, sizeof name, "ok-%s", ts_requests[opcode].name);
		seed_stream(name, &s);
		free(s.data);
	}
}

/* Every event, for fuzz-decode (the server never reads them). */

static void events(void) {
	struct buf s = { 0 };
	put_byte(&s, 0);
	EV(&s, welcome, { .u = 1 }, { .u = 7 }, { .u = 1280 }, { .u = 720 });
	EV(&s, done, { .u = 3 }, { .u = 0 });
	EV(&s, delete_id, { .u = 2 });
	EV(&s, client_info, { .u = 4 }, { .u = 2 }, { .u = 1234 }, { .u = 5 }, { .u = 4096 },
		{ .s = "demo" });
	EV(&s, limit, { .u = 4 }, { .s = "objects" }, { .u = 65536 });
	EV(&s, info_done, { .u = 4 }, { .u = 1 }, { .u = 5 }, { .u = 250 }, { .u = 2 },
		{ .u = 7 }, { .u = 3 });
	EV(&s, screenshot_done, { .u = 5 }, { .u = 320 }, { .u = 240 }, { .u = 1280 });
	EV(&s, error, { .u = 0 }, { .u = TS_ERR_invalid_id }, { .s = "no object with id 9" });
	write_file("fuzz-decode", "ok-events", &s);
	free(s.data);
}

/* Realistic sessions. */

static void rects(struct buf *s, uint32_t first, uint32_t count) {
	for (uint32_t id = first; id < first + count; id++) {
		REQ(s, rect_create, { .u = id });
		REQ(s, rect_set_position, { .u = id }, { .i = (int32_t)(id * 7) - 5 }, { .i = (int32_t)id * 3 });
		REQ(s, rect_set_size, { .u = id }, { .u = 10 + id }, { .u = 8 });
		REQ(s, rect_set_color, { .u = id }, { .u = 0xff000080u | id << 8 });
		REQ(s, rect_set_z, { .u = id }, { .i = (int32_t)(id % 3) - 1 });
	}
}

static void session(struct buf *s) {
	rects(s, 1, 3);
	REQ(s, rect_set_visible, { .u = 2 }, { .u = 0 });
	REQ(s, frame, { .u = 4 });
	REQ(s, commit);
	REQ(s, sync, { .u = 5 });
	REQ(s, rect_set_position, { .u = 1 }, { .i = 30 }, { .i = 20 });
	REQ(s, rect_set_visible, { .u = 2 }, { .u = 1 });
	REQ(s, frame, { .u = 5 });
	REQ(s, commit);
	REQ(s, info_query, { .u = 6 });
	REQ(s, screenshot, { .u = 7 });
	REQ(s, destroy, { .u = 3 });
	REQ(s, commit);
}

static void reuse(struct buf *s) {
	rects(s, 1, 2);
	REQ(s, commit);
	REQ(s, destroy, { .u = 1 });
	REQ(s, rect_create, { .u = 1 }); // after delete_id in a real client; fine either way
	REQ(s, rect_set_size, { .u = 1 }, { .u = 5 }, { .u = 5 });
	REQ(s, destroy, { .u = 2 });
	REQ(s, commit);
	REQ(s, sync, { .u = 2 });
}

static void create_destroy_uncommitted(struct buf *s) {
	rects(s, 1, 4);
	REQ(s, destroy, { .u = 4 });
	REQ(s, destroy, { .u = 2 });
	REQ(s, rect_create, { .u = 2 });
	REQ(s, commit);
	REQ(s, frame, { .u = 4 });
	REQ(s, commit);
}

static void destroy_with_pending(struct buf *s) {
	rects(s, 1, 3);
	REQ(s, commit);
	REQ(s, rect_set_position, { .u = 1 }, { .i = 4 }, { .i = 4 });
	REQ(s, rect_set_color, { .u = 2 }, { .u = 0x00ff00ffu });
	REQ(s, rect_set_z, { .u = 3 }, { .i = 9 });
	REQ(s, destroy, { .u = 2 });
	REQ(s, commit);
	REQ(s, screenshot, { .u = 4 });
	REQ(s, destroy, { .u = 1 });
	REQ(s, rect_set_size, { .u = 3 }, { .u = 1 }, { .u = 1 });
	REQ(s, commit);
}

// Half of a full list of uncommitted rects destroyed, then one more created: the list
// is compacted before it grows.
static void uncommitted_compacted(struct buf *s) {
	for (uint32_t id = 1; id <= 16; id++) {
		REQ(s, rect_create, { .u = id });
		REQ(s, rect_set_size, { .u = id }, { .u = id }, { .u = 2 });
	}
	for (uint32_t id = 1; id <= 16; id += 2) {
		REQ(s, destroy, { .u = id });
	}
	REQ(s, rect_create, { .u = 1 });
	REQ(s, commit);
	REQ(s, screenshot, { .u = 3 });
}

static void many_rects(struct buf *s) {
	rects(s, 1, 40);
	REQ(s, commit);
	for (uint32_t id = 1; id <= 40; id += 3) {
		REQ(s, rect_set_z, { .u = id }, { .i = 50 - (int32_t)id });
	}
	REQ(s, commit);
	REQ(s, screenshot, { .u = 41 });
}

/* Malformed headers and fields. */

static void size_short(struct buf *s) { words(s, 2, 4, op_word(TS_REQ_commit, 0, 0)); }
static void size_odd(struct buf *s) { words(s, 3, 10, op_word(TS_REQ_commit, 0, 0), 0); }
static void size_huge(struct buf *s) { words(s, 2, 0xffffffffu, op_word(TS_REQ_sync, 0, 0)); }
static void size_above_max(struct buf *s) {
	words(s, 2, TS_MAX_MESSAGE + 4, op_word(TS_REQ_sync, 0, 0));
}
static void too_long(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	words(s, 6, 24, op_word(TS_REQ_rect_set_position, 0, 0), 1, 2, 3, 4);
}
static void too_short(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	words(s, 4, 16, op_word(TS_REQ_rect_set_position, 0, 0), 1, 2);
}
static void commit_with_body(struct buf *s) { words(s, 3, 12, op_word(TS_REQ_commit, 0, 0), 0); }
static void bad_opcode(struct buf *s) { words(s, 2, 8, op_word(999, 0, 0)); }
static void opcode_past_table(struct buf *s) { words(s, 3, 12, op_word(TS_REQ_COUNT_, 0, 0), 1); }
static void flags_set(struct buf *s) { words(s, 2, 8, op_word(TS_REQ_commit, 0, 1)); }
static void too_many_fds(struct buf *s) { words(s, 2, 8, op_word(TS_REQ_commit, 5, 0)); }
static void fds_missing(struct buf *s) { words(s, 2, 8, op_word(TS_REQ_commit, 1, 0)); }

/* Strings (hello is the only request with one). */

static void str_zero_length(struct buf *s) { words(s, 4, 16, op_word(TS_REQ_hello, 0, 0), 1, 0); }
static void str_too_long(struct buf *s) {
	words(s, 4, 16, op_word(TS_REQ_hello, 0, 0), 1, TS_MAX_STRING + 1);
}
static void str_past_end(struct buf *s) {
	words(s, 5, 20, op_word(TS_REQ_hello, 0, 0), 1, 8, 0x00636261);
}
static void str_no_nul(struct buf *s) {
	words(s, 5, 20, op_word(TS_REQ_hello, 0, 0), 1, 4, 0x64636261);
}
static void str_inner_nul(struct buf *s) {
	words(s, 5, 20, op_word(TS_REQ_hello, 0, 0), 1, 4, 0x00620061);
}
static void str_bad_padding(struct buf *s) {
	words(s, 5, 20, op_word(TS_REQ_hello, 0, 0), 1, 2, 0x00ff0061);
}
static void str_trailing_word(struct buf *s) {
	words(s, 6, 24, op_word(TS_REQ_hello, 0, 0), 1, 4, 0x00636261, 0);
}
static void str_longest(struct buf *s) {
	char name[TS_MAX_STRING];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	REQ(s, hello, { .u = 1 }, { .s = name });
	REQ(s, sync, { .u = 1 });
}

/* Ids. */

static void id_zero(struct buf *s) { words(s, 3, 12, op_word(TS_REQ_rect_create, 0, 0), 0); }
static void id_above_max(struct buf *s) {
	words(s, 3, 12, op_word(TS_REQ_rect_create, 0, 0), TS_MAX_ID + 1);
}
static void id_all_ones(struct buf *s) {
	words(s, 3, 12, op_word(TS_REQ_destroy, 0, 0), 0xffffffffu);
}
static void id_unknown(struct buf *s) { REQ(s, rect_set_color, { .u = 7 }, { .u = 0 }); }
static void id_skips_ahead(struct buf *s) { REQ(s, rect_create, { .u = 50 }); }
static void id_in_use(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	REQ(s, rect_create, { .u = 1 });
}
static void id_destroyed(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	REQ(s, commit);
	REQ(s, destroy, { .u = 1 });
	REQ(s, rect_set_z, { .u = 1 }, { .i = 3 });
}
static void id_destroyed_twice(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	REQ(s, destroy, { .u = 1 });
	REQ(s, destroy, { .u = 1 });
}
static void destroy_callback(struct buf *s) {
	REQ(s, frame, { .u = 1 });
	REQ(s, destroy, { .u = 1 });
}
static void callback_as_rect(struct buf *s) {
	REQ(s, frame, { .u = 1 });
	REQ(s, rect_set_size, { .u = 1 }, { .u = 1 }, { .u = 1 });
}
static void callback_id_in_use(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	REQ(s, sync, { .u = 1 });
}

/* Values and order. */

static void size_too_large(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	REQ(s, rect_set_size, { .u = 1 }, { .u = 40000 }, { .u = 10 });
}
static void visible_two(struct buf *s) {
	REQ(s, rect_create, { .u = 1 });
	REQ(s, rect_set_visible, { .u = 1 }, { .u = 2 });
}
static void before_hello(struct buf *s) { REQ(s, rect_create, { .u = 1 }); }
static void hello_twice(struct buf *s) { hello(s); }
static void hello_version_zero(struct buf *s) { REQ(s, hello, { .u = 0 }, { .s = "v0" }); }
static void hello_future_version(struct buf *s) {
	REQ(s, hello, { .u = TS_PROTOCOL_VERSION + 7 }, { .s = "future" });
	REQ(s, sync, { .u = 1 });
}
static void random_bytes(struct buf *s) {
	unsigned seed = 12345;
	for (int i = 0; i < 512; i++) {
		put_byte(s, (uint8_t)(rand_r(&seed) >> 7));
	}
}

/* fuzz-server only: several clients, fds, hang-ups. */

static void multi_client(void) {
	struct buf b = { 0 }, s = { 0 };
	put_byte(&b, 2); // three clients
	for (unsigned k = 0; k < 3; k++) {
		s.len = 0;
		hello(&s);
		rects(&s, 1, 2 + k);
		REQ(&s, frame, { .u = 3 + k });
		REQ(&s, commit);
		op_send(&b, k, s.data, s.len);
	}
	settle(&b, 3);
	// Client k holds ids 1 to 3 + k: the next new id is 4 + k.
	s.len = 0;
	REQ(&s, info_query, { .u = 5 });
	REQ(&s, screenshot, { .u = 5 });
	op_send(&b, 1, s.data, s.len);
	op(&b, HANGUP, 0, 0); // client 0 goes with rects on screen
	settle(&b, 3);
	s.len = 0;
	REQ(&s, info_query, { .u = 6 });
	REQ(&s, destroy, { .u = 1 });
	REQ(&s, commit);
	REQ(&s, screenshot, { .u = 7 });
	op_send(&b, 2, s.data, s.len);
	settle(&b, 3);
	write_file("fuzz-server", "multi-clients", &b);

	// A client dies in the middle of a message; another keeps going.
	b.len = 0;
	put_byte(&b, 1);
	s.len = 0;
	hello(&s);
	rects(&s, 1, 3);
	REQ(&s, commit);
	op_send(&b, 0, s.data, s.len - 3);
	op_send(&b, 1, s.data, s.len);
	op(&b, ROUND, 0, 0);
	op(&b, HANGUP, 0, 0);
	settle(&b, 2);
	write_file("fuzz-server", "hangup-mid-message", &b);

	// Half-closed: the server reads EOF while the socket is still open.
	b.len = 0;
	put_byte(&b, 0);
	op_send(&b, 0, s.data, s.len);
	op(&b, SHUT_WR, 0, 0);
	settle(&b, 1);
	write_file("fuzz-server", "shutdown-write", &b);

	// A client that never reads while its events pile up past the out-buffer's limit:
	// each info_query brings it three client_info of 1 KiB.
	b.len = 0;
	put_byte(&b, 3);
	char name[TS_MAX_STRING];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	s.len = 0;
	REQ(&s, hello, { .u = 1 }, { .s = name });
	for (unsigned k = 0; k < 4; k++) {
		op_send(&b, k, s.data, s.len);
	}
	op(&b, ROUND, 0, 0); // every name known before the first info_query
	s.len = 0;
	for (int i = 0; i < 100; i++) {
		REQ(&s, info_query, { .u = 1 });
	}
	for (int i = 0; i < 6; i++) {
		op_send(&b, 0, s.data, s.len);
		op(&b, ROUND, 0, 0);
	}
	settle(&b, 4);
	write_file("fuzz-server", "unread-events", &b);

	// Screenshots answered while the socket is full and events wait in the server.
	b.len = 0;
	put_byte(&b, 3);
	s.len = 0;
	REQ(&s, hello, { .u = 1 }, { .s = name });
	for (unsigned k = 0; k < 4; k++) {
		op_send(&b, k, s.data, s.len);
	}
	op(&b, ROUND, 0, 0); // every name known before the first info_query
	s.len = 0;
	for (int i = 0; i < 90; i++) {
		REQ(&s, info_query, { .u = 1 });
	}
	op_send(&b, 0, s.data, s.len);
	op(&b, ROUND, 0, 0);
	op(&b, ROUND, 0, 0);
	s.len = 0;
	for (uint32_t id = 1; id <= 30; id++) {
		REQ(&s, screenshot, { .u = id });
	}
	op_send(&b, 0, s.data, s.len);
	for (int i = 0; i < 30; i++) { // a screenshot is a slice of its own
		op(&b, ROUND, 0, 0);
	}
	write_file("fuzz-server", "screenshots-socket-full", &b);

	// Many screenshots in one read, each a slice of its own.
	b.len = 0;
	put_byte(&b, 0);
	s.len = 0;
	hello(&s);
	rects(&s, 1, 2);
	REQ(&s, commit);
	for (uint32_t id = 3; id < 3 + 40; id++) {
		REQ(&s, screenshot, { .u = id });
	}
	op_send(&b, 0, s.data, s.len);
	settle(&b, 1);
	write_file("fuzz-server", "screenshots-unread", &b);
	free(s.data);
	free(b.data);
}

static void fds(void) {
	struct buf b = { 0 }, s = { 0 };
	hello(&s);
	size_t hello_len = s.len;
	words(&s, 2, 8, op_word(TS_REQ_commit, 1, 0));
	// commit claiming the fd it carries: a message that takes none.
	put_byte(&b, 0);
	op_send(&b, 0, s.data, hello_len);
	op_send_fds(&b, 0, 1, FUZZ_FD_SCREENSHOT, s.data + hello_len, 8);
	settle(&b, 1);
	write_file("fuzz-server", "bad-fds-commit-with-fd", &b);

	// Fds no message claims, sent with a well-formed commit, again and again.
	b.len = 0;
	put_byte(&b, 0);
	s.len = 0;
	hello(&s);
	op_send(&b, 0, s.data, s.len);
	op(&b, ROUND, 0, 0);
	s.len = 0;
	REQ(&s, commit);
	// A read stops where fds were attached: a round takes one send.
	for (int i = 0; i < 11; i++) {
		op_send_fds(&b, 0, 3, (enum fuzz_fd)(i % 6), s.data, s.len);
		op(&b, ROUND, 0, 0);
	}
	settle(&b, 1);
	write_file("fuzz-server", "bad-fds-unclaimed", &b);

	// Fds sent before hello, with the hello.
	s.len = 0;
	hello(&s);
	REQ(&s, sync, { .u = 1 });
	b.len = 0;
	put_byte(&b, 0);
	op_send_fds(&b, 0, 2, FUZZ_FD_DEV_NULL, s.data, s.len);
	settle(&b, 1);
	write_file("fuzz-server", "bad-fds-with-hello", &b);

	// A screenshot without its memory, and one with each kind of wrong memory.
	s.len = 0;
	hello(&s);
	REQ(&s, screenshot, { .u = 1 });
	b.len = 0;
	put_byte(&b, 0);
	op_send_raw(&b, 0, s.data, s.len);
	settle(&b, 1);
	write_file("fuzz-server", "bad-fds-screenshot-missing", &b);
	static const char *const kinds[] = {
		[FUZZ_FD_DEV_NULL] = "dev-null", [FUZZ_FD_SCREENSHOT] = "ok",
		[FUZZ_FD_UNSEALED] = "unsealed", [FUZZ_FD_TOO_SMALL] = "too-small",
		[FUZZ_FD_READ_ONLY] = "read-only", [FUZZ_FD_LARGER] = "larger",
	};
	for (unsigned kind = 0; kind < sizeof kinds / sizeof *kinds; kind++) {
		s.len = 0;
		hello(&s); // hello_len bytes, as above
		REQ(&s, screenshot, { .u = 1 });
		REQ(&s, sync, { .u = 2 });
		b.len = 0;
		put_byte(&b, 0);
		op_send_raw(&b, 0, s.data, hello_len);
		op_send_fds(&b, 0, 1, (enum fuzz_fd)kind, s.data + hello_len, s.len - hello_len);
		settle(&b, 1);
		char name[64];
		snprintf(name, sizeof name, "screenshot-fd-%s", kinds[kind]);
		write_file("fuzz-server", name, &b);
	}

	// fuzz-decode: an fd queued for a message that takes none, and one too few.
	s.len = 0;
	put_byte(&s, 1);
	words(&s, 2, 8, op_word(TS_REQ_commit, 1, 0));
	write_file("fuzz-decode", "bad-fds-commit-with-fd", &s);
	s.len = 0;
	put_byte(&s, 1);
	REQ(&s, screenshot, { .u = 5 });
	REQ(&s, screenshot, { .u = 6 });
	write_file("fuzz-decode", "bad-fds-one-short", &s);
	s.len = 0;
	put_byte(&s, 0);
	hello(&s);
	REQ(&s, screenshot, { .u = 1 });
	write_file("fuzz-decode", "bad-fds-screenshot-missing", &s);
	free(s.data);
	free(b.data);
}

// fuzz-server with low limits (byte 0): bit 2 objects 8 and fds 3, bit 3 2 requests a
// round, bit 4 out_bytes 4096, bit 5 client_bytes 64 KiB.
static void tight(void) {
	struct buf b = { 0 }, s = { 0 };
	put_byte(&b, FUZZ_LOW_REQUESTS | FUZZ_LOW_OBJECTS | 1);
	hello(&s);
	rects(&s, 1, 9);
	op_send(&b, 0, s.data, s.len);
	s.len = 0;
	hello(&s);
	for (uint32_t id = 1; id <= 12; id++) {
		REQ(&s, sync, { .u = id });
	}
	REQ(&s, rect_create, { .u = 13 });
	REQ(&s, commit);
	op_send(&b, 1, s.data, s.len);
	for (int i = 0; i < 16; i++) { // 2 requests a round: 47 need 24 rounds
		settle(&b, 2);
	}
	write_file("fuzz-server", "tight-objects-requests", &b);

	b.len = 0;
	put_byte(&b, FUZZ_LOW_OBJECTS);
	s.len = 0;
	hello(&s);
	op_send(&b, 0, s.data, s.len);
	// Fds may wait for the rest of a message, up to the limit: 2, then 4 of 3.
	s.len = 0;
	REQ(&s, commit);
	op_send_fds(&b, 0, 2, FUZZ_FD_SCREENSHOT, s.data, 4);
	op(&b, ROUND, 0, 0);
	op_send_fds(&b, 0, 2, FUZZ_FD_DEV_NULL, s.data + 4, 2);
	settle(&b, 1);
	write_file("fuzz-server", "tight-fds", &b);

	// One client does not read the client_info of three with 1 KiB names.
	b.len = 0;
	put_byte(&b, FUZZ_LOW_OUT_BYTES | 3);
	char name[TS_MAX_STRING];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	s.len = 0;
	REQ(&s, hello, { .u = 1 }, { .s = name });
	for (unsigned k = 0; k < 4; k++) {
		op_send(&b, k, s.data, s.len);
	}
	op(&b, ROUND, 0, 0); // every name known before the first info_query
	s.len = 0;
	for (int i = 0; i < 100; i++) {
		REQ(&s, info_query, { .u = 1 });
	}
	for (int i = 0; i < 60; i++) {
		op_send(&b, 0, s.data, 12 * 5);
		op(&b, ROUND, 0, 0);
	}
	settle(&b, 4);
	write_file("fuzz-server", "tight-out-bytes", &b);

	// Callback ids use no object, but the table that checks them grows with the
	// highest: 2100 of them take more than 64 KiB.
	b.len = 0;
	put_byte(&b, FUZZ_LOW_CLIENT_BYTES);
	s.len = 0;
	hello(&s);
	for (uint32_t id = 1; id <= 2100; id++) {
		REQ(&s, sync, { .u = id });
	}
	op_send(&b, 0, s.data, s.len);
	settle(&b, 1);
	write_file("fuzz-server", "tight-client-bytes", &b);
	free(s.data);
	free(b.data);
}

/*
 * The dictionaries (libFuzzer's -dict=): every message with ids 1 to 3 and, for
 * fuzz-server, every request as a whole send operation, so that mutations can insert
 * a request where they would otherwise have to find each of its bytes.
 */
static void dict_entry(struct buf *dict, const uint8_t *bytes, size_t len) {
	put_byte(dict, '"');
	for (size_t i = 0; i < len; i++) {
		char hex[8];
		snprintf(hex, sizeof hex, "\\x%02x", bytes[i]);
		put(dict, hex, 4);
	}
	put(dict, "\"\n", 2);
}

static void dict_messages(struct buf *decode, struct buf *server,
		const struct ts_interface *iface) {
	for (uint16_t opcode = 0; opcode < iface->count; opcode++) {
		const char *sig = iface->messages[opcode].signature;
		for (uint32_t id = 1; id <= 3; id++) {
			union ts_arg args[TS_MAX_ARGS] = { 0 };
			for (unsigned i = 0; sig[i]; i++) {
				if (sig[i] == 'n' || sig[i] == 'o') {
					args[i].u = id;
				} else if (sig[i] == 's') {
					args[i].s = "fuzz";
				} else if (sig[i] != 'h') {
					// Valid for every field, visible included; sizes and alpha drawn.
					args[i].u = iface == &ts_request_interface &&
						opcode == TS_REQ_rect_set_visible ? 1 : 8;
				}
			}
			struct buf b = { 0 };
			message(&b, iface, opcode, args);
			dict_entry(decode, b.data, b.len);
			if (server != NULL) {
				struct buf op = { 0 };
				op_send(&op, 0, b.data, b.len);
				dict_entry(server, op.data, op.len);
				free(op.data);
			}
			free(b.data);
			if (!strchr(sig, 'n') && !strchr(sig, 'o')) {
				break; // no id: one is enough
			}
		}
	}
}

static void dicts(void) {
	static const char head[] = "# Written by gen-corpus: do not edit.\n";
	struct buf decode = { 0 }, server = { 0 };
	put(&decode, head, sizeof head - 1);
	put(&server, head, sizeof head - 1);
	dict_messages(&decode, &server, &ts_request_interface);
	dict_messages(&decode, NULL, &ts_event_interface);
	write_file(NULL, "fuzz-decode.dict", &decode);
	write_file(NULL, "fuzz-server.dict", &server);
	free(decode.data);
	free(server.data);
}

// The session again, fed to fuzz-decode in pieces of 3 and 29 bytes.
static void pieces(void) {
	struct buf s = { 0 }, b = { 0 };
	hello(&s);
	session(&s);
	put_byte(&b, 3 << 3);
	put(&b, s.data, s.len);
	write_file("fuzz-decode", "ok-session-pieces-3", &b);
	b.data[0] = 29 << 3;
	write_file("fuzz-decode", "ok-session-pieces-29", &b);
	free(s.data);
	free(b.data);
}

int main(int argc, char *argv[]) {
	check = argc == 3 && strcmp(argv[1], "--check") == 0;
	if (argc != 2 + check) {
		fprintf(stderr, "usage: gen-corpus [--check] DIR\n");
		return 2;
	}
	out_dir = argv[1 + check];
	if (!check && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen-corpus: cannot make %s: %s\n", out_dir, strerror(errno));
		return 1;
	}
	one_each();
	events();
	seed("ok-session", true, session);
	seed("ok-id-reuse", true, reuse);
	seed("ok-create-destroy-uncommitted", true, create_destroy_uncommitted);
	seed("ok-many-rects", true, many_rects);
	seed("ok-destroy-with-pending", true, destroy_with_pending);
	seed("ok-uncommitted-compacted", true, uncommitted_compacted);
	seed("ok-longest-name", false, str_longest);
	seed("ok-future-version", false, hello_future_version);
	seed("bad-size-short", true, size_short);
	seed("bad-size-odd", true, size_odd);
	seed("bad-size-huge", false, size_huge);
	seed("bad-size-above-max", true, size_above_max);
	seed("bad-too-long", true, too_long);
	seed("bad-too-short", true, too_short);
	seed("bad-commit-with-body", true, commit_with_body);
	seed("bad-opcode", true, bad_opcode);
	seed("bad-opcode-past-table", true, opcode_past_table);
	seed("bad-flags", true, flags_set);
	seed("bad-nfds-above-4", true, too_many_fds);
	seed("bad-fds-missing", true, fds_missing);
	seed("bad-str-zero-length", false, str_zero_length);
	seed("bad-str-too-long", false, str_too_long);
	seed("bad-str-past-end", false, str_past_end);
	seed("bad-str-no-nul", false, str_no_nul);
	seed("bad-str-inner-nul", false, str_inner_nul);
	seed("bad-str-padding", false, str_bad_padding);
	seed("bad-str-trailing-word", false, str_trailing_word);
	seed("bad-id-zero", true, id_zero);
	seed("bad-id-above-max", true, id_above_max);
	seed("bad-id-all-ones", true, id_all_ones);
	seed("bad-id-unknown", true, id_unknown);
	seed("bad-id-skips-ahead", true, id_skips_ahead);
	seed("bad-id-in-use", true, id_in_use);
	seed("bad-id-destroyed", true, id_destroyed);
	seed("bad-id-destroyed-twice", true, id_destroyed_twice);
	seed("bad-destroy-callback", true, destroy_callback);
	seed("bad-callback-as-rect", true, callback_as_rect);
	seed("bad-callback-id-in-use", true, callback_id_in_use);
	seed("bad-size-too-large", true, size_too_large);
	seed("bad-visible-two", true, visible_two);
	seed("bad-before-hello", false, before_hello);
	seed("bad-hello-twice", true, hello_twice);
	seed("bad-hello-version-0", false, hello_version_zero);
	seed("bad-random-bytes", false, random_bytes);
	multi_client();
	tight();
	fds();
	pieces();
	dicts();
	if (stale > 0) {
		fprintf(stderr, "gen-corpus: %u files out of date; see tests/fuzz/README.md to "
			"regenerate the corpus\n", stale);
		return 1;
	}
	return 0;
}
