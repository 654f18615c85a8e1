/*
 * Text nodes and the text system (text.h). Three places meet here:
 *
 * - The requests of the text interface change a text's source: its UTF-8 (within the
 *   text_bytes limit), font and layout. The colour is the node's, as a rect's fill.
 * - A commit sends every changed source to the worker (a copy: the client may change
 *   its source again once it is read again) and holds the client. A layout comes back;
 *   the glyphs the atlas has are referenced at once (pinned, so that no eviction takes
 *   them before the commit), the others go back to the worker to be rasterised, and
 *   come back to be put in the atlas and referenced too. When the client's last job is
 *   back, each text's glyph quads are made and the commit applies: node.c's commit calls
 *   text_node_commit, which swaps the text's quads and references for the new ones.
 * - Each text holds one reference per distinct atlas glyph it draws, and the client is
 *   charged the texels of those glyphs (the glyph_bytes limit; a glyph two texts share is
 *   charged to both). Referenced glyphs are never evicted, so what one client pins is
 *   bounded by its limit, and the rest of the atlas (at least half of it, by the
 *   defaults) stays for everyone's glyphs, evicted least recently used.
 *
 * Ownership: a text object belongs to its node's client; a job in flight belongs to the
 * worker until it is handed back, and is cancelled (its text and client pointers
 * cleared) when its text or client goes, then freed when it comes back.
 */
#include "text.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "atlas-gpu.h"
#include "client.h"
#include "log.h"
#include "loop.h"
#include "node.h"
#include "object.h"
#include "render.h"
#include "server.h"
#include "shaper.h"
#include "tree.h"
#include "worker.h"

#define FIXED_ONE 65536.0f
#define DEFAULT_SIZE 16.0f
#define DEFAULT_WEIGHT 400
// Lines a text_metrics event lists: what fits in one message.
#define METRICS_LINES_MAX ((TS_MAX_MESSAGE - TS_HEADER_SIZE - 6 * 4) / 16)

struct text_system {
	struct server *server;
	struct shaper *shaper;
	struct worker *worker;
	struct loop_source *source;
	struct atlas_gpu glyphs;        // the atlas, and its pages on the GPU
	uint64_t now;                   // counts collects: the atlas's clock
	uint64_t stamp;                 // marks glyphs seen by one job (atlas_glyph.mark)
	// Work the loop may still do on text this round (ROUND_WORK each collect): an
	// atlas insert costs INSERT_COST, a lookup 1. Jobs past it wait for the next round.
	int64_t work;
};

struct text_source {
	uint8_t *utf8;
	uint32_t len, cap;
	char *family;                   // NULL: the default
	float size, wrap_width, line_height;
	uint32_t max_lines;
	uint16_t weight;
	uint8_t align;
	bool italic;
};

enum job_phase {
	JOB_LAYOUT,
	JOB_RASTER,
	JOB_INSERT,     // bitmaps back, being put in the atlas a slice a loop round
	JOB_LOOKUP,     // the layout back, waiting for a round with work left to look it up
};

struct text_job {
	struct worker_job base;
	// Set on the loop thread when its text or client goes, read by the worker: a job
	// nobody waits for any more is handed back without being run.
	atomic_bool cancelled;
	struct text_system *system;
	struct list link;               // client.text_jobs while in flight
	struct client *client;          // NULL: cancelled
	struct text_object *text;       // a commit's; NULL for a measurement
	uint32_t callback;              // a measurement's callback id
	enum job_phase phase;
	// The input: a copy of the source.
	uint8_t *utf8;
	size_t len;
	char *family;
	struct shaper_style style;
	// The layout, and each of its glyphs in the atlas (NULL: none).
	struct shaper_layout layout;
	bool layout_ok;
	struct atlas_glyph **found;
	// Glyphs to rasterise, and what came back.
	struct atlas_key *keys;
	struct shaper_bitmap *bitmaps;
	size_t key_len;
	size_t inserted;                // keys put in the atlas so far
	// The distinct glyphs the job references.
	struct atlas_glyph **refs;
	uint32_t ref_len, ref_cap;
	size_t ref_bytes;               // their texels (client.glyph_pinned counts them)
	bool over_limit;                // a pin would pass the client's glyph_bytes
	bool ready;                     // everything is in: waiting for the commit
};

struct text_object {
	struct tree_text drawn;         // what the node draws (tree_text_bind)
	struct list link;               // client.texts
	struct list dirty_link;         // client.text_dirty while the source changed
	struct tree_node *node;
	uint32_t id;
	struct text_source src;
	struct tree_glyph *glyphs;      // drawn.glyphs
	struct atlas_glyph **refs;      // the distinct glyphs drawn holds
	uint32_t ref_len;
	size_t ref_bytes;               // charged to client.glyph_bytes
	struct text_job *job;           // the commit's, in flight or ready; NULL
};

static struct text_object *text_of(const struct client *client, const struct tree_node *node) {
	assert(node->kind == TREE_TEXT);
	const struct tree_text *t = tree_node_extra(&client->root, node)->u.text.text;
	return (struct text_object *)(void *)((char *)(uintptr_t)t -
		offsetof(struct text_object, drawn));
}

static size_t glyph_texels(const struct atlas_glyph *g) {
	if (g->w == 0 || g->h == 0) {
		return 0;
	}
	return (size_t)(g->w + 2) * (size_t)(g->h + 2) * (g->color ? 4 : 1);
}

void text_system_flush(struct text_system *sys) {
	if (sys != NULL) {
		atlas_gpu_flush(&sys->glyphs);
	}
}

/* Jobs. */

static void job_run(struct worker_job *base, void *context) {
	struct text_job *job = (struct text_job *)base;
	struct shaper *shaper = context;
	if (atomic_load(&job->cancelled)) {
		return;
	}
	if (job->phase == JOB_LAYOUT) {
		job->layout_ok = shaper_layout(shaper, job->utf8, job->len, &job->style,
			&job->layout);
		return;
	}
	if (job->phase == JOB_INSERT || job->phase == JOB_LOOKUP) {
		return; // nothing to do here: it only waits for the next loop round
	}
	for (size_t i = 0; i < job->key_len; i++) {
		const struct atlas_key *k = &job->keys[i];
		if (!shaper_raster(shaper, k->face, k->glyph, (float)k->size64 / 64.0f, k->bucket,
				&job->bitmaps[i])) {
			job->bitmaps[i] = (struct shaper_bitmap){ 0 };
		}
	}
}

static void job_unpin(struct text_system *sys, struct atlas_glyph **refs, uint32_t len) {
	for (uint32_t i = 0; i < len; i++) {
		atlas_unref(sys->glyphs.atlas, refs[i], sys->now);
	}
}

static void job_free(struct text_job *job) {
	if (job == NULL) {
		return;
	}
	if (job->client != NULL) {
		job->client->glyph_pinned -= job->ref_bytes;
	}
	job_unpin(job->system, job->refs, job->ref_len);
	for (size_t i = 0; job->bitmaps != NULL && i < job->key_len; i++) {
		free(job->bitmaps[i].pixels);
	}
	free(job->bitmaps);
	free(job->keys);
	free(job->refs);
	free(job->found);
	shaper_layout_finish(&job->layout);
	free(job->utf8);
	free(job->family);
	free(job);
}

static struct atlas_key key_of(const struct shaper_layout *layout, const struct shaper_glyph *g) {
	float frac = g->x - floorf(g->x);
	unsigned bucket = (unsigned)(frac * SHAPER_SUBPIXEL_BUCKETS);
	if (bucket >= SHAPER_SUBPIXEL_BUCKETS) {
		bucket = SHAPER_SUBPIXEL_BUCKETS - 1;
	}
	return (struct atlas_key){ .face = g->face, .glyph = g->glyph,
		.size64 = (uint32_t)lroundf(layout->size * 64.0f), .bucket = (uint8_t)bucket };
}

// References @g for the job once however many of its glyphs it is.
static bool job_pin(struct text_job *job, struct atlas_glyph *g) {
	if (g->mark == job->system->stamp) {
		return true;
	}
	// What its commits hold in flight counts with what its texts hold: a client cannot
	// pin more of the atlas than its limit, not even for the time of a commit.
	struct client *client = job->client;
	size_t bytes = glyph_texels(g);
	if (client->glyph_bytes + client->glyph_pinned + bytes >
			client->server->options.limits.glyph_bytes) {
		job->over_limit = true;
		return false;
	}
	if (job->ref_len == job->ref_cap) {
		uint32_t cap = job->ref_cap ? job->ref_cap * 2 : 16;
		struct atlas_glyph **refs = realloc(job->refs, (size_t)cap * sizeof *refs);
		if (refs == NULL) {
			return false;
		}
		job->refs = refs;
		job->ref_cap = cap;
	}
	g->mark = job->system->stamp;
	atlas_ref(job->system->glyphs.atlas, g);
	job->refs[job->ref_len++] = g;
	job->ref_bytes += bytes;
	client->glyph_pinned += bytes;
	return true;
}

static void send_metrics(struct client *client, uint32_t callback,
		const struct shaper_layout *layout) {
	size_t lines = layout->line_len < METRICS_LINES_MAX ? layout->line_len : METRICS_LINES_MAX;
	int32_t extents[METRICS_LINES_MAX * 4];
	for (size_t i = 0; i < lines; i++) {
		const struct shaper_line *l = &layout->lines[i];
		extents[4 * i] = ts_fixed_from_double(l->x);
		extents[4 * i + 1] = ts_fixed_from_double(l->top);
		extents[4 * i + 2] = ts_fixed_from_double(l->width);
		extents[4 * i + 3] = ts_fixed_from_double(l->height);
	}
	client_send(client, TS_EV_text_metrics, (union ts_arg[]){ { .u = callback },
		{ .f = ts_fixed_from_double(layout->width) },
		{ .f = ts_fixed_from_double(layout->height) },
		{ .f = ts_fixed_from_double(layout->baseline) }, { .u = (uint32_t)layout->line_len },
		{ .a = { .data = extents, .size = lines * 16 } } });
	objmap_remove(&client->objects, callback);
	client->server->object_count--;
}

static void commit_finish(struct client *client);

// The client's commit or measurement is done: it is read again, what it sent meanwhile
// (waiting in its buffer) in a slice of this round.
static void release(struct client *client) {
	client->held = false;
	if (client->dying) {
		return;
	}
	if (!client_backlogged(client)) {
		list_append(&client->server->backlog_clients, &client->backlog_link);
	}
	client_update_events(client);
}

// The job has every glyph it can have: it waits for its client's commit.
static void job_ready(struct text_job *job) {
	job->ready = true;
	list_remove(&job->link);
	list_init(&job->link);
	struct client *client = job->client;
	assert(client->text_waiting > 0);
	if (--client->text_waiting == 0) {
		commit_finish(client);
	}
}

// A small open-addressing set of keys: which glyphs a job already asked for.
static uint32_t key_hash(const struct atlas_key *k) {
	uint32_t h = k->face * 0x9e3779b1u ^ k->glyph * 0x85ebca77u ^ k->size64 * 0xc2b2ae3du ^
		k->bucket;
	return h ^ (h >> 15);
}

static bool same_key(const struct atlas_key *a, const struct atlas_key *b) {
	return a->face == b->face && a->glyph == b->glyph && a->size64 == b->size64 &&
		a->bucket == b->bucket;
}

// The layout is back: pins the glyphs the atlas has, asks for the others.
static bool layout_back(struct text_job *job) {
	struct text_system *sys = job->system;
	const struct shaper_layout *layout = &job->layout;
	size_t n = layout->glyph_len;
	sys->stamp++;
	job->found = calloc(n ? n : 1, sizeof *job->found);
	size_t set_cap = 16;
	while (set_cap < 2 * n) {
		set_cap *= 2;
	}
	uint32_t *set = calloc(set_cap, sizeof *set); // 1 + index in keys; 0: empty
	job->keys = malloc((n ? n : 1) * sizeof *job->keys);
	if (job->found == NULL || set == NULL || job->keys == NULL) {
		free(set);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct atlas_key key = key_of(layout, &layout->glyphs[i]);
		struct atlas_glyph *g = atlas_find(sys->glyphs.atlas, &key);
		if (g != NULL) {
			job->found[i] = g;
			if (!job_pin(job, g)) {
				free(set);
				return false;
			}
			continue;
		}
		size_t at = key_hash(&key) & (set_cap - 1);
		while (set[at] != 0 && !same_key(&job->keys[set[at] - 1], &key)) {
			at = (at + 1) & (set_cap - 1);
		}
		if (set[at] == 0) {
			job->keys[job->key_len++] = key;
			set[at] = (uint32_t)job->key_len;
		}
	}
	free(set);
	if (job->key_len > 0) {
		job->bitmaps = calloc(job->key_len, sizeof *job->bitmaps);
		if (job->bitmaps == NULL) {
			return false;
		}
	}
	return true;
}

// The bitmaps are back: into the atlas, and pinned.
// At most INSERT_SLICE bitmaps go into the atlas a loop round: 20,000 new glyphs
// take some 50 ms to place on a slow machine, which would be frames missed by everyone.
// Each is pinned as it goes in, so that the job's later inserts cannot evict it.
// Returns 1 when every bitmap is in, 0 when more remain, -1 without memory.
#define INSERT_SLICE 1024
#define INSERT_COST 8
#define ROUND_WORK (INSERT_SLICE * INSERT_COST)
static int raster_back(struct text_job *job) {
	struct text_system *sys = job->system;
	size_t slice = sys->work > 0 ? (size_t)sys->work / INSERT_COST : 0;
	slice = slice < INSERT_SLICE ? slice : INSERT_SLICE;
	size_t end = job->inserted + slice < job->key_len ? job->inserted + slice : job->key_len;
	sys->work -= (int64_t)(end - job->inserted) * INSERT_COST;
	for (size_t i = job->inserted; i < end; i++) {
		struct atlas_glyph *g = atlas_find(sys->glyphs.atlas, &job->keys[i]);
		const struct shaper_bitmap *bm = &job->bitmaps[i];
		// A glyph with no pixels (a space) needs no room and no key: it draws nothing,
		// and a raster that failed is not kept for anyone.
		if (g == NULL && bm->width > 0 && bm->height > 0 && bm->pixels != NULL) {
			// NULL when it cannot be placed: the text is drawn without it.
			g = atlas_insert(sys->glyphs.atlas, &job->keys[i], bm, sys->now);
		}
		free(job->bitmaps[i].pixels);
		job->bitmaps[i].pixels = NULL;
		if (g != NULL && !job_pin(job, g)) {
			return -1;
		}
	}
	job->inserted = end;
	// A page's texture is made as soon as the page is: one at a time, not all at once.
	if (!atlas_gpu_sync(&sys->glyphs)) {
		return -1;
	}
	if (end < job->key_len) {
		return 0;
	}
	sys->stamp++;
	for (uint32_t i = 0; i < job->ref_len; i++) {
		job->refs[i]->mark = sys->stamp;
	}
	const struct shaper_layout *layout = &job->layout;
	for (size_t i = 0; i < layout->glyph_len; i++) {
		if (job->found[i] != NULL) {
			continue;
		}
		struct atlas_key key = key_of(layout, &layout->glyphs[i]);
		struct atlas_glyph *g = atlas_find(sys->glyphs.atlas, &key);
		job->found[i] = g;
		if (g != NULL && !job_pin(job, g)) {
			return -1;
		}
	}
	return 1;
}

static void job_done(struct worker_job *base) {
	struct text_job *job = (struct text_job *)base;
	struct client *client = job->client;
	if (client == NULL) {
		job_free(job); // cancelled: its text or client went
		return;
	}
	if (job->text == NULL) {
		// A measurement: answered, and the client is read again.
		list_remove(&job->link);
		if (job->layout_ok) {
			send_metrics(client, job->callback, &job->layout);
		} else {
			client_post_error(client, job->callback, TS_ERR_no_memory, "out of memory");
		}
		job_free(job);
		release(client);
		return;
	}
	bool ok = job->layout_ok;
	if (ok && (job->phase == JOB_LAYOUT || job->phase == JOB_LOOKUP)) {
		if (job->system->work <= 0) {
			// This round's text work is done: the lookups wait for the next one.
			job->phase = JOB_LOOKUP;
			worker_submit(job->system->worker, &job->base);
			return;
		}
		job->system->work -= (int64_t)job->layout.glyph_len;
		ok = layout_back(job);
		if (ok && job->key_len > 0) {
			job->phase = JOB_RASTER;
			worker_submit(job->system->worker, &job->base);
			return;
		}
	} else if (ok) {
		int rc = raster_back(job);
		if (rc == 0) {
			// More next round: through the worker, which hands it straight back.
			job->phase = JOB_INSERT;
			worker_submit(job->system->worker, &job->base);
			return;
		}
		ok = rc > 0;
	}
	if (!ok) {
		// The client goes; its text frees the job (it is no longer in flight).
		job->ready = true;
		list_remove(&job->link);
		list_init(&job->link);
		if (job->over_limit) {
			client_post_error(client, job->text->id, TS_ERR_limit_exceeded, "limit "
				"glyph_bytes=%u exceeded: text %u's glyphs and what the client holds "
				"already pass it", client->server->options.limits.glyph_bytes, job->text->id);
		} else {
			client_post_error(client, job->text->id, TS_ERR_no_memory,
				"text %u: out of memory", job->text->id);
		}
		return;
	}
	job_ready(job);
}

static void handle_worker(void *data, int fd, short revents) {
	text_system_collect(data);
}

void text_system_collect(struct text_system *sys) {
	sys->now++;
	sys->work = ROUND_WORK;
	worker_collect(sys->worker);
}

/* The system. */

struct text_system *text_system_create(struct server *server, bool threaded) {
	struct text_system *sys = calloc(1, sizeof *sys);
	if (sys == NULL) {
		log_error("text: out of memory");
		return NULL;
	}
	sys->server = server;
	if (!atlas_gpu_init(&sys->glyphs, server->renderer, server->options.limits.atlas_bytes)) {
		goto err_free;
	}
	// The first coverage page and its texture now: the first one a driver makes can
	// take a frame's time (15 ms on llvmpipe), which a text's commit must not pay.
	if (!atlas_reserve_page(sys->glyphs.atlas, false) || !atlas_gpu_sync(&sys->glyphs)) {
		goto err_atlas;
	}
	sys->shaper = shaper_create();
	if (sys->shaper == NULL) {
		goto err_atlas;
	}
	sys->worker = worker_create(sys->shaper, threaded);
	if (sys->worker == NULL) {
		goto err_shaper;
	}
	sys->source = loop_add_fd(server->loop, worker_fd(sys->worker), POLLIN, handle_worker,
		sys);
	if (sys->source == NULL) {
		log_error("text: out of memory");
		goto err_worker;
	}
	return sys;

err_worker:
	worker_destroy(sys->worker);
err_shaper:
	shaper_destroy(sys->shaper);
err_atlas:
	atlas_gpu_finish(&sys->glyphs);
err_free:
	free(sys);
	return NULL;
}

void text_system_destroy(struct text_system *sys) {
	if (sys == NULL) {
		return;
	}
	loop_source_remove(sys->source);
	// Every client is gone: what comes back is cancelled, and freed.
	worker_destroy(sys->worker);
	shaper_destroy(sys->shaper);
	atlas_gpu_finish(&sys->glyphs);
	free(sys);
}

int text_system_fd(const struct text_system *sys) {
	return worker_fd(sys->worker);
}

void text_system_stats(const struct text_system *sys, struct atlas_stats *stats) {
	if (sys == NULL) {
		*stats = (struct atlas_stats){ 0 };
		return;
	}
	atlas_get_stats(sys->glyphs.atlas, stats);
}

/* Text objects. */

static void charge_memory(struct client *client, ptrdiff_t bytes) {
	client->text_memory = (size_t)((ptrdiff_t)client->text_memory + bytes);
}

bool text_node_created(struct client *client, uint32_t id, struct tree_node *node) {
	if (client->server->text == NULL) {
		client_post_error(client, id, TS_ERR_internal, "text %u: the server has no fonts",
			id);
		return false;
	}
	if (!client_charge(client, sizeof(struct text_object))) {
		return false;
	}
	struct text_object *text = calloc(1, sizeof *text);
	if (text == NULL) {
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return false;
	}
	text->node = node;
	text->id = id;
	text->src.size = DEFAULT_SIZE;
	text->src.weight = DEFAULT_WEIGHT;
	list_init(&text->dirty_link);
	list_append(&client->texts, &text->link);
	charge_memory(client, (ptrdiff_t)sizeof *text);
	tree_text_bind(&client->root, node, &text->drawn);
	return true;
}

static void text_free(struct client *client, struct text_object *text) {
	if (text->job != NULL) {
		if (text->job->ready) {
			job_free(text->job);
		} else {
			list_remove(&text->job->link);
			list_init(&text->job->link);
			text->job->client = NULL;
			text->job->text = NULL;
			atomic_store(&text->job->cancelled, true);
		}
	}
	job_unpin(client->server->text, text->refs, text->ref_len);
	client->glyph_bytes -= text->ref_bytes;
	charge_memory(client, -(ptrdiff_t)(sizeof *text + text->src.cap +
		(text->src.family ? strlen(text->src.family) + 1 : 0) +
		(size_t)text->drawn.len * sizeof *text->glyphs +
		(size_t)text->ref_len * sizeof *text->refs));
	list_remove(&text->link);
	list_remove(&text->dirty_link);
	free(text->glyphs);
	free(text->refs);
	free(text->src.utf8);
	free(text->src.family);
	free(text);
}

void text_node_destroyed(struct client *client, struct tree_node *node) {
	text_free(client, text_of(client, node));
}

void text_client_gone(struct client *client) {
	// Jobs in flight are cancelled; the worker hands them back to be freed.
	while (!list_empty(&client->text_jobs)) {
		struct text_job *job = list_entry(client->text_jobs.next, struct text_job, link);
		list_remove(&job->link);
		list_init(&job->link);
		if (job->text != NULL) {
			job->text->job = NULL;
		}
		job->client = NULL;
		job->text = NULL;
		atomic_store(&job->cancelled, true);
	}
	while (!list_empty(&client->texts)) {
		text_free(client, list_entry(client->texts.next, struct text_object, link));
	}
	client->text_waiting = 0;
}

// Makes the job for @text's source as it is now; NULL after posting an error.
static struct text_job *job_create(struct client *client, uint32_t id,
		const struct text_source *src) {
	struct text_job *job = calloc(1, sizeof *job);
	if (job != NULL && src->len > 0) {
		job->utf8 = malloc(src->len);
		if (job->utf8 != NULL) {
			memcpy(job->utf8, src->utf8, src->len);
		}
	}
	if (job != NULL && src->family != NULL) {
		job->family = strdup(src->family);
	}
	if (job == NULL || (src->len > 0 && job->utf8 == NULL) ||
			(src->family != NULL && job->family == NULL)) {
		if (job != NULL) {
			free(job->utf8);
			free(job);
		}
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return NULL;
	}
	job->base.run = job_run;
	job->base.done = job_done;
	job->system = client->server->text;
	job->client = client;
	job->len = src->len;
	job->style = (struct shaper_style){ .family = job->family, .size = src->size,
		.weight = src->weight, .italic = src->italic, .wrap_width = src->wrap_width,
		.align = src->align, .line_height = src->line_height, .max_lines = src->max_lines };
	list_append(&client->text_jobs, &job->link);
	return job;
}

bool text_commit_begin(struct client *client) {
	if (list_empty(&client->text_dirty)) {
		return true;
	}
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &client->text_dirty) {
		struct text_object *text = list_entry(pos, struct text_object, dirty_link);
		assert(text->job == NULL);
		struct text_job *job = job_create(client, text->id, &text->src);
		if (job == NULL) {
			return false;
		}
		job->text = text;
		text->job = job;
		list_remove(&text->dirty_link);
		list_init(&text->dirty_link);
		client->text_waiting++;
		worker_submit(client->server->text->worker, &job->base);
	}
	// Not read again until the commit applies (commit_finish).
	client->held = true;
	client_update_events(client);
	return false;
}

// Every job of the held commit is back: checks the glyph budget, applies the commit,
// reads the client again.
static void commit_finish(struct client *client) {
	if (client->dying) {
		return; // killed meanwhile: nothing of it applies
	}
	size_t bytes = client->glyph_bytes;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &client->texts) {
		struct text_object *text = list_entry(pos, struct text_object, link);
		if (text->job != NULL && text->job->ready) {
			bytes = bytes - text->ref_bytes + text->job->ref_bytes;
			// The node's size is its layout's: what anchors and tessera-info see.
			if (text->node->user != 0) {
				struct pending_entry *e = &client->pending[text->node->user - 1];
				e->state.props.width = text->job->layout.width;
				e->state.props.height = text->job->layout.height;
			}
		}
	}
	uint32_t max = client->server->options.limits.glyph_bytes;
	if (bytes > max) {
		client_post_error(client, 0, TS_ERR_limit_exceeded, "limit glyph_bytes=%u exceeded: "
			"the client's texts would hold %zu bytes of glyph atlas", max, bytes);
		return;
	}
	client_commit_apply(client);
	release(client);
}

// The quads of a laid-out job; false when memory cannot be had.
static bool make_quads(struct text_system *sys, struct text_job *job, struct tree_glyph **out,
		uint32_t *len, struct tree_text *box) {
	const struct shaper_layout *layout = &job->layout;
	// Only glyphs with pixels become quads (a text of spaces has none), and only those
	// are allocated, as charged.
	size_t drawn = 0;
	for (size_t i = 0; i < layout->glyph_len; i++) {
		drawn += job->found[i] != NULL && job->found[i]->w > 0 && job->found[i]->h > 0;
	}
	struct tree_glyph *quads = malloc((drawn ? drawn : 1) * sizeof *quads);
	if (quads == NULL) {
		return false;
	}
	float x0 = 0, y0 = 0, x1 = layout->width, y1 = layout->height;
	uint32_t n = 0;
	for (size_t i = 0; i < layout->glyph_len; i++) {
		const struct atlas_glyph *g = job->found[i];
		if (g == NULL || g->w == 0 || g->h == 0) {
			continue;
		}
		const struct shaper_glyph *sg = &layout->glyphs[i];
		const struct atlas_page *page = atlas_page(sys->glyphs.atlas, g->page);
		float s = (float)page->size;
		struct tree_glyph *q = &quads[n++];
		q->x = floorf(sg->x) + (float)g->left;
		q->y = roundf(sg->y) - (float)g->top;
		q->w = g->w;
		q->h = g->h;
		q->u0 = (float)g->x / s;
		q->v0 = (float)g->y / s;
		q->u1 = (float)(g->x + g->w) / s;
		q->v1 = (float)(g->y + g->h) / s;
		q->texture = atlas_gpu_texture(&sys->glyphs, g->page);
		q->color = g->color;
		x0 = q->x < x0 ? q->x : x0;
		y0 = q->y < y0 ? q->y : y0;
		x1 = q->x + q->w > x1 ? q->x + q->w : x1;
		y1 = q->y + q->h > y1 ? q->y + q->h : y1;
	}
	*out = quads;
	*len = n;
	box->x0 = x0;
	box->y0 = y0;
	box->x1 = x1;
	box->y1 = y1;
	return true;
}

void text_node_commit(struct client *client, struct tree_node *node) {
	struct text_object *text = text_of(client, node);
	struct text_job *job = text->job;
	if (job == NULL || !job->ready) {
		return;
	}
	struct text_system *sys = client->server->text;
	struct tree_glyph *quads;
	uint32_t len;
	struct tree_text box;
	if (!make_quads(sys, job, &quads, &len, &box)) {
		client_post_error(client, text->id, TS_ERR_no_memory, "text %u: out of memory",
			text->id);
		return;
	}
	tree_node_redraw(&client->server->tree, &client->root, node);
	charge_memory(client, ((ptrdiff_t)len - (ptrdiff_t)text->drawn.len) *
		(ptrdiff_t)sizeof *quads + ((ptrdiff_t)job->ref_len - (ptrdiff_t)text->ref_len) *
		(ptrdiff_t)sizeof *text->refs);
	free(text->glyphs);
	text->glyphs = quads;
	text->drawn = (struct tree_text){ .glyphs = quads, .len = len, .x0 = box.x0,
		.y0 = box.y0, .x1 = box.x1, .y1 = box.y1 };
	// The old glyphs go after the new ones are held: a glyph in both stays put.
	job_unpin(sys, text->refs, text->ref_len);
	free(text->refs);
	client->glyph_bytes = client->glyph_bytes - text->ref_bytes + job->ref_bytes;
	client->glyph_pinned -= job->ref_bytes;
	text->refs = job->refs;
	text->ref_len = job->ref_len;
	text->ref_bytes = job->ref_bytes;
	job->refs = NULL;
	job->ref_len = 0;
	job->ref_bytes = 0;
	text->job = NULL;
	job_free(job);
}

/* Requests. */

void handle_text_create(struct client *client, const union ts_arg *args, void *const *objs) {
	node_create(client, args[0].u, args[1].u, OBJECT_TEXT, TREE_TEXT);
}

// The source of @id changes: the next commit lays it out again.
static struct text_object *changing(struct client *client, uint32_t id, void *slot) {
	struct tree_node *node = slot;
	if (!node_mark_pending(client, id, node, PENDING_TEXT)) {
		return NULL;
	}
	struct text_object *text = text_of(client, node);
	if (list_empty(&text->dirty_link)) {
		list_append(&client->text_dirty, &text->dirty_link);
	}
	return text;
}

static bool put_bytes(struct client *client, uint32_t id, struct text_source *src,
		const struct ts_array *bytes, bool append) {
	uint32_t max = client->server->options.limits.text_bytes;
	uint64_t len = (append ? src->len : 0) + (uint64_t)bytes->size;
	if (len > max) {
		client_post_error(client, id, TS_ERR_limit_exceeded, "limit text_bytes=%u exceeded: "
			"text %u would hold %llu bytes", max, id, (unsigned long long)len);
		return false;
	}
	if (len > src->cap) {
		uint32_t cap = src->cap ? src->cap : 64;
		while (cap < len) {
			cap *= 2;
		}
		cap = cap > max ? max : cap;
		if (!client_charge(client, cap - src->cap)) {
			return false;
		}
		uint8_t *grown = realloc(src->utf8, cap);
		if (grown == NULL) {
			client_post_error(client, id, TS_ERR_no_memory, "out of memory");
			return false;
		}
		charge_memory(client, (ptrdiff_t)cap - (ptrdiff_t)src->cap);
		src->utf8 = grown;
		src->cap = cap;
	}
	if (bytes->size > 0) {
		memcpy(src->utf8 + (append ? src->len : 0), bytes->data, bytes->size);
	}
	src->len = (uint32_t)len;
	return true;
}

void handle_text_set_string(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct text_object *text = changing(client, args[0].u, objs[0]);
	if (text != NULL) {
		put_bytes(client, args[0].u, &text->src, &args[1].a, false);
	}
}

void handle_text_append(struct client *client, const union ts_arg *args, void *const *objs) {
	struct text_object *text = changing(client, args[0].u, objs[0]);
	if (text != NULL) {
		put_bytes(client, args[0].u, &text->src, &args[1].a, true);
	}
}

void handle_text_set_font(struct client *client, const union ts_arg *args, void *const *objs) {
	uint32_t id = args[0].u, weight = args[3].u, italic = args[4].u;
	float size = (float)args[2].f / FIXED_ONE;
	if (!(size >= SHAPER_MIN_SIZE && size <= SHAPER_MAX_SIZE)) {
		client_post_error(client, id, TS_ERR_invalid_value, "text %u: size %g px; it must "
			"be %g to %g", id, (double)size, (double)SHAPER_MIN_SIZE, (double)SHAPER_MAX_SIZE);
		return;
	}
	if (weight < 100 || weight > 900 || italic > 1) {
		client_post_error(client, id, TS_ERR_invalid_value, "text %u: weight %u (100 to 900) "
			"or italic %u (0 or 1) out of range", id, weight, italic);
		return;
	}
	struct text_object *text = changing(client, id, objs[0]);
	if (text == NULL) {
		return;
	}
	struct text_source *src = &text->src;
	size_t old = src->family ? strlen(src->family) + 1 : 0;
	char *family = NULL;
	if (args[1].s[0] != '\0') {
		size_t len = strlen(args[1].s) + 1;
		if (!client_charge(client, len)) {
			return;
		}
		family = strdup(args[1].s);
		if (family == NULL) {
			client_post_error(client, id, TS_ERR_no_memory, "out of memory");
			return;
		}
		charge_memory(client, (ptrdiff_t)len);
	}
	charge_memory(client, -(ptrdiff_t)old);
	free(src->family);
	src->family = family;
	src->size = size;
	src->weight = (uint16_t)weight;
	src->italic = italic != 0;
}

void handle_text_set_color(struct client *client, const union ts_arg *args,
		void *const *objs) {
	struct tree_props *p = node_pending_props(client, args[0].u, objs[0], PENDING_COLOR);
	if (p != NULL) {
		p->rgba = args[1].u;
	}
}

void handle_text_set_layout(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u, align = args[2].u;
	float wrap = (float)args[1].f / FIXED_ONE, line = (float)args[3].f / FIXED_ONE;
	if (!(wrap >= 0.0f && wrap <= (float)TS_MAX_NODE_SIZE) ||
			!(line >= 0.0f && line <= (float)TS_MAX_NODE_SIZE) || align > SHAPER_ALIGN_END) {
		client_post_error(client, id, TS_ERR_invalid_value, "text %u: wrap width %g and line "
			"height %g must be 0 to %d, align %u 0 (start), 1 (centre) or 2 (end)", id,
			(double)wrap, (double)line, TS_MAX_NODE_SIZE, align);
		return;
	}
	struct text_object *text = changing(client, id, objs[0]);
	if (text != NULL) {
		text->src.wrap_width = wrap;
		text->src.line_height = line;
		text->src.align = (uint8_t)align;
		text->src.max_lines = args[4].u;
	}
}

void handle_text_measure(struct client *client, const union ts_arg *args, void *const *objs) {
	uint32_t cb = args[0].u;
	struct text_object *text = text_of(client, objs[1]);
	if (object_insert(client, cb, OBJECT_CALLBACK) == NULL) {
		return;
	}
	struct text_job *job = job_create(client, cb, &text->src);
	if (job == NULL) {
		return;
	}
	job->callback = cb;
	worker_submit(client->server->text->worker, &job->base);
	// One measurement in flight a client: it is not read until the answer goes.
	client->held = true;
	client_update_events(client);
}
