#define _GNU_SOURCE
#include "misbehave.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	int fd = peer_connect(socket_path, PEER_BLOCKING);
	if (fd < 0) {
		mb_die(socket_path);
	}
	return fd;
}

size_t mb_encode(uint8_t *buf, uint16_t opcode, const union ts_arg *args) {
	size_t n = peer_encode(buf, TS_MAX_MESSAGE, opcode, args);
	if (n == 0) {
		fprintf(stderr, "%s: cannot encode request %u\n", program_invocation_short_name,
			opcode);
		exit(2);
	}
	return n;
}

bool mb_write(int fd, const void *buf, size_t len, const int *fds, unsigned nfds) {
	enum peer_write_result rc = peer_write(fd, buf, len, fds, nfds);
	if (rc == PEER_FAILED) {
		mb_die("sendmsg");
	}
	return rc == PEER_WRITTEN;
}

bool mb_send(int fd, uint16_t opcode, const union ts_arg *args) {
	uint8_t buf[TS_MAX_MESSAGE];
	return mb_write(fd, buf, mb_encode(buf, opcode, args), NULL, 0);
}

enum peer_status mb_next_event(struct peer *p, int timeout_ms, struct peer_event *ev) {
	enum peer_status rc = peer_next(p, timeout_ms, ev);
	if (rc == PEER_BAD) {
		fprintf(stderr, "%s: from the server: %s\n", program_invocation_short_name, p->bad);
		exit(2);
	}
	if (rc == PEER_EVENT && ev->hdr.opcode == TS_EV_error) {
		printf("error %s %u %s\n", ts_error_name(p->code), p->object, p->message);
		fflush(stdout);
	}
	return rc;
}

void mb_hello(struct peer *p, const char *name, int timeout_ms) {
	uint8_t buf[TS_MAX_MESSAGE];
	size_t n = peer_encode_hello(buf, sizeof buf, name);
	if (n == 0) {
		fprintf(stderr, "%s: cannot encode hello\n", program_invocation_short_name);
		exit(2);
	}
	if (!mb_write(p->fd, buf, n, NULL, 0)) {
		mb_finish(p, timeout_ms);
	}
	mb_wait_event(p, TS_EV_welcome, 0, timeout_ms);
}

// The next event before @deadline; a hang-up or the deadline ends the program with
// its line ("disconnected", exit 0; "timeout", exit 1).
static void next_or_exit(struct peer *p, long long deadline, struct peer_event *ev) {
	long long left = deadline - peer_now_ms();
	enum peer_status rc = mb_next_event(p, left > 0 ? (int)left : 0, ev);
	if (rc == PEER_HANGUP) {
		mb_say("disconnected");
		exit(0);
	}
	if (rc == PEER_TIMEOUT) {
		mb_say("timeout");
		exit(1);
	}
}

void mb_wait_event(struct peer *p, uint16_t opcode, uint32_t id, int timeout_ms) {
	long long deadline = peer_now_ms() + timeout_ms;
	for (;;) {
		struct peer_event ev;
		next_or_exit(p, deadline, &ev);
		// welcome names no object; the others name theirs first.
		if (ev.hdr.opcode == opcode && (opcode == TS_EV_welcome || ev.args[0].u == id)) {
			return;
		}
	}
}

void mb_finish(struct peer *p, int timeout_ms) {
	long long deadline = peer_now_ms() + timeout_ms;
	for (;;) {
		struct peer_event ev;
		next_or_exit(p, deadline, &ev);
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
