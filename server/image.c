#define _GNU_SOURCE // F_GET_SEALS, F_SEAL_SHRINK
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "object.h"
#include "reaper.h"
#include "server.h"

static const char *const format_names[RENDER_CLIENT_FORMATS] = {
	[RENDER_RGBA8] = "rgba8", [RENDER_XRGB8] = "xrgb8", [RENDER_RGB565] = "rgb565",
};

static void map_unref(struct client *client, struct shm_map *map) {
	if (--map->refs > 0) {
		return;
	}
	list_remove(&map->link);
	client->shm_bytes -= map->size;
	reaper_unmap(map->data, map->size);
	free(map);
}

// Checks that @fd is memory the server can read @size bytes of without ever faulting
// (a client that truncated its memfd later would kill the server with SIGBUS): a
// regular file, sealed against shrinking, at least @size long. False after posting
// invalid_value.
static bool check_memfd(struct client *client, uint32_t id, int fd, uint32_t size) {
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		client_post_error(client, id, TS_ERR_invalid_value,
			"shm pool %u: the fd is not a memfd (not a regular file)", id);
		return false;
	}
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		client_post_error(client, id, TS_ERR_invalid_value, "shm pool %u: the memfd must be "
			"sealed against shrinking (MFD_ALLOW_SEALING, then F_ADD_SEALS F_SEAL_SHRINK)",
			id);
		return false;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size < size) {
		client_post_error(client, id, TS_ERR_invalid_value,
			"shm pool %u: the memfd is %lld bytes, smaller than the pool's %u", id,
			(long long)st.st_size, size);
		return false;
	}
	return true;
}

void handle_shm_pool_create(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u, size = args[2].u;
	int fd = args[1].h; // ours: closed on every path
	uint32_t max = client->server->options.limits.shm_bytes;
	if (!object_check_new_id(client, id)) {
		// The id rules come first, as for every new object.
	} else if (size == 0) {
		client_post_error(client, id, TS_ERR_invalid_value, "shm pool %u: size 0", id);
	} else if (client->shm_bytes + size > max) {
		client_post_error(client, id, TS_ERR_limit_exceeded, "limit shm_bytes=%u exceeded: "
			"the client's pools map %llu bytes, and this one %u more", max,
			(unsigned long long)client->shm_bytes, size);
	} else if (check_memfd(client, id, fd, size)) {
		uint8_t *data = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		struct shm_map *map = data != MAP_FAILED ? malloc(sizeof *map) : NULL;
		struct pool_slot *slot = map != NULL ? object_insert(client, id, OBJECT_SHM_POOL) : NULL;
		if (slot == NULL) {
			if (data == MAP_FAILED) {
				client_post_error(client, id, TS_ERR_invalid_value,
					"shm pool %u: cannot map the memfd: %s", id, strerror(errno));
			} else {
				munmap(data, size);
				if (map == NULL) {
					client_post_error(client, id, TS_ERR_no_memory, "out of memory");
				}
			}
			free(map);
		} else {
			*map = (struct shm_map){ .data = data, .size = size, .refs = 1 };
			list_append(&client->maps, &map->link);
			client->shm_bytes += size;
			slot->map = map;
		}
	}
	close(fd);
}

static void pool_destroy(struct client *client, uint32_t id, void *slot) {
	map_unref(client, ((struct pool_slot *)slot)->map);
}

const struct object_ops shm_pool_ops = {
	.name = "shm_pool",
	.destroyable = true,
	.destroy = pool_destroy,
};

// Checks buffer_create's numbers against the pool and the GPU; false after posting.
static bool check_buffer(struct client *client, uint32_t id, const struct shm_map *map,
		const union ts_arg *args) {
	uint32_t offset = args[2].u, width = args[3].u, height = args[4].u;
	uint32_t stride = args[5].u, format = args[6].u;
	if (format >= RENDER_CLIENT_FORMATS) {
		client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: format %u does not "
			"exist: 0 (rgba8), 1 (xrgb8) or 2 (rgb565)", id, format);
		return false;
	}
	int max = renderer_max_texture_size(client->server->renderer);
	if (width == 0 || height == 0 || width > (uint32_t)max || height > (uint32_t)max) {
		client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: %u x %u pixels; each "
			"side must be 1 to %d (the GPU's maximum texture size)", id, width, height, max);
		return false;
	}
	unsigned bpp = render_format_bpp((enum render_format)format);
	if (stride % bpp != 0 || offset % bpp != 0 || (uint64_t)stride < (uint64_t)width * bpp) {
		client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: offset %u and stride "
			"%u must be multiples of %u (%s), and the stride at least %llu", id, offset,
			stride, bpp, format_names[format], (unsigned long long)width * bpp);
		return false;
	}
	uint64_t end = (uint64_t)offset + (uint64_t)stride * (height - 1) + (uint64_t)width * bpp;
	if (end > map->size) {
		client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: its pixels end at "
			"byte %llu, past the pool's %zu", id, (unsigned long long)end, map->size);
		return false;
	}
	return true;
}

// A commit uploads what the buffer's content has in its damage.
static bool mark_pending(struct client *client, uint32_t id, struct buffer_slot *slot) {
	if (slot->pending != 0) {
		return true;
	}
	return object_pending_add(client, id, &slot->pending, PENDING_DAMAGE) != NULL;
}

// The GL texture goes before the next frame (image_textures_reap), or now when memory
// for the list cannot be had.
static void bury_texture(struct server *server, struct render_texture *tex) {
	if (server->dead_len == server->dead_cap) {
		size_t cap = server->dead_cap ? server->dead_cap * 2 : 64;
		struct render_texture *grown = realloc(server->dead_textures, cap * sizeof *grown);
		if (grown == NULL) {
			render_texture_finish(server->renderer, tex);
			return;
		}
		server->dead_textures = grown;
		server->dead_cap = cap;
	}
	server->dead_textures[server->dead_len++] = *tex;
	*tex = (struct render_texture){ 0 };
}

void image_textures_reap(struct server *server) {
	for (size_t i = 0; i < server->dead_len; i++) {
		render_texture_finish(server->renderer, &server->dead_textures[i]);
	}
	server->dead_len = 0;
}

static void content_free(struct client *client, struct image_content *c) {
	struct server *server = client->server;
	if (c->slot != NULL) {
		// Its texels stay until the atlas needs the room (least recently used first).
		atlas_unref(server->sprites.atlas, c->slot, server->frames);
	} else {
		bury_texture(server, &c->gpu);
	}
	client->textures--;
	client->texture_bytes -= c->bytes;
	client->server->texture_count--;
	client->server->texture_bytes -= c->bytes;
	list_remove(&c->link);
	free(c);
}

static bool small_image(uint32_t width, uint32_t height) {
	return width <= IMAGE_ATLAS_SIDE && height <= IMAGE_ATLAS_SIDE;
}

// Gives @c a place in the atlas of small images (made at the first); false when it is
// not small, or there is no room (then it gets a texture of its own).
static bool place_in_atlas(struct server *server, struct image_content *c, uint32_t width,
		uint32_t height) {
	if (!small_image(width, height)) {
		return false;
	}
	if (!server->sprites_ready) {
		if (!atlas_gpu_init(&server->sprites, server->renderer, IMAGE_ATLAS_BYTES)) {
			return false;
		}
		server->sprites_ready = true;
	}
	// Keys no glyph has: face UINT32_MAX, and a serial no other content had.
	static uint64_t serial;
	serial++;
	struct atlas_key key = { .face = UINT32_MAX, .glyph = (uint32_t)serial,
		.size64 = (uint32_t)(serial >> 32) };
	struct shaper_bitmap room = { .width = (int)width, .height = (int)height,
		.pitch = (int)width * 4, .color = true };
	struct atlas *atlas = server->sprites.atlas;
	struct atlas_glyph *g = atlas_insert(atlas, &key, &room, server->frames);
	if (g == NULL) {
		return false;
	}
	atlas_ref(atlas, g);
	if (!atlas_gpu_sync(&server->sprites)) {
		atlas_unref(atlas, g, server->frames);
		return false;
	}
	const struct atlas_page *page = atlas_page(atlas, g->page);
	c->slot = g;
	c->texture = (struct tree_texture){ .name = atlas_gpu_texture(&server->sprites, g->page),
		.width = width, .height = height, .x = g->x, .y = g->y,
		.tex_width = (uint32_t)page->size, .tex_height = (uint32_t)page->size };
	return true;
}

// Copies @box of a small image from client memory into its place in the atlas, as
// premultiplied RGBA8 (XRGB8 and RGB565 made opaque RGBA).
static void write_atlas(struct server *server, struct image_content *c, const uint8_t *pixels,
		struct draw_box box) {
	size_t stride;
	uint8_t *dst = atlas_glyph_texels(server->sprites.atlas, c->slot, box, &stride);
	unsigned bpp = render_format_bpp((enum render_format)c->format);
	size_t w = (size_t)(box.x1 - box.x0);
	for (int32_t y = box.y0; y < box.y1; y++, dst += stride) {
		const uint8_t *src = pixels + (size_t)y * c->stride + (size_t)box.x0 * bpp;
		switch (c->format) {
		case RENDER_RGBA8:
			memcpy(dst, src, w * 4);
			break;
		case RENDER_XRGB8:
			for (size_t x = 0; x < w; x++) {
				dst[4 * x] = src[4 * x + 2];
				dst[4 * x + 1] = src[4 * x + 1];
				dst[4 * x + 2] = src[4 * x];
				dst[4 * x + 3] = 0xff;
			}
			break;
		default: // RENDER_RGB565: 5 and 6 bits widened to 8, as GL does
			for (size_t x = 0; x < w; x++) {
				uint16_t v = (uint16_t)(src[2 * x] | src[2 * x + 1] << 8);
				uint32_t r = v >> 11, g = (v >> 5) & 0x3f, b = v & 0x1f;
				dst[4 * x] = (uint8_t)((r * 255 + 15) / 31);
				dst[4 * x + 1] = (uint8_t)((g * 255 + 31) / 63);
				dst[4 * x + 2] = (uint8_t)((b * 255 + 15) / 31);
				dst[4 * x + 3] = 0xff;
			}
			break;
		}
	}
}

void image_sprites_flush(struct server *server) {
	if (server->sprites_ready) {
		atlas_gpu_flush(&server->sprites);
	}
}

void image_sprites_finish(struct server *server) {
	image_textures_reap(server);
	free(server->dead_textures);
	server->dead_textures = NULL;
	server->dead_cap = 0;
	if (server->sprites_ready) {
		atlas_gpu_finish(&server->sprites);
		server->sprites_ready = false;
	}
}

// Makes buffer @id's content, @width x @height of @format, with its texture (or its
// place in the atlas of small images), charged to @client. NULL after posting an error.
static struct image_content *content_create(struct client *client, uint32_t id,
		uint32_t width, uint32_t height, enum render_format format,
		struct buffer_slot **slot_out) {
	// In the atlas every format takes 4 bytes a pixel: charged so, to be safe.
	size_t bytes = render_texture_bytes((int)width, (int)height,
		small_image(width, height) ? RENDER_RGBA8 : format);
	uint32_t max = client->server->options.limits.texture_bytes;
	if (client->texture_bytes + bytes > max) {
		client_post_error(client, id, TS_ERR_limit_exceeded, "limit texture_bytes=%u "
			"exceeded: the client's textures hold %llu bytes, and this one needs %zu", max,
			(unsigned long long)client->texture_bytes, bytes);
		return NULL;
	}
	struct image_content *c = calloc(1, sizeof *c);
	if (c == NULL) {
		client_post_error(client, id, TS_ERR_no_memory, "out of memory");
		return NULL;
	}
	enum render_status status = RENDER_OK;
	if (!place_in_atlas(client->server, c, width, height)) {
		status = render_texture_init(client->server->renderer, &c->gpu, (int)width,
			(int)height, format);
		c->texture = (struct tree_texture){ .name = c->gpu.name, .width = width,
			.height = height, .tex_width = width, .tex_height = height };
	}
	if (status != RENDER_OK) {
		free(c);
		if (status == RENDER_OUT_OF_MEMORY) {
			client_post_error(client, id, TS_ERR_no_memory, "buffer %u: the GPU has no "
				"memory for a %u x %u texture", id, width, height);
		} else {
			client_post_error(client, id, TS_ERR_internal, "buffer %u: the GPU refused a "
				"%u x %u texture", id, width, height);
		}
		return NULL;
	}
	struct buffer_slot *slot = object_insert(client, id, OBJECT_BUFFER);
	if (slot == NULL) {
		if (c->slot != NULL) {
			atlas_unref(client->server->sprites.atlas, c->slot, client->server->frames);
		}
		render_texture_finish(client->server->renderer, &c->gpu);
		free(c);
		return NULL;
	}
	c->texture.changed = UINT64_MAX;
	c->format = (uint8_t)format;
	c->bytes = bytes;
	c->alive = true;
	list_append(&client->images, &c->link);
	client->textures++;
	client->texture_bytes += bytes;
	client->server->texture_count++;
	client->server->texture_bytes += bytes;
	slot->content = c;
	slot->pending = 0;
	*slot_out = slot;
	return c;
}

void handle_buffer_create(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u, width = args[3].u, height = args[4].u;
	struct shm_map *map = ((struct pool_slot *)objs[1])->map;
	if (!object_check_new_id(client, id) || !check_buffer(client, id, map, args)) {
		return;
	}
	struct buffer_slot *slot;
	struct image_content *c = content_create(client, id, width, height,
		(enum render_format)args[6].u, &slot);
	if (c == NULL) {
		return;
	}
	c->map = map;
	map->refs++;
	c->offset = args[2].u;
	c->stride = args[5].u;
	// Its first commit uploads it whole.
	c->damage[0] = (struct draw_box){ 0, 0, (int32_t)width, (int32_t)height };
	c->damage_len = 1;
	mark_pending(client, id, slot);
}

void handle_buffer_create_inline(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u, width = args[1].u, height = args[2].u, format = args[3].u;
	const struct ts_array *pixels = &args[4].a;
	if (!object_check_new_id(client, id)) {
		return;
	}
	if (format >= RENDER_CLIENT_FORMATS) {
		client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: format %u does not "
			"exist: 0 (rgba8), 1 (xrgb8) or 2 (rgb565)", id, format);
		return;
	}
	unsigned bpp = render_format_bpp((enum render_format)format);
	if (width == 0 || height == 0 || width > IMAGE_ATLAS_SIDE || height > IMAGE_ATLAS_SIDE ||
			(uint64_t)width * height * bpp != pixels->size) {
		client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: %u x %u pixels of %s "
			"are %llu bytes, and %u came; an inline buffer is 1 to %d a side", id, width,
			height, format_names[format], (unsigned long long)width * height * bpp,
			pixels->size, IMAGE_ATLAS_SIDE);
		return;
	}
	struct buffer_slot *slot;
	struct image_content *c = content_create(client, id, width, height,
		(enum render_format)format, &slot);
	if (c == NULL) {
		return;
	}
	// Its pixels are here and nowhere else: they go to the GPU now (nothing shows the
	// buffer before a commit anyway), and never change.
	c->stride = width * bpp;
	struct draw_box all = { 0, 0, (int32_t)width, (int32_t)height };
	if (c->slot != NULL) {
		write_atlas(client->server, c, pixels->data, all);
	} else if (render_texture_upload(client->server->renderer, &c->gpu, pixels->data,
			c->stride, all) != RENDER_OK) {
		client_post_error(client, id, TS_ERR_internal, "buffer %u: the GPU failed to take "
			"its pixels", id);
	}
}

static void add_damage(struct image_content *c, struct draw_box box) {
	struct draw_box all = box;
	for (uint8_t i = 0; i < c->damage_len; i++) {
		const struct draw_box *d = &c->damage[i];
		if (box.x0 >= d->x0 && box.y0 >= d->y0 && box.x1 <= d->x1 && box.y1 <= d->y1) {
			return; // inside one already
		}
		all = box_union(&all, &c->damage[i]);
	}
	if (c->damage_len < IMAGE_DAMAGE_MAX) {
		c->damage[c->damage_len++] = box;
	} else {
		// Full: all of it becomes one bounding box.
		c->damage[0] = all;
		c->damage_len = 1;
	}
}

void handle_buffer_damage(struct client *client, const union ts_arg *args,
		void *const *objs) {
	uint32_t id = args[0].u;
	struct buffer_slot *slot = objs[0];
	struct image_content *c = slot->content;
	if (c->map == NULL) {
		return; // an inline buffer: its pixels never change, there is nothing to read
	}
	const uint8_t *data = args[1].a.data;
	size_t n = args[1].a.size / 16;
	for (size_t i = 0; i < n; i++) {
		int32_t v[4];
		memcpy(v, data + 16 * i, sizeof v);
		if (v[2] < 0 || v[3] < 0) {
			client_post_error(client, id, TS_ERR_invalid_value, "buffer %u: damage box %zu "
				"is %d x %d", id, i, v[2], v[3]);
			return;
		}
		// Cut to the buffer, in 64 bits: x + width may pass INT32_MAX.
		int64_t x0 = v[0], y0 = v[1], x1 = x0 + v[2], y1 = y0 + v[3];
		x0 = x0 < 0 ? 0 : x0;
		y0 = y0 < 0 ? 0 : y0;
		x1 = x1 > c->texture.width ? c->texture.width : x1;
		y1 = y1 > c->texture.height ? c->texture.height : y1;
		if (x0 < x1 && y0 < y1) {
			add_damage(c, (struct draw_box){ (int32_t)x0, (int32_t)y0, (int32_t)x1,
				(int32_t)y1 });
		}
	}
	if (c->damage_len > 0) {
		mark_pending(client, id, slot);
	}
}

// At the commit: the damaged pixels go to the texture, and the nodes showing it are
// redrawn in the next frame.
static bool buffer_commit(struct client *client, uint32_t id, void *slot,
		const struct pending_entry *entry) {
	struct buffer_slot *b = slot;
	b->pending = 0;
	struct image_content *c = b->content;
	if (c->damage_len == 0 || c->map == NULL) {
		return true;
	}
	const uint8_t *pixels = c->map->data + c->offset;
	if (c->slot != NULL) {
		for (uint8_t i = 0; i < c->damage_len; i++) {
			write_atlas(client->server, c, pixels, c->damage[i]);
		}
		c->damage_len = 0;
		tree_texture_changed(&client->server->tree, &c->texture);
		return true;
	}
	for (uint8_t i = 0; i < c->damage_len; i++) {
		enum render_status status = render_texture_upload(client->server->renderer, &c->gpu,
			pixels, c->stride, c->damage[i]);
		if (status != RENDER_OK) {
			c->damage_len = 0;
			client_post_error(client, id, status == RENDER_OUT_OF_MEMORY ? TS_ERR_no_memory
				: TS_ERR_internal, "buffer %u: the GPU failed to take its pixels%s", id,
				status == RENDER_OUT_OF_MEMORY ? " (out of memory)" : "");
			return false;
		}
	}
	c->damage_len = 0;
	tree_texture_changed(&client->server->tree, &c->texture);
	return true;
}

// The buffer object goes; its content stays while committed image nodes show it.
static void buffer_destroy(struct client *client, uint32_t id, void *slot) {
	struct image_content *c = ((struct buffer_slot *)slot)->content;
	if (c->map != NULL) {
		map_unref(client, c->map);
	}
	c->map = NULL;
	c->alive = false;
	c->damage_len = 0;
	client->image_orphans++;
}

const struct object_ops buffer_ops = {
	.name = "buffer",
	.destroyable = true,
	.destroy = buffer_destroy,
	.commit = buffer_commit,
	.pending_offset = offsetof(struct buffer_slot, pending),
};

void image_users_change(const struct tree_texture *old, const struct tree_texture *texture) {
	if (old == texture) {
		return;
	}
	if (old != NULL) {
		image_content_of(old)->users--;
	}
	if (texture != NULL) {
		image_content_of(texture)->users++;
	}
}

void image_sweep(struct client *client) {
	if (client->image_orphans == 0) {
		return;
	}
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &client->images) {
		struct image_content *c = list_entry(pos, struct image_content, link);
		if (!c->alive && c->users == 0) {
			content_free(client, c);
			client->image_orphans--;
		}
	}
}

void image_client_gone(struct client *client) {
	while (!list_empty(&client->images)) {
		content_free(client, list_entry(client->images.next, struct image_content, link));
	}
	while (!list_empty(&client->maps)) {
		struct shm_map *map = list_entry(client->maps.next, struct shm_map, link);
		map->refs = 1;
		map_unref(client, map);
	}
	client->image_orphans = 0;
}
