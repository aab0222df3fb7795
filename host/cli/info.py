"""``erbp info``: what a model file holds (configuration, sizes, versions, samples seen)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ._common import model_path, write_csv
from ..reference import modelfile
from ..reference.network import Network


def describe(net: Network, path: Path, data: bytes) -> dict[str, Any]:
    """A JSON-friendly summary of a loaded model file."""
    _, fmt, sem, size, *_ = modelfile.HEADER.unpack_from(data, 0)
    cfg = net.cfg
    variant = "perbp" if any(p < 256 for p in cfg.p_transmit) else "erbp"
    return {
        "file": str(path), "bytes": size, "format_version": fmt, "semantics_version": sem,
        "topology": "-".join(map(str, cfg.sizes)), "variant": variant, "seed": net.seed,
        "samples_seen": net.samples_seen,
        "weights": int(sum(w.size for w in net.W)), "feedback": int(sum(g.size for g in net.G)),
        "weight_bits": cfg.weight_bits, "config": cfg.as_dict(),
    }


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (only).")
@click.option("--npz", "npz_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the weights (W0.. int8 for 8-bit weights) and feedback matrices "
                   "(G0.. int16) to this .npz file (numpy.load).")
@click.option("--csv", "as_csv", is_flag=True,
              help="Print the summary as CSV rows key,value (configuration fields as "
                   "config.NAME; per-layer lists joined by spaces).")
def info(model: Path, as_json: bool, as_csv: bool, npz_out: Path | None) -> None:
    """Show what MODEL (a model file or a run directory) holds."""
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    path = model_path(model)
    data = modelfile.read_bytes(path)  # bounded by the largest valid model file
    try:
        net = modelfile.loads(data)  # validates everything; ModelFileError says what is wrong
    except modelfile.ModelFileError as e:
        raise modelfile.ModelFileError(f"{path}: {e}") from e
    d = describe(net, path, data)
    if npz_out is not None:
        import numpy as np

        from ..export import model_arrays
        from ..fileio import open_atomic

        with open_atomic(npz_out) as f:
            np.savez(f, **model_arrays(net))
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    if as_csv:
        flat = {k: v for k, v in d.items() if k != "config"}
        flat.update({f"config.{k}": v for k, v in d["config"].items()})
        write_csv([["key", "value"], *[[k, " ".join(map(str, v)) if isinstance(v, list) else v]
                                       for k, v in flat.items()]], "-")
        return
    rows = [("model file", f"{d['file']} ({d['bytes']:,} bytes)"),
            ("versions", f"file format {d['format_version']}, semantics {d['semantics_version']}"),
            ("topology", f"{d['topology']} ({d['variant']})"),
            ("parameters", f"{d['weights']:,} weights of {d['weight_bits']} bits, "
                           f"{d['feedback']:,} feedback entries"),
            ("seed", str(d["seed"])), ("samples seen", f"{d['samples_seen']:,}")]
    for k, v in rows:
        click.echo(f"{k:<13} {v}")
    click.echo("configuration:")
    for k, v in d["config"].items():
        click.echo(f"  {k:<14} {','.join(map(str, v)) if isinstance(v, list) else v}")
