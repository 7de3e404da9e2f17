package fsio_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/autonf/autonf/internal/fsio"
)

// Check the output before the work, lock the directory, then write the
// file atomically.
func Example() {
	dir, _ := os.MkdirTemp("", "fsio-example")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "samples.csv")

	if err := fsio.CheckOutput("--out", out, false); err != nil {
		fmt.Println(err)
		return
	}
	lock, err := fsio.LockDir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lock.Unlock()
	err = fsio.Write(out, func(w io.Writer) error {
		_, err := io.WriteString(w, "x\n1\n")
		return err
	})
	fmt.Println(err)
	err = fsio.CheckOutput("--out", out, false)
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}
