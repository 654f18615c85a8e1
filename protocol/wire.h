/*
 * Encoding, decoding, validation and tracing of Tessera messages, all driven by the
 * table in tessera-protocol.h. Used by the server and the client library alike.
 */
#ifndef TESSERA_WIRE_H
#define TESSERA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera-protocol.h"

/** Field accessors: the wire uses host byte order, as both ends share one machine. */
static inline uint32_t ts_get_u32(const uint8_t *p) {
	uint32_t v;
	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static inline void ts_put_u32(uint8_t *p, uint32_t v) {
	__builtin_memcpy(p, &v, sizeof v);
}

/**
 * An array field: @size bytes at @data. Decoded, it points into the message buffer
 * (valid while the message is); to encode, the caller's bytes.
 */
struct ts_array {
	const void *data;
	uint32_t size;
};

/**
 * One field of a decoded message. Strings and arrays point into the message buffer.
 * Fixed-point fields ('f') are signed 16.16 in @f; see ts_fixed_from_double.
 */
union ts_arg {
	uint32_t u;
	int32_t i;
	int32_t f;
	const char *s;
	int h;
	struct ts_array a;
};

/** @d as 16.16 fixed point, rounded to nearest; saturates outside +-32768. */
static inline int32_t ts_fixed_from_double(double d) {
	double v = d * 65536.0;
	if (!(v > -2147483648.0)) { // NaN too
		return d != d ? 0 : INT32_MIN;
	}
	if (v >= 2147483647.0) {
		return INT32_MAX;
	}
	return (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
}

/** The value of the 16.16 fixed-point @f; exact. */
static inline double ts_fixed_to_double(int32_t f) {
	return f / 65536.0;
}

/** The integer @n as 16.16 fixed point (n within +-32767). */
static inline int32_t ts_fixed_from_int(int32_t n) {
	return (int32_t)((uint32_t)n << 16);
}

/**
 * What the table says about one field beyond its type character. Every id field
 * ('n', 'o') names an interface or a family: a server checks the object an 'o' names
 * with (1u << its TS_IFACE_ index) & @interfaces, and creates a @interface for an 'n'.
 */
struct ts_arg_desc {
	const char *interface;  // ids: "rect", a family ("node"), "object" for any; else NULL
	uint32_t interfaces;    // ids: the TS_IFACE_ bits accepted (TS_IFACE_MASK_); else 0
	uint16_t elem_size;     // 'a': the byte length must be a multiple of it; 0: any
	bool nullable;          // 'o': 0 is allowed and means none
};

/** What the table says about one message. */
struct ts_message_desc {
	const char *name;
	const char *signature;
	const char *fields;
	const char *interface;            // the interface the message belongs to ("rect")
	uint32_t since;                   // the protocol version it appeared in
	const struct ts_arg_desc *args;   // one per field; NULL: no nullable ids or sized arrays
};

/** Number of fds ('h' fields) message @desc carries. */
unsigned ts_message_fd_count(const struct ts_message_desc *desc);

/**
 * What a message's signature implies, worked out once from the table (before main,
 * or when the library loads) so that the codec's hot paths need not walk signatures.
 */
struct ts_message_meta {
	uint16_t size;   // bytes on the wire, header included, when it has no string; else 0
	uint8_t nfds;    // 'h' fields
	uint16_t ids;     // bit k set when field k is an object id ('n' or 'o')
	uint16_t nullable; // bit k set when field k is an id that may be 0 ('o?')
	bool plain;      // only 4-byte fields (no string, array or fd): see ts_decode_plain
};

/**
 * The meta of message @desc, for a table built by hand (a test's): the tables of
 * tessera-protocol.h have theirs in ts_request_interface and ts_event_interface.
 */
struct ts_message_meta ts_message_meta_of(const struct ts_message_desc *desc);

/** Requests and events indexed by opcode. */
extern const struct ts_message_desc ts_requests[TS_REQ_COUNT_];
extern const struct ts_message_desc ts_events[TS_EV_COUNT_];

/** A message table and its length: requests for the server, events for clients. */
struct ts_interface {
	const struct ts_message_desc *messages;
	const struct ts_message_meta *meta; // indexed by opcode, like messages
	uint16_t count;
};
extern const struct ts_interface ts_request_interface;
extern const struct ts_interface ts_event_interface;

/** The name of an error code ("invalid_id"), or "unknown" for codes out of range. */
const char *ts_error_name(uint32_t code);

/** The fixed 8-byte header: total size (header included), opcode, fd count. */
struct ts_header {
	uint32_t size;
	uint16_t opcode;
	uint8_t nfds;
	uint8_t flags;
};

enum ts_header_status {
	TS_HEADER_OK = 0,
	TS_HEADER_NEED_MORE = 1,
};

/**
 * Reads the header at the start of @buf (@len bytes available).
 * Returns TS_HEADER_OK when the header is complete and well formed (the whole message
 * may still be incomplete: compare hdr->size with len), TS_HEADER_NEED_MORE when fewer
 * than TS_HEADER_SIZE bytes are there, or a negative TS_ERR_ code when the header is
 * malformed: size below the header, above TS_MAX_MESSAGE or not a multiple of 4,
 * non-zero flags, more than TS_MAX_FDS_PER_MESSAGE fds.
 */
static inline int ts_header_read(const uint8_t *buf, size_t len, struct ts_header *hdr) {
	if (len < TS_HEADER_SIZE) {
		return TS_HEADER_NEED_MORE;
	}
	hdr->size = ts_get_u32(buf);
	uint32_t word = ts_get_u32(buf + 4);
	hdr->opcode = (uint16_t)(word & 0xffff);
	hdr->nfds = (uint8_t)((word >> 16) & 0xff);
	hdr->flags = (uint8_t)(word >> 24);
	if (hdr->size < TS_HEADER_SIZE || hdr->size > TS_MAX_MESSAGE || hdr->size % 4 != 0 ||
			hdr->flags != 0 || hdr->nfds > TS_MAX_FDS_PER_MESSAGE) {
		return -TS_ERR_invalid_message;
	}
	return TS_HEADER_OK;
}

/**
 * Decodes the complete message @msg (hdr->size bytes) against @iface into @args
 * (TS_MAX_ARGS entries). @fds holds the hdr->nfds descriptors that travelled with it;
 * they are copied into the 'h' fields and stay owned by the caller.
 * Returns 0, or a TS_ERR_ code with *why set to a static explanation: invalid_message
 * for a size, string or array that does not match the signature (an array longer than
 * the message, not a multiple of its element size, or with padding that is not zero),
 * invalid_id for an id 0 where the field is not nullable or above TS_MAX_ID. Whether
 * an id names an object of the right interface is the caller's to check, with
 * desc->args[k].interfaces.
 */
int ts_decode(const struct ts_interface *iface, const uint8_t *msg,
	const struct ts_header *hdr, const int *fds, union ts_arg *args, const char **why);

/**
 * The fast path of ts_decode, inline for the connection's loop: decodes the message
 * @msg when @meta (its opcode's) is plain and the header says exactly meta->size bytes
 * and no fds, and returns 0, or TS_ERR_invalid_id with *why set when an id is 0 or
 * above TS_MAX_ID, as ts_decode would. Returns -1 for any other message: ts_decode
 * then says what is wrong with it, or decodes it.
 */
static inline int ts_decode_plain(const struct ts_message_meta *meta, const uint8_t *msg,
		const struct ts_header *hdr, union ts_arg *args, const char **why) {
	if (!meta->plain || hdr->size != meta->size || hdr->nfds != 0) {
		return -1;
	}
	const uint8_t *p = msg + TS_HEADER_SIZE;
	for (unsigned k = 0; k < (meta->size - TS_HEADER_SIZE) / 4u; k++, p += 4) {
		uint32_t v = ts_get_u32(p);
		// v - 1 wraps for 0: one compare for a valid id, a second only for 0.
		if (((meta->ids >> k) & 1) && v - 1u >= TS_MAX_ID &&
				(v != 0 || !((meta->nullable >> k) & 1))) {
			*why = "object id out of range";
			return TS_ERR_invalid_id;
		}
		args[k].u = v;
	}
	return 0;
}

/**
 * Encodes message @opcode, which @meta says is plain, with @args into @buf, which has
 * room for meta->size bytes. Returns meta->size. ts_encode's fast path, inline for the
 * connection's queue.
 */
static inline size_t ts_encode_plain(uint8_t *buf, const struct ts_message_meta *meta,
		uint16_t opcode, const union ts_arg *args) {
	uint32_t size = meta->size; // read once: the stores below may alias it
	ts_put_u32(buf, size);
	ts_put_u32(buf + 4, opcode);
	for (unsigned k = 0; k < (size - TS_HEADER_SIZE) / 4u; k++) {
		ts_put_u32(buf + TS_HEADER_SIZE + 4 * k, args[k].u);
	}
	return size;
}

/**
 * Size in bytes the message @opcode of @iface takes with @args, or 0 when an argument
 * is invalid (a string longer than TS_MAX_STRING, a NULL string, an array with NULL
 * data and a size, or not a multiple of its element size) or the message would
 * exceed TS_MAX_MESSAGE.
 */
size_t ts_encoded_size(const struct ts_interface *iface, uint16_t opcode,
	const union ts_arg *args);

/**
 * Encodes message @opcode with @args into @buf (@cap bytes). 'h' fields are not
 * written; the caller sends them. Returns the size written, or 0 if invalid or if
 * it does not fit.
 */
size_t ts_encode(uint8_t *buf, size_t cap, const struct ts_interface *iface,
	uint16_t opcode, const union ts_arg *args);

/**
 * Formats "name(field=value, ...)" into @out for tracing; truncates safely. Fixed
 * point shows as a decimal, an array as "[N bytes]", a nullable id of 0 as "none".
 * Returns @out.
 */
char *ts_format(char *out, size_t cap, const struct ts_interface *iface,
	uint16_t opcode, const union ts_arg *args);

#endif
