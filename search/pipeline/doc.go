// Package pipeline runs an AutoNF architecture search end to end, as one
// library call: it validates the options, prepares the data (or takes
// prepared data), prices the candidates, searches (one λ, K seeds, or a λ
// sweep), derives the argmax architecture, retrains it as an ordinary flow,
// evaluates it, trains the yardsticks asked for (exhaustive, random, matched
// single-family flows, hand-crafted presets) and writes the run directory
// (arch.json, model/, checkpoint/, report.md, PNGs).
//
// Science rules the package keeps:
//   - every choice (the best of a λ sweep, the yardsticks' order, which
//     preset a found architecture dominates) is made on validation NLL; test
//     figures are reported beside and never used to choose;
//   - every NLL and log-likelihood is in the units of the user's file: the
//     flows work on standardised data, and the standardisation's
//     log-Jacobian ([Result.LogDet]) is added back to every figure;
//   - K seeds give mean ± s.d. and how often each architecture was picked.
//
// The command-line tool `autonf search` maps its flags onto [Options] and
// prints the [Result]; a Go program calls [Run] (files) or [RunPrepared]
// (data already in memory).
package pipeline
