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

/** One field of a decoded message. Strings point into the message buffer. */
union ts_arg {
	uint32_t u;
	int32_t i;
	const char *s;
	int h;
};

/** What the table says about one message. */
struct ts_message_desc {
	const char *name;
	const char *signature;
	const char *fields;
};

/** Number of fds ('h' fields) message @desc carries. */
unsigned ts_message_fd_count(const struct ts_message_desc *desc);

/** Requests and events indexed by opcode. */
extern const struct ts_message_desc ts_requests[TS_REQ_COUNT_];
extern const struct ts_message_desc ts_events[TS_EV_COUNT_];

/** A message table and its length: requests for the server, events for clients. */
struct ts_interface {
	const struct ts_message_desc *messages;
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
int ts_header_read(const uint8_t *buf, size_t len, struct ts_header *hdr);

/**
 * Decodes the complete message @msg (hdr->size bytes) against @iface into @args
 * (TS_MAX_ARGS entries). @fds holds the hdr->nfds descriptors that travelled with it;
 * they are copied into the 'h' fields and stay owned by the caller.
 * Returns 0, or a TS_ERR_ code with *why set to a static explanation.
 */
int ts_decode(const struct ts_interface *iface, const uint8_t *msg,
	const struct ts_header *hdr, const int *fds, union ts_arg *args, const char **why);

/**
 * Size in bytes the message @opcode of @iface takes with @args, or 0 when an argument
 * is invalid (a string longer than TS_MAX_STRING, a NULL string) or the message would
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
 * Formats "name(field=value, ...)" into @out for tracing; truncates safely.
 * Returns @out.
 */
char *ts_format(char *out, size_t cap, const struct ts_interface *iface,
	uint16_t opcode, const union ts_arg *args);

/** Field accessors: the wire uses host byte order, as both ends share one machine. */
static inline uint32_t ts_get_u32(const uint8_t *p) {
	uint32_t v;
	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static inline void ts_put_u32(uint8_t *p, uint32_t v) {
	__builtin_memcpy(p, &v, sizeof v);
}

#endif
