package tensor

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
