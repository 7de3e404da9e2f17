package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/autonf/autonf/search/bench"
)

// runBench maps the flags of `autonf bench` to bench.Options.
func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "--out DIR [--quick] [--data-dir ../shared/data] [--resume] [--markdown BENCHMARKS.md]", stderr)
	out := fs.String("out", "", "output directory: results.json, bench.md and the PNGs (required)")
	quick := fs.Bool("quick", false, "the CI-sized subset (about a minute) instead of the full bench")
	dataDir := fs.String("data-dir", "../shared/data", "folder of the real datasets (miniboone/, shuttle.csv, flights.csv, ...)")
	resume := fs.Bool("resume", false, "continue an existing results.json in --out, skipping its finished units")
	md := fs.String("markdown", "", "also write the section between the bench markers of this Markdown file (e.g. BENCHMARKS.md)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	trainSeeds := fs.Int("train-seeds", 0, "seeds of every exhaustive training (0: the scale's, 2 full / 1 quick)")
	searchSeeds := fs.Int("search-seeds", 0, "seeds of every search variant (0: the scale's, 5 full / 2 quick)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if *trainSeeds < 0 || *searchSeeds < 0 {
		return fmt.Errorf("--train-seeds and --search-seeds must be ≥ 0 (0: the scale's)")
	}
	opt := bench.Options{DataDir: *dataDir, OutDir: *out, Quick: *quick, Resume: *resume, Splice: *md,
		TrainSeeds: *trainSeeds, SearchSeeds: *searchSeeds,
		Command: "autonf bench " + strings.Join(args, " ")}
	if !*quiet {
		opt.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Run(ctx, opt)
	if err != nil {
		if ctx.Err() != nil && res != nil {
			return fmt.Errorf("interrupted after %d units; rerun with --resume to continue (%s)", len(res.Trainings)+len(res.Searches)+len(res.Toy), filepath.Join(*out, bench.ResultsFile))
		}
		return err
	}
	fmt.Fprintf(stdout, "bench finished in %.1f min: %s, %s\n", res.Seconds/60, filepath.Join(*out, bench.ResultsFile), filepath.Join(*out, bench.SectionFile))
	return nil
}
