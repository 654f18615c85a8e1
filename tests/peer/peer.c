#define _GNU_SOURCE
#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "connection.h"

long long peer_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int peer_connect(const char *path, int flags) {
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int type = SOCK_STREAM | SOCK_CLOEXEC | ((flags & PEER_NONBLOCK) ? SOCK_NONBLOCK : 0);
	int fd = socket(AF_UNIX, type, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

void peer_header(uint8_t *buf, uint32_t size, uint16_t opcode, uint8_t nfds, uint8_t flags) {
	ts_put_u32(buf, size);
	ts_put_u32(buf + 4, peer_header_word(opcode, nfds, flags));
}

size_t peer_encode(uint8_t *buf, size_t cap, uint16_t opcode, const union ts_arg *args) {
	return ts_encode(buf, cap, &ts_request_interface, opcode, args);
}

size_t peer_encode_hello(uint8_t *buf, size_t cap, const char *name) {
	return peer_encode(buf, cap, TS_REQ_hello,
		(const union ts_arg[]){ { .u = TS_PROTOCOL_VERSION }, { .s = name } });
}

enum peer_write_result peer_write(int fd, const void *buf, size_t len, const int *fds,
		unsigned nfds) {
	const uint8_t *p = buf;
	if (nfds > TS_SEND_MAX_FDS) {
		errno = EINVAL;
		return PEER_FAILED;
	}
	while (len > 0) {
		ssize_t n = ts_send_fds(fd, p, len, fds, nfds, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			// A non-blocking socket that is full: wait for room.
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
				return PEER_FAILED;
			}
			continue;
		}
		if (n < 0) {
			return errno == EPIPE || errno == ECONNRESET ? PEER_GONE : PEER_FAILED;
		}
		nfds = 0; // they went with the first byte
		p += n;
		len -= (size_t)n;
	}
	return PEER_WRITTEN;
}

enum peer_write_result peer_send(int fd, uint16_t opcode, const union ts_arg *args) {
	uint8_t buf[TS_MAX_MESSAGE];
	size_t n = peer_encode(buf, sizeof buf, opcode, args);
	if (n == 0) {
		errno = EINVAL;
		return PEER_FAILED;
	}
	return peer_write(fd, buf, n, NULL, 0);
}

unsigned peer_open_fds(int *fds, unsigned count) {
	unsigned n = 0;
	while (n < count) {
		int fd = -1;
		switch (n % 3) {
		case 0:
			fd = memfd_create("tessera-peer", MFD_CLOEXEC);
			if (fd >= 0 && ftruncate(fd, 4096) < 0) {
				close(fd);
				fd = -1;
			}
			break;
		case 1: {
			int p[2];
			if (pipe2(p, O_CLOEXEC) == 0) {
				close(p[1]);
				fd = p[0];
			}
			break;
		}
		default:
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			break;
		}
		if (fd < 0) {
			break;
		}
		fds[n++] = fd;
	}
	return n;
}

void peer_init(struct peer *p, int fd) {
	memset(p, 0, offsetof(struct peer, buf));
	p->fd = fd;
}

void peer_close(struct peer *p) {
	if (p->fd >= 0) {
		close(p->fd);
	}
	p->fd = -1;
}

// Closes the fds that came with a recvmsg: no event of the protocol keeps one yet.
static void close_passed(struct msghdr *msg) {
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			continue;
		}
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
			close(fd);
		}
	}
}

// Reads once into the buffer, waiting until @deadline (-1: none). Returns PEER_EVENT
// when bytes came, PEER_HANGUP, PEER_TIMEOUT or PEER_BAD.
static enum peer_status fill(struct peer *p, long long deadline) {
	if (p->start > 0) {
		memmove(p->buf, p->buf + p->start, p->end - p->start);
		p->end -= p->start;
		p->start = 0;
	}
	for (;;) {
		int wait = -1;
		if (deadline >= 0) {
			long long left = deadline - peer_now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc < 0) {
			p->bad = "socket error";
			return PEER_BAD;
		}
		if (rc == 0) {
			return PEER_TIMEOUT;
		}
		union {
			char buf[CMSG_SPACE(sizeof(int) * TS_SEND_MAX_FDS)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = p->buf + p->end, .iov_len = sizeof p->buf - p->end };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			.msg_controllen = sizeof control.buf };
		ssize_t n = recvmsg(p->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (wait == 0) {
				return PEER_TIMEOUT;
			}
			continue;
		}
		// A server that closes with our bytes unread makes its close a reset.
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			p->hung_up = true;
			return PEER_HANGUP;
		}
		if (n < 0) {
			p->bad = "socket error";
			return PEER_BAD;
		}
		close_passed(&msg);
		p->end += (size_t)n;
		return PEER_EVENT;
	}
}

enum peer_status peer_next(struct peer *p, int timeout_ms, struct peer_event *ev) {
	long long deadline = timeout_ms < 0 ? -1 : peer_now_ms() + timeout_ms;
	for (;;) {
		int rc = ts_header_read(p->buf + p->start, p->end - p->start, &ev->hdr);
		if (rc < 0) {
			p->bad = "a malformed event header";
			return PEER_BAD;
		}
		if (rc == TS_HEADER_OK && ev->hdr.size <= p->end - p->start) {
			break;
		}
		enum peer_status got = fill(p, deadline);
		if (got != PEER_EVENT) {
			return got;
		}
	}
	static const int no_fds[TS_MAX_FDS_PER_MESSAGE] = { -1, -1, -1, -1 };
	const char *why = "";
	if (ts_decode(&ts_event_interface, p->buf + p->start, &ev->hdr, no_fds, ev->args,
			&why) != 0) {
		p->bad = why;
		return PEER_BAD;
	}
	p->start += ev->hdr.size;
	if (ev->hdr.opcode == TS_EV_welcome) {
		p->welcomed = true;
	} else if (ev->hdr.opcode == TS_EV_error) {
		p->errors++;
		p->object = ev->args[0].u;
		p->code = ev->args[1].u;
		snprintf(p->message, sizeof p->message, "%s", ev->args[2].s);
	}
	return PEER_EVENT;
}

// Milliseconds until @deadline (peer_now_ms), 0 once past it; -1 for no deadline (-1).
static int time_left(long long deadline) {
	if (deadline < 0) {
		return -1;
	}
	long long ms = deadline - peer_now_ms();
	return ms > 0 ? (int)ms : 0;
}

// Whether event @ev is about object @id: its first field names it, or (delete_ids) an
// array of ids holds it.
static bool names(const struct peer_event *ev, uint32_t id) {
	if (ts_events[ev->hdr.opcode].signature[0] == 'a') {
		const uint8_t *ids = ev->args[0].a.data;
		for (uint32_t at = 0; at + 4 <= ev->args[0].a.size; at += 4) {
			if (ts_get_u32(ids + at) == id) {
				return true;
			}
		}
		return false;
	}
	return ev->args[0].u == id;
}

enum peer_status peer_wait(struct peer *p, uint16_t opcode, uint32_t id, int timeout_ms,
		struct peer_event *ev) {
	long long deadline = timeout_ms < 0 ? -1 : peer_now_ms() + timeout_ms;
	for (;;) {
		int left = time_left(deadline);
		enum peer_status rc = peer_next(p, left, ev);
		if (rc != PEER_EVENT) {
			return rc;
		}
		// welcome names no object; the others name theirs first.
		if (ev->hdr.opcode == TS_EV_error || (ev->hdr.opcode == opcode &&
				(opcode == TS_EV_welcome || names(ev, id)))) {
			return PEER_EVENT;
		}
	}
}

enum peer_status peer_hello(struct peer *p, const char *name, int timeout_ms,
		struct peer_event *ev) {
	uint8_t buf[TS_MAX_MESSAGE];
	size_t n = peer_encode_hello(buf, sizeof buf, name);
	enum peer_write_result w = n == 0 ? PEER_FAILED : peer_write(p->fd, buf, n, NULL, 0);
	if (w == PEER_FAILED) {
		p->bad = "cannot send hello";
		return PEER_BAD;
	}
	// Gone already: what it said before is still there to read.
	return peer_wait(p, TS_EV_welcome, 0, timeout_ms, ev);
}

enum peer_status peer_drain(struct peer *p, int timeout_ms) {
	long long deadline = timeout_ms < 0 ? -1 : peer_now_ms() + timeout_ms;
	for (;;) {
		int left = time_left(deadline);
		struct peer_event ev;
		enum peer_status rc = peer_next(p, left, &ev);
		if (rc != PEER_EVENT) {
			return rc;
		}
	}
}
