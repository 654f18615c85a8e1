#version 100
// The rect material for a draw call whose rects are all solid (no radius, no border),
// with rect.vert: the rect program's answer for them, with none of its arithmetic. It
// is picked per draw call, never per rect, so it splits no batch; on GPUs that cannot
// skip the rect program's shape arithmetic for solid rects (llvmpipe masks both ways
// of a branch) it makes a frame of small solid rects several times cheaper.
precision mediump float;

varying vec4 v_color;

void main() {
	gl_FragColor = v_color;
}
