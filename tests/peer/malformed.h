/*
 * The catalogue of malformed inputs: every way the tests know for a client to get the
 * protocol wrong, each with the bytes (and fds) to send and the error the server must
 * answer with. Most of it is built from the protocol table, so a new request gets its
 * cases without a change here:
 *   - for every request: one word short, one word long, an fd too many (sent or only
 *     claimed), the fds it takes left out or not sent, a stray fd after it, and sent
 *     before hello;
 *   - for every id field: 0 (unless nullable), above TS_MAX_ID, all ones; a new id in
 *     use or skipping ahead; an existing id never made, destroyed, or naming a callback;
 *   - for every string field: each way its length, NUL and padding can be wrong; for
 *     every array field, its length and padding, and a length of no whole elements;
 *   - headers out of range, opcodes past the table, and a few cases of values and
 *     order the table cannot know (a size too large, visible 2, version 0, hello twice).
 * Used by test-wire (the cases the codec alone must refuse), the end-to-end tests (the
 * server answers every case and stays up), gen-corpus (a seed per case) and
 * tessera-chaos (a random case per client).
 */
#ifndef TESSERA_TESTS_PEER_MALFORMED_H
#define TESSERA_TESTS_PEER_MALFORMED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

/** Where the fault is found. */
enum peer_level {
	PEER_AT_HEADER, // ts_header_read refuses the bad message's header
	PEER_AT_DECODE, // ts_decode refuses it: the table alone says it is wrong
	PEER_AT_SERVER, // only the server can tell: its state, the fds that came, the values
};

#define PEER_ERR(code) (1u << (code)) // a bit of peer_case.expect

/** One malformed input. */
struct peer_case {
	char name[64];          // unique, made of [a-z0-9_-]: a file name too
	size_t setup;           // bytes of well-formed requests before the bad part (a hello
	                        // first unless the case is about what comes before one)
	size_t len;             // bytes in all: bytes[setup, len) is the bad part
	unsigned nfds;          // fds (any kind) that go with the bad part's first byte
	uint32_t expect;        // PEER_ERR bits of the error codes the server may answer
	bool fatal;             // the server then hangs up (every error is, in version 1)
	enum peer_level level;
	uint8_t bytes[2 * TS_MAX_MESSAGE];
};

/**
 * Builds the whole catalogue: a calloc'ed array the caller frees, *@count entries.
 * The same every time (no clock, no randomness outside a fixed seed). NULL when out of
 * memory.
 */
struct peer_case *peer_malformed(size_t *count);

/** True when @code is an answer case @c allows. */
static inline bool peer_case_allows(const struct peer_case *c, uint32_t code) {
	return code < 32 && (c->expect & PEER_ERR(code)) != 0;
}

/**
 * Writes case @c to the connected socket @fd: the setup, then the bad part with
 * c->nfds descriptors of /dev/null attached. PEER_GONE when the server hung up first
 * (its reason may still be read).
 */
enum peer_write_result peer_case_send(int fd, const struct peer_case *c);

/**
 * Checks what @p (read to its end with peer_drain) says against @c: exactly one
 * error, one @c allows, and a hang-up when @c is fatal. Returns true, or false with
 * what went wrong in @why (@cap bytes).
 */
bool peer_case_check(const struct peer_case *c, const struct peer *p, char *why, size_t cap);

#endif
