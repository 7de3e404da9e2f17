package train

import (
	"strings"
	"testing"
	"time"
)

func TestProgressOutput(t *testing.T) {
	var b strings.Builder
	p := NewProgress(&b, true, 10)
	p.Step(0, 0, 4, 1.5)
	p.Epoch(EpochStats{Epoch: 1, TrainNLL: 1.5, ValNLL: 1.4, BestVal: 1.4, Improved: true, Elapsed: time.Second})
	out := b.String()
	for _, want := range []string{"epoch 1/10", "loss 1.5000", "ETA ≤", "val NLL 1.4000", " *"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal progress %q lacks %q", out, want)
		}
	}
	b.Reset()
	p = NewProgress(&b, false, 10)
	p.Step(0, 0, 4, 1.5)
	if b.Len() != 0 {
		t.Errorf("non-terminal progress drew a bar: %q", b.String())
	}
	p.Epoch(EpochStats{Epoch: 2, ValNLL: 1.3})
	if !strings.Contains(b.String(), "epoch    2") || strings.Contains(b.String(), "\r") {
		t.Errorf("plain progress line %q", b.String())
	}
}
