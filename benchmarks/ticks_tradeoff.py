#!/usr/bin/env python3
"""Ticks per sample: accuracy against cost, the measurement behind the default ticks_train and
ticks_infer (docs/semantics.md, "Defaults").

    python benchmarks/ticks_tradeoff.py                  # full table (C engine, ~10 minutes)
    python benchmarks/ticks_tradeoff.py --seeds 1 --train 1000

For each setting, the default 784-100-10 eRBP network (all other fields at their defaults, the
per-tick learning rate unchanged) is trained on --train MNIST images in one pass (each seed starts
at a different offset of the training set) and tested on the first --test test images; the table
reports the mean test accuracy over the seeds, the cost per sample (µs on one core with the C
engine, synaptic events) of training and of inference.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from erbp.engines.c import CNetwork
from erbp.data.datasets import load_mnist
from erbp.provenance import command_line
from erbp.reference import INFER, TRAIN, NetConfig


def measure(data, overrides: dict, seeds: list[int], n_train: int, n_test: int) -> dict:
    accs, t_train, t_infer, ev_train, ev_infer = [], 0.0, 0.0, 0, 0
    for s in seeds:
        cfg = NetConfig.default("784-100-10", "erbp", **overrides)
        net = CNetwork.create(cfg, s)
        off = (s - 1) * 7000 % (60000 - n_train)
        x, y = data.train_x[off: off + n_train], data.train_y[off: off + n_train].astype(np.int64)
        t0 = time.process_time()
        r = net.run_samples(x, y, TRAIN)
        t_train += time.process_time() - t0
        ev_train += int(np.sum(r.events))
        t0 = time.process_time()
        r = net.run_samples(data.test_x[:n_test], None, INFER, start_index=0)
        t_infer += time.process_time() - t0
        ev_infer += int(np.sum(r.events))
        accs.append(float(np.mean(np.asarray(r.predictions) == data.test_y[:n_test])))
    n = len(seeds)
    return dict(acc=float(np.mean(accs)), acc_sd=float(np.std(accs)),
                us_train=1e6 * t_train / (n * n_train), us_infer=1e6 * t_infer / (n * n_test),
                ev_train=ev_train / (n * n_train), ev_infer=ev_infer / (n * n_test))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--train", type=int, default=5000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--data-dir", default=None)
    a = ap.parse_args()
    data = load_mnist(a.data_dir)
    seeds = list(range(1, a.seeds + 1))
    base = NetConfig.default("784-100-10")
    rows = [("ticks_train", t, dict(ticks_train=t, burn_in=min(base.burn_in, t)))
            for t in (50, 100, 150, 200, 300)]
    rows += [("ticks_infer", t, dict(ticks_infer=t)) for t in (50, 100, 200, 400)]
    print(f"# {command_line()}")
    print(f"# 784-100-10 eRBP defaults, {a.train} training images, first {a.test} test images, "
          f"seeds {seeds}")
    print("| varied | value | test accuracy (mean ± sd) | train µs/sample | train events/sample "
          "| infer µs/sample | infer events/sample |")
    print("|---|---|---|---|---|---|---|")
    for name, value, over in rows:
        m = measure(data, over, seeds, a.train, a.test)
        print(f"| {name} | {value} | {m['acc']:.3f} ± {m['acc_sd']:.3f} | {m['us_train']:.0f} | "
              f"{m['ev_train']:,.0f} | {m['us_infer']:.0f} | {m['ev_infer']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
