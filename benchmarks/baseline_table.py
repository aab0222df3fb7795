#!/usr/bin/env python3
"""The float rows of the paper's table: BP and random-feedback MLPs of the five shapes.

    python benchmarks/baseline_table.py                       # 5 networks x (bp, dfa), 60 epochs
    python benchmarks/baseline_table.py --topologies 784-100-10 --epochs 1 --epoch-size 2000 \\
        --test-samples 500                                    # a quick check

Each network is trained by :func:`erbp.research.baselines.run_baseline` (the paper's protocol: epochs of
50,000 class-balanced draws, evaluation on the 10,000 test images after each, the error averaged
over the last 5 evaluations) in its own resumable run directory
``OUT/baselines/<topology>-<rule>-<activation>-lr<lr>-b<batch>-e<epoch_size>-s<seed>/``; a rerun
continues unfinished runs and reuses finished ones. Results (committed records):
``RESULTS/baseline_table.json`` and ``RESULTS/baseline_table.md`` (default benchmarks/results/) (our figures next to the paper's RBP and BP columns, erbp-paper.md
section 11), both with the command line.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from erbp.research.baselines import RULES, BaselineConfig, run_baseline
from erbp.research.paper import PAPER_TABLE1
from erbp.data.datasets import load_dataset
from erbp.fileio import write_json, write_text_atomic
from erbp.provenance import command_line, machine, now
from erbp.reference import TOPOLOGIES

HERE = Path(__file__).resolve().parent
#: The paper's column for each of our rules.
PAPER_COLUMN = {"bp": "BP", "dfa": "RBP", "fa": "RBP"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = BaselineConfig()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topologies", default=",".join(TOPOLOGIES))
    ap.add_argument("--rules", default="bp,dfa", help=f"comma list of {', '.join(RULES)}")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--epoch-size", type=int, default=d.epoch_size)
    ap.add_argument("--activation", default=d.activation)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--test-samples", type=int, default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "out", help="run directories")
    ap.add_argument("--results", type=Path, default=HERE / "results",
                    help="where baseline_table.json/.md go (committed records)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/baseline_table.py", *argv])
    print(f"$ {cmd}")
    data = load_dataset("mnist", a.data_dir)
    rows = []
    for topo in a.topologies.split(","):
        for rule in a.rules.split(","):
            cfg = BaselineConfig(topology=topo, rule=rule, activation=a.activation, lr=a.lr,
                                 batch_size=a.batch_size, epochs=a.epochs,
                                 epoch_size=a.epoch_size, seed=a.seed,
                                 test_samples=a.test_samples)
            name = (f"{topo}-{rule}-{a.activation}-lr{a.lr:g}-b{a.batch_size}-e{a.epoch_size}"
                    f"-s{a.seed}" + (f"-t{a.test_samples}" if a.test_samples else ""))
            r = run_baseline(cfg, data, out=a.out / "baselines" / name, command=cmd,
                             log=lambda line: print("  " + line))
            s = r.summary
            rows.append({"topology": topo, "rule": rule, "run": name,
                         "epochs_done": s["epochs_done"],
                         "test_error_pct": round(100 * s["test_error_last"], 3),
                         "min_test_error_pct": round(100 * s["test_error_min"], 3),
                         "mean_epoch_s": s["mean_epoch_s"],
                         "paper_pct": PAPER_TABLE1.get(topo, {}).get(PAPER_COLUMN[rule]),
                         "config": dataclasses.asdict(cfg)})
    result = {"benchmark": "baseline_table", "command": cmd, "time": now(),
              "machine": machine(), "rows": rows}
    write_json(a.results / "baseline_table.json", result, parents=True)
    md = markdown(rows, cmd)
    write_text_atomic(a.results / "baseline_table.md", md, parents=True)
    print()
    print(md)
    return result


def markdown(rows: list[dict[str, Any]], cmd: str) -> str:
    """Our float baselines beside the paper's GPU columns."""
    c = rows[0]["config"] if rows else {}
    lines = ["MNIST test error (%) of float MLPs (erbp.research.baselines), mean of the last "
             f"{c.get('average_last', 5)} evaluations; {c.get('activation')} units, SGD lr "
             f"{c.get('lr')} on mini-batches of {c.get('batch_size')}, epochs of "
             f"{c.get('epoch_size')} class-balanced draws.", "",
             "| network | rule | epochs | ours | best epoch | paper | s/epoch |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        paper = "" if r["paper_pct"] is None else f"{r['paper_pct']:.2f} " \
            f"({PAPER_COLUMN[r['rule']]})"
        lines.append(f"| {r['topology']} | {r['rule']} | {r['epochs_done']} | "
                     f"{r['test_error_pct']:.2f} | {r['min_test_error_pct']:.2f} | {paper} | "
                     f"{r['mean_epoch_s']:.1f} |")
    lines += ["", "Paper figures: erbp-paper.md section 11 (recalled, approximate). "
              "dfa = direct random feedback to each hidden layer (the paper's RBP as eRBP does "
              "it); fa = feedback alignment.", f"Command: `{cmd}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
