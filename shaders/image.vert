#version 100
// The image material: a texture's source rectangle on a quad (DRAW_IMAGE). The CPU
// transformed the corners already and wrote each one's texture coordinates (0 to 1,
// v 0 the image's top row, which is also the first row uploaded), the bounds sampling
// is clamped to (the same at every corner) and the tint.

uniform vec4 u_proj;

attribute vec2 a_pos;
attribute vec4 a_uv;     // u, v; the least u, v sampled
attribute vec2 a_uv_max; // the greatest u, v sampled
attribute vec4 a_tint;   // premultiplied: the opacity in all four channels

#ifdef GL_FRAGMENT_PRECISION_HIGH
varying highp vec2 v_uv;
varying highp vec4 v_bounds;
#else
varying mediump vec2 v_uv;
varying mediump vec4 v_bounds;
#endif
varying mediump vec4 v_tint;

void main() {
	v_uv = a_uv.xy;
	v_bounds = vec4(a_uv.zw, a_uv_max);
	v_tint = a_tint;
	gl_Position = vec4(a_pos * u_proj.xy + u_proj.zw, 0.0, 1.0);
}
