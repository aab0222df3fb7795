#!/usr/bin/env python3
"""The paper's Table 1 in our fixed-point semantics: resumable eRBP/peRBP runs on the full MNIST,
and the table that collects them.

    python benchmarks/paper_table.py run --topology 784-100-10 --variant erbp --epochs 30
    python benchmarks/paper_table.py run --topology 784-100-10 --variant erbp --epochs 40  # extend
    python benchmarks/paper_table.py table --doc docs/results.md     # collect every run

``run`` trains one network with the C engine in the paper's protocol: epochs of 50,000
class-balanced draws with replacement from the 60,000 training images (``erbp train --protocol
balanced``, the same sample order), evaluation on all 10,000 test images after every epoch. The
network starts from ``NetConfig.default(topology, variant)`` (plus any ``--set`` overrides).

Learning-rate schedule (a protocol choice, not semantics; the paper kept eta constant): with
``--halve H`` the learning rate of every layer halves (``lr_shift += 1``) every H epochs, after
``--halve-start`` epochs; the learning rate of epoch ``e`` is a pure function of ``e``, so a run
resumed from any checkpoint is bit-identical to an uninterrupted one. The per-topology defaults
(``SCHEDULE``) are the measured ones (docs/results.md); ``--halve 0`` keeps eta constant.

The run directory (default ``benchmarks/out/table/<topology>-<variant>-s<seed>``) is an ordinary
``erbp train`` run directory (config.json, model.erbp checkpointed every ``--checkpoint-every``
samples and at every epoch end, metrics.jsonl with one record per epoch on the 10,000 test
images, state.json), so ``erbp plot all RUNDIR`` and ``erbp eval RUNDIR`` work on it. config.json
also holds the schedule; each metrics record adds ``lr_shift`` and ``train_s`` (training seconds
so far, evaluation excluded). Resume by running the same command again (a larger ``--epochs``
extends the run); Ctrl-C or SIGTERM stops at the next sample batch with a checkpoint.

``table`` reads every run directory under ``--root`` and writes ``OUT/paper_table.md`` and
``.json``: test error as the mean of the last ``--average`` evaluations (the paper's figure),
the best evaluation, epochs done, training time, synaptic events per training sample, the paper's
numbers (erbp-paper.md section 11) and our float BP/DFA baselines
(``benchmarks/baseline_table.py``); ``--doc FILE`` also replaces the block between
``<!-- paper_table:begin -->`` and ``<!-- paper_table:end -->`` in FILE.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from erbp.research.paper import PAPER_TABLE1
from erbp.training.configure import make_config, parse_overrides
from erbp.data.datasets import load_dataset
from erbp.fileio import read_json, write_json, write_text_atomic
from erbp.provenance import command_line, machine, now
from erbp.reference import Network
from erbp.training.rundir import RunDir, RunState
from erbp.training import PAPER_EPOCH, RunOptions, evaluate, start_run, train

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Committed records (small JSON/markdown); ``out/`` holds the bulky, gitignored working state.
RESULTS = HERE / "results"
#: Learning-rate halving schedule per topology: (halve every H epochs, first after E0 + H).
#: Measured on a validation split with benchmarks/tune.py (docs/results.md, "Tuning").
SCHEDULE: dict[str, tuple[float, float]] = {}
DEFAULT_SCHEDULE = (3.0, 0.0)
BEGIN, END = "<!-- paper_table:begin -->", "<!-- paper_table:end -->"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train (or resume) one network of the table")
    r.add_argument("--topology", required=True)
    r.add_argument("--variant", default="erbp", choices=("erbp", "perbp"))
    r.add_argument("--epochs", type=int, required=True, help="total epochs of the run")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--halve", type=float, default=None,
                   help="halve the learning rate every H epochs (0: constant) [default: "
                        "SCHEDULE of the topology]")
    r.add_argument("--halve-start", type=float, default=None)
    r.add_argument("--test-samples", type=int, default=10_000)
    r.add_argument("--checkpoint-every", type=int, default=10_000)
    r.add_argument("--batch-size", type=int, default=500)
    r.add_argument("--out", type=Path, default=None, help="run directory")
    r.add_argument("--data-dir", default=None)
    t = sub.add_parser("table", help="collect the runs into a table")
    t.add_argument("--root", type=Path, default=HERE / "out" / "table")
    t.add_argument("--average", type=int, default=5, help="evaluations averaged")
    t.add_argument("--baselines", type=Path, default=RESULTS / "baseline_table.json")
    t.add_argument("--out", type=Path, default=RESULTS,
                   help="where paper_table.json/.md go; rows of an earlier paper_table.json "
                        "there whose run directory is gone are kept")
    t.add_argument("--doc", type=Path, default=None)
    return ap.parse_args(argv)


def lr_shift_for_epoch(base: tuple[int, ...], halve: float, start: float,
                       epoch: int) -> tuple[int, ...]:
    """The learning-rate shifts of epoch ``epoch`` (0-based) under the halving schedule."""
    if halve <= 0:
        return tuple(base)
    k = max(0, int((epoch - start) // halve))
    return tuple(min(30, s + k) for s in base)


def _with_lr_shift(net: Network, shifts: tuple[int, ...]) -> Network:
    if tuple(net.cfg.lr_shift) == tuple(shifts):
        return net
    out = Network(cfg=net.cfg.replace(lr_shift=tuple(shifts)), seed=net.seed, W=net.W, G=net.G,
                  samples_seen=net.samples_seen)
    out.reset_state()
    return out


def run(a: argparse.Namespace, cmd: str) -> None:
    data = load_dataset("mnist", a.data_dir)
    halve, start = SCHEDULE.get(a.topology, DEFAULT_SCHEDULE)
    halve = halve if a.halve is None else a.halve
    start = start if a.halve_start is None else a.halve_start
    out = a.out or HERE / "out" / "table" / f"{a.topology}-{a.variant}-s{a.seed}"
    epoch_size = PAPER_EPOCH
    overrides = parse_overrides(a.sets)
    cfg = make_config(a.topology, a.variant, overrides, n_in=data.n_in,
                      n_classes=data.n_classes)
    schedule = {"halve_every_epochs": halve, "halve_start_epoch": start,
                "base_lr_shift": list(cfg.lr_shift)}
    if (out / "config.json").exists():
        rd = RunDir.open(out)
        conf = rd.read_config()
        mine = {"topology": a.topology, "variant": a.variant, "seed": a.seed,
                "overrides": {k: cfg.as_dict()[k] for k in overrides}, "schedule": schedule}
        diff = [k for k, v in mine.items() if conf.get(k) != v]
        if diff:
            sys.exit(f"{out} was started with other settings ({', '.join(diff)}): "
                     f"stored {[conf.get(k) for k in diff]}")
        net, state = rd.load_checkpoint()
        rd.truncate_metrics(net.samples_seen)
        conf["options"]["samples"] = a.epochs * epoch_size
        conf.setdefault("resumed", []).append({"command": cmd, "time": now(),
                                               "samples_seen": net.samples_seen})
        rd.write_config(conf)
        print(f"resuming {out} at {net.samples_seen} samples ({net.samples_seen / epoch_size:g} "
              f"epochs), target {a.epochs} epochs")
    else:
        net = Network.create(cfg, a.seed)
        options = RunOptions(dataset="mnist", samples=a.epochs * epoch_size,
                             protocol="balanced", epoch_size=epoch_size, order_seed=a.seed,
                             test_every=epoch_size, test_samples=a.test_samples,
                             checkpoint_every=a.checkpoint_every)
        rd = start_run(out, net, options,
                       extra={"dataset": "mnist", "topology": a.topology, "variant": a.variant,
                              "overrides": {k: cfg.as_dict()[k] for k in overrides},
                              "schedule": schedule, "driver": "benchmarks/paper_table.py",
                              "machine": machine()},
                       command=cmd)
        state = RunState(samples_seen=0)
        print(f"run {out}: {a.topology} {a.variant}, seed {a.seed}, {a.epochs} epochs, "
              f"halve every {halve} epochs after {start}")

    flag = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        print(f"signal {signum}: stopping at the next batch", flush=True)
        flag.set()

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, handler)

    def evaluate_epoch(eng: Any, state: RunState, recent: str) -> None:
        t0 = time.monotonic()
        ev = evaluate(eng, data, a.test_samples, batch_size=a.batch_size)
        window = [c == "1" for c in recent]
        rec = {"samples_seen": eng.samples_seen,
               "epoch": round(eng.samples_seen / epoch_size, 6),
               "train_error": round(1 - sum(window) / len(window), 6) if window else None,
               "train_window": len(window), "train_eval_error": None,
               "test_error": round(ev.error, 6), "test_samples": ev.n,
               "time_s": round(state.elapsed_s, 3), "events": state.events,
               "train_s": round(state.elapsed_s, 3), "eval_s": round(time.monotonic() - t0, 3),
               "lr_shift": list(eng.cfg.lr_shift), "time": now()}
        rd.append_metrics(rec)
        print(f"  epoch {rec['epoch']:g}: test error {100 * ev.error:.2f} % on {ev.n} "
              f"(lr_shift {rec['lr_shift']}, train {state.elapsed_s:.0f} s, eval "
              f"{rec['eval_s']:.0f} s)", flush=True)

    # an epoch checkpointed but not yet evaluated (stopped between the two)
    last = rd.read_metrics()
    if (net.samples_seen and net.samples_seen % epoch_size == 0
            and (not last or last[-1]["samples_seen"] < net.samples_seen)):
        from erbp.engines import make_engine
        evaluate_epoch(make_engine("c", net), state, state.recent)

    target = a.epochs * epoch_size
    while net.samples_seen < target and not flag.is_set():
        e = net.samples_seen // epoch_size
        net = _with_lr_shift(net, lr_shift_for_epoch(tuple(schedule["base_lr_shift"]), halve,
                                                     start, e))
        seg_end = min(target, (e + 1) * epoch_size)
        res = train(net, data, seg_end - net.samples_seen, engine="c", protocol="balanced",
                    epoch_size=epoch_size, order_seed=a.seed, test_every=0, test_samples=0,
                    run=rd, checkpoint_every=a.checkpoint_every, state=state,
                    batch_size=a.batch_size, stop=flag.is_set)
        net, state = res.network, res.state
        if net.samples_seen == seg_end and seg_end % epoch_size == 0:
            evaluate_epoch(res.engine, state, state.recent)
    if net.samples_seen < target:
        print(f"stopped at {net.samples_seen} samples; continue with the same command")
    else:
        print(f"done: {out}")


# --- the table ------------------------------------------------------------------------------------
def collect(a: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for cfg_path in sorted(a.root.glob("*/config.json")):
        rd = RunDir.open(cfg_path.parent)
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
            "schedule": conf.get("schedule"), "overrides": conf.get("overrides"),
            "command": conf.get("command"), "curve_epoch_error_pct": curve,
            "paper_pct": PAPER_TABLE1.get(conf["topology"], {}).get(
                "peRBP" if conf["variant"] == "perbp" else "eRBP")})
    return rows


def baselines(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    if not path.exists():
        return {}
    return {(r["topology"], r["rule"]): r for r in read_json(path)["rows"]}


def _fmt(v: Any) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def _key(r: dict[str, Any]) -> tuple[str, str, int, str]:
    return (r["topology"], r["variant"], r["seed"],
            json.dumps(r.get("overrides") or {}, sort_keys=True))


def markdown(rows: list[dict[str, Any]], base: dict, average: int) -> str:
    order = list(PAPER_TABLE1)
    rows = sorted(rows, key=lambda r: (order.index(r["topology"]) if r["topology"] in order
                                       else 99, r["variant"], r["seed"]))
    lines = ["| network | variant | test error (%) | best epoch (%) | paper (%) | epochs | "
             "training time | synaptic events / training sample | float DFA (%) | "
             "float BP (%) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        dfa = base.get((r["topology"], "dfa"))
        bp = base.get((r["topology"], "bp"))
        ep = f"{r['epochs_done']:g}" + ("" if r["complete"] else
                                        f" of {r['epochs_target']:g} (partial)")
        ep += " †" if r.get("recorded") else ""
        hours = "—" if r.get("train_s") is None else f"{r['train_s'] / 3600:.2f} h"
        events = ("—" if r.get("events_per_sample") is None
                  else f"{r['events_per_sample'] / 1e6:.2f} M")
        variant = "peRBP" if r["variant"] == "perbp" else "eRBP"
        if r.get("overrides"):
            variant += " " + " ".join(f"`{k}={_fmt(v)}`" for k, v in r["overrides"].items())
        sched = r.get("schedule") or {}
        halve = sched.get("halve_every_epochs", sched.get("halve", DEFAULT_SCHEDULE[0]))
        start = sched.get("halve_start_epoch", sched.get("start", DEFAULT_SCHEDULE[1]))
        if (halve, start) != DEFAULT_SCHEDULE:
            variant += f" `halve={halve:g}`" + (f" `halve_start={start:g}`" if start else "")
        lines.append(
            f"| {r['topology']} | {variant} | "
            f"**{r['test_error_pct']:.2f}** | {r['best_error_pct']:.2f} | "
            f"{r['paper_pct'] if r['paper_pct'] is not None else ''} | {ep} | "
            f"{hours} | {events} | "
            + (f"{dfa['test_error_pct']:.2f} ({dfa['epochs_done']} ep)" if dfa else "") + " | "
            + (f"{bp['test_error_pct']:.2f} ({bp['epochs_done']} ep)" if bp else "") + " |")
    lines += ["", f"Test error: mean of the last {average} evaluations on the 10,000 test "
              "images (one per epoch), as the paper reports it; best epoch: the lowest single "
              "evaluation. Training time: wall-clock seconds of training on one core of the "
              "shared 2-core machine (evaluation excluded). Paper: erbp-paper.md section 11 "
              "(recalled, approximate). Float baselines: benchmarks/baseline_table.py (mean "
              "of the last 5 epochs)."]
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


def table(a: argparse.Namespace, cmd: str) -> None:
    rows = merge_recorded(collect(a), a.out / "paper_table.json")
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
    if a.cmd == "run":
        run(a, cmd)
    else:
        table(a, cmd)


if __name__ == "__main__":
    main()
