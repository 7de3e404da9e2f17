package flow

import (
	"math"
	"unsafe"

	"github.com/autonf/autonf/tensor"
)

// The float32 spline: the same arithmetic as the generic code, in float32
// throughout, with tensor's float32 exponential and logarithms instead of
// math.Exp and math.Log, and both softmax normalisations in one AVX2 call
// for K ≤ 8 (tensor.Softmax2x8). float64 keeps the generic code.

// spline32 holds the float32 constants of a Spline.
type spline32 struct {
	k                                                   int
	bound, twoB, minW, minH, scaleW, scaleH, minD, dOff float32
}

// asF32 reinterprets a []T as []float32; only for T of size 4.
func asF32[T Float](v []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// params normalises theta: softmax(theta[0:K]) into scr[0:K],
// softmax(theta[K:2K]) into scr[K:2K], and for K ≤ 8 the interior knot
// derivatives and their slopes into d and sl (d[i] for knot i+1). For
// K ≤ 8 this is one tensor.SoftmaxSoftplus8 call (smaller K padded with
// −∞ logits, whose weights ~1e−38 are dropped); larger K take scalar code
// and leave d and sl alone (see knotDerivs).
func (s *spline32) params(theta, scr []float32, d, sl *[8]float32) {
	K := s.k
	switch {
	case K == 8:
		tensor.SoftmaxSoftplus8((*[16]float32)(scr[:16]), d, sl, theta[:23], s.dOff, s.minD)
	case K < 8:
		var in [23]float32
		var out [16]float32
		ninf := float32(math.Inf(-1))
		for i := K; i < 8; i++ {
			in[i], in[8+i] = ninf, ninf
		}
		copy(in[:K], theta[:K])
		copy(in[8:8+K], theta[K:2*K])
		copy(in[16:], theta[2*K:3*K-1])
		tensor.SoftmaxSoftplus8(&out, d, sl, in[:16+K-1], s.dOff, s.minD)
		copy(scr[:K], out[:K])
		copy(scr[K:2*K], out[8:8+K])
	default:
		softmax32(theta[:K], scr[:K])
		softmax32(theta[K:2*K], scr[K:2*K])
	}
}

// softmax32 writes softmax(u) into p (float32, summed in float64).
func softmax32(u, p []float32) {
	p = p[:len(u)]
	m := u[0]
	for _, v := range u[1:] {
		m = max(m, v)
	}
	var sum float64 // see tensor.SoftmaxSoftplus8
	for i, v := range u {
		e := tensor.Exp32(v - m)
		sum += float64(e)
		p[i] = e
	}
	inv := float32(1 / sum)
	for i := range p {
		p[i] *= inv
	}
}

// deriv is minD + softplus(u + c) and its slope sigmoid(u + c):
// softplus(z) = max(z, 0) + log1p(e^{−|z|}).
func (s *spline32) deriv(u float32) (d, slope float32) {
	z := u + s.dOff
	if z > 0 {
		e := tensor.Exp32(-z)
		return s.minD + (z + tensor.Log1p32(e)), 1 / (1 + e)
	}
	e := tensor.Exp32(z) // NaN stays NaN
	return s.minD + tensor.Log1p32(e), e / (1 + e)
}

// knots finds the bin of x (clamped to [0, K−1]) from the width and
// height softmaxes p and q and returns it with its x and y knots, width
// and height.
func (s *spline32) knots(x float32, p, q []float32) (k int, xk, yk, wb, hb float32) {
	K := s.k
	p, q = p[:K], q[:K]
	xk, yk = -s.bound, -s.bound
	for ; k < K-1; k++ {
		nx := xk + s.twoB*(s.minW+s.scaleW*p[k])
		if x < nx {
			break
		}
		xk = nx
		yk += s.twoB * (s.minH + s.scaleH*q[k])
	}
	if k == K-1 {
		return k, xk, yk, s.bound - xk, s.bound - yk
	}
	return k, xk, yk, s.twoB * (s.minW + s.scaleW*p[k]), s.twoB * (s.minH + s.scaleH*q[k])
}

func (s *spline32) forward(x float32, theta, scr []float32) (y, ld float32) {
	K := s.k
	loc := scr[2*K : 2*K+splineLocal : 2*K+splineLocal]
	if !(x >= -s.bound && x <= s.bound) { // outside, or NaN
		loc[0] = -1
		return x, 0
	}
	theta = theta[:3*K-1]
	var dv, sv [8]float32
	s.params(theta, scr, &dv, &sv)
	k, xk, yk, wb, hb := s.knots(x, scr[:K], scr[K:2*K])
	d0, d1, sg0, sg1 := s.knotDerivs(theta, k, &dv, &sv)
	xi := (x - xk) / wb
	xi = min(max(xi, 0), 1)
	loc[0], loc[1], loc[2], loc[3] = float32(k), xi, wb, hb
	loc[4], loc[5], loc[6], loc[7] = d0, d1, sg0, sg1
	return eval32(xi, yk, wb, hb, d0, d1)
}

// knotDerivs returns the derivatives at the knots of bin k and their
// softplus slopes (1 and 0 at ±B): from d and sl, which params filled for
// K ≤ 8, else computed here.
func (s *spline32) knotDerivs(theta []float32, k int, d, sl *[8]float32) (d0, d1, sg0, sg1 float32) {
	K := s.k
	d0, d1 = 1, 1
	if K <= 8 {
		if k > 0 {
			d0, sg0 = d[k-1], sl[k-1]
		}
		if k < K-1 {
			d1, sg1 = d[k], sl[k]
		}
		return
	}
	if k > 0 {
		d0, sg0 = s.deriv(theta[2*K+k-1])
	}
	if k < K-1 {
		d1, sg1 = s.deriv(theta[2*K+k])
	}
	return
}

// eval32 returns y and log dy/dx at position ξ of a bin.
func eval32(xi, yk, wb, hb, d0, d1 float32) (y, ld float32) {
	sl := hb / wb
	t := xi * (1 - xi)
	om := 1 - xi
	num := hb * (sl*xi*xi + d0*t)
	den := sl + (d0+d1-2*sl)*t
	y = yk + num/den
	m := d1*xi*xi + 2*sl*t + d0*om*om
	return y, tensor.Log32(sl * sl * m / (den * den))
}

func (s *spline32) inverse(y float32, theta, scr []float32) (x, ld float32) {
	K := s.k
	if !(y >= -s.bound && y <= s.bound) {
		return y, 0
	}
	theta = theta[:3*K-1]
	var dv, sv [8]float32
	s.params(theta, scr, &dv, &sv)
	// The bin search runs on the y knots: swap the roles of p and q.
	k, yk, xk, hb, wb := s.knotsY(y, scr[:K], scr[K:2*K])
	d0, d1, _, _ := s.knotDerivs(theta, k, &dv, &sv)
	sl := hb / wb
	dy := y - yk
	e := d0 + d1 - 2*sl
	qa := hb*(sl-d0) + dy*e
	qb := hb*d0 - dy*e
	qc := -sl * dy
	disc := max(qb*qb-4*qa*qc, 0)
	den := -qb - float32(math.Sqrt(float64(disc)))
	var xi float32
	if den < 0 {
		xi = 2 * qc / den
	} else if dy > 0 { // unreachable for valid bins; stay finite
		xi = 1
	}
	xi = min(max(xi, 0), 1)
	x = xk + xi*wb
	_, ld = eval32(xi, yk, wb, hb, d0, d1)
	return x, ld
}

// knotsY is knots searching on the y knots; it returns the bin, y knot,
// x knot, bin height and bin width.
func (s *spline32) knotsY(y float32, p, q []float32) (k int, yk, xk, hb, wb float32) {
	K := s.k
	p, q = p[:K], q[:K]
	xk, yk = -s.bound, -s.bound
	for ; k < K-1; k++ {
		ny := yk + s.twoB*(s.minH+s.scaleH*q[k])
		if y < ny {
			break
		}
		yk = ny
		xk += s.twoB * (s.minW + s.scaleW*p[k])
	}
	if k == K-1 {
		return k, yk, xk, s.bound - yk, s.bound - xk
	}
	return k, yk, xk, s.twoB * (s.minH + s.scaleH*q[k]), s.twoB * (s.minW + s.scaleW*p[k])
}
