"""Training and evaluation over any engine, the sample order, run directories, configurations.

:mod:`~erbp.training.loop` (``train``, ``evaluate`` and whole runs, what ``erbp train`` does),
:mod:`~erbp.training.order` (which training example is sample number ``p``),
:mod:`~erbp.training.rundir` (the run directory's files, checkpoint and resume bookkeeping),
:mod:`~erbp.training.configure` (configurations from a topology, a variant and overrides),
:mod:`~erbp.training.precision` (the same real-valued network at other weight and state widths),
:mod:`~erbp.training.recipe` (the learning-rate schedule and the data split of a run).
"""
from .configure import apply_overrides, make_config, parse_overrides
from .loop import (EvalResult, RunOptions, TrainResult, evaluate, open_run, run_data,
                   run_options, run_training, start_run, stop_on_sigint, train)
from .recipe import DEFAULT_LR_SCHEDULE, SPLITS, LrSchedule, default_lr_schedule, split_data
from .order import PAPER_EPOCH, PROTOCOLS, SampleOrder, balanced_epoch, default_epoch_size
from .rundir import RunDir, RunDirError, RunState

__all__ = ["apply_overrides", "make_config", "parse_overrides", "PAPER_EPOCH", "PROTOCOLS",
           "EvalResult", "RunOptions", "SampleOrder", "TrainResult", "balanced_epoch",
           "default_epoch_size", "evaluate", "open_run", "run_data", "run_options", "run_training",
           "start_run", "DEFAULT_LR_SCHEDULE", "SPLITS", "LrSchedule", "default_lr_schedule", "split_data",
           "stop_on_sigint", "train", "RunDir", "RunDirError", "RunState"]
