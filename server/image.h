/*
 * Images: shared-memory pools, image buffers and what they show. A client passes a
 * memfd sealed against shrinking (shm_pool_create); the server maps it read-only and
 * closes the fd, so a pool costs no fd however many buffers it holds. A buffer is a
 * rectangle of a pool in one format (buffer_create) with a texture of its own; what
 * buffer_damage names is uploaded at the next commit, and only that. Image nodes
 * (node.c) show a buffer's content.
 *
 * Ownership: the pool object, the buffer objects and every image node that shows a
 * buffer belong to one client. A buffer's content (struct image_content: its texture)
 * outlives the buffer object while committed image nodes still show it: destroying a
 * buffer keeps their picture, as the last pixels uploaded. Contents nobody shows any
 * more are freed at the end of a commit (a pending change may still name them until
 * then); a mapping goes when its pool and every buffer in it are gone. When the client
 * goes, image_client_gone frees all of its contents and mappings at once.
 */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "render.h"
#include "tree.h"
#include "wire.h"

struct client;
struct server;

// Damage boxes kept per buffer until the commit; more become their bounding box.
#define IMAGE_DAMAGE_MAX 16

/** A pool's mapping of client memory: read-only, shared. */
struct shm_map {
	uint8_t *data;
	size_t size;
	uint32_t refs;                 // the pool object, and every live buffer in it
	struct list link;              // client.maps
};

/** What an image buffer shows, and what image nodes point at. */
struct image_content {
	struct tree_texture texture;   // first: image nodes hold &content->texture
	struct render_texture gpu;     // its own texture; unused for one in the atlas
	struct atlas_glyph *slot;      // its place in the shared atlas of small images, or NULL
	struct shm_map *map;           // NULL once the buffer object is gone
	uint32_t offset, stride;       // where its pixels are in the map
	uint8_t format;                // enum render_format, in client memory
	bool alive;                    // its buffer object exists
	uint32_t users;                // committed image nodes showing it
	size_t bytes;                  // charged against texture_bytes
	struct draw_box damage[IMAGE_DAMAGE_MAX]; // to upload at the next commit
	uint8_t damage_len;
	struct list link;              // client.images
};

/** The slot of a buffer object. */
struct buffer_slot {
	struct image_content *content;
	uint32_t pending;              // the object's pending index (object.h)
};

/** The slot of a shm_pool object. */
struct pool_slot {
	struct shm_map *map;
};

/** The content of what is in a tree_texture an image node shows. */
static inline struct image_content *image_content_of(const struct tree_texture *texture) {
	return (struct image_content *)(void *)(uintptr_t)texture;
}

/** An image node now shows @texture (NULL: nothing) instead of @old. */
void image_users_change(const struct tree_texture *old, const struct tree_texture *texture);

/** Frees contents that nothing shows any more and whose buffer is gone: after a commit. */
void image_sweep(struct client *client);

/**
 * Small buffers (at most IMAGE_ATLAS_SIDE a side) share the pages of one atlas of the
 * server's, so that sprites of many buffers are drawn from one texture in one call.
 * Its pages stay within IMAGE_ATLAS_BYTES; a buffer that finds no room there gets a
 * texture of its own. Each buffer is charged its own texels, 4 bytes a pixel.
 */
#define IMAGE_ATLAS_SIDE 128
#define IMAGE_ATLAS_BYTES (16u << 20)

/** Before a frame: uploads what changed in the atlas of small images. */
void image_sprites_flush(struct server *server);

/**
 * Deletes the GL textures of contents freed since the last call: before each frame.
 * A client's cleanup only lists them, so it never waits for the driver.
 */
void image_textures_reap(struct server *server);

/** Frees the atlas of small images and the textures left, once every client is gone. */
void image_sprites_finish(struct server *server);

/** Frees every content and mapping of @client at once, for its end. */
void image_client_gone(struct client *client);

void handle_shm_pool_create(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_buffer_create(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_buffer_create_inline(struct client *client, const union ts_arg *args,
	void *const *objs);
void handle_buffer_damage(struct client *client, const union ts_arg *args,
	void *const *objs);

#endif
