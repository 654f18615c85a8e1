#version 100
// The glyph material (DRAW_GLYPH): a glyph atlas page of coverage (a GL_ALPHA texture,
// which samples as (0, 0, 0, coverage)) times the text's premultiplied colour. With the
// image vertex shader: the same quads, texture coordinates, sampling bounds and tint.
precision mediump float;

uniform sampler2D u_tex;

#ifdef GL_FRAGMENT_PRECISION_HIGH
varying highp vec2 v_uv;
varying highp vec4 v_bounds;
#else
varying mediump vec2 v_uv;
varying mediump vec4 v_bounds;
#endif
varying vec4 v_tint;

void main() {
	gl_FragColor = v_tint * texture2D(u_tex, clamp(v_uv, v_bounds.xy, v_bounds.zw)).a;
}
