package main

import "fmt"

func init() { badCases = append(badCases, searchCases...) }

// searchWith runs a tiny search on the fixture data with extra flags (each
// into a run directory of its own).
func searchWith(extra ...string) func(*fixture) []string {
	return func(fx *fixture) []string {
		fx.n++
		return append([]string{"search", "--data", fx.Good, "--layers", "2", "--candidates", "planar,affine-coupling", "--hidden", "8",
			"--cost", "params", "--steps", "20", "--batch", "64", "--out", fx.Path(fmt.Sprintf("run-%d", fx.n))}, extra...)
	}
}

// searchAfterRun makes a finished tiny search in a run directory, then
// returns the same command with extra flags (a second run, or a resume).
func searchAfterRun(extra ...string) func(*fixture) []string {
	return func(fx *fixture) []string {
		fx.n++
		base := []string{"search", "--data", fx.Good, "--layers", "2", "--candidates", "planar,affine-coupling", "--hidden", "8",
			"--cost", "params", "--steps", "20", "--batch", "64", "--no-retrain", "--out", fx.Path(fmt.Sprintf("run-%d", fx.n))}
		if code, _, errs := cli(base...); code != 0 {
			fx.t.Fatalf("first search: %s", errs)
		}
		return append(base, extra...)
	}
}

var searchCases = []badCase{
	{Group: "search", What: "too many slots", Args: searchWith("--layers", "100000"), Code: 1, Want: "layers must be in 1..64"},
	{Group: "search", What: "absurd hidden size", Args: searchWith("--hidden", "1000000000"), Code: 1, Want: "hidden width 1000000000 is out of range"},
	{Group: "search", What: "absurd random-search count", Args: searchWith("--random", "1000000000"), Code: 1, Want: "random must be in 0..10000"},
	{Group: "search", What: "more random architectures than the space has", Args: searchWith("--random", "5"), Code: 1, Want: "the space has 4"},
	{Group: "search", What: "exhaustive over too large a space", Args: searchWith("--layers", "9", "--exhaustive"), Code: 1, Want: "512 architectures, at most 256"},
	{Group: "search", What: "λ is NaN", Args: searchWith("--lambda", "NaN"), Code: 1, Want: "lambda must be a finite number ≥ 0, got NaN"},
	{Group: "search", What: "negative λ", Args: searchWith("--lambda", "-0.1"), Code: 1, Want: "lambda must be a finite number ≥ 0"},
	{Group: "search", What: "θ learning rate infinite", Args: searchWith("--theta-lr", "Inf"), Code: 1, Want: "theta learning rate must be a finite number in (0, 10]"},
	{Group: "search", What: "zero seeds", Args: searchWith("--seeds", "0"), Code: 1, Want: "--seeds must be ≥ 1, got 0"},
	{Group: "search", What: "a one-point λ sweep", Args: searchWith("--pareto", "1"), Code: 1, Want: "pareto must be 0 (off) or in 2..50"},
	{Group: "search", What: "λ sweep without retraining", Args: searchWith("--pareto", "3", "--no-retrain"), Code: 1, Want: "cannot be combined with no-retrain"},
	{Group: "search", What: "unknown candidate", Args: searchWith("--candidates", "planar,glow"), Code: 1, Want: `candidate "glow" is unknown`},
	{Group: "search", What: "misspelt candidate key", Args: searchWith("--candidates", "affine-coupling:hiden=8,planar"), Code: 1, Want: "unknown key hiden"},
	{Group: "search", What: "bins on a candidate without a spline", Args: searchWith("--candidates", "maf:bins=4,planar"), Code: 1, Want: "bins does not apply"},
	{Group: "search", What: "the same candidate twice", Args: searchWith("--candidates", "planar,planar"), Code: 1, Want: "is the same as candidate 1"},
	{Group: "search", What: "paper costs for a candidate the paper lacks", Args: searchWith("--cost", "paper"), Code: 1, Want: "the paper's cost table has no entry for planar"},
	{Group: "search", What: "exact estimator over too many paths", Args: searchWith("--estimator", "exact", "--layers", "20", "--block", "20"), Code: 1, Want: "paths (limit 65536)"},
	{Group: "search", What: "sample estimator with the original loss", Args: searchWith("--loss", "original"), Code: 1, Want: "supports the upper-bound loss only"},
	{Group: "search", What: "resume without a run", Args: searchWith("--resume"), Code: 1, Want: "there is no checkpoint to resume"},
	{Group: "search", What: "a second run into a finished run's directory", Args: searchAfterRun(), Code: 1, Want: "already holds a run"},
	{Group: "search", What: "resume with another seed", Args: searchAfterRun("--resume", "--seed", "2"), Code: 1, Want: "search.seed: checkpoint 1, now 2"},
	{Group: "search", What: "resume with another λ", Args: searchAfterRun("--resume", "--lambda", "0.5"), Code: 1, Want: "lambda: checkpoint 0, now 0.5"},
	{Group: "search", What: "resume with another estimator", Args: searchAfterRun("--resume", "--estimator", "exact", "--block", "2"), Code: 1, Want: "search.estimator: checkpoint sample, now exact"},
}
