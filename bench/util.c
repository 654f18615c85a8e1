#define _GNU_SOURCE
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

void bench_record(struct bench *b, const char *metric, double value) {
	if (b->nsamples == sizeof b->samples / sizeof b->samples[0]) {
		bench_fail("too many samples in one run");
	}
	b->samples[b->nsamples++] = (struct sample){ metric, value };
}

void bench_fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "tessera-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

uint64_t bench_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms) {
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void bench_server_start(struct bench *b, struct bench_server *server, const char *refresh) {
	bench_server_start_limit(b, server, refresh, NULL);
}

void bench_server_start_limit(struct bench *b, struct bench_server *server,
		const char *refresh, const char *limit) {
	bench_server_start_limit2(b, server, refresh, limit, NULL);
}

void bench_server_start_limit2(struct bench *b, struct bench_server *server,
		const char *refresh, const char *limit, const char *limit2) {
	memset(server, 0, sizeof *server);
	strcpy(server->dir, "/tmp/tessera-bench-XXXXXX");
	if (mkdtemp(server->dir) == NULL) {
		bench_fail("mkdtemp: %s", strerror(errno));
	}
	snprintf(server->socket, sizeof server->socket, "%s/s", server->dir);
	snprintf(server->log, sizeof server->log, "%s/log", server->dir);
	char size[32];
	snprintf(size, sizeof size, "%dx%d", BENCH_WIDTH, BENCH_HEIGHT);
	server->pid = fork();
	if (server->pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (server->pid == 0) {
		// A harness that dies (bench_fail exits, a crash) takes its server with it.
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(server->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		// The scenarios hold up to 100,000 objects in one client and connect 1,000
		// clients: past the defaults, which suit a Raspberry Pi.
		char *argv[] = { "tessera", "--headless", "--size", size, "--socket", server->socket,
			"--refresh", (char *)refresh, "--limit", "objects=1M", "--limit", "nodes=1M",
			"--limit", "client_bytes=256M", "--limit", "clients=2048",
			limit ? "--limit" : NULL, (char *)limit, limit2 ? "--limit" : NULL, (char *)limit2,
			NULL };
		execv(b->server_path, argv);
		fprintf(stderr, "cannot run %s: %s\n", b->server_path, strerror(errno));
		_exit(127);
	}
	// Ready once it answers a round trip; give up after 20 s.
	for (int i = 0; i < 4000; i++) {
		int status;
		if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
			bench_fail("the server exited at start; see its log (%s): run with --server?",
				server->log);
		}
		if (access(server->socket, F_OK) == 0) {
			struct ts_display *display = ts_display_connect(server->socket, "bench-probe");
			if (display != NULL) {
				int rc = ts_display_roundtrip(display);
				ts_display_disconnect(display);
				if (rc == 0) {
					return;
				}
			}
		}
		sleep_ms(5);
	}
	bench_fail("the server did not answer within 20 s (log: %s)", server->log);
}

void bench_server_stop(struct bench_server *server) {
	if (server->pid > 0) {
		kill(server->pid, SIGTERM);
		int status;
		while (waitpid(server->pid, &status, 0) < 0 && errno == EINTR) {
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "tessera-bench: warning: the server ended badly (status %d); "
				"its log:\n", status);
			char cmd[160];
			snprintf(cmd, sizeof cmd, "tail -5 %s >&2", server->log);
			if (system(cmd) != 0) {
				fprintf(stderr, "(no log)\n");
			}
		}
		server->pid = 0;
	}
	unlink(server->log);
	unlink(server->socket);
	char lock[128];
	snprintf(lock, sizeof lock, "%s.lock", server->socket);
	unlink(lock);
	rmdir(server->dir);
}

void bench_server_explain(struct bench_server *server) {
	int status;
	if (server->pid > 0 && waitpid(server->pid, &status, WNOHANG) == server->pid) {
		server->pid = 0;
		if (WIFSIGNALED(status)) {
			fprintf(stderr, "tessera-bench: the server was killed by signal %d (%s)\n",
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		} else {
			fprintf(stderr, "tessera-bench: the server exited with status %d\n",
				WEXITSTATUS(status));
		}
	} else {
		fprintf(stderr, "tessera-bench: the server is still running\n");
	}
	fprintf(stderr, "tessera-bench: the end of its log (%s):\n", server->log);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "tail -8 %s >&2", server->log);
	if (system(cmd) != 0) {
		fprintf(stderr, "(no log)\n");
	}
}

// The number after @key in /proc/@pid/@file (e.g. "VmRSS:"), or -1.
static long proc_field(const char *path, const char *key) {
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	char line[256];
	long value = -1;
	size_t len = strlen(key);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, len) == 0) {
			value = strtol(line + len, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

long bench_rss_kib(pid_t pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	long kib = proc_field(path, "VmRSS:");
	if (kib < 0) {
		bench_fail("cannot read %s", path);
	}
	return kib;
}

uint64_t bench_cpu_ns(pid_t pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	FILE *f = fopen(path, "r");
	unsigned long long ns = 0;
	if (f == NULL || fscanf(f, "%llu", &ns) != 1) {
		bench_fail("cannot read %s", path);
	}
	fclose(f);
	return ns;
}

uint64_t bench_context_switches(pid_t pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		bench_fail("cannot read %s", path);
	}
	uint64_t total = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.') {
			continue;
		}
		char status[sizeof path + sizeof entry->d_name + 16];
		snprintf(status, sizeof status, "%s/%s/status", path, entry->d_name);
		long v = proc_field(status, "voluntary_ctxt_switches:");
		long nv = proc_field(status, "nonvoluntary_ctxt_switches:");
		total += (uint64_t)(v > 0 ? v : 0) + (uint64_t)(nv > 0 ? nv : 0);
	}
	closedir(dir);
	return total;
}

void bench_pin(pid_t pid, int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof set, &set) < 0) {
		bench_fail("sched_setaffinity: %s", strerror(errno));
	}
}

void bench_unpin(void) {
	cpu_set_t set;
	CPU_ZERO(&set);
	long n = sysconf(_SC_NPROCESSORS_CONF);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++) {
		CPU_SET((int)i, &set);
	}
	sched_setaffinity(0, sizeof set, &set);
}

void bench_rect_position(uint32_t i, uint32_t frame, int32_t *x, int32_t *y) {
	// A fixed spread over the screen, every rect drifting a few pixels a frame.
	uint32_t span_x = BENCH_WIDTH - BENCH_RECT_SIZE, span_y = BENCH_HEIGHT - BENCH_RECT_SIZE;
	*x = (int32_t)((i * 2654435761u % span_x + frame * 3) % span_x);
	*y = (int32_t)((i * 40503u % span_y + frame * 2) % span_y);
}

uint32_t bench_rect_color(uint32_t i) {
	static const uint32_t colors[] = { 0x4c9be8ff, 0xe8a34cff, 0x5cc46acc, 0xd95b7a99 };
	return colors[i % 4];
}

void bench_tree_group(uint32_t g, uint32_t frame, float *x, float *y, float *rotation,
		float *scale) {
	int32_t px, py;
	bench_rect_position(g, frame, &px, &py);
	*x = (float)px + BENCH_RECT_SIZE / 2.0f;
	*y = (float)py + BENCH_RECT_SIZE / 2.0f;
	*rotation = (float)((g * 37u + frame * 3u) % 360u);
	*scale = 0.75f + 0.05f * (float)((g + frame) % 10u);
}

void bench_tree_child(uint32_t k, float *x, float *y) {
	// Five across, two down, 16x16 rects with a gap: a 48-pixel group, 2x5 cells.
	*x = (float)(k % 5u) * 9.0f + 1.0f;
	*y = (float)(k / 5u) * 24.0f + 4.0f;
}
