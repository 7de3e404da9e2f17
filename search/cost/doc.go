// Package cost prices the candidates of an architecture search: measured
// wall time on this machine (the default, as the AutoNF paper's table was),
// parameter counts, or FLOP counts, under one of three emphases — training
// steps, density evaluation (forward) or sampling (inverse). Prices are
// normalised so that an affine coupling layer of the same width costs 1.
package cost
