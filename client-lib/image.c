#define _GNU_SOURCE // memfd_create, F_ADD_SEALS
/*
 * Shared-memory pools and image buffers. A pool is a memfd sealed against shrinking
 * (what the server requires before it maps it), mapped here for writing; the server
 * maps it read-only and closes its copy of the fd, so pools cost the server no fd. A
 * buffer is a rectangle of a pool in one format; after writing into it, the client
 * names what changed (ts_buffer_damage) and commits.
 */
#include "client-protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// An inline buffer's pixels fill what one message leaves: id, width, height, format
// and the array's length.
_Static_assert(TS_INLINE_BUFFER_BYTES == TS_MAX_MESSAGE - TS_HEADER_SIZE - 5 * 4,
	"TS_INLINE_BUFFER_BYTES is what fits in one buffer_create_inline");

// Damage boxes per buffer_damage message: 16 bytes each within TS_MAX_MESSAGE.
#define DAMAGE_PER_MESSAGE ((TS_MAX_MESSAGE - TS_HEADER_SIZE - 8) / 16)

static unsigned format_bpp(enum ts_format format) {
	return format == TS_FORMAT_RGB565 ? 2 : 4;
}

// Sends shm_pool_create with @fd (the connection owns it from here).
static struct ts_shm_pool *pool_new(struct ts_display *display, int fd, size_t size,
		uint8_t *data) {
	struct ts_shm_pool *pool = malloc(sizeof *pool);
	uint32_t id = pool != NULL ? id_new(display, ENTRY_POOL) : 0;
	if (id == 0) {
		if (pool == NULL) {
			display_fail(display, ENOMEM, NULL);
		}
		free(pool);
		close(fd);
		return NULL;
	}
	*pool = (struct ts_shm_pool){ .display = display, .id = id, .data = data, .size = size };
	display->entries[id].pool = pool;
	if (ts__req_shm_pool_create(display, id, fd, (uint32_t)size) < 0) {
		id_release(display, id);
		free(pool);
		return NULL;
	}
	return pool;
}

struct ts_shm_pool *ts_shm_pool_create(struct ts_display *display, size_t size) {
	if (display_check(display) < 0) {
		return NULL;
	}
	if (size == 0 || size > UINT32_MAX) {
		display_fail(display, EINVAL, "a pool is 1 byte to 4 GiB - 1");
		return NULL;
	}
	int fd = memfd_create("tessera-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		display_fail(display, errno, NULL);
		return NULL;
	}
	uint8_t *data = MAP_FAILED;
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0 ||
			(data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
			MAP_FAILED) {
		int err = errno;
		close(fd);
		display_fail(display, err, NULL);
		return NULL;
	}
	struct ts_shm_pool *pool = pool_new(display, fd, size, data);
	if (pool == NULL) {
		munmap(data, size);
	}
	return pool;
}

struct ts_shm_pool *ts_shm_pool_create_fd(struct ts_display *display, int fd, uint32_t size) {
	if (display_check(display) < 0) {
		return NULL;
	}
	int sent = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (sent < 0) {
		display_fail(display, errno, NULL);
		return NULL;
	}
	return pool_new(display, sent, size, NULL);
}

void *ts_shm_pool_data(struct ts_shm_pool *pool) {
	return pool != NULL ? pool->data : NULL;
}

static void pool_free(struct ts_shm_pool *pool) {
	if (pool->data != NULL) {
		munmap(pool->data, pool->size);
	}
	free(pool);
}

// Sends destroy for a live object of @kind and lets its id wait for delete_ids.
static int object_destroy(struct ts_display *display, uint32_t id, enum entry_kind kind) {
	if (id_lookup(display, id, kind) == NULL) {
		return 0; // the display failed and was torn down meanwhile: nothing to send
	}
	display->entries[id].kind = ENTRY_ZOMBIE;
	display->entries[id].node = NULL;
	return ts__req_destroy(display, id);
}

int ts_shm_pool_destroy(struct ts_shm_pool *pool) {
	if (pool == NULL) {
		return 0;
	}
	int rc = object_destroy(pool->display, pool->id, ENTRY_POOL);
	pool_free(pool);
	return rc;
}

struct ts_buffer *ts_buffer_create(struct ts_shm_pool *pool, uint32_t offset, uint32_t width,
		uint32_t height, uint32_t stride, enum ts_format format) {
	if (pool == NULL) {
		errno = EINVAL;
		return NULL;
	}
	struct ts_display *display = pool->display;
	if (display_check(display) < 0) {
		return NULL;
	}
	struct ts_buffer *buffer = malloc(sizeof *buffer);
	uint32_t id = buffer != NULL ? id_new(display, ENTRY_BUFFER) : 0;
	if (id == 0) {
		if (buffer == NULL) {
			display_fail(display, ENOMEM, NULL);
		}
		free(buffer);
		return NULL;
	}
	// Where its pixels are here, when they lie inside our mapping (the server checks
	// the numbers and ends the connection if they do not fit).
	uint64_t end = (uint64_t)offset + (uint64_t)stride * (height ? height - 1 : 0) +
		(uint64_t)width * format_bpp(format);
	uint8_t *data = pool->data != NULL && end <= pool->size ? pool->data + offset : NULL;
	*buffer = (struct ts_buffer){ .display = display, .id = id, .data = data,
		.width = width, .height = height, .stride = stride };
	display->entries[id].buffer = buffer;
	if (ts__req_buffer_create(display, id, pool->id, offset, width, height, stride,
			(uint32_t)format) < 0) {
		id_release(display, id);
		free(buffer);
		return NULL;
	}
	return buffer;
}

struct ts_buffer *ts_buffer_create_inline(struct ts_display *display, uint32_t width,
		uint32_t height, enum ts_format format, const void *pixels, size_t stride) {
	if (display_check(display) < 0) {
		return NULL;
	}
	size_t row = (size_t)width * format_bpp(format);
	if (width == 0 || height == 0 || pixels == NULL || stride < row ||
			(uint64_t)row * height > TS_INLINE_BUFFER_BYTES) {
		errno = EINVAL;
		return NULL;
	}
	uint8_t tight[TS_INLINE_BUFFER_BYTES];
	for (uint32_t y = 0; y < height; y++) {
		memcpy(tight + (size_t)y * row, (const uint8_t *)pixels + (size_t)y * stride, row);
	}
	struct ts_buffer *buffer = malloc(sizeof *buffer);
	uint32_t id = buffer != NULL ? id_new(display, ENTRY_BUFFER) : 0;
	if (id == 0) {
		if (buffer == NULL) {
			display_fail(display, ENOMEM, NULL);
		}
		free(buffer);
		return NULL;
	}
	*buffer = (struct ts_buffer){ .display = display, .id = id, .width = width,
		.height = height, .stride = (uint32_t)row };
	display->entries[id].buffer = buffer;
	if (ts__req_buffer_create_inline(display, id, width, height, (uint32_t)format, tight,
			(uint32_t)(row * height)) < 0) {
		id_release(display, id);
		free(buffer);
		return NULL;
	}
	return buffer;
}

struct ts_buffer *ts_buffer_create_shm(struct ts_display *display, uint32_t width,
		uint32_t height, enum ts_format format) {
	uint64_t stride = (uint64_t)width * format_bpp(format);
	uint64_t size = stride * height;
	if (width == 0 || height == 0 || size > UINT32_MAX) {
		display_fail(display, EINVAL, "a buffer is at least 1 x 1 and under 4 GiB");
		return NULL;
	}
	struct ts_shm_pool *pool = ts_shm_pool_create(display, (size_t)size);
	if (pool == NULL) {
		return NULL;
	}
	struct ts_buffer *buffer = ts_buffer_create(pool, 0, width, height, (uint32_t)stride,
		format);
	if (buffer == NULL) {
		ts_shm_pool_destroy(pool);
		return NULL;
	}
	buffer->own_pool = pool;
	return buffer;
}

void *ts_buffer_data(struct ts_buffer *buffer) {
	return buffer != NULL ? buffer->data : NULL;
}

uint32_t ts_buffer_get_stride(const struct ts_buffer *buffer) {
	return buffer != NULL ? buffer->stride : 0;
}

uint32_t ts_buffer_get_id(const struct ts_buffer *buffer) {
	return buffer != NULL ? buffer->id : 0;
}

uint32_t buffer_id(const struct ts_buffer *buffer) {
	return buffer->display->entries != NULL &&
		buffer->display->entries[buffer->id].kind == ENTRY_BUFFER ? buffer->id : 0;
}

int ts_buffer_damage_boxes(struct ts_buffer *buffer, const int32_t *boxes, size_t count) {
	if (buffer == NULL || buffer_id(buffer) == 0) {
		errno = EINVAL;
		return -1;
	}
	for (size_t at = 0; at < count; at += DAMAGE_PER_MESSAGE) {
		size_t n = count - at < DAMAGE_PER_MESSAGE ? count - at : DAMAGE_PER_MESSAGE;
		uint8_t bytes[DAMAGE_PER_MESSAGE * 16];
		for (size_t i = 0; i < 4 * n; i++) {
			ts_put_u32(bytes + 4 * i, (uint32_t)boxes[4 * at + i]);
		}
		if (ts__req_buffer_damage(buffer->display, buffer->id, bytes, (uint32_t)(16 * n)) < 0) {
			return -1;
		}
	}
	return 0;
}

int ts_buffer_damage(struct ts_buffer *buffer, int32_t x, int32_t y, int32_t width,
		int32_t height) {
	const int32_t box[4] = { x, y, width, height };
	return ts_buffer_damage_boxes(buffer, box, 1);
}

int ts_buffer_destroy(struct ts_buffer *buffer) {
	if (buffer == NULL) {
		return 0;
	}
	int rc = object_destroy(buffer->display, buffer->id, ENTRY_BUFFER);
	if (buffer->own_pool != NULL && ts_shm_pool_destroy(buffer->own_pool) < 0) {
		rc = -1;
	}
	free(buffer);
	return rc;
}

void image_handles_free(struct ts_display *display) {
	for (uint32_t id = 1; id <= display->highest; id++) {
		struct entry *entry = &display->entries[id];
		if (entry->kind == ENTRY_BUFFER) {
			free(entry->buffer);
		} else if (entry->kind == ENTRY_POOL) {
			pool_free(entry->pool);
		}
		if (entry->kind == ENTRY_BUFFER || entry->kind == ENTRY_POOL) {
			entry->kind = ENTRY_FREE;
		}
	}
}
