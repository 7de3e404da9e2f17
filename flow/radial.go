package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math"
	"math/rand/v2"
)

func init() {
	RegisterType(LayerType{Name: "radial", Fields: []string{}}, newRadialFromSpec[float32], newRadialFromSpec[float64])
}

// Radial is the radial flow of Rezende & Mohamed (2015) applied in the
// data→noise direction:
//
//	z = x + β·h(r)·(x − x0),  r = ‖x − x0‖,  h(r) = 1/(α + r),
//	log|det ∂z/∂x| = (D−1)·log(1 + βh) + log(1 + βh + βh'(r)·r)
//	               = (D−1)·log(1 + βh) + log(1 + βαh²).
//
// α = softplus(α̂) > 0 and β = −α + softplus(β̂) > −α, which makes the map
// invertible (the paper's condition β ≥ −α). The map is smooth at x = x0;
// its log-det is a continuous function of x with a kink at x0, where
// Backward uses the zero subgradient for the r-dependence (no NaN).
//
// Parameters: "x0" (D), "alpha" (α̂, 1), "beta" (β̂, 1). Built with an rng
// they are drawn from U(±1/√D); without one they are zero, which gives
// β = 0: the identity.
//
// Inverse (analytic): z − x0 = (1 + βh)(x − x0) with 1 + βh > 0, so
// ρ = ‖z − x0‖ = r + βr/(α + r), i.e. r² + (α + β − ρ)r − αρ = 0. Its
// non-negative root (the product of the roots is −αρ ≤ 0, and ρ(r) is
// increasing) is taken in the cancellation-free form, then
// x = x0 + (z − x0)/(1 + βh(r)).
type Radial[T Float] struct {
	dim                   int
	X0, AlphaRaw, BetaRaw *Param[T]
}

// radialWork holds one application's activations.
type radialWork[T Float] struct {
	x     *Mat[T]
	r, h  []float64 // per row ‖x − x0‖ and 1/(α + r)
	v     []T       // backward scratch (D)
	ab    radialAB
	grads gradSet[T]
}

// radialAB are α, β and the derivatives of the softplus maps.
type radialAB struct {
	alpha, beta float64
	sa, sb      float64 // σ(α̂), σ(β̂)
}

func newRadialFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("radial: dim must be positive, got %d", dim)
	}
	l := &Radial[T]{
		dim:      dim,
		X0:       NewParam[T]("x0", dim),
		AlphaRaw: NewParam[T]("alpha", 1),
		BetaRaw:  NewParam[T]("beta", 1),
	}
	if rng != nil {
		bound := 1 / math.Sqrt(float64(dim))
		for _, p := range l.Params() {
			for i := range p.Value {
				p.Value[i] = T((2*rng.Float64() - 1) * bound)
			}
		}
	}
	return l, nil
}

// Dim is the number of columns D.
func (l *Radial[T]) Dim() int { return l.dim }

// Spec returns {Type: "radial"}; the layer has no hyperparameters.
func (l *Radial[T]) Spec() LayerSpec { return LayerSpec{Type: "radial"} }

// Params returns x0, α̂ and β̂.
func (l *Radial[T]) Params() []*Param[T] { return []*Param[T]{l.X0, l.AlphaRaw, l.BetaRaw} }

// NewWork allocates an empty workspace.
func (l *Radial[T]) NewWork() Work { return l.work(nil) }

// NewOp implements ShardedLayer.
func (l *Radial[T]) NewOp(grads [][]T) Op[T] { return bindOp[T](l, l.work(grads)) }

func (l *Radial[T]) work(grads [][]T) *radialWork[T] {
	return &radialWork[T]{grads: bindGrads(l.Params(), grads)}
}

// Cost reports the static cost, at 2 FLOPs per multiply-add (the MLP
// convention).
func (l *Radial[T]) Cost() Cost {
	d := float64(l.dim)
	return Cost{
		Params:        l.dim + 2,
		ForwardFLOPs:  6*d + 30,
		InverseFLOPs:  6*d + 40,
		InversePasses: 1,
	}
}

func (l *Radial[T]) ab() radialAB {
	ar, br := float64(l.AlphaRaw.Value[0]), float64(l.BetaRaw.Value[0])
	a := tensor.Softplus(ar)
	return radialAB{alpha: a, beta: tensor.Softplus(br) - a, sa: slSigmoid(ar), sb: slSigmoid(br)}
}

// Forward computes z = x + βh(x − x0) and its log-det.
func (l *Radial[T]) Forward(work Work, x, z *Mat[T], ld []T) {
	l.forward(work.(*radialWork[T]), x, z, ld)
}

func (l *Radial[T]) forward(wk *radialWork[T], x, z *Mat[T], ld []T) {
	d, n := l.dim, x.Rows
	wk.x = x
	wk.r, wk.h = tensor.Grow(wk.r, n), tensor.Grow(wk.h, n)
	ab := l.ab()
	wk.ab = ab
	alpha, beta := ab.alpha, ab.beta
	x0 := l.X0.Value
	dm1 := float64(d - 1)
	for r := 0; r < n; r++ {
		xr, zr := x.Data[r*d:(r+1)*d], z.Data[r*d:(r+1)*d]
		var ss float64
		for j, v := range xr {
			e := float64(v - x0[j])
			ss += e * e
		}
		rad := math.Sqrt(ss)
		h := 1 / (alpha + rad)
		wk.r[r], wk.h[r] = rad, h
		bh := beta * h
		ld[r] = T(dm1*math.Log1p(bh) + math.Log1p(beta*alpha*h*h))
		k := T(bh)
		for j, v := range xr {
			zr[j] = v + k*(v-x0[j])
		}
	}
}

// Backward propagates dL/dz and dL/dld through the radial map.
func (l *Radial[T]) Backward(work Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	l.backward(work.(*radialWork[T]), dz, dld, dx)
}

func (l *Radial[T]) backward(wk *radialWork[T], dz *Mat[T], dld []T, dx *Mat[T]) {
	d, n := l.dim, dz.Rows
	x, x0 := wk.x, l.X0.Value
	alpha, beta := wk.ab.alpha, wk.ab.beta
	dm1 := float64(d - 1)
	gx0 := wk.grads.of(l.X0)
	wk.v = tensor.Grow(wk.v, d)
	v := wk.v
	var dAlpha, dBeta float64 // dL/dα, dL/dβ
	for r := 0; r < n; r++ {
		gr, xr := dz.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		rad, h := wk.r[r], wk.h[r]
		var gd float64 // g·(x − x0)
		for j, g := range gr {
			gd += float64(g) * float64(xr[j]-x0[j])
		}
		var lam float64
		if dld != nil {
			lam = float64(dld[r])
		}
		A := 1 + beta*h
		C := 1 + beta*alpha*h*h
		dh := beta*gd + lam*(dm1*beta/A+2*beta*alpha*h/C)
		dBeta += h*gd + lam*(dm1*h/A+alpha*h*h/C)
		dAlpha += lam*beta*h*h/C - h*h*dh
		var k float64 // (dL/dr)/r; zero subgradient at r = 0
		if rad > 0 {
			k = -h * h * dh / rad
		}
		bh, kt := T(beta*h), T(k)
		for j, g := range gr {
			v[j] = bh*g + kt*(xr[j]-x0[j])
			gx0[j] -= v[j]
		}
		if dx != nil {
			dr := dx.Data[r*d : (r+1)*d]
			for j, g := range gr {
				dr[j] = g + v[j]
			}
		}
	}
	// α = softplus(α̂), β = softplus(β̂) − α.
	wk.grads.of(l.AlphaRaw)[0] += T((dAlpha - dBeta) * wk.ab.sa)
	wk.grads.of(l.BetaRaw)[0] += T(dBeta * wk.ab.sb)
}

// Inverse maps z back to x analytically (see the type's documentation).
func (l *Radial[T]) Inverse(work Work, z, x *Mat[T], ld []T) {
	l.inverse(work.(*radialWork[T]), z, x, ld)
}

func (l *Radial[T]) inverse(_ *radialWork[T], z, x *Mat[T], ld []T) {
	d := l.dim
	ab := l.ab()
	alpha, beta := ab.alpha, ab.beta
	x0 := l.X0.Value
	dm1 := float64(d - 1)
	for r := 0; r < z.Rows; r++ {
		zr, xr := z.Data[r*d:(r+1)*d], x.Data[r*d:(r+1)*d]
		var ss float64
		for j, v := range zr {
			e := float64(v - x0[j])
			ss += e * e
		}
		rho := math.Sqrt(ss)
		var rad float64
		if rho > 0 {
			p := alpha + beta - rho
			disc := math.Sqrt(p*p + 4*rho*alpha)
			if p >= 0 {
				rad = 2 * rho * alpha / (p + disc)
			} else {
				rad = (disc - p) / 2
			}
		}
		h := 1 / (alpha + rad)
		A := 1 + beta*h
		if rho > 0 {
			k := T(1 / A)
			for j, v := range zr {
				xr[j] = x0[j] + (v-x0[j])*k
			}
		} else {
			copy(xr, x0)
		}
		if ld != nil {
			ld[r] = T(dm1*math.Log1p(beta*h) + math.Log1p(beta*alpha*h*h))
		}
	}
}
