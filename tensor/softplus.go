package tensor

// SoftplusScale32 computes, for each i and in float32, the positive scale
// of an affine flow layer from its unconstrained parameter r = raw[i]:
//
//	e[i]    = softplus(r) + m = max(r, 0) + log1p(e^{−|r|}) + m,
//	logE[i] = log e[i],
//	sig[i]  = sigmoid(r) = ∂e/∂r.
//
// The exponential, log1p and log follow Exp32, Log1p32 and Log32 (so the
// results agree with them to a few ulp), with e^{−|r|} clamped below at
// 2^−126 as in SoftmaxSoftplus8; r = ±Inf and NaN give the limits (e = +Inf
// and log e = +Inf for r = +Inf; e = m for r = −Inf; NaN stays NaN). Uses
// AVX2+FMA where available, eight values at a time, else portable Go. e,
// logE and sig must be at least as long as raw.
func SoftplusScale32(raw, e, logE, sig []float32, m float32) {
	n := len(raw)
	if len(e) < n || len(logE) < n || len(sig) < n {
		panic("tensor: SoftplusScale32 outputs shorter than raw")
	}
	v := 0
	if hasExpAsm {
		v = n &^ 7
		if v > 0 {
			softplusScaleAVX2(&raw[0], &e[0], &logE[0], &sig[0], v, m)
		}
	}
	for i := v; i < n; i++ {
		e[i], logE[i], sig[i] = softplusScale32(raw[i], m)
	}
}

// softplusScale32 is one element of SoftplusScale32 in portable Go.
func softplusScale32(r, m float32) (e, logE, sig float32) {
	t := max(Exp32(-max(r, -r)), 0x1p-126) // NaN stays NaN
	q := 1 / (1 + t)
	if r > 0 {
		e, sig = r+Log1p32(t), q
	} else {
		e, sig = Log1p32(t), t*q
	}
	e += m
	return e, Log32(e), sig
}
