#!/usr/bin/env python3
"""The early exit's knee on the validation split: error, synaptic events and ticks per inference
sample against ``exit_margin`` for trained networks.

    python benchmarks/exit_margin.py NET.erbp [NET.erbp ...] [--units 0,5,10,15,20,30,40]

Each network (a model file; version 1 files are converted, training being the same in both
versions) is scored on the validation images — the last 10,000 MNIST training images, which
``benchmarks/tune.py`` never trains on — with the readout sum (readout 1), no blank-out at
inference (``p_infer`` 256) and ``exit_margin`` = U units of ``threshold << i2v_shift`` for
each U of ``--units`` (0: no exit, every tick run). Prints a markdown table and the command;
``--json FILE`` writes the figures.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from erbp.data.datasets import load_dataset
from erbp.engines import make_engine
from erbp.fileio import write_json
from erbp.provenance import command_line, machine, now
from erbp.reference import Network, modelfile
from erbp.training.configure import apply_overrides

N_FIT = 50_000  # tune.py's fitting images; the rest are the validation split


def load_v2(path: Path) -> Network:
    return modelfile.load_any(path)


def score(net: Network, units: int, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    unit = net.cfg.threshold << net.cfg.i2v_shift
    cfg = apply_overrides(net.cfg, {"readout": 1, "p_infer": (256,) * len(net.cfg.p_infer),
                                    "exit_margin": units * unit})
    eng = make_engine("c", Network(cfg=cfg, seed=net.seed, W=net.W, G=net.G,
                                   samples_seen=net.samples_seen))
    parts = [eng.run_samples(x[lo:lo + 1000], None, "infer", N_FIT + lo)
             for lo in range(0, len(y), 1000)]
    p = np.concatenate([r.predictions for r in parts])
    e = np.concatenate([r.events for r in parts])
    t = np.concatenate([r.ticks for r in parts])
    return {"units": units, "exit_margin": units * unit,
            "error_pct": round(100 * float((p != y).mean()), 3),
            "events_mean": float(e.mean()), "ticks_mean": float(t.mean())}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--units", default="0,5,10,15,20,30,40")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/exit_margin.py", *argv])
    units = [int(u) for u in a.units.split(",")]
    data = load_dataset("mnist", a.data_dir)
    x, y = data.train_x[N_FIT:], data.train_y[N_FIT:]
    rows: dict[str, list[dict[str, Any]]] = {}
    for m in a.models:
        net = load_v2(m)
        rows[str(m)] = [score(net, u, x, y) for u in units]
        for r in rows[str(m)]:
            print(f"  {m}: {r['units']} units {r['error_pct']:.2f} % "
                  f"{r['events_mean']:,.0f} events {r['ticks_mean']:.1f} ticks", flush=True)
    print(f"\n$ {cmd}\n\nvalidation error (%) / synaptic events / ticks per sample, by exit "
          "margin (units of threshold << i2v_shift; 0: no exit)\n")
    print("| network | " + " | ".join(f"{u}" for u in units) + " |")
    print("|---|" + "---:|" * len(units))
    for m, rs in rows.items():
        print(f"| {m} | " + " | ".join(f"{r['error_pct']:.2f} / {r['events_mean'] / 1e3:.1f} k / "
                                       f"{r['ticks_mean']:.1f}" for r in rs) + " |")
    out = {"command": cmd, "rows": rows, "time": now(), "machine": machine()}
    if a.json:
        write_json(a.json, out)
    return out


if __name__ == "__main__":
    main()
