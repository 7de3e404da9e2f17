package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math"
)

// Defaults of the rational-quadratic spline (Durkan et al. 2019, "Neural
// Spline Flows"), the same as nflows and zuko.
const (
	// DefaultSplineBins is the number of bins K.
	DefaultSplineBins = 8
	// DefaultSplineBound is the tail bound B: the spline maps [-B, B] onto
	// itself and is the identity outside.
	DefaultSplineBound = 3.0
	// SplineMinWidth is the smallest bin width as a fraction of 2B.
	SplineMinWidth = 1e-3
	// SplineMinHeight is the smallest bin height as a fraction of 2B.
	SplineMinHeight = 1e-3
	// SplineMinDeriv is the smallest derivative at an interior knot.
	SplineMinDeriv = 1e-3
)

// Spline is an elementwise monotone rational-quadratic spline on [-B, B]
// with K bins and identity (slope 1) tails outside; the derivatives at ±B
// are fixed to 1 so the spline joins its tails with a continuous first
// derivative.
//
// Each element has its own P = 3K−1 unnormalised parameters θ, in this
// order:
//
//	θ[0:K]     widths   w = minW + (1−K·minW)·softmax(θ[0:K])   (fractions of 2B)
//	θ[K:2K]    heights  h = minH + (1−K·minH)·softmax(θ[K:2K])  (fractions of 2B)
//	θ[2K:3K−1] interior knot derivatives d = minD + softplus(θ + c),
//	           c = log(e^{1−minD} − 1)
//
// The offset c makes θ = 0 give derivative 1, so all-zero parameters give
// the identity map (uniform bins, unit slopes); nflows instead adds c only
// to the two fixed boundary derivatives. minW = minH = minD = 1e-3.
//
// Forward maps x (data) to y (noise) and returns log dy/dx; Inverse solves
// the bin's quadratic with the numerically stable root 2c/(−b−√(b²−4ac))
// (discriminant clamped at 0). Inputs outside [-B, B] pass through
// unchanged with log-det 0 and zero parameter gradients; they never enter
// the spline arithmetic, so no Inf/NaN is produced and masked. The bin
// search is clamped to [0, K−1], so x = B lands in the last bin.
//
// Every method is allocation-free; callers supply scratch space. For
// T = float32, Forward and Inverse run spline_f32.go's float32 code (SIMD
// softmax and softplus for K ≤ 8, float32 exp/log); float64 keeps math.
type Spline[T Float] struct {
	k int     // bins K
	b float64 // tail bound B

	bound, twoB     T // B, 2B
	minW, minH      T
	scaleW, scaleH  T       // 1 − K·minW, 1 − K·minH
	minD, dOff      float64 // minD and c = log(e^{1−minD} − 1)
	scratch, params int

	f32 spline32 // the float32 path's constants (spline_f32.go)
}

// NewSpline returns a spline with K bins on [-bound, bound]. It needs
// 2 ≤ K ≤ 500 (so the minimum widths fit) and a finite bound > 0.
func NewSpline[T Float](bins int, bound float64) (*Spline[T], error) {
	if bins < 2 || bins > 500 {
		return nil, fmt.Errorf("spline: bins must be between 2 and 500, got %d", bins)
	}
	if !(bound > 0) || math.IsInf(bound, 0) {
		return nil, fmt.Errorf("spline: tail bound must be positive and finite, got %g", bound)
	}
	K := bins
	s := &Spline[T]{
		k: K, b: bound,
		bound: T(bound), twoB: T(2 * bound),
		minW: SplineMinWidth, minH: SplineMinHeight,
		scaleW: T(1 - float64(K)*SplineMinWidth), scaleH: T(1 - float64(K)*SplineMinHeight),
		minD: SplineMinDeriv, dOff: math.Log(math.Expm1(1 - SplineMinDeriv)),
		scratch: 2*K + splineLocal, params: 3*K - 1,
	}
	s.f32 = spline32{
		k: K, bound: float32(s.bound), twoB: float32(s.twoB),
		minW: float32(s.minW), minH: float32(s.minH),
		scaleW: float32(s.scaleW), scaleH: float32(s.scaleH),
		minD: float32(s.minD), dOff: float32(s.dOff),
	}
	return s, nil
}

// splineLocal is the number of per-element scalars kept after the
// normalised widths and heights: bin, ξ, bin width, bin height, d_k,
// d_{k+1}, and the softplus slopes at d_k and d_{k+1}.
const splineLocal = 8

// Bins is the number of bins K.
func (s *Spline[T]) Bins() int { return s.k }

// Bound is the tail bound B.
func (s *Spline[T]) Bound() float64 { return s.b }

// NumParams is P = 3K−1, the unnormalised parameters per element.
func (s *Spline[T]) NumParams() int { return s.params }

// ScratchLen is the per-element scratch Forward fills for Backward
// (2K+8 values) and the scratch Inverse needs.
func (s *Spline[T]) ScratchLen() int { return s.scratch }

// FLOPs is a rough count of floating-point operations per element and
// direction (transcendentals counted as 10), for Cost.
func (s *Spline[T]) FLOPs() float64 { return float64(2*10*s.k+8*s.k) + 120 }

// deriv returns minD + softplus(u + c) and its derivative
// sigmoid(u + c), without overflow for any u.
func (s *Spline[T]) deriv(u T) (d, slope T) {
	z := float64(u) + s.dOff
	// log(1+e) instead of the slower log1p(e): its absolute error (~1e-16)
	// is negligible next to d ≥ minD.
	var sp, sg float64
	if z > 0 {
		e := math.Exp(-z)
		sp = z + math.Log(1+e)
		sg = 1 / (1 + e)
	} else {
		e := math.Exp(z)
		sp = math.Log(1 + e)
		sg = e / (1 + e)
	}
	return T(s.minD + sp), T(sg)
}

// knotDerivs returns the derivatives at the knots of bin k and their
// softplus slopes (1 and 0 at the fixed knots ±B).
func (s *Spline[T]) knotDerivs(theta []T, k int) (d0, d1, sg0, sg1 T) {
	K := s.k
	d0, d1 = 1, 1
	if k > 0 {
		d0, sg0 = s.deriv(theta[2*K+k-1])
	}
	if k < K-1 {
		d1, sg1 = s.deriv(theta[2*K+k])
	}
	return
}

// Forward maps x through the spline with parameters theta (len ≥ P) and
// returns y and log dy/dx. scr (len ≥ ScratchLen) receives what Backward
// needs.
func (s *Spline[T]) Forward(x T, theta, scr []T) (y, ld T) {
	if tensor.Is32[T]() {
		t32, _ := tensor.As32(theta)
		s32, _ := tensor.As32(scr)
		y, ld := s.f32.forward(float32(x), t32, s32)
		return T(y), T(ld)
	}
	K := s.k
	loc := scr[2*K : 2*K+splineLocal]
	if !(x >= -s.bound && x <= s.bound) { // outside, or NaN
		loc[0] = -1
		return x, 0
	}
	p, q := scr[:K:K], scr[K:2*K:2*K]
	tensor.Softmax(theta[:K], p)
	tensor.Softmax(theta[K:2*K], q)
	k, xk, yk, wb, hb := splineBin(x, p, q, s.bound, s.twoB, s.minW, s.scaleW, s.minH, s.scaleH)
	d0, d1, sg0, sg1 := s.knotDerivs(theta, k)
	xi := (x - xk) / wb
	xi = min(max(xi, 0), 1)
	loc[0], loc[1], loc[2], loc[3] = T(k), xi, wb, hb
	loc[4], loc[5], loc[6], loc[7] = d0, d1, sg0, sg1
	return splineEval(xi, yk, wb, hb, d0, d1)
}

// splineBin is the spline's one bin search, for both directions and both
// precisions. It finds the bin of v on the knots whose spacing comes from
// the fractions a (knot i+1 = knot i + 2B·(minA + scaleA·a[i]), from −B),
// clamped to [0, K−1] (K = len(a)), and returns the bin k, its knot ak on
// v's axis, the matching knot bk on the other axis (fractions b), and the
// bin's extent wa and wb on the two axes. Forward searches the x knots
// (a = widths, b = heights), Inverse the y knots (the roles swapped).
func splineBin[T Float](v T, a, b []T, bound, twoB, minA, scaleA, minB, scaleB T) (k int, ak, bk, wa, wb T) {
	K := len(a)
	b = b[:K]
	ak, bk = -bound, -bound
	for ; k < K-1; k++ {
		na := ak + twoB*(minA+scaleA*a[k])
		if v < na {
			break
		}
		ak = na
		bk += twoB * (minB + scaleB*b[k])
	}
	if k == K-1 {
		return k, ak, bk, bound - ak, bound - bk
	}
	return k, ak, bk, twoB * (minA + scaleA*a[k]), twoB * (minB + scaleB*b[k])
}

// splineEval returns y and log dy/dx at position ξ of a bin (tensor.Log:
// float32 or math).
func splineEval[T Float](xi, yk, wb, hb, d0, d1 T) (y, ld T) {
	sl := hb / wb
	t := xi * (1 - xi)
	om := 1 - xi
	num := hb * (sl*xi*xi + d0*t)
	den := sl + (d0+d1-2*sl)*t
	y = yk + num/den
	m := d1*xi*xi + 2*sl*t + d0*om*om
	return y, tensor.Log(sl * sl * m / (den * den))
}

// splineSolve returns the position ξ in a bin (width wb, height hb, knot
// derivatives d0, d1) at which the spline rises by dy: the root of the
// bin's quadratic in the numerically stable form 2c/(−b−√(b²−4ac)), with
// the discriminant clamped at 0 and ξ clamped to [0, 1].
func splineSolve[T Float](dy, wb, hb, d0, d1 T) T {
	sl := hb / wb
	e := d0 + d1 - 2*sl
	qa := hb*(sl-d0) + dy*e
	qb := hb*d0 - dy*e
	qc := -sl * dy
	disc := max(qb*qb-4*qa*qc, 0)
	den := -qb - T(math.Sqrt(float64(disc)))
	var xi T
	if den < 0 {
		xi = 2 * qc / den
	} else if dy > 0 { // unreachable for valid bins; stay finite
		xi = 1
	}
	return min(max(xi, 0), 1)
}

// Backward takes dL/dy and dL/d(log-det) for the element whose Forward
// filled scr, overwrites dtheta[0:P] with dL/dθ and returns dL/dx.
func (s *Spline[T]) Backward(scr []T, gy, gl T, dtheta []T) (gx T) {
	K := s.k
	loc := scr[2*K : 2*K+splineLocal]
	dtheta = dtheta[:s.params]
	if loc[0] < 0 {
		clear(dtheta)
		return gy
	}
	k := int(loc[0])
	xi, wb, hb, d0, d1 := loc[1], loc[2], loc[3], loc[4], loc[5]
	sl := hb / wb
	t := xi * (1 - xi)
	om := 1 - xi
	e := d0 + d1 - 2*sl
	a := sl*xi*xi + d0*t
	den := sl + e*t
	m := d1*xi*xi + 2*sl*t + d0*om*om
	iden := 1 / den
	iden2 := iden * iden
	im := 1 / m
	omt := 1 - 2*t
	oxi := 1 - 2*xi

	// Partials of y = y_k + h·a/den and ld = 2 log s + log m − 2 log den
	// with respect to ξ, s = h/w, h (explicit), d_k, d_{k+1}.
	gXi := gy*hb*sl*m*iden2 + gl*((2*d1*xi+2*sl*oxi-2*d0*om)*im-2*e*oxi*iden)
	gS := gy*hb*(xi*xi*den-a*omt)*iden2 + gl*(2/sl+2*t*im-2*omt*iden)
	gH := gy * a * iden
	gD0 := gy*hb*t*(den-a)*iden2 + gl*(om*om*im-2*t*iden)
	gD1 := -gy*hb*a*t*iden2 + gl*(xi*xi*im-2*t*iden)

	// ξ = (x − x_k)/w and s = h/w.
	iw := 1 / wb
	gx = gXi * iw
	gXk := -gx
	gW := -(gXi*xi + gS*sl) * iw
	gH += gS * iw
	gYk := gy

	// Knots: x_k = −B + 2B Σ_{i<k} w_i, bin width 2B·w_k (the last bin's
	// B − x_{K−1} equals it on the simplex, and the softmax Jacobian
	// ignores the difference); w = minW + scale·softmax(u).
	p, q := scr[:K:K], scr[K:2*K:2*K]
	s.softmaxGrad(p, k, s.twoB*s.scaleW*gW, s.twoB*s.scaleW*gXk, dtheta[:K:K])
	s.softmaxGrad(q, k, s.twoB*s.scaleH*gH, s.twoB*s.scaleH*gYk, dtheta[K:2*K:2*K])

	dd := dtheta[2*K:]
	clear(dd)
	if k > 0 {
		dd[k-1] = gD0 * loc[6]
	}
	if k < K-1 {
		dd[k] = gD1 * loc[7]
	}
	return gx
}

// softmaxGrad writes dL/du for p = softmax(u) given dL/dp_i = gk·[i = k] +
// gc·[i < k]: dL/du_j = p_j (dL/dp_j − Σ_i p_i dL/dp_i).
func (s *Spline[T]) softmaxGrad(p []T, k int, gk, gc T, du []T) {
	var cum T
	for i := 0; i < k; i++ {
		cum += p[i]
	}
	dot := gk*p[k] + gc*cum
	for j, pj := range p {
		g := -dot
		switch {
		case j < k:
			g += gc
		case j == k:
			g += gk
		}
		du[j] = pj * g
	}
}

// Inverse maps y back to x with parameters theta (len ≥ P) and returns x
// and log dy/dx at x (the value Forward reports). scr (len ≥ ScratchLen)
// is overwritten.
func (s *Spline[T]) Inverse(y T, theta, scr []T) (x, ld T) {
	if tensor.Is32[T]() {
		t32, _ := tensor.As32(theta)
		s32, _ := tensor.As32(scr)
		x, ld := s.f32.inverse(float32(y), t32, s32)
		return T(x), T(ld)
	}
	K := s.k
	if !(y >= -s.bound && y <= s.bound) {
		return y, 0
	}
	p, q := scr[:K:K], scr[K:2*K:2*K]
	tensor.Softmax(theta[:K], p)
	tensor.Softmax(theta[K:2*K], q)
	k, yk, xk, hb, wb := splineBin(y, q, p, s.bound, s.twoB, s.minH, s.scaleH, s.minW, s.scaleW)
	d0, d1, _, _ := s.knotDerivs(theta, k)
	xi := splineSolve(y-yk, wb, hb, d0, d1)
	x = xk + xi*wb
	_, ld = splineEval(xi, yk, wb, hb, d0, d1)
	return x, ld
}
