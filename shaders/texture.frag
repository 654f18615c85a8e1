#version 100
// Texture coordinates of a 2048-texel texture need more than mediump's 11 bits to hit
// every texel centre; highp where the GPU has it in fragment shaders.
precision mediump float;

uniform sampler2D u_tex;
uniform float u_opacity;

#ifdef GL_FRAGMENT_PRECISION_HIGH
varying highp vec2 v_uv;
#else
varying mediump vec2 v_uv;
#endif

void main() {
	// Premultiplied: opacity scales all four channels.
	gl_FragColor = texture2D(u_tex, v_uv) * u_opacity;
}
