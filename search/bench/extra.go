package bench

import "github.com/autonf/autonf/search/strategy"

// SearchExtra carries what a search reports beyond its architecture and
// weights (convergence diagnostics, when the strategy package has them).
type SearchExtra struct{}

func extraOf(res *strategy.Result) SearchExtra { return SearchExtra{} }

// ExtraScore summarises the SearchExtra of a variant's runs.
type ExtraScore struct{}

func scoreExtra(runs []SearchRun) ExtraScore { return ExtraScore{} }

func scoreToyExtra(runs []ToyRun) ExtraScore { return ExtraScore{} }

func extraHeader() string               { return "" }
func extraSep() string                  { return "" }
func extraBlank() string                { return "" }
func extraCells(ExtraScore) string      { return "" }
func extraToyHeader() string            { return "" }
func extraToySep() string               { return "" }
func extraToyCells(e ExtraScore) string { return "" }
