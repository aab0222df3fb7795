"""Figures of a sweep (``erbp plot sweep SWEEPDIR``): the learning curve of every trial, and the
final metric against each swept parameter. PNG files drawn with matplotlib's Agg renderer (no
pyplot, as erbp.plots), from the sweep directory alone (erbp.sweep.report.load_sweep).

Files (in ``SWEEPDIR/plots`` unless told otherwise): ``curves.png``; ``metric_vs_<name>.png`` for
each swept parameter (the seed included when it varies). Numeric parameters get a numeric axis
(logarithmic when the spec samples them on a log scale), others one column per value.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .report import load_sweep

DPI = 100
SIZE = (8, 5)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def plot_sweep(sweep_dir: str | Path, out: str | Path | None = None) -> dict[str, Path]:
    """Draw every figure of a sweep; returns {figure name: PNG path}."""
    d = Path(sweep_dir)
    meta, trials = load_sweep(d)
    spec = meta["spec"]
    out = Path(out) if out is not None else d / "plots"
    toy = spec["objective"] != "train"
    scale = 1.0 if toy else 100.0
    ylabel = spec["metric"] + ("" if toy else " (%), " + spec["split"])
    done = [t for t in trials if t.get("curve")]
    files: dict[str, Path] = {}

    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    for i, t in enumerate(done):
        ys = [scale * c for c in t["curve"] if c is not None]
        ax.plot(range(1, len(ys) + 1), ys, marker="o", ms=3, lw=2.2 if i == 0 else 1.0,
                alpha=1.0 if i == 0 else 0.6,
                label=t["trial"] if i < 10 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(f"sweep {meta['name']}: {len(done)} trials (best drawn thick)")
    ax.grid(alpha=0.3)
    if done:
        ax.legend(fontsize=6, loc="upper right")
    files["curves"] = _save(fig, out / "curves.png")

    kinds = {x["name"]: x["kind"] for x in spec["space"]}
    swept = list(kinds) + (["seed"] if len(spec["seeds"]) > 1 else [])
    finals = [t for t in done if t["final"] is not None]
    for name in swept:
        fig = Figure(figsize=SIZE, dpi=DPI)
        ax = fig.add_subplot()
        vals: list[Any] = [t["params"].get(name) for t in finals]
        ys = [scale * t["final"] for t in finals]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        if numeric:
            ax.scatter(vals, ys)
            if kinds.get(name) in ("log", "log_int"):
                ax.set_xscale("log")
        else:
            labels = sorted({str(v) for v in vals})
            pos = {v: i for i, v in enumerate(labels)}
            ax.scatter([pos[str(v)] for v in vals], ys)
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        ax.set_xlabel(name)
        ax.set_ylabel(f"final {ylabel}")
        ax.set_title(f"sweep {meta['name']}: final {spec['metric']} against {name}")
        ax.grid(alpha=0.3)
        files[f"metric_vs_{name}"] = _save(fig, out / f"metric_vs_{name}.png")
    return files
