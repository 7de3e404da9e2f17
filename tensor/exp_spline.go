package tensor

// SoftmaxSoftplus8 computes, in one pass and in float32, two 8-way
// softmaxes and up to 8 offset softplus values with their slopes — the
// parameter normalisations of a rational-quadratic spline element with 8
// bins (widths, heights, interior knot derivatives):
//
//	pq[0:8]  = softmax(src[0:8]),  pq[8:16] = softmax(src[8:16]),
//	d[i]     = lo + softplus(z) = lo + max(z, 0) + log1p(e^{−|z|}),
//	slope[i] = sigmoid(z),  z = src[16+i] + off,  i < 8,
//
// where src[16+i] counts as 0 for i ≥ n = len(src) − 16 (0 ≤ n ≤ 8); all of
// pq, d and slope are written. The softmaxes are max-subtracted and
// summed in float64 (their float32 sums' error, common to all weights,
// shifts all knots of a spline, which ill-conditioned bins amplify); the
// exponentials follow Exp32 (with e^x for x < −87.3 taken as e^{−87.3}
// rather than 0, so a softmax underflows to ≥ 1e−38·p_max and the slope to
// ≥ 1.2e−38) and log1p follows Log1p32. A NaN in a softmax group makes
// that group NaN, as does +Inf (Inf − Inf); NaN in src[16+i] gives NaN in
// d[i] and slope[i]. Uses AVX2+FMA where available (all three
// exponentials interleaved in registers), else portable Go.
func SoftmaxSoftplus8(pq *[16]float32, d, slope *[8]float32, src []float32, off, lo float32) {
	n := len(src) - 16
	if n < 0 || n > 8 {
		panic("tensor: SoftmaxSoftplus8 needs 16 to 24 inputs")
	}
	if hasExpAsm {
		softmaxSoftplusAVX2(&pq[0], &d[0], &slope[0], &src[0], n, off, lo)
		return
	}
	softmaxSoftplusGo(pq, d, slope, src, off, lo)
}

func softmaxSoftplusGo(pq *[16]float32, d, slope *[8]float32, src []float32, off, lo float32) {
	softmaxGo32(pq[0:8], src[0:8])
	softmaxGo32(pq[8:16], src[8:16])
	var u [8]float32
	copy(u[:], src[16:])
	for i, v := range u {
		z := v + off
		e := Exp32(-max(z, -z)) // NaN stays NaN
		e = max(e, 0x1p-126)    // as the AVX2 code's clamp
		if z > 0 {
			d[i], slope[i] = lo+(z+Log1p32(e)), 1/(1+e)
		} else {
			d[i], slope[i] = lo+Log1p32(e), e/(1+e)
		}
	}
}

// softmaxGo32 is the portable float32 softmax, clamped like the AVX2 one
// and, like it, summed in float64.
func softmaxGo32(dst, src []float32) {
	m := src[0]
	for _, v := range src[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range src {
		e := max(Exp32(v-m), 0x1p-126)
		sum += float64(e)
		dst[i] = e
	}
	inv := float32(1 / sum)
	for i := range dst {
		dst[i] *= inv
	}
}
