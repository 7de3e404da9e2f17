// Package strategy drives AutoNF searches end to end: it builds the search
// space from candidate names, runs the block-wise strategies of the paper
// (grow, block) or a whole-flow search with the sample estimator, derives
// the discrete architecture, and provides the yardsticks (exhaustive and
// random search), λ sweeps (Pareto fronts) and the hand-crafted presets to
// compare them with ([Space.RefPresets], [Space.PresetSpec],
// [Space.PresetCost]). Runs checkpoint and resume mid-phase, exactly (see
// [State]).
//
// A candidate is a layer family together with its hyperparameters
// ([CandidateSpec], parsed by [ParseCandidates] from lists such as
// "nsf-ar:hidden=256x2:bins=16,nsf-ar:hidden=64x2,maf"), so the search
// chooses the layer type, its width and its spline resolution at once, and
// the cost term prices each candidate at its own size.
package strategy
