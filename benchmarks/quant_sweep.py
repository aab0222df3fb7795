#!/usr/bin/env python3
"""What fixed point costs: MNIST test error against weight width, for two state widths, next to
the floating-point twin of the same network.

    python benchmarks/quant_sweep.py                          # the full sweep (C engine)
    python benchmarks/quant_sweep.py --samples 200 --test-samples 100 --weight-bits 4,8 \\
        --state-bits 16 --topologies 784-100-10 --plot /tmp/q.png   # a quick check

For every topology, state width s and weight width b, the default configuration (read as the
8-bit-weight, 16-bit-state network) is rescaled with :func:`erbp.training.precision.rescale` so that the
*same real-valued network* (real weights, thresholds, gates, feedback, learning rate) is
represented at the new resolution; erbp.training.precision's docstring gives the exact mapping and
tests/test_precision.py checks that the float twins of all rescaled configurations spike
identically. Each point trains ``--samples`` samples of the paper's protocol (class-balanced
epochs of 50,000, seed ``--seed``) and is evaluated on the first ``--test-samples`` test images.
The float variant (:class:`erbp.research.float_erbp.FloatNetwork`: no rounding, no saturation; Python
only) trains ``--float-samples`` samples of the same sequence.

Resumable: each point is cached as ``OUT/quant_sweep/<point>.json`` (with its configuration, the
rescaling notes, the command line and timings) and skipped when present. Results (committed
records): ``RESULTS/NAME.json``, ``RESULTS/NAME.md`` (a markdown table; RESULTS defaults to
benchmarks/results/, NAME to quant_sweep) and the figure ``--plot``
(default docs/quant_sweep.png).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from erbp.research.paper import PAPER_TABLE1
from erbp.data.datasets import load_dataset
from erbp.engines import resolve_engine
from erbp.fileio import read_json, write_json, write_text_atomic
from erbp.provenance import command_line, machine, now
from erbp.research.float_erbp import FloatNetwork
from erbp.training.precision import rescale
from erbp.reference import NetConfig, Network
from erbp.training import evaluate, train

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topologies", default="784-100-10,784-200-200-10")
    ap.add_argument("--weight-bits", default="4,6,8,10,12,16")
    ap.add_argument("--state-bits", default="16,12")
    ap.add_argument("--variant", default="erbp", choices=("erbp", "perbp"))
    ap.add_argument("--samples", type=int, default=50_000, help="training samples per point")
    ap.add_argument("--float-samples", type=int, default=None,
                    help="training samples of the float variant [default: --samples]")
    ap.add_argument("--float", dest="float_", action=argparse.BooleanOptionalAction,
                    default=True, help="also run the float variant")
    ap.add_argument("--test-samples", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", default="auto", help="python, c or auto (c if built)")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "out", help="the per-point cache")
    ap.add_argument("--results", type=Path, default=HERE / "results",
                    help="where NAME.json/.md go (committed records)")
    ap.add_argument("--name", default="quant_sweep", help="name of the result files")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "quant_sweep.png")
    return ap.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def run_point(cfg: NetConfig, kind: str, seed: int, data: Any, samples: int, n_test: int,
              engine: str, batch_size: int) -> dict[str, Any]:
    """Train one network (``kind`` "int" on ``engine``, or "float") and test it."""
    t0 = time.monotonic()
    if kind == "float":
        net: Any = FloatNetwork.create(cfg, seed)
        res = train(net, data, samples, engine=None, protocol="balanced", order_seed=seed,
                    test_samples=0)
    else:
        res = train(Network.create(cfg, seed), data, samples, engine=engine,
                    protocol="balanced", order_seed=seed, test_samples=0, batch_size=batch_size)
    t_train = time.monotonic() - t0
    t0 = time.monotonic()
    ev = evaluate(res.engine, data, n_test, batch_size=batch_size)
    return {"test_error_pct": round(100 * ev.error, 3), "test_samples": ev.n,
            "train_s": round(t_train, 3), "eval_s": round(time.monotonic() - t0, 3),
            "train_events": res.state.events}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    a = parse_args(argv)
    cmd = command_line(None if argv is None else ["benchmarks/quant_sweep.py", *argv])
    print(f"$ {cmd}")
    engine = resolve_engine(a.engine)
    data = load_dataset("mnist", a.data_dir)
    n_test = min(a.test_samples, len(data.test_y))
    f_samples = a.float_samples if a.float_samples is not None else a.samples
    cache = a.out / "quant_sweep"
    points: list[dict[str, Any]] = []
    for topo in a.topologies.split(","):
        base = NetConfig.default(topo, a.variant)
        todo: list[tuple[str, int | None, int | None]] = [
            ("int", b, s) for s in _ints(a.state_bits) for b in _ints(a.weight_bits)]
        if a.float_:
            todo.append(("float", None, None))
        for kind, b, s in todo:
            if kind == "float":
                cfg, notes, eng, n = base, {}, "python", f_samples
                name = f"{topo}-{a.variant}-float-n{n}-t{n_test}-seed{a.seed}"
            else:
                cfg, notes = rescale(base, b, s)
                eng, n = engine, a.samples
                name = f"{topo}-{a.variant}-w{b}-s{s}-n{n}-t{n_test}-seed{a.seed}"
            f = cache / f"{name}.json"
            if f.exists():
                p = read_json(f)
                print(f"  {name}: cached, {p['test_error_pct']:.2f} %")
            else:
                p = {"topology": topo, "variant": a.variant, "kind": kind, "weight_bits": b,
                     "state_bits": s, "engine": eng, "samples": n, "seed": a.seed,
                     **run_point(cfg, kind, a.seed, data, n, n_test, eng, a.batch_size),
                     "notes": notes, "config": cfg.as_dict(), "command": cmd, "time": now(),
                     "machine": machine()}
                write_json(f, p, parents=True)
                print(f"  {name}: {p['test_error_pct']:.2f} % ({p['train_s']:.1f} s training)")
            points.append(p)
    result = {"benchmark": "quant_sweep", "command": cmd, "time": now(),
              "points": [{k: v for k, v in p.items() if k not in ("config", "machine")}
                         for p in points]}
    write_json(a.results / f"{a.name}.json", result, parents=True)
    md = markdown(points, n_test, cmd)
    write_text_atomic(a.results / f"{a.name}.md", md, parents=True)
    plot(points, a.plot, n_test)
    print()
    print(md)
    print(f"figure: {a.plot}")
    return result


def markdown(points: list[dict[str, Any]], n_test: int, cmd: str) -> str:
    """One row per (topology, state width), one column per weight width, plus the float twin."""
    wbs = sorted({p["weight_bits"] for p in points if p["kind"] == "int"})
    lines = [f"Test error (%) on {n_test} MNIST test images by weight width (columns) and state "
             f"width; the same real-valued network at every width (erbp.training.precision).", "",
             "| network | state bits | " + " | ".join(f"w{b}" for b in wbs) + " | float |",
             "|---|---|" + "---|" * (len(wbs) + 1)]
    for topo in dict.fromkeys(p["topology"] for p in points):
        fl = [p for p in points if p["topology"] == topo and p["kind"] == "float"]
        f_cell = f"{fl[0]['test_error_pct']:.2f}" if fl else ""
        for s in sorted({p["state_bits"] for p in points if p["kind"] == "int"}, reverse=True):
            cells = []
            for b in wbs:
                m = [p for p in points if p["topology"] == topo and p["weight_bits"] == b
                     and p["state_bits"] == s]
                cells.append(f"{m[0]['test_error_pct']:.2f}" if m else "")
            lines.append(f"| {topo} | {s} | " + " | ".join(cells) + f" | {f_cell} |")
    samples = sorted({p["samples"] for p in points})
    lines += ["", f"Training samples per point: {', '.join(map(str, samples))}.",
              f"Command: `{cmd}`", ""]
    return "\n".join(lines)


def plot(points: list[dict[str, Any]], out: Path, n_test: int) -> Path:
    """Test error against weight bits: one panel per topology, one line per state width, the
    float twin as a dashed line."""
    from matplotlib.figure import Figure

    topos = list(dict.fromkeys(p["topology"] for p in points))
    fig = Figure(figsize=(5.5 * len(topos), 4.5), dpi=100)
    for i, topo in enumerate(topos):
        ax = fig.add_subplot(1, len(topos), i + 1)
        mine = [p for p in points if p["topology"] == topo]
        for s in sorted({p["state_bits"] for p in mine if p["kind"] == "int"}, reverse=True):
            pts = sorted((p["weight_bits"], p["test_error_pct"]) for p in mine
                         if p["kind"] == "int" and p["state_bits"] == s)
            ax.plot([x for x, _ in pts], [y for _, y in pts], "o-", label=f"{s}-bit states")
        for p in mine:
            if p["kind"] == "float":
                ax.axhline(p["test_error_pct"], color="k", ls="--", lw=1,
                           label=f"float ({p['samples']} samples)")
        paper = PAPER_TABLE1.get(topo, {}).get("peRBP" if mine[0]["variant"] == "perbp"
                                               else "eRBP")
        if paper is not None:
            ax.axhline(paper, color="grey", ls=":", lw=1, label=f"paper ({paper:.2f} %)")
        wbs = sorted({p["weight_bits"] for p in mine if p["kind"] == "int"})
        ax.set_xticks(wbs)
        ax.set_xlabel("weight bits")
        ax.set_ylabel(f"test error (%), {n_test} test images")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.set_title(topo)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


if __name__ == "__main__":
    main()
