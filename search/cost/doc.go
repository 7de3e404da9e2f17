// Package cost prices the candidates of an architecture search, under one
// of three emphases — training steps, density evaluation (forward) or
// sampling (inverse) — from one of four sources:
//
//   - Measured: median wall time on this machine (the default, as the
//     AutoNF paper's table was), cached per machine and configuration;
//   - Params: learnable parameter counts;
//   - FLOPs: textbook FLOP counts per row;
//   - Paper: the AutoNF paper's Table 1, reverse-engineered (an 8-layer
//     affine-coupling flow costs exactly 8; autoregressive inverses grow
//     with the dimension D). It prices only maf, nsf-ar, affine-coupling
//     and nsf-coupling and ignores widths and bins.
//
// Measured, Params and FLOPs price each candidate with its own spec, so a
// search over widths and bins (nsf-ar at 256×2 with K=16 beside nsf-ar at
// 64×2) pays for the larger layer. Prices are normalised so that an affine
// coupling layer (of Options.RefHidden, or of the first candidate's width)
// costs 1.
package cost
