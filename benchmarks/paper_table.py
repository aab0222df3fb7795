#!/usr/bin/env python3
"""The paper's Table 1 in our fixed-point semantics: the table that collects its runs.

    erbp sweep benchmarks/sweeps/paper_table.toml --out benchmarks/out/sweeps/paper_table
    erbp sweep benchmarks/sweeps/paper_table_tuned.toml \
        --out benchmarks/out/sweeps/paper_table_tuned                # the tuned eRBP rows
    python benchmarks/paper_table.py rescore     # each run's final network as version 2 infers
    python benchmarks/paper_table.py table --doc docs/results.md     # collect every run

The runs are trials of ``erbp sweep`` (docs/sweeps.md): one ordinary ``erbp train`` run
directory per network, variant and seed, in the paper's protocol (epochs of 50,000
class-balanced draws with replacement from the 60,000 training images, the C engine, all 10,000
test images evaluated after every epoch) with the run's learning-rate schedule (erbp.training.recipe:
``lr_shift + 1`` every ``max(2, epochs / 5)`` epochs unless the spec says otherwise; a function of samples_seen, so a
resumed run is bit-identical to an uninterrupted one). ``erbp sweep SPEC --out DIR --resume``
continues an interrupted table; a larger ``epochs`` in a new spec and ``erbp train --resume
RUNDIR --epochs N`` extend single rows.

``table`` reads every run directory under ``--root`` (sweep directories: ``ROOT/*/trials/*``;
run directories made by the earlier driver of this script: ``ROOT/*``) and writes
``OUT/paper_table.md`` and ``.json``: test error as the mean of the last ``--average``
evaluations (the paper's figure), the best evaluation, epochs done, training time, synaptic
events per training sample, the paper's numbers (erbp-paper.md section 11) and our float BP/DFA
baselines (``benchmarks/baseline_table.py``); ``--doc FILE`` also replaces the block between
``<!-- paper_table:begin -->`` and ``<!-- paper_table:end -->`` in FILE.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from erbp.fileio import read_json, write_json, write_text_atomic
from erbp.provenance import command_line, now
from erbp.research.paper import PAPER_TABLE1
from erbp.training.recipe import default_lr_schedule
from erbp.training.precision import DEFAULT_GRID_BITS
from erbp.training.rundir import RunDir

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Committed records (small JSON/markdown); ``out/`` holds the bulky, gitignored working state.
RESULTS = HERE / "results"
#: Where the runs are: sweep directories (benchmarks/sweeps/*.toml) and the earlier driver's.
ROOTS = (HERE / "out" / "sweeps", HERE / "out" / "table")
BEGIN, END = "<!-- paper_table:begin -->", "<!-- paper_table:end -->"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table", help="collect the runs into a table")
    t.add_argument("--root", type=Path, action="append", default=None,
                   help="a directory of sweep directories or run directories (repeatable) "
                        "[default: benchmarks/out/sweeps and benchmarks/out/table]")
    t.add_argument("--average", type=int, default=5, help="evaluations averaged")
    t.add_argument("--baselines", type=Path, default=RESULTS / "baseline_table.json")
    t.add_argument("--out", type=Path, default=RESULTS,
                   help="where paper_table.json/.md go; rows of an earlier paper_table.json "
                        "there whose run directory is gone are kept")
    t.add_argument("--doc", type=Path, default=None)
    r = sub.add_parser("rescore", help="score each run's final network as version 2 infers")
    r.add_argument("--root", type=Path, action="append", default=None,
                   help="as for table [default: benchmarks/out/sweeps and benchmarks/out/table]")
    r.add_argument("--data-dir", type=Path, default=None)
    r.add_argument("--batch-size", type=int, default=500)
    r.add_argument("--force", action="store_true", help="score runs already scored again")
    return ap.parse_args(argv)


# --- the table ------------------------------------------------------------------------------------
def run_dirs(roots: list[Path]) -> list[Path]:
    """Run directories under ``roots``: trials of sweep directories and plain run directories
    (never the copies in a sweep's Ray storage)."""
    out = []
    for root in roots:
        out += [p.parent for p in root.glob("*/trials/*/config.json")]
        out += [p.parent for p in root.glob("*/config.json")]
    return sorted(set(out))


def schedule(conf: dict[str, Any]) -> dict[str, Any]:
    """A run's schedule: config.json "options" (erbp.training.recipe), else the earlier driver's entry."""
    opts = conf.get("options", {})
    if "lr_halve_every" in opts:
        return {"halve_every_epochs": opts["lr_halve_every"],
                "halve_start_epoch": opts.get("lr_halve_start", 0.0)}
    return conf.get("schedule") or {}


def collect(a: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for path in run_dirs(a.root or list(ROOTS)):
        rd = RunDir.open(path)
        conf = rd.read_config()
        recs = [r for r in rd.read_metrics() if r.get("test_samples") == 10_000]
        if not recs:
            continue
        tail = recs[-a.average:]
        curve = [[r["epoch"], round(100 * r["test_error"], 3)] for r in recs]
        last = recs[-1]
        target = conf["options"]["samples"] / conf["options"]["epoch_size"]
        rows.append({
            "run": str(rd.path.relative_to(ROOT) if rd.path.is_relative_to(ROOT) else rd.path),
            "topology": conf["topology"], "variant": conf["variant"], "seed": conf["seed"],
            "epochs_done": last["epoch"], "epochs_target": target,
            "complete": last["epoch"] >= target,
            "test_error_pct": round(100 * sum(r["test_error"] for r in tail) / len(tail), 3),
            "averaged": len(tail),
            "best_error_pct": round(100 * min(r["test_error"] for r in recs), 3),
            "last_error_pct": round(100 * last["test_error"], 3),
            "train_s": last.get("train_s", last["time_s"]),
            "events_per_sample": round(last["events"] / last["samples_seen"]),
            "schedule": schedule(conf), "overrides": conf.get("overrides"),
            "grid_bits": conf.get("grid_bits", DEFAULT_GRID_BITS),
            "command": conf.get("command"), "curve_epoch_error_pct": curve,
            "paper_pct": PAPER_TABLE1.get(conf["topology"], {}).get(
                "peRBP" if conf["variant"] == "perbp" else "eRBP"),
            "semantics_version": conf.get("semantics_version", 1),
            "v2": v2_score(rd.path, last["samples_seen"]),
            "average_last": conf["options"].get("average_last", 0.0),
            "avg": ({"error_pct": round(100 * last["avg_test_error"], 3),
                     "snapshots": last["avg_snapshots"]} if "avg_test_error" in last else None)})
    return rows


# --- version 2 readout ----------------------------------------------------------------------------
V2_FILE = "rescore_v2.json"


def v2_score(path: Path, samples_seen: int) -> dict[str, Any] | None:
    """The run's version 2 score if it was made for the run's current network."""
    f = path / V2_FILE
    if not f.exists():
        return None
    rec = read_json(f)
    return rec if rec.get("samples_seen") == samples_seen else None


def v2_network(path: Path) -> Any:
    """A run's final network as a version 2 model infers by default: a version 1 file converted
    (training is the same in both versions, so the weights are those version 2 would have
    learned), then the inference fields of ``NetConfig.default``: readout 1, the default exit
    margin, ``p_infer`` 256."""
    from erbp.reference import Network, modelfile
    from erbp.reference.config import NetConfig
    from erbp.training.configure import apply_overrides

    net = modelfile.load_any(path / "model.erbp")
    conf = read_json(path / "config.json")
    d = NetConfig.default(conf["topology"], conf["variant"])
    cfg = apply_overrides(net.cfg, {"readout": d.readout, "p_infer": tuple(d.p_infer),
                                    "exit_margin": d.exit_margin})
    return Network(cfg=cfg, seed=net.seed, W=net.W, G=net.G, samples_seen=net.samples_seen)


def rescore(a: argparse.Namespace, cmd: str) -> None:
    import numpy as np

    from erbp.data.datasets import load_dataset
    from erbp.engines import make_engine
    from erbp.provenance import machine

    data = load_dataset("mnist", a.data_dir)
    for path in run_dirs(a.root or list(ROOTS)):
        rd = RunDir.open(path)
        recs = rd.read_metrics()
        if not recs or not (path / "model.erbp").exists():
            continue
        seen = recs[-1]["samples_seen"]
        if v2_score(path, seen) and not a.force:
            continue
        net = v2_network(path)
        if net.samples_seen != seen:  # a checkpoint newer than the metrics: score it next time
            continue
        eng = make_engine("c", net)
        preds, events, ticks = [], [], []
        n = len(data.test_y)
        for lo in range(0, n, a.batch_size):
            r = eng.run_samples(data.test_x[lo:lo + a.batch_size], None, "infer", lo)
            preds.append(r.predictions)
            events.append(r.events)
            ticks.append(r.ticks)
        p, e, t = (np.concatenate(x) for x in (preds, events, ticks))
        rec = {"samples_seen": seen, "error_pct": round(100 * float((p != data.test_y).mean()), 3),
               "events_mean": float(e.mean()), "events_p50": float(np.median(e)),
               "events_p95": float(np.percentile(e, 95)), "ticks_mean": float(t.mean()),
               "ticks_p50": float(np.median(t)), "ticks_p95": float(np.percentile(t, 95)),
               "readout": net.cfg.readout, "exit_margin": net.cfg.exit_margin,
               "p_infer": list(net.cfg.p_infer), "command": cmd, "time": now(),
               "machine": machine()}
        write_json(path / V2_FILE, rec)
        print(f"{path.name}: {rec['error_pct']:.2f} % at {rec['events_mean']:,.0f} events and "
              f"{rec['ticks_mean']:.1f} ticks per sample", flush=True)


def baselines(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    if not path.exists():
        return {}
    return {(r["topology"], r["rule"]): r for r in read_json(path)["rows"]}


def _fmt(v: Any) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def _key(r: dict[str, Any]) -> tuple[str, str, int, str, int]:
    return (r["topology"], r["variant"], r["seed"],
            json.dumps(r.get("overrides") or {}, sort_keys=True),
            r.get("grid_bits", DEFAULT_GRID_BITS))


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def groups(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows of the same network, variant, overrides and schedule (differing only in the seed),
    in the paper's order."""
    order = list(PAPER_TABLE1)
    by: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        k = (r["topology"], r["variant"], json.dumps(r.get("overrides") or {}, sort_keys=True),
             json.dumps({**(r.get("schedule") or {}), "avg": r.get("average_last") or 0,
                         "grid_bits": r.get("grid_bits", DEFAULT_GRID_BITS)}, sort_keys=True))
        by.setdefault(k, []).append(r)
    keys = sorted(by, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1], k[2],
                                     k[3]))
    return [sorted(by[k], key=lambda r: r["seed"]) for k in keys]


def _spread(vals: list[float]) -> str:
    """``**mean**`` and, for several seeds, each seed's figure in brackets."""
    m = f"**{_mean(vals):.2f}**"
    return m if len(vals) == 1 else m + " (" + ", ".join(f"{v:.2f}" for v in vals) + ")"


def markdown(rows: list[dict[str, Any]], base: dict, average: int) -> str:
    with_v2 = any(r.get("v2") for r in rows)
    with_avg = any(r.get("avg") for r in rows)
    head = ("| network | variant | seeds | test error (%) | best epoch (%) | paper (%) | epochs | "
            "training time | synaptic events / training sample |")
    rule = "|---|---|---|---:|---:|---:|---:|---:|---:|"
    if with_v2:
        head += (" version 2 readout: test error (%) | events / inference sample | "
                 "ticks / inference sample |")
        rule += "---:|---:|---:|"
    if with_avg:
        head += " averaged weights: test error (%) |"
        rule += "---:|"
    head += " float DFA (%) | float BP (%) |"
    rule += "---:|---:|"
    lines = [head, rule]
    for g in groups(rows):
        r = g[0]
        dfa = base.get((r["topology"], "dfa"))
        bp = base.get((r["topology"], "bp"))
        done = [x["epochs_done"] for x in g]
        ep = f"{min(done):g}" + ("" if all(x["complete"] for x in g) else
                                 f" of {r['epochs_target']:g} (partial)")
        ep += " †" if any(x.get("recorded") for x in g) else ""
        ep += " ‡" if any(x.get("semantics_version", 1) >= 2 for x in g) else ""
        ts = [x["train_s"] for x in g if x.get("train_s") is not None]
        hours = "—" if not ts else f"{_mean(ts) / 3600:.2f} h"
        ev = [x["events_per_sample"] for x in g if x.get("events_per_sample") is not None]
        events = "—" if not ev else f"{_mean(ev) / 1e6:.2f} M"
        variant = "peRBP" if r["variant"] == "perbp" else "eRBP"
        if r.get("grid_bits", DEFAULT_GRID_BITS) != DEFAULT_GRID_BITS:  # erbp train --grid-bits
            variant += f" `grid_bits={r['grid_bits']}`"
        if r.get("overrides"):
            variant += " " + " ".join(f"`{k}={_fmt(v)}`" for k, v in r["overrides"].items())
        # the schedule a row does not mention: erbp train's default for the row's epochs
        default = default_lr_schedule(r["epochs_target"])
        sched = r.get("schedule") or {}
        halve = sched.get("halve_every_epochs", sched.get("halve", default.every))
        start = sched.get("halve_start_epoch", sched.get("start", default.start))
        if (halve, start) != (default.every, default.start):
            variant += f" `halve={halve:g}`" + (f" `halve_start={start:g}`" if start else "")
        line = (f"| {r['topology']} | {variant} | {', '.join(str(x['seed']) for x in g)} | "
                f"{_spread([x['test_error_pct'] for x in g])} | "
                f"{min(x['best_error_pct'] for x in g):.2f} | "
                f"{r['paper_pct'] if r['paper_pct'] is not None else ''} | {ep} | "
                f"{hours} | {events} |")
        if with_v2:
            v2 = [x["v2"] for x in g if x.get("v2")]
            if v2:
                line += (f" {_spread([v['error_pct'] for v in v2])} | "
                         f"{_mean([v['events_mean'] for v in v2]):,.0f} | "
                         f"{_mean([v['ticks_mean'] for v in v2]):.1f} |")
            else:
                line += " | | |"
        if with_avg:
            av = [x["avg"]["error_pct"] for x in g if x.get("avg")]
            line += f" {_spread(av)} |" if av else " |"
        line += (" " + (f"{dfa['test_error_pct']:.2f} ({dfa['epochs_done']} ep)" if dfa else "")
                 + " | " + (f"{bp['test_error_pct']:.2f} ({bp['epochs_done']} ep)" if bp else "")
                 + " |")
        lines.append(line)
    lines += ["", f"Test error: mean of the last {average} evaluations on the 10,000 test "
              "images (one per epoch), as the paper reports it, over the seeds (each seed's in "
              "brackets), with the readout of semantics version 1 (the most spikes in 200 "
              "ticks; peRBP with its blank-out also at inference); best epoch: the lowest "
              "single evaluation of any seed. Training time: wall-clock time per run on one "
              "core of the shared 2-core machine (runs of erbp sweep include the evaluation "
              "after each epoch, runs of the earlier driver exclude it). Paper: the paper's "
              "Table 1 as recalled (approximate; erbp.research.paper). Float baselines: "
              "benchmarks/baseline_table.py (mean of the last 5 epochs)."]
    if with_v2:
        lines += ["", "Version 2 readout: each run's final network scored once on the 10,000 "
                  "test images as a version 2 model infers by default (readout sum R, early "
                  "exit at the default margin, no blank-out at inference: `p_infer` 256), "
                  "`python benchmarks/paper_table.py rescore`; events and ticks per inference "
                  "sample are means over the test images and seeds."]
    if with_avg:
        lines += ["", "Averaged weights: the run's model-avg.erbp, the mean of its weights over "
                  "the last halving period of its schedule (20 snapshots per epoch; "
                  "erbp.training.averaging, the default of `erbp train` and `erbp sweep`), "
                  "scored once on the 10,000 test images with the version 2 readout."]
    if any(r.get("semantics_version", 1) >= 2 for r in rows):
        lines += ["", "‡ Run under semantics version 2: its evaluations after each epoch (the "
                  "test error and best epoch columns) already use version 2's default readout."]
    if any(r.get("recorded") for r in rows):
        lines += ["", "† From the committed record benchmarks/results/paper_table.json: the run "
                  "directory is not on this machine (the row's note says where the figures come "
                  "from); the row's command regenerates it."]
    lines.append("")
    return "\n".join(lines)


def merge_recorded(rows: list[dict[str, Any]], recorded: Path) -> list[dict[str, Any]]:
    """``rows`` plus the rows of an earlier record whose (topology, variant, seed, overrides) has no run
    directory here any more (a fresh checkout keeps the table it was committed with)."""
    if not recorded.exists():
        return rows
    have = {_key(r) for r in rows}
    kept = [dict(r, recorded=True) for r in read_json(recorded)["rows"] if _key(r) not in have]
    return rows + kept


def drop_reproduced(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` without the runs that a run of the same network, variant, seed, overrides,
    schedule and length reproduces with weight averaging (the training is the same, bit for
    bit; the averaged run adds the averaged network's figure)."""
    def same(r: dict[str, Any]) -> str:
        return json.dumps([*_key(r), r.get("schedule") or {}, r["epochs_target"]],
                          sort_keys=True)
    averaged = {same(r) for r in rows if r.get("avg")}
    return [r for r in rows if r.get("avg") or same(r) not in averaged]


def table(a: argparse.Namespace, cmd: str) -> None:
    rows = merge_recorded(drop_reproduced(collect(a)), a.out / "paper_table.json")
    md = markdown(rows, baselines(a.baselines), a.average)
    result = {"benchmark": "paper_table", "command": cmd, "time": now(), "rows": rows}
    write_json(a.out / "paper_table.json", result, parents=True)
    write_text_atomic(a.out / "paper_table.md", md + f"\nCommand: `{cmd}`\n", parents=True)
    print(md)
    if a.doc is not None:
        text = a.doc.read_text()
        if BEGIN not in text or END not in text:
            sys.exit(f"{a.doc} has no {BEGIN} ... {END} block")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        a.doc.write_text(head + BEGIN + "\n" + md + f"\nTable made by `{cmd}` on {now()[:10]}."
                         "\n" + END + tail)
        print(f"updated {a.doc}")


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/paper_table.py", *argv])
    print(f"$ {cmd}", flush=True)
    (rescore if a.cmd == "rescore" else table)(a, cmd)


if __name__ == "__main__":
    main()
