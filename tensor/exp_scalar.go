package tensor

import "math"

// Float32 elementary functions for hot elementwise loops: a few times
// faster than converting to float64 and calling math.Exp or math.Log, at
// float32 accuracy (a few ulp, checked against math in exp_test.go).

// Exp32 is e^x in float32 (relative error below 3e-7 for results in the
// normal range). x < −87.33 gives 0 (the subnormal range is flushed),
// x > 88.72 gives +Inf and NaN stays NaN.
//
// x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), the Cephes
// degree-5 minimax polynomial for (e^r − 1 − r)/r², and 2^n from the
// exponent bits.
func Exp32(x float32) float32 {
	if !(x >= -87.33654) {
		if x != x {
			return x
		}
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	const magic = 0x1.8p23
	k := x*1.44269504088896341 + magic // round(x·log2 e) in the low bits
	n := k - magic
	r := x - n*0.693359375
	r += n * 2.12194440e-4
	y := expPoly32(r)
	e := int32(n)
	if e > 127 { // x ∈ (88.38, 88.72]
		return y * 2 * math.Float32frombits(uint32(e+126)<<23)
	}
	return y * math.Float32frombits(uint32(e+127)<<23)
}

// expPoly32 is e^r for |r| ≤ ln2/2 (Cephes expf).
func expPoly32(r float32) float32 {
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	return p*(r*r) + r + 1
}

// Log32 is the natural logarithm in float32 (error below 1 ulp). Zero,
// negative, subnormal, infinite and NaN arguments take math.Log.
//
// musl's logf: x = 2^k·m with m ∈ [√½, √2), f = m − 1, s = f/(2+f),
// log m = f − f²/2 + s·(f²/2 + R(s²)) with a degree-4 minimax R.
func Log32(x float32) float32 {
	ix := math.Float32bits(x)
	if ix-0x00800000 >= 0x7f800000-0x00800000 {
		return float32(math.Log(float64(x)))
	}
	ix += 0x3f800000 - 0x3f3504f3
	k := float32(int32(ix>>23) - 0x7f)
	f := math.Float32frombits(ix&0x007fffff+0x3f3504f3) - 1 // exact
	s := f / (2 + f)
	z := s * s
	w := z * z
	t1 := w * (0xccce13p-25 + w*0xf89e26p-26)
	t2 := z * (0xaaaaaap-24 + w*0x91e9eep-25)
	hfsq := 0.5 * f * f
	return s*(hfsq+(t2+t1)) + k*9.0580006145e-06 - hfsq + f + k*6.9313812256e-01
}

// Log1p32 is log(1+x) in float32 for 0 ≤ x ≤ 1 with a small relative error
// (below 4e-7, also for tiny x): 2·atanh(s), s = x/(2+x) ≤ 1/3, by its
// Taylor series to s¹³ (truncation below 2e-8). Other x are not handled.
func Log1p32(x float32) float32 {
	s := x / (2 + x)
	w := s * s
	p := float32(1.0 / 13)
	p = p*w + 1.0/11
	p = p*w + 1.0/9
	p = p*w + 1.0/7
	p = p*w + 1.0/5
	p = p*w + 1.0/3
	return 2 * s * (1 + w*p)
}
