package tensor

import "math"

// Vectorised float32 element-wise kernels for the hot loops of MLPs: AVX2
// assembly on amd64 (when the CPU has it), plain Go elsewhere. NaNs
// propagate, so non-finite values are never hidden.

// ReLU32 sets v[i] = max(v[i], 0) in place.
func ReLU32(v []float32) {
	if len(v) == 0 {
		return
	}
	if hasVecAsm {
		reluAVX2(&v[0], len(v))
		return
	}
	for i, x := range v {
		if x < 0 {
			v[i] = 0
		}
	}
}

// ReLUGrad32 zeroes g[i] where y[i] (a ReLU output) is not positive: the
// ReLU's vector–Jacobian product, in place. len(g) must be ≥ len(y).
func ReLUGrad32(y, g []float32) {
	if len(y) == 0 {
		return
	}
	g = g[:len(y)]
	if hasVecAsm {
		reluGradAVX2(&y[0], &g[0], len(y))
		return
	}
	for i, v := range y {
		if !(v > 0) {
			g[i] = 0
		}
	}
}

// Add32 sets dst[i] += src[i]; len(src) must be ≥ len(dst).
func Add32(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:len(dst)]
	if hasVecAsm {
		addAVX2(&dst[0], &src[0], len(dst))
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}

// BiasAdd32 sets v[i] += bias[i] and then, when relu, v[i] = max(v[i], 0):
// a layer's bias and ReLU in one pass over its GEMM's output row.
// len(bias) must be ≥ len(v).
func BiasAdd32(v, bias []float32, relu bool) {
	if len(v) == 0 {
		return
	}
	bias = bias[:len(v)]
	if hasVecAsm {
		biasAddAVX2(&v[0], &bias[0], len(v), relu)
		return
	}
	for i, b := range bias {
		x := v[i] + b
		if relu && x < 0 { // NaN stays NaN
			x = 0
		}
		v[i] = x
	}
}

// Mul32 sets dst[i] *= src[i]; len(src) must be ≥ len(dst).
func Mul32(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:len(dst)]
	if hasVecAsm {
		mulAVX2(&dst[0], &src[0], len(dst))
		return
	}
	for i, v := range src {
		dst[i] *= v
	}
}

// Adam32 applies one Adam update to p given its gradient g and moment
// buffers m, v (all the same length): m = b1·m + (1−b1)·g,
// v = b2·v + (1−b2)·g², p −= step·m/(√v + eps), where step and eps carry
// the bias corrections.
func Adam32(p, g, m, v []float32, b1, b2, step, eps float32) {
	n := len(p)
	if n == 0 {
		return
	}
	g, m, v = g[:n], m[:n], v[:n]
	if hasFMAAsm {
		adamAVX2(&p[0], &g[0], &m[0], &v[0], n, b1, 1-b1, b2, 1-b2, step, eps)
		return
	}
	for j, gj := range g {
		m[j] = b1*m[j] + (1-b1)*gj
		v[j] = b2*v[j] + (1-b2)*gj*gj
		p[j] -= step * m[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
	}
}
