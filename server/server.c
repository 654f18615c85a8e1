#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "client.h"
#include "log.h"
#include "loop.h"
#include "render.h"

#define ACCEPT_PAUSE_NS 100000000u // after EMFILE, listen again in 100 ms
#define ACCEPTS_PER_ROUND 64       // so a connect storm cannot starve the clients
#define FD_TABLE_RESERVE 4096      // fd table slots made at start (see reserve_fd_table)

static char *default_socket_path(void) {
	const char *env = getenv("TESSERA_SOCKET");
	if (env != NULL && env[0] != '\0') {
		return strdup(env);
	}
	const char *dir = getenv("XDG_RUNTIME_DIR");
	if (dir == NULL || dir[0] == '\0') {
		return NULL;
	}
	char *path = NULL;
	return asprintf(&path, "%s/tessera-0", dir) < 0 ? NULL : path;
}

// Set by the SIGINT/SIGTERM handler, which only runs inside the loop's ppoll().
static volatile sig_atomic_t stop_signal;

static void handle_signal(int signo) {
	stop_signal = signo;
}

static void handle_accept(void *data, int fd, short revents) {
	struct server *server = data;
	for (int i = 0; i < ACCEPTS_PER_ROUND; i++) {
		int client_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (client_fd >= 0) {
			client_create(server, client_fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED) {
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			// The pending connection stays queued and would wake us at once: stop
			// listening for a moment instead of spinning.
			log_error("cannot accept a client: %s; pausing accepts for 100 ms",
				strerror(errno));
			loop_source_set_events(server->listen_source, 0);
			server->accept_resume_ns = loop_now_ns() + ACCEPT_PAUSE_NS;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			log_error("accept: %s", strerror(errno));
		}
		return;
	}
}

// The kernel grows a process's fd table by doubling, and once threads share it (the GL
// driver starts some) every growth waits for an RCU grace period: milliseconds, in the
// middle of a connection storm. Growing it once now, while we are single-threaded,
// takes that off the path of the first few hundred clients.
static void reserve_fd_table(void) {
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 64) {
		return;
	}
	int target = lim.rlim_cur > FD_TABLE_RESERVE ? FD_TABLE_RESERVE - 1 : (int)lim.rlim_cur - 1;
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, target);
	if (fd < 0) {
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			int high = fcntl(fd, F_DUPFD_CLOEXEC, target);
			close(fd);
			fd = high;
		}
	}
	if (fd >= 0) {
		close(fd);
	}
}

// SIGINT and SIGTERM stay blocked except while the loop sleeps in ppoll(), which they
// then interrupt; the handler only records them. (A signalfd would cost a third fd in
// every poll() of every loop round.)
static bool setup_signals(struct server *server) {
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &server->wait_sigmask) < 0) {
		log_error("cannot block signals: %s", strerror(errno));
		return false;
	}
	sigdelset(&server->wait_sigmask, SIGINT);
	sigdelset(&server->wait_sigmask, SIGTERM);
	struct sigaction action = { .sa_handler = handle_signal };
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGINT, &action, NULL) < 0 || sigaction(SIGTERM, &action, NULL) < 0) {
		log_error("cannot handle signals: %s", strerror(errno));
		return false;
	}
	stop_signal = 0;
	return true;
}

// Takes the lock that says a live server owns the socket path; a socket left by a
// server that died is then safe to replace.
static bool take_socket(struct server *server) {
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(server->socket_path) >= sizeof addr.sun_path) {
		log_error("socket path too long (%zu bytes, at most %zu): %s",
			strlen(server->socket_path), sizeof addr.sun_path - 1, server->socket_path);
		return false;
	}
	strcpy(addr.sun_path, server->socket_path);
	if (asprintf(&server->lock_path, "%s.lock", server->socket_path) < 0) {
		server->lock_path = NULL;
		log_error("out of memory");
		return false;
	}
	server->lock_fd = open(server->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (server->lock_fd < 0) {
		log_error("cannot open lock file %s: %s", server->lock_path, strerror(errno));
		goto error_lock_path;
	}
	if (flock(server->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		log_error("another tessera is already running on %s", server->socket_path);
		goto error_lock_fd;
	}
	struct stat st;
	if (lstat(server->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("%s exists and is not a socket; not replacing it", server->socket_path);
			goto error_lock_fd;
		}
		log_info("replacing stale socket %s", server->socket_path);
		unlink(server->socket_path);
	}
	server->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (server->listen_fd < 0) {
		log_error("socket: %s", strerror(errno));
		goto error_lock_fd;
	}
	if (bind(server->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		log_error("cannot bind %s: %s", server->socket_path, strerror(errno));
		goto error_listen_fd;
	}
	if (listen(server->listen_fd, SOMAXCONN) < 0) {
		log_error("listen: %s", strerror(errno));
		goto error_unlink;
	}
	server->listen_source = loop_add_fd(server->loop, server->listen_fd, POLLIN,
		handle_accept, server);
	if (server->listen_source == NULL) {
		log_error("out of memory");
		goto error_unlink;
	}
	return true;

error_unlink:
	unlink(server->socket_path);
error_listen_fd:
	close(server->listen_fd);
	server->listen_fd = -1;
error_lock_fd:
	close(server->lock_fd);
	server->lock_fd = -1;
error_lock_path:
	free(server->lock_path);
	server->lock_path = NULL;
	return false;
}

void server_init_core(struct server *server, struct loop *loop,
		const struct server_options *opts) {
	memset(server, 0, sizeof *server);
	server->options = *opts;
	server->loop = loop;
	server->lock_fd = server->listen_fd = -1;
	list_init(&server->clients);
	list_init(&server->dead_clients);
	list_init(&server->flush_clients);
	list_init(&server->frame_clients);
	// 0: no limit, a frame as soon as something changed (benchmarks).
	server->frame_interval_ns = opts->refresh_mhz > 0
		? 1000000000000ull / (uint64_t)opts->refresh_mhz : 0;
	scene_init(&server->scene, 0x202833ffu);
	// The loop sleeps with the mask it finds; setup_signals replaces it.
	sigprocmask(SIG_SETMASK, NULL, &server->wait_sigmask);
}

bool server_init(struct server *server, struct loop *loop, const struct server_options *opts) {
	server_init_core(server, loop, opts);

	server->socket_path = opts->socket_path ? strdup(opts->socket_path) : default_socket_path();
	if (server->socket_path == NULL) {
		log_error("no socket path: pass --socket PATH, or set TESSERA_SOCKET or "
			"XDG_RUNTIME_DIR");
		goto error_scene;
	}
	reserve_fd_table();
	if (!setup_signals(server)) {
		goto error_signals;
	}
	if (!take_socket(server)) {
		goto error_signals;
	}
	log_info("listening on %s", server->socket_path);
	return true;

error_signals:
	free(server->socket_path);
error_scene:
	scene_finish(&server->scene);
	return false;
}

void server_finish(struct server *server) {
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->clients) {
		client_destroy(list_entry(pos, struct client, link));
	}
	if (server->listen_fd >= 0) { // not for a server set up by server_init_core alone
		loop_source_remove(server->listen_source);
		close(server->listen_fd);
		unlink(server->socket_path);
		unlink(server->lock_path);
		close(server->lock_fd);
	}
	free(server->socket_path);
	free(server->lock_path);
	scene_finish(&server->scene);
}

bool server_capture(struct server *server, uint8_t *rgba) {
	return renderer_capture(server->renderer, &server->scene, server->backend->width,
		server->backend->height, rgba);
}

static bool frame_wanted(struct server *server) {
	return server->scene.damaged || server->backend->damaged ||
		!list_empty(&server->frame_clients);
}

static void draw_frame(struct server *server, uint64_t now) {
	struct backend *backend = server->backend;
	// Only frame callbacks waiting and nothing changed: the screen already shows
	// their commits, so the frame is "presented" without drawing it again.
	if (server->scene.damaged || backend->damaged) {
		if (!backend->impl->begin_frame(backend)) {
			log_error("%s backend: cannot begin a frame", backend->impl->name);
		} else {
			renderer_draw(server->renderer, &server->scene, backend->width, backend->height);
			if (!backend->impl->end_frame(backend)) {
				log_error("%s backend: cannot present a frame", backend->impl->name);
			}
		}
		server->scene.damaged = false;
		backend->damaged = false;
		now = loop_now_ns();
	}
	server->last_frame_ns = now;
	server->frames++;
	uint32_t time_ms = (uint32_t)(now / 1000000u);
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->frame_clients) {
		client_frame_done(list_entry(pos, struct client, frame_link), time_ms);
	}
}

// Work done once per loop round, after every ready fd was handled.
static void after_round(struct server *server) {
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &server->flush_clients) {
		struct client *client = list_entry(pos, struct client, flush_link);
		if (!client_flush(client)) {
			client_kill(client, "write failed");
		}
	}
	// Dying clients got their last events (an error, say) flushed above, as far as
	// their socket took them.
	while (!list_empty(&server->dead_clients)) {
		client_destroy(list_entry(server->dead_clients.next, struct client, dead_link));
	}
}

static int poll_timeout(struct server *server, uint64_t now) {
	uint64_t deadline = UINT64_MAX;
	if (frame_wanted(server)) {
		deadline = server->last_frame_ns + server->frame_interval_ns;
	}
	if (server->accept_resume_ns != 0 && server->accept_resume_ns < deadline) {
		deadline = server->accept_resume_ns;
	}
	if (server->poll_backend && now + server->frame_interval_ns < deadline) {
		deadline = now + server->frame_interval_ns;
	}
	if (deadline == UINT64_MAX) {
		return -1;
	}
	if (deadline <= now) {
		return 0;
	}
	// Round up so we never wake a little early and spin until the deadline.
	return (int)((deadline - now + 999999u) / 1000000u);
}

static void handle_backend(void *data, int fd, short revents) {
	struct backend *backend = data;
	backend->impl->dispatch(backend);
}

bool server_iterate(struct server *server) {
	struct backend *backend = server->backend;
	uint64_t now = loop_now_ns();
	if (server->accept_resume_ns != 0 && now >= server->accept_resume_ns) {
		server->accept_resume_ns = 0;
		loop_source_set_events(server->listen_source, POLLIN);
	}
	if (frame_wanted(server) && now >= server->last_frame_ns + server->frame_interval_ns) {
		draw_frame(server, now);
	}
	// Right before sleeping: Xlib may have queued events off the socket while we
	// swapped buffers, and poll() would not wake for those.
	if (backend->impl->dispatch) {
		backend->impl->dispatch(backend);
	}
	if (backend->close_requested) {
		log_info("window closed: shutting down");
		server->running = false;
		return true;
	}
	after_round(server);
	int timeout = poll_timeout(server, loop_now_ns());
	if (loop_dispatch(server->loop, timeout, &server->wait_sigmask) < 0) {
		log_error("poll: %s", strerror(errno));
		server->running = false;
		return false;
	}
	if (stop_signal != 0) {
		log_info("signal %d received: shutting down", (int)stop_signal);
		server->running = false;
	}
	after_round(server);
	return true;
}

bool server_run(struct server *server) {
	struct backend *backend = server->backend;
	struct loop_source *backend_source = NULL;
	int backend_fd = backend->impl->get_fd ? backend->impl->get_fd(backend) : -1;
	if (backend_fd >= 0 && backend->impl->dispatch) {
		backend_source = loop_add_fd(server->loop, backend_fd, POLLIN, handle_backend, backend);
	}
	// A window system whose fd we cannot watch is asked for events once a frame.
	server->poll_backend = backend->impl->dispatch != NULL && backend_source == NULL;
	bool ok = true;
	server->running = true;
	while (server->running) {
		ok = server_iterate(server);
	}
	loop_source_remove(backend_source);
	return ok;
}
