"""Time one optimizer step of gdbook.optim against torch.optim (foreach=False).

A ~1M-parameter MLP (784-1024-256-10, float32) gets fixed random gradients; each
optimizer then takes steps on it. For every algorithm the script reports the median time
of one step over repeated, alternating runs, for torch's single-tensor implementation
and for gdbook's rule-based one, and their ratio (the target is at most 1.5). Timings
depend on the machine and its load: compare ratios, not absolute times.

    .venv/bin/python tools/bench_optim.py [--repeats 7] [--steps 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import gdbook as gd

CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("Adagrad", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.001)),
    ("RMSprop", dict(lr=0.001, momentum=0.9, centered=True)),
    ("Adadelta", dict(lr=1.0)),
    ("Adam", dict(lr=0.001)),
    ("Adam", dict(lr=0.001, amsgrad=True, weight_decay=1e-4)),
    ("AdamW", dict(lr=0.001)),
    ("NAdam", dict(lr=0.002)),
    ("RAdam", dict(lr=0.001)),
    ("Adamax", dict(lr=0.002)),
    ("Adafactor", dict(lr=0.01)),
    ("Muon", dict(lr=0.02)),  # the MLP's weight matrices only (Muon takes 2-D parameters)
]


def mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)  # the benchmark's own process: global seeding is fine here
    return torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )


def time_pair(make_theirs, make_ours, steps: int, repeats: int) -> tuple[float, float]:
    """Median seconds per step of two optimizers, each on its own copy of the model.

    Runs of the two alternate (after a warm-up), so that drifting machine load and memory
    state affect both alike.
    """
    opts = []
    for make in (make_theirs, make_ours):
        model = mlp()
        g = torch.Generator().manual_seed(1)
        for p in model.parameters():
            p.grad = torch.randn(p.shape, generator=g) * 1e-3
        opts.append(make(model.parameters()))
    for opt in opts:
        for _ in range(3):
            opt.step()
    runs = ([], [])
    for _ in range(repeats):
        for opt, record in zip(opts, runs):
            start = time.perf_counter()
            for _ in range(steps):
                opt.step()
            record.append((time.perf_counter() - start) / steps)
    return statistics.median(runs[0]), statistics.median(runs[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 = steadier on a shared machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = sum(p.numel() for p in mlp().parameters())
    print(f"MLP with {n:,} parameters (float32), {args.steps} steps x {args.repeats} runs, "
          f"{args.threads} thread(s); median time per step\n")
    rows = []
    for name, hyper in CASES:
        if name == "Muon":  # one implementation in torch (no foreach argument), matrices only
            theirs, ours = time_pair(lambda ps: torch.optim.Muon([p for p in ps if p.ndim == 2], **hyper),
                                     lambda ps: gd.optim.Muon([p for p in ps if p.ndim == 2], **hyper),
                                     args.steps, args.repeats)
        else:
            theirs, ours = time_pair(lambda ps: getattr(torch.optim, name)(ps, foreach=False, **hyper),
                                     lambda ps: getattr(gd.optim, name)(ps, **hyper), args.steps, args.repeats)
        label = name + ("" if len(hyper) == 1 else " (" + ", ".join(f"{k}={v}" for k, v in hyper.items() if k != "lr") + ")")
        rows.append([label, theirs * 1e3, ours * 1e3, ours / theirs])
    print(gd.table(rows, ["algorithm", "torch ms/step", "gdbook ms/step", "ratio"], digits=3))
    worst = max(r[3] for r in rows)
    print(f"\nworst ratio {worst:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
