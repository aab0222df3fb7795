#!/usr/bin/env python3
"""Score trained networks under inference-time configuration changes, on the validation split.

    python benchmarks/rescore.py benchmarks/out/tune/784-100-10-perbp-syn-s1/f2.erbp \\
        --infer "base" --infer "p256 p_transmit=256 threshold=x1.37" \\
        --infer "ti100 ticks_infer=100"

Each model file (as ``benchmarks/tune.py`` saves them) is scored on the last ``--val-samples``
of the 10,000 validation images (the last 10,000 MNIST training images, which tune.py never
trains on) with its own configuration changed as each ``--infer "NAME key=value ..."`` says
(``xF`` scales the trained value; "NAME" alone scores the model as trained). The weights are
never changed. Prints one markdown table (rows: models, columns: inference settings, cells:
error %) and the command line; ``--json FILE`` also writes the figures.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from erbp.data.datasets import load_dataset
from erbp.engines import make_engine
from erbp.fileio import write_json
from erbp.provenance import command_line, machine, now
from erbp.training.configure import apply_overrides
from erbp.reference import Network, modelfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune import parse_infer, scaled, score, split  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--infer", action="append", default=[], metavar='"NAME key=value ..."')
    ap.add_argument("--val-samples", type=int, default=10_000)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/rescore.py", *argv])
    infers = [parse_infer(t) for t in (a.infer or ["base"])]
    data = split(load_dataset("mnist", a.data_dir), True)
    table: dict[str, dict[str, Any]] = {}
    for m in a.models:
        net = modelfile.load_any(m)
        row: dict[str, Any] = {}
        for name, changes in infers:
            cfg = apply_overrides(net.cfg, scaled(net.cfg, changes))
            eng = make_engine("c", Network(cfg=cfg, seed=net.seed, W=net.W, G=net.G,
                                           samples_seen=net.samples_seen))
            row[name] = score(eng, data, a.val_samples, a.batch_size)
            print(f"  {m}: {name} {row[name]['error_pct']:.2f} %", flush=True)
        table[str(m)] = row
    names = [n for n, _ in infers]
    print(f"\n$ {cmd}\n\nvalidation error (%) on {a.val_samples} images\n")
    print("| model | " + " | ".join(f"`{n}`" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for m, row in table.items():
        print(f"| {m} | " + " | ".join(f"{row[n]['error_pct']:.2f}" for n in names) + " |")
    out = {"command": cmd, "infer": a.infer, "val_samples": a.val_samples, "scores": table,
           "time": now(), "machine": machine()}
    if a.json:
        write_json(a.json, out)
    return out


if __name__ == "__main__":
    main()
