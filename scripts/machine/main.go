// Command machine prints what scripts/bench.sh records about the machine:
// the CPU, the core count and the GEMM kernel autonf chose at start-up.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/autonf/autonf/tensor"
)

func main() {
	cpu := runtime.GOARCH
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	fmt.Printf("# machine: %s, %d CPUs (GOMAXPROCS %d), %s, autonf GEMM kernel %s\n", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), tensor.KernelName())
}
