#version 100
// A texture drawn one texel to one pixel: a layer composited with its opacity, the
// canvas copied to the window. a_uv is in texels; u_texel is one texel in texture
// coordinates, applied here where precision is high.

uniform vec4 u_proj;
uniform vec2 u_texel;

attribute vec2 a_pos;
attribute vec2 a_uv;

#ifdef GL_FRAGMENT_PRECISION_HIGH
varying highp vec2 v_uv;
#else
varying mediump vec2 v_uv;
#endif

void main() {
	v_uv = a_uv * u_texel;
	gl_Position = vec4(a_pos * u_proj.xy + u_proj.zw, 0.0, 1.0);
}
