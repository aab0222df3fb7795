"""``erbp train``: train a network into a run directory, or resume one (logic in erbp.training)."""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click
from click.core import ParameterSource

from ._common import (DATASET_HELP, EXIT_INTERRUPTED, MAX_SAMPLES, DatasetName, FiniteFloat,
                      command_line, data_dir_option, engine_option, progress_option,
                      show_progress)
from ..data.datasets import load_dataset
from ..engines import resolve_engine
from ..reference import VARIANTS, Network
from ..training.configure import make_config, parse_overrides
from ..training.loop import (RunOptions, TrainResult, default_test_every, open_run, run_data,
                             run_options, run_training, start_run, stop_on_sigint)
from ..training.order import MAX_EPOCH_SIZE, PROTOCOLS, default_epoch_size
from ..training.averaging import average_window, default_average
from ..training.precision import DEFAULT_GRID_BITS, GRID_BITS
from ..training.recipe import (DEFAULT_LR_SCHEDULE, SPLITS, LrSchedule, default_lr_schedule,
                               split_data)
from ..training.rundir import RunDir

#: Options that define a run; --resume keeps the run's own values and refuses new ones.
FIXED_ON_RESUME = ("dataset", "topology", "variant", "seed", "protocol", "epoch_size", "sets",
                   "grid_bits", "out", "lr_halve_every", "lr_halve_start", "split",
                   "average_last")
#: Options that --resume may change (stored in the run's config.json).
CHANGEABLE = ("test_every", "test_samples", "window", "checkpoint_every",
              "train_eval_samples")


@click.command()
@click.option("--dataset", type=DatasetName(), default="mnist", show_default=True,
              help=DATASET_HELP + ".")
@data_dir_option
@click.option("--topology", help="Paper name (784-100-10, 784-200-200-10, ...) or custom sizes "
                                 "a-b-...-z [default: <inputs>-100-<classes>].")
@click.option("--variant", type=click.Choice(VARIANTS), default="erbp", show_default=True)
@engine_option
@click.option("--samples", type=click.IntRange(0, MAX_SAMPLES),
              help="Train until samples_seen reaches this total (at most 2^32 - 1).")
@click.option("--epochs", type=FiniteFloat(min=0, min_open=True),
              help="Train this many epochs (in total) [default: 1].")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default="balanced", show_default=True,
              help="balanced: class-balanced epochs drawn with replacement (the paper's); "
                   "sequential: passes over the training set in file order.")
@click.option("--epoch-size", type=click.IntRange(1, MAX_EPOCH_SIZE),
              help="Samples per epoch [default: 50000 for balanced MNIST, else the training-set "
                   "size].")
@click.option("--lr-halve-every", type=FiniteFloat(min=0), metavar="E",
              help=f"Halve the learning rate (lr_shift + 1 on every layer) every E epochs; 0: "
                   f"constant [default for balanced epochs: max({DEFAULT_LR_SCHEDULE.every:g}, "
                   f"epochs / 5), i.e. five halvings over the run; else 0].")
@click.option("--lr-halve-start", type=FiniteFloat(), metavar="S",
              help=f"The first halving comes at epoch S + E "
                   f"[default: {DEFAULT_LR_SCHEDULE.start:g}].")
@click.option("--average-last", type=FiniteFloat(min=0), metavar="E",
              help="Also write the mean of the weights over the last E epochs (20 snapshots per "
                   "epoch) as RUNDIR/model-avg.erbp, an ordinary 8-bit model; 0: off [default: "
                   "the last halving period of the learning-rate schedule, 0 without one].")
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True,
              help="test: fit on the training set, evaluate on the test set; validation: fit on "
                   "the first 5/6 of the training set, evaluate on the rest.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=1, show_default=True,
              help="Network seed (weights, G, all randomness) and data-order seed.")
@click.option("--test-every", type=click.IntRange(min=0), default=None,
              help="Evaluate every N training samples (0: only at the end) [default: about ten "
                   "evaluations per run: 500 for 5,000 samples, 5,000 for an MNIST epoch].")
@click.option("--test-samples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Test samples per evaluation (the first N of the test set).")
@click.option("--window", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Training samples in the train-error window (predictions made during "
                   "training, with the label present).")
@click.option("--train-eval-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="At each evaluation also run inference on the first N training examples.")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=0,
              help="Checkpoint every N samples [default: --test-every, or 10000].")
@click.option("--grid-bits", type=click.IntRange(*GRID_BITS), metavar="B",
              help="Weights on a B-bit grid: the default network's real weights, range and "
                   "learning rate with 2^(B-8) times finer steps (w_shift, init_amp and "
                   "lr_shift follow; --set applies after). 9 doubles weight memory and learns "
                   "better on wide networks (docs/results.md) [default: 8].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a configuration field (repeatable); per-layer fields take comma "
                   "lists, e.g. --set lr_shift=8,9 --set ticks_train=50.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Run directory to create [default: runs/<dataset>-<date>-<time>].")
@click.option("--resume", type=click.Path(path_type=Path), metavar="RUNDIR",
              help="Continue the run in RUNDIR from its checkpoint (bit-identical to an "
                   "uninterrupted run).")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Samples per call of an engine's batch path (C engine).")
@progress_option
@click.pass_context
def train(ctx: click.Context, **o) -> None:
    """Train a network (into a run directory) or resume a run.

    Writes RUNDIR/model.erbp (checkpoints, then the final model), RUNDIR/model-avg.erbp (the
    weights averaged over the end of the run), RUNDIR/metrics.jsonl and RUNDIR/config.json
    (settings and the exact command line). Ctrl-C stops at the next sample and
    checkpoints (exit code 130); --resume RUNDIR continues bit-identically.
    """
    if o["samples"] is not None and o["epochs"] is not None:
        raise click.UsageError("give --samples or --epochs, not both")
    progress = show_progress(o["progress"])
    o["engine"] = resolve_engine(o["engine"])  # auto -> c when built; fails early if unknown
    if o["resume"] is not None:
        # the data first: a resume that cannot run leaves the run directory untouched
        data = load_dataset(run_options(RunDir.open(o["resume"])).dataset, o["data_dir"])
        run, net, state, options = _resume(ctx, o)
        data = run_data(data, options)
        click.echo(f"resuming {run.path} at {net.samples_seen} samples, target {options.samples}")
    else:
        data = split_data(load_dataset(o["dataset"], o["data_dir"]), o["split"])
        topology = o["topology"] or data.default_topology()
        overrides = parse_overrides(o["sets"])
        cfg = make_config(topology, o["variant"], overrides, n_in=data.n_in,
                          n_classes=data.n_classes, grid_bits=o["grid_bits"])
        net = Network.create(cfg, o["seed"])
        epoch_size = o["epoch_size"] or default_epoch_size(data, o["protocol"])
        total = o["samples"] if o["samples"] is not None else round((o["epochs"] or 1) *
                                                                     epoch_size)
        if total > MAX_SAMPLES:
            raise click.BadParameter(f"{o['epochs']} epochs of {epoch_size} samples are "
                                     f"{total} samples, more than {MAX_SAMPLES} (samples_seen "
                                     f"is a 32-bit counter)", param_hint="--epochs")
        every, start = _schedule(o, total / epoch_size)
        avg = (default_average(LrSchedule(every, start), epoch_size)
               if o["average_last"] is None else average_window(o["average_last"], epoch_size))
        if o["test_every"] is None:
            o["test_every"] = default_test_every(total)
        options = RunOptions(dataset=data.name, samples=total, protocol=o["protocol"],
                             epoch_size=epoch_size, order_seed=o["seed"], lr_halve_every=every,
                             lr_halve_start=start, split=o["split"],
                             average_last=avg.epochs, average_every=avg.every,
                             **{k: o[k] for k in CHANGEABLE})
        run = start_run(o["out"] or _default_out(data.name), net, options,
                        extra={"dataset": data.name, "topology": topology,
                               "variant": o["variant"],
                               "grid_bits": (DEFAULT_GRID_BITS if o["grid_bits"] is None
                                             else o["grid_bits"]),
                               "overrides": {k: cfg.as_dict()[k] for k in overrides}},
                        command=command_line(), exclusive=True)
        state = None
        click.echo(f"run {run.path}: {data.name}, {'-'.join(map(str, cfg.sizes))} "
                   f"{o['variant']}, seed {o['seed']}, {total} samples, engine {o['engine']}"
                   + (f", lr halves every {every:g} epochs from {start:g}" if every else "")
                   + (f", weights averaged over the last {avg.epochs:g} epochs"
                      if avg.active else "")
                   + (", validation split" if o["split"] == "validation" else ""))
    t0 = time.monotonic()
    with stop_on_sigint() as stop:
        result = run_training(run, net, data, options, state, engine=o["engine"],
                              progress=progress, stop=stop, batch_size=o["batch_size"])
    _report(result, run.path, time.monotonic() - t0)
    if result.interrupted:
        ctx.exit(EXIT_INTERRUPTED)  # stopped early: not a success (docs/usage.md)


def _schedule(o: dict, epochs: float) -> tuple[float, float]:
    """(halve every, start) of a new run of ``epochs`` epochs: the options, else
    erbp.training.recipe.default_lr_schedule for balanced epochs, else a constant learning
    rate."""
    default = default_lr_schedule(epochs).every if o["protocol"] == "balanced" else 0.0
    every = default if o["lr_halve_every"] is None else o["lr_halve_every"]
    start = DEFAULT_LR_SCHEDULE.start if o["lr_halve_start"] is None else o["lr_halve_start"]
    return every, start


def _resume(ctx: click.Context, o: dict):
    given = [n for n in FIXED_ON_RESUME if ctx.get_parameter_source(n) in
             (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)]
    if given:
        names = ", ".join("--" + ("set" if n == "sets" else n.replace("_", "-")) for n in given)
        raise click.UsageError(f"--resume continues a run with its own settings: {names} "
                               f"cannot be given with it")
    changes = {k: o[k] for k in CHANGEABLE
               if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
    if o["samples"] is not None:
        changes["samples"] = o["samples"]
    if o["epochs"] is not None:
        changes["epochs"] = o["epochs"]
    return open_run(o["resume"], command_line(), changes)


def _report(result: TrainResult, path: Path, seconds: float) -> None:
    net = result.network
    click.echo(f"samples seen: {net.samples_seen} ({seconds:.1f} s this session)")
    if result.records:
        r = result.records[-1]
        click.echo(f"test error: {100 * r['test_error']:.2f}% on {r['test_samples']} test "
                   f"samples at {r['samples_seen']} samples")
    click.echo(f"model: {path / 'model.erbp'}")
    if result.average is not None:
        r = result.records[-1] if result.records else {}
        err = (f", test error {100 * r['avg_test_error']:.2f}% on {r['test_samples']} test "
               f"samples" if "avg_test_error" in r else "")
        click.echo(f"averaged model ({r.get('avg_snapshots', '?')} snapshots{err}): "
                   f"{path / 'model-avg.erbp'}")
    if result.interrupted:
        click.echo(f"interrupted: checkpoint saved; continue with: erbp train --resume {path}")


def _default_out(dataset: str) -> Path:
    base = Path("runs") / f"{dataset}-{datetime.now():%Y%m%d-%H%M%S}"
    out, i = base, 2
    while out.exists():
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    return out

