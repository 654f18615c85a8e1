#version 100
// mediump is all GLSL ES 1.00 guarantees in fragment shaders (VideoCore IV has no highp),
// and 8-bit colours need no more.
precision mediump float;

varying vec4 v_color;

void main() {
	gl_FragColor = v_color;
}
