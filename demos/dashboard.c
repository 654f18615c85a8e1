/*
 * tessera-demo-dashboard: a Raspberry Pi style monitoring panel made of three separate
 * client processes, CPU load, memory in use and network rate (read from /proc), each a
 * widget with its figure as text and a bar graph whose bars the server animates to
 * each new sample. The launcher starts the three and starts again any that exits or
 * crashes (after half a second), so killing one leaves the other two drawing and the
 * panel whole again a moment later. It stays until interrupted; --seconds S leaves
 * after S, stopping its widgets.
 *
 *   tessera-demo-dashboard [--socket PATH] [--seconds S]       the launcher
 *   tessera-demo-dashboard --widget cpu|mem|net [--socket PATH] one widget
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tessera/client.h>

#include "common.h"

static const char *prog = "tessera-demo-dashboard";

enum widget { WIDGET_CPU, WIDGET_MEM, WIDGET_NET, WIDGET_COUNT };
static const char *const widget_names[WIDGET_COUNT] = { "cpu", "mem", "net" };
static const char *const widget_titles[WIDGET_COUNT] = { "CPU load", "Memory in use",
	"Network" };
static const uint32_t widget_colors[WIDGET_COUNT] = { 0x5ad07aff, 0x6aa8ffff, 0xffb45aff };

#define BARS 24

static void usage(FILE *out) {
	fprintf(out, "usage: %s [--socket PATH] [--seconds S]\n"
		"       %s --widget cpu|mem|net [--socket PATH]\n"
		"A monitoring panel of three client processes (CPU, memory, network), each\n"
		"started again by the launcher when it exits or crashes.\n"
		"  -s, --socket PATH  the server's socket\n"
		"  -t, --seconds S    leave after S seconds (default: stay)\n"
		"  -w, --widget NAME  be one widget (the launcher runs these)\n"
		"  -h, --help         show this help\n", prog, prog);
}

/* ---- samples from /proc ---- */

struct sampler {
	unsigned long long busy, total; // cpu: jiffies at the last sample
	unsigned long long bytes;       // net: bytes at the last sample
	double last_s;
	double peak;                    // net: the largest rate seen, for the scale
};

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// CPU busy share since the last call, 0 to 1.
static double sample_cpu(struct sampler *s) {
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = { 0 };
	if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			&v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 4) {
		if (f != NULL) {
			fclose(f);
		}
		return 0;
	}
	fclose(f);
	unsigned long long total = 0;
	for (int i = 0; i < 8; i++) {
		total += v[i];
	}
	unsigned long long busy = total - v[3] - v[4]; // less idle and iowait
	double share = 0;
	if (s->total != 0 && total > s->total) {
		share = (double)(busy - s->busy) / (double)(total - s->total);
	}
	s->busy = busy;
	s->total = total;
	return share < 0 ? 0 : share > 1 ? 1 : share;
}

// Memory in use (total less available), 0 to 1, and the total in MiB.
static double sample_mem(double *total_mib) {
	FILE *f = fopen("/proc/meminfo", "r");
	if (f == NULL) {
		return 0;
	}
	char line[128];
	unsigned long long total = 0, avail = 0, v;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1) {
			total = v;
		} else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
			avail = v;
		}
	}
	fclose(f);
	*total_mib = (double)total / 1024;
	return total > 0 && avail <= total ? (double)(total - avail) / (double)total : 0;
}

// Bytes a second received and sent on every interface but loopback, since the last call.
static double sample_net(struct sampler *s) {
	FILE *f = fopen("/proc/net/dev", "r");
	if (f == NULL) {
		return 0;
	}
	char line[512];
	unsigned long long bytes = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		char *colon = strchr(line, ':');
		if (colon == NULL) {
			continue; // the two header lines
		}
		*colon = '\0';
		char name[64];
		unsigned long long rx, tx, skip;
		if (sscanf(line, " %63s", name) != 1 || strcmp(name, "lo") == 0) {
			continue;
		}
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &rx, &skip,
				&skip, &skip, &skip, &skip, &skip, &skip, &tx) == 9) {
			bytes += rx + tx;
		}
	}
	fclose(f);
	double t = now_s(), rate = 0;
	if (s->last_s > 0 && bytes >= s->bytes && t > s->last_s) {
		rate = (double)(bytes - s->bytes) / (t - s->last_s);
	}
	s->bytes = bytes;
	s->last_s = t;
	return rate;
}

/* ---- a widget ---- */

struct view {
	struct ts_display *display;
	struct ts_text *figure;
	struct ts_rect *bars[BARS];
	struct ts_animation *anims[BARS];
	double history[BARS];  // 0 to 1, oldest first
	double x, y, width, height, graph_top, graph_height, bar_width;
};

static struct ts_text *make_text(struct ts_display *d, const char *s, double size,
		uint32_t rgba, double x, double y) {
	struct ts_text *t = ts_text_create(d, NULL);
	if (t == NULL || ts_text_set_string(t, s, strlen(s)) < 0 ||
			ts_text_set_font(t, NULL, size, 600, false) < 0 ||
			ts_text_set_color(t, rgba) < 0 ||
			ts_node_set_position(ts_text_node(t), x, y) < 0) {
		return NULL;
	}
	return t;
}

static bool build_view(struct view *v, enum widget w, int screen_w, int screen_h) {
	double column = screen_w / 3.0;
	v->x = column * w + 8;
	v->y = 8;
	v->width = column - 16;
	v->height = screen_h - 16;
	struct ts_rect *panel = ts_rect_create(v->display);
	if (panel == NULL || ts_rect_set_position(panel, (int32_t)v->x, (int32_t)v->y) < 0 ||
			ts_rect_set_size(panel, (uint32_t)v->width, (uint32_t)v->height) < 0 ||
			ts_rect_set_radius(panel, 10) < 0 || ts_rect_set_color(panel, 0x1a1f2aff) < 0) {
		return false;
	}
	double text = v->height / 12 > 28 ? 28 : v->height / 12;
	if (make_text(v->display, widget_titles[w], text * 0.7, 0xb0b8c8ff, v->x + 12,
			v->y + 10) == NULL) {
		return false;
	}
	v->figure = make_text(v->display, "…", text, widget_colors[w], v->x + 12,
		v->y + 14 + text);
	if (v->figure == NULL) {
		return false;
	}
	v->graph_top = v->y + 24 + 2.2 * text;
	v->graph_height = v->y + v->height - 12 - v->graph_top;
	v->bar_width = (v->width - 24) / BARS;
	for (int i = 0; i < BARS; i++) {
		struct ts_rect *r = ts_rect_create(v->display);
		if (r == NULL || ts_rect_set_color(r, widget_colors[w]) < 0 ||
				ts_rect_set_size(r, (uint32_t)(v->bar_width > 3 ? v->bar_width - 2 : 1), 0) < 0 ||
				// Anchored at the bottom: a bar grows upwards from the graph's floor.
				ts_node_set_anchor(ts_rect_node(r), 0, 1) < 0 ||
				ts_node_set_position(ts_rect_node(r), v->x + 12 + i * v->bar_width,
					v->graph_top + v->graph_height) < 0) {
			return false;
		}
		v->bars[i] = r;
	}
	return ts_display_commit(v->display) == 0;
}

// A new sample (0 to 1) joins the graph: every bar moves to its new height, the
// server animating each from where it is. The commit of the new animations cancels the
// ones before (a newer animation of the same property takes over, leaving the bar where
// it was on screen); only then do the old handles go, which changes nothing on screen.
static bool push(struct view *v, double value, const char *figure) {
	memmove(v->history, v->history + 1, (BARS - 1) * sizeof v->history[0]);
	v->history[BARS - 1] = value;
	struct ts_animation *old[BARS];
	for (int i = 0; i < BARS; i++) {
		old[i] = v->anims[i];
		double w = v->bar_width > 3 ? v->bar_width - 2 : 1;
		v->anims[i] = ts_animate(ts_rect_node(v->bars[i]), TS_PROP_SIZE, w,
			v->history[i] * v->graph_height, 0, 400, TS_EASE_OUT);
		if (v->anims[i] == NULL) {
			return false;
		}
	}
	if (ts_text_set_string(v->figure, figure, strlen(figure)) < 0 ||
			ts_display_commit(v->display) < 0) {
		return false;
	}
	for (int i = 0; i < BARS; i++) {
		ts_animation_destroy(old[i]);
	}
	return true;
}

static int run_widget(enum widget w, const char *socket_path) {
	char name[64];
	snprintf(name, sizeof name, "%s-%s", prog, widget_names[w]);
	struct view v = { .display = tool_connect(prog, socket_path, name) };
	if (v.display == NULL) {
		return 1;
	}
	int sw, sh;
	ts_display_get_size(v.display, &sw, &sh);
	if (!build_view(&v, w, sw > 0 ? sw : 1, sh > 0 ? sh : 1)) {
		tool_report(prog, v.display, "cannot build the widget");
		ts_display_disconnect(v.display);
		return 1;
	}
	struct sampler s = { 0 };
	(void)sample_cpu(&s);
	(void)sample_net(&s);
	for (;;) {
		if (tool_wait(v.display, 1) < 0) {
			break; // the server went
		}
		char figure[64];
		double value, total = 0;
		switch (w) {
		case WIDGET_CPU:
			value = sample_cpu(&s);
			snprintf(figure, sizeof figure, "%.0f %%", value * 100);
			break;
		case WIDGET_MEM:
			value = sample_mem(&total);
			snprintf(figure, sizeof figure, "%.0f %% of %.0f MiB", value * 100, total);
			break;
		default: {
			double rate = sample_net(&s);
			s.peak = rate > s.peak ? rate : s.peak;
			value = s.peak > 0 ? rate / s.peak : 0;
			snprintf(figure, sizeof figure, "%.1f KiB/s", rate / 1024);
			break;
		}
		}
		if (!push(&v, value, figure)) {
			tool_report(prog, v.display, "cannot update the widget");
			break;
		}
	}
	ts_display_disconnect(v.display);
	return 1;
}

/* ---- the launcher ---- */

static volatile sig_atomic_t stop;

static void on_signal(int signo) {
	stop = signo;
}

static pid_t start_widget(enum widget w, const char *socket_path) {
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[] = { "tessera-demo-dashboard", "--widget", widget_names[w],
			socket_path ? "--socket" : NULL, socket_path, NULL };
		execv("/proc/self/exe", (char *const *)argv);
		fprintf(stderr, "%s: cannot run a widget: %s\n", prog, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
	}
	return pid;
}

static int run_launcher(const char *socket_path, unsigned long seconds) {
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pid_t pids[WIDGET_COUNT];
	double due[WIDGET_COUNT] = { 0 }; // when to start one again; 0: running
	for (int w = 0; w < WIDGET_COUNT; w++) {
		pids[w] = start_widget((enum widget)w, socket_path);
	}
	double end = seconds > 0 ? now_s() + (double)seconds : 0;
	while (!stop && (end == 0 || now_s() < end)) {
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int w = 0; w < WIDGET_COUNT; w++) {
				if (pids[w] == pid) {
					fprintf(stderr, "%s: the %s widget %s; starting it again\n", prog,
						widget_names[w], WIFSIGNALED(status) ? "crashed" : "exited");
					pids[w] = -1;
					due[w] = now_s() + 0.5;
				}
			}
		}
		for (int w = 0; w < WIDGET_COUNT; w++) {
			if (pids[w] < 0 && now_s() >= due[w]) {
				pids[w] = start_widget((enum widget)w, socket_path);
				due[w] = now_s() + 0.5; // if even fork failed, try again then
			}
		}
		struct timespec pause = { 0, 50000000 };
		nanosleep(&pause, NULL);
	}
	for (int w = 0; w < WIDGET_COUNT; w++) {
		if (pids[w] > 0) {
			kill(pids[w], SIGTERM);
			waitpid(pids[w], NULL, 0);
		}
	}
	return 0;
}

int main(int argc, char *argv[]) {
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "widget", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket_path = NULL;
	unsigned long seconds = 0;
	int widget = -1;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:t:w:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			if (!tool_parse_ulong(optarg, 1, 86400, &seconds)) {
				fprintf(stderr, "%s: --seconds wants 1 to 86400\n", prog);
				return 2;
			}
			break;
		case 'w':
			for (int w = 0; w < WIDGET_COUNT; w++) {
				if (strcmp(optarg, widget_names[w]) == 0) {
					widget = w;
				}
			}
			if (widget < 0) {
				fprintf(stderr, "%s: --widget wants cpu, mem or net\n", prog);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return widget >= 0 ? run_widget((enum widget)widget, socket_path)
		: run_launcher(socket_path, seconds);
}
