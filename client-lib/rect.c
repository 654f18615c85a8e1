/*
 * Rectangle handles: a small heap struct per rectangle, named in the display's id
 * table until destroyed. The id itself stays taken (a zombie entry) until the
 * server's delete_id says nothing more about the old rectangle is in flight.
 */
#include "client-protocol.h"

#include <errno.h>
#include <stdlib.h>

struct ts_rect *ts_rect_create(struct ts_display *display) {
	if (display_check(display) < 0) {
		return NULL;
	}
	struct ts_rect *rect = malloc(sizeof *rect);
	if (rect == NULL) {
		display_fail(display, ENOMEM, NULL);
		return NULL;
	}
	uint32_t id = id_new(display, ENTRY_RECT);
	if (id == 0) {
		free(rect);
		return NULL;
	}
	rect->display = display;
	rect->id = id;
	display->entries[id].rect = rect;
	if (ts__req_rect_create(display, id) < 0) {
		id_release(display, id);
		free(rect);
		return NULL;
	}
	return rect;
}

int ts_rect_destroy(struct ts_rect *rect) {
	if (rect == NULL) {
		return 0;
	}
	struct ts_display *display = rect->display;
	uint32_t id = rect->id;
	struct entry *entry = &display->entries[rect->id];
	entry->kind = ENTRY_ZOMBIE;
	entry->rect = NULL;
	free(rect);
	return ts__req_destroy(display, id);
}

uint32_t ts_rect_get_id(const struct ts_rect *rect) {
	return rect != NULL ? rect->id : 0;
}

int ts_rect_set_position(struct ts_rect *rect, int32_t x, int32_t y) {
	return ts__req_rect_set_position(rect->display, rect->id, x, y);
}

int ts_rect_set_size(struct ts_rect *rect, uint32_t width, uint32_t height) {
	return ts__req_rect_set_size(rect->display, rect->id, width, height);
}

int ts_rect_set_color(struct ts_rect *rect, uint32_t rgba) {
	return ts__req_rect_set_color(rect->display, rect->id, rgba);
}

int ts_rect_set_z(struct ts_rect *rect, int32_t z) {
	return ts__req_rect_set_z(rect->display, rect->id, z);
}

int ts_rect_set_visible(struct ts_rect *rect, bool visible) {
	return ts__req_rect_set_visible(rect->display, rect->id, visible ? 1 : 0);
}
