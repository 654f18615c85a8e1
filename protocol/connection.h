/*
 * One end of a Tessera socket: non-blocking reads and writes through buffers that
 * grow on demand up to a limit and shrink back once nothing whole is left in them,
 * and file descriptors carried with SCM_RIGHTS. Used by the server and the client
 * library alike.
 */
#ifndef TESSERA_CONNECTION_H
#define TESSERA_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

#define TS_CONNECTION_MAX_FDS 28 // fds queued per direction (also the per-recvmsg maximum)
#define TS_BUFFER_MIN 512        // bytes a buffer starts with and shrinks back to

/** A byte queue: valid data lies in data[start, end). */
struct ts_byte_queue {
	uint8_t *data;
	size_t start, end, cap;
	size_t limit; // the most bytes it may grow to
};

struct ts_connection {
	int fd; // owned: closed by ts_connection_finish
	struct ts_byte_queue in, out;
	int fds_in[TS_CONNECTION_MAX_FDS];
	unsigned nfds_in;
	unsigned max_fds_in;  // fds queued before TS_IO_TOO_MANY_FDS (TS_CONNECTION_MAX_FDS at most)
	int fds_out[TS_CONNECTION_MAX_FDS];
	unsigned nfds_out;
	// Where the queued fds go: each message that carries some, as its offset from
	// out.start, oldest first. Its fds go with its first byte (see ts_connection_flush).
	uint32_t fd_msgs_out[TS_CONNECTION_MAX_FDS];
	unsigned nfd_msgs_out;
};

/**
 * Takes ownership of socket @fd (set non-blocking here). @in_limit and @out_limit bound
 * the buffers; in_limit must be at least TS_MAX_MESSAGE. At most TS_CONNECTION_MAX_FDS
 * received fds may wait (lower it with max_fds_in). No memory is allocated yet.
 */
void ts_connection_init(struct ts_connection *conn, int fd, size_t in_limit, size_t out_limit);

/** Frees the buffers, closes every queued fd and the socket. */
void ts_connection_finish(struct ts_connection *conn);

enum ts_io_status {
	TS_IO_OK = 0,       // progress made (read: bytes arrived; flush: everything sent)
	TS_IO_AGAIN = 1,    // would block (flush: bytes remain queued)
	TS_IO_EOF = -1,     // the peer hung up
	TS_IO_ERROR = -2,   // socket error (errno set) or protocol-level failure below
	TS_IO_TOO_MANY_FDS = -3, // the peer sent more fds than we queue, or they were truncated
};

/**
 * Reads what the socket has into the in-buffer (at most 64 KiB a call, and no more
 * than its limit leaves room for) and queues the fds that came with it. Returns
 * TS_IO_OK when bytes arrived, TS_IO_AGAIN when nothing was there or the buffer is
 * full, TS_IO_EOF, TS_IO_ERROR or TS_IO_TOO_MANY_FDS.
 */
int ts_connection_read(struct ts_connection *conn);

/**
 * Like ts_connection_read, but sleeps in recvmsg until something arrives, for a peer
 * that has nothing else to wait for. Only blocks on a socket without O_NONBLOCK (the
 * other calls pass MSG_DONTWAIT and never need the flag): one system call and the
 * kernel's plainest wake-up, where poll() then a read costs two and a slower one.
 */
int ts_connection_read_wait(struct ts_connection *conn);

/**
 * Writes the out-buffer and its queued fds, each message's fds with its own first byte
 * (a write ends before each message that carries fds, and the next begins with them).
 * Returns TS_IO_OK when everything is sent,
 * TS_IO_AGAIN when the socket is full, TS_IO_EOF or TS_IO_ERROR.
 * A drained buffer larger than TS_BUFFER_MIN is shrunk back.
 */
int ts_connection_flush(struct ts_connection *conn);

#define TS_SEND_MAX_FDS 253 // the most fds the kernel takes with one sendmsg (SCM_MAX_FD)

/**
 * One sendmsg of @len bytes of @data with @nfds fds attached (SCM_RIGHTS; none when 0),
 * flags MSG_NOSIGNAL | @flags. Returns what sendmsg returns; -1 with EINVAL for more
 * than TS_SEND_MAX_FDS fds. The fds stay the caller's. (The connection's flush uses it;
 * so do the tests and tools that speak the protocol by hand.)
 */
ssize_t ts_send_fds(int sock, const void *data, size_t len, const int *fds, unsigned nfds,
	int flags);

/** Bytes and fds waiting in the out-buffer. */
static inline bool ts_connection_has_output(const struct ts_connection *conn) {
	return conn->out.end > conn->out.start || conn->nfds_out > 0;
}

/**
 * Encodes a message into the out-buffer. 'h' fields are fds whose ownership passes to
 * the connection (closed after sending, or on finish). Returns 0, or -1 when the
 * arguments are invalid, memory runs out or the out-buffer would pass its limit; on
 * failure the fds passed are closed.
 */
int ts_connection_queue(struct ts_connection *conn, const struct ts_interface *iface,
	uint16_t opcode, const union ts_arg *args);

/**
 * Parses the next complete message in the in-buffer. Returns 1 and fills @hdr and @args
 * (strings point into the buffer, valid until ts_connection_consume) when a message is
 * there, 0 when more bytes are needed (the in-buffer then shrinks to what the start of
 * the message it holds needs, so an idle connection holds little), or a negative
 * TS_ERR_ code with *why set when the bytes are malformed. Fds carried by the message
 * are moved from the fd queue into the 'h' fields of @args: from then on they belong
 * to the caller. Messages of only 4-byte fields take a fast path (ts_decode_plain).
 * Call ts_connection_consume(conn, hdr->size) after handling the message.
 */
int ts_connection_next(struct ts_connection *conn, const struct ts_interface *iface,
	struct ts_header *hdr, union ts_arg *args, const char **why);

/** Drops @size bytes from the front of the in-buffer; once drained it shrinks back. */
void ts_connection_consume(struct ts_connection *conn, size_t size);

/** Bytes in the in-buffer not yet consumed. */
static inline size_t ts_connection_pending_input(const struct ts_connection *conn) {
	return conn->in.end - conn->in.start;
}

#endif
