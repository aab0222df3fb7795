"""The report of a sweep: SWEEPDIR/results.md and results.csv, from the sweep directory alone
(no Ray needed).

One row per trial, best first (lowest final metric; failed trials last, with their message):
trial name, status, every swept parameter, seed, epochs done, the metric after each epoch, the
final and the best value (with its epoch), the training time, and, if the spec asks
(``[report] test = "best"`` or ``"all"``), the test error of the trial's final model on the whole
test set. The metric per epoch comes from the trial's run directory (metrics.jsonl) when it has
one, else from trials.json (toy objectives). Errors are in percent.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Callable

from ..fileio import read_json, write_text_atomic
from ..provenance import now
from ..training.rundir import RunDir
from .runner import SWEEP_JSON, TRIALS_JSON
from .spec import SweepError

RESULTS_MD = "results.md"
RESULTS_CSV = "results.csv"
ORDER = {"DONE": 0, "STOPPED": 1, "RUNNING": 2, "PENDING": 3, "FAILED": 4}


def load_sweep(sweep_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """sweep.json and the trial entries of trials.json, each completed with its curve from the
    run directory ("curve": metric per epoch), "final", "best", "best_epoch"."""
    d = Path(sweep_dir)
    if not (d / SWEEP_JSON).exists():
        raise SweepError(f"{d} is not a sweep directory ({SWEEP_JSON} is missing)")
    meta = read_json(d / SWEEP_JSON)
    trials = read_json(d / TRIALS_JSON)["trials"] if (d / TRIALS_JSON).exists() else []
    for t in trials:
        run = d / t["run"] if t.get("run") else None
        if run is not None and (run / "metrics.jsonl").exists():
            rd = RunDir(run)
            opts = rd.read_config()["options"]
            recs = [r for r in rd.read_metrics() if r["samples_seen"] % opts["epoch_size"] == 0]
            t["curve"] = [r["test_error"] for r in recs]
            t["train_s"] = recs[-1]["time_s"] if recs else None
        curve = [c for c in t.get("curve", []) if c is not None]
        t["epochs"] = len(curve)
        t["final"] = curve[-1] if curve else None
        t["best"] = min(curve) if curve else None
        t["best_epoch"] = curve.index(t["best"]) + 1 if curve else None
    trials.sort(key=lambda t: (ORDER.get(t["status"], 5),
                               math.inf if t["final"] is None else t["final"], t["trial"]))
    return meta, trials


def evaluate_on_test(sweep_dir: Path, meta: dict[str, Any], trials: list[dict[str, Any]],
                which: str, data_dir: str | None = None) -> dict[str, float]:
    """Test error (fraction) of the final model of the best trial or of all finished trials, on
    the whole test set of the spec's data set (the scoring split is not used here)."""
    from ..data import load_dataset
    from ..engines import make_engine, resolve_engine
    from ..reference import modelfile
    from ..training import evaluate

    done = [t for t in trials if t["status"] in ("DONE", "STOPPED") and t.get("run")]
    if which == "best":
        done = done[:1]
    if not done:
        return {}
    spec = meta["spec"]
    data = load_dataset(spec["dataset"], data_dir or spec.get("data_dir"))
    engine = resolve_engine(spec.get("engine", "auto"))
    out = {}
    for t in done:
        net = modelfile.load(sweep_dir / t["run"] / "model.erbp")
        out[t["trial"]] = evaluate(make_engine(engine, net), data).error
    return out


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return " ".join(f"{k}={_short(x)}" for k, x in v.items())
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.2f}"


def write_report(sweep_dir: str | Path, data_dir: str | None = None,
                 echo: Callable[[str], None] = print) -> tuple[Path, Path]:
    """Write results.md and results.csv into the sweep directory; returns their paths."""
    d = Path(sweep_dir)
    meta, trials = load_sweep(d)
    spec = meta["spec"]
    toy = spec["objective"] != "train"
    swept = [x["name"] for x in spec["space"]] + (["seed"] if len(spec["seeds"]) > 1 else [])
    test = ({} if spec["report_test"] == "none" or toy else
            evaluate_on_test(d, meta, trials, spec["report_test"], data_dir))
    n_ep = max([spec["epochs"], *(t["epochs"] for t in trials)])
    scale = (lambda v: "" if v is None else f"{v:.6g}") if toy else _pct  # noqa: E731
    what = spec["metric"] + ("" if toy else " (%) on the " + ("validation images" if
                                                             spec["split"] == "validation"
                                                             else "test set"))
    # CSV: everything, one column per epoch
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["trial", "status", *swept, "seed", "epochs", "final", "best", "best_epoch",
                "test_error", "train_s", *(f"epoch_{e}" for e in range(1, n_ep + 1)),
                "message", "run"])
    for t in trials:
        p = t["params"]
        curve = t.get("curve", [])
        w.writerow([t["trial"], t["status"],
                    *(_short(v) if isinstance(v, dict) else v
                      for v in (p.get(k, "") for k in swept)), p.get("seed", ""),
                    t["epochs"], scale(t["final"]), scale(t["best"]), t["best_epoch"] or "",
                    _pct(test.get(t["trial"])), t.get("train_s") or "",
                    *(scale(curve[e]) if e < len(curve) else "" for e in range(n_ep)),
                    t.get("message") or "", t.get("run") or ""])
    # markdown: the ranking and the curves
    cols = ["trial", "status", *swept, "final", "best (epoch)",
            *(["test (%)"] if test else []), "train (s)", f"{what}, per epoch"]
    lines = [f"# Sweep `{meta['name']}`", "",
             f"{len(trials)} trials ({sum(t['status'] == 'DONE' for t in trials)} done, "
             f"{sum(t['status'] == 'STOPPED' for t in trials)} stopped early, "
             f"{sum(t['status'] == 'FAILED' for t in trials)} failed); "
             f"{spec['method']} over {', '.join(swept) or 'nothing'}, {spec['epochs']} epochs"
             + (f" ({spec['objective']})" if toy else
                f" of {spec['dataset']}, {spec['split']} split") +
             f". Metric: {what}; best first.", "",
             "| " + " | ".join(cols) + " |",
             "|" + "|".join("---" if c in ("trial", "status") or c in swept else "---:"
                            for c in cols[:-1]) + "|---|"]
    for t in trials:
        p = t["params"]
        row = [f"`{t['trial']}`", t["status"].lower(),
               *(f"`{_short(p.get(k, ''))}`" for k in swept),
               scale(t["final"]),
               f"{scale(t['best'])} ({t['best_epoch']})" if t["best"] is not None else "",
               *([_pct(test.get(t["trial"]))] if test else []),
               f"{t['train_s']:.0f}" if t.get("train_s") else "",
               " ".join(scale(c) for c in t.get("curve", []))]
        lines.append("| " + " | ".join(row) + " |")
    failed = [t for t in trials if t["status"] == "FAILED" or t.get("message")]
    if failed:
        lines += ["", "Messages:", ""] + [f"- `{t['trial']}`: {t['message']}" for t in failed]
    lines += ["", f"Sweep directory `{d}`; each trial's run directory is `trials/<trial>/`. "
              f"Spec command: `{meta.get('command', '')}`. Report written {now()}.", ""]
    md, cs = d / RESULTS_MD, d / RESULTS_CSV
    write_text_atomic(md, "\n".join(lines))
    write_text_atomic(cs, buf.getvalue())
    echo(f"report: {md} and {cs}")
    return md, cs
