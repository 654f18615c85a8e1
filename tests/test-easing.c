/*
 * Easing curves (server/scene/easing.c) against the CSS Easing Functions definitions.
 * The reference values were computed from the CSS control points by bisecting x(s) to
 * 2^-200 in double precision (a few lines of Python), not taken from any browser.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "easing.h"

static const float inputs[] = { 0.1f, 0.25f, 0.5f, 0.75f, 0.9f };

static void expect_curve(struct easing e, const double *want) {
	const char *why;
	assert_true(easing_check(&e, &why));
	for (size_t i = 0; i < 5; i++) {
		double got = easing_apply(&e, inputs[i]);
		if (fabs(got - want[i]) > 2e-5) {
			fail_msg("at %g: %.6f, want %.6f", (double)inputs[i], got, want[i]);
		}
	}
	assert_true(easing_apply(&e, 0) == 0.0f);
	assert_true(easing_apply(&e, 1) == 1.0f);
}

static void test_presets(void **state) {
	(void)state;
	expect_curve(easing_of(EASING_EASE),
		(const double[]){ 0.094796, 0.408511, 0.802403, 0.960459, 0.994316 });
	expect_curve(easing_of(EASING_EASE_IN),
		(const double[]){ 0.017027, 0.093465, 0.315357, 0.621862, 0.839428 });
	expect_curve(easing_of(EASING_EASE_OUT),
		(const double[]){ 0.160572, 0.378138, 0.684643, 0.906535, 0.982973 });
	expect_curve(easing_of(EASING_EASE_IN_OUT),
		(const double[]){ 0.019722, 0.129162, 0.5, 0.870838, 0.980278 });
	expect_curve(easing_of(EASING_LINEAR),
		(const double[]){ 0.1, 0.25, 0.5, 0.75, 0.9 });
}

// A curve that overshoots both ends (y outside 0 to 1, as CSS allows).
static void test_cubic_bezier(void **state) {
	(void)state;
	struct easing e = easing_of(EASING_CUBIC_BEZIER);
	e.x1 = 0.68f;
	e.y1 = -0.55f;
	e.x2 = 0.265f;
	e.y2 = 1.55f;
	expect_curve(e, (const double[]){ -0.066291, -0.082807, 0.60668, 1.089166, 1.062373 });
	// x at the ends of its range: the flat spots make Newton's method give up, and
	// bisection must still find the point.
	e.x1 = 0;
	e.y1 = 1;
	e.x2 = 1;
	e.y2 = 0;
	float mid = easing_apply(&e, 0.5f);
	assert_true(fabsf(mid - 0.5f) < 1e-4f);
	assert_true(easing_apply(&e, 0.001f) > 0.01f); // steep at the start
}

static void expect_steps(unsigned n, enum easing_jump jump, const float *p,
		const float *want, size_t count) {
	struct easing e = easing_of(EASING_STEPS);
	e.steps = (uint16_t)n;
	e.jump = (uint8_t)jump;
	const char *why;
	assert_true(easing_check(&e, &why));
	for (size_t i = 0; i < count; i++) {
		float got = easing_apply(&e, p[i]);
		if (fabsf(got - want[i]) > 1e-6f) {
			fail_msg("steps(%u, %d) at %g: %g, want %g", n, (int)jump, (double)p[i],
				(double)got, (double)want[i]);
		}
	}
}

// CSS: steps(4, jump-end) holds 0 until 0.25; jump-start jumps at once; jump-none
// reaches both 0 and 1; jump-both has n + 1 jumps and reaches neither before the end.
static void test_steps(void **state) {
	(void)state;
	static const float p[] = { 0, 0.2f, 0.25f, 0.6f, 0.99f, 1 };
	expect_steps(4, EASING_JUMP_END, p, (const float[]){ 0, 0, 0.25f, 0.5f, 0.75f, 1 }, 6);
	expect_steps(4, EASING_JUMP_START, p, (const float[]){ 0.25f, 0.25f, 0.5f, 0.75f, 1, 1 }, 6);
	expect_steps(5, EASING_JUMP_NONE, p, (const float[]){ 0, 0.25f, 0.25f, 0.75f, 1, 1 }, 6);
	expect_steps(3, EASING_JUMP_BOTH, p, (const float[]){ 0.25f, 0.25f, 0.25f, 0.5f, 0.75f, 1 }, 6);
	expect_steps(1, EASING_JUMP_END, p, (const float[]){ 0, 0, 0, 0, 0, 1 }, 6);
}

static void test_check(void **state) {
	(void)state;
	const char *why = NULL;
	struct easing e = easing_of(EASING_CUBIC_BEZIER);
	e.x1 = 1.5f;
	assert_false(easing_check(&e, &why));
	assert_non_null(why);
	e.x1 = 0.5f;
	e.y2 = NAN;
	assert_false(easing_check(&e, &why));
	e.y2 = 2000;
	assert_false(easing_check(&e, &why));
	struct easing s = easing_of(EASING_STEPS);
	s.steps = 0;
	assert_false(easing_check(&s, &why));
	s.steps = 1;
	s.jump = EASING_JUMP_NONE;
	assert_false(easing_check(&s, &why));
	s.jump = EASING_JUMP_COUNT_;
	s.steps = 3;
	assert_false(easing_check(&s, &why));
	struct easing bad = { .kind = EASING_KIND_COUNT_ };
	assert_false(easing_check(&bad, &why));
	// Progress outside 0 to 1, and NaN, are clamped.
	struct easing lin = easing_of(EASING_EASE);
	assert_true(easing_apply(&lin, -3) == 0.0f);
	assert_true(easing_apply(&lin, 7) == 1.0f);
	assert_true(easing_apply(&lin, NAN) == 0.0f);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_cubic_bezier),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
