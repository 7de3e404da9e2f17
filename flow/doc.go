// Package flow is autonf's normalizing-flow engine: the Layer interface that
// every transform implements with an explicit Forward and Backward
// (vector–Jacobian product), the Flow that chains layers over a base
// distribution, architecture specs and presets.
//
// Direction convention: Forward maps data x to noise z and reports
// log|det ∂z/∂x| per row, so log p(x) = log N(z) + Σ_layers logdet.
// Inverse maps noise to data (sampling).
//
// The four conditioned families are two conditioners (Coupling,
// Autoregressive) over two elementwise transformers (affine,
// rational-quadratic spline). A layer binds typed ops (Op: Forward,
// Backward, Inverse over a workspace of its own; NewOp); a ShardedLayer
// binds them to given gradient buffers, so a Flow shards a batch over its
// own layers with one gradient buffer per shard. A Flow keeps all
// parameters and gradients in one buffer each (ParamData, GradData).
//
// Layer types are registered by name (RegisterType) with the spec fields
// they read; NewLayer refuses any other set field, so a typo or a field
// meant for another type never passes silently. Every registered type is
// checked by one conformance table (flowtest.Conformance).
package flow
