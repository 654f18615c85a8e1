/*
 * 2D affine transforms for the scene: a node's local transform from its properties,
 * composition down the tree, and the screen box of a transformed rectangle. No GL.
 */
#ifndef TESSERA_TRANSFORM_H
#define TESSERA_TRANSFORM_H

#include <stdbool.h>

#include "draw-list.h"

/** The properties that place a node in its parent's space. */
struct node_placement {
	float x, y;              // where the anchor point lands, in the parent's space
	float width, height;
	float anchor_x, anchor_y; // the anchor point as a fraction of the size (0, 0: top left)
	float rotation;          // degrees, clockwise on screen (y points down)
	float scale_x, scale_y;
};

static const struct affine affine_identity = { 1, 0, 0, 1, 0, 0 };

/**
 * The node's local transform: scale and rotate about the anchor point, then put the
 * anchor point at (x, y). Built with cglm's 2D affine functions.
 */
struct affine node_local_transform(const struct node_placement *p);

/** @outer after @inner: the transform that applies @inner first, then @outer. */
static inline struct affine affine_mul(const struct affine *outer, const struct affine *inner) {
	return (struct affine){
		.a = outer->a * inner->a + outer->c * inner->b,
		.b = outer->b * inner->a + outer->d * inner->b,
		.c = outer->a * inner->c + outer->c * inner->d,
		.d = outer->b * inner->c + outer->d * inner->d,
		.e = outer->a * inner->e + outer->c * inner->f + outer->e,
		.f = outer->b * inner->e + outer->d * inner->f + outer->f,
	};
}

/** @t translated by (x, y) in its local space: affine_mul(t, translate(x, y)). */
static inline struct affine affine_translated(const struct affine *t, float x, float y) {
	struct affine r = *t;
	r.e += t->a * x + t->c * y;
	r.f += t->b * x + t->d * y;
	return r;
}

static inline void affine_apply(const struct affine *t, float x, float y, float *ox, float *oy) {
	*ox = t->a * x + t->c * y + t->e;
	*oy = t->b * x + t->d * y + t->f;
}

/**
 * True when @t maps axis-aligned boxes to axis-aligned boxes: no rotation or shear
 * (b and c zero), any scale and translation.
 */
static inline bool affine_axis_aligned(const struct affine *t) {
	return t->b == 0.0f && t->c == 0.0f;
}

/**
 * The whole pixels that (0, 0)-(width, height) through @t can touch: the box of its
 * four corners, rounded outwards, clamped to +-(1 << 24). Empty for an empty rectangle.
 */
struct draw_box affine_box(const struct affine *t, float width, float height);

static inline bool box_empty(const struct draw_box *b) {
	return b->x0 >= b->x1 || b->y0 >= b->y1;
}

static inline struct draw_box box_intersect(const struct draw_box *a, const struct draw_box *b) {
	return (struct draw_box){
		a->x0 > b->x0 ? a->x0 : b->x0, a->y0 > b->y0 ? a->y0 : b->y0,
		a->x1 < b->x1 ? a->x1 : b->x1, a->y1 < b->y1 ? a->y1 : b->y1,
	};
}

/** The smallest box holding both; an empty box adds nothing. */
static inline struct draw_box box_union(const struct draw_box *a, const struct draw_box *b) {
	if (box_empty(a)) {
		return *b;
	}
	if (box_empty(b)) {
		return *a;
	}
	return (struct draw_box){
		a->x0 < b->x0 ? a->x0 : b->x0, a->y0 < b->y0 ? a->y0 : b->y0,
		a->x1 > b->x1 ? a->x1 : b->x1, a->y1 > b->y1 ? a->y1 : b->y1,
	};
}

static inline uint64_t box_area(const struct draw_box *b) {
	return box_empty(b) ? 0 : (uint64_t)(b->x1 - b->x0) * (uint64_t)(b->y1 - b->y0);
}

#endif
