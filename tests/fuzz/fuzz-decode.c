/*
 * Fuzz target: the protocol decoder. The input is a byte stream arriving on a
 * connection; it is decoded with the real code, as requests and again as events:
 *
 *   byte 0      bits 0-2: fds queued on the connection before any byte, as if they had
 *               come with the stream (/dev/null); bits 3-7: 0 feeds the stream in one
 *               piece, c > 0 in pieces of c bytes (split headers, partial messages)
 *   bytes 1...  the stream
 *
 * Every message is decoded twice: by ts_connection_next, as the server and libtessera
 * do, and by ts_header_read, ts_decode and ts_decode_plain walking the raw input. Both
 * must agree on every result. A message that decodes must encode back to the very same
 * bytes, through ts_encode and through ts_connection_queue; the latter's are then sent
 * with their fds over a socketpair whose sending side holds little (ts_connection_flush
 * in pieces), read back (ts_connection_read) and decoded again: the same messages must
 * come out, and an fd may never arrive ahead of its message's first byte. No fd may be
 * left open. Any disagreement aborts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connection.h"
#include "fuzz.h"
#include "wire.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

// The result of decoding one message, in a form both ways of decoding give.
struct result {
	int rc;        // 0, or a TS_ERR_ code
	uint32_t size; // bytes the message takes (0 for a malformed header)
};

static int dev_null = -1; // template for the fds queued on the connection

// The arguments of two decodings of one message are the same.
static bool same_args(const struct ts_interface *iface, uint16_t opcode,
		const union ts_arg *a, const union ts_arg *b) {
	const char *sig = iface->messages[opcode].signature;
	for (unsigned i = 0; sig[i]; i++) {
		if (sig[i] == 's' ? strcmp(a[i].s, b[i].s) != 0 :
				sig[i] != 'h' && a[i].u != b[i].u) {
			return false;
		}
	}
	return true;
}

// A decoded message encodes back to its own bytes.
static void check_round_trip(const struct ts_interface *iface, const uint8_t *msg,
		const struct ts_header *hdr, const union ts_arg *args) {
	uint8_t buf[TS_MAX_MESSAGE];
	CHECK(ts_encoded_size(iface, hdr->opcode, args) == hdr->size);
	CHECK(ts_encode(buf, sizeof buf, iface, hdr->opcode, args) == hdr->size);
	CHECK(memcmp(buf, msg, hdr->size) == 0);
	// One byte short of room: nothing written.
	CHECK(ts_encode(buf, hdr->size - 1, iface, hdr->opcode, args) == 0);
	// Tracing reads every field, strings included; a short buffer truncates.
	char text[64];
	ts_format(text, sizeof text, iface, hdr->opcode, args);
	CHECK(memchr(text, '\0', sizeof text) != NULL);
}

// Decodes the raw input message by message, as far as headers can be read; fills
// @results (one per message) and returns how many.
static size_t walk_raw(const struct ts_interface *iface, const uint8_t *p, size_t len,
		struct result *results) {
	static const int fake_fds[TS_MAX_FDS_PER_MESSAGE] = { -1, -1, -1, -1 };
	size_t n = 0;
	while (len > 0) {
		struct ts_header hdr;
		int rc = ts_header_read(p, len, &hdr);
		if (rc < 0) {
			results[n++] = (struct result){ .rc = -rc };
			break;
		}
		if (rc == TS_HEADER_NEED_MORE || hdr.size > len) {
			break;
		}
		union ts_arg args[TS_MAX_ARGS];
		const char *why = NULL;
		rc = ts_decode(iface, p, &hdr, fake_fds, args, &why);
		CHECK(rc >= 0 && rc < (int)TS_ERR_COUNT_ && (rc == 0 || why != NULL));
		if (hdr.opcode < iface->count) {
			union ts_arg plain[TS_MAX_ARGS];
			const char *plain_why = NULL;
			int prc = ts_decode_plain(&iface->meta[hdr.opcode], p, &hdr, plain, &plain_why);
			// The fast path either declines or says what ts_decode says.
			CHECK(prc == -1 || prc == rc);
			if (prc == 0) {
				CHECK(same_args(iface, hdr.opcode, args, plain));
			}
		}
		if (rc == 0) {
			check_round_trip(iface, p, &hdr, args);
		}
		results[n++] = (struct result){ .rc = rc, .size = hdr.size };
		p += hdr.size;
		len -= hdr.size;
	}
	return n;
}

// Appends @n bytes to the in-buffer, which is reallocated to hold exactly what is
// unread, so that AddressSanitizer sees any read past the end.
static void feed(struct ts_connection *conn, const uint8_t *bytes, size_t n) {
	struct ts_byte_queue *in = &conn->in;
	size_t used = in->end - in->start;
	uint8_t *data = malloc(used + n);
	CHECK(data != NULL);
	if (used > 0) {
		memcpy(data, in->data + in->start, used);
	}
	memcpy(data + used, bytes, n);
	free(in->data);
	in->data = data;
	in->start = 0;
	in->end = in->cap = used + n;
}

struct decoder {
	struct ts_connection conn;      // what is decoded: fed by feed(), no socket
	struct ts_connection out, back; // the two ends of a socketpair: queued, read back
	const struct ts_interface *iface;
	const struct result *expected;  // from walk_raw
	size_t expected_count;
	size_t done;                    // messages handled so far
	bool failed;                    // a malformed message ended the stream
	uint8_t *sent;                  // the messages queued on out, one after the other
	size_t sent_len, back_len;      // bytes queued; bytes of them read back
};

// Takes every whole message read back, which must be the next one sent.
static void take_back(struct decoder *d) {
	for (;;) {
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		const char *why = NULL;
		int rc = ts_connection_next(&d->back, d->iface, &hdr, args, &why);
		CHECK(rc >= 0);
		if (rc == 0) {
			break;
		}
		CHECK(hdr.size <= d->sent_len - d->back_len);
		CHECK(memcmp(d->back.in.data + d->back.in.start, d->sent + d->back_len, hdr.size) == 0);
		const char *sig = d->iface->messages[hdr.opcode].signature;
		for (unsigned i = 0; sig[i]; i++) {
			if (sig[i] == 'h') {
				CHECK(close(args[i].h) == 0);
			}
		}
		d->back_len += hdr.size;
		ts_connection_consume(&d->back, hdr.size);
	}
	// Fds come with their message's first byte: with every byte taken, none can wait.
	CHECK(ts_connection_pending_input(&d->back) > 0 || d->back.nfds_in == 0);
}

// Sends what out holds and reads it back, in as many pieces as the socket makes.
static void relay(struct decoder *d) {
	for (;;) {
		int rc = ts_connection_flush(&d->out);
		CHECK(rc == TS_IO_OK || rc == TS_IO_AGAIN);
		int got = ts_connection_read(&d->back);
		// A full socket has something to read.
		CHECK(got == TS_IO_OK || (got == TS_IO_AGAIN && rc == TS_IO_OK));
		take_back(d);
		if (rc == TS_IO_OK && got == TS_IO_AGAIN) {
			break;
		}
	}
	CHECK(!ts_connection_has_output(&d->out));
	CHECK(d->back_len == d->sent_len && ts_connection_pending_input(&d->back) == 0);
}

// Takes every whole message the in-buffer holds, checking each against walk_raw's.
static void drain(struct decoder *d) {
	while (!d->failed) {
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		const char *why = NULL;
		unsigned fds_before = d->conn.nfds_in;
		int rc = ts_connection_next(&d->conn, d->iface, &hdr, args, &why);
		if (rc == 0) {
			return;
		}
		CHECK(d->done < d->expected_count);
		const struct result *want = &d->expected[d->done++];
		if (rc < 0) {
			d->failed = true;
			CHECK(why != NULL);
			// Only the connection knows which fds arrived.
			if (want->size != 0 && hdr.nfds > fds_before) {
				CHECK(rc == -TS_ERR_bad_fds);
			} else {
				CHECK(rc == -want->rc);
			}
			CHECK(d->conn.nfds_in == fds_before);
			return;
		}
		CHECK(rc == 1 && want->rc == 0 && want->size == hdr.size);
		CHECK(d->conn.nfds_in == fds_before - hdr.nfds);
		const uint8_t *msg = d->conn.in.data + d->conn.in.start;
		check_round_trip(d->iface, msg, &hdr, args);
		// The connection's encoder too; the message's fds go to the out-connection,
		// which sends them.
		CHECK(ts_connection_queue(&d->out, d->iface, hdr.opcode, args) == 0);
		CHECK(memcmp(d->out.out.data + d->out.out.end - hdr.size, msg, hdr.size) == 0);
		memcpy(d->sent + d->sent_len, msg, hdr.size);
		d->sent_len += hdr.size;
		ts_connection_consume(&d->conn, hdr.size);
	}
}

static void decode_stream(const struct ts_interface *iface, const uint8_t *stream,
		size_t len, unsigned nfds, size_t chunk) {
	struct result *expected = malloc((len / TS_HEADER_SIZE + 1) * sizeof *expected);
	CHECK(expected != NULL);
	struct decoder d = {
		.iface = iface,
		.expected = expected,
		.expected_count = walk_raw(iface, stream, len, expected),
	};
	// No socket: fd -1. The in-buffer is filled by feed().
	ts_connection_init(&d.conn, -1, TS_MAX_MESSAGE, TS_MAX_MESSAGE);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	// The least the kernel allows (a few KiB): a flush often ends in the middle.
	int sndbuf = 1;
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
	ts_connection_init(&d.out, sv[0], TS_MAX_MESSAGE, 1u << 20);
	ts_connection_init(&d.back, sv[1], 1u << 20, TS_MAX_MESSAGE);
	d.sent = malloc(len + 1);
	CHECK(d.sent != NULL);
	for (unsigned i = 0; i < nfds; i++) {
		int fd = fcntl(dev_null, F_DUPFD_CLOEXEC, 0);
		CHECK(fd >= 0);
		d.conn.fds_in[d.conn.nfds_in++] = fd;
	}
	for (size_t off = 0; off < len && !d.failed;) {
		size_t n = chunk == 0 || len - off < chunk ? len - off : chunk;
		feed(&d.conn, stream + off, n);
		off += n;
		drain(&d);
		relay(&d);
	}
	if (!d.failed) {
		// Every message walk_raw saw was taken; only the start of one may be left.
		CHECK(d.done == d.expected_count);
		CHECK(ts_connection_pending_input(&d.conn) < TS_MAX_MESSAGE);
	}
	ts_connection_finish(&d.conn);
	ts_connection_finish(&d.out);
	ts_connection_finish(&d.back);
	free(d.sent);
	free(expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (dev_null < 0) {
		dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		CHECK(dev_null >= 0);
	}
	if (size == 0) {
		return 0;
	}
	int fds_before = fuzz_count_fds();
	unsigned nfds = data[0] & 7u;
	size_t chunk = data[0] >> 3;
	decode_stream(&ts_request_interface, data + 1, size - 1, nfds, chunk);
	decode_stream(&ts_event_interface, data + 1, size - 1, nfds, chunk);
	CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
