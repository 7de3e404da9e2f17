#!/usr/bin/env bash
# A/B of benchmarks across commits, in one run: builds the test binary of
# PKG at each REV (in a temporary git worktree), then runs the binaries in
# turn ROUNDS times, so that a change of machine load hits every commit
# alike, and prints per benchmark and commit the minimum and the median
# time per op (ms) over the rounds.
#   scripts/ab.sh [-n ROUNDS] [-p GOMAXPROCS] [-t BENCHTIME] [-k PKG] -b REGEXP REV...
# Example: scripts/ab.sh -n 5 -p 1 -b 'ReferenceStep$|TrainStep5/maf' 3360e48 HEAD
# Test binaries are kept in $AB_CACHE (default /tmp/autonf-ab) by commit and
# package, so that -n 0 builds them ahead of a quiet moment.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 procs=$(nproc) bt=50x pkg=./flow re=
while getopts "n:p:t:k:b:" o; do
  case $o in
    n) rounds=$OPTARG ;; p) procs=$OPTARG ;; t) bt=$OPTARG ;; k) pkg=$OPTARG ;; b) re=$OPTARG ;;
    *) echo "usage: $0 [-n ROUNDS] [-p GOMAXPROCS] [-t BENCHTIME] [-k PKG] -b REGEXP REV..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ -z "$re" ] || [ $# -eq 0 ]; then
  echo "usage: $0 [-n ROUNDS] [-p GOMAXPROCS] [-t BENCHTIME] [-k PKG] -b REGEXP REV..." >&2
  exit 2
fi
tmp=$(mktemp -d)
cache=${AB_CACHE:-/tmp/autonf-ab}
mkdir -p "$cache"
trap 'for d in "$tmp"/wt-*; do [ -d "$d" ] && git worktree remove --force "$d"; done; rm -rf "$tmp"' EXIT
revs=()
for rev in "$@"; do
  short=$(git rev-parse --short "$rev")
  bin="$cache/$short-$(echo "$pkg" | tr -c 'a-zA-Z0-9\n' _).test"
  if [ ! -x "$bin" ]; then
    git worktree add -q --detach "$tmp/wt-$short" "$rev"
    (cd "$tmp/wt-$short" && go test -c -o "$bin" "$pkg")
  fi
  ln -sf "$bin" "$tmp/$short.test"
  revs+=("$short")
done
go run ./scripts/machine
echo "# $rounds rounds, GOMAXPROCS=$procs, -test.benchtime $bt, bench '$re'"
for ((i = 0; i < rounds; i++)); do
  for r in "${revs[@]}"; do
    GOMAXPROCS=$procs "$tmp/$r.test" -test.run '^$' -test.bench "$re" -test.benchtime "$bt" |
      awk -v r="$r" '/^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); print name, r, $3 / 1e6 }'
  done
done > "$tmp/all.txt"
echo "| benchmark | commit | min ms/op | median ms/op |"
echo "|---|---|---|---|"
sort -k1,1 -k2,2 -k3,3g "$tmp/all.txt" | awk '
  function flush() { if (n) printf "| %s | %s | %.3f | %.3f |\n", key1, key2, v[1], (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
  { if ($1 != key1 || $2 != key2) { flush(); key1 = $1; key2 = $2; n = 0 } v[++n] = $3 }
  END { flush() }'
