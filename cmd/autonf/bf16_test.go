package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autonf/autonf/tensor"
)

// TestTrainBF16 runs train --bf16: on a CPU with AVX512-BF16 it trains and
// reports a finite test log-likelihood; elsewhere (or with -tags noasm) it
// fails before any work with a message naming --bf16.
func TestTrainBF16(t *testing.T) {
	mdl := filepath.Join(t.TempDir(), "m")
	code, out, errs := cli("train", "--data", "toy:moons", "--toy-rows", "3000", "--arch", "maf5", "--epochs", "2", "--batch", "256", "--bf16", "--out", mdl, "--json", "--quiet")
	if !tensor.HasBF16() {
		if code == 0 || !strings.Contains(errs, "--bf16") || !strings.Contains(errs, "AVX512-BF16") {
			t.Fatalf("train --bf16 without AVX512-BF16: exit %d, stderr %q; want a refusal naming --bf16", code, errs)
		}
		return
	}
	if code != 0 {
		t.Fatalf("train --bf16 exit %d: %s", code, errs)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatalf("train --json last line %q: %v", lastLine(out), err)
	}
	if v, ok := sum["test_loglik_mean"].(float64); !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		t.Fatalf("test log-likelihood %v", sum["test_loglik_mean"])
	}
}
