/*
 * Unit tests of the buffered connection over a real socketpair: round trips, partial
 * writes, buffer growth and shrinking, the out-buffer limit, fd passing and every way
 * a hostile peer can get fds wrong (forged with raw sendmsg), EOF, and fd leaks.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connection.h"

#define BIG_LIMIT (1u << 20)

// Open fds of this process, not counting the one used to list them.
static int count_fds(void) {
	DIR *dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(dir)) {
			n++;
		}
	}
	closedir(dir);
	return n;
}

static bool fd_is_open(int fd) {
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void make_pair(int sv[2]) {
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

// A memfd holding @text.
static int make_memfd(const char *text) {
	int fd = memfd_create("test-connection", MFD_CLOEXEC);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

static void write_all(int fd, const void *data, size_t len) {
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

// Sends @len bytes with @nfds fds attached, as a hostile peer would.
static void send_with_fds(int sock, const void *data, size_t len, const int *fds, unsigned nfds) {
	assert_int_equal(ts_send_fds(sock, data, len, fds, nfds, 0), (ssize_t)len);
}

static size_t encode(uint8_t *buf, size_t cap, const struct ts_interface *iface,
		uint16_t opcode, const union ts_arg *args) {
	size_t size = ts_encode(buf, cap, iface, opcode, args);
	assert_int_not_equal(size, 0);
	return size;
}

// Reads until a whole message (or an error) is there; fails if the socket runs dry.
static int receive(struct ts_connection *conn, const struct ts_interface *iface,
		struct ts_header *hdr, union ts_arg *args) {
	const char *why = NULL;
	for (;;) {
		int rc = ts_connection_next(conn, iface, hdr, args, &why);
		if (rc != 0) {
			if (rc < 0) {
				assert_non_null(why);
			}
			return rc;
		}
		rc = ts_connection_read(conn);
		if (rc != TS_IO_OK) {
			fail_msg("ts_connection_read returned %d with no whole message", rc);
		}
	}
}

static void name_for(unsigned i, char *name, size_t cap) {
	size_t len = (i * 37) % (cap - 1);
	for (size_t j = 0; j < len; j++) {
		name[j] = (char)('a' + (i + j) % 26);
	}
	name[len] = '\0';
}

static void test_round_trip_many(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection a, b;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	assert_int_equal(a.out.cap, 0);
	assert_false(ts_connection_has_output(&a));

	enum { N = 400 };
	char name[300];
	size_t total = 0;
	for (unsigned i = 0; i < N; i++) {
		union ts_arg args[TS_MAX_ARGS];
		if (i % 3 == 0) {
			name_for(i, name, sizeof name);
			args[0].u = i + 1; args[1].u = i; args[2].u = 1000 + i; args[3].u = i * 2;
			args[4].u = i * 3; args[5].u = i * 5; args[6].u = i * 7; args[7].s = name;
			assert_int_equal(ts_connection_queue(&a, &ts_event_interface,
				TS_EV_client_info, args), 0);
			total += ts_encoded_size(&ts_event_interface, TS_EV_client_info, args);
		} else {
			args[0].u = i + 1; args[1].u = 0xdead0000u + i;
			assert_int_equal(ts_connection_queue(&a, &ts_event_interface, TS_EV_done, args), 0);
			total += 16;
		}
	}
	assert_true(ts_connection_has_output(&a));
	assert_int_equal(a.out.end - a.out.start, total);
	assert_true(a.out.cap > TS_BUFFER_MIN);
	assert_int_equal(ts_connection_flush(&a), TS_IO_OK);
	assert_false(ts_connection_has_output(&a));
	assert_int_equal(a.out.cap, TS_BUFFER_MIN);

	size_t max_in_cap = 0;
	for (unsigned got = 0; got < N; got++) {
		struct ts_header hdr;
		union ts_arg args[TS_MAX_ARGS];
		assert_int_equal(receive(&b, &ts_event_interface, &hdr, args), 1);
		max_in_cap = b.in.cap > max_in_cap ? b.in.cap : max_in_cap;
		assert_int_equal(args[0].u, got + 1);
		if (got % 3 == 0) {
			assert_int_equal(hdr.opcode, TS_EV_client_info);
			name_for(got, name, sizeof name);
			assert_int_equal(args[1].u, got);
			assert_int_equal(args[2].u, 1000 + got);
			assert_int_equal(args[3].u, got * 2);
			assert_int_equal(args[4].u, got * 3);
			assert_int_equal(args[5].u, got * 5);
			assert_int_equal(args[6].u, got * 7);
			assert_string_equal(args[7].s, name);
		} else {
			assert_int_equal(hdr.opcode, TS_EV_done);
			assert_int_equal(args[1].u, 0xdead0000u + got);
		}
		ts_connection_consume(&b, hdr.size);
	}
	assert_true(max_in_cap > TS_BUFFER_MIN);
	assert_int_equal(ts_connection_pending_input(&b), 0);
	assert_int_equal(b.in.cap, TS_BUFFER_MIN);
	assert_int_equal(ts_connection_read(&b), TS_IO_AGAIN);

	ts_connection_finish(&a);
	ts_connection_finish(&b);
	assert_int_equal(a.fd, -1);
	assert_null(a.out.data);
}

static void test_split_message(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);

	uint8_t buf[512];
	union ts_arg args[TS_MAX_ARGS] = { { .u = 7 }, { .u = 2 }, { .u = 99 }, { .u = 3 },
		{ .u = 4 }, { .u = 5 }, { .u = 6 }, { .s = "a name long enough to split" } };
	size_t size = encode(buf, sizeof buf, &ts_event_interface, TS_EV_client_info, args);
	args[0].u = 8; args[1].u = 55;
	size_t size2 = encode(buf + size, sizeof buf - size, &ts_event_interface, TS_EV_done, args);

	// Header in pieces, then the body in pieces, then the end with half the next one.
	static const size_t cuts[] = { 3, 7, 8, 13, 20 };
	size_t sent = 0;
	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		write_all(sv[0], buf + sent, cuts[i] - sent);
		sent = cuts[i];
		assert_int_equal(ts_connection_read(&b), TS_IO_OK);
		assert_int_equal(ts_connection_pending_input(&b), sent);
		assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 0);
	}
	write_all(sv[0], buf + sent, size + 5 - sent);
	sent = size + 5;
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 1);
	assert_int_equal(hdr.opcode, TS_EV_client_info);
	assert_int_equal(hdr.size, size);
	assert_int_equal(out[0].u, 7);
	assert_int_equal(out[2].u, 99);
	assert_string_equal(out[7].s, "a name long enough to split");
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(ts_connection_pending_input(&b), 5);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 0);

	write_all(sv[0], buf + sent, size + size2 - sent);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 1);
	assert_int_equal(hdr.opcode, TS_EV_done);
	assert_int_equal(out[0].u, 8);
	assert_int_equal(out[1].u, 55);
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(ts_connection_pending_input(&b), 0);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 0);

	ts_connection_finish(&b);
	close(sv[0]);
}

// A whole TS_MAX_MESSAGE message fits an in-buffer at its smallest limit, even when
// it arrives behind another message (the buffer compacts instead of stalling).
static void test_max_message_at_in_limit(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], 0, 0);
	assert_int_equal(b.in.limit, TS_MAX_MESSAGE);

	static uint8_t buf[16 + TS_MAX_MESSAGE];
	union ts_arg args[TS_MAX_ARGS] = { { .u = 1 }, { .u = 2 } };
	encode(buf, sizeof buf, &ts_event_interface, TS_EV_done, args);
	// A forged maximum-size done: its header is valid, its body far too long.
	ts_put_u32(buf + 16, TS_MAX_MESSAGE);
	ts_put_u32(buf + 20, TS_EV_done);
	ts_put_u32(buf + 24, 77);

	write_all(sv[0], buf, 16 + 4000);
	while (ts_connection_pending_input(&b) < 16 + 4000) {
		assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	}
	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 1);
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 0);
	write_all(sv[0], buf + 16 + 4000, TS_MAX_MESSAGE - 4000);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_pending_input(&b), TS_MAX_MESSAGE);
	assert_true(b.in.cap <= TS_MAX_MESSAGE);
	// Complete, so it is decoded, and rejected for its length.
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why),
		-TS_ERR_invalid_message);
	assert_int_equal(hdr.size, TS_MAX_MESSAGE);
	// The buffer is full: nothing more is read.
	write_all(sv[0], buf, 16);
	assert_int_equal(ts_connection_read(&b), TS_IO_AGAIN);

	ts_connection_finish(&b);
	close(sv[0]);
}

// Queues done(1, serial) events with consecutive serials until the out-buffer
// refuses one; returns how many were taken.
static uint32_t queue_until_full(struct ts_connection *a, uint32_t *serial) {
	uint32_t taken = 0;
	union ts_arg args[TS_MAX_ARGS] = { { .u = 1 }, { .u = *serial } };
	while (ts_connection_queue(a, &ts_event_interface, TS_EV_done, args) == 0) {
		args[1].u = ++*serial;
		taken++;
	}
	return taken;
}

// Flushes @a and reads @b until @b has a whole message (which the caller consumes).
static void pump_next(struct ts_connection *a, struct ts_connection *b,
		const struct ts_interface *iface, struct ts_header *hdr, union ts_arg *out) {
	const char *why = NULL;
	int rc;
	for (unsigned rounds = 0; (rc = ts_connection_next(b, iface, hdr, out,
			&why)) != 1; rounds++) {
		assert_int_equal(rc, 0);
		assert_true(rounds < 100000);
		rc = ts_connection_flush(a);
		assert_true(rc == TS_IO_OK || rc == TS_IO_AGAIN);
		rc = ts_connection_read(b);
		assert_true(rc == TS_IO_OK || rc == TS_IO_AGAIN);
	}
}

static void test_out_limit_and_backpressure(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection a, b;
	const size_t limit = 8192;
	ts_connection_init(&a, sv[0], BIG_LIMIT, limit);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);

	// Without flushing, exactly limit / 16 done events fit.
	uint32_t queued = 0;
	assert_int_equal(queue_until_full(&a, &queued), limit / 16);
	assert_int_equal(a.out.end - a.out.start, limit);

	// Fill the socket while the peer is not reading, until flush would block.
	int rc;
	unsigned rounds = 0;
	while ((rc = ts_connection_flush(&a)) == TS_IO_OK) {
		assert_true(++rounds < 10000);
		queue_until_full(&a, &queued);
	}
	assert_int_equal(rc, TS_IO_AGAIN);
	assert_true(ts_connection_has_output(&a));
	// Top up the out-buffer to its limit; the next message would pass it.
	queue_until_full(&a, &queued);
	size_t pending = a.out.end - a.out.start;
	assert_true(pending <= limit && pending + 16 > limit);
	assert_true(a.out.cap <= limit);

	// A failed queue still takes ownership of the fds: they are closed.
	int fd = make_memfd("x");
	union ts_arg shot[TS_MAX_ARGS] = { { .u = 1 }, { .h = fd } };
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), -1);
	assert_false(fd_is_open(fd));
	assert_int_equal(a.nfds_out, 0);

	// The peer drains; every message arrives once, in order.
	for (uint32_t got = 0; got < queued; got++) {
		struct ts_header hdr;
		union ts_arg out[TS_MAX_ARGS];
		pump_next(&a, &b, &ts_event_interface, &hdr, out);
		assert_int_equal(hdr.opcode, TS_EV_done);
		assert_int_equal(out[1].u, got);
		ts_connection_consume(&b, hdr.size);
	}
	assert_int_equal(ts_connection_flush(&a), TS_IO_OK);
	assert_false(ts_connection_has_output(&a));
	assert_int_equal(a.out.cap, TS_BUFFER_MIN);
	assert_int_equal(ts_connection_read(&b), TS_IO_AGAIN);

	ts_connection_finish(&a);
	ts_connection_finish(&b);
}

// An fd queued while the socket is full stays queued (open, not lost) until its
// message can go, and then arrives with it.
static void test_fd_survives_backpressure(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection a, b;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	uint32_t queued = 0;
	unsigned rounds = 0;
	union ts_arg args[TS_MAX_ARGS] = { { .u = 1 } };
	do {
		assert_true(++rounds < 10000);
		for (int i = 0; i < 256; i++) {
			args[1].u = queued++;
			assert_int_equal(ts_connection_queue(&a, &ts_request_interface,
				TS_REQ_rect_set_color, args), 0);
		}
	} while (ts_connection_flush(&a) == TS_IO_OK);

	int fd = make_memfd("late");
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	union ts_arg shot[TS_MAX_ARGS] = { { .u = 2 }, { .h = fd } };
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), 0);
	assert_int_equal(ts_connection_flush(&a), TS_IO_AGAIN);
	assert_int_equal(a.nfds_out, 1);
	assert_true(fd_is_open(fd));

	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	for (uint32_t got = 0; got < queued; got++) {
		pump_next(&a, &b, &ts_request_interface, &hdr, out);
		assert_int_equal(hdr.opcode, TS_REQ_rect_set_color);
		assert_int_equal(out[1].u, got);
		ts_connection_consume(&b, hdr.size);
	}
	pump_next(&a, &b, &ts_request_interface, &hdr, out);
	assert_int_equal(hdr.opcode, TS_REQ_screenshot);
	assert_int_equal(out[0].u, 2);
	ts_connection_consume(&b, hdr.size);
	// The sender's copy is closed (the received one may reuse its number).
	assert_int_equal(a.nfds_out, 0);
	assert_int_equal(count_fds(), base + 2 + 1);
	struct stat rs;
	assert_int_equal(fstat(out[1].h, &rs), 0);
	assert_int_equal(rs.st_ino, st.st_ino);
	close(out[1].h);
	ts_connection_finish(&a);
	ts_connection_finish(&b);
	assert_int_equal(count_fds(), base);
}

static void test_fd_passing(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection a, b;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);

	int fd1 = make_memfd("first pixels");
	int fd2 = make_memfd("second");
	struct stat st1, st2;
	assert_int_equal(fstat(fd1, &st1), 0);
	assert_int_equal(fstat(fd2, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);

	union ts_arg shot[TS_MAX_ARGS] = { { .u = 3 }, { .h = fd1 } };
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), 0);
	union ts_arg done[TS_MAX_ARGS] = { { .u = 4 }, { .u = 5 } };
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_rect_set_color, done), 0);
	shot[0].u = 6;
	shot[1].h = fd2;
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), 0);
	assert_int_equal(a.nfds_out, 2);
	assert_int_equal(ts_connection_flush(&a), TS_IO_OK);
	// The sender's copies went with the message.
	assert_int_equal(a.nfds_out, 0);
	assert_false(fd_is_open(fd1));
	assert_false(fd_is_open(fd2));

	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	assert_int_equal(receive(&b, &ts_request_interface, &hdr, out), 1);
	assert_int_equal(hdr.opcode, TS_REQ_screenshot);
	assert_int_equal(hdr.nfds, 1);
	assert_int_equal(out[0].u, 3);
	int r1 = out[1].h;
	ts_connection_consume(&b, hdr.size);
	// The second fd comes with its own message, not with the first one.
	assert_int_equal(b.nfds_in, 0);
	assert_int_equal(receive(&b, &ts_request_interface, &hdr, out), 1);
	assert_int_equal(hdr.opcode, TS_REQ_rect_set_color);
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(receive(&b, &ts_request_interface, &hdr, out), 1);
	assert_int_equal(hdr.opcode, TS_REQ_screenshot);
	assert_int_equal(out[0].u, 6);
	int r2 = out[1].h;
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(b.nfds_in, 0);

	// The fds refer to the same files, in order, and are close-on-exec.
	struct stat rs;
	assert_int_equal(fstat(r1, &rs), 0);
	assert_int_equal(rs.st_ino, st1.st_ino);
	assert_int_equal(rs.st_dev, st1.st_dev);
	assert_int_equal(fstat(r2, &rs), 0);
	assert_int_equal(rs.st_ino, st2.st_ino);
	char text[32] = { 0 };
	assert_int_equal(pread(r1, text, sizeof text - 1, 0), 12);
	assert_string_equal(text, "first pixels");
	assert_true(fcntl(r1, F_GETFD) & FD_CLOEXEC);

	// The message's fds belong to the caller: finish does not close them.
	ts_connection_finish(&a);
	ts_connection_finish(&b);
	assert_true(fd_is_open(r1));
	assert_true(fd_is_open(r2));
	close(r1);
	close(r2);
	assert_int_equal(count_fds(), base);
}

// One recvmsg of at most @len bytes; returns how many fds came with it (closing them).
static unsigned recv_counting_fds(int sock, size_t len, size_t *got) {
	uint8_t data[4096];
	union {
		char buf[CMSG_SPACE(sizeof(int) * TS_CONNECTION_MAX_FDS)];
		struct cmsghdr align;
	} control;
	assert_true(len <= sizeof data);
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
		.msg_controllen = sizeof control.buf };
	ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	assert_true(n > 0);
	*got = (size_t)n;
	unsigned count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
			close(fd);
			count++;
		}
	}
	return count;
}

// Fds go with the first byte of their own message, not with the first byte of all that
// one flush sends. A reader that stops right after the messages before it must not have
// them yet: it could not tell them from fds that no message claims (bad_fds).
static void test_fds_go_with_their_message(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection a;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	union ts_arg color[TS_MAX_ARGS] = { { .u = 1 }, { .u = 2 } };
	size_t color_size = ts_request_interface.meta[TS_REQ_rect_set_color].size;
	size_t shot_size = ts_request_interface.meta[TS_REQ_screenshot].size;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(ts_connection_queue(&a, &ts_request_interface,
			TS_REQ_rect_set_color, color), 0);
	}
	union ts_arg shot[TS_MAX_ARGS] = { { .u = 3 }, { .h = make_memfd("one") } };
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), 0);
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_rect_set_color,
		color), 0);
	shot[0].u = 4;
	shot[1].h = make_memfd("two");
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), 0);
	assert_int_equal(ts_connection_flush(&a), TS_IO_OK);

	size_t got;
	assert_int_equal(recv_counting_fds(sv[1], 10 * color_size, &got), 0);
	assert_int_equal(got, 10 * color_size);
	// The first screenshot's fd comes with its first byte; the second's, not before its own.
	assert_int_equal(recv_counting_fds(sv[1], 4, &got), 1);
	assert_int_equal(recv_counting_fds(sv[1], shot_size - 4 + color_size, &got), 0);
	assert_int_equal(got, shot_size - 4 + color_size);
	assert_int_equal(recv_counting_fds(sv[1], shot_size, &got), 1);
	assert_int_equal(got, shot_size);

	ts_connection_finish(&a);
	close(sv[1]);
	assert_int_equal(count_fds(), base);
}

static void test_fds_missing_or_unexpected(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	uint8_t buf[64];
	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;

	// screenshot claiming its fd, sent without any.
	union ts_arg shot[TS_MAX_ARGS] = { { .u = 3 }, { .h = -1 } };
	size_t size = encode(buf, sizeof buf, &ts_request_interface, TS_REQ_screenshot, shot);
	write_all(sv[0], buf, size);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why),
		-TS_ERR_bad_fds);
	assert_non_null(why);
	ts_connection_finish(&b);
	close(sv[0]);
	assert_int_equal(count_fds(), base);

	// commit claiming one fd and sending it: the message takes none.
	make_pair(sv);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	size = encode(buf, sizeof buf, &ts_request_interface, TS_REQ_commit, shot);
	buf[6] = 1;
	int fd = make_memfd("stray");
	send_with_fds(sv[0], buf, size, &fd, 1);
	close(fd);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(b.nfds_in, 1);
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why),
		-TS_ERR_bad_fds);
	// The fd stays queued and is closed by finish.
	assert_int_equal(b.nfds_in, 1);
	assert_int_equal(count_fds(), base + 3);
	ts_connection_finish(&b);
	close(sv[0]);
	assert_int_equal(count_fds(), base);
}

// Sends a commit request with @n fresh memfds attached, then closes the sender's copies.
static void send_commit_with_memfds(int sock, unsigned n) {
	int fds[64];
	assert_true(n <= 64);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = make_memfd("f");
	}
	uint8_t buf[16];
	size_t size = encode(buf, sizeof buf, &ts_request_interface, TS_REQ_commit, NULL);
	send_with_fds(sock, buf, size, fds, n);
	for (unsigned i = 0; i < n; i++) {
		close(fds[i]);
	}
}

static void test_too_many_fds_in_one_sendmsg(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);

	send_commit_with_memfds(sv[0], TS_CONNECTION_MAX_FDS + 6);
	assert_int_equal(count_fds(), base + 2);
	assert_int_equal(ts_connection_read(&b), TS_IO_TOO_MANY_FDS);
	// The queue's worth were kept; the rest are gone, not leaked.
	assert_int_equal(b.nfds_in, TS_CONNECTION_MAX_FDS);
	assert_int_equal(count_fds(), base + 2 + TS_CONNECTION_MAX_FDS);
	ts_connection_finish(&b);
	close(sv[0]);
	assert_int_equal(count_fds(), base);
}

static void test_too_many_fds_accumulated(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);

	send_commit_with_memfds(sv[0], 20);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(b.nfds_in, 20);
	// Ten more: eight fit the queue, two are closed.
	send_commit_with_memfds(sv[0], 10);
	assert_int_equal(ts_connection_read(&b), TS_IO_TOO_MANY_FDS);
	assert_int_equal(b.nfds_in, TS_CONNECTION_MAX_FDS);
	assert_int_equal(count_fds(), base + 2 + TS_CONNECTION_MAX_FDS);
	ts_connection_finish(&b);
	close(sv[0]);
	assert_int_equal(count_fds(), base);
}

static void test_queue_rejections(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection a;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);

	union ts_arg args[TS_MAX_ARGS] = { { .u = 1 }, { .s = NULL } };
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_hello, args), -1);
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_COUNT_, args), -1);
	assert_int_equal(ts_connection_queue(&a, &ts_event_interface, 0xffff, args), -1);
	assert_false(ts_connection_has_output(&a));

	// The fd queue holds TS_CONNECTION_MAX_FDS; one more is refused and closed.
	union ts_arg shot[TS_MAX_ARGS] = { { .u = 1 } };
	for (int i = 0; i < TS_CONNECTION_MAX_FDS; i++) {
		shot[1].h = make_memfd("q");
		assert_int_equal(ts_connection_queue(&a, &ts_request_interface,
			TS_REQ_screenshot, shot), 0);
	}
	assert_int_equal(a.nfds_out, TS_CONNECTION_MAX_FDS);
	shot[1].h = make_memfd("one too many");
	int extra = shot[1].h;
	assert_int_equal(ts_connection_queue(&a, &ts_request_interface, TS_REQ_screenshot, shot), -1);
	assert_false(fd_is_open(extra));
	assert_int_equal(a.nfds_out, TS_CONNECTION_MAX_FDS);
	assert_int_equal(count_fds(), base + 2 + TS_CONNECTION_MAX_FDS);

	// Finish closes every queued fd that was never sent.
	ts_connection_finish(&a);
	close(sv[1]);
	assert_int_equal(count_fds(), base);
}

static void test_finish_closes_fds(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection a, b;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);

	union ts_arg shot[TS_MAX_ARGS] = { { .u = 1 } };
	for (int i = 0; i < 5; i++) {
		shot[1].h = make_memfd("p");
		assert_int_equal(ts_connection_queue(&a, &ts_request_interface,
			TS_REQ_screenshot, shot), 0);
		if (i == 1) {
			assert_int_equal(ts_connection_flush(&a), TS_IO_OK);
		}
	}
	// Two fds in flight (in no process's table), three queued unsent.
	assert_int_equal(count_fds(), base + 2 + 3);
	// Once read, the two are queued unclaimed on the receiver. Each comes with its own
	// message, and a read may stop after the first.
	for (int reads = 0; reads < 2 && b.nfds_in < 2; reads++) {
		assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	}
	assert_int_equal(b.nfds_in, 2);
	assert_int_equal(a.nfds_out, 3);
	assert_int_equal(count_fds(), base + 2 + 2 + 3);
	ts_connection_finish(&a);
	ts_connection_finish(&b);
	assert_int_equal(count_fds(), base);
}

static void test_eof(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;

	// Nothing read yet: no message, nothing to read.
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 0);
	assert_int_equal(ts_connection_read(&b), TS_IO_AGAIN);

	// A last message, then the hang-up.
	uint8_t buf[16];
	union ts_arg args[TS_MAX_ARGS] = { { .u = 9 }, { .u = 0 } };
	size_t size = encode(buf, sizeof buf, &ts_event_interface, TS_EV_done, args);
	write_all(sv[0], buf, size);
	write_all(sv[0], buf, 5);
	close(sv[0]);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 1);
	assert_int_equal(out[0].u, 9);
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(ts_connection_next(&b, &ts_event_interface, &hdr, out, &why), 0);
	assert_int_equal(ts_connection_read(&b), TS_IO_EOF);
	assert_int_equal(ts_connection_read(&b), TS_IO_EOF);
	ts_connection_finish(&b);

	// Flushing to a closed peer is EOF, not SIGPIPE.
	make_pair(sv);
	struct ts_connection a;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	close(sv[1]);
	assert_int_equal(ts_connection_queue(&a, &ts_event_interface, TS_EV_done, args), 0);
	assert_int_equal(ts_connection_flush(&a), TS_IO_EOF);
	ts_connection_finish(&a);
}

static void test_malformed_input(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;

	// A header claiming 4 GiB is refused before waiting for the body.
	uint8_t buf[16] = { 0 };
	ts_put_u32(buf, 0xffffffffu);
	write_all(sv[0], buf, 8);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why),
		-TS_ERR_invalid_message);
	assert_non_null(why);
	ts_connection_finish(&b);
	close(sv[0]);

	make_pair(sv);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	ts_put_u32(buf, 8);
	ts_put_u32(buf + 4, 500);
	write_all(sv[0], buf, 8);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why),
		-TS_ERR_unknown_opcode);
	ts_connection_finish(&b);
	close(sv[0]);
}

// Arguments for message @op of @iface, distinct per field and per @seed; 'h' fields get
// a fresh memfd (the caller owns it), strings point at @name.
static void fill_args(const struct ts_interface *iface, uint16_t op, unsigned seed,
		const char *name, union ts_arg *args) {
	const char *sig = iface->messages[op].signature;
	for (unsigned k = 0; sig[k]; k++) {
		switch (sig[k]) {
		case 'n':
		case 'o':
			args[k].u = 1 + k + seed;
			break;
		case 'i':
			args[k].i = -(int32_t)(k * 1000 + seed);
			break;
		case 's':
			args[k].s = name;
			break;
		case 'a': {
			// @seed whole elements of the field's size (4 bytes where it says none).
			static const uint8_t bytes[64] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
			const struct ts_arg_desc *desc = iface->messages[op].args;
			uint32_t elem = desc != NULL && desc[k].elem_size > 0 ? desc[k].elem_size : 4;
			args[k].a = (struct ts_array){ .data = bytes, .size = seed * elem };
			break;
		}
		case 'h':
			args[k].h = make_memfd("h");
			break;
		default:
			args[k].u = 0xabcd0000u + k * 256 + seed;
			break;
		}
	}
}

// Every message queued (fast path for plain ones, the general one for the others) is
// byte for byte what ts_encode makes, and reads back through ts_connection_next with
// its fields.
static void test_queue_matches_encode(void **state) {
	int base = count_fds();
	int sv[2];
	make_pair(sv);
	struct ts_connection a, b;
	ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	static const struct ts_interface *const ifaces[] = {
		&ts_request_interface, &ts_event_interface,
	};
	static uint8_t expect[64 * TS_MAX_MESSAGE];
	size_t expect_len = 0;
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			for (unsigned seed = 0; seed < 3; seed++) {
				union ts_arg args[TS_MAX_ARGS];
				fill_args(iface, op, seed, "seven", args);
				size_t size = encode(expect + expect_len, sizeof expect - expect_len, iface,
					op, args);
				expect_len += size;
				assert_int_equal(ts_connection_queue(&a, iface, op, args), 0);
				assert_int_equal(a.out.end - a.out.start, expect_len);
			}
		}
	}
	assert_memory_equal(a.out.data + a.out.start, expect, expect_len);
	assert_int_equal(ts_connection_flush(&a), TS_IO_OK);

	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			const char *sig = iface->messages[op].signature;
			for (unsigned seed = 0; seed < 3; seed++) {
				struct ts_header hdr;
				union ts_arg out[TS_MAX_ARGS], in[TS_MAX_ARGS];
				assert_int_equal(receive(&b, iface, &hdr, out), 1);
				assert_int_equal(hdr.opcode, op);
				fill_args(iface, op, seed, "seven", in);
				for (unsigned k = 0; sig[k]; k++) {
					if (sig[k] == 's') {
						assert_string_equal(out[k].s, "seven");
					} else if (sig[k] == 'a') {
						assert_int_equal(out[k].a.size, in[k].a.size);
						assert_memory_equal(out[k].a.data, in[k].a.data, in[k].a.size);
					} else if (sig[k] == 'h') {
						assert_true(fd_is_open(out[k].h));
						close(out[k].h);
						close(in[k].h);
					} else {
						assert_int_equal(out[k].u, in[k].u);
					}
				}
				ts_connection_consume(&b, hdr.size);
			}
		}
	}
	assert_int_equal(ts_connection_pending_input(&b), 0);
	ts_connection_finish(&a);
	ts_connection_finish(&b);
	assert_int_equal(count_fds(), base);
}

// ts_connection_next takes the fast path for plain messages of the right size and
// ts_decode for the rest: both give what ts_decode alone gives, for every plain
// message with the wrong number of words, ids out of range, or both.
static void test_decode_paths_agree(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	static const struct ts_interface *const ifaces[] = {
		&ts_request_interface, &ts_event_interface,
	};
	static const uint32_t id_values[] = { 1, 0, TS_MAX_ID, TS_MAX_ID + 1 };
	unsigned cases = 0, errors = 0;
	for (size_t t = 0; t < 2; t++) {
		const struct ts_interface *iface = ifaces[t];
		for (uint16_t op = 0; op < iface->count; op++) {
			if (!iface->meta[op].plain) {
				continue;
			}
			size_t n = strlen(iface->messages[op].signature);
			for (size_t words = n > 0 ? n - 1 : 0; words <= n + 2; words++) {
				for (size_t v = 0; v < 4 * 4; v++) {
					uint8_t msg[TS_HEADER_SIZE + 4 * (TS_MAX_ARGS + 2)];
					uint32_t size = (uint32_t)(TS_HEADER_SIZE + 4 * words);
					ts_put_u32(msg, size);
					ts_put_u32(msg + 4, op);
					// The first two words take every pair of id values; ids or not,
					// depending on the message.
					for (size_t k = 0; k < words; k++) {
						uint32_t w = k < 2 ? id_values[k == 0 ? v % 4 : v / 4] : 7;
						ts_put_u32(msg + TS_HEADER_SIZE + 4 * k, w);
					}
					write_all(sv[0], msg, size);
					assert_int_equal(ts_connection_read(&b), TS_IO_OK);

					struct ts_header hdr, whole;
					union ts_arg via_conn[TS_MAX_ARGS], direct[TS_MAX_ARGS];
					const char *why = NULL, *why2 = NULL;
					int rc = ts_connection_next(&b, iface, &hdr, via_conn, &why);
					assert_int_equal(ts_header_read(msg, size, &whole), TS_HEADER_OK);
					int expect = ts_decode(iface, msg, &whole, NULL, direct, &why2);
					assert_int_equal(rc, expect == 0 ? 1 : -expect);
					if (expect == 0) {
						for (size_t k = 0; k < n; k++) {
							assert_int_equal(via_conn[k].u, direct[k].u);
						}
					} else {
						assert_string_equal(why, why2);
						errors++;
					}
					ts_connection_consume(&b, size);
					cases++;
				}
			}
		}
	}
	assert_true(cases > 300);
	assert_true(errors > cases / 2 && errors < cases);
	ts_connection_finish(&b);
	close(sv[0]);
}

// A burst of small messages is read up to 64 KiB at a time (within the in-limit), and
// messages cut by a read boundary come out whole, in order.
static void test_large_reads(void **state) {
	// Once with room for every read, once with the server's 64 KiB in-limit.
	static const size_t in_limits[] = { BIG_LIMIT, 64u << 10 };
	for (size_t l = 0; l < 2; l++) {
		size_t in_limit = in_limits[l];
		int sv[2];
		make_pair(sv);
		int one_mib = 1 << 20;
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one_mib, sizeof one_mib), 0);
		struct ts_connection a, b;
		ts_connection_init(&a, sv[0], BIG_LIMIT, BIG_LIMIT);
		ts_connection_init(&b, sv[1], in_limit, BIG_LIMIT);
		enum { N = 20000 };
		for (uint32_t i = 0; i < N; i++) {
			union ts_arg args[TS_MAX_ARGS] = { { .u = 1 + i % 1000 }, { .i = (int32_t)i },
				{ .i = -(int32_t)i } };
			if (i % 7 == 6) {
				args[1].s = i % 2 ? "odd" : "an even name";
				assert_int_equal(ts_connection_queue(&a, &ts_request_interface,
					TS_REQ_hello, args), 0);
			} else {
				assert_int_equal(ts_connection_queue(&a, &ts_request_interface,
					TS_REQ_node_set_position, args), 0);
			}
		}
		size_t total = a.out.end - a.out.start;
		assert_true(total > 4 * 65536);
		size_t got_bytes = 0;
		unsigned reads = 0, rounds = 0;
		uint32_t got = 0;
		while (got < N) {
			assert_true(++rounds < 1000000);
			int rc = ts_connection_flush(&a);
			assert_true(rc == TS_IO_OK || rc == TS_IO_AGAIN);
			size_t before = ts_connection_pending_input(&b);
			rc = ts_connection_read(&b);
			if (rc == TS_IO_AGAIN) {
				continue;
			}
			assert_int_equal(rc, TS_IO_OK);
			size_t read = ts_connection_pending_input(&b) - before;
			assert_true(read <= 65536);
			assert_true(b.in.cap <= in_limit);
			if (reads++ == 0) {
				// The socket held far more than a read takes: the first read took
				// all it asks for at once.
				assert_int_equal(read, 65536);
			}
			got_bytes += read;
			struct ts_header hdr;
			union ts_arg out[TS_MAX_ARGS];
			const char *why = NULL;
			while ((rc = ts_connection_next(&b, &ts_request_interface, &hdr, out, &why)) == 1) {
				assert_int_equal(out[0].u, 1 + got % 1000);
				if (got % 7 == 6) {
					assert_int_equal(hdr.opcode, TS_REQ_hello);
					assert_string_equal(out[1].s, got % 2 ? "odd" : "an even name");
				} else {
					assert_int_equal(hdr.opcode, TS_REQ_node_set_position);
					assert_int_equal(out[1].i, (int32_t)got);
					assert_int_equal(out[2].i, -(int32_t)got);
				}
				ts_connection_consume(&b, hdr.size);
				got++;
			}
			assert_int_equal(rc, 0);
		}
		assert_int_equal(got_bytes, total);
		assert_true(reads < total / 4096);
		assert_int_equal(ts_connection_pending_input(&b), 0);
		assert_int_equal(b.in.cap, TS_BUFFER_MIN);
		ts_connection_finish(&a);
		ts_connection_finish(&b);
	}
}

// The in-buffer gives its room back whenever it holds nothing whole: drained, left
// with the start of a message (to the smallest size that holds it), or after a read
// that brought nothing.
static void test_buffer_shrinks(void **state) {
	int sv[2];
	make_pair(sv);
	struct ts_connection b;
	ts_connection_init(&b, sv[1], BIG_LIMIT, BIG_LIMIT);
	assert_int_equal(ts_connection_read(&b), TS_IO_AGAIN);
	assert_true(b.in.cap <= TS_BUFFER_MIN);

	static uint8_t buf[301 * 20];
	union ts_arg args[TS_MAX_ARGS] = { { .u = 3 }, { .i = 4 }, { .i = 5 } };
	size_t size = 0;
	for (int i = 0; i < 301; i++) {
		size = encode(buf + 20 * i, sizeof buf - 20 * i, &ts_request_interface,
			TS_REQ_node_set_position, args);
		assert_int_equal(size, 20);
	}
	// 300 whole messages and 13 bytes of the next.
	write_all(sv[0], buf, 300 * 20 + 13);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_pending_input(&b), 300 * 20 + 13);
	assert_true(b.in.cap > TS_BUFFER_MIN);
	struct ts_header hdr;
	union ts_arg out[TS_MAX_ARGS];
	const char *why = NULL;
	for (int i = 0; i < 300; i++) {
		assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why), 1);
		ts_connection_consume(&b, hdr.size);
	}
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why), 0);
	assert_int_equal(b.in.cap, TS_BUFFER_MIN);
	assert_int_equal(b.in.start, 0);
	assert_int_equal(ts_connection_pending_input(&b), 13);
	// The rest of it arrives, and the message is whole.
	write_all(sv[0], buf + 300 * 20 + 13, size - 13);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why), 1);
	assert_int_equal(out[0].u, 3);
	assert_int_equal(out[2].i, 5);
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(b.in.cap, TS_BUFFER_MIN);

	// A large message cut short keeps what holds it: the smallest power-of-two
	// multiple of TS_BUFFER_MIN.
	static char name[TS_MAX_STRING];
	memset(name, 'n', sizeof name - 1);
	union ts_arg hello[TS_MAX_ARGS] = { { .u = 1 }, { .s = name } };
	static uint8_t hellos[5 * TS_MAX_MESSAGE];
	for (int i = 0; i < 5; i++) {
		size = encode(hellos + i * size, sizeof hellos - i * size, &ts_request_interface,
			TS_REQ_hello, hello);
	}
	write_all(sv[0], hellos, 4 * size + 1000);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why), 1);
		ts_connection_consume(&b, hdr.size);
	}
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why), 0);
	assert_int_equal(ts_connection_pending_input(&b), 1000);
	assert_int_equal(b.in.cap, 2 * TS_BUFFER_MIN);
	write_all(sv[0], hellos + 4 * size + 1000, size - 1000);
	assert_int_equal(ts_connection_read(&b), TS_IO_OK);
	assert_int_equal(ts_connection_next(&b, &ts_request_interface, &hdr, out, &why), 1);
	assert_string_equal(out[1].s, name);
	ts_connection_consume(&b, hdr.size);
	assert_int_equal(b.in.cap, TS_BUFFER_MIN);

	// A read that finds nothing gives back the room it made.
	assert_int_equal(ts_connection_read(&b), TS_IO_AGAIN);
	assert_int_equal(b.in.cap, TS_BUFFER_MIN);
	ts_connection_finish(&b);
	close(sv[0]);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_many),
		cmocka_unit_test(test_split_message),
		cmocka_unit_test(test_max_message_at_in_limit),
		cmocka_unit_test(test_out_limit_and_backpressure),
		cmocka_unit_test(test_fd_survives_backpressure),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_fds_go_with_their_message),
		cmocka_unit_test(test_fds_missing_or_unexpected),
		cmocka_unit_test(test_too_many_fds_in_one_sendmsg),
		cmocka_unit_test(test_too_many_fds_accumulated),
		cmocka_unit_test(test_queue_rejections),
		cmocka_unit_test(test_finish_closes_fds),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_malformed_input),
		cmocka_unit_test(test_queue_matches_encode),
		cmocka_unit_test(test_decode_paths_agree),
		cmocka_unit_test(test_large_reads),
		cmocka_unit_test(test_buffer_shrinks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
