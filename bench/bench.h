/*
 * tessera-bench: shared pieces of the harness. main.c runs the runners and prints the
 * table; baseline.c measures what the machine itself can do (raw sockets, plain GL);
 * scenarios.c measures the server through the real client library.
 */
#ifndef TESSERA_BENCH_H
#define TESSERA_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ts_display;

#define BENCH_WIDTH 1280
#define BENCH_HEIGHT 720
#define BENCH_RECT_SIZE 16

struct bench {
	bool quick;
	const char *server_path;  // the tessera binary to start
	const char *only;         // --only NAME, or NULL
	int runs;                 // runs per runner
	// Filled by a run: one sample per metric it measures.
	struct sample {
		const char *metric;
		double value;
	} samples[64];
	size_t nsamples;
};

/** Records one measured value of @metric for the current run. */
void bench_record(struct bench *b, const char *metric, double value);

/** Prints "tessera-bench: ..." to stderr and exits with status 1. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

uint64_t bench_now_ns(void);

/** A headless server started for one run, on a socket in its own temporary folder. */
struct bench_server {
	pid_t pid;
	char dir[64];
	char socket[96];
	char log[96];
};

/**
 * Starts `tessera --headless --size 1280x720 --refresh @refresh` and waits until it
 * answers. BENCH_PACED is the default 60 Hz of a real display; BENCH_UNPACED ("0")
 * draws as soon as something changed, for the scenarios that time frames.
 */
void bench_server_start(struct bench *b, struct bench_server *server, const char *refresh);
/** The same with one more `--limit NAME=VALUE` (@limit), or none when it is NULL. */
void bench_server_start_limit(struct bench *b, struct bench_server *server,
	const char *refresh, const char *limit);
/** The same with two (@limit2 NULL: one); @limit2 only counts when @limit is set. */
void bench_server_start_limit2(struct bench *b, struct bench_server *server,
	const char *refresh, const char *limit, const char *limit2);
#define BENCH_PACED "60"
#define BENCH_UNPACED "0"
/** After something went wrong: says whether the server is still running (or how it
 *  ended) and prints the end of its log, to stderr. */
void bench_server_explain(struct bench_server *server);
/** SIGTERM, wait, remove the folder. */
void bench_server_stop(struct bench_server *server);

/** Resident set of @pid in KiB (VmRSS). */
long bench_rss_kib(pid_t pid);
/** CPU time of @pid's main thread in ns (first field of /proc/PID/schedstat). */
uint64_t bench_cpu_ns(pid_t pid);
/** Context switches (voluntary + involuntary) of every thread of @pid. */
uint64_t bench_context_switches(pid_t pid);

/** Pins @pid (0: the caller) to CPU @cpu. */
void bench_pin(pid_t pid, int cpu);
/** Lets the caller run on every CPU again. */
void bench_unpin(void);

/** Where rect @i of @n is in frame @frame: the same walk for the server and plain GL. */
void bench_rect_position(uint32_t i, uint32_t frame, int32_t *x, int32_t *y);
/** Colour of rect @i (0xRRGGBBAA). */
uint32_t bench_rect_color(uint32_t i);

/**
 * The tree scenario: rects in groups of BENCH_TREE_GROUP, each group turned, scaled and
 * moved every frame. Where group @g is in @frame (its centre, in pixels), and how it is
 * turned (degrees) and scaled; the same for the server and plain GL.
 */
#define BENCH_TREE_GROUP 10
#define BENCH_TREE_GROUP_SIZE 48 // a group's side in its own pixels
void bench_tree_group(uint32_t g, uint32_t frame, float *x, float *y, float *rotation,
	float *scale);
/** Where child @k of a group sits in the group's space (its top-left corner). */
void bench_tree_child(uint32_t k, float *x, float *y);

/**
 * Connects @n clients to @path at once and waits until each has its answer; returns
 * the milliseconds that took. With @server > 0 they speak Tessera (hello and sync,
 * answered by welcome and done) and *@rss_growth_kib is the server's RSS growth while
 * all are connected; with 0 each sends 8 bytes and waits for them back (the raw
 * baseline server) and *@rss_growth_kib is 0. @rss_growth_kib may be NULL; when it is
 * not, it is always set. The clients disconnect before it returns.
 */
double bench_connect_storm(const char *path, uint32_t n, pid_t server, long *rss_growth_kib);

/** Two processes bouncing 8 bytes over a socketpair; µs per round trip. */
double bench_pingpong_us(uint32_t iterations);

/**
 * ms per frame of @n 16x16 quads moving every frame, drawn with one plain GLES 2 draw
 * call into a 1280x720 offscreen framebuffer (in a child process), over @frames frames.
 */
double bench_gl_frame_ms(uint32_t n, uint32_t frames);

/**
 * The same for @n quads of the tree scenario: every group's transform composed on the
 * CPU and applied to its children's corners, one draw call.
 */
double bench_gl_tree_frame_ms(uint32_t n, uint32_t frames);

/* Client helpers of the scenarios (scenarios.c); each fails the run on error. */
struct ts_display *bench_connect_or_fail(struct bench_server *server, const char *name);
void bench_check(struct ts_display *display, int rc, const char *what);
/** Commits with a frame callback and waits for it: the frame shows the commit. */
void bench_commit_and_wait_frame(struct ts_display *display);
/** Objects other clients hold, and the last cleanup's time in *@cleanup_us. */
uint32_t bench_other_objects(struct ts_display *display, uint32_t *cleanup_us);
/**
 * Forks a client @name of @server that makes its objects with @make(display, @data),
 * commits and waits for the frame that shows them, then waits to be killed. Returns
 * its pid once it is ready.
 */
pid_t bench_victim_start(struct bench_server *server, const char *name,
	void (*make)(struct ts_display *display, const void *data), const void *data);

/* Runners: each does one run and records its metrics. */
void run_raw_bulk(struct bench *b);
void run_raw_connect(struct bench *b);
void run_roundtrip(struct bench *b);
void run_set_position(struct bench *b);
void run_objects(struct bench *b);
void run_cleanup(struct bench *b);
void run_frames(struct bench *b);
void run_tree(struct bench *b);
void run_tree_server(struct bench *b);
void run_memory(struct bench *b);
void run_clients(struct bench *b);
void run_idle(struct bench *b);
void run_fairness(struct bench *b);
void run_emfile(struct bench *b);
void run_text_layout(struct bench *b);
void run_text_frames(struct bench *b);
void run_text_commit(struct bench *b);
void run_sprite_frames(struct bench *b);
void run_image_update(struct bench *b);
void run_image_cleanup(struct bench *b);
void run_loops(struct bench *b);
void run_pacing(struct bench *b);
void run_anim(struct bench *b);

#endif
