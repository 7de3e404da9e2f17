// Package report draws the pictures of an autonf run as PNG files: training
// curves, 2-D density heat maps, sample scatter plots, architecture-search
// weight trajectories and cost/NLL Pareto fronts.
//
// The package is a leaf: it takes plain slices and functions and writes PNG
// files with gonum.org/v1/plot, so it can be called from anywhere in the
// module. Fonts are the Liberation fonts bundled with gonum/plot, so no
// system fonts or network access are needed.
//
// No function panics on bad input. Points with NaN or ±Inf coordinates are
// skipped; an error is returned only when nothing drawable is left, or when
// the input is malformed (mismatched lengths, an empty or inverted grid, …).
package report
