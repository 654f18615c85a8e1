/*
 * Fuzz target: the whole server, from the bytes clients send to what it sends back,
 * with a stub renderer (stub-render.c) and a stub backend: no GL, no listening socket.
 * Each client is a real socketpair; the fuzzer holds the client's end.
 *
 * The input (fuzz-server.h): how many clients and which limits, then operations:
 * send bytes, send bytes with fds, run a loop round, hang up, read what the server
 * sent, shut down the writing side; each names one of the clients.
 *
 * After every round the server's counts and lists must agree with its clients. At the
 * end every client's end is closed and the server runs until every client is gone.
 * Then no client, object or scene node may be left, nor any fd.
 *
 * What the server sends is checked when it is read: every event decodes, with its fds;
 * the first is welcome or error; nothing follows an error; screenshots have the
 * output's size; no fd comes that no event claims.
 *
 * A server is set up and torn down for each input: that costs a few allocations and
 * keeps inputs independent of each other, so every crash replays alone.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h"
#include "client.h"
#include "fuzz-server.h"
#include "fuzz.h"
#include "log.h"
#include "loop.h"
#include "render.h"
#include "server.h"
#include "wire.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define MAX_CLIENTS 4
#define MAX_FINAL_ROUNDS 1000    // to see every client go once all have hung up
#define MAX_PEER_FDS 64          // fds received and not yet claimed by an event

static bool stub_frame(struct backend *backend) {
	return true;
}

static void stub_destroy(struct backend *backend) {
}

static const struct backend_impl stub_impl = {
	.name = "fuzz",
	.destroy = stub_destroy,
	.begin_frame = stub_frame,
	.end_frame = stub_frame,
};

// The options of server/main.c, except that a frame is drawn in every round that has
// something to show: with no frame timing, what a round does never depends on the
// clock. The FUZZ_LOW_ @flags set limits low enough for a short input to reach them
// (not hello_timeout_ms: that one depends on the clock).
static struct server_options make_options(uint8_t flags) {
	struct server_options opts = { .refresh_mhz = 0 };
	limits_init(&opts.limits);
	if (flags & FUZZ_LOW_OBJECTS) {
		opts.limits.objects = 8;
		opts.limits.fds = 3;
	}
	if (flags & FUZZ_LOW_REQUESTS) {
		opts.limits.requests = 2;
	}
	if (flags & FUZZ_LOW_OUT_BYTES) {
		opts.limits.out_bytes = 4096;
	}
	if (flags & FUZZ_LOW_CLIENT_BYTES) {
		opts.limits.client_bytes = 64u << 10;
	}
	return opts;
}

// The fuzzer's end of one client's socket, and what it has read from it.
struct peer {
	int fd;                        // -1 once hung up
	uint8_t *in;                   // bytes read, not yet a whole event
	size_t in_len, in_cap;
	int fds[MAX_PEER_FDS];         // received, not yet claimed by an event
	unsigned nfds;
	unsigned events;               // decoded so far
	bool got_error;
};

struct input {
	const uint8_t *p;
	size_t left;
};

static int dev_null = -1;       // template for the fds sent
static int always_ready = -1;   // an eventfd that stays readable: no poll() ever waits

static uint8_t take(struct input *in) {
	if (in->left == 0) {
		return 0;
	}
	in->left--;
	return *in->p++;
}

static void wake(void *data, int fd, short revents) {
	// Nothing to do: this source only keeps the loop from sleeping.
}

static int make_fd(unsigned kind) {
	if (kind == FUZZ_FD_DEV_NULL) {
		int fd = fcntl(dev_null, F_DUPFD_CLOEXEC, 0);
		CHECK(fd >= 0);
		return fd;
	}
	int fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	off_t size = kind == FUZZ_FD_TOO_SMALL ? FUZZ_SCREENSHOT_BYTES - 1 :
		kind == FUZZ_FD_LARGER ? 2 * FUZZ_SCREENSHOT_BYTES : FUZZ_SCREENSHOT_BYTES;
	CHECK(ftruncate(fd, size) == 0);
	int seals = kind == FUZZ_FD_UNSEALED ? 0 :
		kind == FUZZ_FD_READ_ONLY ? F_SEAL_SHRINK | F_SEAL_WRITE : F_SEAL_SHRINK;
	CHECK(seals == 0 || fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

// Sends @len bytes, with @nfds fds attached when nfds > 0. A full socket or a server
// that closed its end is fine: that is what clients see too.
static void peer_send(struct peer *peer, const uint8_t *bytes, size_t len, unsigned nfds,
		unsigned fd_kind) {
	if (peer->fd < 0 || len == 0) {
		return;
	}
	int fds[3];
	for (unsigned i = 0; i < nfds; i++) {
		fds[i] = make_fd(fd_kind);
	}
	(void)ts_send_fds(peer->fd, bytes, len, fds, nfds, MSG_DONTWAIT);
	for (unsigned i = 0; i < nfds; i++) {
		close(fds[i]);
	}
}

// Checks one whole event, and closes the fd it carries.
static void check_event(struct peer *peer, const uint8_t *msg, const struct ts_header *hdr) {
	CHECK(!peer->got_error); // an error is the last thing a client hears
	CHECK(hdr->nfds <= peer->nfds);
	union ts_arg args[TS_MAX_ARGS];
	const char *why = NULL;
	CHECK(ts_decode(&ts_event_interface, msg, hdr, peer->fds, args, &why) == 0);
	if (peer->events++ == 0) {
		CHECK(hdr->opcode == TS_EV_welcome || hdr->opcode == TS_EV_error);
	}
	switch (hdr->opcode) {
	case TS_EV_welcome:
		CHECK(args[0].u >= 1 && args[0].u <= TS_PROTOCOL_VERSION);
		CHECK(args[2].u == FUZZ_WIDTH && args[3].u == FUZZ_HEIGHT);
		break;
	case TS_EV_error:
		CHECK(args[1].u > TS_ERR_none && args[1].u < TS_ERR_COUNT_);
		peer->got_error = true;
		break;
	case TS_EV_screenshot_done:
		CHECK(args[1].u == FUZZ_WIDTH && args[2].u == FUZZ_HEIGHT);
		CHECK(args[3].u == FUZZ_WIDTH * 4);
		break;
	default:
		break;
	}
	for (unsigned i = 0; i < hdr->nfds; i++) {
		close(peer->fds[i]);
	}
	peer->nfds -= hdr->nfds;
	memmove(peer->fds, peer->fds + hdr->nfds, peer->nfds * sizeof(int));
}

// Reads everything the server sent so far and checks each whole event.
static void peer_read(struct peer *peer) {
	if (peer->fd < 0) {
		return;
	}
	for (;;) {
		if (peer->in_cap - peer->in_len < 4096) {
			peer->in_cap = peer->in_cap ? peer->in_cap * 2 : 8192;
			peer->in = realloc(peer->in, peer->in_cap);
			CHECK(peer->in != NULL);
		}
		struct iovec iov = { .iov_base = peer->in + peer->in_len,
			.iov_len = peer->in_cap - peer->in_len };
		union {
			char buf[CMSG_SPACE(sizeof(int) * TS_CONNECTION_MAX_FDS)];
			struct cmsghdr align;
		} control;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control.buf, .msg_controllen = sizeof control.buf };
		ssize_t n = recvmsg(peer->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0) {
			break;
		}
		CHECK(!(msg.msg_flags & MSG_CTRUNC)); // the server queues at most 28
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			CHECK(c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
			size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			CHECK(peer->nfds + count <= MAX_PEER_FDS);
			memcpy(peer->fds + peer->nfds, CMSG_DATA(c), count * sizeof(int));
			peer->nfds += (unsigned)count;
		}
		peer->in_len += (size_t)n;
	}
	size_t pos = 0;
	for (;;) {
		struct ts_header hdr;
		int rc = ts_header_read(peer->in + pos, peer->in_len - pos, &hdr);
		CHECK(rc >= 0);
		if (rc == TS_HEADER_NEED_MORE || hdr.size > peer->in_len - pos) {
			break;
		}
		check_event(peer, peer->in + pos, &hdr);
		pos += hdr.size;
	}
	memmove(peer->in, peer->in + pos, peer->in_len - pos);
	peer->in_len -= pos;
	// Fds come with the first byte of the message that claims them, or earlier.
	CHECK(peer->in_len > 0 || peer->nfds == 0);
}

static void peer_hang_up(struct peer *peer) {
	if (peer->fd >= 0) {
		close(peer->fd);
		peer->fd = -1;
	}
	for (unsigned i = 0; i < peer->nfds; i++) {
		close(peer->fds[i]);
	}
	peer->nfds = 0;
	free(peer->in);
	peer->in = NULL;
	peer->in_len = peer->in_cap = 0;
}

// What the server's lists and counts say about its clients agrees with the clients.
static void check_books(struct server *server) {
	size_t clients = 0, sessions = 0, objects = 0;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->clients) {
		struct client *client = list_entry(pos, struct client, link);
		clients++;
		sessions += client->welcomed;
		objects += client->objects.count;
		// A backlogged client is not read until its slices have handled what it sent.
		CHECK(!client_backlogged(client) ||
			!(loop_source_get_events(client->source) & POLLIN));
		CHECK(client->welcomed == list_empty(&client->hello_link));
	}
	CHECK(clients == server->client_count);
	CHECK(sessions == server->session_count);
	CHECK(clients - sessions == server->pending_count);
	CHECK(objects == server->object_count);
	list_for_each_safe(pos, tmp, &server->frame_clients) {
		CHECK(list_entry(pos, struct client, frame_link)->frame_due.len > 0);
	}
	CHECK(list_empty(&server->dead_clients)); // all freed by the end of the round
}

static void round_trip(struct server *server) {
	CHECK(server_iterate(server));
	check_books(server);
}

static void run(struct server *server, struct peer *peers, unsigned count, struct input *in) {
	while (in->left > 0) {
		uint8_t op = take(in);
		struct peer *peer = &peers[((op >> 3) & 3u) % count];
		unsigned arg = op >> 5;
		switch ((enum fuzz_op)(op & 7u)) {
		case FUZZ_OP_SEND:
		case FUZZ_OP_SEND_2:
		case FUZZ_OP_SEND_FDS: {
			bool with_fds = (op & 7u) == FUZZ_OP_SEND_FDS;
			unsigned fd_kind = with_fds ? take(in) % 8u : 0;
			size_t len = take(in);
			len |= (size_t)take(in) << 8;
			if (len > in->left) {
				len = in->left;
			}
			peer_send(peer, in->p, len, with_fds ? 1 + arg % 3 : 0, fd_kind);
			in->p += len;
			in->left -= len;
			break;
		}
		case FUZZ_OP_ROUND:
		case FUZZ_OP_ROUND_2:
			round_trip(server);
			break;
		case FUZZ_OP_HANG_UP:
			peer_hang_up(peer);
			break;
		case FUZZ_OP_READ:
			peer_read(peer);
			break;
		case FUZZ_OP_SHUT_WR:
			if (peer->fd >= 0) {
				shutdown(peer->fd, SHUT_WR);
			}
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if (dev_null < 0) {
		log_set_level(LOG_ERROR); // every protocol error would be logged otherwise
		dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		always_ready = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(dev_null >= 0 && always_ready >= 0);
	}
	if (size == 0) {
		return 0;
	}
	int fds_before = fuzz_count_fds();
	struct input in = { .p = data, .left = size };
	uint8_t first = take(&in);
	unsigned count = 1 + (first & 3u);
	struct server_options options = make_options(first);

	struct backend backend = {
		.impl = &stub_impl, .width = FUZZ_WIDTH, .height = FUZZ_HEIGHT,
	};
	struct loop *loop = loop_create(LOOP_POLL);
	CHECK(loop != NULL);
	struct server server;
	server_init_core(&server, loop, &options);
	server.backend = &backend;
	server.renderer = renderer_create();
	CHECK(server.renderer != NULL);
	CHECK(loop_add_fd(loop, always_ready, POLLIN, wake, NULL) != NULL);

	struct peer peers[MAX_CLIENTS];
	for (unsigned i = 0; i < count; i++) {
		int sv[2];
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
		CHECK(client_create(&server, sv[0], getpid(), getuid()) != NULL);
		peers[i] = (struct peer){ .fd = sv[1] };
	}

	run(&server, peers, count, &in);

	for (unsigned i = 0; i < count; i++) {
		peer_hang_up(&peers[i]);
	}
	for (int rounds = 0; server.client_count > 0; rounds++) {
		CHECK(rounds < MAX_FINAL_ROUNDS);
		round_trip(&server);
	}
	CHECK(list_empty(&server.clients) && list_empty(&server.dead_clients) &&
		list_empty(&server.flush_clients) && list_empty(&server.frame_clients));
	CHECK(server.object_count == 0);
	for (int l = 0; l < TREE_LAYERS; l++) {
		CHECK(list_empty(&server.tree.layers[l]));
	}

	server_finish(&server);
	renderer_destroy(server.renderer);
	loop_destroy(loop);
	CHECK(fuzz_count_fds() == fds_before);
	return 0;
}
