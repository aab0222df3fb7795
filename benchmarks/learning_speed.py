#!/usr/bin/env python3
"""Learning speed: test error against training samples seen, in one pass, for eRBP and the float
baselines on the same samples in the same order.

    python benchmarks/learning_speed.py                       # 784-100-10, engine c if built
    python benchmarks/learning_speed.py --engine python --milestones 100,500 --test-samples 200

At each milestone (default 100, 500, 2,000, 5,000, 10,000, 60,000 training samples) the spiking
network is evaluated on the first ``--test-samples`` test images. Samples come in the order of
``erbp train --protocol`` (default ``sequential``: one pass over the 60,000 training images in
file order; ``balanced``: the paper's class-balanced draws). With ``--ann`` (default) float
MLPs of the same shape (erbp.research.baselines: BP and DFA, the default activation and learning rate,
mini-batches of 10) are trained on exactly the same samples and evaluated at the same
milestones, and the NSAT figures measured in /work/shared/research/nsat.md are listed beside.

Resumable: everything lives in ``OUT/learning_speed/<tag>/`` (``settings.json``, one
``point_<n>.json`` and ``model_<n>.erbp`` per milestone); a rerun skips finished milestones and
continues from the last checkpoint. Results (committed records): ``RESULTS/learning_speed_<tag>.json``
(table, settings, command line, machine) and ``RESULTS/learning_speed_<tag>.md`` (a markdown
table); RESULTS defaults to benchmarks/results/.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


from erbp.research.baselines import BaselineConfig, blas_threads, evaluate as ann_evaluate, \
    train_positions
from erbp.training.configure import make_config, parse_overrides
from erbp.data.datasets import load_dataset
from erbp.engines import resolve_engine
from erbp.fileio import read_json, write_json, write_text_atomic
from erbp.provenance import command_line, machine, now
from erbp.reference import Network, modelfile
from erbp.training import SampleOrder, evaluate, train

MILESTONES = (100, 500, 2_000, 5_000, 10_000, 60_000)
#: NSAT (the authors' fixed-point simulator), 784-100-10, measured in nsat.md sections 6 and 9:
#: training samples -> test error in % (first 1,000 test digits, one epoch).
NSAT_ERROR = {500: 40.2, 2_000: 22.9, 5_000: 17.2}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topology", default="784-100-10")
    ap.add_argument("--variant", default="erbp", choices=("erbp", "perbp"))
    ap.add_argument("--engine", default="auto", help="python, c or auto (c if built)")
    ap.add_argument("--milestones", default=",".join(map(str, MILESTONES)),
                    help="comma list of training-sample counts")
    ap.add_argument("--test-samples", type=int, default=10_000)
    ap.add_argument("--protocol", default="sequential", choices=("sequential", "balanced"))
    ap.add_argument("--seed", type=int, default=1, help="network seed and data-order seed")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="configuration override (as erbp train --set)")
    ap.add_argument("--ann", action=argparse.BooleanOptionalAction, default=True,
                    help="also train the float BP and DFA baselines on the same samples")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out",
                    help="working state (checkpoints)")
    ap.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results",
                    help="where learning_speed_<tag>.json/.md go (committed records)")
    ap.add_argument("--tag", default=None, help="result name [default: from the settings]")
    ap.add_argument("--batch-size", type=int, default=500, help="C engine batch size")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/learning_speed.py", *argv])
    print(f"$ {cmd}")
    engine = resolve_engine(a.engine)
    milestones = sorted({int(m) for m in a.milestones.split(",") if m.strip()})
    data = load_dataset("mnist", a.data_dir)
    overrides = parse_overrides(a.sets)
    cfg = make_config(a.topology, a.variant, overrides, n_in=data.n_in, n_classes=data.n_classes)
    n_test = min(a.test_samples, len(data.test_y))
    tag = a.tag or (f"{a.topology}-{a.variant}-{engine}-{a.protocol}-s{a.seed}-t{n_test}"
                    + ("-" + "-".join(s.replace("=", "").replace(",", "_") for s in a.sets)
                       if a.sets else ""))
    work = a.out / "learning_speed" / tag
    settings = {"topology": a.topology, "variant": a.variant, "engine": engine,
                "protocol": a.protocol, "seed": a.seed, "test_samples": n_test,
                "overrides": {k: cfg.as_dict()[k] for k in overrides}, "ann": a.ann,
                "net_config": cfg.as_dict()}
    _check_settings(work, settings)
    epoch_size = 50_000 if a.protocol == "balanced" else len(data.train_y)
    order = SampleOrder(data.train_y, a.protocol, epoch_size, a.seed)

    # --- the spiking network -------------------------------------------------------------------
    points: dict[int, dict[str, Any]] = {}
    net = Network.create(cfg, a.seed)
    for m in milestones:
        p = work / f"point_{m}.json"
        if p.exists():
            points[m] = read_json(p)
            net = modelfile.load(work / f"model_{m}.erbp")
            print(f"  {m:>6} samples: cached, test error {points[m]['test_error_pct']:.2f} %")
            continue
        t0 = time.monotonic()
        res = train(net, data, m - net.samples_seen, engine=engine, protocol=a.protocol,
                    epoch_size=epoch_size, order_seed=a.seed, test_samples=0,
                    batch_size=a.batch_size)
        t_train = time.monotonic() - t0
        t0 = time.monotonic()
        ev = evaluate(res.engine, data, n_test, batch_size=a.batch_size)
        t_eval = time.monotonic() - t0
        net = res.network
        modelfile.save(net, work / f"model_{m}.erbp")
        points[m] = {"samples": m, "test_error_pct": round(100 * ev.error, 3),
                     "test_samples": ev.n, "train_s": round(t_train, 3),
                     "eval_s": round(t_eval, 3), "train_events": res.state.events,
                     "time": now()}
        write_json(p, points[m], parents=True)
        print(f"  {m:>6} samples: test error {100 * ev.error:.2f} % on {ev.n} "
              f"(train {t_train:.1f} s, test {t_eval:.1f} s)")

    # --- the float baselines on the same samples -----------------------------------------------
    ann: dict[str, dict[int, float]] = {}
    if a.ann:
        for rule in ("bp", "dfa"):
            ann[rule] = _ann_curve(work, rule, a.topology, a.seed, data, order, milestones,
                                   n_test)

    rows = []
    for m in milestones:
        row = {"samples": m, "erbp_error_pct": points[m]["test_error_pct"],
               "train_s": points[m]["train_s"]}
        for rule, curve in ann.items():
            row[f"{rule}_error_pct"] = curve[m]
        if m in NSAT_ERROR:
            row["nsat_error_pct"] = NSAT_ERROR[m]
        rows.append(row)
    result = {"benchmark": "learning_speed", "command": cmd, "time": now(),
              "machine": machine(), "settings": settings, "rows": rows}
    write_json(a.results / f"learning_speed_{tag}.json", result, parents=True)
    md = markdown(result)
    write_text_atomic(a.results / f"learning_speed_{tag}.md", md, parents=True)
    print()
    print(md)
    return result


def _check_settings(work: Path, settings: dict[str, Any]) -> None:
    """Create the work directory with settings.json, or check that it holds the same settings."""
    f = work / "settings.json"
    if f.exists():
        old = read_json(f)
        if old != settings:
            diff = sorted(k for k in settings if old.get(k) != settings[k])
            sys.exit(f"{work} holds results of other settings ({', '.join(diff)}): pass --tag "
                     f"or delete it")
    else:
        write_json(f, settings, parents=True)


def _ann_curve(work: Path, rule: str, topology: str, seed: int, data: Any, order: SampleOrder,
               milestones: list[int], n_test: int) -> dict[int, float]:
    """Test error (%) of a float baseline at each milestone (cached in ann_<rule>.json)."""
    f = work / f"ann_{rule}.json"
    cached = {int(k): v for k, v in read_json(f).items()} if f.exists() else {}
    if all(m in cached for m in milestones):
        return cached
    cfg = BaselineConfig(topology=topology, rule=rule, seed=seed)
    model = cfg.make_model()
    out: dict[int, float] = {}
    pos = 0
    t0 = time.monotonic()
    with blas_threads(1):
        for m in milestones:
            train_positions(model, data, order, pos, m, cfg.batch_size, cfg.lr)
            pos = m
            out[m] = round(100 * ann_evaluate(model, data, n_test), 3)
    write_json(f, out, parents=True)
    print(f"  float {rule}: " + ", ".join(f"{m}: {e:.2f} %" for m, e in out.items())
          + f" ({time.monotonic() - t0:.1f} s)")
    return out


def markdown(result: dict[str, Any]) -> str:
    """The result as a markdown table with the command that made it."""
    s = result["settings"]
    rows = result["rows"]
    cols = [("samples", "training samples"), ("erbp_error_pct", f"{s['variant']} ({s['engine']})")]
    if any("bp_error_pct" in r for r in rows):
        cols += [("bp_error_pct", "float BP"), ("dfa_error_pct", "float DFA")]
    cols += [("nsat_error_pct", "NSAT (nsat.md)")]
    lines = [f"Test error (%) on the first {s['test_samples']} MNIST test images after one pass "
             f"of N training samples ({s['topology']}, protocol {s['protocol']}, seed "
             f"{s['seed']}).", "",
             "| " + " | ".join(c[1] for c in cols) + " |",
             "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for key, _ in cols:
            v = r.get(key)
            cells.append("" if v is None else f"{v:,}" if key == "samples" else f"{v:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Command: `{result['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
