"""``erbp sweep``: run, resume or report a sweep of training runs on Ray (logic in erbp.sweep)."""
from __future__ import annotations

from pathlib import Path

import click

from ._common import command_line
from ..sweep.report import write_report
from ..sweep.runner import exit_code, require_extra, run_sweep
from ..sweep.spec import load_spec


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Sweep directory [default: sweeps/<spec name>].")
@click.option("--cpus", type=click.IntRange(min=1),
              help="CPUs of the local Ray instance (one trial each) [default: all].")
@click.option("--address", metavar="ADDR",
              help="Run on an existing Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                   "(see docs/sweeps.md).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted sweep in --out from its checkpoints.")
@click.option("--report", "report_only", is_flag=True,
              help="Only (re)write results.md and results.csv from the sweep directory.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="MNIST directory [default: the spec's data_dir, $ERBP_DATA, else "
                   "~/.cache/erbp/mnist].")
@click.option("--retries", type=click.IntRange(min=0), default=0, show_default=True,
              help="Restart a failed trial (a lost worker) this often from its checkpoint.")
@click.option("--verbose", is_flag=True, help="Ray Tune's own progress output and worker logs.")
def sweep(spec: Path, out: Path | None, cpus: int | None, address: str | None, resume: bool,
          report_only: bool, data_dir: Path | None, retries: int, verbose: bool) -> None:
    """Train every trial of the sweep SPEC (a TOML file, docs/sweeps.md) on Ray, one trial per
    CPU, each an ordinary run directory SWEEPDIR/trials/<trial>/; then write the report
    (SWEEPDIR/results.md, results.csv).

    Exits 1 if every trial failed. Ctrl-C stops; --resume continues from the trials' epoch
    checkpoints, bit-identically.
    """
    s = load_spec(spec)
    out = out or Path("sweeps") / s.name
    ddir = None if data_dir is None else str(data_dir)
    if report_only:
        write_report(out, ddir, echo=click.echo)
        return
    if cpus is not None and address is not None:
        raise click.UsageError("give --cpus (a local Ray) or --address (a cluster), not both")
    require_extra()
    trials = run_sweep(s, out, cpus=cpus, address=address, resume=resume, data_dir=ddir,
                       retries=retries, verbose=verbose, command=command_line(), echo=click.echo)
    write_report(out, ddir, echo=click.echo)
    ended = [t for t in trials if t["status"] in ("DONE", "STOPPED", "FAILED")]
    if len(ended) < s.n_trials:
        raise click.ClickException(
            f"interrupted with {s.n_trials - len(ended)} of {s.n_trials} trials unfinished; "
            f"continue with: erbp sweep {spec} --out {out} --resume")
    failed = [t for t in trials if t["status"] == "FAILED"]
    done = [t for t in trials if t["status"] in ("DONE", "STOPPED")]
    click.echo(f"{len(done)} trials finished, {len(failed)} failed")
    if exit_code(trials):
        raise click.ClickException(f"every trial failed ({len(failed)}); first: "
                                   f"{failed[0]['message'] if failed else 'none ran'}")
