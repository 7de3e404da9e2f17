#!/usr/bin/env bash
# The issue-#2 peer benchmarks (5 transforms, hidden 2x256, batch 512) and the
# reference step, on all cores and on one. Run on an otherwise idle machine:
#   scripts/bench.sh > bench.txt          # autonf only
#   PEER=1 scripts/bench.sh > bench.txt   # and the peer (zuko on PyTorch) in the same run
# It records the CPU and the GEMM kernel autonf chose; with PEER=1 also the peer's
# BLAS kernel. Debian's OpenBLAS 0.3.21 does not recognise some newer CPUs and then
# silently runs its slowest ("Prescott") kernels, which makes PyTorch look 2–3×
# slower than a user's would be: the script then forces the matching kernels
# (OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs, Haswell on AVX2) for the peer only.
# Peer set-up: ../shared/notes/peer.md (python3-torch, zuko's source in $ZUKO); install libopenblas0-pthread
# with python3-torch, or apt may pick the slow reference BLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./scripts/machine
go test -c -o /tmp/autonf-flow.test ./flow
echo "# all cores (GOMAXPROCS=$(nproc))"
/tmp/autonf-flow.test -test.run '^$' -test.bench 'ReferenceStep|TrainStep5|LogDensity5|Sample5' -test.benchtime 10x -test.count 3
echo "# one core"
GOMAXPROCS=1 /tmp/autonf-flow.test -test.run '^$' -test.bench 'ReferenceStep|TrainStep5' -test.benchtime 10x -test.count 3
if [ "${PEER:-0}" = 1 ]; then
  PY=/usr/bin/python3
  export PYTHONPATH=${ZUKO:-/tmp/peer/zuko}
  core=$($PY -c "import torch, ctypes; l=ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype=ctypes.c_char_p; print(l.openblas_get_corename().decode())" 2>/dev/null || echo unknown)
  if [ "$core" = Prescott ]; then
    if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; else export OPENBLAS_CORETYPE=Haswell; fi
    echo "# OpenBLAS reported Prescott (CPU not recognised): peer run with OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
  fi
  echo "# peer: torch 1 thread, OpenBLAS 2 threads"
  OPENBLAS_NUM_THREADS=2 $PY scripts/peer.py --torch-threads 1
fi
