#include "easing.h"

#include <math.h>

struct easing easing_of(enum easing_kind kind) {
	static const float points[][4] = {
		[EASING_EASE] = { 0.25f, 0.1f, 0.25f, 1.0f },
		[EASING_EASE_IN] = { 0.42f, 0.0f, 1.0f, 1.0f },
		[EASING_EASE_OUT] = { 0.0f, 0.0f, 0.58f, 1.0f },
		[EASING_EASE_IN_OUT] = { 0.42f, 0.0f, 0.58f, 1.0f },
	};
	struct easing e = { .kind = (uint8_t)kind, .jump = EASING_JUMP_END, .steps = 1 };
	if (kind >= EASING_EASE && kind <= EASING_EASE_IN_OUT) {
		e.x1 = points[kind][0];
		e.y1 = points[kind][1];
		e.x2 = points[kind][2];
		e.y2 = points[kind][3];
	}
	return e;
}

bool easing_check(const struct easing *e, const char **why) {
	if (e->kind >= EASING_KIND_COUNT_) {
		*why = "no such easing";
		return false;
	}
	if (e->kind == EASING_CUBIC_BEZIER) {
		if (!(e->x1 >= 0 && e->x1 <= 1 && e->x2 >= 0 && e->x2 <= 1)) {
			*why = "a cubic Bezier's x1 and x2 must be within 0 to 1";
			return false;
		}
		if (!(e->y1 >= -1000 && e->y1 <= 1000 && e->y2 >= -1000 && e->y2 <= 1000)) {
			*why = "a cubic Bezier's y1 and y2 must be within -1000 to 1000";
			return false;
		}
	}
	if (e->kind == EASING_STEPS) {
		if (e->jump >= EASING_JUMP_COUNT_) {
			*why = "no such step position";
			return false;
		}
		if (e->steps < (e->jump == EASING_JUMP_NONE ? 2 : 1) || e->steps > 10000) {
			*why = "steps must be 1 to 10000 (2 to 10000 with jump-none)";
			return false;
		}
	}
	return true;
}

// One coordinate of the curve from (0, 0) through the control points to (1, 1) at @s:
// 3(1-s)^2 s a + 3(1-s) s^2 b + s^3, in Horner form.
static float bezier(float a, float b, float s) {
	float c3 = 1 + 3 * a - 3 * b, c2 = 3 * b - 6 * a, c1 = 3 * a;
	return ((c3 * s + c2) * s + c1) * s;
}

static float bezier_slope(float a, float b, float s) {
	float c3 = 1 + 3 * a - 3 * b, c2 = 3 * b - 6 * a, c1 = 3 * a;
	return (3 * c3 * s + 2 * c2) * s + c1;
}

// y at x = @p: the parameter s with x(s) = p by Newton's method, which converges in a
// few steps where the slope is fair, and bisection where it is not (x1 or x2 near the
// ends); x is monotonic in s because x1 and x2 are within 0 to 1.
static float cubic(const struct easing *e, float p) {
	float s = p;
	for (int i = 0; i < 6; i++) {
		float err = bezier(e->x1, e->x2, s) - p;
		if (fabsf(err) < 1e-6f) {
			return bezier(e->y1, e->y2, s);
		}
		float slope = bezier_slope(e->x1, e->x2, s);
		if (fabsf(slope) < 1e-4f) {
			break;
		}
		s -= err / slope;
		if (s < 0 || s > 1) {
			break;
		}
	}
	float lo = 0, hi = 1;
	s = p;
	for (int i = 0; i < 40; i++) {
		float x = bezier(e->x1, e->x2, s);
		if (fabsf(x - p) < 1e-6f) {
			break;
		}
		if (x < p) {
			lo = s;
		} else {
			hi = s;
		}
		s = (lo + hi) / 2;
	}
	return bezier(e->y1, e->y2, s);
}

// CSS's step easing, without the "before flag" (progress never goes below 0 here).
static float steps(const struct easing *e, float p) {
	float n = e->steps;
	float step = floorf(p * n);
	if (e->jump == EASING_JUMP_START || e->jump == EASING_JUMP_BOTH) {
		step += 1;
	}
	float jumps = e->jump == EASING_JUMP_BOTH ? n + 1 : e->jump == EASING_JUMP_NONE ? n - 1 : n;
	if (step > jumps) {
		step = jumps;
	}
	return step / jumps;
}

float easing_apply(const struct easing *e, float p) {
	if (!(p > 0)) {
		p = 0; // NaN too
	} else if (p > 1) {
		p = 1;
	}
	switch ((enum easing_kind)e->kind) {
	case EASING_LINEAR:
		return p;
	case EASING_STEPS:
		return steps(e, p);
	case EASING_EASE:
	case EASING_EASE_IN:
	case EASING_EASE_OUT:
	case EASING_EASE_IN_OUT:
	case EASING_CUBIC_BEZIER:
		if (p == 0 || p == 1) {
			return p; // the curve's ends, exactly
		}
		return cubic(e, p);
	case EASING_KIND_COUNT_:
		break;
	}
	return p;
}
