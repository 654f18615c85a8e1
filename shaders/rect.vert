#version 100
// The rect material (solid, rounded, bordered) and the stencil writes of rotated clips.
// Positions are screen pixels (y down); u_proj maps them to clip space: x * xy + zw.
// The quads arrive transformed (the CPU applied each item's world transform), so this
// only passes the per-vertex values on. See render-internal.h for the vertex format.

uniform vec4 u_proj;

attribute vec2 a_pos;
attribute vec4 a_edge;   // distances to the left, right, top and bottom edges
attribute vec4 a_fill;   // premultiplied
attribute vec4 a_border; // premultiplied
attribute vec2 a_shape;  // radius, border width: fixed point, 1/8 pixel

varying vec4 v_edge;
varying vec4 v_color;  // the fill
varying vec4 v_border;
varying vec2 v_shape;

void main() {
	v_edge = a_edge;
	v_color = a_fill;
	v_border = a_border;
	v_shape = a_shape * 0.125;
	gl_Position = vec4(a_pos * u_proj.xy + u_proj.zw, 0.0, 1.0);
}
