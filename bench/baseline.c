/*
 * Baselines: what this machine does with no Tessera in the way. Each runs in processes
 * of its own, measured in the same run as the scenarios it is compared with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <epoxy/gl.h>

#include "backend.h"
#include "log.h"
#include "bench.h"

static void write_all(int fd, const void *data, size_t len) {
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			_exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, void *data, size_t len) {
	char *p = data;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			_exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
}

static void reap(pid_t pid) {
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_fail("a baseline process failed (status %d)", status);
	}
}

double bench_pingpong_us(uint32_t iterations) {
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		bench_fail("socketpair: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	uint64_t msg = 0;
	if (pid == 0) {
		close(sv[0]);
		for (uint32_t i = 0; i < iterations; i++) {
			read_all(sv[1], &msg, sizeof msg);
			write_all(sv[1], &msg, sizeof msg);
		}
		_exit(0);
	}
	close(sv[1]);
	uint64_t start = bench_now_ns();
	for (uint32_t i = 0; i < iterations; i++) {
		msg = i;
		write_all(sv[0], &msg, sizeof msg);
		read_all(sv[0], &msg, sizeof msg);
	}
	uint64_t took = bench_now_ns() - start;
	close(sv[0]);
	reap(pid);
	return (double)took / 1e3 / iterations;
}

void run_raw_bulk(struct bench *b) {
	enum { CHUNK = 64 * 1024 };
	size_t total = (size_t)(b->quick ? 256 : 1024) << 20;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		bench_fail("socketpair: %s", strerror(errno));
	}
	static char buf[CHUNK];
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		size_t got = 0;
		while (got < total) {
			ssize_t n = read(sv[1], buf, sizeof buf);
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n <= 0) {
				_exit(3);
			}
			got += (size_t)n;
		}
		write_all(sv[1], "k", 1); // everything arrived
		_exit(0);
	}
	close(sv[1]);
	memset(buf, 0x5a, sizeof buf);
	uint64_t start = bench_now_ns();
	for (size_t sent = 0; sent < total; sent += CHUNK) {
		write_all(sv[0], buf, CHUNK);
	}
	char ack;
	read_all(sv[0], &ack, 1);
	uint64_t took = bench_now_ns() - start;
	close(sv[0]);
	reap(pid);
	double bytes_per_s = (double)total / ((double)took / 1e9);
	bench_record(b, "raw_bulk_gbps", bytes_per_s / 1e9);
	// The rate the socket alone allows for the scenarios' message sizes.
	bench_record(b, "raw_bulk_msgs_per_s_20b", bytes_per_s / 20);
	bench_record(b, "raw_bulk_msgs_per_s_12b", bytes_per_s / 12);
}

/* ---- a thousand connections to a minimal poll() server ---- */

// The child: accepts @n clients on @listen_fd and answers each one's first 8 bytes.
static int echo_server(int listen_fd, int n) {
	struct pollfd *pfds = calloc((size_t)n + 1, sizeof *pfds);
	if (pfds == NULL) {
		return 2;
	}
	pfds[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	int count = 1, answered = 0;
	while (answered < n) {
		if (poll(pfds, (nfds_t)count, -1) < 0) {
			return 2;
		}
		int ready = count; // those accepted below wait for the next round
		for (int i = 1; i < ready; i++) {
			char msg[8];
			if ((pfds[i].revents & POLLIN) && read(pfds[i].fd, msg, sizeof msg) == 8) {
				write_all(pfds[i].fd, msg, sizeof msg);
				pfds[i].events = 0;
				answered++;
			}
		}
		for (int k = 0; k < 64 && (pfds[0].revents & POLLIN) && count <= n; k++) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0) {
				break;
			}
			pfds[count++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
	}
	return 0;
}

void run_raw_connect(struct bench *b) {
	enum { N = 1000 };
	char dir[] = "/tmp/tessera-bench-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		bench_fail("mkdtemp: %s", strerror(errno));
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s/s", dir);
	int listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0
			|| listen(listen_fd, SOMAXCONN) < 0) {
		bench_fail("cannot listen on %s: %s", addr.sun_path, strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		_exit(echo_server(listen_fd, N));
	}
	close(listen_fd);
	double ms = bench_connect_storm(addr.sun_path, N, 0, NULL);
	reap(pid);
	unlink(addr.sun_path);
	rmdir(dir);
	bench_record(b, "raw_connect_1000_ms", ms);
}

/* ---- plain GLES 2: the same quads, one draw call, no protocol, no scene ---- */

static const char *const vert_src =
	"#version 100\n"
	"uniform vec2 u_scale;\n"
	"attribute vec2 a_pos;\n"
	"attribute vec4 a_color;\n"
	"varying vec4 v_color;\n"
	"void main() {\n"
	"  v_color = a_color;\n"
	"  gl_Position = vec4(a_pos * u_scale + vec2(-1.0, 1.0), 0.0, 1.0);\n"
	"}\n";
static const char *const frag_src =
	"#version 100\n"
	"precision mediump float;\n"
	"varying vec4 v_color;\n"
	"void main() { gl_FragColor = v_color; }\n";

struct gl_vertex {
	float x, y;
	uint8_t rgba[4];
};

static GLuint gl_program(void) {
	GLuint program = glCreateProgram();
	const char *const sources[] = { vert_src, frag_src };
	const GLenum types[] = { GL_VERTEX_SHADER, GL_FRAGMENT_SHADER };
	for (int i = 0; i < 2; i++) {
		GLuint shader = glCreateShader(types[i]);
		glShaderSource(shader, 1, &sources[i], NULL);
		glCompileShader(shader);
		glAttachShader(program, shader);
		glDeleteShader(shader);
	}
	glBindAttribLocation(program, 0, "a_pos");
	glBindAttribLocation(program, 1, "a_color");
	glLinkProgram(program);
	GLint ok = 0;
	glGetProgramiv(program, GL_LINK_STATUS, &ok);
	return ok ? program : 0;
}

// Fills the vertices of @n quads as they are in @frame.
static void gl_fill(struct gl_vertex *v, uint32_t n, uint32_t frame) {
	for (uint32_t i = 0; i < n; i++, v += 6) {
		int32_t x, y;
		bench_rect_position(i, frame, &x, &y);
		uint32_t c = bench_rect_color(i), a = c & 0xff;
		uint8_t rgba[4] = {
			(uint8_t)(((c >> 24) * a + 127) / 255), (uint8_t)(((c >> 16 & 0xff) * a + 127) / 255),
			(uint8_t)(((c >> 8 & 0xff) * a + 127) / 255), (uint8_t)a,
		};
		float x0 = (float)x, y0 = (float)y;
		float x1 = x0 + BENCH_RECT_SIZE, y1 = y0 + BENCH_RECT_SIZE;
		const float corners[6][2] = {
			{ x0, y0 }, { x1, y0 }, { x0, y1 }, { x1, y0 }, { x1, y1 }, { x0, y1 },
		};
		for (int k = 0; k < 6; k++) {
			v[k].x = corners[k][0];
			v[k].y = corners[k][1];
			memcpy(v[k].rgba, rgba, 4);
		}
	}
}

// Fills the vertices of @n quads of the tree scenario as they are in @frame: each
// group's transform (turn and scale about its centre, then move) composed once and
// applied to the corners of its children, as a scene graph must.
static void gl_fill_tree(struct gl_vertex *v, uint32_t n, uint32_t frame) {
	const float half = BENCH_TREE_GROUP_SIZE / 2.0f;
	for (uint32_t g = 0; g * BENCH_TREE_GROUP < n; g++) {
		float gx, gy, rotation, scale;
		bench_tree_group(g, frame, &gx, &gy, &rotation, &scale);
		float rad = rotation * 3.14159265f / 180.0f;
		float a = cosf(rad) * scale, b = sinf(rad) * scale;
		// x' = a x - b y + e, y' = b x + a y + f, with the group's centre at (gx, gy).
		float e = gx - (a * half - b * half), f = gy - (b * half + a * half);
		for (uint32_t k = 0; k < BENCH_TREE_GROUP && g * BENCH_TREE_GROUP + k < n; k++, v += 6) {
			uint32_t i = g * BENCH_TREE_GROUP + k;
			uint32_t c = bench_rect_color(i), al = c & 0xff;
			uint8_t rgba[4] = {
				(uint8_t)(((c >> 24) * al + 127) / 255),
				(uint8_t)(((c >> 16 & 0xff) * al + 127) / 255),
				(uint8_t)(((c >> 8 & 0xff) * al + 127) / 255), (uint8_t)al,
			};
			float lx, ly;
			bench_tree_child(k, &lx, &ly);
			const float local[4][2] = {
				{ lx, ly }, { lx + BENCH_RECT_SIZE, ly },
				{ lx, ly + BENCH_RECT_SIZE }, { lx + BENCH_RECT_SIZE, ly + BENCH_RECT_SIZE },
			};
			float sx[4], sy[4];
			for (int q = 0; q < 4; q++) {
				sx[q] = a * local[q][0] - b * local[q][1] + e;
				sy[q] = b * local[q][0] + a * local[q][1] + f;
			}
			static const int order[6] = { 0, 1, 2, 1, 3, 2 };
			for (int q = 0; q < 6; q++) {
				v[q].x = sx[order[q]];
				v[q].y = sy[order[q]];
				memcpy(v[q].rgba, rgba, 4);
			}
		}
	}
}

// Child process: draws @frames frames of @n quads (of the tree scenario when @tree);
// writes ms per frame to @out.
static int gl_child(uint32_t n, uint32_t frames, bool tree, int out) {
	log_set_level(LOG_ERROR);
	// llvmpipe allocates its vertex and bin buffers per draw: in a process this small,
	// glibc would map (or grow the heap for) and give back megabytes every frame, and
	// the page faults would double the frame. A long-running process with a busy heap
	// (the server) keeps that memory; so does this one.
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	struct backend *backend = backend_headless_create(BENCH_WIDTH, BENCH_HEIGHT);
	if (backend == NULL || !backend->impl->begin_frame(backend)) {
		return 2;
	}
	GLuint program = gl_program();
	if (program == 0) {
		return 2;
	}
	GLuint vbo;
	glGenBuffers(1, &vbo);
	struct gl_vertex *verts = malloc((size_t)n * 6 * sizeof *verts);
	if (verts == NULL) {
		return 2;
	}
	glUseProgram(program);
	glUniform2f(glGetUniformLocation(program, "u_scale"), 2.0f / BENCH_WIDTH,
		-2.0f / BENCH_HEIGHT);
	glEnable(GL_BLEND);
	glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
	uint64_t start = 0;
	const uint32_t warmup = 3;
	for (uint32_t f = 0; f < warmup + frames; f++) {
		if (f == warmup) {
			start = bench_now_ns();
		}
		if (tree) {
			gl_fill_tree(verts, n, f);
		} else {
			gl_fill(verts, n, f);
		}
		glClearColor(0.125f, 0.157f, 0.2f, 1.0f);
		glClear(GL_COLOR_BUFFER_BIT);
		glBindBuffer(GL_ARRAY_BUFFER, vbo);
		glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)((size_t)n * 6 * sizeof *verts), verts,
			GL_STREAM_DRAW);
		glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof *verts,
			(const void *)offsetof(struct gl_vertex, x));
		glVertexAttribPointer(1, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof *verts,
			(const void *)offsetof(struct gl_vertex, rgba));
		glEnableVertexAttribArray(0);
		glEnableVertexAttribArray(1);
		glDrawArrays(GL_TRIANGLES, 0, (GLsizei)(n * 6));
		glFinish();
	}
	double ms = (double)(bench_now_ns() - start) / 1e6 / frames;
	if (glGetError() != GL_NO_ERROR) {
		return 2;
	}
	write_all(out, &ms, sizeof ms);
	free(verts);
	glDeleteBuffers(1, &vbo);
	glDeleteProgram(program);
	backend_destroy(backend);
	return 0;
}

static double gl_frame_ms(uint32_t n, uint32_t frames, bool tree) {
	int fds[2];
	if (pipe(fds) < 0) {
		bench_fail("pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		_exit(gl_child(n, frames, tree, fds[1]));
	}
	close(fds[1]);
	double ms = 0;
	ssize_t got = read(fds[0], &ms, sizeof ms);
	close(fds[0]);
	reap(pid);
	if (got != (ssize_t)sizeof ms) {
		bench_fail("the plain GL baseline drew nothing");
	}
	return ms;
}

double bench_gl_frame_ms(uint32_t n, uint32_t frames) {
	return gl_frame_ms(n, frames, false);
}

double bench_gl_tree_frame_ms(uint32_t n, uint32_t frames) {
	return gl_frame_ms(n, frames, true);
}
