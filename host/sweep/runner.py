"""Running a sweep on Ray Tune: Ray start-up (local or an existing cluster), the Tuner (grid or
random: Ray's BasicVariantGenerator; tpe: Optuna's TPE through OptunaSearch; optional ASHA), a
driver-side log of every trial (SWEEPDIR/trials.json), and resume (Tuner.restore).

The sweep directory (docs/sweeps.md)::

    SWEEPDIR/
      sweep.json      the spec as checked, its text, the command lines, data set and engine
      trials.json     one entry per trial: name, order of creation, parameters, status, metric
                      per epoch, message
      trials/NAME/    each trial's run directory (erbp train --resume / eval / plot work on it)
      ray/            Ray Tune's own storage (experiment state, trial checkpoints)
      results.md      the report (erbp.sweep.report), with results.csv
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Callable

from ..engines import resolve_engine
from ..fileio import read_json, write_json
from ..provenance import now
from ..training.recipe import split_data
from .spec import MISSING_EXTRA, Spec, SweepError
from .trial import TRIALS, TrialRefused, TrialSetup, run_trial

EXPERIMENT = "sweep"  # Ray Tune's experiment name inside SWEEPDIR/ray
SWEEP_JSON = "sweep.json"
TRIALS_JSON = "trials.json"

#: Environment that keeps Ray quiet and local: no usage statistics, no log deduplication
#: messages, no per-trial logger files, experiment state saved every 2 s (what a resume after a
#: crash starts from). Set only if not set already.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0",
           "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "TUNE_GLOBAL_CHECKPOINT_S": "2",
           "RAY_AIR_NEW_OUTPUT": "0", "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S":
           "60"}


def require_extra() -> None:
    """SweepError with the install line unless Ray Tune and Optuna import."""
    try:
        import optuna  # noqa: F401
        import ray.tune  # noqa: F401
        import ray.tune.search.optuna  # noqa: F401
    except ImportError:
        raise SweepError(MISSING_EXTRA) from None


def quiet_ray() -> None:
    """Set :data:`RAY_ENV` (before Ray starts)."""
    for k, v in RAY_ENV.items():
        os.environ.setdefault(k, v)


def init_ray(cpus: int | None = None, address: str | None = None,
             verbose: bool = False) -> bool:
    """Connect to Ray: a local instance with ``cpus`` CPUs (default: all), or the cluster at
    ``address`` ("auto", "HOST:PORT" or "ray://HOST:PORT"). Returns True if this call started
    or connected Ray (then the caller shuts it down), False if Ray was already initialised."""
    import ray

    quiet_ray()
    if ray.is_initialized():
        return False
    if not verbose:  # the report says what failed; Ray's own error lines repeat it
        for name in ("ray.tune", "ray.train", "ray.air"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    kw: dict[str, Any] = {"log_to_driver": verbose, "configure_logging": True,
                          "logging_level": logging.INFO if verbose else logging.ERROR}
    if address:
        ray.init(address=address, **kw)
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, **kw)
    return True


# --- trial names ----------------------------------------------------------------------------------
def trial_name(trial: Any) -> str:
    """``t<id>_<key>=<value>_...`` from the trial's sampled configuration (numbers rounded to 4
    significant digits), at most 100 characters. ``<id>``: the grid's trial counter (4 digits:
    the same names in every sweep of one spec), or the searcher's 8-hex trial id."""
    m = re.fullmatch(r".*_(\d{5})", trial.trial_id)
    parts = [f"t{int(m.group(1)):04d}" if m else f"t{trial.trial_id}"]
    for k, v in trial.config.items():
        if isinstance(v, dict):  # a table of parameters: its values
            v = "-".join(str(x) for x in v.values())
        v = f"{v:.4g}" if isinstance(v, float) else str(v)
        parts.append(re.sub(r"[^A-Za-z0-9.,=+-]", "", f"{k}={v}"))
    return "_".join(parts)[:100]


# --- the driver-side log --------------------------------------------------------------------------
def _message(trial: Any) -> str:
    """One line for a failed trial: a refusal's message, else the exception's type and text."""
    try:
        from ray import cloudpickle

        with open(trial.pickled_error_file, "rb") as f:
            exc = cloudpickle.load(f)
    except Exception:  # noqa: BLE001 - no pickled error: the text file's last line
        try:
            lines = Path(trial.error_file).read_text().strip().splitlines()
            return lines[-1] if lines else "failed"
        except Exception:  # noqa: BLE001
            return "failed"
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, TrialRefused):
        return str(cause)
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"


def _callback_class() -> type:
    from ray import tune

    class TrialLog(tune.Callback):
        """Keeps SWEEPDIR/trials.json current and prints one line per trial event."""

        def __init__(self, sweep_dir: Path, spec: Spec, echo: Callable[[str], None]):
            self.path = (sweep_dir / TRIALS_JSON).resolve()
            self.spec = spec
            self.echo = echo
            self.trials: dict[str, dict[str, Any]] = {}
            self.setup()

        def setup(self, **info: Any) -> None:
            """(Re)load trials.json: a restored Tuner brings back a pickled copy of this
            callback, whose trial list is as old as the pickle; the file is current."""
            if self.path.exists():
                self.trials = {t["trial"]: t for t in read_json(self.path)["trials"]}

        def _entry(self, trial: Any) -> dict[str, Any]:
            name = str(trial)
            e = self.trials.setdefault(name, {"trial": name, "order": len(self.trials),
                                              "params": dict(trial.config),
                                              "status": "PENDING", "epochs": 0, "curve": [],
                                              "message": None})
            e["run"] = (f"{TRIALS}/{name}" if self.spec.objective == "train" else None)
            return e

        def _save(self) -> None:
            write_json(self.path, {"sweep": self.spec.name, "updated": now(),
                                   "trials": sorted(self.trials.values(),
                                                    key=lambda t: t["trial"])})

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            e = self._entry(trial)
            e["status"] = "RUNNING"
            self._save()

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                            **info: Any) -> None:
            e = self._entry(trial)
            ep = int(result.get("epoch", len(e["curve"]) + 1))
            e["curve"] = e["curve"][:ep - 1] + [result.get("error")]
            e["epochs"] = ep
            e["train_s"] = result.get("train_s")
            self._save()
            err = result.get("error")
            self.echo(f"{e['trial']}: epoch {ep}/{self.spec.epochs}, {self.spec.metric} "
                      + (f"{100 * err:.2f} %" if isinstance(err, float) and
                         self.spec.objective == "train" else f"{err:.6g}"))

        def on_trial_complete(self, iteration: int, trials: list, trial: Any,
                              **info: Any) -> None:
            e = self._entry(trial)
            e["status"] = "DONE" if e["epochs"] >= self.spec.epochs else "STOPPED"
            e["message"] = None if e["status"] == "DONE" else "stopped early by ASHA"
            self._save()

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            e = self._entry(trial)
            e["status"] = "FAILED"
            e["message"] = _message(trial)
            self._save()
            self.echo(f"{e['trial']}: failed: {e['message']}")

    return TrialLog


# --- the sweep ------------------------------------------------------------------------------------
def prepare_dir(spec: Spec, sweep_dir: Path, resume: bool, command: str) -> None:
    """Check and write SWEEPDIR/sweep.json: a new sweep refuses a directory that holds one; a
    resume needs one made from the same spec."""
    meta = sweep_dir / SWEEP_JSON
    if resume:
        if not meta.exists():
            raise SweepError(f"{sweep_dir} holds no sweep to resume (no {SWEEP_JSON}); start it "
                             f"without --resume")
        old = read_json(meta)
        if old.get("fingerprint") != spec.fingerprint():
            raise SweepError(f"{sweep_dir} was started from another spec: resume it with the "
                             f"same spec, or choose another --out")
        old.setdefault("resumed", []).append({"command": command, "time": now()})
        write_json(meta, old)
        return
    if meta.exists():
        raise SweepError(f"{sweep_dir} already holds a sweep: continue it with --resume, or "
                         f"choose another --out")
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise SweepError(f"{sweep_dir} exists and is not a directory")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_json(meta, {"name": spec.name, "command": command, "created": now(),
                      "fingerprint": spec.fingerprint(), "spec": spec.as_dict(),
                      "spec_text": spec.text, "resumed": []})


def _setup(spec: Spec, sweep_dir: Path, data_dir: str | None) -> TrialSetup:
    if spec.objective != "train":
        return TrialSetup(str(sweep_dir.resolve()), spec, None, "python")
    from ..data import load_dataset

    data = split_data(load_dataset(spec.dataset, data_dir or spec.data_dir), spec.split)
    return TrialSetup(str(sweep_dir.resolve()), spec, data, resolve_engine(spec.engine))


def _tuner_parts(spec: Spec, cpus_available: int) -> dict[str, Any]:
    from ray import tune

    from .space import param_space

    concurrent = spec.max_concurrent or max(1, cpus_available)
    searcher = None
    if spec.method == "tpe":
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=spec.search_seed)
        searcher = OptunaSearch(sampler=sampler, metric=spec.metric, mode="min")
    elif spec.method == "random":
        searcher = tune.search.BasicVariantGenerator(random_state=spec.search_seed)
    scheduler = None
    if spec.asha:
        scheduler = tune.schedulers.ASHAScheduler(
            time_attr="epoch", max_t=spec.epochs, grace_period=spec.asha["grace_epochs"],
            reduction_factor=spec.asha["reduction_factor"])
    tune_config = tune.TuneConfig(
        metric=spec.metric, mode="min", search_alg=searcher, scheduler=scheduler,
        num_samples=1 if spec.method == "grid" else spec.trials,
        max_concurrent_trials=concurrent, reuse_actors=True, trial_name_creator=trial_name,
        trial_dirname_creator=trial_name)
    return {"param_space": param_space(spec), "tune_config": tune_config}


def run_sweep(spec: Spec, sweep_dir: str | os.PathLike, *, cpus: int | None = None,
              address: str | None = None, resume: bool = False, data_dir: str | None = None,
              retries: int = 0, verbose: bool = False, command: str = "",
              echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run (or resume) a sweep into ``sweep_dir``; returns the entries of trials.json.

    Uses the Ray instance already initialised in this process if there is one, else starts one
    (``cpus``) or connects to ``address``, and shuts it down at the end. ``retries``: how often a
    trial that failed (a crashed or lost worker, or a refused configuration) is restarted from
    its last checkpoint before it counts as failed."""
    require_extra()
    import ray
    from ray import tune

    sweep_dir = Path(sweep_dir)
    setup = _setup(spec, sweep_dir, data_dir)  # the data first: a sweep that cannot run
    prepare_dir(spec, sweep_dir, resume, command)  # leaves the directory untouched
    storage = (sweep_dir / "ray").resolve()
    started = init_ray(cpus, address, verbose)
    try:
        cpus_available = int(ray.cluster_resources().get("CPU", 1))
        trainable = tune.with_resources(tune.with_parameters(run_trial, setup=setup),
                                        {"cpu": 1})
        log = _callback_class()(sweep_dir, spec, echo)
        run_config = tune.RunConfig(
            name=EXPERIMENT, storage_path=str(storage), verbose=2 if verbose else 0,
            callbacks=[log], failure_config=tune.FailureConfig(max_failures=retries),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            log_to_file=not verbose)
        parts = _tuner_parts(spec, cpus_available)
        exp = storage / EXPERIMENT
        if resume and tune.Tuner.can_restore(str(exp)):
            tuner = tune.Tuner.restore(str(exp), trainable=trainable, resume_errored=True,
                                       param_space=parts["param_space"])
        else:
            tuner = tune.Tuner(trainable, run_config=run_config, **parts)
        echo(f"sweep {spec.name}: {spec.n_trials} trials of {spec.epochs} epochs "
             f"({spec.method}), {cpus_available} CPUs, into {sweep_dir}")
        grid = tuner.fit()
        log.setup()  # a restored Tuner used its own copy of the callback: read what it wrote
        _final_states(grid, log)
    finally:
        if started:
            ray.shutdown()
    return list(log.trials.values())


def _final_states(grid: Any, log: Any) -> None:
    """Statuses and messages from the ResultGrid (authoritative) into trials.json."""
    for r in grid:
        name = Path(r.path).name
        e = log.trials.get(name)
        if e is None:
            continue
        if r.error is not None:
            cause = getattr(r.error, "cause", None) or r.error
            e["status"] = "FAILED"
            if isinstance(cause, TrialRefused):
                e["message"] = str(cause)
            elif not e.get("message"):
                lines = str(cause).strip().splitlines()
                e["message"] = f"{type(cause).__name__}: {lines[-1] if lines else ''}"
    log._save()


def exit_code(trials: list[dict[str, Any]]) -> int:
    """0 if any trial finished (or was stopped early), 1 if every trial failed."""
    return 0 if any(t["status"] in ("DONE", "STOPPED") for t in trials) else 1


__all__ = ["run_sweep", "require_extra", "init_ray", "exit_code", "trial_name"]
