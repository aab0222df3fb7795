#!/usr/bin/env python3
"""How early can inference decide? Readout rules measured on a trained model, tick by tick.

    python benchmarks/readout_study.py MODEL [--split val|test] [--samples 10000] [--ticks 200]

Runs every scoring image through the C engine one tick at a time (the engine's per-tick API), and
records after each tick the output neurons' spike counts, their synaptic current ``I`` and the
synaptic events so far. It then scores readout rules on those traces, as if the sample had stopped
at the tick each rule chooses:

* ``count@T``: the output neuron with the most spikes after T ticks (lowest index on ties), the
  readout of semantics version 1;
* ``current@T``: the output neuron whose current, summed over the ticks so far, is largest;
* ``exit M``: ``current`` with an early exit: the sample stops at the first tick where the largest
  summed current leads the second largest by at least ``M``, or at the last tick. ``M`` is given in
  units of ``threshold << i2v_shift`` (the current that, held for one tick, moves V by one
  threshold), so one number means the same across filter settings.

For each rule: error (%), mean ticks, 95th-percentile ticks and mean synaptic events per sample.
``--split val`` (default) scores the last 10,000 training images, which a model trained by
``benchmarks/tune.py`` has not seen; ``--split test`` the test set. The traces are cached next to
the model (``MODEL.trace-<split>-<n>-<ticks>.npz``).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from erbp.data import load_dataset
from erbp.engines.c import CNetwork
from erbp.provenance import command_line, now
from erbp.reference import INFER

N_FIT = 50_000  # the validation split: fit on the first 50,000 training images, score the rest


def trace(model: Path, split: str, n: int, ticks: int, data_dir: str | None) -> dict:
    cache = model.with_name(f"{model.name}.trace-{split}-{n}-{ticks}.npz")
    if cache.exists():
        return dict(np.load(cache))
    net = CNetwork.load(model)
    if net.cfg.ticks_infer != ticks:
        net = CNetwork.from_network(dataclasses.replace(net.to_network(),
                                                        cfg=net.cfg.replace(ticks_infer=ticks)))
    d = load_dataset("mnist", data_dir)
    X, Y = (d.train_x[N_FIT:], d.train_y[N_FIT:]) if split == "val" else (d.test_x, d.test_y)
    n = min(n, len(Y))
    H, K = net.cfg.n_hidden, net.cfg.n_out
    C = np.zeros((n, ticks, K), np.uint16)
    I = np.zeros((n, ticks, K), np.int32)
    E = np.zeros((n, ticks), np.int64)
    for s in range(n):
        net.begin_sample(X[s], -1, INFER, s)
        for t in range(ticks):
            net.tick()
            C[s, t] = net.output_counts()
            I[s, t] = net._read("I", H)
            E[s, t] = net.events
    out = {"C": C, "I": I, "E": E, "y": np.asarray(Y[:n]),
           "unit": np.int64(net.cfg.threshold << net.cfg.i2v_shift)}
    np.savez_compressed(cache, **out)
    return out


def score(tr: dict, margins: list[float]) -> list[tuple[str, float, float, float, float]]:
    C, I, E, y = tr["C"].astype(np.int64), tr["I"].astype(np.int64), tr["E"], tr["y"]
    n, T, _ = C.shape
    rows = []
    for t in sorted({10, 20, 30, 50, 100, T} & set(range(1, T + 1))):
        cum = I[:, :t].sum(1)
        for name, p in (("count", np.argmax(C[:, t - 1], 1)), ("current", np.argmax(cum, 1))):
            rows.append((f"{name}@{t}", 100 * float((p != y).mean()), t, t,
                         float(E[:, t - 1].mean())))
    cum = np.cumsum(I, 1)
    top2 = np.sort(cum, 2)[:, :, -2:]
    gap = top2[:, :, 1] - top2[:, :, 0]
    lead = np.argmax(cum, 2)
    for m in margins:
        stop = gap >= int(m * int(tr["unit"]))
        stop[:, -1] = True
        te = np.argmax(stop, 1)
        p = lead[np.arange(n), te]
        rows.append((f"exit {m:g}", 100 * float((p != y).mean()), float(te.mean() + 1),
                     float(np.percentile(te + 1, 95)), float(E[np.arange(n), te].mean())))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--margins", default="5,10,15,20,30,40,60")
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args(argv)
    tr = trace(a.model, a.split, a.samples, a.ticks, a.data_dir)
    rows = score(tr, [float(m) for m in a.margins.split(",")])
    print(f"`{a.model}`, {a.split} split, {len(tr['y'])} images, up to {a.ticks} ticks "
          f"(margin unit threshold << i2v_shift = {int(tr['unit'])}); {now()}")
    print()
    print("| readout | error (%) | mean ticks | p95 ticks | synaptic events / sample |")
    print("|---|---:|---:|---:|---:|")
    for name, err, mt, p95, ev in rows:
        print(f"| {name} | {err:.2f} | {mt:.1f} | {p95:.0f} | {ev:,.0f} |")
    print()
    print(f"Command: `{command_line()}`")


if __name__ == "__main__":
    main()
