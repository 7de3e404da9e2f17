#!/usr/bin/env bash
# The issue-#2 peer benchmarks (5 transforms, hidden 2x256, batch 512), the
# reference step and the FMA peak, on all cores and on one. Run on an
# otherwise idle machine:
#   scripts/bench.sh > bench.txt          # autonf only
#   PEER=1 scripts/bench.sh > bench.txt   # and the peer (zuko on PyTorch) in the same run
# It records the CPU (with its microarchitecture), the load and the GEMM
# kernel autonf chose; with PEER=1 the peer runs under several settings and
# the best per row is taken (zuko's best setting): OpenBLAS's own choice of
# kernels and, where that is not the CPU's matching one, the matching one
# forced (Debian's OpenBLAS 0.3.21 does not recognise some newer CPUs and then
# silently runs slower kernels: "Prescott" on the Intel Xeon machines,
# "Haswell" (AVX2) on AMD Zen 4/5, which have AVX-512), each with torch 1 and
# 2 threads, OpenBLAS 2 threads.
# Peer set-up: ../shared/notes/peer.md (python3-torch, zuko's source in $ZUKO); install libopenblas0-pthread
# with python3-torch, or apt may pick the slow reference BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./scripts/machine
go test -c -o /tmp/autonf-flow.test ./flow
go test -c -o /tmp/autonf-tensor.test ./tensor
echo "# FMA peak"
/tmp/autonf-tensor.test -test.run '^$' -test.bench 'FMAPeak' -test.count 3
# Training steps: 100 steps per run (the peer times 100 after 20 warm-up
# steps; 10 were too few to leave start-up effects behind), median of 3.
echo "# all cores (GOMAXPROCS=$(nproc))"
/tmp/autonf-flow.test -test.run '^$' -test.bench 'ReferenceStep$|TrainStep5' -test.benchtime 100x -test.count 3
/tmp/autonf-flow.test -test.run '^$' -test.bench 'LogDensity5|Sample5' -test.benchtime 20x -test.count 3
echo "# one core"
GOMAXPROCS=1 /tmp/autonf-flow.test -test.run '^$' -test.bench 'ReferenceStep$|TrainStep5' -test.benchtime 100x -test.count 3
if [ "${PEER:-0}" = 1 ]; then
  PY=/usr/bin/python3
  export PYTHONPATH=${ZUKO:-/tmp/peer/zuko}
  core=$($PY -c "import torch, ctypes; l=ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype=ctypes.c_char_p; print(l.openblas_get_corename().decode())" 2>/dev/null || echo unknown)
  if grep -q avx512f /proc/cpuinfo; then match=SkylakeX; else match=Haswell; fi
  cores=(auto)
  [ "$core" != "$match" ] && cores+=("$match")
  echo "# peer: OpenBLAS chose $core on its own; settings tried: ${cores[*]} × torch threads 1, 2"
  tmp=$(mktemp -d)
  i=0
  for ct in "${cores[@]}"; do
    for tt in 1 2; do
      i=$((i+1))
      if [ "$ct" = auto ]; then
        OPENBLAS_NUM_THREADS=2 $PY scripts/peer.py --torch-threads $tt | tee "$tmp/$i.txt"
      else
        OPENBLAS_CORETYPE=$ct OPENBLAS_NUM_THREADS=2 $PY scripts/peer.py --torch-threads $tt | tee "$tmp/$i.txt"
      fi
    done
  done
  echo "# peer: best setting per row"
  $PY scripts/peer.py --best "$tmp"/*.txt
  rm -rf "$tmp"
fi
