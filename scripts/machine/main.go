// Command machine prints what scripts/bench.sh records about the machine:
// the CPU (with its family, model and, where known, its core
// microarchitecture), the core count, the load average and the GEMM kernel
// autonf chose at start-up.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/autonf/autonf/tensor"
)

func main() {
	info := map[string]string{}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				if len(info) > 0 {
					break // the first processor's block only
				}
				continue
			}
			info[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		f.Close()
	}
	cpu := info["model name"]
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	fmt.Printf("# machine: %s (%s), %d CPUs (GOMAXPROCS %d), %s, autonf GEMM kernel %s, load average %s\n",
		cpu, uarch(info), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), tensor.KernelName(), load)
}

// uarch names the core from the vendor, family and model of /proc/cpuinfo,
// for the machine kinds the project has run on; otherwise it gives the
// numbers.
func uarch(info map[string]string) string {
	fam, _ := strconv.Atoi(info["cpu family"])
	mod, _ := strconv.Atoi(info["model"])
	name := ""
	switch info["vendor_id"] {
	case "AuthenticAMD":
		switch {
		case fam == 25 && mod >= 0x10:
			name = "Zen 4"
		case fam == 25:
			name = "Zen 3"
		case fam == 26:
			name = "Zen 5"
		}
	case "GenuineIntel":
		switch {
		case fam == 6 && mod == 143:
			name = "Sapphire Rapids"
		case fam == 6 && mod == 207:
			name = "Emerald Rapids"
		case fam == 6 && (mod == 106 || mod == 108):
			name = "Ice Lake"
		case fam == 6 && mod == 173:
			name = "Granite Rapids"
		}
	}
	id := fmt.Sprintf("family %d model %d", fam, mod)
	if name == "" {
		return id
	}
	return name + ", " + id
}
