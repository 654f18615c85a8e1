/*
 * Rectangle handles: a small heap struct per rectangle, named in the display's id
 * table until destroyed. The id itself stays taken (a zombie entry) until the
 * server's delete_id says nothing more about the old rectangle is in flight.
 */
#include "client-private.h"

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
	union ts_arg arg = { .u = id };
	if (display_queue(display, TS_REQ_rect_create, &arg) < 0) {
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
	union ts_arg arg = { .u = rect->id };
	struct entry *entry = &display->entries[rect->id];
	entry->kind = ENTRY_ZOMBIE;
	entry->rect = NULL;
	free(rect);
	return display_queue(display, TS_REQ_destroy, &arg);
}

uint32_t ts_rect_get_id(const struct ts_rect *rect) {
	return rect != NULL ? rect->id : 0;
}

int ts_rect_set_position(struct ts_rect *rect, int32_t x, int32_t y) {
	union ts_arg args[] = { { .u = rect->id }, { .i = x }, { .i = y } };
	return display_queue(rect->display, TS_REQ_rect_set_position, args);
}

int ts_rect_set_size(struct ts_rect *rect, uint32_t width, uint32_t height) {
	union ts_arg args[] = { { .u = rect->id }, { .u = width }, { .u = height } };
	return display_queue(rect->display, TS_REQ_rect_set_size, args);
}

int ts_rect_set_color(struct ts_rect *rect, uint32_t rgba) {
	union ts_arg args[] = { { .u = rect->id }, { .u = rgba } };
	return display_queue(rect->display, TS_REQ_rect_set_color, args);
}

int ts_rect_set_z(struct ts_rect *rect, int32_t z) {
	union ts_arg args[] = { { .u = rect->id }, { .i = z } };
	return display_queue(rect->display, TS_REQ_rect_set_z, args);
}

int ts_rect_set_visible(struct ts_rect *rect, bool visible) {
	union ts_arg args[] = { { .u = rect->id }, { .u = visible ? 1 : 0 } };
	return display_queue(rect->display, TS_REQ_rect_set_visible, args);
}
