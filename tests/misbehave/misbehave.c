#define _GNU_SOURCE
#include "misbehave.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "connection.h"

static void usage(FILE *out, const char *help, const char *const *modes) {
	fprintf(out, "usage: %s --socket PATH%s [--count N] [--timeout-ms MS] [--hold]\n%s",
		program_invocation_short_name, modes != NULL ? " [--mode MODE]" : "", help);
	if (modes != NULL) {
		fprintf(out, "modes:");
		for (size_t i = 0; modes[i] != NULL; i++) {
			fprintf(out, " %s", modes[i]);
		}
		fprintf(out, "\n");
	}
}

static bool parse_number(const char *text, unsigned long max, unsigned long *out) {
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || v > max || text[0] == '-') {
		return false;
	}
	*out = v;
	return true;
}

void mb_parse(int argc, char *argv[], const char *help, const char *const *modes,
		unsigned long default_count, struct mb_options *opt) {
	*opt = (struct mb_options){ .count = default_count, .timeout_ms = 10000 };
	static const struct option long_options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	unsigned long v;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			opt->socket = optarg;
			break;
		case 'm':
			opt->mode = -1;
			for (int i = 0; modes != NULL && modes[i] != NULL; i++) {
				if (strcmp(optarg, modes[i]) == 0) {
					opt->mode = i;
				}
			}
			if (opt->mode < 0) {
				usage(stderr, help, modes);
				exit(2);
			}
			break;
		case 'c':
			if (!parse_number(optarg, 100000000ul, &opt->count)) {
				usage(stderr, help, modes);
				exit(2);
			}
			break;
		case 't':
			if (!parse_number(optarg, 600000ul, &v)) {
				usage(stderr, help, modes);
				exit(2);
			}
			opt->timeout_ms = (int)v;
			break;
		case 'H':
			opt->hold = true;
			break;
		case 'h':
			usage(stdout, help, modes);
			exit(0);
		default:
			usage(stderr, help, modes);
			exit(2);
		}
	}
	if (optind < argc || opt->socket == NULL) {
		usage(stderr, help, modes);
		exit(2);
	}
	// A test reads our lines as they come, through a pipe.
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void mb_say(const char *line) {
	printf("%s\n", line);
	fflush(stdout);
}

void mb_die(const char *what) {
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
	exit(2);
}

int mb_connect(const char *socket_path) {
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		mb_die(socket_path);
	}
	strcpy(addr.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mb_die("socket");
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		mb_die(socket_path);
	}
	return fd;
}

size_t mb_encode(uint8_t *buf, uint16_t opcode, const union ts_arg *args) {
	size_t n = ts_encode(buf, TS_MAX_MESSAGE, &ts_request_interface, opcode, args);
	if (n == 0) {
		fprintf(stderr, "%s: cannot encode request %u\n", program_invocation_short_name,
			opcode);
		exit(2);
	}
	return n;
}

bool mb_write(int fd, const void *buf, size_t len, const int *fds, unsigned nfds) {
	const uint8_t *p = buf;
	if (nfds > TS_SEND_MAX_FDS) {
		errno = EINVAL;
		mb_die("too many fds for one write");
	}
	while (len > 0 || nfds > 0) {
		ssize_t n = ts_send_fds(fd, p, len, fds, nfds, 0);
		if (n < 0) {
			if (errno == EPIPE || errno == ECONNRESET) {
				return false;
			}
			mb_die("sendmsg");
		}
		// The fds went with the first byte.
		nfds = 0;
		p += n;
		len -= (size_t)n;
		if (len == 0) {
			break;
		}
	}
	return true;
}

bool mb_send(int fd, uint16_t opcode, const union ts_arg *args) {
	uint8_t buf[TS_MAX_MESSAGE];
	size_t n = mb_encode(buf, opcode, args);
	return mb_write(fd, buf, n, NULL, 0);
}

void mb_reader_init(struct mb_reader *r, int fd) {
	r->fd = fd;
	r->start = r->end = 0;
}

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Reads once into the buffer. Returns 1 when bytes came, 0 on hang-up, -1 on timeout.
static int fill(struct mb_reader *r, long long deadline) {
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	for (;;) {
		int wait = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int rc = poll(&p, 1, wait);
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc < 0) {
			mb_die("poll");
		}
		if (rc == 0) {
			return -1;
		}
		union {
			char buf[CMSG_SPACE(sizeof(int) * 32)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = r->buf + r->end, .iov_len = sizeof r->buf - r->end };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			.msg_controllen = sizeof control.buf };
		ssize_t n = recvmsg(r->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		// A server that closes with our requests unread makes its close a reset.
		if (n < 0 && errno == ECONNRESET) {
			return 0;
		}
		if (n < 0) {
			mb_die("recvmsg");
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < count; i++) {
					int fd;
					memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
					close(fd);
				}
			}
		}
		if (n == 0) {
			return 0;
		}
		r->end += (size_t)n;
		return 1;
	}
}

enum mb_read mb_next_event(struct mb_reader *r, int timeout_ms, struct ts_header *hdr,
		union ts_arg *args) {
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		int rc = ts_header_read(r->buf + r->start, r->end - r->start, hdr);
		if (rc < 0) {
			fprintf(stderr, "%s: malformed event header from the server\n",
				program_invocation_short_name);
			exit(2);
		}
		if (rc == TS_HEADER_OK && hdr->size <= r->end - r->start) {
			break;
		}
		int got = fill(r, deadline);
		if (got <= 0) {
			return got == 0 ? MB_HANGUP : MB_TIMEOUT;
		}
	}
	// Fds were closed as they came: decode as if each 'h' field were -1.
	int fds[TS_MAX_FDS_PER_MESSAGE] = { -1, -1, -1, -1 };
	const char *why = "";
	if (ts_decode(&ts_event_interface, r->buf + r->start, hdr, fds, args, &why) != 0) {
		fprintf(stderr, "%s: malformed event from the server: %s\n",
			program_invocation_short_name, why);
		exit(2);
	}
	r->start += hdr->size;
	if (hdr->opcode == TS_EV_error) {
		printf("error %s %u %s\n", ts_error_name(args[1].u), args[0].u, args[2].s);
		fflush(stdout);
	}
	return MB_EVENT;
}

void mb_hello(struct mb_reader *r, const char *name, int timeout_ms) {
	if (!mb_send(r->fd, TS_REQ_hello, (union ts_arg[]){ { .u = 1 }, { .s = name } })) {
		mb_finish(r, timeout_ms);
	}
	mb_wait_event(r, TS_EV_welcome, 0, timeout_ms);
}

// The next event before @deadline; a hang-up or the deadline ends the program with
// its line ("disconnected", exit 0; "timeout", exit 1).
static void next_or_exit(struct mb_reader *r, long long deadline, struct ts_header *hdr,
		union ts_arg *args) {
	long long left = deadline - now_ms();
	enum mb_read rc = mb_next_event(r, left > 0 ? (int)left : 0, hdr, args);
	if (rc == MB_HANGUP) {
		mb_say("disconnected");
		exit(0);
	}
	if (rc == MB_TIMEOUT) {
		mb_say("timeout");
		exit(1);
	}
}

void mb_wait_event(struct mb_reader *r, uint16_t opcode, uint32_t id, int timeout_ms) {
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		next_or_exit(r, deadline, &hdr, args);
		// welcome names no object; the others name theirs first.
		if (hdr.opcode == opcode && (opcode == TS_EV_welcome || args[0].u == id)) {
			return;
		}
	}
}

void mb_finish(struct mb_reader *r, int timeout_ms) {
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		next_or_exit(r, deadline, &hdr, args);
	}
}

void mb_hold(const struct mb_options *opt) {
	if (!opt->hold) {
		return;
	}
	char byte;
	ssize_t n;
	do {
		n = read(STDIN_FILENO, &byte, 1);
	} while (n > 0 || (n < 0 && errno == EINTR));
}
