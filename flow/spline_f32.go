package flow

import (
	"math"

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
		tensor.Softmax(theta[:K], scr[:K])
		tensor.Softmax(theta[K:2*K], scr[K:2*K])
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
	k, xk, yk, wb, hb := splineBin(x, scr[:K], scr[K:2*K], s.bound, s.twoB, s.minW, s.scaleW, s.minH, s.scaleH)
	d0, d1, sg0, sg1 := s.knotDerivs(theta, k, &dv, &sv)
	xi := (x - xk) / wb
	xi = min(max(xi, 0), 1)
	loc[0], loc[1], loc[2], loc[3] = float32(k), xi, wb, hb
	loc[4], loc[5], loc[6], loc[7] = d0, d1, sg0, sg1
	return splineEval(xi, yk, wb, hb, d0, d1)
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

func (s *spline32) inverse(y float32, theta, scr []float32) (x, ld float32) {
	K := s.k
	if !(y >= -s.bound && y <= s.bound) {
		return y, 0
	}
	theta = theta[:3*K-1]
	var dv, sv [8]float32
	s.params(theta, scr, &dv, &sv)
	// The bin search runs on the y knots: swap the roles of p and q.
	k, yk, xk, hb, wb := splineBin(y, scr[K:2*K], scr[:K], s.bound, s.twoB, s.minH, s.scaleH, s.minW, s.scaleW)
	d0, d1, _, _ := s.knotDerivs(theta, k, &dv, &sv)
	xi := splineSolve(y-yk, wb, hb, d0, d1)
	x = xk + xi*wb
	_, ld = splineEval(xi, yk, wb, hb, d0, d1)
	return x, ld
}
