// Package strategy drives AutoNF searches end to end: it builds the search
// space from candidate names, runs the block-wise strategies of the paper
// (grow, block) or a whole-flow search with the sample estimator, derives
// the discrete architecture, and provides the yardsticks (exhaustive and
// random search), λ sweeps (Pareto fronts) and the hand-crafted presets to
// compare them with ([Space.RefPresets], [Space.PresetSpec],
// [Space.PresetCost]). Runs checkpoint and resume mid-phase, exactly (see
// [State]).
package strategy
