// Package flowtest checks flow layers numerically in float64: gradients
// against central finite differences, log-determinants against the
// log|det| of the full finite-difference Jacobian (gonum's LU), and
// inverse∘forward = identity. Every transform's tests use it.
//
// Conformance runs one table of checks (inverse, log-det, gradients, the
// Backward-validity rule, allocation-free steady state, spec round trip,
// refusal of inapplicable spec fields, sharded = serial) over every
// registered layer type, so a new family gets all of them by registering.
package flowtest
