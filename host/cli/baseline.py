"""``erbp baseline``: train a float (non-spiking) baseline of the paper's table
(:mod:`erbp.research.baselines`)."""
from __future__ import annotations

from pathlib import Path

import click

from ._common import FiniteFloat
from ..data.datasets import DATASETS, load_dataset
from ..provenance import command_line
from ..research.baselines import ACTIVATIONS, RULES, BaselineConfig, run_baseline


@click.command()
@click.option("--topology", default="784-100-10", show_default=True,
              help="Sizes, e.g. 784-500-500-10.")
@click.option("--rule", type=click.Choice(RULES), default="bp", show_default=True,
              help="bp: back-propagation; fa: feedback alignment; dfa: direct random feedback "
                   "to each hidden layer (eRBP's RBP).")
@click.option("--activation", type=click.Choice(ACTIVATIONS), default="tanh",
              show_default=True)
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=0.05, show_default=True,
              help="SGD step on the batch-mean gradient (the paper's GPU rate 0.4/n_batch on "
                   "the summed gradient is --lr 0.4, good with --activation sigmoid for narrow "
                   "networks only).")
@click.option("--batch-size", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=60, show_default=True)
@click.option("--epoch-size", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Class-balanced draws with replacement per epoch.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=1, show_default=True,
              help="Initial weights, feedback matrices and the sample order (the same order as "
                   "`erbp train --seed`).")
@click.option("--test-samples", type=click.IntRange(min=1), default=None,
              help="The first N test images [default: all].")
@click.option("--dataset", type=click.Choice(sorted(DATASETS)), default="mnist",
              show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Run directory: created, or resumed if it holds a run with these settings.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="BLAS threads.")
def baseline(**o) -> None:
    """Train a float MLP with BP, FA or DFA on the paper's protocol (resumable)."""
    data = load_dataset(o["dataset"], o["data_dir"])
    cfg = BaselineConfig(topology=o["topology"], rule=o["rule"], activation=o["activation"],
                         lr=o["lr"], batch_size=o["batch_size"], epochs=o["epochs"],
                         epoch_size=o["epoch_size"], seed=o["seed"],
                         test_samples=o["test_samples"])
    r = run_baseline(cfg, data, out=o["out"], log=click.echo, command=command_line(),
                     threads=o["threads"])
    s = r.summary
    if s["test_error_last"] is not None:
        click.echo(f"{cfg.topology} {cfg.rule}: test error {100 * s['test_error_last']:.2f} % "
                   f"(mean of the last {min(cfg.average_last, s['epochs_done'])} of "
                   f"{s['epochs_done']} epochs), {s['time_s']:.0f} s; {o['out']}/summary.json")

