package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math/rand/v2"
)

func init() {
	RegisterType(LayerType{Name: "affine-coupling", Fields: []string{"hidden", "activation", "mask", "min_scale"}, MinDim: 2,
		Example: LayerSpec{Type: "affine-coupling", Hidden: []int{7}, Activation: "elu", Mask: "odd", MinScale: 0.01}},
		newAffineCouplingFromSpec[float32], newAffineCouplingFromSpec[float64])
}

// AffineCoupling is a RealNVP affine coupling layer (Dinh et al. 2017),
// spec type "affine-coupling". The columns are split by index parity into a
// transformed half A and an identity half B; an MLP conditioner maps x_B to
// a shift μ_j and a raw scale for each transformed column a_j (output
// columns 2j and 2j+1), the scale is e = softplus(raw) + m (see
// DefaultMinScale), and
//
//	z_A = x_A·e(x_B) + μ(x_B),  z_B = x_B,  log|det ∂z/∂x| = Σ_j log e_j.
//
// Both directions are one conditioner pass. Needs D ≥ 2.
//
// Spec fields: Mask ("even", the default: transform the even-index columns
// conditioned on the odd-index ones; or "odd": the reverse), Hidden
// (default [256, 256]), Activation (default relu), MinScale (default
// DefaultMinScale).
type AffineCoupling[T Float] struct {
	dim    int
	tr, id []int // transformed and identity (conditioning) columns
	mlp    *MLP[T]
	aff    affineMap[T]
	spec   LayerSpec
}

// NewAffineCoupling builds an affine coupling layer of dimension dim from
// its spec; rng initialises the conditioner (nil leaves it at zero, to be
// loaded).
func NewAffineCoupling[T Float](dim int, spec LayerSpec, rng *rand.Rand) (*AffineCoupling[T], error) {
	if dim < 2 {
		return nil, fmt.Errorf("affine-coupling: needs dim ≥ 2 (one half conditions the other), got %d", dim)
	}
	hidden, act, err := affineConditioner("affine-coupling", spec)
	if err != nil {
		return nil, err
	}
	minScale, err := checkMinScale("affine-coupling", spec.MinScale)
	if err != nil {
		return nil, err
	}
	mask, tr, id, err := couplingSplit("affine-coupling", spec.Mask, dim)
	if err != nil {
		return nil, err
	}
	l := &AffineCoupling[T]{dim: dim, tr: tr, id: id}
	sizes := append(append([]int{len(l.id)}, hidden...), 2*len(l.tr))
	l.mlp = NewMLP[T]("mlp.", sizes, act, nil, rng)
	l.aff = affineMap[T]{dim: dim, cols: l.tr, minScale: T(minScale)}
	l.spec = LayerSpec{Type: "affine-coupling", Hidden: hidden, Activation: string(act), Mask: mask, MinScale: minScale}
	return l, nil
}

func newAffineCouplingFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	l, err := NewAffineCoupling[T](dim, spec, rng)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Dim returns D.
func (l *AffineCoupling[T]) Dim() int { return l.dim }

// Spec returns the complete spec (every default filled in).
func (l *AffineCoupling[T]) Spec() LayerSpec {
	s := l.spec
	s.Hidden = append([]int(nil), l.spec.Hidden...)
	return s
}

// Params returns the conditioner's weights and biases ("mlp.w0", …).
func (l *AffineCoupling[T]) Params() []*Param[T] { return l.mlp.Params() }

// Conditioner returns the conditioner network (input: the identity columns
// in increasing order; output column 2j is μ, 2j+1 the raw scale of the
// j-th transformed column).
func (l *AffineCoupling[T]) Conditioner() *MLP[T] { return l.mlp }

// Cost: one conditioner pass in each direction.
func (l *AffineCoupling[T]) Cost() Cost {
	f := l.mlp.FLOPs() + affineFLOPs*float64(len(l.tr))
	return Cost{Params: l.mlp.NumParams(), ForwardFLOPs: f, InverseFLOPs: f, InversePasses: 1}
}

// couplingWork is one application's state.
type couplingWork[T Float] struct {
	mlp      *MLPWork[T]
	xb       *Mat[T] // gathered identity half: the conditioner's input
	x, z     *Mat[T]
	par      *Mat[T] // conditioner output of the last Forward (owned by mlp)
	e        []T
	dpar, dx *Mat[T]

	imlp *MLPWork[T] // Inverse's own conditioner buffers (set up by the first Inverse)
	ixb  *Mat[T]
}

// NewWork allocates an empty workspace.
func (l *AffineCoupling[T]) NewWork() Work {
	return &couplingWork[T]{mlp: l.mlp.NewWork(), xb: &Mat[T]{}, dpar: &Mat[T]{}, dx: &Mat[T]{}}
}

// conditioner runs the MLP on the identity columns of x.
func (l *AffineCoupling[T]) conditioner(wk *couplingWork[T], x *Mat[T]) *Mat[T] {
	gatherCols(wk.xb, x, l.id)
	return l.mlp.Forward(wk.mlp, wk.xb)
}

// Forward transforms the A half given the B half, copies B through and
// writes ld = Σ log e.
func (l *AffineCoupling[T]) Forward(w Work, x, z *Mat[T], ld []T) {
	wk := w.(*couplingWork[T])
	n := x.Rows * len(l.tr)
	wk.e = tensor.Grow(wk.e, n)
	wk.x, wk.z = x, z
	wk.par = l.conditioner(wk, x)
	l.aff.forward(x, wk.par, z, ld, wk.e)
	copyCols(z, x, l.id)
}

// Backward writes dL/dx: dz·e on the A half, dz plus the conditioner's
// input gradient on the B half; it adds the conditioner's parameter
// gradients.
func (l *AffineCoupling[T]) Backward(w Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	wk := w.(*couplingWork[T])
	rows := dz.Rows
	wk.dpar.Resize(rows, 2*len(l.tr))
	l.aff.backward(dz, dld, wk.x, wk.par, wk.e, wk.dpar, dx)
	if dx == nil {
		l.mlp.Backward(wk.mlp, wk.dpar, nil)
		return
	}
	l.mlp.Backward(wk.mlp, wk.dpar, wk.dx)
	scatterAddCols(dx, dz, wk.dx, l.id)
}

// Inverse recovers x_A = (z_A − μ(z_B)) / e(z_B), x_B = z_B, and writes
// the forward log-det to ld when it is not nil. It has its own conditioner
// buffers in w, so a pending Backward on w stays valid.
func (l *AffineCoupling[T]) Inverse(w Work, z, x *Mat[T], ld []T) {
	wk := w.(*couplingWork[T])
	if wk.imlp == nil {
		wk.imlp, wk.ixb = l.mlp.NewWork(), &Mat[T]{}
	}
	gatherCols(wk.ixb, z, l.id)
	par := l.mlp.Forward(wk.imlp, wk.ixb)
	if ld != nil {
		ld = ld[:z.Rows]
	}
	l.aff.inverse(z, par, x, ld, 0, len(l.tr))
	copyCols(x, z, l.id)
}
