// Package bench is AutoNF's proof on real data: it trains every
// architecture of a small search space from scratch (the ground truth),
// runs each search variant with several seeds, and scores the picks
// against the ground truth — rank percentile by validation NLL, regret in
// test nats, compute against exhaustive enumeration and against random
// search at equal compute — together with the paper's toy study
// (original loss vs upper bound) and a λ sweep against the exhaustive
// Pareto front.
//
// Every NLL is in the units of the user's file (the standardisation's
// log-Jacobian included; dequantised data for integer columns).
// Architectures are chosen on validation NLL; test NLL is reported beside
// and never used to choose.
//
// [Run] is resumable: each unit of work (one training, one search, one
// cost table) is appended to results.json in the output directory as soon
// as it finishes, and a rerun with Resume skips the finished units.
// [Summarize] turns the raw units into the scores, [Markdown] into the
// BENCHMARKS.md section and [Splice] writes that section between the
// markers of a Markdown file.
package bench
