/*
 * Valid requests made from the protocol table alone, for the fuzz corpus, the chaos
 * tool's raw traffic and the malformed-input catalogue (which breaks them one field at
 * a time). A request added to TS_REQUESTS is generated with no change here; a new
 * signature character is one new case in peer_gen_args's switch.
 *
 * From the table: an 'n' field makes an object of the interface its field says (a
 * "callback" is answered, then forgotten), which later 'o' fields accepting that
 * interface may name; arrays come in whole elements of their size. What the table does
 * not say is assumed, and said so here:
 *   - destroy ends the object its 'o' field names;
 *   - 0 and 1 are in range for every 'u' field (sizes, flags, colours), any int32 for
 *     every 'i' field and +-1000.0 for every 'f' one; hello, the handshake, is never
 *     generated;
 *   - images take more than that (their fields depend on each other), and so have
 *     their own values in safe mode (peer_gen_args): a pool is PEER_POOL_BYTES long, so
 *     an 'h' field of shm_pool_create must be a memfd sealed against shrinking of at
 *     least that size (what a sender must attach); a buffer is 1 to 16 pixels a side at
 *     offset 0 with rows of 4 bytes a pixel, in any format; damage boxes have sizes of
 *     0 to 63.
 */
#ifndef TESSERA_TESTS_PEER_GEN_H
#define TESSERA_TESTS_PEER_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define PEER_LIVE_MAX 256u // live objects a generator keeps track of
#define PEER_POOL_BYTES 4096u // the size of every shm pool made in safe mode

/** What a connection has used of its id namespace, as the generator sees it. */
struct peer_ids {
	uint32_t highest;              // the highest id used so far: new ids are highest + 1
	uint32_t live[PEER_LIVE_MAX];  // objects made and not destroyed, oldest first
	uint32_t kinds[PEER_LIVE_MAX]; // the TS_IFACE_ bits of each (all: not known)
	unsigned nlive;
};

enum peer_values {
	PEER_VALUES_SAFE, // values every request accepts (above): the server must take them
	PEER_VALUES_EDGE, // well formed, at the edges of each type: the server may refuse
	                  // them with invalid_value, never with anything else
};

/** The name of field @k of @desc (from the table's FIELDS) into @out (@cap bytes). */
void peer_field_name(const struct ts_message_desc *desc, unsigned k, char *out, size_t cap);

/** True when field @k of request @opcode is an 'n' field that makes a callback. */
bool peer_field_is_callback(uint16_t opcode, unsigned k);

/** True when request @opcode makes an object (an 'n' field that is not a callback). */
bool peer_request_creates(uint16_t opcode);

/**
 * Fills @args (TS_MAX_ARGS) for request @opcode, as the table says: new ids are the
 * next one, 'o' fields a live object (chosen with @rng), strings written into
 * @strings (TS_MAX_STRING bytes; so are arrays' bytes: one string or array field a
 * message, the last wins), 'h' fields -1 (the caller attaches the fds: ts_request_interface's
 * meta says how many). Updates @ids as the server will once it handles the request.
 * Returns false, @ids untouched, when the request cannot be made now: an 'o' field and
 * no live object, or an object to make and PEER_LIVE_MAX live already.
 */
bool peer_gen_args(struct peer_rng *rng, struct peer_ids *ids, enum peer_values values,
	uint16_t opcode, union ts_arg *args, char *strings);

/**
 * Picks a request (any but hello) that can be made now, fills its @args as
 * peer_gen_args does and returns its opcode. With no live object, a request that
 * makes one or needs none is picked, so it never fails.
 */
uint16_t peer_gen_pick(struct peer_rng *rng, struct peer_ids *ids, enum peer_values values,
	union ts_arg *args, char *strings);

#endif
