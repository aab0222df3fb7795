#!/usr/bin/env python3
"""What limits a trained network: weight saturation, underfitting or the inference window.

    python benchmarks/diagnose.py benchmarks/out/table/784-100-10-erbp-s1
    python benchmarks/diagnose.py MODEL.erbp --ticks-infer 200,1000 --train-samples 10000

For a model file (or a run directory's model.erbp) it prints, per weight layer, the weight
statistics and the fractions at the two ends of the weight range; the test error on the 10,000
test images for each ``--ticks-infer`` (the same weights, only the inference window changed); and
the inference error on the first ``--train-samples`` training images (with the default window),
which says whether the network underfits (train error close to test error) or overfits.
``--json FILE`` writes the same as JSON. C engine; ``ERBP_DATA`` as for ``erbp train``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from erbp.data.datasets import load_dataset
from erbp.engines import make_engine
from erbp.provenance import command_line, now
from erbp.reference import INFER, Network, modelfile


def error(net: Network, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    eng = make_engine("c", net)
    wrong = 0
    for a in range(0, len(y), batch):
        r = eng.run_samples(x[a:a + batch], None, INFER, a)
        wrong += int((np.asarray(r.predictions) != y[a:a + batch]).sum())
    return wrong / len(y)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, help="model file or run directory")
    ap.add_argument("--ticks-infer", default="200,1000")
    ap.add_argument("--train-samples", type=int, default=10_000)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/diagnose.py", *argv])
    path = a.model / "model.erbp" if a.model.is_dir() else a.model
    net = modelfile.load_any(path)  # old runs too (version 1, converted exactly)
    c = net.cfg
    data = load_dataset("mnist", a.data_dir)
    wmax = (1 << (c.weight_bits - 1)) - 1
    out: dict[str, Any] = {"model": str(path), "samples_seen": net.samples_seen, "layers": [],
                           "test": {}, "command": cmd, "time": now()}
    print(f"$ {cmd}\n{path}: {'-'.join(map(str, c.sizes))}, {net.samples_seen} samples seen")
    for l, w in enumerate(net.W):
        d = {"layer": l, "mean": round(float(w.mean()), 2), "std": round(float(w.std()), 2),
             "at_max_pct": round(100 * float((w >= wmax).mean()), 2),
             "at_min_pct": round(100 * float((w <= -wmax - 1).mean()), 2)}
        out["layers"].append(d)
        print(f"  W{l}: mean {d['mean']}, std {d['std']}, at +max {d['at_max_pct']} %, "
              f"at -max {d['at_min_pct']} %")
    for t in (int(v) for v in a.ticks_infer.split(",")):
        n2 = Network(cfg=c.replace(ticks_infer=t), seed=net.seed, W=net.W, G=net.G,
                     samples_seen=net.samples_seen)
        e = error(n2, data.test_x, data.test_y)
        out["test"][t] = round(100 * e, 3)
        print(f"  test error, {t} inference ticks: {100 * e:.2f} %")
    n = min(a.train_samples, len(data.train_y))
    e = error(net, data.train_x[:n], data.train_y[:n])
    out["train_inference_error_pct"] = round(100 * e, 3)
    print(f"  inference error on the first {n} training images: {100 * e:.2f} %")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
