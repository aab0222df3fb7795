#!/usr/bin/env python3
"""How much averaging the weights over the end of a run gains, on the validation split.

    python benchmarks/weight_averaging.py --topology 784-200-10 --variant erbp --seed 1

Trains one network with the defaults and erbp train's recipe (``--epochs`` of 50,000
class-balanced draws from the first 50,000 MNIST training images, the learning rate halving
every ``max(2, epochs / 5)`` epochs), C engine, keeping a snapshot of the weights every
``--every`` samples over the last 6 epochs. Then it scores, on the 10,000 validation images (the
last 10,000 training images, never trained on): the final network; the integer mean of the
snapshots (rounded half up, as erbp.training.averaging does) over the last 0.5, 1, 2, 4 and 6
epochs; every fourth snapshot of the last epoch on its own (how much the error moves between
neighbouring networks); and the fraction of weights that changed between those snapshots.
Prints and writes (``--json``, default
``benchmarks/results/tuning/averaging/<topology>-<variant>-s<seed>.json``) the figures with the
command line. The product's averaging (``erbp train``'s ``model-avg.erbp``) uses the last
halving period (2 epochs for 10).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from erbp.data.datasets import load_dataset
from erbp.engines import make_engine, to_network
from erbp.fileio import write_json
from erbp.provenance import command_line, machine, now
from erbp.reference import Network
from erbp.training import train
from erbp.training.averaging import WeightAverage
from erbp.training.configure import make_config
from erbp.training.recipe import default_lr_schedule

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tune import score, split  # noqa: E402

EPOCH = 50_000
WINDOWS = (0.5, 1, 2, 4, 6)  # epochs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--variant", default="erbp", choices=("erbp", "perbp"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--every", type=int, default=2500, help="samples between snapshots")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/weight_averaging.py", *argv])
    print(f"$ {cmd}", flush=True)
    data = split(load_dataset("mnist", a.data_dir), True)
    cfg = make_config(a.topology, a.variant, {}, n_in=data.n_in, n_classes=data.n_classes)
    sched = default_lr_schedule(a.epochs)
    eng = make_engine("c", Network.create(cfg, a.seed))
    total = a.epochs * EPOCH
    snaps: list[tuple[int, list[np.ndarray]]] = []
    while eng.samples_seen < total:
        eng = train(eng, data, a.every, engine=None, protocol="balanced", epoch_size=EPOCH,
              order_seed=a.seed, test_samples=0, batch_size=1000, lr_schedule=sched,
              lr_base=cfg.lr_shift).engine  # a new engine after a halving
        if eng.samples_seen > total - max(WINDOWS) * EPOCH:
            snaps.append((eng.samples_seen, [w.copy() for w in to_network(eng).W]))
    net = to_network(eng)

    def err(W: list[np.ndarray]) -> float:
        e = make_engine("c", Network(cfg=net.cfg, seed=net.seed, W=W, G=net.G,
                                     samples_seen=net.samples_seen))
        return score(e, data, 10_000, 1000)["error_pct"]

    def mean_weights(sel: list[list[np.ndarray]]) -> list[np.ndarray]:
        """The product's average of these snapshots (erbp.training.averaging)."""
        avg = WeightAverage.empty(net)
        for W in sel:
            avg.add(W, 0)
        return avg.network(net).W

    out: dict[str, Any] = {"topology": a.topology, "variant": a.variant, "seed": a.seed,
                           "epochs": a.epochs, "halve_every": sched.every, "every": a.every,
                           "final_error_pct": err(net.W), "averaged_error_pct": {}}
    for k in WINDOWS:
        sel = [W for s, W in snaps if s > total - k * EPOCH]
        out["averaged_error_pct"][f"last {k:g} epochs ({len(sel)} snapshots)"] = \
            err(mean_weights(sel))
    last = [W for s, W in snaps if s > total - EPOCH][3::4]
    out["last_epoch_snapshot_errors_pct"] = [err(W) for W in last]
    out["changed_pct_between_them"] = [
        round(100 * float(np.mean([np.mean(x != y) for x, y in zip(A, B)])), 2)
        for A, B in zip(last, last[1:])]
    out.update(command=cmd, time=now(), machine=machine())
    print(json.dumps({k: v for k, v in out.items() if k != "machine"}, indent=1))
    path = a.json or (HERE / "results" / "tuning" / "averaging" /
                      f"{a.topology}-{a.variant}-s{a.seed}.json")
    write_json(path, out, parents=True)
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
