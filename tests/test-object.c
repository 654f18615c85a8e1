/*
 * The object model inside the real server code (server_dep, with the fuzz target's stub
 * renderer and a stub backend: no GL, no socket file): a client on a socketpair sends
 * real requests, and destroy listeners (object.h) must hear of every way an object
 * goes, at the moment it goes, and never after they stopped listening.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "client.h"
#include "loop.h"
#include "object.h"
#include "peer.h"
#include "render.h"
#include "server.h"

static bool stub_frame(struct backend *backend) {
	return true;
}

static void stub_destroy(struct backend *backend) {
}

static const struct backend_impl stub_impl = {
	.name = "test",
	.destroy = stub_destroy,
	.begin_frame = stub_frame,
	.end_frame = stub_frame,
};

static void wake(void *data, int fd, short revents) {
	// Nothing to do: this source only keeps the loop from sleeping.
}

struct fixture {
	struct backend backend;
	struct loop *loop;
	struct server server;
	int always_ready;
	int peer;             // the client's end of its socketpair
	struct client *client;
};

// Loop rounds enough for the server to read and handle what was sent (it reads a
// socketpair's bytes in the round after they came).
static void rounds(struct fixture *f) {
	for (int i = 0; i < 4; i++) {
		assert_true(server_iterate(&f->server));
	}
}

static void send_req(struct fixture *f, uint16_t opcode, const union ts_arg *args) {
	assert_int_equal(peer_send(f->peer, opcode, args), PEER_WRITTEN);
	rounds(f);
}

static int setup(void **state) {
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->backend = (struct backend){ .impl = &stub_impl, .width = 64, .height = 48 };
	f->loop = loop_create(LOOP_POLL);
	assert_non_null(f->loop);
	struct server_options opts = { .refresh_mhz = 0 };
	limits_init(&opts.limits);
	server_init_core(&f->server, f->loop, &opts);
	f->server.backend = &f->backend;
	f->server.renderer = renderer_create();
	assert_non_null(f->server.renderer);
	f->always_ready = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f->always_ready >= 0);
	assert_non_null(loop_add_fd(f->loop, f->always_ready, POLLIN, wake, NULL));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->client = client_create(&f->server, sv[0], getpid(), getuid());
	assert_non_null(f->client);
	f->peer = sv[1];
	uint8_t buf[64];
	size_t n = peer_encode_hello(buf, sizeof buf, "test-object");
	assert_int_equal(peer_write(f->peer, buf, n, NULL, 0), PEER_WRITTEN);
	rounds(f);
	assert_true(f->client->welcomed);
	// group 1 in the root, rect 2 in it, rect 3 in the root.
	send_req(f, TS_REQ_group_create, (union ts_arg[]){ { .u = 1 }, { .u = 0 } });
	send_req(f, TS_REQ_rect_create, (union ts_arg[]){ { .u = 2 }, { .u = 1 } });
	send_req(f, TS_REQ_rect_create, (union ts_arg[]){ { .u = 3 }, { .u = 0 } });
	send_req(f, TS_REQ_commit, NULL);
	assert_int_equal(f->client->objects.count, 3);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	struct fixture *f = *state;
	if (f->peer >= 0) {
		close(f->peer);
	}
	for (int i = 0; i < 100 && f->server.client_count > 0; i++) {
		assert_true(server_iterate(&f->server));
	}
	assert_int_equal(f->server.client_count, 0);
	assert_int_equal(f->server.object_count, 0);
	server_finish(&f->server);
	renderer_destroy(f->server.renderer);
	loop_destroy(f->loop);
	close(f->always_ready);
	free(f);
	return 0;
}

struct watch {
	struct object_listener listener;
	int told;
	uint32_t objects_then; // how many objects the client held when told
	struct client *client;
	struct watch *stop;    // a watch this one stops when told, or NULL
};

static void on_destroyed(struct object_listener *listener) {
	struct watch *w = (struct watch *)((char *)listener - offsetof(struct watch, listener));
	w->told++;
	w->objects_then = w->client->objects.count;
	if (w->stop != NULL) {
		object_unlisten(&w->stop->listener);
	}
}

static void watch(struct fixture *f, struct watch *w, uint32_t id) {
	*w = (struct watch){ .listener.destroyed = on_destroyed, .client = f->client };
	object_listen(f->client, id, &w->listener);
}

// A node's destroy waits for the commit: so does the news of it.
static void test_destroy_at_commit(void **state) {
	struct fixture *f = *state;
	struct watch rect2, rect3;
	watch(f, &rect2, 2);
	watch(f, &rect3, 3);
	send_req(f, TS_REQ_destroy, (union ts_arg[]){ { .u = 3 } });
	assert_int_equal(rect3.told, 0);
	send_req(f, TS_REQ_commit, NULL);
	assert_int_equal(rect3.told, 1);
	assert_int_equal(rect2.told, 0);
	// Told before its slot went: the object was still counted.
	assert_int_equal(rect3.objects_then, 3);
	assert_int_equal(f->client->objects.count, 2);
	object_unlisten(&rect2.listener);
}

// A group's destroy takes its children, and their listeners hear of it.
static void test_destroyed_with_group(void **state) {
	struct fixture *f = *state;
	struct watch group1, rect2, rect3;
	watch(f, &group1, 1);
	watch(f, &rect2, 2);
	watch(f, &rect3, 3);
	send_req(f, TS_REQ_destroy, (union ts_arg[]){ { .u = 1 } });
	send_req(f, TS_REQ_commit, NULL);
	assert_int_equal(group1.told, 1);
	assert_int_equal(rect2.told, 1);
	assert_int_equal(rect3.told, 0);
	assert_int_equal(f->client->objects.count, 1);
	object_unlisten(&rect3.listener);
}

// A listener that stopped hears nothing; neither does one that another stops when it
// is told (the walk over the listeners survives it).
static void test_unlisten(void **state) {
	struct fixture *f = *state;
	struct watch first, second, gone;
	watch(f, &gone, 3);
	object_unlisten(&gone.listener);
	watch(f, &first, 2);
	watch(f, &second, 2);
	first.stop = &second;
	send_req(f, TS_REQ_destroy, (union ts_arg[]){ { .u = 3 } });
	send_req(f, TS_REQ_destroy, (union ts_arg[]){ { .u = 2 } });
	send_req(f, TS_REQ_commit, NULL);
	assert_int_equal(gone.told, 0);
	assert_int_equal(first.told, 1);
	assert_int_equal(second.told, 0);
}

// The end of the client (here a hang-up) tells every listener of its objects, before
// their memory goes.
static void test_client_gone(void **state) {
	struct fixture *f = *state;
	struct watch w[3];
	for (uint32_t i = 0; i < 3; i++) {
		watch(f, &w[i], i + 1);
	}
	close(f->peer);
	f->peer = -1;
	for (int i = 0; i < 100 && f->server.client_count > 0; i++) {
		assert_true(server_iterate(&f->server));
	}
	assert_int_equal(f->server.client_count, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w[i].told, 1);
		assert_int_equal(w[i].objects_then, 3);
	}
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_destroy_at_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroyed_with_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlisten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
