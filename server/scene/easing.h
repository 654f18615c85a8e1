/*
 * Easing curves of animations, as CSS Easing Functions Level 1 defines them: linear,
 * the cubic Bézier presets (ease, ease-in, ease-out, ease-in-out), any cubic-bezier()
 * with its control points, and steps() with its jump positions. Pure arithmetic: no
 * GL, no state.
 */
#ifndef TESSERA_EASING_H
#define TESSERA_EASING_H

#include <stdbool.h>
#include <stdint.h>

enum easing_kind {
	EASING_LINEAR,
	EASING_EASE,         // cubic-bezier(0.25, 0.1, 0.25, 1)
	EASING_EASE_IN,      // cubic-bezier(0.42, 0, 1, 1)
	EASING_EASE_OUT,     // cubic-bezier(0, 0, 0.58, 1)
	EASING_EASE_IN_OUT,  // cubic-bezier(0.42, 0, 0.58, 1)
	EASING_CUBIC_BEZIER, // the control points given
	EASING_STEPS,        // steps(count, position)
	EASING_KIND_COUNT_,
};

enum easing_jump {
	EASING_JUMP_END,     // steps(n, end): the first step at the end of the first interval
	EASING_JUMP_START,   // steps(n, start): at its start
	EASING_JUMP_NONE,    // neither end jumps: n - 1 jumps, n >= 2
	EASING_JUMP_BOTH,    // both: n + 1 jumps
	EASING_JUMP_COUNT_,
};

struct easing {
	uint8_t kind;        // enum easing_kind
	uint8_t jump;        // enum easing_jump (steps)
	uint16_t steps;      // steps' count
	float x1, y1, x2, y2; // the curve's control points (set for the presets too)
};

/** The curve of @kind with its default parameters (steps: 1, jump-end). */
struct easing easing_of(enum easing_kind kind);

/**
 * Whether the parameters are allowed: x1 and x2 within 0 to 1 (CSS), y1 and y2 finite
 * and within -1000 to 1000; steps at least 1 (2 for jump-none) and at most 10000.
 * False with a reason in *@why.
 */
bool easing_check(const struct easing *easing, const char **why);

/** The eased progress at input progress @p (0 to 1; clamped). */
float easing_apply(const struct easing *easing, float p);

#endif
