/*
 * tessera-chaos: what the parent (chaos.c) and its client processes (chaos-client.c)
 * share. The counters live in one shared anonymous mapping made before the first fork,
 * so a client's counts survive however it dies; each is a relaxed atomic, as only
 * totals are read, and only once the clients are gone.
 */
#ifndef TESSERA_TOOLS_CHAOS_H
#define TESSERA_TOOLS_CHAOS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "tessera-protocol.h"

/* How a client ends its life: chosen by the parent, so a seed reproduces the mix. */
#define CHAOS_FATES(X) \
	X(segv, "SIGSEGV (a store through a null pointer)") \
	X(abort, "abort()") \
	X(kill, "SIGKILL to itself") \
	X(midmsg, "SIGKILL in the middle of writing a message") \
	X(exit, "_exit(0) without disconnecting") \
	X(disconnect, "a clean disconnect") \
	X(fds, "SIGKILL with file descriptors in flight") \
	X(stall, "stops reading events and floods until the server cuts it off") \
	X(invalid, "an invalid request, then the server's error") \
	X(outside, "SIGKILL from the parent at a random moment")

enum chaos_fate {
#define CHAOS_X_(name, what) FATE_##name,
	CHAOS_FATES(CHAOS_X_)
#undef CHAOS_X_
	FATE_COUNT_
};

/** The name of fate @fate ("segv"). */
static inline const char *chaos_fate_name(enum chaos_fate fate) {
	switch (fate) {
#define CHAOS_X_(name, what) case FATE_##name: return #name;
	CHAOS_FATES(CHAOS_X_)
#undef CHAOS_X_
	case FATE_COUNT_:
		break;
	}
	return "?";
}

/* Invalid requests: name, expected error codes (a bit per TS_ERR_ code; 0 for none). */
#define CHAOS_BIT_(code) (1u << TS_ERR_##code)
#define CHAOS_INVALID(X) \
	X(bad_header, CHAOS_BIT_(invalid_message)) \
	X(garbage, CHAOS_ANY) \
	X(bad_opcode, CHAOS_BIT_(unknown_opcode)) \
	X(bad_size, CHAOS_BIT_(invalid_message)) \
	X(id_out_of_range, CHAOS_BIT_(invalid_id)) \
	X(id_destroyed, CHAOS_BIT_(invalid_id)) \
	X(id_in_use, CHAOS_BIT_(id_in_use)) \
	X(id_ahead, CHAOS_BIT_(invalid_id)) \
	X(wrong_type, CHAOS_BIT_(wrong_type)) \
	X(bad_value, CHAOS_BIT_(invalid_value)) \
	X(bad_pixels, CHAOS_BIT_(invalid_value)) \
	X(fds_unexpected, CHAOS_BIT_(bad_fds)) \
	X(fds_missing, CHAOS_BIT_(bad_fds)) \
	X(fds_stray, CHAOS_BIT_(bad_fds)) \
	X(fds_too_many, CHAOS_BIT_(bad_fds) | CHAOS_BIT_(limit_exceeded)) \
	X(hello_twice, CHAOS_BIT_(invalid_message)) \
	X(before_hello, CHAOS_BIT_(not_ready)) \
	X(bad_version, CHAOS_BIT_(bad_version)) \
	X(bad_string, CHAOS_BIT_(invalid_message)) \
	X(catalogue, CHAOS_ANY) \
	X(truncated, 0)
/* Garbage: random bytes; any error, or none, is a fair answer. A case of the malformed-
   input catalogue (tests/peer/malformed.h) is judged by what the case itself expects. */
#define CHAOS_ANY 0xffffffffu

enum chaos_invalid {
#define CHAOS_X_(name, expect) INVALID_##name,
	CHAOS_INVALID(CHAOS_X_)
#undef CHAOS_X_
	INVALID_COUNT_
};

/* Exit statuses of a client process, read by the parent. */
enum chaos_exit {
	CHILD_OK = 0,              // ended as planned
	CHILD_CUT_OFF = 10,        // the server closed the connection first (a limit)
	CHILD_NO_CONNECT = 11,     // could not connect
	CHILD_ANOMALY = 12,        // the server did something the protocol does not allow
	CHILD_BROKEN = 13,         // the client itself failed (out of fds, ...)
};

typedef atomic_ullong chaos_counter;

struct chaos_stats {
	chaos_counter valid[TS_REQ_COUNT_];          // valid requests sent, by opcode
	chaos_counter invalid[INVALID_COUNT_];       // invalid requests sent, by kind
	chaos_counter errors[TS_ERR_COUNT_ + 1];     // error events received; last: unknown code
	chaos_counter refused_as_expected;   // invalid, answered by an expected error
	chaos_counter refused_wrong_code;    // invalid, answered by an error it does not deserve
	chaos_counter refused_silently;      // invalid, answered by a hang-up without error
	chaos_counter invalid_accepted;      // invalid, but a later round trip succeeded
	chaos_counter valid_refused;         // a protocol error (not a limit) on valid traffic
	chaos_counter bad_answers;           // an event the protocol does not allow
	chaos_counter cut_off_limit;         // limit_exceeded received
	chaos_counter cut_off_hangup;        // hung up on without an error event
	chaos_counter refused_at_connect;    // no welcome: the clients limit
	chaos_counter stalls;                // pauses in reading events, survived or not
	chaos_counter flood_bytes;           // bytes written by clients that never read
	chaos_counter fds_in_flight;         // fds sent by clients dying with them
	chaos_counter frames_done, syncs_done, screenshots, info_queries;
	chaos_counter raw_rounds;            // rounds of table-generated requests on a raw connection
};

/** What one client process is to do: fixed by the parent before the fork. */
struct chaos_plan {
	const char *socket;
	uint64_t seed;
	enum chaos_fate fate;
	unsigned serial; // this client's number, for its name
	int width, height; // the output size, from the parent's probe
};

/** Runs one client process to its end; never returns. */
void chaos_client_run(const struct chaos_plan *plan, struct chaos_stats *stats)
	__attribute__((noreturn));

/* ---- the raw socket (chaos-raw.c; the raw peer of tests/peer does the rest) ---- */

/** What the server sent on a raw connection, up to its error or hang-up. */
struct chaos_answer {
	int error;        // the code of its error event (counted in stats->errors), or -1
	bool synced;      // done for the awaited sync came first
	bool hung_up;     // the server closed the connection (after its error, if any)
	const char *bad;  // an event the protocol does not allow, if one came (NULL: none)
};

/**
 * Reads events from @fd until an error event, done(@sync_id) (0: none awaited), a
 * hang-up, or 20 s of silence; error events are counted in @stats (chaos's own part of
 * the raw peer's peer_next). Fds that come along are closed.
 */
struct chaos_answer chaos_read_answer(int fd, uint32_t sync_id, struct chaos_stats *stats);

/**
 * A round of requests made from the protocol table by the generator (tests/peer/gen.h)
 * on a raw connection of the client's own: a request added to the table is soaked
 * with no change here. Counts what it sent in @stats; a round trip after them must be
 * answered without an error, else the client ends (CHILD_ANOMALY).
 */
void chaos_raw_round(const struct chaos_plan *plan, struct chaos_stats *stats,
	struct peer_rng *rng);

/**
 * Sends a random case of the malformed-input catalogue (tests/peer/malformed.h) on the
 * new connection @fd, judges the server's answer by what the case expects, counts it
 * in @stats and ends the client.
 */
void chaos_catalogue_case(const struct chaos_plan *plan, struct chaos_stats *stats,
	struct peer_rng *rng, int fd) __attribute__((noreturn));

/** Writes "tessera-chaos: client N (fate, seed S): TEXT" to stderr in one write. */
void chaos_vsay(const struct chaos_plan *plan, const char *fmt, va_list ap);

/** Adds @n to a shared counter. */
static inline void chaos_add(chaos_counter *counter, unsigned long long n) {
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

#endif
