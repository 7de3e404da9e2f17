// Package flow is autonf's normalizing-flow engine: the Layer interface that
// every transform implements with an explicit Forward and Backward
// (vector–Jacobian product), the Flow that chains layers over a base
// distribution, architecture specs and presets.
//
// Direction convention: Forward maps data x to noise z and reports
// log|det ∂z/∂x| per row, so log p(x) = log N(z) + Σ_layers logdet.
// Inverse maps noise to data (sampling).
//
// Layer types are registered by name (RegisterType) with the spec fields
// they read; NewLayer refuses any other set field, so a typo or a field
// meant for another type never passes silently. Every registered type is
// checked by one conformance table (flowtest.Conformance).
package flow
