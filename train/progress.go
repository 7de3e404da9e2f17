package train

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/autonf/autonf/internal/fsio"
)

// Progress prints training progress: on a terminal a single updating bar
// (epoch, loss, validation loss, ETA); otherwise a plain line every epoch.
type Progress struct {
	W         io.Writer
	TTY       bool
	MaxEpochs int
	start     time.Time
	lastDraw  time.Time
	lastEpoch EpochStats
}

// NewProgress creates a printer; tty selects the updating bar.
func NewProgress(w io.Writer, tty bool, maxEpochs int) *Progress {
	return &Progress{W: w, TTY: tty, MaxEpochs: maxEpochs, start: time.Now()}
}

// Step is a Config.OnStep callback: it redraws the bar at most 10 times a
// second on a terminal and does nothing otherwise.
func (p *Progress) Step(epoch, step, steps int, loss float64) {
	if !p.TTY || time.Since(p.lastDraw) < 100*time.Millisecond {
		return
	}
	p.lastDraw = time.Now()
	frac := (float64(epoch) + float64(step+1)/float64(steps)) / float64(p.MaxEpochs)
	const width = 24
	filled := min(width, int(frac*width))
	bar := strings.Repeat("█", filled) + strings.Repeat("·", width-filled)
	val := "—"
	if p.lastEpoch.Epoch > 0 {
		val = fmt.Sprintf("%.4f (best %.4f)", p.lastEpoch.ValNLL, p.lastEpoch.BestVal)
	}
	el := time.Since(p.start)
	eta := time.Duration(float64(el) * (1 - frac) / max(frac, 1e-9))
	fmt.Fprintf(p.W, "\r\033[Kepoch %d/%d %s step %d/%d  loss %.4f  val %s  %s  ETA ≤ %s",
		epoch+1, p.MaxEpochs, bar, step+1, steps, loss, val, fmtDur(el), fmtDur(eta))
}

// Epoch is a Config.OnEpoch callback.
func (p *Progress) Epoch(s EpochStats) {
	p.lastEpoch = s
	mark := ""
	if s.Improved {
		mark = " *"
	}
	if p.TTY {
		fmt.Fprint(p.W, "\r\033[K")
	}
	fmt.Fprintf(p.W, "epoch %4d  train NLL %.4f  val NLL %.4f  best %.4f  lr %.2e  %s%s\n",
		s.Epoch, s.TrainNLL, s.ValNLL, s.BestVal, s.LR, fmtDur(s.Elapsed), mark)
}

func fmtDur(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// WriteCurveCSV writes the training curve (one row per epoch) through a
// temporary file and a rename. A score that is not finite (a failed
// validation, the best before the first validated epoch) is left empty.
func WriteCurveCSV(path string, curve []EpochStats) error {
	return fsio.Write(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		w.Write([]string{"epoch", "train_nll", "val_nll", "best_val_nll", "lr", "seconds"})
		for _, s := range curve {
			w.Write([]string{strconv.Itoa(s.Epoch), ff(s.TrainNLL), ff(s.ValNLL), ff(s.BestVal), ff(s.LR), ff(s.Elapsed.Seconds())})
		}
		w.Flush()
		return w.Error()
	})
}

func ff(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 8, 64)
}
