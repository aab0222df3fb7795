"""Training and evaluation loops over any engine (:mod:`erbp.engines`), and whole runs.

Training samples come in the order of :mod:`erbp.training.order` (a pure function of the
protocol, the labels, the epoch size, the order seed and ``samples_seen``), so a run resumed
from a checkpoint continues with exactly the samples, and hence the weights, of an
uninterrupted run. The sample index given to the engine (which keys all its randomness) is
``samples_seen`` for training and the test-set position for inference (docs/semantics.md, 7).
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .averaging import NO_AVERAGE, AverageError, AverageWindow, WeightAverage
from .order import SampleOrder, default_epoch_size
from .recipe import CONSTANT_LR, SPLITS, LrSchedule, split_data
from .rundir import RunDir, RunDirError, RunState
from .. import __version__
from ..data.datasets import Dataset
from ..engines import BatchResult, Engine, as_engine, make_engine
from ..errors import ErbpError
from ..provenance import now
from ..reference import INFER, SEMANTICS_VERSION, TRAIN, Network, modelfile


#: The largest samples_seen: a u32 (docs/semantics.md, section 7.3); a run cannot aim further.
MAX_SAMPLES = 0xFFFFFFFF


class TrainingError(ErbpError, ValueError):
    """Training that cannot be done as asked (the message says why)."""


# --- evaluation -----------------------------------------------------------------------------------
@dataclass
class EvalResult:
    """Test error over test-set positions start .. start+n-1 (error as a fraction, 0..1) and the
    cost of each sample: ``sample_events`` (synaptic events) and ``sample_ticks`` (ticks run),
    int64 (n,); ``events`` is their total."""

    error: float
    n: int
    correct: int
    events: int
    start: int = 0
    sample_events: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sample_ticks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def cost(self) -> dict[str, dict[str, float]]:
        """Per-sample cost: {"events": ..., "ticks": ...}, each {mean, p50, p95, max} over the
        samples (percentiles by linear interpolation, numpy's default)."""
        return {name: distribution(a) for name, a in (("events", self.sample_events),
                                                      ("ticks", self.sample_ticks))}


def distribution(a: np.ndarray) -> dict[str, float]:
    """mean, p50, p95 and max of per-sample values (NaN for no samples)."""
    if not len(a):
        return dict.fromkeys(("mean", "p50", "p95", "max"), float("nan"))
    return {"mean": float(np.mean(a)), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)), "max": float(np.max(a))}


def evaluate(engine: Engine | Network, data: Dataset, n: int | None = None, start: int = 0,
             batch_size: int = 1000, progress: bool = False, split: str = "test",
             on_batch: Callable[[int, BatchResult], None] | None = None) -> EvalResult:
    """Inference over the samples at positions ``start .. start+n-1`` of the test set (or, with
    ``split="train"``, of the training set in file order); all from ``start`` if n is None. The
    sample index of each is its position in that set. Weights are not changed. ``engine``: an
    engine, or a reference Network (run by the "python" engine). ``on_batch(first, result)`` sees
    every batch's per-sample results (first = the position of its first sample)."""
    engine = as_engine(engine)
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    X, Y = (data.test_x, data.test_y) if split == "test" else (data.train_x, data.train_y)
    total = len(Y)
    if not 0 <= start <= total:
        raise ValueError(f"{split} start {start} outside [0, {total}]")
    n = total - start if n is None else min(int(n), total - start)
    correct = 0
    events, ticks = np.zeros(n, np.int64), np.zeros(n, np.int64)
    step = _step(engine, batch_size)
    with _bar(progress, n, split, leave=False) as bar:
        for a in range(start, start + n, step):
            b = min(a + step, start + n)
            res = engine.run_samples(X[a:b], Y[a:b], INFER, a)
            correct += int((res.predictions == Y[a:b]).sum())
            events[a - start: b - start] = res.events
            ticks[a - start: b - start] = res.ticks
            if on_batch is not None:
                on_batch(a, res)
            bar.update(b - a)
    return EvalResult(error=1.0 - correct / n if n else float("nan"), n=n, correct=correct,
                      events=int(events.sum()), start=start, sample_events=events,
                      sample_ticks=ticks)


# --- training -------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` did: the engine and its network (reference form) at the end, the metric
    records written, whether it stopped early on request, and the bookkeeping to resume."""

    engine: Engine
    network: Network
    records: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    state: RunState = field(default_factory=RunState)
    #: the averaged network (erbp.training.averaging), once the averaging window is complete
    average: Network | None = None


def train(net: Network | Engine, data: Dataset, samples: int, *, engine: str | None = "python",
          protocol: str = "balanced", epoch_size: int | None = None,
          order_seed: int | None = None, test_every: int = 0, test_samples: int = 1000,
          window: int = 1000, train_eval_samples: int = 0, run: RunDir | None = None,
          checkpoint_every: int | None = None,
          state: RunState | None = None, batch_size: int = 500, progress: bool = False,
          stop: Callable[[], bool] | None = None, lr_schedule: LrSchedule = CONSTANT_LR,
          lr_base: Sequence[int] | None = None,
          average: AverageWindow = NO_AVERAGE, average_end: int | None = None) -> TrainResult:
    """Train ``net`` on ``samples`` more training samples, one at a time in protocol order.

    ``net``: a reference Network (converted to ``engine`` by :func:`make_engine`; the "python"
    engine trains it in place) or, with ``engine=None``, an engine used as it is (a Network then
    trains in place).
    ``epoch_size`` defaults to :func:`default_epoch_size`; ``order_seed`` to the network's seed.
    Every ``test_every`` samples (at multiples of samples_seen; 0 = only at the end) the first
    ``test_samples`` test samples are evaluated and a record is written to ``run``'s
    metrics.jsonl: samples_seen, epoch (fractional), train_error (the predictions of the last
    ``window`` training samples themselves, made while the label drives learning: a measure of
    fit, not of generalisation; None if none yet), train_window, train_eval_error (inference
    error on the first ``train_eval_samples`` training examples; None if 0), test_error,
    test_samples, time_s (wall seconds since the run began, across resumes), events (synaptic
    events of all training samples).
    ``run`` also gets a checkpoint every ``checkpoint_every`` samples (default ``test_every``, or
    10,000), at the end, and when ``stop()`` returns true (checked between samples or batches).
    The engine gets up to ``batch_size`` samples per ``run_samples`` call (at most its
    ``max_batch``).
    ``lr_schedule`` (erbp.training.recipe) sets the ``lr_shift`` of every sample from
    ``lr_base`` (the run's initial lr_shift; default: the network's, which must then not be past
    its first halving); records then also hold the ``lr_shift`` of the last training sample.
    ``average`` (erbp.training.averaging) takes weight snapshots over the window before
    ``average_end`` (default: the end of these ``samples``; a run trained in pieces passes its
    target), continuing the sums saved in ``run``, if any; when the last is taken, the
    averaged network is ``result.average`` (and ``run``'s model-avg.erbp), and the last record
    also holds its test error (``avg_test_error``) and ``avg_snapshots``.
    """
    eng = as_engine(net) if engine is None else make_engine(engine, net)  # type: ignore[arg-type]
    state = state or RunState(samples_seen=eng.samples_seen)
    order = SampleOrder(data.train_y, protocol,
                        epoch_size or default_epoch_size(data, protocol),
                        eng.seed if order_seed is None else order_seed)
    checkpoint_every = checkpoint_every or test_every or 10_000
    recent: deque[bool] = deque((c == "1" for c in state.recent), maxlen=max(window, 1))
    result = TrainResult(engine=eng, network=None, state=state)  # type: ignore[arg-type]
    t0, elapsed0 = time.monotonic(), state.elapsed_s
    start = eng.samples_seen
    end = start + int(samples)
    if not start <= end <= MAX_SAMPLES:
        raise TrainingError(f"training {samples} samples from samples_seen {start} would end at "
                            f"{end}, outside 0..{MAX_SAMPLES} (samples_seen is a 32-bit counter)")
    step = _step(eng, batch_size)
    sums: WeightAverage | None = None
    avg_end = end if average_end is None else average_end
    first = avg_end  # the window's start (no snapshot boundaries without averaging)
    if average.active:
        first = average.first(avg_end, order.epoch_size)
        if run is not None:
            try:
                sums = run.load_average(eng.to_network())
            except AverageError as e:  # e.g. a crash between its write and the model's
                _warn_restart(str(e), start, first)
        if sums is not None and sums.first != first:  # a run extended to a new target
            if start > first:
                _warn_restart(f"the averaging window moved from after {sums.first} to after "
                              f"{first} samples", start, first)
            sums = None
        sums = sums or WeightAverage.empty(eng.to_network(), first)
    if lr_schedule.active and lr_base is None:
        if lr_schedule.halvings(start, order.epoch_size):
            raise ValueError("a network past its first halving needs lr_base")
        lr_base = eng.cfg.lr_shift

    def sync_state() -> None:
        state.samples_seen = eng.samples_seen
        state.elapsed_s = elapsed0 + time.monotonic() - t0
        state.recent = "".join("1" if c else "0" for c in recent)

    def checkpoint() -> None:
        if run is not None:
            sync_state()
            run.save_checkpoint(eng.to_network(), state, sums)

    def record() -> None:
        ev = evaluate(eng, data, test_samples, batch_size=batch_size, progress=progress)
        sync_state()
        rec = {"samples_seen": eng.samples_seen,
               "epoch": round(eng.samples_seen / order.epoch_size, 6),
               "train_error": round(1.0 - sum(recent) / len(recent), 6) if recent else None,
               "train_window": len(recent),
               "train_eval_error": round(evaluate(eng, data, train_eval_samples,
                                                  batch_size=batch_size, progress=progress,
                                                  split="train").error, 6)
               if train_eval_samples else None,
               "test_error": round(ev.error, 6), "test_samples": ev.n,
               "time_s": round(state.elapsed_s, 3), "events": state.events}
        if lr_schedule.active:
            rec["lr_shift"] = list(lr_schedule.lr_shift(lr_base, max(0, eng.samples_seen - 1),
                                                        order.epoch_size))  # the last sample's
        if sums is not None and sums.count and eng.samples_seen == avg_end:
            result.average = sums.network(eng.to_network())
            aev = evaluate(result.average, data, test_samples, batch_size=batch_size)
            rec["avg_test_error"] = round(aev.error, 6)
            rec["avg_snapshots"] = sums.count
        result.records.append(rec)
        if run is not None:
            run.append_metrics(rec)

    with _bar(progress, end - start, "train") as bar:
        pos = start
        while pos < end:
            b = min(pos + step, end, _next_multiple(pos, test_every),
                    _next_multiple(pos, checkpoint_every),
                    average.next_snapshot(max(pos, first)) if sums is not None else end)
            if lr_schedule.active:
                eng = _with_lr_shift(eng, lr_schedule.lr_shift(lr_base, pos, order.epoch_size))
                b = min(b, lr_schedule.next_change(pos, order.epoch_size))
                result.engine = eng
            idx = order.indices(pos, b - pos)
            res = eng.run_samples(data.train_x[idx], data.train_y[idx], TRAIN, pos)
            if eng.samples_seen != b:
                raise RuntimeError(f"engine reports samples_seen {eng.samples_seen} after "
                                   f"training samples {pos}..{b - 1}")
            recent.extend((res.predictions == data.train_y[idx]).tolist())
            state.events += res.total_events
            bar.update(b - pos)
            pos = b
            if sums is not None and average.takes(pos, avg_end, order.epoch_size):
                sums.add(eng.to_network().W, pos)
            if test_every and pos % test_every == 0:
                record()
            if pos % checkpoint_every == 0 and pos < end:
                checkpoint()
            if stop is not None and stop() and pos < end:
                result.interrupted = True
                break
    if not result.interrupted and (not result.records or result.records[-1]["samples_seen"]
                                   != eng.samples_seen) and test_samples:
        record()
    if sums is not None and sums.count and eng.samples_seen == avg_end and result.average is None:
        result.average = sums.network(eng.to_network())  # no record at the end (test_samples 0)
    checkpoint()
    if run is not None and result.average is not None:
        modelfile.save(result.average, run.model_avg_path)
    sync_state()
    result.network = eng.to_network()
    return result


def _warn_restart(why: str, pos: int, first: int) -> None:
    """A weight average that cannot be continued exactly: say so (the count of snapshots in the
    result shows what was averaged)."""
    if pos > first:
        print(f"warning: {why}; the weight average starts again at {pos} samples",
              file=sys.stderr, flush=True)


def _step(engine: Engine, batch_size: int) -> int:
    """Samples per run_samples call: ``batch_size``, at most the engine's ``max_batch``."""
    return batch_size if engine.max_batch is None else max(1, min(batch_size, engine.max_batch))


def _with_lr_shift(eng: Engine, shifts: tuple[int, ...]) -> Engine:
    """``eng`` with every layer's lr_shift set: the reference engine's Network in place, another
    engine rebuilt from its network (same weights, G, seed and samples_seen)."""
    if tuple(eng.cfg.lr_shift) == shifts:
        return eng
    net = eng.to_network()
    net.cfg = net.cfg.replace(lr_shift=shifts)
    return eng if getattr(eng, "network", None) is net else type(eng).from_network(net)


def _next_multiple(pos: int, every: int) -> int:
    """The smallest multiple of ``every`` greater than ``pos`` (a huge number if every is 0)."""
    return (pos // every + 1) * every if every > 0 else 1 << 62


@contextlib.contextmanager
def _bar(enabled: bool, total: int, desc: str, leave: bool = True) -> Iterator[Any]:
    """A tqdm progress bar, or a stand-in with ``update`` when disabled."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="sample", leave=leave, dynamic_ncols=True) as bar:
        yield bar


class _NoBar:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def stop_on_sigint() -> Iterator[Callable[[], bool]]:
    """Within the block, a first Ctrl-C only sets a flag (returned as a ``stop()`` callable) so
    training can stop at the next sample boundary and checkpoint; a second Ctrl-C interrupts."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return

    def handler(signum: int, frame: Any) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, old)


# --- whole runs (what `erbp train` does) ----------------------------------------------------------
@dataclass
class RunOptions:
    """The training options of a run, stored in config.json ("options"). ``samples`` is the total
    number of training samples the run aims at (samples_seen at its end); the other fields are
    those of :func:`train`."""

    dataset: str
    samples: int
    protocol: str = "balanced"
    epoch_size: int | None = None  # None: default_epoch_size
    order_seed: int | None = None  # None: the network's seed
    test_every: int = 0
    test_samples: int = 1000
    window: int = 1000
    checkpoint_every: int = 0
    train_eval_samples: int = 0
    lr_halve_every: float = 0.0  # erbp.training.recipe.LrSchedule; 0: constant (older runs)
    lr_halve_start: float = 0.0
    split: str = "test"  # erbp.training.recipe.SPLITS: what the run fits and is scored on
    average_last: float = 0.0  # erbp.training.averaging.AverageWindow; 0: off (older runs)
    average_every: int = 0

    @property
    def lr_schedule(self) -> LrSchedule:
        return LrSchedule(self.lr_halve_every, self.lr_halve_start)

    @property
    def average(self) -> AverageWindow:
        return AverageWindow(self.average_last, self.average_every)


def default_test_every(samples: int, points: int = 10) -> int:
    """The evaluation period of a run of ``samples`` training samples: about ``points``
    evaluations, at a round period (1, 2 or 5 times a power of ten), at least 1: 5,000 samples
    -> every 500, one MNIST epoch (50,000) -> every 5,000, 300 -> every 20."""
    target = max(samples // points, 1)
    best, power = 1, 1
    while power <= target:
        best = max(m * power for m in (1, 2, 5) if m * power <= target)
        power *= 10
    return best


def start_run(out: str | Path, net: Network, options: RunOptions,
              extra: dict[str, Any] | None = None, command: str = "", *,
              exclusive: bool = False) -> RunDir:
    """Create a run directory for a fresh network: config.json (``options``, the network's
    configuration and seed, ``extra`` fields such as topology and overrides, the command line)
    and an initial checkpoint, all or nothing. ``exclusive``: refuse a directory that holds other
    files (see :meth:`RunDir.create`)."""
    config = {"erbp_version": __version__, "semantics_version": SEMANTICS_VERSION,
              "command": command, "created": now(), "seed": net.seed,
              **(extra or {}), "options": asdict(options), "net_config": net.cfg.as_dict(),
              "resumed": []}
    return RunDir.create(out, config, net, exclusive=exclusive)


def run_options(run: RunDir) -> RunOptions:
    """The training options stored in a run's config.json."""
    try:
        options = RunOptions(**run.read_config()["options"])
        options.lr_schedule  # noqa: B018 (checks the schedule)
        options.average  # noqa: B018 (checks the averaging window)
    except (KeyError, TypeError, ValueError) as e:
        raise RunDirError(f"{run.config_path}: no valid training options ({e})") from e
    if options.split not in SPLITS:
        raise RunDirError(f"{run.config_path}: unknown split {options.split!r}")
    return options


def run_data(data: Dataset, options: RunOptions) -> Dataset:
    """A data set as a run with these options sees it (its split, recipe.split_data)."""
    return split_data(data, options.split)


def run_lr_base(run: RunDir) -> tuple[int, ...]:
    """The initial lr_shift of a run (config.json "net_config"), which its schedule shifts."""
    try:
        return tuple(int(v) for v in run.read_config()["net_config"]["lr_shift"])
    except (KeyError, TypeError, ValueError) as e:
        raise RunDirError(f"{run.config_path}: no initial lr_shift ({e})") from e


def open_run(path: str | Path, command: str = "", changes: dict[str, Any] | None = None
             ) -> tuple[RunDir, Network, RunState, RunOptions]:
    """Open a run directory to resume it: the checkpointed network, its bookkeeping and the
    run's options, with ``changes`` applied to the options (and stored; an "epochs" entry sets
    samples to epochs * epoch_size). RunDirError if the run has nothing left to do. Metrics after
    the checkpoint are dropped (they will be made again), and the resume is noted in config.json
    with its command line."""
    run = RunDir.open(path)
    config = run.read_config()
    changes = dict(changes or {})
    options = run_options(run)
    try:
        epochs = changes.pop("epochs", None)
        if epochs is not None:
            if options.epoch_size is None:
                raise RunDirError("this run has no stored epoch size: use --samples")
            changes["samples"] = round(epochs * options.epoch_size)
        options = RunOptions(**{**asdict(options), **changes})
    except (KeyError, TypeError) as e:
        raise RunDirError(f"{run.config_path}: no valid training options ({e})") from e
    if not isinstance(options.samples, int) or not 0 <= options.samples <= MAX_SAMPLES:
        raise RunDirError(f"a run's target is 0..{MAX_SAMPLES} samples (samples_seen is a "
                          f"32-bit counter), not {options.samples}")
    net, state = run.load_checkpoint()
    if net.samples_seen >= options.samples:
        raise RunDirError(f"run {run.path} is complete: {net.samples_seen} samples seen, target "
                          f"{options.samples}; pass a larger --samples or --epochs to extend it")
    run.truncate_metrics(net.samples_seen)
    config["options"] = asdict(options)
    config.setdefault("resumed", []).append(
        {"command": command, "time": now(), "samples_seen": net.samples_seen,
         "changes": changes})
    run.write_config(config)
    return run, net, state, options


def run_training(run: RunDir, net: Network, data: Dataset, options: RunOptions,
                 state: RunState | None = None, engine: str = "python", progress: bool = False,
                 stop: Callable[[], bool] | None = None, batch_size: int = 500,
                 until: int | None = None) -> TrainResult:
    """Train a run's network up to ``options.samples`` samples (from wherever it stands), or
    only up to ``until`` (a run trained in pieces: the averaging window stays the run's).
    ``data``: as the run sees it (:func:`run_data`)."""
    schedule = options.lr_schedule
    stop_at = options.samples if until is None else min(until, options.samples)
    return train(net, data, max(0, stop_at - net.samples_seen), engine=engine,
                 protocol=options.protocol, epoch_size=options.epoch_size,
                 order_seed=options.order_seed, test_every=options.test_every,
                 test_samples=options.test_samples, window=options.window,
                 train_eval_samples=options.train_eval_samples, run=run,
                 checkpoint_every=options.checkpoint_every or None, state=state,
                 batch_size=batch_size, progress=progress, stop=stop, lr_schedule=schedule,
                 lr_base=run_lr_base(run) if schedule.active else None,
                 average=options.average, average_end=options.samples)
