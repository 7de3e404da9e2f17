#!/usr/bin/env python3
"""The peer of scripts/bench.sh: zuko on PyTorch, on the issue-#2 workload.

Batch 512, hidden 2x256, ReLU, Adam (lr 1e-3); a training step is forward +
backward + optimiser step. 5 transforms (MAF, NSF with 8 bins, RealNVP) at
D = 8 and 43; the reference step is a one-transform MAF at D = 8. Each timing
is >= 100 steps after 20 warm-up steps: median, p10 and p90 in ms. Also
log-density and sampling throughput (rows/s) of MAF and NSF at D = 43.

Usage (see ../shared/notes/peer.md for the set-up and the OpenBLAS pitfall):
  PYTHONPATH=/tmp/peer/zuko OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/peer.py --torch-threads 1 > a.txt
  ... (other settings: OPENBLAS_CORETYPE, --torch-threads 2) > b.txt
  /usr/bin/python3 scripts/peer.py --best a.txt b.txt   # the best setting per row
"""
import argparse
import ctypes
import os
import platform
import statistics
import time

import torch
import zuko


def blas_core():
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except OSError:
        return "unknown (not OpenBLAS)"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def quantiles(ts):
    ts = sorted(ts)
    q = lambda p: ts[min(len(ts) - 1, int(p * len(ts)))]
    return statistics.median(ts) * 1e3, q(0.1) * 1e3, q(0.9) * 1e3


def train_step_ms(flow, dim, steps, warmup, batch=512):
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    x = torch.randn(batch, dim)
    ts = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = -flow().log_prob(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= warmup:
            ts.append(time.perf_counter() - t0)
    return quantiles(ts)


def rows_per_s(fn, rows, repeats=5):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return rows / best


def best(paths):
    """Merges peer outputs of several settings: per row, the lowest median
    step time or the highest throughput, with the setting that gave it."""
    rows, order = {}, []
    for path in paths:
        setting, kind = "?", None
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("# peer:"):
                    setting = line[len("# peer:"):].strip()
                    continue
                if line.startswith("| training step"):
                    kind = "ms"
                    continue
                if line.startswith("| throughput"):
                    kind = "rows/s"
                    continue
                cells = [c.strip() for c in line.strip("|").split("|")]
                if kind is None or len(cells) < 2 or cells[0].startswith("-"):
                    continue
                name, val = cells[0], float(cells[1])
                if name not in rows:
                    order.append(name)
                old = rows.get(name)
                better = old is None or (val < old[1] if kind == "ms" else val > old[1])
                if better:
                    rows[name] = (kind, val, cells[2:], setting)
    print("| peer row (best setting) | value | p10–p90 | setting |\n|---|---|---|---|")
    for name in order:
        kind, val, extra, setting = rows[name]
        spread = "–".join(extra) if extra else ""
        print(f"| {name} | {val:g} {kind} | {spread} | {setting} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--best", nargs="+", metavar="FILE", help="merge earlier outputs: the best setting per row")
    a = ap.parse_args()
    if a.best:
        best(a.best)
        return
    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(1)
    print(f"# peer: zuko {zuko.__version__}, torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
          f"OpenBLAS core {blas_core()} ({os.environ.get('OPENBLAS_NUM_THREADS', 'default')} threads), CPU {cpu_model()}")
    hidden = (256, 256)
    rows = [("reference step (MADE 8-256-256-16)", lambda: zuko.flows.MAF(8, transforms=1, hidden_features=hidden), 8)]
    for d in (8, 43):
        rows.append((f"MAF x5, D={d}", lambda d=d: zuko.flows.MAF(d, transforms=5, hidden_features=hidden), d))
        rows.append((f"NSF-AR x5, D={d}", lambda d=d: zuko.flows.NSF(d, transforms=5, bins=8, hidden_features=hidden), d))
        rows.append((f"RealNVP x5, D={d}", lambda d=d: zuko.flows.RealNVP(d, transforms=5, hidden_features=hidden), d))
    print("| training step, batch 512 | median ms | p10 | p90 |\n|---|---|---|---|")
    for name, make, d in rows:
        med, p10, p90 = train_step_ms(make(), d, a.steps, a.warmup)
        print(f"| {name} | {med:.2f} | {p10:.2f} | {p90:.2f} |", flush=True)
    print("| throughput, D=43 | rows/s |\n|---|---|")
    for name, make in [("MAF", lambda: zuko.flows.MAF(43, transforms=5, hidden_features=hidden)),
                       ("NSF-AR", lambda: zuko.flows.NSF(43, transforms=5, bins=8, hidden_features=hidden))]:
        flow = make()
        x = torch.randn(4096, 43)
        with torch.no_grad():
            lp = rows_per_s(lambda: flow().log_prob(x), 4096)
            sm = rows_per_s(lambda: flow().sample((1024,)), 1024, repeats=2)
        print(f"| log-density {name} | {lp:.0f} |\n| sampling {name} | {sm:.0f} |", flush=True)


if __name__ == "__main__":
    main()
