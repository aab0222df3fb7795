"""``erbp convert``: a model file of semantics version 1 as a file of this version, exactly."""
from __future__ import annotations

from pathlib import Path

import click

from ._common import model_path
from ..reference import SEMANTICS_VERSION, modelfile
from ..reference.fileio import write_bytes_atomic


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite NEW if it exists.")
def convert(old: Path, new: Path, force: bool) -> None:
    """Rewrite OLD (a model file of semantics version 1, or a run directory) as NEW, a model
    file of this erbp's semantics version that computes exactly what version 1 computed: the
    spike-count readout (readout 0), no early exit (exit_margin 0) and the training transmission
    in inference (p_infer = p_transmit). Weights, feedback, seed and samples_seen are kept. To
    infer with the new readout, evaluate or edit the converted model (erbp eval --set), or
    retrain."""
    src = model_path(old)
    if new.exists() and not force:
        raise click.ClickException(f"{new} exists: pass --force to overwrite it")
    try:
        out = modelfile.convert_v1(modelfile.read_bytes(src))  # a bounded read
    except modelfile.ModelFileError as e:
        raise click.ClickException(f"{src}: {e}") from None
    write_bytes_atomic(new, out)
    net = modelfile.loads(out)
    click.echo(f"wrote {new}: semantics version {SEMANTICS_VERSION}, "
               f"{'-'.join(map(str, net.cfg.sizes))}, {net.samples_seen:,} training samples seen; "
               f"readout 0, exit_margin 0, p_infer {','.join(map(str, net.cfg.p_infer))} "
               f"(the numbers of version 1)")
