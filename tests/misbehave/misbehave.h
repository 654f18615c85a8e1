/*
 * Misbehaving clients: small programs that each do one bad thing to a Tessera server,
 * in the spirit of wleird. They speak the protocol raw, through the raw peer of
 * tests/peer (its encoding is protocol/wire.h's), so that they can get it wrong on
 * purpose; the end-to-end tests in tests/e2e/test-misbehave.c run them and check what
 * the server did.
 *
 * What they print on stdout, one line each, flushed at once:
 *   ready                          the setup is done and the bad thing starts (or is done)
 *   error CODE OBJECT MESSAGE      an error event arrived: CODE by name (invalid_id),
 *                                  OBJECT the id it concerns (0 for none), then the text
 *   disconnected                   the server closed the connection
 *   timeout                        the server neither answered nor hung up in time
 *   failed N WHY                   a well-formed part (round N) did not work
 * Exit status: 0 once the server hung up (or the program ran to its end), 1 after a
 * timeout, 2 when it could not even start (bad usage, no server).
 */
#ifndef TESSERA_MISBEHAVE_H
#define TESSERA_MISBEHAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

/** The command line every program understands; each uses the parts it needs. */
struct mb_options {
	const char *socket;     // --socket PATH (required)
	int mode;               // --mode NAME: index into the program's list of modes
	unsigned long count;    // --count N
	int timeout_ms;         // --timeout-ms MS: how long to wait for the server to react
	bool hold;              // --hold: after "ready", wait for EOF on stdin
};

/**
 * Parses the command line into @opt. @modes is a NULL-terminated list (NULL when the
 * program has none; the first is the default), @help describes the program for
 * --help. Exits 2 with a message on bad usage.
 */
void mb_parse(int argc, char *argv[], const char *help, const char *const *modes,
	unsigned long default_count, struct mb_options *opt);

/** Prints @line and a newline on stdout and flushes it. */
void mb_say(const char *line);

/** Prints "@prog: @what: <strerror>" to stderr and exits 2. */
void mb_die(const char *what) __attribute__((noreturn));

/*
 * The raw side is tests/peer (peer.h); these wrap it with what every program here
 * does on failure: exit 2 when the program itself cannot go on, and print the lines
 * above as events come.
 */

/** A blocking raw connection to @socket (peer_connect); exits 2 when there is none. */
int mb_connect(const char *socket);

/**
 * Encodes request @opcode with @args into @buf (TS_MAX_MESSAGE bytes) with
 * peer_encode. Returns its size; exits 2 if the table refuses the arguments (a bug in
 * the program).
 */
size_t mb_encode(uint8_t *buf, uint16_t opcode, const union ts_arg *args);

/**
 * peer_write: all of @buf, the @nfds descriptors @fds with its first byte. Returns
 * false when the server has closed the connection; exits 2 on any other failure.
 */
bool mb_write(int fd, const void *buf, size_t len, const int *fds, unsigned nfds);

/** Encodes and writes one request; false when the server has gone (see mb_write). */
bool mb_send(int fd, uint16_t opcode, const union ts_arg *args);

/**
 * peer_next, and every error event printed ("error CODE OBJECT MESSAGE"). Returns
 * PEER_EVENT, PEER_HANGUP or PEER_TIMEOUT; exits 2 on a malformed event (a server bug).
 */
enum peer_status mb_next_event(struct peer *p, int timeout_ms, struct peer_event *ev);

/** Sends hello as @name and waits for welcome; exits through mb_finish if refused. */
void mb_hello(struct peer *p, const char *name, int timeout_ms);

/**
 * Waits for the event @opcode about object @id (a done, a delete_ids; any welcome),
 * reading past others. When the server hangs up instead, prints "disconnected" and
 * exits 0; after @timeout_ms, prints "timeout" and exits 1.
 */
void mb_wait_event(struct peer *p, uint16_t opcode, uint32_t id, int timeout_ms);

/**
 * Reads and reports events until the server hangs up: prints "disconnected" and
 * exits 0, or "timeout" after @timeout_ms and exits 1.
 */
void mb_finish(struct peer *p, int timeout_ms) __attribute__((noreturn));

/** If --hold was given: waits until stdin reaches EOF (the test lets go). */
void mb_hold(const struct mb_options *opt);

#endif
