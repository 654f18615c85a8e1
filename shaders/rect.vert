#version 100
// Solid rectangles. Positions are in pixels (y down) and u_proj maps them to clip space;
// the colour arrives premultiplied, normalized from unsigned bytes.

uniform mat4 u_proj;

attribute vec2 a_pos;
attribute vec4 a_color;

varying vec4 v_color;

void main() {
	v_color = a_color;
	gl_Position = u_proj * vec4(a_pos, 0.0, 1.0);
}
