/*
 * tessera-bench [--quick] [--json] [--only NAME] [--runs N] [--server PATH]
 *
 * Runs every runner several times (each run against a fresh headless server), then
 * prints the median, min and max of each metric next to the baseline measured in the
 * same run and their ratio. See bench/README.md for what each figure means.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

enum goal { NONE, AT_MOST, AT_LEAST, RATIO_AT_MOST, RATIO_AT_LEAST };

struct metric {
	const char *name;
	const char *unit;
	const char *baseline;   // metric it is compared with, or NULL
	enum goal goal;
	double target;          // for the goal: a value, or a ratio to the baseline
	double values[32];      // one per run
	int count;
};

#define M(n, u, b, g, t) { .name = n, .unit = u, .baseline = b, .goal = g, .target = t }
static struct metric metrics[] = {
	M("raw_pingpong_us", "us", NULL, NONE, 0),
	M("raw_pingpong_pinned_us", "us", NULL, NONE, 0),
	M("raw_bulk_gbps", "GB/s", NULL, NONE, 0),
	M("raw_bulk_msgs_per_s_20b", "msg/s", NULL, NONE, 0),
	M("raw_bulk_msgs_per_s_12b", "msg/s", NULL, NONE, 0),
	M("raw_gl_frame_ms_1k", "ms", NULL, NONE, 0),
	M("raw_gl_frame_ms_10k", "ms", NULL, NONE, 0),
	M("raw_gl_frame_ms_100k", "ms", NULL, NONE, 0),
	M("raw_gl_tree_frame_ms_1k", "ms", NULL, NONE, 0),
	M("raw_gl_tree_frame_ms_10k", "ms", NULL, NONE, 0),
	M("raw_gl_tree_frame_ms_100k", "ms", NULL, NONE, 0),
	M("tree_build_ms_1k", "ms", "raw_gl_tree_frame_ms_1k", NONE, 0),
	M("tree_build_ms_10k", "ms", "raw_gl_tree_frame_ms_10k", NONE, 0),
	M("tree_build_ms_100k", "ms", "raw_gl_tree_frame_ms_100k", NONE, 0),
	M("frame_ms_tree_1k", "ms", "raw_gl_tree_frame_ms_1k", RATIO_AT_MOST, 1.3),
	M("frame_ms_tree_10k", "ms", "raw_gl_tree_frame_ms_10k", RATIO_AT_MOST, 1.3),
	M("frame_ms_tree_100k", "ms", "raw_gl_tree_frame_ms_100k", RATIO_AT_MOST, 1.3),
	M("draw_calls_10k", "calls", NULL, AT_MOST, 2),
	M("full_repaint_frame_ms_10k", "ms", NULL, NONE, 0),
	M("damage_frame_ms_10k", "ms", "full_repaint_frame_ms_10k", RATIO_AT_MOST, 0.2),
	M("damaged_pixels_32", "px", NULL, AT_MOST, 2 * 2 * 32 * 32),
	M("cleanup_ms_100k_tree", "ms", NULL, AT_MOST, 1.0),
	M("bytes_per_node", "B", NULL, AT_MOST, 64),
	M("hb_shape_us", "us", NULL, NONE, 0),
	M("text_layout_us", "us", "hb_shape_us", NONE, 0), // the ratio is informational
	M("raw_gl_text_frame_ms_10k", "ms", NULL, NONE, 0),
	M("frame_ms_text_10k", "ms", "raw_gl_text_frame_ms_10k", RATIO_AT_MOST, 1.3),
	M("draw_calls_text_10k", "calls", NULL, AT_MOST, 3),
	M("text_commit_missed_frames", "frames", NULL, AT_MOST, 1),
	M("text_commit_ms", "ms", NULL, NONE, 0),
	M("text_commit_worst_gap_ms", "ms", NULL, NONE, 0),
	M("raw_gl_sprites_frame_ms_1000", "ms", NULL, NONE, 0),
	M("frame_ms_sprites_1000", "ms", "raw_gl_sprites_frame_ms_1000", RATIO_AT_MOST, 1.3),
	M("draw_calls_sprites_1000", "calls", NULL, AT_MOST, 2),
	M("raw_gl_texsubimage_us", "us", NULL, NONE, 0),
	M("image_update_us", "us", "raw_gl_texsubimage_us", RATIO_AT_MOST, 1.3),
	M("image_update_commit_us", "us", NULL, NONE, 0),
	M("image_update_empty_commit_us", "us", NULL, NONE, 0),
	M("image_update_bytes", "B", NULL, AT_MOST, 256 * 256 * 4),
	M("cleanup_ms_images_texts", "ms", NULL, AT_MOST, 1.0),
	M("raw_pingpong_loops_us", "us", NULL, NONE, 0),
#define LOOP(l, n) \
	M("loop_rt_us_" l "_" n, "us", "raw_pingpong_loops_us", NONE, 0), \
	M("loop_req_per_s_" l "_" n "_one", "req/s", NULL, NONE, 0), \
	M("loop_req_per_s_" l "_" n "_tenth", "req/s", NULL, NONE, 0), \
	M("loop_req_per_s_" l "_" n "_all", "req/s", NULL, NONE, 0)
	LOOP("poll", "10"), LOOP("poll", "100"), LOOP("poll", "1000"),
	LOOP("epoll", "10"), LOOP("epoll", "100"),
	M("loop_rt_us_epoll_1000", "us", "raw_pingpong_loops_us", RATIO_AT_MOST, 1.1),
	M("loop_req_per_s_epoll_1000_one", "req/s", NULL, NONE, 0),
	M("loop_req_per_s_epoll_1000_tenth", "req/s", NULL, NONE, 0),
	M("loop_req_per_s_epoll_1000_all", "req/s", NULL, NONE, 0),
#undef LOOP
	M("raw_gl_anim_frame_ms_10k", "ms", NULL, NONE, 0),
	M("frame_ms_anim_10k", "ms", "raw_gl_anim_frame_ms_10k", RATIO_AT_MOST, 1.3),
	M("anim_server_ns_per_node_1k", "ns", NULL, AT_MOST, 50),
	M("anim_server_ns_per_node_10k", "ns", NULL, AT_MOST, 50),
	M("commit_to_present_ms_1", "ms", NULL, NONE, 0),
	M("commit_to_present_p99_ms_1", "ms", NULL, AT_MOST, 2 * 1000.0 / 60),
	M("commit_render_ms_1", "ms", NULL, NONE, 0),
	M("commit_to_present_ms_50", "ms", NULL, NONE, 0),
	M("commit_to_present_p99_ms_50", "ms", NULL, AT_MOST, 2 * 1000.0 / 60),
	M("commit_render_ms_50", "ms", NULL, NONE, 0),
	M("roundtrip_us", "us", "raw_pingpong_us", RATIO_AT_MOST, 1.1),
	M("roundtrip_pinned_us", "us", "raw_pingpong_pinned_us", RATIO_AT_MOST, 1.1),
	M("set_position_msgs_per_s", "msg/s", "raw_bulk_msgs_per_s_20b", AT_LEAST, 40e6),
	M("set_position_server_ns", "ns", NULL, AT_MOST, 20),
	M("set_position_client_ns", "ns", NULL, NONE, 0),
	M("create_objects_per_s", "obj/s", "raw_bulk_msgs_per_s_12b", AT_LEAST, 10e6),
	M("create_server_ns", "ns", NULL, NONE, 0),
	M("destroy_objects_per_s", "obj/s", "raw_bulk_msgs_per_s_12b", NONE, 0),
	M("cleanup_ms_100k", "ms", NULL, AT_MOST, 1.0),
	M("cleanup_frame_ms_100k", "ms", NULL, NONE, 0),
	M("frame_ms_1k", "ms", "raw_gl_frame_ms_1k", RATIO_AT_MOST, 1.3),
	M("frame_ms_10k", "ms", "raw_gl_frame_ms_10k", RATIO_AT_MOST, 1.3),
	M("frame_ms_100k", "ms", "raw_gl_frame_ms_100k", RATIO_AT_MOST, 1.3),
	M("bytes_per_object", "B", NULL, AT_MOST, 64),
	M("bytes_per_object_drawn", "B", NULL, NONE, 0),
	M("bytes_per_client", "B", NULL, AT_MOST, 4096),
	M("raw_connect_1000_ms", "ms", NULL, NONE, 0),
	M("connect_1000_ms", "ms", "raw_connect_1000_ms", AT_MOST, 25),
	M("connect_1000_server_cpu_ms", "ms", NULL, NONE, 0),
	M("idle_wakeups_per_s", "1/s", NULL, AT_MOST, 0),
	M("emfile_server_cpu_pct", "%", NULL, AT_MOST, 50),
#define FAIRNESS(c, fps_goal) \
	M("fairness_fps_" c, "fps", "fairness_fps_alone", fps_goal, 0.9), \
	M("fairness_worst_gap_ms_" c, "ms", "fairness_worst_gap_ms_alone", NONE, 0), \
	M("fairness_server_cpu_pct_" c, "%", NULL, NONE, 0), \
	M("fairness_server_wait_pct_" c, "%", NULL, NONE, 0), \
	M("fairness_client_wait_pct_" c, "%", NULL, NONE, 0), \
	M("fairness_others_cpu_pct_" c, "%", NULL, NONE, 0)
	M("fairness_fps_alone", "fps", NULL, NONE, 0),
	M("fairness_worst_gap_ms_alone", "ms", NULL, NONE, 0),
	M("fairness_server_cpu_pct_alone", "%", NULL, NONE, 0),
	M("fairness_server_wait_pct_alone", "%", NULL, NONE, 0),
	M("fairness_client_wait_pct_alone", "%", NULL, NONE, 0),
	M("fairness_others_cpu_pct_alone", "%", NULL, NONE, 0),
	FAIRNESS("50_stuck", RATIO_AT_LEAST),
	FAIRNESS("50_silent", RATIO_AT_LEAST),
	FAIRNESS("50_flooding", RATIO_AT_LEAST),
	M("fairness_requests_per_s_50_flooding", "req/s", NULL, NONE, 0),
	FAIRNESS("50_syncing", RATIO_AT_LEAST),
	M("fairness_requests_per_s_50_syncing", "req/s", NULL, NONE, 0),
	FAIRNESS("50_flooding_bg", NONE),
	M("fairness_requests_per_s_50_flooding_bg", "req/s", NULL, NONE, 0),
	FAIRNESS("50_syncing_bg", NONE),
	M("fairness_requests_per_s_50_syncing_bg", "req/s", NULL, NONE, 0),
#undef FAIRNESS
};
#undef M
#define METRIC_COUNT (sizeof metrics / sizeof metrics[0])

struct runner {
	const char *name;
	void (*run)(struct bench *b);
	const char *produces[8]; // metric name prefixes this runner records
	bool selected;
};

static struct runner runners[] = {
	{ .name = "raw_bulk", .run = run_raw_bulk, .produces = { "raw_bulk_" } },
	{ .name = "raw_connect", .run = run_raw_connect, .produces = { "raw_connect_" } },
	{ .name = "roundtrip", .run = run_roundtrip, .produces = { "roundtrip_", "raw_pingpong_us",
		"raw_pingpong_pinned_" } },
	{ .name = "loops", .run = run_loops, .produces = { "loop_", "raw_pingpong_loops_" } },
	{ .name = "anim", .run = run_anim, .produces = { "anim_", "frame_ms_anim_",
		"raw_gl_anim_" } },
	{ .name = "pacing", .run = run_pacing, .produces = { "commit_to_present_", "commit_render_" } },
	{ .name = "set_position", .run = run_set_position, .produces = { "set_position_" } },
	{ .name = "objects", .run = run_objects, .produces = { "create_", "destroy_objects_" } },
	{ .name = "cleanup", .run = run_cleanup, .produces = { "cleanup_" } },
	{ .name = "frames", .run = run_frames, .produces = { "frame_ms_", "raw_gl_frame_ms_" } },
	{ .name = "tree", .run = run_tree, .produces = { "raw_gl_tree_frame_ms_", "tree_build_ms_" } },
	{ .name = "tree_server", .run = run_tree_server, .produces = { "frame_ms_tree_",
		"draw_calls_", "full_repaint_", "damage", "cleanup_ms_100k_tree", "bytes_per_node" } },
	{ .name = "text_layout", .run = run_text_layout, .produces = { "text_layout_",
		"hb_shape_" } },
	{ .name = "text_frames", .run = run_text_frames, .produces = { "frame_ms_text_",
		"raw_gl_text_", "draw_calls_text_" } },
	{ .name = "text_commit", .run = run_text_commit, .produces = { "text_commit_" } },
	{ .name = "sprite_frames", .run = run_sprite_frames, .produces = { "frame_ms_sprites_",
		"raw_gl_sprites_", "draw_calls_sprites_" } },
	{ .name = "image_update", .run = run_image_update, .produces = { "image_update_",
		"raw_gl_texsubimage_" } },
	{ .name = "image_cleanup", .run = run_image_cleanup, .produces = {
		"cleanup_ms_images_texts" } },
	{ .name = "memory", .run = run_memory, .produces = { "bytes_per_object" } },
	{ .name = "clients", .run = run_clients, .produces = { "bytes_per_client", "connect_1000_" } },
	{ .name = "idle", .run = run_idle, .produces = { "idle_wakeups_per_s" } },
	{ .name = "emfile", .run = run_emfile, .produces = { "emfile_" } },
	{ .name = "fairness", .run = run_fairness, .produces = { "fairness_" } },
};
#define RUNNER_COUNT (sizeof runners / sizeof runners[0])

static struct metric *find_metric(const char *name) {
	for (size_t i = 0; i < METRIC_COUNT; i++) {
		if (strcmp(metrics[i].name, name) == 0) {
			return &metrics[i];
		}
	}
	return NULL;
}

// The runner of @metric: the one with the longest prefix of it (frame_ms_tree_ over
// frame_ms_, cleanup_ms_100k_tree over cleanup_).
static struct runner *runner_of(const char *metric) {
	struct runner *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < RUNNER_COUNT; i++) {
		for (size_t k = 0; k < 8 && runners[i].produces[k]; k++) {
			const char *prefix = runners[i].produces[k];
			size_t len = strlen(prefix);
			if (len > best_len && strncmp(metric, prefix, len) == 0) {
				best = &runners[i];
				best_len = len;
			}
		}
	}
	return best;
}

static int compare_doubles(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(struct metric *m) {
	double sorted[32];
	memcpy(sorted, m->values, (size_t)m->count * sizeof *sorted);
	qsort(sorted, (size_t)m->count, sizeof *sorted, compare_doubles);
	return m->count % 2 ? sorted[m->count / 2]
		: (sorted[m->count / 2 - 1] + sorted[m->count / 2]) / 2;
}

static double min_of(const struct metric *m) {
	double v = m->values[0];
	for (int i = 1; i < m->count; i++) {
		v = m->values[i] < v ? m->values[i] : v;
	}
	return v;
}

static double max_of(const struct metric *m) {
	double v = m->values[0];
	for (int i = 1; i < m->count; i++) {
		v = m->values[i] > v ? m->values[i] : v;
	}
	return v;
}

// The ratio to the baseline, or NAN when there is none.
static double ratio_of(struct metric *m) {
	struct metric *base = m->baseline ? find_metric(m->baseline) : NULL;
	if (base == NULL || base->count == 0 || median(base) == 0) {
		return NAN;
	}
	return median(m) / median(base);
}

// 1: met, 0: missed, -1: no target.
static int target_met(struct metric *m) {
	switch (m->goal) {
	case AT_MOST:
		return median(m) <= m->target;
	case AT_LEAST:
		return median(m) >= m->target;
	case RATIO_AT_MOST:
	case RATIO_AT_LEAST: {
		double r = ratio_of(m);
		return isnan(r) ? -1 : m->goal == RATIO_AT_MOST ? r <= m->target : r >= m->target;
	}
	default:
		return -1;
	}
}

static const char *target_text(const struct metric *m, char *buf, size_t cap) {
	switch (m->goal) {
	case AT_MOST:
		snprintf(buf, cap, "<= %g", m->target);
		break;
	case AT_LEAST:
		snprintf(buf, cap, ">= %g", m->target);
		break;
	case RATIO_AT_MOST:
		snprintf(buf, cap, "ratio <= %g", m->target);
		break;
	case RATIO_AT_LEAST:
		snprintf(buf, cap, "ratio >= %g", m->target);
		break;
	default:
		snprintf(buf, cap, "-");
	}
	return buf;
}

static void print_table(void) {
	printf("%-42s %12s %12s %12s %-6s %12s %8s  %s\n", "metric", "median", "min", "max",
		"unit", "baseline", "ratio", "target");
	for (size_t i = 0; i < METRIC_COUNT; i++) {
		struct metric *m = &metrics[i];
		if (m->count == 0) {
			continue;
		}
		char base[32] = "-", ratio[32] = "-", target[32];
		double r = ratio_of(m);
		if (!isnan(r)) {
			snprintf(base, sizeof base, "%.4g", median(find_metric(m->baseline)));
			snprintf(ratio, sizeof ratio, "%.3f", r);
		}
		int met = target_met(m);
		printf("%-42s %12.4g %12.4g %12.4g %-6s %12s %8s  %s%s\n", m->name, median(m),
			min_of(m), max_of(m), m->unit, base, ratio, target_text(m, target, sizeof target),
			met < 0 ? "" : met ? "  met" : "  MISSED");
	}
}

static void print_json(const struct bench *b) {
	printf("{\n  \"quick\": %s,\n  \"runs\": %d,\n  \"cpus\": %ld,\n  \"scenarios\": {",
		b->quick ? "true" : "false", b->runs, sysconf(_SC_NPROCESSORS_ONLN));
	const char *sep = "\n";
	for (size_t i = 0; i < METRIC_COUNT; i++) {
		struct metric *m = &metrics[i];
		if (m->count == 0) {
			continue;
		}
		printf("%s    \"%s\": { \"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"unit\": \"%s\"",
			sep, m->name, median(m), min_of(m), max_of(m), m->unit);
		double r = ratio_of(m);
		if (!isnan(r)) {
			printf(", \"baseline\": \"%s\", \"baseline_median\": %.6g, \"ratio\": %.4f",
				m->baseline, median(find_metric(m->baseline)), r);
		}
		int met = target_met(m);
		if (met >= 0) {
			char target[32];
			printf(", \"target\": \"%s\", \"met\": %s", target_text(m, target, sizeof target),
				met ? "true" : "false");
		}
		printf(" }");
		sep = ",\n";
	}
	printf("\n  }\n}\n");
}

static void usage(FILE *out) {
	fprintf(out,
		"usage: tessera-bench [--quick] [--json] [--only NAME] [--runs N] [--server PATH]\n"
		"  --quick        fewer iterations and runs (finishes in under two minutes)\n"
		"  --json         print the results as JSON instead of a table\n"
		"  --only NAME    only the runner of metric (or runner) NAME, and its baseline's\n"
		"                 (a fairness_* metric: its condition and alone)\n"
		"  --runs N       runs per runner (default 5, or 3 with --quick)\n"
		"  --server PATH  the tessera binary to measure (default: the one built with it)\n");
}

static void select_for(const char *name) {
	struct runner *r = NULL;
	for (size_t i = 0; i < RUNNER_COUNT; i++) {
		if (strcmp(runners[i].name, name) == 0) {
			r = &runners[i];
		}
	}
	if (r == NULL) {
		r = runner_of(name);
	}
	if (r == NULL) {
		bench_fail("no metric or runner named '%s'", name);
	}
	r->selected = true;
	for (size_t i = 0; i < METRIC_COUNT; i++) {
		struct runner *owner = runner_of(metrics[i].name);
		if (owner == r && metrics[i].baseline != NULL) {
			runner_of(metrics[i].baseline)->selected = true;
		}
	}
}

int main(int argc, char *argv[]) {
	struct bench b = { .server_path = TESSERA_BENCH_SERVER };
	bool json = false;
	const char *only = NULL;
	static const struct option options[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "runs", required_argument, NULL, 'r' },
		{ "server", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'q':
			b.quick = true;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			only = b.only = optarg;
			break;
		case 'r':
			b.runs = atoi(optarg);
			if (b.runs < 1 || b.runs > 32) {
				bench_fail("--runs takes 1 to 32");
			}
			break;
		case 's':
			b.server_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (b.runs == 0) {
		b.runs = b.quick ? 3 : 5;
	}
	if (access(b.server_path, X_OK) != 0) {
		bench_fail("cannot run the server %s (pass --server PATH)", b.server_path);
	}
	// A thousand clients take a thousand fds here and in the server (which inherits it).
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 4096) {
		lim.rlim_cur = lim.rlim_max < 4096 ? lim.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < RUNNER_COUNT; i++) {
		runners[i].selected = only == NULL;
	}
	if (only != NULL) {
		select_for(only);
	}

	for (size_t i = 0; i < RUNNER_COUNT; i++) {
		if (!runners[i].selected) {
			continue;
		}
		fprintf(stderr, "tessera-bench: %s", runners[i].name);
		for (int run = 0; run < b.runs; run++) {
			b.nsamples = 0;
			runners[i].run(&b);
			for (size_t k = 0; k < b.nsamples; k++) {
				struct metric *m = find_metric(b.samples[k].metric);
				if (m == NULL) {
					bench_fail("unknown metric %s", b.samples[k].metric);
				}
				m->values[m->count++] = b.samples[k].value;
			}
			fprintf(stderr, ".");
		}
		fprintf(stderr, "\n");
	}
	if (json) {
		print_json(&b);
	} else {
		print_table();
	}
	return 0;
}
