package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/autonf/autonf/model"
)

// TestMain lets the test binary act as the autonf command: with
// AUTONF_AS_CLI=1 it runs the CLI on its arguments and exits. The signal
// tests start it as a child process (no separate go build needed).
func TestMain(m *testing.M) {
	if os.Getenv("AUTONF_AS_CLI") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// child starts the CLI in a separate process.
func child(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "AUTONF_AS_CLI=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &errb
}

// waitFor polls until path exists or the child exits; it fails the test if
// the child exited first (the run finished before it could be signalled).
func waitFor(t *testing.T, cmd *exec.Cmd, exited <-chan error, path string) {
	t.Helper()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("the run ended (%v) before %s appeared", err, path)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

// A train run stopped by SIGTERM, SIGINT or kill -9 and continued with
// --resume ends with the same weights, bit for bit, as an uninterrupted
// run; a second writer of the same --out is refused while the first runs.
func TestTrainSignalsAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "small.json")
	os.WriteFile(spec, []byte(`{"format":"autonf.arch/v1","dim":2,"layers":[
		{"type":"affine-coupling","hidden":[8],"mask":"even"},{"type":"affine-coupling","hidden":[8],"mask":"odd"}]}`), 0o644)
	opts := []string{"--data", "toy:moons", "--toy-rows", "500", "--arch", spec, "--epochs", "3000", "--batch", "100",
		"--patience", "0", "--seed", "4", "--quiet", "--checkpoint-every", "50ms"}
	ref := filepath.Join(dir, "ref")
	if code, _, errs := cli(append([]string{"train", "--out", ref}, opts...)...); code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, errs)
	}
	want, err := os.ReadFile(filepath.Join(ref, model.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sig  syscall.Signal
		code int
		msg  string
	}{
		{"SIGTERM", syscall.SIGTERM, exitSIGTERM, "interrupted by SIGTERM"},
		{"SIGINT", syscall.SIGINT, exitSIGINT, "interrupted by SIGINT"},
		{"kill -9", syscall.SIGKILL, -1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", ""))
			cmd, errb := child(t, append([]string{"train", "--out", out}, opts...)...)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			waitFor(t, cmd, exited, filepath.Join(out, checkpointDir, "state.json"))

			// A second writer is refused at once while the first holds the lock.
			code, _, errs := cli(append([]string{"train", "--out", out, "--force"}, opts...)...)
			if code != 1 || !strings.Contains(errs, "is in use") {
				t.Fatalf("second writer: exit %d: %s", code, errs)
			}

			cmd.Process.Signal(c.sig)
			err := <-exited
			if got := exitCode(err); got != c.code || !strings.Contains(errb.String(), c.msg) {
				t.Fatalf("after %s: exit %d (want %d): %s", c.name, got, c.code, errb.String())
			}
			if c.sig != syscall.SIGKILL && !strings.Contains(errb.String(), "--resume") {
				t.Fatalf("the message does not say how to continue: %s", errb.String())
			}
			// Without --resume the interrupted run is not overwritten.
			code, _, errs = cli(append([]string{"train", "--out", out}, opts...)...)
			if code != 1 || !strings.Contains(errs, "--resume") {
				t.Fatalf("rerun without --resume: exit %d: %s", code, errs)
			}
			// --resume with another option names it.
			code, _, errs = cli(append(append([]string{"train", "--out", out, "--resume"}, opts...), "--lr", "0.002")...)
			if code != 1 || !strings.Contains(errs, `--lr "0.001" in the checkpoint, "0.002" now`) {
				t.Fatalf("resume with another --lr: exit %d: %s", code, errs)
			}
			code, _, errs = cli(append([]string{"train", "--out", out, "--resume"}, opts...)...)
			if code != 0 {
				t.Fatalf("resume: exit %d: %s", code, errs)
			}
			got, _ := os.ReadFile(filepath.Join(out, model.WeightsFile))
			if !bytes.Equal(got, want) {
				t.Fatal("resumed weights differ from the uninterrupted run's")
			}
			if _, err := os.Stat(filepath.Join(out, checkpointDir)); !os.IsNotExist(err) {
				t.Fatalf("the finished run's checkpoint is still there: %v", err)
			}
		})
	}
}

// A search stopped by SIGTERM exits 143 with a checkpoint; --resume with
// another option is refused, naming it; --resume with the same options
// ends with the same architecture and final weights as an uninterrupted
// search (kill -9 likewise, from the last periodic checkpoint).
func TestSearchSignalsAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	opts := []string{"--data", "toy:moons", "--toy-rows", "6000", "--layers", "2", "--candidates", "planar,affine-coupling",
		"--hidden", "64,64", "--estimator", "exact", "--steps", "400", "--batch", "512", "--cost", "params", "--seed", "5",
		"--checkpoint-every", "5", "--no-retrain"}
	finalWeights := func(run string) string {
		b, err := os.ReadFile(filepath.Join(run, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Arch    string      `json:"arch"`
			Weights [][]float64 `json:"final_weights"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(s.Arch, s.Weights)
	}
	ref := filepath.Join(dir, "ref")
	if code, _, errs := cli(append([]string{"search", "--out", ref}, opts...)...); code != 0 {
		t.Fatalf("reference search: exit %d: %s", code, errs)
	}
	want := finalWeights(ref)
	for _, c := range []struct {
		name string
		sig  syscall.Signal
		code int
	}{{"SIGTERM", syscall.SIGTERM, exitSIGTERM}, {"kill -9", syscall.SIGKILL, -1}} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", ""))
			cmd, errb := child(t, append([]string{"search", "--out", out}, opts...)...)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			waitFor(t, cmd, exited, filepath.Join(out, "checkpoint", "state.json"))
			cmd.Process.Signal(c.sig)
			if got := exitCode(<-exited); got != c.code {
				t.Fatalf("after %s: exit %d, want %d: %s", c.name, got, c.code, errb.String())
			}
			if c.sig == syscall.SIGTERM && (!strings.Contains(errb.String(), "interrupted by SIGTERM") || !strings.Contains(errb.String(), "--resume")) {
				t.Fatalf("message: %s", errb.String())
			}
			code, _, errs := cli(append(append([]string{"search", "--out", out, "--resume"}, opts...), "--lambda", "0.1")...)
			if code != 1 || !strings.Contains(errs, "lambda: checkpoint 0, now 0.1") {
				t.Fatalf("resume with another λ: exit %d: %s", code, errs)
			}
			if code, _, errs := cli(append([]string{"search", "--out", out, "--resume"}, opts...)...); code != 0 {
				t.Fatalf("resume: exit %d: %s", code, errs)
			}
			if got := finalWeights(out); got != want {
				t.Fatalf("resumed search ended at %s, the uninterrupted one at %s", got, want)
			}
		})
	}
}
