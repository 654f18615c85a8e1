#define _GNU_SOURCE
#include "server.h"

#include "image.h"
#include "text.h"

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
// A connection without a hello is never dropped for a newer one before it has had this
// long to send its hello (see make_room).
#define PENDING_GRACE_NS 50000000u
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

// Refusals and evictions can come by the thousand a second (a connect storm past the
// clients limit, a storm of silent connections): counted, and logged one line a
// second at most, with the count.
static void log_burst(struct log_burst *burst, const char *what, const char *text,
		const char *counted) {
	burst->count++;
	uint64_t now = loop_now_ns();
	if (burst->logged_ns == 0 || now - burst->logged_ns >= 1000000000u) {
		log_info("%s: %s (%llu %s so far)", what, text, (unsigned long long)burst->count,
			counted);
		burst->logged_ns = now;
	}
}

// The pending connection accepted first, or NULL when there is none.
static struct client *oldest_pending(const struct server *server) {
	return list_empty(&server->hello_clients) ? NULL
		: list_entry(server->hello_clients.next, struct client, hello_link);
}

// Tells a connection why it is not welcome, with the error event a client would get,
// and closes it. The socket is new and empty: the event fits, or the peer is gone.
static void refuse(struct server *server, int fd, uint32_t code, const char *text) {
	log_burst(&server->refusals, "refused a connection", text, "refused");
	union ts_arg args[] = { { .u = 0 }, { .u = code }, { .s = text } };
	uint8_t buf[TS_MAX_MESSAGE];
	size_t size = ts_encoded_size(&ts_event_interface, TS_EV_error, args);
	if (size > 0 && size <= sizeof buf) {
		ts_encode(buf, size, &ts_event_interface, TS_EV_error, args);
		(void)!send(fd, buf, size, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	close(fd);
}

static bool uid_allowed(const struct server *server, uid_t uid) {
	if (uid == geteuid()) {
		return true;
	}
	for (size_t i = 0; i < server->options.allow_uid_count; i++) {
		if (server->options.allow_uids[i] == uid) {
			return true;
		}
	}
	return false;
}

static void admit(struct server *server, int fd) {
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_error("cannot tell who connected (SO_PEERCRED: %s); refusing", strerror(errno));
		close(fd);
		return;
	}
	char text[160];
	if (!uid_allowed(server, cred.uid)) {
		snprintf(text, sizeof text, "user %u may not connect to this server "
			"(tessera --allow-uid %u lets it)", (unsigned)cred.uid, (unsigned)cred.uid);
		refuse(server, fd, TS_ERR_access_denied, text);
		return;
	}
	uint32_t max = server->options.limits.clients;
	if (server->session_count >= max) {
		snprintf(text, sizeof text, "limit clients=%u reached: the server is full", max);
		refuse(server, fd, TS_ERR_limit_exceeded, text);
		return;
	}
	if (server->pending_count >= server->options.limits.pending_clients) {
		snprintf(text, sizeof text, "limit pending_clients=%u reached: the oldest "
			"connection without a hello made room for a new one",
			server->options.limits.pending_clients);
		log_burst(&server->evictions, "dropped a connection", text, "dropped");
		client_post_error_unlogged(oldest_pending(server), 0, TS_ERR_limit_exceeded, "%s",
			text);
	}
	struct client *client = client_create(server, fd, cred.pid, cred.uid);
	// A real client sends its hello right after connecting: under a storm it has long
	// arrived by the time we accept, and the connection leaves the budget at once.
	if (client != NULL) {
		client_read(client);
	}
}

// Connections yet to say hello have a budget of their own, as sshd's MaxStartups:
// when it is full the oldest of them makes room for a newcomer (admit), so silent
// connections, however many and however often renewed, can never keep a real client
// out, and a session is never dropped for one. But not before the oldest has had
// PENDING_GRACE_NS to send its hello: a client descheduled between its connect and
// its hello must not lose its place to a storm. Until then accepts pause, and
// newcomers wait in the kernel's backlog, their hellos with them, which admit reads
// at once. Returns false when accepts must wait.
static bool make_room(struct server *server) {
	if (server->pending_count < server->options.limits.pending_clients) {
		return true;
	}
	uint64_t free_at = oldest_pending(server)->connected_ns + PENDING_GRACE_NS;
	if (loop_now_ns() >= free_at) {
		return true;
	}
	loop_source_set_events(server->listen_source, 0);
	loop_timer_arm(server->accept_timer, free_at, 0);
	return false;
}

static void handle_accept(void *data, int fd, short revents) {
	struct server *server = data;
	for (int i = 0; i < ACCEPTS_PER_ROUND && make_room(server); i++) {
		int client_fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (client_fd >= 0) {
			admit(server, client_fd);
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
			loop_timer_arm(server->accept_timer, loop_now_ns() + ACCEPT_PAUSE_NS, 0);
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

// The socket's folder must be one only we (or root) control: a folder that others may
// write to without the sticky bit (/tmp has it) would let them replace our socket.
static bool check_socket_dir(const char *socket_path) {
	char *dir = strdup(socket_path);
	if (dir == NULL) {
		log_error("out of memory");
		return false;
	}
	char *slash = strrchr(dir, '/');
	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	struct stat st;
	bool ok = false;
	if (stat(dir, &st) < 0) {
		log_error("cannot use the socket's folder %s: %s", dir, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		log_error("%s is not a folder", dir);
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		log_error("the socket's folder %s belongs to user %u, not to us (%u): refusing to "
			"listen there", dir, (unsigned)st.st_uid, (unsigned)geteuid());
	} else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		log_error("the socket's folder %s may be written by other users and is not "
			"sticky: refusing to listen there", dir);
	} else {
		ok = true;
	}
	free(dir);
	return ok;
}

// Takes the lock that says a live server owns the socket path; a socket left by a
// server that died is then safe to replace. Paths that belong to another user are
// never touched.
static bool take_socket(struct server *server) {
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(server->socket_path) >= sizeof addr.sun_path) {
		log_error("socket path too long (%zu bytes, at most %zu): %s",
			strlen(server->socket_path), sizeof addr.sun_path - 1, server->socket_path);
		return false;
	}
	strcpy(addr.sun_path, server->socket_path);
	if (!check_socket_dir(server->socket_path)) {
		return false;
	}
	if (asprintf(&server->lock_path, "%s.lock", server->socket_path) < 0) {
		server->lock_path = NULL;
		log_error("out of memory");
		return false;
	}
	server->lock_fd = open(server->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		0600);
	if (server->lock_fd < 0) {
		log_error("cannot open lock file %s: %s", server->lock_path, strerror(errno));
		goto error_lock_path;
	}
	struct stat st;
	if (fstat(server->lock_fd, &st) < 0 || st.st_uid != geteuid() || !S_ISREG(st.st_mode)) {
		log_error("lock file %s is not a file of ours: refusing to use it", server->lock_path);
		goto error_lock_fd;
	}
	if (flock(server->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		log_error("another tessera is already running on %s", server->socket_path);
		goto error_lock_fd;
	}
	if (lstat(server->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("%s exists and is not a socket; not replacing it", server->socket_path);
			goto error_lock_fd;
		}
		if (st.st_uid != geteuid()) {
			log_error("%s belongs to user %u, not to us (%u); not replacing it",
				server->socket_path, (unsigned)st.st_uid, (unsigned)geteuid());
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
	// The socket is born 0600 (bind honours the umask; we have one thread here), so
	// there is no moment when others could connect. Users let in with --allow-uid
	// need it open; SO_PEERCRED then keeps everyone else out.
	mode_t old_umask = umask(0177);
	int bound = bind(server->listen_fd, (struct sockaddr *)&addr, sizeof addr);
	int bind_errno = errno;
	umask(old_umask);
	if (bound < 0) {
		log_error("cannot bind %s: %s", server->socket_path, strerror(bind_errno));
		goto error_listen_fd;
	}
	if (server->options.allow_uid_count > 0 && chmod(server->socket_path, 0666) < 0) {
		log_error("cannot open %s to other users: %s", server->socket_path, strerror(errno));
		goto error_unlink;
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

static void server_make_timers(struct server *server);

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
	list_init(&server->present_clients);
	list_init(&server->hello_clients);
	list_init(&server->backlog_clients);
	list_init(&server->shots);
	if (!tree_init(&server->tree, 0x202833ffu, 0, 0, (uint16_t)opts->limits.depth)) {
		// Only the stack of a few KiB: a server that cannot have it cannot run either.
		log_error("out of memory for the scene");
		abort();
	}
	server_make_timers(server);
	frame_init(server);
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
	tree_finish(&server->tree);
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
	image_sprites_finish(server);
	tree_finish(&server->tree);
	frame_finish(server);
	free(server->animations); // every client is gone: nothing runs
	server->animations = NULL;
	server->animation_len = server->animation_cap = 0;
	loop_timer_remove(server->hello_timer);
	loop_timer_remove(server->accept_timer);
	loop_timer_remove(server->backend_timer);
}

// Work done once per loop round, after every ready fd was handled.
static void after_round(struct server *server) {
	// Textures of contents freed this round go now, frame or not (the GL context is
	// current on the loop's thread all along).
	image_textures_reap(server);
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

static uint64_t hello_timeout_ns(const struct server *server) {
	return (uint64_t)server->options.limits.hello_timeout_ms * 1000000u;
}

// Connections that did not say hello in time go: silence, or half a header, holds a
// connection slot for no longer than that.
static void expire_hellos(struct server *server, uint64_t now) {
	uint64_t timeout = hello_timeout_ns(server);
	struct client *client;
	while ((client = oldest_pending(server)) != NULL) {
		if (client->connected_ns + timeout > now) {
			break;
		}
		client_leave_pending(client);
		client_post_error(client, 0, TS_ERR_limit_exceeded,
			"limit hello_timeout_ms=%u exceeded: no hello in that time",
			server->options.limits.hello_timeout_ms);
	}
}

// Every backlogged client gets one more slice, in turn. Those that use it up again go
// to the back of the list for the next round.
static void serve_backlog(struct server *server) {
	// Take the whole list: clients backlogged again during this pass join the new one.
	struct list turn;
	list_init(&turn);
	list_splice(&turn, &server->backlog_clients);
	while (!list_empty(&turn)) {
		struct client *client = list_entry(turn.next, struct client, backlog_link);
		list_remove(&client->backlog_link);
		client_dispatch(client);
		// Drained: read it again. Still backlogged: it went back on the server's list.
		client_update_events(client);
	}
}

// Hello expiry follows the oldest connection without one; FIFO, so a newer one never
// expires first. A timer left from one that has since said hello fires for nothing
// and moves on.
static void schedule_hello_expiry(struct server *server) {
	struct client *oldest = oldest_pending(server);
	if (oldest == NULL) {
		loop_timer_disarm(server->hello_timer);
		return;
	}
	uint64_t expiry = oldest->connected_ns + hello_timeout_ns(server);
	if (loop_timer_deadline(server->hello_timer) != expiry) {
		loop_timer_arm(server->hello_timer, expiry, 0);
	}
}

static void handle_hello_timer(void *data) {
	struct server *server = data;
	expire_hellos(server, loop_now_ns());
}

static void handle_accept_timer(void *data) {
	struct server *server = data;
	loop_source_set_events(server->listen_source, POLLIN);
}

static void handle_backend_timer(void *data) {
	struct backend *backend = ((struct server *)data)->backend;
	backend->impl->dispatch(backend);
}

static void handle_backend(void *data, int fd, short revents) {
	struct backend *backend = data;
	backend->impl->dispatch(backend);
}

static void server_make_timers(struct server *server) {
	struct loop *loop = server->loop;
	server->hello_timer = loop_add_timer(loop, handle_hello_timer, server);
	server->accept_timer = loop_add_timer(loop, handle_accept_timer, server);
	server->backend_timer = loop_add_timer(loop, handle_backend_timer, server);
	if (server->hello_timer == NULL ||
			server->accept_timer == NULL || server->backend_timer == NULL) {
		// A few dozen bytes: a server that cannot have them cannot run either.
		log_error("out of memory for the loop's timers");
		abort();
	}
}

bool server_iterate(struct server *server) {
	struct backend *backend = server->backend;
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
	frame_schedule(server);
	schedule_hello_expiry(server);
	// Backlogged clients are served between polls that do not wait.
	int64_t timeout = list_empty(&server->backlog_clients) ? -1 : 0;
	if (loop_dispatch(server->loop, timeout, &server->wait_sigmask) < 0) {
		log_error("%s: %s", loop_kind_name(loop_get_kind(server->loop)), strerror(errno));
		server->running = false;
		return false;
	}
	if (stop_signal != 0) {
		log_info("signal %d received: shutting down", (int)stop_signal);
		server->running = false;
	}
	serve_backlog(server);
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
	if (backend->impl->dispatch != NULL && backend_source == NULL) {
		uint64_t period = server->pacing.interval_ns ? server->pacing.interval_ns : 16666667u;
		loop_timer_arm(server->backend_timer, loop_now_ns() + period, period);
	}
	bool ok = true;
	server->running = true;
	while (server->running) {
		ok = server_iterate(server);
	}
	loop_timer_disarm(server->backend_timer);
	loop_source_remove(backend_source);
	return ok;
}
