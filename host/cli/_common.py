"""What several ``erbp`` commands share: options, the model argument, the recorded command line.

Commands import this module, never each other.
"""
from __future__ import annotations

import csv
import io
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Any, Iterable

import click

from ..data.datasets import DATASETS, DatasetError, is_path
from ..fileio import write_text_atomic
from ..training.loop import MAX_SAMPLES
from ..training.rundir import CONFIG, MODEL, RunDir, RunDirError

__all__ = ["ARGV_KEY", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "FiniteFloat",
           "MAX_SAMPLES", "command_line", "data_dir_option", "engine_option", "model_path",
           "progress_option", "say", "show_progress", "write_csv", "write_json", "DatasetName",
           "DATASET_HELP", "DATASET_BY_INPUTS", "model_dataset"]

#: Where :class:`erbp.cli.ErbpGroup` keeps the raw arguments of the invocation (``ctx.meta``).
ARGV_KEY = "erbp.argv"

#: ``--data-dir``: where MNIST is (erbp.data.datasets.resolve_data_dir has the search order).
data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    help="MNIST directory [default: $ERBP_DATA, else ../shared/data/mnist if it exists, else "
         "~/.cache/erbp/mnist].")


class DatasetName(click.ParamType):
    """A built-in data set (mnist, digits) or the path of your own (.npz file, IDX folder)."""

    name = "dataset"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        if value in DATASETS or is_path(str(value)):
            return str(value)
        self.fail(f"{value!r} is neither {' nor '.join(DATASETS)} nor a file or folder", param,
                  ctx)


#: Help of every ``--dataset`` option.
DATASET_HELP = ("mnist, digits (scikit-learn's 8x8, no download), or your own: an .npz file "
                "(x_train, y_train[, x_test, y_test]) or a folder of IDX files (docs/usage.md)")

#: Data set of a model whose run directory is unknown, by its number of inputs.
DATASET_BY_INPUTS = {784: "mnist", 64: "digits"}


def model_dataset(model: Path, n_in: int) -> str:
    """The data set of a model: its run directory's config.json if it has one, else by inputs."""
    if (model.parent / CONFIG).is_file():
        try:
            return RunDir(model.parent).read_config()["options"]["dataset"]
        except (RunDirError, KeyError, TypeError):
            pass
    if n_in in DATASET_BY_INPUTS:
        return DATASET_BY_INPUTS[n_in]
    raise DatasetError(f"cannot tell the data set of a model with {n_in} inputs: pass --dataset")


#: ``--engine`` of the commands that train or evaluate (erbp.engines.resolve_engine).
engine_option = click.option(
    "--engine", default="auto", show_default=True,
    help="python (the reference), c, micropython, or auto (c when built, else python).")


#: Exit codes of ``erbp`` (docs/usage.md lists them, docs/reliability.md section 3): success, an
#: error (one line ``Error: ...``), a usage error (click's), interrupted by Ctrl-C (128 + SIGINT,
#: as shells report it).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses nan and infinities (which pass every comparison or none)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        v = super().convert(value, param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return v


#: ``--progress/--no-progress`` of every long command: bars on stderr, by default only when stderr
#: is a terminal (so logs and pipes stay clean); resolve with :func:`show_progress`.
progress_option = click.option(
    "--progress/--no-progress", default=None,
    help="Progress bars on stderr [default: when stderr is a terminal].")


def show_progress(progress: bool | None) -> bool:
    """The ``--progress`` choice, or by default whether stderr is a terminal."""
    return sys.stderr.isatty() if progress is None else progress


def write_json(doc: Any, dest: Path | str) -> None:
    """A JSON document to a file, or to stdout for ``-`` (then nothing else may go to stdout: the
    command's messages go to stderr, see :func:`say`)."""
    text = json.dumps(doc, indent=2) + "\n"
    if str(dest) == "-":
        click.echo(text, nl=False)
    else:
        write_text_atomic(dest, text)


def write_csv(rows: Iterable[Iterable[Any]], dest: Path | str) -> None:
    """Rows (the first one the header) as CSV to a file, or to stdout for ``-``."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    if str(dest) == "-":
        click.echo(buf.getvalue(), nl=False)
    else:
        write_text_atomic(dest, buf.getvalue())


def say(message: str, *, data_on_stdout: bool = False) -> None:
    """A human message: stdout, or stderr when stdout carries the command's data (``--json -``,
    ``--csv -``), so that the data stays parseable."""
    click.echo(message, err=data_on_stdout)


def model_path(path: Path) -> Path:
    """A model file, or the model.erbp of a run directory."""
    return path / MODEL if path.is_dir() else path


def command_line() -> str:
    """The current invocation as a shell command line, e.g. ``erbp train --samples 100``."""
    ctx = click.get_current_context(silent=True)
    argv = ctx.meta.get(ARGV_KEY, []) if ctx is not None else []
    return shlex.join(["erbp", *argv])
