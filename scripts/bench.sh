#!/usr/bin/env bash
# The issue-#2 peer benchmarks (5 transforms, hidden 2x256, batch 512) and the
# reference step, on all cores and on one. Run on an otherwise idle machine:
#   scripts/bench.sh > bench.txt
set -euo pipefail
cd "$(dirname "$0")/.."
go test -c -o /tmp/autonf-flow.test ./flow
echo "# all cores (GOMAXPROCS=$(nproc))"
/tmp/autonf-flow.test -test.run '^$' -test.bench 'ReferenceStep|TrainStep5|LogDensity5|Sample5' -test.benchtime 10x -test.count 3
echo "# one core"
GOMAXPROCS=1 /tmp/autonf-flow.test -test.run '^$' -test.bench 'ReferenceStep|TrainStep5' -test.benchtime 10x -test.count 3
