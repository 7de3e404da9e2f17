package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/autonf/autonf/internal/fsio"
)

// Flag checks: each names the flag and the value, e.g.
// "--lr must be a finite number > 0, got NaN". They run before any work.

// checkFinite refuses NaN and ±Inf, then applies ok (described by want).
func checkFloat(name string, v float64, want string, ok func(float64) bool) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || !ok(v) {
		return fmt.Errorf("--%s must be a finite number %s, got %v", name, want, v)
	}
	return nil
}

func positive(v float64) bool    { return v > 0 }
func nonNegative(v float64) bool { return v >= 0 }

// checkInt refuses an integer flag outside [lo, hi].
func checkInt(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("--%s must be an integer from %d to %d, got %d", name, lo, hi, v)
	}
	return nil
}

// checkDuration refuses a negative duration flag.
func checkDuration(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("--%s must be a duration ≥ 0 (e.g. 30s, 10m), got %v", name, d)
	}
	return nil
}

// checkAll returns the first error of errs.
func checkAll(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// exitError carries a specific exit code (and its message) to run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit codes for interruption by a signal, as shells report them.
const (
	exitSIGINT  = 130
	exitSIGTERM = 143
)

// interruptContext returns a context cancelled by SIGINT or SIGTERM, and a
// function reporting which signal arrived (nil if none).
func interruptContext() (context.Context, func() os.Signal, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var mu sync.Mutex
	var got os.Signal
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			mu.Lock()
			got = s
			mu.Unlock()
			cancel()
		case <-done:
		}
	}()
	which := func() os.Signal {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	stop := func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
	return ctx, which, stop
}

// interrupted wraps err for an interruption by sig with the conventional
// exit code.
func interrupted(sig os.Signal, err error) error {
	code := exitSIGINT
	if sig == syscall.SIGTERM {
		code = exitSIGTERM
	}
	return &exitError{code: code, err: err}
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// checkOut checks an output file flag before any work: the extension, that
// it is not one of the inputs (data files, the model's files), and that it
// does not exist unless --force.
func checkOut(path string, force bool, exts []string, inputs ...string) error {
	ok := false
	for _, e := range exts {
		ok = ok || strings.HasSuffix(strings.ToLower(path), e)
	}
	if !ok {
		return fmt.Errorf("--out %q: the output must be a %s file", path, strings.Join(exts, " or "))
	}
	return fsio.CheckOutput("--out", path, force, inputs...)
}

// isExit reports the exit code carried by err, if any.
func isExit(err error) (int, bool) {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, true
	}
	return 0, false
}

// flagWasSet reports whether the flag name was given on the command line.
func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
