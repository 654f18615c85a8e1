#version 100
// The rect material: solid, rounded corners and a border, in one program, so that a
// frame's rects are one draw call whatever mix of them it has. With a program per
// material, every switch between a solid and a rounded rect in drawing order (which
// cannot be changed where they overlap) would end a draw call: interleaved solid and
// rounded rects would cost a draw call each.
//
// mediump is all GLSL ES 1.00 guarantees here (VideoCore IV has no highp in fragment
// shaders), so every value is small where it matters: the distances to the edges
// (v_edge) are exact near an edge, and nothing depends on screen coordinates.
//
// Straight edges are left to rasterisation: a quad covers exactly the pixels whose
// centres are inside it, and those get full coverage here (a smoothed straight edge at
// a whole pixel would show half a pixel of blend). Only the curved corners, and the
// inner edge of the border, are smoothed, over about one pixel.
precision mediump float;

varying vec4 v_edge;   // distances to the left, right, top and bottom edges
varying vec4 v_color;  // the fill
varying vec4 v_border;
varying vec2 v_shape;  // radius, border width

void main() {
	float r = v_shape.x;
	float b = v_shape.y;
	// The same for every fragment of a rect: GPUs that branch skip the shape's
	// arithmetic for solid rects, the most common kind.
	if (r + b <= 0.0) {
		gl_FragColor = v_color;
		return;
	}
	vec2 d = min(v_edge.xz, v_edge.yw); // to the nearest vertical and horizontal edge
	// Inside the corner square (both distances under r): the distance to the arc.
	vec2 q = vec2(r) - d;
	float outer = min(q.x, q.y) > 0.0 ? clamp(r + 0.5 - length(q), 0.0, 1.0) : 1.0;
	// The fill is the rect inset by b, with corners of radius r - b; its edges are
	// smoothed too, so a border of a fraction of a pixel still blends.
	float ri = max(r - b, 0.0);
	vec2 qi = vec2(ri + b) - d;
	float inner = min(qi.x, qi.y) > 0.0 ? clamp(ri + 0.5 - length(qi), 0.0, 1.0) : 1.0;
	inner = b > 0.0 ? min(inner, clamp(min(d.x, d.y) - b + 0.5, 0.0, 1.0)) : 1.0;
	gl_FragColor = v_color * (inner * outer) + v_border * ((1.0 - inner) * outer);
}
