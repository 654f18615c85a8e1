/*
 * The raw peer: one end of a Tessera socket spoken by hand, for the tests, the
 * misbehaving clients, the corpus generator, the chaos tool and the benchmarks, which
 * must be able to get the protocol wrong on purpose. Everything it encodes goes through
 * protocol/wire.h (ts_encode); what it forges by hand is only headers and the bytes of
 * fields the encoder would refuse (see malformed.h).
 *
 * A struct peer reads events a whole message at a time and keeps what a test usually
 * asks about them: whether a welcome came, the error events, whether the server hung up.
 * Nothing here asserts or exits: every call says what happened and the caller decides.
 */
#ifndef TESSERA_TESTS_PEER_H
#define TESSERA_TESTS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* ---- connecting ---- */

enum peer_connect_flags {
	PEER_BLOCKING = 0,
	PEER_NONBLOCK = 1, // the socket (and the connect) never blocks: EAGAIN when the backlog is full
};

/**
 * A new AF_UNIX stream socket connected to @path (close-on-exec), no hello sent.
 * Returns the fd, owned by the caller, or -1 with errno set (ENAMETOOLONG for a path
 * that does not fit in sun_path).
 */
int peer_connect(const char *path, int flags);

/* ---- writing ---- */

/** The second header word: opcode, fd count and flags, as PROTOCOL.md lays them out. */
static inline uint32_t peer_header_word(uint16_t opcode, uint8_t nfds, uint8_t flags) {
	return (uint32_t)opcode | (uint32_t)nfds << 16 | (uint32_t)flags << 24;
}

/** Forges a header at @buf (8 bytes): any size, opcode, fd count and flags. */
void peer_header(uint8_t *buf, uint32_t size, uint16_t opcode, uint8_t nfds, uint8_t flags);

/**
 * Encodes request @opcode with @args into @buf (@cap bytes) with ts_encode. Returns
 * the size, or 0 when the table refuses the arguments or they do not fit.
 */
size_t peer_encode(uint8_t *buf, size_t cap, uint16_t opcode, const union ts_arg *args);

/** Encodes hello(TS_PROTOCOL_VERSION, @name) into @buf; returns its size (0 if refused). */
size_t peer_encode_hello(uint8_t *buf, size_t cap, const char *name);

enum peer_write_result {
	PEER_WRITTEN = 1,
	PEER_GONE = 0,     // the server closed the connection (EPIPE, ECONNRESET)
	PEER_FAILED = -1,  // any other failure, errno set
};

/**
 * Writes all @len bytes of @buf to @fd, waiting for room when the socket is full (a
 * non-blocking one too), the @nfds descriptors of @fds (still the caller's; at most
 * TS_SEND_MAX_FDS) attached to the first byte. Never raises SIGPIPE.
 */
enum peer_write_result peer_write(int fd, const void *buf, size_t len, const int *fds,
	unsigned nfds);

/** Encodes request @opcode with @args and writes it; PEER_FAILED with EINVAL if refused. */
enum peer_write_result peer_send(int fd, uint16_t opcode, const union ts_arg *args);

/**
 * Opens @count descriptors of assorted kinds (a 4 KiB memfd, a pipe's read end,
 * /dev/null, in turn) into @fds, for sending; the caller closes them. Returns how many
 * it opened (fewer when the fd limit is reached).
 */
unsigned peer_open_fds(int *fds, unsigned count);

/* ---- reading ---- */

/** One event, decoded. Strings point into the peer's buffer: valid until the next read. */
struct peer_event {
	struct ts_header hdr;
	union ts_arg args[TS_MAX_ARGS];
};

/** A connection read by hand, and what came on it so far. */
struct peer {
	int fd;              // owned by whoever made it: peer_close closes it
	bool welcomed;       // a welcome came
	bool hung_up;        // the server closed the connection (or reset it)
	int errors;          // error events received
	uint32_t code;       // the last error event's code, its object and its text
	uint32_t object;
	char message[512];
	const char *bad;     // set when the server sent something that does not decode
	size_t start, end;
	uint8_t buf[2 * TS_MAX_MESSAGE]; // always room for one whole message
};

/** Starts reading @fd (a connected socket). */
void peer_init(struct peer *p, int fd);

/** Closes the peer's socket (if open) and sets fd to -1. */
void peer_close(struct peer *p);

enum peer_status {
	PEER_EVENT = 1,    // an event, in *ev
	PEER_HANGUP = 0,   // the server closed the connection (p->hung_up)
	PEER_TIMEOUT = -1, // nothing whole within the time given
	PEER_BAD = -2,     // the server sent bytes that do not decode (p->bad says how), or
	                   // the socket failed (errno set; p->bad "socket error")
};

/**
 * The next event, waiting at most @timeout_ms (-1: no limit; 0: only what has already
 * arrived or can be read at once). Welcome and error events are also noted in @p. Fds
 * that come with events are closed at once ('h' fields decode as -1).
 */
enum peer_status peer_next(struct peer *p, int timeout_ms, struct peer_event *ev);

/**
 * Reads events until event @opcode comes whose first field is @id (or, an array of ids
 * as in delete_ids, holds it; any when
 * @opcode is TS_EV_welcome), or an error event (returned as PEER_EVENT with that event
 * in *ev: check ev->hdr.opcode), or a hang-up, a bad event or @timeout_ms in all.
 */
enum peer_status peer_wait(struct peer *p, uint16_t opcode, uint32_t id, int timeout_ms,
	struct peer_event *ev);

/** Sends hello as @name and waits for the welcome, as peer_wait. */
enum peer_status peer_hello(struct peer *p, const char *name, int timeout_ms,
	struct peer_event *ev);

/**
 * Reads and notes every event until the server hangs up (PEER_HANGUP), @timeout_ms
 * pass (PEER_TIMEOUT) or a bad event comes (PEER_BAD). Then p->errors, p->code and
 * p->message say what it was told.
 */
enum peer_status peer_drain(struct peer *p, int timeout_ms);

/** Monotonic milliseconds, for deadlines. */
long long peer_now_ms(void);

/* ---- choices: splitmix64, small and reproducible from a seed ---- */

struct peer_rng {
	uint64_t state;
};

static inline uint64_t peer_rng_next(struct peer_rng *rng) {
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/** A number from 0 to @n - 1 (0 when @n is 0). */
static inline uint32_t peer_rng_below(struct peer_rng *rng, uint32_t n) {
	return (uint32_t)(((peer_rng_next(rng) >> 32) * n) >> 32);
}

/** True with probability @percent / 100. */
static inline bool peer_rng_chance(struct peer_rng *rng, uint32_t percent) {
	return peer_rng_below(rng, 100) < percent;
}

#endif
