#include "transform.h"

#include <math.h>

#include <cglm/cglm.h>

struct affine node_local_transform(const struct node_placement *p) {
	// Read right to left: move the anchor point to the origin, scale, rotate, then move
	// it to (x, y). cglm's 2D functions multiply on the right, so they come in the order
	// written here.
	mat3 m;
	glm_translate2d_make(m, (vec2){ p->x, p->y });
	if (p->rotation != 0.0f) {
		// Whole quarter turns are exact, so an axis-aligned node stays axis-aligned.
		float turns = p->rotation / 90.0f;
		if (turns == floorf(turns)) {
			int q = ((int)fmodf(turns, 4.0f) + 4) % 4;
			static const float cosq[4] = { 1, 0, -1, 0 }, sinq[4] = { 0, 1, 0, -1 };
			mat3 r = { { cosq[q], sinq[q], 0 }, { -sinq[q], cosq[q], 0 }, { 0, 0, 1 } };
			glm_mat3_mul(m, r, m);
		} else {
			glm_rotate2d(m, glm_rad(p->rotation));
		}
	}
	if (p->scale_x != 1.0f || p->scale_y != 1.0f) {
		glm_scale2d(m, (vec2){ p->scale_x, p->scale_y });
	}
	if (p->anchor_x != 0.0f || p->anchor_y != 0.0f) {
		glm_translate2d(m, (vec2){ -p->anchor_x * p->width, -p->anchor_y * p->height });
	}
	// cglm is column-major: m[column][row].
	return (struct affine){ m[0][0], m[0][1], m[1][0], m[1][1], m[2][0], m[2][1] };
}

static int32_t clamp_pixel(float v, bool up) {
	const float limit = (float)(1 << 24);
	if (!(v > -limit)) { // NaN included
		return -(1 << 24);
	}
	if (v > limit) {
		return 1 << 24;
	}
	return (int32_t)(up ? ceilf(v) : floorf(v));
}

struct draw_box affine_box(const struct affine *t, float width, float height) {
	if (!(width > 0.0f) || !(height > 0.0f)) {
		return (struct draw_box){ 0, 0, 0, 0 };
	}
	float xs[4], ys[4];
	affine_apply(t, 0, 0, &xs[0], &ys[0]);
	affine_apply(t, width, 0, &xs[1], &ys[1]);
	affine_apply(t, 0, height, &xs[2], &ys[2]);
	affine_apply(t, width, height, &xs[3], &ys[3]);
	float x0 = xs[0], x1 = xs[0], y0 = ys[0], y1 = ys[0];
	for (int k = 1; k < 4; k++) {
		x0 = fminf(x0, xs[k]);
		x1 = fmaxf(x1, xs[k]);
		y0 = fminf(y0, ys[k]);
		y1 = fmaxf(y1, ys[k]);
	}
	return (struct draw_box){ clamp_pixel(x0, false), clamp_pixel(y0, false),
		clamp_pixel(x1, true), clamp_pixel(y1, true) };
}
