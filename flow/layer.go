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

// Layer is one invertible transform of D-dimensional rows. Its parameters
// live in the layer; everything one application needs between Forward and
// Backward lives in an Op bound by NewOp, so one layer can be applied to
// several inputs at once (the search supernet shares a candidate's
// parameters between every path through it) and a flow shards a batch over
// one set of layers with one op and one gradient buffer per shard. A
// user's layer needs only these five methods to run everywhere an autonf
// layer does (sharded training included).
type Layer[T Float] interface {
	// Dim is the number of columns D.
	Dim() int
	// Spec describes the layer's hyperparameters (and any fixed state such as
	// a stored permutation) so that it can be rebuilt by Build.
	Spec() LayerSpec
	// Params lists the learnable parameters (nil if none). A Flow moves
	// them into its flat buffers when it is built (re-pointing each Param's
	// Value and Grad before any NewOp), so a layer reads them through the
	// Param rather than keeping the slices from its construction.
	Params() []*Param[T]
	// NewOp binds the layer to a fresh workspace of its own. The op's
	// Backward adds dL/dθ into grads[i] (one slice per entry of Params, of
	// the same lengths), or into each Param's Grad when grads is nil. All
	// per-call state lives in the op, so ops of one layer may run
	// concurrently (on disjoint grads); buffers grow on first use and are
	// reused afterwards (no allocation per step).
	NewOp(grads [][]T) Op[T]
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

// Op is one application of a layer, bound to a workspace of its own and to
// a gradient buffer (see Layer.NewOp). The supernet keeps one op per tree
// node; Flow keeps one per layer and shard.
//
// Buffers: x, z, dz, dx are B×D matrices owned by the caller; outputs must
// not alias inputs. Forward may keep references to x and z, so the caller
// must leave them unchanged until the matching Backward.
//
// When a Backward is valid (one rule for every op): Backward differentiates
// the op's most recent Forward, and stays valid until the op's next
// Forward, while that Forward's x and z and the parameter values are
// unchanged. Inverse never invalidates it: an op's Inverse keeps its own
// buffers (the conformance suite, flowtest.Conformance, checks this for
// every registered type).
type Op[T Float] interface {
	// Forward maps x to z and writes log|det ∂z/∂x| of each row to ld.
	Forward(x, z *Mat[T], ld []T)
	// Backward takes dL/dz and dL/dld (per row) for the op's last Forward,
	// writes dL/dx into dx (skipped when dx is nil) and adds dL/dθ into
	// the op's gradient buffer. dld may be nil (no log-det term).
	Backward(dz *Mat[T], dld []T, dx *Mat[T])
	// Inverse maps z to x. When ld is not nil it writes log|det ∂z/∂x| at
	// the returned x (the same quantity Forward reports), so that sampling
	// can return log-densities.
	Inverse(z, x *Mat[T], ld []T)
}

// NewOp binds l to a fresh workspace whose Backward adds into the Params'
// own Grad: l.NewOp(nil).
func NewOp[T Float](l Layer[T]) Op[T] { return l.NewOp(nil) }

// gradSet says where a workspace's Backward adds each parameter's
// gradient: its own slice when bound (Layer.NewOp with grads), else the Param's Grad.
type gradSet[T Float] struct {
	ps []*Param[T]
	gs [][]T
}

func bindGrads[T Float](ps []*Param[T], gs [][]T) gradSet[T] {
	if gs == nil {
		return gradSet[T]{}
	}
	if len(gs) != len(ps) {
		panic("flow: NewOp got gradient slices for a different parameter list")
	}
	for i, p := range ps {
		if len(gs[i]) != len(p.Value) {
			panic("flow: NewOp: gradient slice " + p.Name + " has the wrong length")
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
