"""Figures of a training run: learning curve, spike rasters (mistakes marked), weight histograms,
confusion matrix, receptive fields (with a colour bar), and a one-page summary of all of them.
PNG files of fixed pixel sizes, drawn with matplotlib's Agg renderer.

A run directory (``erbp train --out RUNDIR``, see :mod:`erbp.training.rundir`) holds ``model.erbp``
(the trained network), ``metrics.jsonl`` (one record per evaluation: ``samples_seen``,
``test_error`` and ``train_error`` as fractions, ...) and ``config.json`` (the data set, among
others). The weights *before* training are those of ``initial.erbp`` if the directory has one, else
they are regenerated from the model's configuration and seed (initial weights are a pure function of
the two, docs/semantics.md section 6).

No pyplot: every figure is a :class:`matplotlib.figure.Figure` saved directly, so importing this
module never changes the caller's matplotlib backend and works without a display.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .fileio import read_jsonl
from .reference import INFER, Network, modelfile
from .training.rundir import CONFIG, METRICS, MODEL, RunDir, RunDirError

INITIAL = "initial.erbp"
DPI = 100
#: Figure sizes in inches (pixels = inches * DPI).
SIZES: dict[str, tuple[float, float]] = {
    "curve": (8, 5), "rasters": (12, 8), "weights": (10, 4), "confusion": (6, 5.5),
    "fields": (10.5, 10), "summary": (14, 10),
}
#: File names written by :func:`plot_all`.
FILES: dict[str, str] = {
    "curve": "learning_curve.png", "rasters": "rasters.png", "weights": "weights.png",
    "confusion": "confusion.png", "fields": "receptive_fields.png", "summary": "summary.png",
}
#: Colours that mark a wrong prediction and the true label in the rasters.
WRONG, TRUE = "tab:red", "tab:green"


def pixel_size(kind: str) -> tuple[int, int]:
    """(width, height) in pixels of the figure ``kind`` (a key of :data:`SIZES`)."""
    w, h = SIZES[kind]
    return int(round(w * DPI)), int(round(h * DPI))


def _figure(kind: str) -> Figure:
    return Figure(figsize=SIZES[kind], dpi=DPI)


def _save(fig: Figure, out: str | os.PathLike) -> Path:
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=DPI, format="png")  # no bbox_inches="tight": the pixel size stays fixed
    return p


# --- the run directory ----------------------------------------------------------------------------
@dataclass
class Run:
    """What the figures need from a run directory."""

    path: Path
    net: Network
    initial: Network
    metrics: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        sizes = "-".join(map(str, self.net.cfg.sizes))
        variant = self.config.get("variant", "")
        return f"{sizes} {variant} ({self.path.name}, {self.net.samples_seen} samples)".strip()


def load_run(path: str | os.PathLike) -> Run:
    """Read a run directory (see the module docstring); only model.erbp is required."""
    p = Path(path)
    if not (p / MODEL).is_file():
        raise RunDirError(f"{p} is not a run directory: {MODEL} is missing")
    net = modelfile.load(p / MODEL)
    initial = modelfile.load(p / INITIAL) if (p / INITIAL).is_file() else \
        Network.create(net.cfg, net.seed)
    config = RunDir(p).read_config() if (p / CONFIG).is_file() else {}
    return Run(p, net, initial, read_jsonl(p / METRICS), config)


# --- learning curve -------------------------------------------------------------------------------
def _percent(values: Sequence[float | None]) -> np.ndarray:
    """Errors as percentages: fractions are scaled by 100; a series already above 1 is kept."""
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=float)
    return v if np.nanmax(v, initial=0.0) > 1.0 else 100.0 * v


def plot_learning_curve(records: Sequence[dict[str, Any]], out: str | os.PathLike,
                        title: str = "", reference: dict[str, float] | None = None) -> Path:
    """Test error in % against training samples seen, with the training errors the records
    have: ``train_eval_error`` (training samples run in inference mode) and ``train_error`` (the
    predictions made while training, which the label spikes drive towards the label).

    ``reference``: horizontal lines, label -> error in % (e.g. the paper's figure)."""
    fig = _figure("curve")
    _draw_curve(fig.add_subplot(), records, title, reference)
    fig.tight_layout()
    return _save(fig, out)


def _draw_curve(ax: Any, records: Sequence[dict[str, Any]], title: str = "",
                reference: dict[str, float] | None = None) -> None:
    recs = [r for r in records if r.get("samples_seen") is not None]
    x = np.array([r["samples_seen"] for r in recs], dtype=float)
    if len(recs):
        test = _percent([r.get("test_error") for r in recs])
        ax.plot(x, test, "o-", label="test error")
        ax.annotate(f"{test[-1]:.1f} %", (x[-1], test[-1]), textcoords="offset points",
                    xytext=(4, 6), fontsize=8)
        for key, style, label in (
                ("train_eval_error", "^-", "training-set error (inference)"),
                ("train_error", "s--", "training error in train mode (window)")):
            ys = [r.get(key) for r in recs]
            if any(y is not None for y in ys):
                ax.plot(x, _percent(ys), style, alpha=0.7, label=label)
        if x.min() > 0 and x.max() / x.min() >= 100:
            ax.set_xscale("log")
        else:
            ax.set_xlim(left=0)
    for name, err in (reference or {}).items():
        ax.axhline(err, color="grey", ls=":", lw=1)
        ax.annotate(name, (0.01, err), xycoords=("axes fraction", "data"), fontsize=8,
                    color="grey", va="bottom")
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("error (%)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "learning curve")
    if not recs:
        ax.text(0.5, 0.5, "no evaluations yet", ha="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=8)


# --- spike rasters --------------------------------------------------------------------------------
@dataclass
class Raster:
    """Spikes of one sample: ``spikes[p]`` is a bool array (ticks, neurons) for population p
    (hidden layers, then the output); ``inputs`` the same for the input neurons."""

    label: int
    prediction: int
    counts: np.ndarray
    spikes: list[np.ndarray]
    inputs: np.ndarray


def record_raster(net: Network, pixels: np.ndarray, label: int, sample: int = 0,
                  mode: str = INFER) -> Raster:
    """Run one sample on a copy of ``net`` (weights untouched) recording every spike per tick."""
    n = net.copy()
    ticks: list[list[np.ndarray]] = []
    inputs: list[np.ndarray] = []

    def on_tick(x: Network) -> None:
        ticks.append([p.spk.copy() for p in x.pops])
        inputs.append(x.in_spk.copy())

    r = n.run_sample(pixels, label if mode != INFER else -1, mode, sample=sample, on_tick=on_tick)
    spikes = [np.array([t[p] for t in ticks], dtype=bool) for p in range(len(n.pops))]
    return Raster(int(label), r.prediction, r.counts, spikes, np.array(inputs, dtype=bool))


def plot_rasters(rasters: Sequence[Raster], out: str | os.PathLike, title: str = "",
                 image_shape: tuple[int, int] | None = None,
                 images: Sequence[np.ndarray] | None = None) -> Path:
    """One column per digit: the image, the raster of every hidden layer, the output raster
    (neuron index against tick). A wrong prediction is marked: its title in red, the predicted
    output row shaded red and the true label's row green."""
    fig = _figure("rasters")
    n = len(rasters)
    if n == 0:
        raise ValueError("no rasters to plot")
    n_pop = len(rasters[0].spikes)
    rows = ([1] if images is not None else []) + [3] * (n_pop - 1) + [1.2]
    gs = fig.add_gridspec(len(rows), n, height_ratios=rows)
    for c, ras in enumerate(rasters):
        row = 0
        if images is not None:
            ax = fig.add_subplot(gs[row, c])
            ax.imshow(np.asarray(images[c]).reshape(image_shape or _square(images[c].size)),
                      cmap="gray_r")
            ax.set_axis_off()
            _raster_title(ax, ras)
            row += 1
        for p, spk in enumerate(ras.spikes):
            ax = fig.add_subplot(gs[row + p, c])
            ax.imshow(spk.T, aspect="auto", cmap="Greys", interpolation="nearest",
                      origin="lower", vmin=0, vmax=1)
            is_out = p == n_pop - 1
            if c == 0:
                ax.set_ylabel("output" if is_out else f"hidden {p}", fontsize=9)
            if is_out:
                _mark_output(ax, ras)
                ax.set_xlabel("tick", fontsize=9)
                ax.set_yticks(range(spk.shape[1]))
                ax.tick_params(labelsize=6)
                if images is None:
                    _raster_title(ax, ras)
            else:
                ax.set_xticks([])
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
                ax.tick_params(labelsize=6)
    fig.suptitle(title or "spike rasters (inference)", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


def _raster_title(ax: Any, ras: Raster) -> None:
    wrong = ras.prediction != ras.label
    ax.set_title(f"label {ras.label}, predicted {ras.prediction}" + (" (wrong)" if wrong else ""),
                 fontsize=9, color=WRONG if wrong else "black")


def _mark_output(ax: Any, ras: Raster) -> None:
    """Shade the true label's output row (green) and, when wrong, the predicted one (red)."""
    ax.axhspan(ras.label - 0.5, ras.label + 0.5, color=TRUE, alpha=0.25, lw=0)
    if ras.prediction != ras.label:
        ax.axhspan(ras.prediction - 0.5, ras.prediction + 0.5, color=WRONG, alpha=0.3, lw=0)
        for side in ax.spines.values():
            side.set_edgecolor(WRONG)
            side.set_linewidth(2)


def _square(n: int) -> tuple[int, int]:
    """A (rows, columns) image shape for n pixels: square if n is a square, else one row."""
    s = int(round(np.sqrt(n)))
    return (s, s) if s * s == n else (1, n)


# --- weight histograms ----------------------------------------------------------------------------
def plot_weight_histograms(before: Sequence[np.ndarray], after: Sequence[np.ndarray],
                           out: str | os.PathLike, w_range: tuple[int, int] | None = None,
                           title: str = "") -> Path:
    """Histogram of every weight layer, before and after training (weight units, log counts).
    ``w_range``: the integer weight range (one bin per value up to 256 values)."""
    fig = _figure("weights")
    n = len(after)
    for l in range(n):
        ax = fig.add_subplot(1, n, l + 1)
        lo, hi = w_range if w_range is not None else (
            float(min(before[l].min(), after[l].min())), float(max(before[l].max(),
                                                                   after[l].max())))
        if w_range is not None and hi - lo + 1 <= 256:
            bins = np.arange(lo - 0.5, hi + 1.5)
        else:
            bins = np.linspace(lo, hi, 101)
        for w, name, color in ((before[l], "before", "tab:blue"), (after[l], "after",
                                                                      "tab:orange")):
            counts, edges = np.histogram(np.ravel(w), bins=bins)
            ax.stairs(counts, edges, fill=True, alpha=0.6, label=name, color=color)
        ax.set_yscale("log")
        ax.set_title(f"layer {l} ({before[l].shape[0]}x{before[l].shape[1]})", fontsize=9)
        ax.set_xlabel("weight", fontsize=9)
        ax.tick_params(labelsize=7)
        if l == 0:
            ax.set_ylabel("count")
            ax.legend(fontsize=8)
    fig.suptitle(title or "weights before and after training", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)


# --- confusion matrix -----------------------------------------------------------------------------
def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``m[true, predicted]`` (int64, n_classes x n_classes)."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return m


def plot_confusion(m: np.ndarray, out: str | os.PathLike, title: str = "") -> Path:
    """The confusion matrix as an image with counts; rows true classes, columns predictions."""
    fig = _figure("confusion")
    ax = fig.add_subplot()
    rate = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
    k = m.shape[0]
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if rate[i, j] > 0.5 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    n = int(m.sum())
    err = 100.0 * (1 - np.trace(m) / n) if n else float("nan")
    ax.set_title(title or f"confusion matrix: {n} test samples, error {err:.2f} %", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    fig.tight_layout()
    return _save(fig, out)


def predict(net: Network, x: np.ndarray, labels: np.ndarray, engine: str = "auto") -> np.ndarray:
    """Predictions of ``net`` for test samples ``x`` (sample index = position), with the named
    engine ("auto": the C engine if it is built, else the reference). Weights are unchanged."""
    from .engines import make_engine, resolve_engine

    eng = make_engine(resolve_engine(engine), net.copy())
    return eng.run_samples(x, labels, INFER, 0).predictions


# --- receptive fields -----------------------------------------------------------------------------
def plot_receptive_fields(w0: np.ndarray, out: str | os.PathLike,
                          image_shape: tuple[int, int] | None = None, n_units: int = 100,
                          title: str = "") -> Path:
    """The input weights of the first ``n_units`` hidden units (columns of W0) as images on one
    colour scale (integer weight units, red positive, blue negative) with its colour bar."""
    fig = _figure("fields")
    n = min(n_units, w0.shape[1])
    shape = image_shape or _square(w0.shape[0])
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    a = max(float(np.abs(w0[:, :n]).max()), 1.0)
    im = None
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        im = ax.imshow(w0[:, i].astype(float).reshape(shape), cmap="bwr", vmin=-a, vmax=a,
                       interpolation="nearest")
        ax.set_axis_off()
    fig.suptitle(title or f"receptive fields: input weights of {n} hidden units", fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.9, bottom=0.01, top=0.95, wspace=0.05, hspace=0.05)
    fig.colorbar(im, cax=fig.add_axes((0.92, 0.1, 0.02, 0.8)), label="weight (integer units)")
    return _save(fig, out)


def _field_mosaic(w0: np.ndarray, shape: tuple[int, int], n: int) -> np.ndarray:
    """The first n receptive fields tiled into one image (NaN gaps), for the summary."""
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w = shape
    m = np.full((rows * (h + 1), cols * (w + 1)), np.nan)
    for i in range(min(n, w0.shape[1])):
        r, c = divmod(i, cols)
        m[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = w0[:, i].reshape(shape)
    return m


def plot_summary(run: "Run", out: str | os.PathLike, raster: Raster, image: np.ndarray,
                 image_shape: tuple[int, int], m: np.ndarray) -> Path:
    """One page per run: the learning curve, the confusion matrix (``m``), the figures in words,
    16 receptive fields with their colour bar, and the rasters of one test digit (a mistake if
    there is one)."""
    fig = _figure("summary")
    gs = fig.add_gridspec(2, 3, width_ratios=[1.3, 1, 1])
    _draw_curve(fig.add_subplot(gs[0, 0]), run.metrics, "learning curve")
    ax = fig.add_subplot(gs[0, 1])
    rate = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
    n = int(m.sum())
    ax.set_title(f"confusion: {n} test samples, error {100 * (1 - np.trace(m) / max(n, 1)):.2f} %",
                 fontsize=9)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax = fig.add_subplot(gs[0, 2])
    ax.set_axis_off()
    cfg, last = run.net.cfg, (run.metrics[-1] if run.metrics else {})
    lines = [f"network   {'-'.join(map(str, cfg.sizes))} {run.config.get('variant', '')}",
             f"data      {Path(str(run.config.get('dataset', '?'))).name}",
             f"trained   {run.net.samples_seen:,} samples, seed {run.net.seed}",
             f"weights   {cfg.weight_bits} bits, states {cfg.state_bits} bits",
             f"ticks     {cfg.ticks_train} train / {cfg.ticks_infer} infer",
             f"readout   {'summed current' if cfg.readout else 'spike count'}, exit "
             f"{cfg.exit_margin:,}" if cfg.exit_margin else
             f"readout   {'summed current' if cfg.readout else 'spike count'}, no exit"]
    if last.get("test_error") is not None:
        lines.append(f"test err  {100 * last['test_error']:.2f} % on {last.get('test_samples')}"
                     f" at {last['samples_seen']:,}")
    ax.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=9,
            transform=ax.transAxes)
    if cfg.n_hidden:
        ax = fig.add_subplot(gs[1, 0])
        w0 = run.net.W[0]
        a = max(float(np.abs(w0[:, :16]).max()), 1.0)
        im = ax.imshow(_field_mosaic(w0, image_shape, 16), cmap="bwr", vmin=-a, vmax=a,
                       interpolation="nearest")
        ax.set_axis_off()
        ax.set_title("receptive fields (16 hidden units)", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight")
    sub = gs[1, 1:].subgridspec(len(raster.spikes), 2, width_ratios=[1, 4],
                                height_ratios=[3] * (len(raster.spikes) - 1) + [1.2])
    ax = fig.add_subplot(sub[:, 0])
    ax.imshow(np.asarray(image).reshape(image_shape), cmap="gray_r")
    ax.set_axis_off()
    _raster_title(ax, raster)
    for p, spk in enumerate(raster.spikes):
        ax = fig.add_subplot(sub[p, 1])
        ax.imshow(spk.T, aspect="auto", cmap="Greys", interpolation="nearest", origin="lower",
                  vmin=0, vmax=1)
        ax.tick_params(labelsize=6)
        last_pop = p == len(raster.spikes) - 1
        ax.set_ylabel("output" if last_pop else f"hidden {p}", fontsize=8)
        if last_pop:
            _mark_output(ax, raster)
            ax.set_xlabel("tick", fontsize=8)
        else:
            ax.set_xticks([])
    fig.suptitle(run.title, fontsize=12)
    fig.tight_layout()
    return _save(fig, out)


# --- everything -----------------------------------------------------------------------------------
def plot_all(rundir: str | os.PathLike, outdir: str | os.PathLike | None = None,
             n_digits: int = 4, n_test: int = 1000, engine: str = "auto",
             data: Any = None, kinds: Sequence[str] | None = None) -> dict[str, Path]:
    """Write the figures of a run (all of :data:`FILES`, or ``kinds``) into ``outdir``
    (default RUNDIR/plots). ``n_digits`` test digits for the rasters; the first ``n_test`` test
    samples for the confusion matrix, run on ``engine``. ``data``: an erbp.data.Dataset
    (default: the run's data set, loaded from its config.json, MNIST if it names none).
    Returns kind -> file written. The receptive fields need a hidden layer."""
    run = load_run(rundir)
    out = Path(outdir) if outdir is not None else run.path / "plots"
    kinds = list(kinds or FILES)
    unknown = sorted(set(kinds) - set(FILES))
    if unknown:
        raise ValueError(f"unknown figures {unknown}; known: {', '.join(FILES)}")
    if data is None and {"rasters", "confusion", "summary"} & set(kinds):
        from .data.datasets import load_dataset

        data = load_dataset(run.config.get("dataset", "mnist"))
    shape = tuple(data.image_shape) if data is not None else None
    written: dict[str, Path] = {}
    cfg = run.net.cfg
    if "curve" in kinds:
        written["curve"] = plot_learning_curve(run.metrics, out / FILES["curve"], run.title,
                                               _paper_reference(cfg.sizes, run.config))
    if "rasters" in kinds:
        idx = _one_per_class(data.test_y, n_digits)
        rasters = [record_raster(run.net, data.test_x[i], int(data.test_y[i]), sample=int(i))
                   for i in idx]
        written["rasters"] = plot_rasters(rasters, out / FILES["rasters"], run.title, shape,
                                          [data.test_x[i] for i in idx])
    if "weights" in kinds:
        written["weights"] = plot_weight_histograms(run.initial.W, run.net.W,
                                                    out / FILES["weights"],
                                                    (cfg.w_min, cfg.w_max), run.title)
    if {"confusion", "summary"} & set(kinds):
        n = min(n_test, len(data.test_y))
        preds = predict(run.net, data.test_x[:n], data.test_y[:n], engine)
        m = confusion_matrix(data.test_y[:n], preds, cfg.n_out)
    if "confusion" in kinds:
        written["confusion"] = plot_confusion(m, out / FILES["confusion"])
    if "fields" in kinds and cfg.n_hidden > 0:
        written["fields"] = plot_receptive_fields(run.net.W[0], out / FILES["fields"], shape)
    if "summary" in kinds:
        wrong = np.flatnonzero(preds != data.test_y[:n])
        i = int(wrong[0]) if len(wrong) else 0  # a mistake if there is one
        ras = record_raster(run.net, data.test_x[i], int(data.test_y[i]), sample=i)
        written["summary"] = plot_summary(run, out / FILES["summary"], ras, data.test_x[i],
                                          shape or _square(cfg.n_in), m)
    return written


def _one_per_class(labels: np.ndarray, n: int) -> list[int]:
    """Indices of the first test sample of classes 0, 1, ... (n of them, cycling if needed)."""
    out: list[int] = []
    classes = np.unique(labels)
    for k in range(n):
        c = classes[k % len(classes)]
        hits = np.flatnonzero(labels == c)
        out.append(int(hits[(k // len(classes)) % len(hits)]))
    return out


def _paper_reference(sizes: tuple[int, ...], config: dict[str, Any]) -> dict[str, float]:
    """The paper's Table 1 errors for this topology (approximate, erbp-paper.md section 11)."""
    from .research.paper import PAPER_TABLE1

    row = PAPER_TABLE1.get("-".join(map(str, sizes)))
    if row is None:
        return {}
    variant = config.get("variant", "erbp")
    key = "peRBP" if variant == "perbp" else "eRBP"
    return {f"paper {key}": row[key], "paper BP (GPU)": row["BP"]}
