/*
 * Writes the seed corpus of the fuzz targets, in each target's input format (see
 * fuzz-decode.c and fuzz-server.c), from streams made with the protocol's encoder:
 * every request well formed after a hello (made by tests/peer/gen.h from the table),
 * every event, realistic sessions, and every case of the tests' catalogue of malformed
 * inputs (tests/peer/malformed.h).
 *
 * usage: gen-corpus DIR    writes DIR/fuzz-decode/NAME, DIR/fuzz-server/NAME and the
 *                          dictionaries DIR/fuzz-decode.dict, DIR/fuzz-server.dict
 *        gen-corpus --check DIR   fails when a file there differs from what it writes
 *
 * Files are overwritten, none removed: inputs kept from fuzzing (regress-*) stay.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-server.h"
#include "gen.h"
#include "malformed.h"
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

// Whole pixels (or degrees) as 16.16 fixed point.
#define FX(v) ((int32_t)((v) * 65536))
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

/* Every request, well formed, after a hello: made by the request generator from the
   table (tests/peer/gen.h), so a new request gets its seed with no change here. */

static void one_each(void) {
	struct peer_rng rng = { 0x5eed };
	for (uint16_t opcode = 0; opcode < TS_REQ_COUNT_; opcode++) {
		struct buf s = { 0 };
		hello(&s);
		struct peer_ids ids = { 0 };
		union ts_arg args[TS_MAX_ARGS] = { { .u = 0 } };
		char strings[TS_MAX_STRING];
		// A request about an object gets one, made first.
		if (strchr(ts_requests[opcode].signature, 'o') != NULL) {
			REQ(&s, rect_create, { .u = ++ids.highest }, { .u = 0 });
			ids.kinds[ids.nlive] = UINT32_MAX; // of any interface
			ids.live[ids.nlive++] = ids.highest;
		}
		if (opcode != TS_REQ_hello) {
			if (!peer_gen_args(&rng, &ids, PEER_VALUES_SAFE, opcode, args, strings)) {
				fprintf(stderr, "gen-corpus: cannot make %s\n", ts_requests[opcode].name);
				exit(1);
			}
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
	EV(&s, delete_ids, { .a = { .data = (const uint8_t[]){ 2, 0, 0, 0, 5, 0, 0, 0 }, .size = 8 } });
	EV(&s, client_info, { .u = 4 }, { .u = 2 }, { .u = 1234 }, { .u = 5 }, { .u = 4096 },
		{ .u = 1 }, { .u = 16384 }, { .s = "demo" });
	EV(&s, limit, { .u = 4 }, { .s = "objects" }, { .u = 65536 });
	EV(&s, info_done, { .u = 4 }, { .u = 1 }, { .u = 5 }, { .u = 250 }, { .u = 2 },
		{ .u = 7 }, { .u = 3 }, { .u = 1 }, { .u = 16384 });
	EV(&s, screenshot_done, { .u = 5 }, { .u = 320 }, { .u = 240 }, { .u = 1280 });
	EV(&s, error, { .u = 0 }, { .u = TS_ERR_invalid_id }, { .s = "no object with id 9" });
	write_file("fuzz-decode", "ok-events", &s);
	free(s.data);
}

/* Realistic sessions. */

static void rects(struct buf *s, uint32_t first, uint32_t count) {
	for (uint32_t id = first; id < first + count; id++) {
		REQ(s, rect_create, { .u = id }, { .u = 0 });
		REQ(s, node_set_position, { .u = id }, { .f = FX((int32_t)(id * 7) - 5) }, { .f = FX((int32_t)id * 3) });
		REQ(s, node_set_size, { .u = id }, { .f = FX(10 + id) }, { .f = FX(8) });
		REQ(s, rect_set_color, { .u = id }, { .u = 0xff000080u | id << 8 });
		REQ(s, node_place_above, { .u = id }, { .u = 0 });
	}
}

static void session(struct buf *s) {
	rects(s, 1, 3);
	REQ(s, node_set_visible, { .u = 2 }, { .u = 0 });
	REQ(s, frame, { .u = 4 });
	REQ(s, commit);
	REQ(s, sync, { .u = 5 });
	REQ(s, node_set_position, { .u = 1 }, { .f = FX(30) }, { .f = FX(20) });
	REQ(s, node_set_visible, { .u = 2 }, { .u = 1 });
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
	REQ(s, rect_create, { .u = 1 }, { .u = 0 }); // after delete_ids in a real client; fine either way
	REQ(s, node_set_size, { .u = 1 }, { .f = FX(5) }, { .f = FX(5) });
	REQ(s, destroy, { .u = 2 });
	REQ(s, commit);
	REQ(s, sync, { .u = 2 });
}

static void create_destroy_uncommitted(struct buf *s) {
	rects(s, 1, 4);
	REQ(s, destroy, { .u = 4 });
	REQ(s, destroy, { .u = 2 });
	REQ(s, rect_create, { .u = 2 }, { .u = 0 });
	REQ(s, commit);
	REQ(s, frame, { .u = 4 });
	REQ(s, commit);
}

static void destroy_with_pending(struct buf *s) {
	rects(s, 1, 3);
	REQ(s, commit);
	REQ(s, node_set_position, { .u = 1 }, { .f = FX(4) }, { .f = FX(4) });
	REQ(s, rect_set_color, { .u = 2 }, { .u = 0x00ff00ffu });
	REQ(s, node_place_above, { .u = 3 }, { .u = 0 });
	REQ(s, destroy, { .u = 2 });
	REQ(s, commit);
	REQ(s, screenshot, { .u = 4 });
	REQ(s, destroy, { .u = 1 });
	REQ(s, node_set_size, { .u = 3 }, { .f = FX(1) }, { .f = FX(1) });
	REQ(s, commit);
}

// Half of a full list of uncommitted rects destroyed, then one more created: the list
// is compacted before it grows.
static void uncommitted_compacted(struct buf *s) {
	for (uint32_t id = 1; id <= 16; id++) {
		REQ(s, rect_create, { .u = id }, { .u = 0 });
		REQ(s, node_set_size, { .u = id }, { .f = FX(id) }, { .f = FX(2) });
	}
	for (uint32_t id = 1; id <= 16; id += 2) {
		REQ(s, destroy, { .u = id });
	}
	REQ(s, rect_create, { .u = 1 }, { .u = 0 });
	REQ(s, commit);
	REQ(s, screenshot, { .u = 3 });
}

static void many_rects(struct buf *s) {
	rects(s, 1, 40);
	REQ(s, commit);
	for (uint32_t id = 1; id <= 40; id += 3) {
		REQ(s, node_place_above, { .u = id }, { .u = 0 });
	}
	REQ(s, commit);
	REQ(s, screenshot, { .u = 41 });
}

static void str_longest(struct buf *s) {
	char name[TS_MAX_STRING];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	REQ(s, hello, { .u = 1 }, { .s = name });
	REQ(s, sync, { .u = 1 });
}

static void hello_future_version(struct buf *s) {
	REQ(s, hello, { .u = TS_PROTOCOL_VERSION + 7 }, { .s = "future" });
	REQ(s, sync, { .u = 1 });
}

/* Every malformed input of the tests' catalogue (tests/peer/malformed.h), for both
   targets: fuzz-decode with the case's fds queued, fuzz-server with its setup sent as
   a client would and its bad part sent with its fds. */

static void catalogue(void) {
	size_t count;
	struct peer_case *cases = peer_malformed(&count);
	if (cases == NULL) {
		fprintf(stderr, "gen-corpus: out of memory\n");
		exit(1);
	}
	struct buf b = { 0 };
	for (size_t i = 0; i < count; i++) {
		const struct peer_case *c = &cases[i];
		char name[80];
		snprintf(name, sizeof name, "bad-%s", c->name);
		b.len = 0;
		put_byte(&b, (uint8_t)(c->nfds < 7 ? c->nfds : 7));
		put(&b, c->bytes, c->len);
		write_file("fuzz-decode", name, &b);
		b.len = 0;
		put_byte(&b, 0); // one client
		op_send(&b, 0, c->bytes, c->setup);
		if (c->nfds > 0) {
			op_send_fds(&b, 0, c->nfds < 3 ? c->nfds : 3, FUZZ_FD_DEV_NULL,
				c->bytes + c->setup, c->len - c->setup);
		} else {
			op_send_raw(&b, 0, c->bytes + c->setup, c->len - c->setup);
		}
		settle(&b, 1);
		write_file("fuzz-server", name, &b);
	}
	free(b.data);
	free(cases);
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
	// (A commit claiming an fd, and a screenshot without its own, are the catalogue's.)
	// Fds no message claims, sent with a well-formed commit, again and again.
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

	// A screenshot with each kind of memory, right and wrong.
	s.len = 0;
	hello(&s);
	size_t hello_len = s.len;
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

	// fuzz-decode: one fd queued for two screenshots.
	s.len = 0;
	put_byte(&s, 1);
	REQ(&s, screenshot, { .u = 5 });
	REQ(&s, screenshot, { .u = 6 });
	write_file("fuzz-decode", "bad-fds-one-short", &s);
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
	REQ(&s, rect_create, { .u = 13 }, { .u = 0 });
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
					// Valid for every field: 1 for flags, layers and colours, 8/65536
					// for fixed point (a size, an opacity, a position).
					args[i].u = sig[i] == 'u' ? 1 : 8;
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
	catalogue();
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
