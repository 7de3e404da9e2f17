package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math/rand/v2"
)

func init() {
	RegisterType(LayerType{Name: "maf", Fields: []string{"hidden", "activation", "order", "min_scale"},
		Example: LayerSpec{Type: "maf", Hidden: []int{6, 5}, Activation: "tanh", Order: "reversed", MinScale: 0.01}},
		newMAFFromSpec[float32], newMAFFromSpec[float64])
}

// MAF is a masked affine autoregressive layer (Papamakarios et al. 2017),
// spec type "maf". A MADE network (an MLP with MADEMasks, two outputs per
// variable) computes, for variable i, a shift μ_i and a raw scale from the
// variables before i in the order; the scale is e_i = softplus(raw_i) + m
// (see DefaultMinScale for why), and
//
//	z_i = x_i·e_i(x_<i) + μ_i(x_<i),   log|det ∂z/∂x| = Σ_i log e_i.
//
// The shift is applied after the scaling, in z's units, as in nflows and
// zuko, rather than before it as in the paper's u_i = (x_i − μ_i)·e^−α_i:
// the same maps, but markedly easier to train (see affineMap).
//
// Forward (density) is one network pass; Inverse (sampling) needs D
// sequential passes, one per variable in the order.
//
// Spec fields: Hidden (default [256, 256]; widths below D−1 leave some
// dependencies unused), Activation (default relu), Order ("natural",
// the default: x_i depends on x_0…x_{i−1}; or "reversed": on x_{i+1}…x_{D−1}),
// MinScale (default DefaultMinScale).
type MAF[T Float] struct {
	dim   int
	order string
	perm  []int // perm[k] = the k-th variable of the order
	made  *MLP[T]
	aff   affineMap[T]
	spec  LayerSpec
}

// NewMAF builds a MAF layer of dimension dim from its spec; rng initialises
// the MADE's weights (nil leaves them at zero, to be loaded).
func NewMAF[T Float](dim int, spec LayerSpec, rng *rand.Rand) (*MAF[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("maf: dim must be positive, got %d", dim)
	}
	hidden, act, err := affineConditioner("maf", spec)
	if err != nil {
		return nil, err
	}
	minScale, err := checkMinScale("maf", spec.MinScale)
	if err != nil {
		return nil, err
	}
	order, perm, err := arOrder("maf", spec.Order, dim)
	if err != nil {
		return nil, err
	}
	sizes := append(append([]int{dim}, hidden...), 2*dim)
	masks := MADEMasks[T](dim, hidden, 2, perm)
	cols := make([]int, dim)
	for i := range cols {
		cols[i] = i
	}
	l := &MAF[T]{
		dim:   dim,
		order: order,
		perm:  perm,
		made:  NewMLP[T]("made.", sizes, act, masks, rng),
		aff:   affineMap[T]{dim: dim, cols: cols, minScale: T(minScale)},
	}
	l.spec = LayerSpec{Type: "maf", Hidden: hidden, Activation: string(act), Order: order, MinScale: minScale}
	return l, nil
}

func newMAFFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	l, err := NewMAF[T](dim, spec, rng)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Dim returns D.
func (l *MAF[T]) Dim() int { return l.dim }

// Spec returns the complete spec (every default filled in).
func (l *MAF[T]) Spec() LayerSpec {
	s := l.spec
	s.Hidden = append([]int(nil), l.spec.Hidden...)
	return s
}

// Params returns the MADE's weights and biases ("made.w0", "made.b0", …).
func (l *MAF[T]) Params() []*Param[T] { return l.made.Params() }

// MADE returns the conditioner network (its output column 2i is μ_i, 2i+1
// the raw scale of variable i).
func (l *MAF[T]) MADE() *MLP[T] { return l.made }

// Cost counts the MADE's unmasked parameters; the forward is one MADE pass,
// the inverse D of them.
func (l *MAF[T]) Cost() Cost {
	f := l.made.FLOPs() + affineFLOPs*float64(l.dim)
	return Cost{
		Params:        l.made.NumParams(),
		ForwardFLOPs:  f,
		InverseFLOPs:  float64(l.dim) * f,
		InversePasses: l.dim,
	}
}

// mafWork is one application's state: the MADE activations, the input and
// output of Forward, and the scales e.
type mafWork[T Float] struct {
	mlp  *MLPWork[T]
	x, z *Mat[T]
	par  *Mat[T] // MADE output of the last Forward (owned by mlp)
	e    []T
	dpar *Mat[T]

	// Inverse's own state: the incremental MADE (nil when the masks do not
	// allow it) and the conditioner outputs, filled one variable a pass.
	stepInit bool
	step     *madeStepper[T]
	ipar     *Mat[T]
}

// NewWork allocates an empty workspace.
func (l *MAF[T]) NewWork() Work {
	return &mafWork[T]{mlp: l.made.NewWork(), dpar: &Mat[T]{}}
}

// Forward computes z = x·e(x) + μ(x) and ld = Σ log e per row.
func (l *MAF[T]) Forward(w Work, x, z *Mat[T], ld []T) {
	wk := w.(*mafWork[T])
	n := x.Rows * l.dim
	wk.e = tensor.Grow(wk.e, n)
	wk.x, wk.z = x, z
	wk.par = l.made.Forward(wk.mlp, x)
	l.aff.forward(x, wk.par, z, ld, wk.e)
}

// Backward writes dL/dx (direct term plus the MADE's) and adds the MADE's
// parameter gradients.
func (l *MAF[T]) Backward(w Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	wk := w.(*mafWork[T])
	rows := dz.Rows
	wk.dpar.Resize(rows, 2*l.dim)
	// MLP.Backward overwrites dx, so the direct term goes in afterwards.
	l.aff.backward(dz, dld, wk.x, wk.par, wk.e, wk.dpar, nil)
	l.made.Backward(wk.mlp, wk.dpar, dx)
	if dx != nil {
		n := rows * l.dim
		dxv, dzv, e := dx.Data[:n], dz.Data[:n], wk.e[:n]
		for i := range dxv {
			dxv[i] += dzv[i] * e[i]
		}
	}
}

// Inverse computes x from z in D passes: pass k solves the k-th variable of
// the order from the MADE's output for it. The MADE is evaluated
// incrementally (see madeStepper): each hidden unit once, when the inputs
// it sees are known, and only the two output columns of the variable being
// solved, so the whole inverse costs about one MADE pass. ld (when not nil)
// gets the forward log-det at the returned x. It uses its own buffers of w,
// so a pending Backward on w stays valid.
func (l *MAF[T]) Inverse(w Work, z, x *Mat[T], ld []T) {
	wk := w.(*mafWork[T])
	if !wk.stepInit {
		wk.stepInit = true
		wk.step = newMADEStepper(l.made, l.perm, 2)
		wk.ipar = &Mat[T]{}
	}
	if wk.step == nil {
		l.inverseFull(wk, z, x, ld)
		return
	}
	n := z.Rows
	wk.step.begin(n)
	par := wk.ipar
	par.Resize(n, 2*l.dim)
	for k, v := range l.perm {
		out, ldo := wk.step.pass(k, x)
		pv := par.Data[2*v:]
		for r := 0; r < n; r++ {
			pv[r*2*l.dim], pv[r*2*l.dim+1] = out[r*ldo], out[r*ldo+1]
		}
		l.aff.inverse(z, par, x, nil, v, v+1)
	}
	if ld != nil {
		l.aff.logDet(par, ld[:n])
	}
}

// inverseFull is the inverse by D full MADE passes on the partially solved
// x: the reference for Inverse, and its fallback when the masks are not a
// MADE's. It uses w's MADE buffers, so it invalidates a pending Backward.
func (l *MAF[T]) inverseFull(wk *mafWork[T], z, x *Mat[T], ld []T) {
	// Variables not yet solved must be finite: masked weights are exactly
	// zero, and 0·NaN would poison the conditioner.
	x.Zero()
	var par *Mat[T]
	for _, v := range l.perm {
		par = l.made.Forward(wk.mlp, x)
		l.aff.inverse(z, par, x, nil, v, v+1)
	}
	if ld != nil {
		// The last pass saw every variable a scale depends on.
		l.aff.logDet(par, ld[:z.Rows])
	}
}
