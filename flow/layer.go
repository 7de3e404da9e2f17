// Package flow is autonf's normalizing-flow engine: the Layer interface that
// every transform implements with an explicit Forward and Backward
// (vector–Jacobian product), the Flow that chains layers over a base
// distribution, architecture specs and presets.
//
// Direction convention: Forward maps data x to noise z and reports
// log|det ∂z/∂x| per row, so log p(x) = log N(z) + Σ_layers logdet.
// Inverse maps noise to data (sampling).
package flow

import (
	"math/rand/v2"

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
type Layer[T Float] interface {
	// Dim is the number of columns D.
	Dim() int
	// Spec describes the layer's hyperparameters (and any fixed state such as
	// a stored permutation) so that it can be rebuilt by Build.
	Spec() LayerSpec
	// Params lists the learnable parameters (nil if none).
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
)

// Register adds a layer type to the spec builder. Each transform family
// registers itself in an init function:
//
//	func init() { Register("maf", newMAF[float32], newMAF[float64]) }
func Register(typ string, c32 Constructor[float32], c64 Constructor[float64]) {
	if _, dup := ctors32[typ]; dup {
		panic("flow.Register: duplicate layer type " + typ)
	}
	ctors32[typ], ctors64[typ] = c32, c64
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

// NewLayer builds one layer from its spec.
func NewLayer[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	var zero T
	switch any(zero).(type) {
	case float32:
		c, ok := ctors32[spec.Type]
		if !ok {
			return nil, unknownType(spec.Type)
		}
		l, err := c(dim, spec, rng)
		if err != nil {
			return nil, err
		}
		return any(l).(Layer[T]), nil
	default:
		c, ok := ctors64[spec.Type]
		if !ok {
			return nil, unknownType(spec.Type)
		}
		l, err := c(dim, spec, rng)
		if err != nil {
			return nil, err
		}
		return any(l).(Layer[T]), nil
	}
}
