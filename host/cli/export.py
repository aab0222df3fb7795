"""``erbp export``: write a trained model for a target (C header, MicroPython, model file)."""
from __future__ import annotations

from pathlib import Path

import click

from ._common import DATASET_HELP, DatasetName, model_dataset, model_path
from ..export import FORMATS, export


@click.command("export")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="c: a header embedding the model file (--out NAME.h), or a ready C project "
                   "(--out DIR: model.h, hello.c, the cport sources, a Makefile); micropython: a "
                   "directory for a board (module, model, main.py); nir: the inference graph as "
                   "a NIR file (docs/nir.md); model: a copy of the file.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Header file *.h or project directory (c), directory (micropython) or file "
                   "(nir, model).")
@click.option("--name", default="model", show_default=True,
              help="C identifier prefix of the header's arrays (format c).")
@click.option("--samples", type=click.IntRange(min=0), default=None,
              help="Also embed the first N test images and labels (hello-world programs) "
                   "[default: 20 for a C project, else 0].")
@click.option("--dataset", type=DatasetName(),
              help=DATASET_HELP + " for --samples [default: the model's run config, else by its "
                                  "input count].")
@click.option("--data-dir", default=None, help="Data directory for --samples (else ERBP_DATA).")
@click.option("--arch", default=None, help="mpy-cross architecture (format micropython).")
@click.option("--py", "py_sources", is_flag=True,
              help="Ship the module as .py sources instead of precompiled .mpy (format "
                   "micropython).")
def export_cmd(model: Path, fmt: str, out: Path, name: str, samples: int | None,
               dataset: str | None, data_dir: str | None, arch: str | None,
               py_sources: bool) -> None:
    """Export MODEL (a model file or run directory) for a target."""
    path = model_path(model)
    if samples is None:
        samples = 20 if fmt == "c" and not str(out).endswith(".h") else 0
    smp = None
    if samples > 0:
        from ..data.datasets import load_dataset
        from ..reference import modelfile

        n_in = modelfile.load(path).cfg.n_in
        data = load_dataset(dataset or model_dataset(path, n_in), data_dir)
        smp = (data.test_x[:samples], data.test_y[:samples])
    for p in export(path, fmt, out, name=name, samples=smp, arch=arch, mpy=not py_sources):
        click.echo(str(p))
