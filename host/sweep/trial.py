"""One trial of a sweep: an ordinary run directory trained epoch by epoch on a Ray worker.

The run directory is ``SWEEPDIR/trials/<trial name>/`` (config.json, model.erbp, state.json,
metrics.jsonl, as ``erbp train`` writes them; config.json also holds ``"sweep"``: the sweep's
name and the trial's parameters). After every epoch the trial evaluates on the scoring images
(the spec's split), reports the metric to Ray Tune, and hands Ray Tune the run directory as the
trial's checkpoint. A trial that is restored (a resumed sweep, or a trial moved to another
worker) first copies its latest Ray checkpoint back into the run directory, then continues from
there: the sample order and the learning rate are functions of samples_seen, so it ends
bit-identical to an uninterrupted trial.

A configuration that erbp refuses (say gate_lo >= gate_hi) raises :class:`TrialRefused` with the
one-line message: Ray Tune marks that trial failed; the others go on.
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

from ..data import Dataset
from ..errors import ErbpError
from ..reference import ConfigError, Network
from ..training import RunOptions, default_epoch_size, run_options, run_training, start_run
from ..training.configure import make_config
from ..training.averaging import average_window
from ..training.precision import DEFAULT_GRID_BITS
from ..training.recipe import LrSchedule
from ..training.rundir import AVERAGE, CONFIG, METRICS, MODEL, MODEL_AVG, STATE, RunDir
from .spec import RUN_PARAMS, Spec, trial_params

#: Errors of a trial's configuration or run directory: the trial fails with their message.
REFUSALS = (ErbpError,)
RUN_FILES = (CONFIG, MODEL, STATE, METRICS, AVERAGE, MODEL_AVG)
TRIALS = "trials"


class TrialRefused(ErbpError, RuntimeError):
    """erbp refused a trial's configuration; the message is the one line to report."""


@dataclasses.dataclass(frozen=True)
class TrialSetup:
    """What every trial of a sweep shares (sent to workers once, through Ray's object store):
    the absolute sweep directory, the spec, the data set as the runs see it (split applied; None
    for a toy objective) and the engine name."""

    sweep_dir: str
    spec: Spec
    data: Dataset | None
    engine: str


def run_trial(config: dict[str, Any], setup: TrialSetup) -> None:
    """The Ray Tune function trainable (see the module docstring)."""
    from ray import tune

    spec = setup.spec
    name = tune.get_context().get_trial_name()
    if spec.objective.startswith("toy:"):
        return _toy(config, spec)
    run_path = Path(setup.sweep_dir) / TRIALS / name
    try:
        run, net, state, options = _open(run_path, tune.get_checkpoint(), config, setup, name)
    except REFUSALS as e:
        raise TrialRefused(" ".join(str(e).split())) from None
    data = setup.data
    epoch_size = options.epoch_size
    first = net.samples_seen // epoch_size
    if first >= spec.epochs:  # restored after its last epoch: say its result again
        tune.report(_metrics(run.read_metrics()[-1], first))
    for epoch in range(first + 1, spec.epochs + 1):
        res = run_training(run, net, data, options, state, engine=setup.engine,
                           batch_size=spec.batch_size, until=epoch * epoch_size)
        net, state = res.network, res.state
        tune.report(_metrics(res.records[-1], epoch),
                    checkpoint=tune.Checkpoint.from_directory(str(run_path)))


def _metrics(rec: dict[str, Any], epoch: int) -> dict[str, Any]:
    """What a trial reports to Ray Tune after an epoch, from its metrics.jsonl record."""
    return {"error": rec["test_error"], "epoch": epoch, "samples_seen": rec["samples_seen"],
            "train_error": rec["train_error"], "train_s": rec["time_s"],
            "events": rec["events"]}


def _open(path: Path, checkpoint: Any, config: dict[str, Any], setup: TrialSetup,
          name: str) -> tuple[RunDir, Network, Any, RunOptions]:
    """The trial's run directory: restored from Ray's checkpoint if there is one, else created
    afresh (a leftover from an attempt that never reached its first checkpoint is replaced)."""
    if checkpoint is not None:
        path.mkdir(parents=True, exist_ok=True)
        with checkpoint.as_directory() as src:
            for f in RUN_FILES:
                if (Path(src) / f).exists():
                    tmp = path / (f + ".tmp")
                    shutil.copyfile(Path(src) / f, tmp)
                    tmp.replace(path / f)
        run = RunDir.open(path)
        net, state = run.load_checkpoint()
        run.truncate_metrics(net.samples_seen)
        conf = run.read_config()
        conf.setdefault("resumed", []).append({"command": "erbp sweep (restored trial)",
                                               "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                               "samples_seen": net.samples_seen})
        run.write_config(conf)
        return run, net, state, run_options(run)
    for f in RUN_FILES:  # never reached a checkpoint: start again
        (path / f).unlink(missing_ok=True)
    spec = setup.spec
    data = setup.data
    p = trial_params(spec, config)
    overrides = {k: v for k, v in p.items() if k not in (*RUN_PARAMS, "seed")}
    topology = p.get("topology") or data.default_topology()
    grid = p.get("grid_bits")
    cfg = make_config(topology, p["variant"], overrides, n_in=data.n_in,
                      n_classes=data.n_classes, grid_bits=grid)
    try:
        schedule = LrSchedule(float(p["lr_halve_every"]), float(p["lr_halve_start"]))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"lr_halve_every/lr_halve_start: {e}") from None
    seed = int(p["seed"])
    net = Network.create(cfg, seed)
    epoch_size = spec.epoch_size or default_epoch_size(data, spec.protocol)
    try:
        avg = average_window(float(p["average_last"]), epoch_size)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"average_last: {e}") from None
    options = RunOptions(dataset=data.name, samples=spec.epochs * epoch_size,
                         protocol=spec.protocol, epoch_size=epoch_size, order_seed=seed,
                         test_every=epoch_size, test_samples=spec.eval_samples or len(data.test_y),
                         window=1000, checkpoint_every=epoch_size,
                         lr_halve_every=schedule.every, lr_halve_start=schedule.start,
                         split=spec.split, average_last=avg.epochs, average_every=avg.every)
    run = start_run(path, net, options, command=f"erbp sweep (trial {name})", extra={
        "dataset": data.name, "topology": topology, "variant": p["variant"],
        "grid_bits": DEFAULT_GRID_BITS if grid is None else grid,
        "overrides": {k: cfg.as_dict()[k] for k in overrides},
        "sweep": {"name": spec.name, "trial": name, "params": p}})
    return run, net, None, options


def _toy(config: dict[str, Any], spec: Spec) -> None:
    """``toy:quadratic``: no training; the metric after epoch e is sum((v - 0.5)^2) over the
    swept numeric parameters plus 1/e (a curve that improves with epochs)."""
    from ray import tune

    value = sum((float(v) - 0.5) ** 2 for k, v in config.items()
                if k != "seed" and isinstance(v, (int, float)))
    for epoch in range(1, spec.epochs + 1):
        tune.report({"error": value + 1.0 / epoch, "epoch": epoch})
