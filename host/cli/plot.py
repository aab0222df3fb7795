"""``erbp plot``: figures of a run directory (:mod:`erbp.plots`), as PNG files.

Every subcommand takes the run directory and writes into ``--out`` (default RUNDIR/plots).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ._common import data_dir_option
from ..plots import FILES

plot = click.Group("plot", help="Figures of a run directory (PNG files in RUNDIR/plots).")

_RUNDIR = click.argument("rundir", type=click.Path(exists=True, file_okay=False, path_type=Path))
_OUT = click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                    help="Directory for the PNG files [default: RUNDIR/plots].")
_DIGITS = click.option("--digits", type=click.IntRange(min=1), default=4, show_default=True,
                       help="Test digits in the raster figure (one per class).")
_TEST = click.option("--test-samples", type=click.IntRange(min=1), default=1000,
                     show_default=True, help="Test samples for the confusion matrix.")
_ENGINE = click.option("--engine", default="auto", show_default=True,
                       help="Engine for the confusion matrix: auto (c if built), python or c.")


def _run(rundir: Path, out: Path | None, kinds: list[str], data_dir: Path | None = None,
         **kw: Any) -> None:
    from ..plots import load_run, plot_all

    data = None
    if data_dir is not None and {"rasters", "confusion", "summary"} & set(kinds):
        from ..data.datasets import load_dataset

        data = load_dataset(load_run(rundir).config.get("dataset", "mnist"), data_dir)
    for kind, path in plot_all(rundir, out, data=data, kinds=kinds, **kw).items():
        click.echo(f"{kind}: {path}")


def _single(kind: str, doc: str, *options: Callable) -> None:
    """Register ``erbp plot <kind> RUNDIR`` drawing one figure."""

    def cmd(rundir: Path, out: Path | None, **kw: Any) -> None:
        _run(rundir, out, [kind], **kw)

    cmd.__doc__ = doc
    for opt in reversed((_RUNDIR, _OUT, *options)):
        cmd = opt(cmd)
    plot.command(kind)(cmd)


@plot.command("all")
@_RUNDIR
@_OUT
@_DIGITS
@_TEST
@_ENGINE
@data_dir_option
def plot_all_cmd(rundir: Path, out: Path | None, digits: int, test_samples: int, engine: str,
                 data_dir: Path | None) -> None:
    """Every figure: learning curve, rasters, weights, confusion matrix, receptive fields, and
    the one-page summary."""
    _run(rundir, out, list(FILES), data_dir, n_digits=digits, n_test=test_samples,
         engine=engine)


_single("curve", "Test and training error against training samples seen (metrics.jsonl).")
_single("weights", "Weight histograms of every layer, before and after training.")
_single("fields", "Input weights of hidden units as images (receptive fields).")


@plot.command("rasters")
@_RUNDIR
@_OUT
@_DIGITS
@data_dir_option
def plot_rasters_cmd(rundir: Path, out: Path | None, digits: int, data_dir: Path | None) -> None:
    """Hidden and output spike rasters of a few test digits (inference)."""
    _run(rundir, out, ["rasters"], data_dir, n_digits=digits)


@plot.command("confusion")
@_RUNDIR
@_OUT
@_TEST
@_ENGINE
@data_dir_option
def plot_confusion_cmd(rundir: Path, out: Path | None, test_samples: int, engine: str,
                       data_dir: Path | None) -> None:
    """Confusion matrix on the first test samples."""
    _run(rundir, out, ["confusion"], data_dir, n_test=test_samples, engine=engine)


@plot.command("sweep")
@click.argument("sweepdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_OUT
def plot_sweep_cmd(sweepdir: Path, out: Path | None) -> None:
    """Learning curves of every trial of a sweep and the final metric against each swept
    parameter (erbp.sweep.plots; PNG files in SWEEPDIR/plots)."""
    from ..sweep.plots import plot_sweep

    for kind, path in plot_sweep(sweepdir, out).items():
        click.echo(f"{kind}: {path}")

@plot.command("summary")
@_RUNDIR
@_OUT
@_TEST
@_ENGINE
@data_dir_option
def plot_summary_cmd(rundir: Path, out: Path | None, test_samples: int, engine: str,
                     data_dir: Path | None) -> None:
    """One page: learning curve, confusion matrix, the figures, receptive fields, a raster."""
    _run(rundir, out, ["summary"], data_dir, n_test=test_samples, engine=engine)
