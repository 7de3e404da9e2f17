#!/usr/bin/env bash
# make demo: the main job on built-in data, on a fresh machine, in a few minutes.
# 1. an architecture search (AutoNF) on a built-in toy data set, whose result is
#    retrained and evaluated on held-out data;
# 2. pictures of the found model's density.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=./bin/autonf
OUT=${OUT:-demo-out}
rm -rf "$OUT"
mkdir -p "$OUT"
if $BIN search --help >/dev/null 2>&1; then
  $BIN search --data toy:8gaussians --toy-rows 12000 --layers 4 --candidates planar,radial,affine-coupling,nsf-coupling \
    --hidden 32,32 --lambda 0.02 --retrain-epochs 100 --matched --seed 1 --out "$OUT/search"
  MODEL="$OUT/search/model"
else
  $BIN train --data toy:moons --toy-rows 20000 --arch realnvp5 --epochs 40 --out "$OUT/model"
  MODEL="$OUT/model"
fi
$BIN plot --model "$MODEL" --data toy:8gaussians --out "$OUT/density.png"
echo
echo "demo outputs in $OUT/:"
find "$OUT" -maxdepth 2 -type f -not -name '.*' | sort
