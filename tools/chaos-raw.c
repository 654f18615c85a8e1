/*
 * tessera-chaos: the socket without libtessera. Clients use these to write what the
 * library would never send (invalid requests, half messages, stray fds) and to read
 * the server's answer to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chaos.h"
#include "connection.h"
#include "wire.h"

#define ANSWER_TIMEOUT_MS 20000 // the server says nothing for this long: give up

int chaos_raw_connect(const char *path) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool chaos_send(int fd, const void *data, size_t len, const int *fds, unsigned nfds) {
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = ts_send_fds(fd, p, len, fds, nfds, 0);
		if (n <= 0) {
			return false;
		}
		p += n;
		len -= (size_t)n;
		nfds = 0; // they went with the first byte
	}
	return true;
}

unsigned chaos_open_fds(int *fds, unsigned count) {
	unsigned n = 0;
	while (n < count) {
		int fd;
		switch (n % 3) {
		case 0:
			fd = memfd_create("tessera-chaos", MFD_CLOEXEC);
			if (fd >= 0 && ftruncate(fd, 4096) < 0) {
				close(fd);
				fd = -1;
			}
			break;
		case 1: {
			int p[2];
			fd = -1;
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

// Closes the fds that came with a recvmsg: we never use them.
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

struct chaos_answer chaos_read_answer(int fd, uint32_t sync_id, struct chaos_stats *stats) {
	struct chaos_answer answer = { .error = -1 };
	uint8_t buf[2 * TS_MAX_MESSAGE];
	size_t used = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, ANSWER_TIMEOUT_MS) <= 0) {
			return answer;
		}
		union {
			char buf[CMSG_SPACE(sizeof(int) * TS_SEND_MAX_FDS)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = buf + used, .iov_len = sizeof buf - used };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control.buf, .msg_controllen = sizeof control.buf };
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n > 0) {
			close_passed(&msg);
		}
		if (n <= 0) {
			return answer;
		}
		used += (size_t)n;
		size_t off = 0;
		struct ts_header hdr;
		int rc;
		while ((rc = ts_header_read(buf + off, used - off, &hdr)) == TS_HEADER_OK &&
				hdr.size <= used - off) {
			union ts_arg args[TS_MAX_ARGS];
			const char *why;
			int fds[TS_MAX_FDS_PER_MESSAGE] = { -1, -1, -1, -1 };
			if (ts_decode(&ts_event_interface, buf + off, &hdr, fds, args, &why) != 0) {
				answer.bad = "an event that does not decode";
				return answer;
			}
			if (hdr.opcode == TS_EV_error) {
				uint32_t code = args[1].u;
				chaos_add(&stats->errors[code < TS_ERR_COUNT_ ? code : TS_ERR_COUNT_], 1);
				answer.error = (int)code;
				return answer;
			}
			if (hdr.opcode == TS_EV_done && args[0].u == sync_id && sync_id != 0) {
				answer.synced = true;
				return answer;
			}
			off += hdr.size;
		}
		if (rc < 0) {
			answer.bad = "a malformed event header";
			return answer;
		}
		memmove(buf, buf + off, used - off);
		used -= off;
	}
}
