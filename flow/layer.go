package flow

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/autonf/autonf/tensor"
)

// Float is the element type: float32 to train, float64 to check gradients.
type Float = tensor.Float

// Mat is the dense row-major matrix every layer reads and writes.
type Mat[T Float] = tensor.Mat[T]

// Param is one learnable tensor with its gradient. Backward passes add into
// Grad; optimisers read Grad and update Value.
type Param[T Float] struct {
	Name  string // unique within its layer, e.g. "mlp.w0"
	Shape []int  // logical shape, e.g. [in, out]
	Value []T
	Grad  []T
	// Mask, when not nil, marks structural zeros (a MADE's masked
	// weights): entries where Mask is 0 stay 0 in Value and Grad and are
	// not free parameters.
	Mask []T
}

// NewParam allocates a zeroed parameter of the given shape.
func NewParam[T Float](name string, shape ...int) *Param[T] {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param[T]{Name: name, Shape: shape, Value: make([]T, n), Grad: make([]T, n)}
}

// Work holds the activations of one application of a layer: what Backward
// needs from Forward. Parameters live in the layer, activations in a Work, so
// one layer can be applied to several inputs at once (the search supernet
// shares a candidate's parameters between every path through it). Each layer
// creates and type-asserts its own concrete Work.
type Work any

// Layer is one invertible transform of D-dimensional rows.
//
// Buffers: x, z, dz, dx are B×D matrices owned by the caller; outputs must
// not alias inputs. Forward may keep references to x and z in w, so the
// caller must leave them unchanged until the matching Backward.
//
// When a Backward is valid (one rule for every layer): Backward(w, …)
// differentiates the most recent Forward on w, and stays valid until the
// next Forward on w, while that Forward's x and z and the parameter values
// are unchanged. Inverse never invalidates it: a layer's Inverse keeps its
// own buffers in w (the conformance suite, flowtest.Conformance, checks
// this for every registered type).
type Layer[T Float] interface {
	// Dim is the number of columns D.
	Dim() int
	// Spec describes the layer's hyperparameters (and any fixed state such as
	// a stored permutation) so that it can be rebuilt by Build.
	Spec() LayerSpec
	// Params lists the learnable parameters (nil if none). A Flow moves
	// them into its flat buffers when it is built (re-pointing each Param's
	// Value and Grad before any NewWork), so a layer reads them through
	// the Param rather than keeping the slices from its construction.
	Params() []*Param[T]
	// NewWork allocates a workspace for Forward/Backward/Inverse; buffers
	// grow on first use and are reused afterwards (no allocation per step).
	NewWork() Work
	// Forward maps x to z and writes log|det ∂z/∂x| of each row to ld.
	Forward(w Work, x, z *Mat[T], ld []T)
	// Backward takes dL/dz and dL/dld (per row) for the last Forward on w,
	// writes dL/dx into dx (skipped when dx is nil) and adds dL/dθ into the
	// parameters' Grad.
	Backward(w Work, dz *Mat[T], dld []T, dx *Mat[T])
	// Inverse maps z to x. When ld is not nil it writes log|det ∂z/∂x| at the
	// returned x (the same quantity Forward reports), so that sampling can
	// return log-densities.
	Inverse(w Work, z, x *Mat[T], ld []T)
	// Cost describes the layer's work for the architecture search.
	Cost() Cost
}

// Cost is a layer's static cost descriptor: multiply-adds per data row in
// each direction and how many sequential passes the inverse needs
// (autoregressive inverses need D).
type Cost struct {
	Params        int     `json:"params"`
	ForwardFLOPs  float64 `json:"forward_flops"`  // per row, density direction
	InverseFLOPs  float64 `json:"inverse_flops"`  // per row, sampling direction (all passes)
	InversePasses int     `json:"inverse_passes"` // sequential passes of the inverse
}

// Op is one application of a layer, bound to a workspace of its own: the
// typed form of the layer's Forward, Backward and Inverse (no workspace
// handle to pass, nothing to type-assert). The supernet keeps one op per
// tree node; Flow keeps one per layer and shard. The Layer rule holds per
// op: Backward differentiates the op's most recent Forward while that
// Forward's x and z and the parameters are unchanged, and Inverse never
// invalidates it.
type Op[T Float] interface {
	Forward(x, z *Mat[T], ld []T)
	Backward(dz *Mat[T], dld []T, dx *Mat[T])
	Inverse(z, x *Mat[T], ld []T)
}

// ShardedLayer is implemented by layers that bind typed ops and run
// data-parallel on shared parameters: NewOp returns an op over a fresh
// workspace whose Backward adds dL/dθ into grads[i] (one slice per entry of
// Params, same lengths), or into the Params' Grad when grads is nil. All
// per-call state lives in the op, so ops of one layer may run
// concurrently; Flow shards a batch over such layers with one gradient
// buffer per shard and no replica. Every autonf layer implements it
// (BatchNorm's flows still run unsharded: batch statistics need the whole
// batch); a user's layer can too.
type ShardedLayer[T Float] interface {
	NewOp(grads [][]T) Op[T]
}

// NewOp binds l to a fresh workspace: l's own typed op when it is a
// ShardedLayer, else an adapter over its Work-based methods (a user's
// layer).
func NewOp[T Float](l Layer[T]) Op[T] {
	if sl, ok := l.(ShardedLayer[T]); ok {
		return sl.NewOp(nil)
	}
	return &workOp[T]{l: l, w: l.NewWork()}
}

// workOp adapts a layer's Work-based methods to an Op.
type workOp[T Float] struct {
	l Layer[T]
	w Work
}

func (o *workOp[T]) Forward(x, z *Mat[T], ld []T)             { o.l.Forward(o.w, x, z, ld) }
func (o *workOp[T]) Backward(dz *Mat[T], dld []T, dx *Mat[T]) { o.l.Backward(o.w, dz, dld, dx) }
func (o *workOp[T]) Inverse(z, x *Mat[T], ld []T)             { o.l.Inverse(o.w, z, x, ld) }

// typedLayer is what an autonf layer implements over its own workspace
// type W; bindOp turns it into an Op without any type assertion.
type typedLayer[T Float, W any] interface {
	forward(w *W, x, z *Mat[T], ld []T)
	backward(w *W, dz *Mat[T], dld []T, dx *Mat[T])
	inverse(w *W, z, x *Mat[T], ld []T)
}

type boundOp[T Float, W any, L typedLayer[T, W]] struct {
	l L
	w *W
}

func (o *boundOp[T, W, L]) Forward(x, z *Mat[T], ld []T)             { o.l.forward(o.w, x, z, ld) }
func (o *boundOp[T, W, L]) Backward(dz *Mat[T], dld []T, dx *Mat[T]) { o.l.backward(o.w, dz, dld, dx) }
func (o *boundOp[T, W, L]) Inverse(z, x *Mat[T], ld []T)             { o.l.inverse(o.w, z, x, ld) }

func bindOp[T Float, W any, L typedLayer[T, W]](l L, w *W) Op[T] { return &boundOp[T, W, L]{l, w} }

// gradSet says where a workspace's Backward adds each parameter's
// gradient: its own slice when bound (NewWorkGrads), else the Param's Grad.
type gradSet[T Float] struct {
	ps []*Param[T]
	gs [][]T
}

func bindGrads[T Float](ps []*Param[T], gs [][]T) gradSet[T] {
	if gs == nil {
		return gradSet[T]{}
	}
	if len(gs) != len(ps) {
		panic("flow: NewWorkGrads got gradient slices for a different parameter list")
	}
	for i, p := range ps {
		if len(gs[i]) != len(p.Value) {
			panic("flow: NewWorkGrads: gradient slice " + p.Name + " has the wrong length")
		}
	}
	return gradSet[T]{ps, gs}
}

// of returns the slice Backward adds p's gradient into.
func (s gradSet[T]) of(p *Param[T]) []T {
	for i, q := range s.ps {
		if q == p {
			return s.gs[i]
		}
	}
	return p.Grad
}

// TrainingSetter is implemented by layers that behave differently in
// training and evaluation (BatchNorm).
type TrainingSetter interface{ SetTraining(training bool) }

// DataInitializer is implemented by layers with data-dependent
// initialisation (ActNorm). Flow.InitFromData calls it once with the layer's
// input batch before the first training step.
type DataInitializer[T Float] interface{ InitFromData(x *Mat[T]) }

// BufferHolder is implemented by layers with non-learnable state that is
// part of the model (BatchNorm's running averages): it is saved and loaded
// with the weights and restored with them by early stopping. Buffers share
// the layer's storage; their Grad is nil.
type BufferHolder[T Float] interface{ Buffers() []*Param[T] }

// Constructor builds a layer of dimension dim from its spec. rng supplies
// initial weights; it is nil when weights will be loaded right after.
type Constructor[T Float] func(dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error)

var (
	ctors32 = map[string]Constructor[float32]{}
	ctors64 = map[string]Constructor[float64]{}
	types   = map[string]LayerType{}
)

// LayerType describes a registered layer type: which spec fields it reads
// (every other set field is refused uniformly by NewLayer) and an example
// spec with non-default values that the conformance suite
// (flowtest.Conformance) builds and checks.
type LayerType struct {
	Name string
	// Fields are the JSON names of the LayerSpec fields the type reads
	// ("hidden", "bins", …). nil accepts every field (types registered
	// with Register).
	Fields []string
	// Example is a spec of this type with non-default hyperparameters.
	// Zero: {Type: Name}.
	Example LayerSpec
	// MinDim is the smallest dimension the type accepts (0: 1).
	MinDim int
}

// Register adds a layer type to the spec builder, accepting every spec
// field; RegisterType also states which fields apply.
func Register(typ string, c32 Constructor[float32], c64 Constructor[float64]) {
	RegisterType(LayerType{Name: typ}, c32, c64)
}

// RegisterType adds a layer type with its description. Each transform
// family registers itself in an init function:
//
//	func init() {
//		RegisterType(LayerType{Name: "maf", Fields: []string{"hidden", "activation", "order", "min_scale"}},
//			newMAF[float32], newMAF[float64])
//	}
func RegisterType(info LayerType, c32 Constructor[float32], c64 Constructor[float64]) {
	typ := info.Name
	if _, dup := ctors32[typ]; dup {
		panic("flow.Register: duplicate layer type " + typ)
	}
	for _, f := range info.Fields {
		if !slices.Contains(SpecFields(), f) {
			panic("flow.RegisterType: " + typ + ": unknown spec field " + f)
		}
	}
	if info.Example.Type == "" {
		info.Example.Type = typ
	}
	if info.MinDim < 1 {
		info.MinDim = 1
	}
	ctors32[typ], ctors64[typ] = c32, c64
	types[typ] = info
}

// LayerTypes lists the registered layer type names.
func LayerTypes() []string {
	out := make([]string, 0, len(ctors32))
	for k := range ctors32 {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// LayerTypeOf returns the description of a registered layer type.
func LayerTypeOf(typ string) (LayerType, bool) {
	info, ok := types[typ]
	if ok {
		info.Fields = slices.Clone(info.Fields)
		info.Example = info.Example.Clone()
	}
	return info, ok
}

// checkFields refuses set spec fields that the layer type does not read.
func checkFields(spec LayerSpec) error {
	info := types[spec.Type]
	if info.Fields == nil {
		return nil
	}
	var bad []string
	for _, f := range spec.setFields() {
		if !slices.Contains(info.Fields, f) {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	reads := "no fields"
	if len(info.Fields) > 0 {
		reads = strings.Join(info.Fields, ", ")
	}
	return fmt.Errorf("%s: field(s) %v do not apply to this layer type (it reads %s)", spec.Type, bad, reads)
}

// NewLayer builds one layer from its spec.
func NewLayer[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if _, ok := types[spec.Type]; !ok {
		return nil, unknownType(spec.Type)
	}
	if err := checkFields(spec); err != nil {
		return nil, err
	}
	var l any
	var err error
	if tensor.Is32[T]() {
		l, err = ctors32[spec.Type](dim, spec, rng)
	} else {
		l, err = ctors64[spec.Type](dim, spec, rng)
	}
	if err != nil {
		return nil, err
	}
	return l.(Layer[T]), nil
}
