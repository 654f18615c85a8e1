#define _GNU_SOURCE
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// The most one recvmsg asks for, within the in-limit. 64 KiB take a burst of small
// requests (over 3,000 rect_set_position) per system call; an idle connection does
// not keep that room (see buffer_shrink).
#define READ_CHUNK (64u << 10)

void ts_connection_init(struct ts_connection *conn, int fd, size_t in_limit, size_t out_limit) {
	memset(conn, 0, sizeof *conn);
	conn->fd = fd;
	conn->in.limit = in_limit < TS_MAX_MESSAGE ? TS_MAX_MESSAGE : in_limit;
	conn->out.limit = out_limit < TS_MAX_MESSAGE ? TS_MAX_MESSAGE : out_limit;
	if (conn->out.limit > UINT32_MAX) {
		conn->out.limit = UINT32_MAX; // offsets into it fit fd_msgs_out
	}
	conn->max_fds_in = TS_CONNECTION_MAX_FDS;
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0) {
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	}
}

static void close_fds(int *fds, unsigned *count) {
	for (unsigned i = 0; i < *count; i++) {
		close(fds[i]);
	}
	*count = 0;
}

void ts_connection_finish(struct ts_connection *conn) {
	free(conn->in.data);
	free(conn->out.data);
	conn->in.data = conn->out.data = NULL;
	close_fds(conn->fds_in, &conn->nfds_in);
	close_fds(conn->fds_out, &conn->nfds_out);
	conn->nfd_msgs_out = 0;
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
}

// Makes room for @need more bytes after buf->end, compacting then growing (doubling)
// up to the limit. Returns false when the limit or memory forbids it.
static bool buffer_reserve(struct ts_byte_queue *buf, size_t need) {
	size_t used = buf->end - buf->start;
	if (need > buf->limit || used > buf->limit - need) {
		return false;
	}
	if (buf->cap - buf->end >= need) {
		return true;
	}
	if (buf->start > 0) {
		memmove(buf->data, buf->data + buf->start, used);
		buf->start = 0;
		buf->end = used;
		if (buf->cap - used >= need) {
			return true;
		}
	}
	size_t cap = buf->cap ? buf->cap : TS_BUFFER_MIN;
	while (cap - used < need) {
		cap *= 2;
	}
	if (cap > buf->limit) {
		cap = buf->limit;
	}
	uint8_t *data = realloc(buf->data, cap);
	if (data == NULL) {
		return false;
	}
	buf->data = data;
	buf->cap = cap;
	return true;
}

// Called when a buffer holds nothing ready to use: sent out entirely, or read and
// dispatched up to an incomplete message. Moves what is left (none, or the start of
// a message still arriving) to the front and gives memory back, keeping the smallest
// of TS_BUFFER_MIN, 2 * TS_BUFFER_MIN, ... that holds it, so an idle connection
// costs little whatever its last burst was.
// A busy one pays a shrink and a regrow per burst read or written (one realloc each
// way, the bytes kept being at most one message); that is cheaper than knowing for
// sure that more is coming, which would take a system call, and keeping the room on
// a guess would leave it with an idle connection.
static void buffer_shrink(struct ts_byte_queue *buf) {
	size_t used = buf->end - buf->start;
	if (buf->start > 0) {
		memmove(buf->data, buf->data + buf->start, used);
		buf->start = 0;
		buf->end = used;
	}
	size_t cap = TS_BUFFER_MIN;
	while (cap < used) {
		cap *= 2;
	}
	if (cap < buf->cap) {
		uint8_t *data = realloc(buf->data, cap);
		if (data != NULL) {
			buf->data = data;
			buf->cap = cap;
		}
	}
}

static int connection_read(struct ts_connection *conn, int flags) {
	struct ts_byte_queue *in = &conn->in;
	size_t used = in->end - in->start;
	// READ_CHUNK at a time, or, when the buffer holds less (the start of a message,
	// usually), what makes READ_CHUNK in all, so that it needs no more than that.
	size_t want = used < READ_CHUNK ? READ_CHUNK - used : READ_CHUNK;
	if (want > in->limit - used) {
		want = in->limit - used;
	}
	if (want == 0) {
		return TS_IO_AGAIN;
	}
	if (!buffer_reserve(in, want)) {
		errno = ENOMEM;
		return TS_IO_ERROR;
	}
	struct iovec iov = { .iov_base = in->data + in->end, .iov_len = in->cap - in->end };
	union {
		char buf[CMSG_SPACE(sizeof(int) * TS_CONNECTION_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof control.buf,
	};
	ssize_t n;
	do {
		n = recvmsg(conn->fd, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		// Nothing came: give back the room made for it.
		int err = errno;
		buffer_shrink(in);
		errno = err;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return TS_IO_AGAIN;
		}
		return errno == ECONNRESET ? TS_IO_EOF : TS_IO_ERROR;
	}
	bool overflow = (msg.msg_flags & MSG_CTRUNC) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			continue;
		}
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *data = CMSG_DATA(c);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, data + i * sizeof fd, sizeof fd);
			if (conn->nfds_in < conn->max_fds_in && conn->nfds_in < TS_CONNECTION_MAX_FDS) {
				conn->fds_in[conn->nfds_in++] = fd;
			} else {
				close(fd);
				overflow = true;
			}
		}
	}
	in->end += (size_t)n;
	if (overflow) {
		return TS_IO_TOO_MANY_FDS;
	}
	if (n == 0) {
		return TS_IO_EOF;
	}
	return TS_IO_OK;
}

int ts_connection_read(struct ts_connection *conn) {
	return connection_read(conn, MSG_DONTWAIT);
}

int ts_connection_read_wait(struct ts_connection *conn) {
	return connection_read(conn, 0);
}

ssize_t ts_send_fds(int sock, const void *data, size_t len, const int *fds, unsigned nfds,
		int flags) {
	if (nfds > TS_SEND_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * TS_SEND_MAX_FDS)];
		struct cmsghdr align;
	} control;
	if (nfds > 0) {
		size_t fds_len = sizeof(int) * nfds;
		memset(control.buf, 0, CMSG_SPACE(fds_len));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(fds_len);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(fds_len);
		memcpy(CMSG_DATA(c), fds, fds_len);
	}
	ssize_t n;
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
	} while (n < 0 && errno == EINTR);
	return n;
}

int ts_connection_flush(struct ts_connection *conn) {
	struct ts_byte_queue *out = &conn->out;
	while (out->end > out->start) {
		// Fds go with the first byte of the message that carries them, never with
		// earlier bytes: a reader that has every byte before that message and the fds
		// could not tell them from fds that no message takes (the server's bad_fds).
		// So a write ends before each message with fds, and the next starts with it.
		size_t len = out->end - out->start;
		unsigned nfds = 0;
		if (conn->nfd_msgs_out > 0 && conn->fd_msgs_out[0] > 0) {
			len = conn->fd_msgs_out[0];
		} else if (conn->nfd_msgs_out > 0) {
			struct ts_header hdr = { 0 };
			ts_header_read(out->data + out->start, len, &hdr); // whole: we encoded it
			nfds = hdr.nfds;
			if (conn->nfd_msgs_out > 1) {
				len = conn->fd_msgs_out[1];
			}
		}
		ssize_t n = ts_send_fds(conn->fd, out->data + out->start, len, conn->fds_out, nfds,
			MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return TS_IO_AGAIN;
			}
			return errno == EPIPE || errno == ECONNRESET ? TS_IO_EOF : TS_IO_ERROR;
		}
		if (nfds > 0) {
			// They went with the message's first byte; our copies can go.
			for (unsigned i = 0; i < nfds; i++) {
				close(conn->fds_out[i]);
			}
			conn->nfds_out -= nfds;
			memmove(conn->fds_out, conn->fds_out + nfds, conn->nfds_out * sizeof(int));
			conn->nfd_msgs_out--;
			memmove(conn->fd_msgs_out, conn->fd_msgs_out + 1,
				conn->nfd_msgs_out * sizeof conn->fd_msgs_out[0]);
		}
		for (unsigned i = 0; i < conn->nfd_msgs_out; i++) {
			conn->fd_msgs_out[i] -= (uint32_t)n;
		}
		out->start += (size_t)n;
	}
	buffer_shrink(out);
	return TS_IO_OK;
}

// ts_connection_queue for messages with strings or fds, and for bad opcodes. Kept out
// of line so that the fast path does not pay for its stack frame.
__attribute__((noinline))
static int queue_general(struct ts_connection *conn, const struct ts_interface *iface,
		uint16_t opcode, const union ts_arg *args) {
	size_t size = ts_encoded_size(iface, opcode, args);
	const char *sig = opcode < iface->count ? iface->messages[opcode].signature : "";
	unsigned nfds = opcode < iface->count ? iface->meta[opcode].nfds : 0;
	if (size == 0 || conn->nfds_out + nfds > TS_CONNECTION_MAX_FDS ||
			!buffer_reserve(&conn->out, size)) {
		for (unsigned i = 0; sig[i]; i++) {
			if (sig[i] == 'h' && args[i].h >= 0) {
				close(args[i].h);
			}
		}
		return -1;
	}
	if (nfds > 0) {
		conn->fd_msgs_out[conn->nfd_msgs_out++] = (uint32_t)(conn->out.end - conn->out.start);
	}
	conn->out.end += ts_encode(conn->out.data + conn->out.end, size, iface, opcode, args);
	for (unsigned i = 0; sig[i]; i++) {
		if (sig[i] == 'h') {
			conn->fds_out[conn->nfds_out++] = args[i].h;
		}
	}
	return 0;
}

int ts_connection_queue(struct ts_connection *conn, const struct ts_interface *iface,
		uint16_t opcode, const union ts_arg *args) {
	if (opcode >= iface->count || !iface->meta[opcode].plain) {
		return queue_general(conn, iface, opcode, args);
	}
	// Only 4-byte fields: no argument can be invalid and there is no fd to take.
	const struct ts_message_meta *meta = &iface->meta[opcode];
	struct ts_byte_queue *out = &conn->out;
	if (out->cap - out->end < meta->size && !buffer_reserve(out, meta->size)) {
		return -1;
	}
	out->end += ts_encode_plain(out->data + out->end, meta, opcode, args);
	return 0;
}

int ts_connection_next(struct ts_connection *conn, const struct ts_interface *iface,
		struct ts_header *hdr, union ts_arg *args, const char **why) {
	size_t avail = conn->in.end - conn->in.start;
	if (avail == 0) {
		buffer_shrink(&conn->in);
		return 0;
	}
	const uint8_t *p = conn->in.data + conn->in.start;
	int rc = ts_header_read(p, avail, hdr);
	if (rc < 0) {
		*why = "malformed header (size out of range or reserved bits set)";
		return rc;
	}
	if (rc == TS_HEADER_NEED_MORE || hdr->size > avail) {
		// Everything whole has been taken: the rest of this message is still on its way.
		buffer_shrink(&conn->in);
		return 0;
	}
	if (hdr->nfds > conn->nfds_in) {
		*why = "message claims file descriptors that did not arrive";
		return -TS_ERR_bad_fds;
	}
	rc = hdr->opcode < iface->count ?
		ts_decode_plain(&iface->meta[hdr->opcode], p, hdr, args, why) : -1;
	if (rc < 0) {
		rc = ts_decode(iface, p, hdr, conn->fds_in, args, why);
	}
	if (rc != 0) {
		return -rc;
	}
	if (hdr->nfds > 0) {
		// The message's fds now belong to the caller through args.
		conn->nfds_in -= hdr->nfds;
		memmove(conn->fds_in, conn->fds_in + hdr->nfds, conn->nfds_in * sizeof(int));
	}
	return 1;
}

void ts_connection_consume(struct ts_connection *conn, size_t size) {
	conn->in.start += size;
	if (conn->in.start >= conn->in.end) {
		buffer_shrink(&conn->in);
	}
}
