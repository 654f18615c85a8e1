#version 100
// The image material. A texture of 2048 texels needs more than mediump's 11 bits of
// coordinate to hit every texel centre (and a 1:1 image must reproduce every texel
// exactly): highp where the GPU has it in fragment shaders, as texture.frag.
precision mediump float;

uniform sampler2D u_tex;

#ifdef GL_FRAGMENT_PRECISION_HIGH
varying highp vec2 v_uv;
varying highp vec4 v_bounds; // least u, v; greatest u, v
#else
varying mediump vec2 v_uv;
varying mediump vec4 v_bounds;
#endif
varying vec4 v_tint;

void main() {
	// Between the centres of the source's outermost texels: linear filtering of a
	// scaled sprite blends in none of the texels beside it on its sheet. Texels are
	// premultiplied (opaque formats sample alpha 1), and so is the tint.
	gl_FragColor = texture2D(u_tex, clamp(v_uv, v_bounds.xy, v_bounds.zw)) * v_tint;
}
