package flow

import (
	"errors"
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math"
	"math/rand/v2"
	"slices"
)

// chunkRows bounds the rows processed at once by LogProb, Sample and
// friends, so memory stays bounded for any number of rows.
const chunkRows = 4096

// densityRows is the rows of one forward pass inside LogProb (per shard):
// small enough that a layer's activations (256 × 256 float32 = 256 KiB)
// stay in a core's L2 cache between the GEMMs and the elementwise passes
// (measured against 2048-row passes in BENCHMARKS.md, optimisation log).
const densityRows = 256

var log2Pi = math.Log(2 * math.Pi)

// Flow is a base distribution and a chain of layers (data → noise order).
// A Flow owns its workspaces and is not safe for concurrent use.
type Flow[T Float] struct {
	Dim  int
	Base string // "normal" or "diag-normal"
	Name string
	// Layers may be edited between calls (appended to, replaced): the next
	// call rebuilds the workspaces, the parameter list and the flat buffers.
	Layers []Layer[T]

	// Workers is the number of shards a large batch is split into, each on
	// its own core. 0 means GOMAXPROCS; 1 runs everything on the calling
	// goroutine. Every shard runs the same layers and parameters with its
	// own ops (Layer.NewOp) and gradient buffer, whatever the layers are (a
	// user's unregistered layer type or a wrapper included). Flows
	// with BatchNorm always run unsharded (batch statistics must see the
	// whole batch).
	Workers int

	par       *parallel[T]
	batchNorm int8 // 0 unknown, 1 the flow has a BatchNorm layer, −1 not

	// Learnable base parameters (diag-normal only): mean and log std.
	BaseMean, BaseLogStd *Param[T]

	// theta and grad hold every learnable value and gradient in Params
	// order; each Param's Value and Grad are views into them (see
	// ParamData). nil when a layer keeps its parameters where the flow
	// cannot re-point them.
	theta, grad []T

	built   []Layer[T]      // Layers as of the last init (see sync)
	params  []NamedParam[T] // cached by Params
	buffers []NamedParam[T] // cached by Buffers
	ops     []Op[T]         // ops[i] applies layer i
	acts    []*Mat[T]       // acts[i] = output of layer i
	lds     [][]T           // lds[i] = log-det of layer i
	gA      *Mat[T]
	gB      *Mat[T]
	dld     []T
	lp      []T
}

// Build creates a flow from a spec; rng initialises the weights (nil leaves
// them at zero, for loading).
func Build[T Float](s *Spec, rng *rand.Rand) (*Flow[T], error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	f := &Flow[T]{Dim: s.Dim, Base: s.Base, Name: s.Name}
	if f.Base == "" {
		f.Base = "normal"
	}
	for i, ls := range s.Layers {
		l, err := NewLayer[T](s.Dim, ls, rng)
		if err != nil {
			return nil, fmt.Errorf("arch spec: layer %d (%s): %w", i, ls.Type, err)
		}
		f.Layers = append(f.Layers, l)
	}
	if f.Base == "diag-normal" {
		f.BaseMean = NewParam[T]("mean", s.Dim)
		f.BaseLogStd = NewParam[T]("log_std", s.Dim)
	}
	f.init()
	return f, nil
}

// New assembles a flow from already built layers over a standard normal.
func New[T Float](dim int, layers ...Layer[T]) *Flow[T] {
	f := &Flow[T]{Dim: dim, Base: "normal", Layers: layers}
	f.init()
	return f
}

func (f *Flow[T]) init() {
	f.built = slices.Clone(f.Layers)
	f.flatten() // before NewOp: an op may keep the Grad slices it adds into
	f.ops = make([]Op[T], len(f.Layers))
	f.acts = make([]*Mat[T], len(f.Layers))
	f.lds = make([][]T, len(f.Layers))
	for i, l := range f.Layers {
		f.ops[i] = NewOp(l)
		f.acts[i] = &Mat[T]{}
	}
	f.gA, f.gB = &Mat[T]{}, &Mat[T]{}
}

// sync re-initialises the flow when Layers was changed since it was built
// (a layer appended, removed or replaced, or a Flow made as a struct
// literal): ops, activation buffers, the parameter list and the flat
// buffers are rebuilt, and the shards dropped. Every exported method calls
// it first, so editing Layers between calls is safe.
func (f *Flow[T]) sync() {
	if f.ops != nil && len(f.built) == len(f.Layers) {
		same := true
		for i, l := range f.Layers {
			if !sameLayer(f.built[i], l) {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	// The old shards' goroutines idle until the flow is collected (their
	// job channels are closed by the cleanup registered with them).
	f.par = nil
	f.params, f.buffers = nil, nil
	f.batchNorm = 0
	if f.Base == "" {
		f.Base = "normal"
	}
	f.init()
}

// sameLayer reports whether a and b are the same layer value; layers of a
// type that cannot be compared count as the same.
func sameLayer[T Float](a, b Layer[T]) (same bool) {
	defer func() {
		if recover() != nil {
			same = true
		}
	}()
	return a == b
}

// paramStorage lists the Param structs that own l's storage: a Chain's
// Params are renamed copies, so its sub-layers' are used.
func paramStorage[T Float](l Layer[T]) []*Param[T] {
	if c, ok := l.(*Chain[T]); ok {
		var ps []*Param[T]
		for _, s := range c.Layers {
			ps = append(ps, paramStorage(s)...)
		}
		return ps
	}
	return l.Params()
}

// flatten moves every learnable value and gradient into one buffer each
// (theta, grad), re-pointing each Param's Value and Grad at its view, so
// that optimisers, clipping, snapshots and the data-parallel reduce are
// one-slice operations. When a layer's Params do not report the storage
// it computes with (a layer that hands out copies), the old storage is
// put back and the flow keeps per-parameter buffers.
func (f *Flow[T]) flatten() {
	var store []*Param[T]
	seen := map[*Param[T]]bool{}
	for _, l := range f.Layers {
		for _, p := range paramStorage(l) {
			if !seen[p] {
				seen[p] = true
				store = append(store, p)
			}
		}
	}
	if f.BaseMean != nil {
		store = append(store, f.BaseMean, f.BaseLogStd)
	}
	n := 0
	for _, p := range store {
		if len(p.Grad) != len(p.Value) {
			return
		}
		n += len(p.Value)
	}
	theta, grad := make([]T, n), make([]T, n)
	type old struct{ v, g []T }
	saved := make([]old, len(store))
	off := 0
	for i, p := range store {
		k := len(p.Value)
		saved[i] = old{p.Value, p.Grad}
		copy(theta[off:off+k], p.Value)
		copy(grad[off:off+k], p.Grad)
		p.Value, p.Grad = theta[off:off+k:off+k], grad[off:off+k:off+k]
		off += k
	}
	// Check that the flow's parameter list sees exactly the flat views, in
	// order.
	off = 0
	ok := true
	for _, p := range f.paramList() {
		k := len(p.Value)
		if k > 0 && (off+k > n || &p.Value[0] != &theta[off] || &p.Grad[0] != &grad[off]) {
			ok = false
			break
		}
		off += k
	}
	f.params = nil
	if !ok || off != n {
		for i, p := range store {
			p.Value, p.Grad = saved[i].v, saved[i].g
		}
		return
	}
	f.theta, f.grad = theta, grad
}

// flat reports whether every parameter still views theta and grad (a
// later flatten of another flow over the same layers re-points them; this
// flow then falls back to per-parameter loops).
func (f *Flow[T]) flat() bool {
	if f.theta == nil {
		return false
	}
	off := 0
	for _, p := range f.paramList() {
		k := len(p.Value)
		if k > 0 && (&p.Value[0] != &f.theta[off] || &p.Grad[0] != &f.grad[off]) {
			f.theta, f.grad = nil, nil
			return false
		}
		off += k
	}
	return true
}

// ParamData returns the one buffer holding every learnable value in Params
// order (each Param's Value is a view into it), or nil when the flow keeps
// per-parameter storage: a layer whose Params hand out copies, or layers
// that a flow built later over the same layers has re-pointed.
func (f *Flow[T]) ParamData() []T {
	f.sync()
	if !f.flat() {
		return nil
	}
	return f.theta
}

// GradData is ParamData for the gradients.
func (f *Flow[T]) GradData() []T {
	f.sync()
	if !f.flat() {
		return nil
	}
	return f.grad
}

// Spec returns the flow's architecture spec (complete: every default and
// stored permutation included).
func (f *Flow[T]) Spec() *Spec {
	s := &Spec{Format: SpecFormat, Name: f.Name, Dim: f.Dim, Base: f.Base}
	for _, l := range f.Layers {
		s.Layers = append(s.Layers, l.Spec())
	}
	return s
}

// NamedParam is a parameter with its flow-wide name.
type NamedParam[T Float] struct {
	Name string // e.g. "layers.3.mlp.w0" or "base.mean"
	*Param[T]
}

// Params lists every learnable parameter with a unique name. The list is
// built once; the layers must not change afterwards.
func (f *Flow[T]) Params() []NamedParam[T] {
	f.sync()
	return f.paramList()
}

// paramList is Params without the sync (for init and the internals).
func (f *Flow[T]) paramList() []NamedParam[T] {
	if f.params != nil {
		return f.params
	}
	ps := []NamedParam[T]{}
	for i, l := range f.Layers {
		for _, p := range l.Params() {
			ps = append(ps, NamedParam[T]{fmt.Sprintf("layers.%d.%s", i, p.Name), p})
		}
	}
	if f.BaseMean != nil {
		ps = append(ps, NamedParam[T]{"base.mean", f.BaseMean}, NamedParam[T]{"base.log_std", f.BaseLogStd})
	}
	f.params = ps
	return ps
}

// Buffers lists the non-learnable state saved with the model (BatchNorm
// running averages), named like Params ("layers.3.running_mean"). Built
// once, like Params.
func (f *Flow[T]) Buffers() []NamedParam[T] {
	f.sync()
	if f.buffers != nil {
		return f.buffers
	}
	bs := []NamedParam[T]{}
	for i, l := range f.Layers {
		if h, ok := l.(BufferHolder[T]); ok {
			for _, b := range h.Buffers() {
				bs = append(bs, NamedParam[T]{fmt.Sprintf("layers.%d.%s", i, b.Name), b})
			}
		}
	}
	f.buffers = bs
	return bs
}

// NumParams counts the learnable scalars.
func (f *Flow[T]) NumParams() int {
	f.sync()
	n := 0
	for _, p := range f.paramList() {
		n += len(p.Value)
	}
	return n
}

// ZeroGrad clears every gradient.
func (f *Flow[T]) ZeroGrad() {
	f.sync()
	if f.flat() {
		clear(f.grad)
		return
	}
	for _, p := range f.paramList() {
		clear(p.Grad)
	}
}

// SetTraining switches layers with train/eval behaviour (BatchNorm).
func (f *Flow[T]) SetTraining(training bool) {
	f.sync()
	for _, l := range f.Layers {
		if s, ok := l.(TrainingSetter); ok {
			s.SetTraining(training)
		}
	}
}

// InitFromData runs x through the flow once, letting layers with
// data-dependent initialisation (ActNorm) set themselves from their input.
func (f *Flow[T]) InitFromData(x *Mat[T]) {
	f.sync()
	cur := x
	ld := make([]T, x.Rows)
	for _, l := range f.Layers {
		if di, ok := l.(DataInitializer[T]); ok {
			di.InitFromData(cur)
		}
		out := &Mat[T]{}
		out.Resize(cur.Rows, f.Dim)
		NewOp(l).Forward(cur, out, ld)
		cur = out
	}
}

// ErrNonFinite reports a NaN or Inf met in a forward pass.
var ErrNonFinite = errors.New("non-finite value")

// NonFiniteError says where a forward pass first produced NaN/Inf.
type NonFiniteError struct {
	Layer int    // index of the first layer whose output or log-det is not finite; -1: the input; len(Layers): the base
	Type  string // that layer's type
}

func (e *NonFiniteError) Error() string {
	switch e.Layer {
	case -1:
		return "non-finite value in the input data"
	default:
		if e.Type == "base" {
			return "non-finite value in the base log-density"
		}
		return fmt.Sprintf("non-finite value produced by layer %d (%s)", e.Layer, e.Type)
	}
}

// Unwrap makes errors.Is(err, ErrNonFinite) work.
func (e *NonFiniteError) Unwrap() error { return ErrNonFinite }

// forward runs x (≤ any rows) through every layer, filling f.acts and
// f.lds, and writes log p(x) per row into lp.
func (f *Flow[T]) forward(x *Mat[T], lp []T) {
	cur := x
	for i := range f.Layers {
		f.acts[i].Resize(x.Rows, f.Dim)
		f.lds[i] = tensor.Grow(f.lds[i], x.Rows)
		f.ops[i].Forward(cur, f.acts[i], f.lds[i])
		cur = f.acts[i]
	}
	f.baseLogProb(cur, lp)
	for i := range f.Layers {
		for r, v := range f.lds[i] {
			lp[r] += v
		}
	}
}

func (f *Flow[T]) output(x *Mat[T]) *Mat[T] {
	if len(f.Layers) == 0 {
		return x
	}
	return f.acts[len(f.Layers)-1]
}

// baseLogProb writes log p_base(z) per row.
func (f *Flow[T]) baseLogProb(z *Mat[T], lp []T) {
	d := f.Dim
	c := -0.5 * float64(d) * log2Pi
	if f.BaseMean != nil {
		for _, s := range f.BaseLogStd.Value {
			c -= float64(s)
		}
	}
	for r := 0; r < z.Rows; r++ {
		row := z.Data[r*d : (r+1)*d]
		var ss T
		if f.BaseMean == nil {
			for _, v := range row {
				ss += v * v
			}
		} else {
			mu, ls := f.BaseMean.Value, f.BaseLogStd.Value
			for j, v := range row {
				u := (v - mu[j]) * T(math.Exp(-float64(ls[j])))
				ss += u * u
			}
		}
		lp[r] = T(c) - ss/2
	}
}

// findNonFinite locates the first non-finite activation after a forward.
func (f *Flow[T]) findNonFinite(x *Mat[T], lp []T) error {
	if !tensor.AllFinite(x.Data[:x.Rows*x.Cols]) {
		return &NonFiniteError{Layer: -1, Type: "input"}
	}
	for i, l := range f.Layers {
		if !tensor.AllFinite(f.acts[i].Data[:x.Rows*f.Dim]) || !tensor.AllFinite(f.lds[i]) {
			return &NonFiniteError{Layer: i, Type: l.Spec().Type}
		}
	}
	if !tensor.AllFinite(lp) {
		return &NonFiniteError{Layer: len(f.Layers), Type: "base"}
	}
	return nil
}

// LogProb writes log p(x) of each row of x into out (len x.Rows), in chunks
// so memory stays bounded. It returns a *NonFiniteError when a value is
// NaN/Inf.
func (f *Flow[T]) LogProb(x *Mat[T], out []T) error {
	f.sync()
	if x.Cols != f.Dim {
		return fmt.Errorf("flow: data has %d columns, the flow expects %d", x.Cols, f.Dim)
	}
	if f.shards(min(x.Rows, chunkRows)) > 1 {
		return f.parallelLogProb(x, out)
	}
	return f.logProb(x, out)
}

func (f *Flow[T]) logProb(x *Mat[T], out []T) error {
	for lo := 0; lo < x.Rows; lo += densityRows {
		hi := min(lo+densityRows, x.Rows)
		xc := x.SliceRows(lo, hi)
		f.forward(xc, out[lo:hi])
		if !tensor.AllFinite(out[lo:hi]) {
			return f.findNonFinite(xc, out[lo:hi])
		}
	}
	return nil
}

// Transform maps x to z = T(x) and returns z with the total log|det ∂z/∂x|
// per row.
func (f *Flow[T]) Transform(x *Mat[T]) (*Mat[T], []T) {
	f.sync()
	z := &Mat[T]{}
	z.Resize(x.Rows, f.Dim)
	ld := make([]T, x.Rows)
	tmp := make([]T, min(x.Rows, chunkRows))
	for lo := 0; lo < x.Rows; lo += chunkRows {
		hi := min(lo+chunkRows, x.Rows)
		xc := x.SliceRows(lo, hi)
		f.forward(xc, tmp[:hi-lo])
		copy(z.Data[lo*f.Dim:hi*f.Dim], f.output(xc).Data[:(hi-lo)*f.Dim])
		for i := range f.Layers {
			for r, v := range f.lds[i] {
				ld[lo+r] += v
			}
		}
	}
	return z, ld
}

// Inverse maps noise z to data x = T⁻¹(z).
func (f *Flow[T]) Inverse(z *Mat[T]) *Mat[T] {
	f.sync()
	x, _ := f.inverse(z, false)
	return x
}

// inverse runs z back through the layers; with logProb it also returns
// log p(x) of the result.
func (f *Flow[T]) inverse(z *Mat[T], logProb bool) (*Mat[T], []T) {
	d := f.Dim
	x := &Mat[T]{}
	x.Resize(z.Rows, d)
	var lp []T
	if logProb {
		lp = make([]T, z.Rows)
	}
	a, b := &Mat[T]{}, &Mat[T]{}
	var ld []T
	for lo := 0; lo < z.Rows; lo += chunkRows {
		hi := min(lo+chunkRows, z.Rows)
		n := hi - lo
		zc := z.SliceRows(lo, hi)
		if logProb {
			f.baseLogProb(zc, lp[lo:hi])
			ld = tensor.Grow(ld, n)
		}
		cur := zc
		for i := len(f.Layers) - 1; i >= 0; i-- {
			out := a
			if cur == a {
				out = b
			}
			out.Resize(n, d)
			var ldp []T
			if logProb {
				ldp = ld
			}
			f.ops[i].Inverse(cur, out, ldp)
			if logProb {
				for r, v := range ld {
					lp[lo+r] += v
				}
			}
			cur = out
		}
		copy(x.Data[lo*d:hi*d], cur.Data[:n*d])
	}
	return x, lp
}

// SampleBase draws n rows from the base distribution.
func (f *Flow[T]) SampleBase(n int, rng *rand.Rand) *Mat[T] {
	z := &Mat[T]{}
	z.Resize(n, f.Dim)
	for i := range z.Data {
		z.Data[i] = T(rng.NormFloat64())
	}
	if f.BaseMean != nil {
		mu, ls := f.BaseMean.Value, f.BaseLogStd.Value
		for r := 0; r < n; r++ {
			row := z.Row(r)
			for j := range row {
				row[j] = mu[j] + row[j]*T(math.Exp(float64(ls[j])))
			}
		}
	}
	return z
}

// Sample draws n rows from the flow; the same seed gives the same rows
// (whatever the number of cores).
func (f *Flow[T]) Sample(n int, seed uint64) *Mat[T] {
	x, _ := f.sample(n, seed, false)
	return x
}

// SampleAndLogProb draws n rows and returns them with their log-densities,
// computed in the same inverse pass.
func (f *Flow[T]) SampleAndLogProb(n int, seed uint64) (*Mat[T], []T) {
	return f.sample(n, seed, true)
}

// sample is Sample (logProb false) or SampleAndLogProb.
func (f *Flow[T]) sample(n int, seed uint64, logProb bool) (*Mat[T], []T) {
	f.sync()
	z := f.SampleBase(n, rand.New(rand.NewPCG(seed, 0x5a17)))
	if f.shards(min(n, chunkRows)) > 1 {
		return f.parallelInverse(z, logProb)
	}
	return f.inverse(z, logProb)
}

// NLLGrad computes the mean negative log-likelihood of the batch x and adds
// its gradient to every parameter's Grad. x must not change until the call
// returns. Large batches are split into shards that run on all cores (see
// Flow.Workers); the result does not depend on the number of shards beyond
// floating-point summation order.
func (f *Flow[T]) NLLGrad(x *Mat[T]) (float64, error) {
	f.sync()
	if x.Cols != f.Dim {
		return 0, fmt.Errorf("flow: data has %d columns, the flow expects %d", x.Cols, f.Dim)
	}
	if w := f.shards(x.Rows); w > 1 {
		return f.parallelNLLGrad(x, w)
	}
	sum, err := f.nllGrad(x, x.Rows)
	return sum / float64(x.Rows), err
}

// nllGrad runs forward and backward on x for the loss −(1/total)·Σ log p
// (x may be one shard of a batch of total rows) and returns −Σ log p over
// x's rows.
func (f *Flow[T]) nllGrad(x *Mat[T], total int) (float64, error) {
	n := x.Rows
	f.lp = tensor.Grow(f.lp, n)
	f.forward(x, f.lp)
	var sum float64
	for _, v := range f.lp {
		sum += float64(v)
	}
	if math.IsNaN(sum) || math.IsInf(sum, 0) {
		return -sum, f.findNonFinite(x, f.lp)
	}
	inv := T(1 / float64(total))
	// dL/dz of the base term, L = −mean log p.
	z := f.output(x)
	g := f.gA
	g.Resize(n, f.Dim)
	if f.BaseMean == nil {
		for i, v := range z.Data[:n*f.Dim] {
			g.Data[i] = v * inv
		}
	} else {
		d := f.Dim
		mu, ls := f.BaseMean.Value, f.BaseLogStd.Value
		gm, gs := f.BaseMean.Grad, f.BaseLogStd.Grad
		for r := 0; r < n; r++ {
			for j := 0; j < d; j++ {
				is := T(math.Exp(-float64(ls[j])))
				u := (z.Data[r*d+j] - mu[j]) * is
				g.Data[r*d+j] = u * is * inv
				gm[j] -= u * is * inv
				gs[j] += (1 - u*u) * inv
			}
		}
	}
	f.dld = tensor.Grow(f.dld, n)
	for i := range f.dld {
		f.dld[i] = -inv
	}
	for i := len(f.Layers) - 1; i >= 0; i-- {
		var dx *Mat[T]
		if i > 0 {
			dx = f.gB
			if g == f.gB {
				dx = f.gA
			}
			dx.Resize(n, f.Dim)
		}
		f.ops[i].Backward(g, f.dld, dx)
		g = dx
	}
	return -sum, nil
}
