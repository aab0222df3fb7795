"""The sweep spec: a small TOML file that says what ``erbp sweep`` trains and how it searches.

Parsed and checked here without Ray, so a mistake in the spec is one line (``SweepError``) before
anything starts. docs/sweeps.md describes every key; in short::

    name = "lr-search"           # default: the file name without .toml
    objective = "train"          # or "toy:quadratic" (no training: tests of the searcher)
    dataset = "mnist"            # mnist | digits
    split = "validation"         # validation (default) | test
    epochs = 10                  # per trial; the metric is reported after every epoch
    epoch_size = 50000           # default: as erbp train
    protocol = "balanced"        # balanced | sequential
    engine = "auto"              # auto | c | python
    seeds = [1, 2]               # a grid sweep runs every configuration with every seed
    metric = "error"             # error on the scoring images after each epoch (minimised)
    eval_samples = 0             # scoring images per evaluation (0: all)
    batch_size = 500

    [params]                     # fixed for every trial
    topology = "784-100-10"
    lr_halve_every = 3

    [space]                      # swept
    variant = ["erbp", "perbp"]              # a list: every value (grid)
    lr_shift = { choice = [12, 13, 14] }     # one of
    gate_lo = { int = [-4096, -512], step = 512 }
    lr_mult = { log_int = [1, 64] }
    x = { float = [-1.0, 1.0] }              # also { log = [1e-3, 1.0] }
    [[space.row]]                            # a grid whose values are tables of parameters
    topology = "784-500-10"                  # set together: one [[space.row]] per value
    lr_shift = [13, 15]

    [search]
    method = "grid"              # grid (default) | tpe (Optuna) | random
    trials = 20                  # tpe/random: configurations to try
    seed = 0                     # the searcher's seed
    max_concurrent = 0           # 0: as many as there are CPUs
    asha = { grace_epochs = 1, reduction_factor = 2 }   # optional early stopping

    [report]
    test = "none"                # none | best | all: also the test error of those trials

Parameters of the "train" objective: ``topology``, ``variant``, ``lr_halve_every``,
``lr_halve_start``, ``average_last`` (epochs of weight averaging, erbp.training.averaging; default
as ``erbp train``: the schedule's last halving period), ``grid_bits`` (as ``erbp train
--grid-bits``: the default network's weights on a finer grid; default 8) and any configuration field (erbp.reference.params.FIELDS; per-layer fields
take a list or a comma string, as ``erbp train --set``).
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..data import DATASETS
from ..errors import ErbpError
from ..reference import VARIANTS
from ..reference.params import FIELD_BY_NAME
from ..training import PROTOCOLS
from ..training.recipe import SPLITS, default_lr_schedule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the sweep extra installs tomli
    import tomli as tomllib


class SweepError(ErbpError, RuntimeError):
    """A sweep that cannot start or resume (bad spec, wrong directory, missing extra): the
    message says why, in one line."""


#: The one line for a missing extra (docs/sweeps.md, tests).
MISSING_EXTRA = "erbp sweep needs Ray Tune and Optuna: pip install 'erbp[sweep]'"
OBJECTIVES = ("train", "toy:quadratic")
METHODS = ("grid", "tpe", "random")
METRICS = ("error",)
TEST_REPORTS = ("none", "best", "all")
RUN_PARAMS = ("topology", "variant", "lr_halve_every", "lr_halve_start", "average_last",
              "grid_bits")
KINDS = ("grid", "choice", "int", "log_int", "float", "log")

TOP_KEYS = {"name", "objective", "dataset", "split", "epochs", "epoch_size", "protocol", "engine",
            "seeds", "metric", "eval_samples", "batch_size", "params", "space", "search",
            "report", "data_dir"}
SEARCH_KEYS = {"method", "trials", "seed", "max_concurrent", "asha"}
ASHA_KEYS = {"grace_epochs", "reduction_factor"}
REPORT_KEYS = {"test"}


@dataclass(frozen=True)
class Dim:
    """One swept parameter: ``kind`` (KINDS) and its ``values`` (grid, choice) or inclusive
    ``bounds`` (int, log_int, float, log) with an optional integer ``step`` (int)."""

    name: str
    kind: str
    values: tuple[Any, ...] = ()
    bounds: tuple[float, float] = (0, 0)
    step: int = 1


@dataclass(frozen=True)
class Spec:
    """A checked sweep spec (see the module docstring for each field)."""

    name: str
    objective: str = "train"
    dataset: str = "mnist"
    split: str = "validation"
    epochs: int = 1
    epoch_size: int | None = None
    protocol: str = "balanced"
    engine: str = "auto"
    seeds: tuple[int, ...] = (1,)
    metric: str = "error"
    eval_samples: int = 0
    batch_size: int = 500
    data_dir: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    space: tuple[Dim, ...] = ()
    method: str = "grid"
    trials: int = 1
    search_seed: int = 0
    max_concurrent: int = 0
    asha: dict[str, int] | None = None
    report_test: str = "none"
    text: str = ""  # the spec file as written

    @property
    def swept(self) -> list[str]:
        """Names of the swept parameters (seed included when it varies)."""
        return [d.name for d in self.space] + (["seed"] if len(self.seeds) > 1 else [])

    @property
    def n_trials(self) -> int:
        """Trials the sweep will run."""
        n = len(self.seeds) if self.method == "grid" else self.trials
        for d in self.space:
            n *= len(d.values) if d.kind == "grid" else 1
        return n

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (stored in SWEEPDIR/sweep.json)."""
        d = asdict(self)
        d["space"] = [asdict(x) for x in self.space]
        del d["text"]
        return d

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`as_dict` (a resume must use the same spec)."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True,
                                         default=list).encode()).hexdigest()


def load_spec(path: str | os.PathLike) -> Spec:
    """Read and check a spec file (SweepError naming the file and the key on any problem)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise SweepError(f"cannot read sweep spec {p}: {e.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{p}: not valid TOML: {e}") from None
    try:
        return parse_spec(raw, default_name=p.stem, text=text)
    except SweepError as e:
        raise SweepError(f"{p}: {e}") from None


def parse_spec(raw: dict[str, Any], default_name: str = "sweep", text: str = "") -> Spec:
    """A :class:`Spec` from a parsed TOML document (SweepError on any problem)."""
    _keys(raw, TOP_KEYS, "")
    objective = _choice(raw, "objective", OBJECTIVES, "train")
    search = _table(raw, "search")
    _keys(search, SEARCH_KEYS, "search.")
    method = _choice(search, "method", METHODS, "grid", "search.")
    report = _table(raw, "report")
    _keys(report, REPORT_KEYS, "report.")
    seeds = raw.get("seeds", [1])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    if (not isinstance(seeds, list) or not seeds
            or not all(_is_int(s) and 0 <= s < 2**32 for s in seeds)):
        raise SweepError("seeds: a list of integers 0..2**32-1")
    if len(set(seeds)) != len(seeds):
        raise SweepError("seeds: a seed is listed twice")
    if method != "grid" and len(seeds) > 1:
        raise SweepError(f"seeds: a {method} search trains every configuration with one seed; "
                         f"give one (run the best with more seeds as a grid)")
    params = _table(raw, "params")
    space_raw = _table(raw, "space")
    both = sorted(set(params) & set(space_raw))
    if both:
        raise SweepError(f"{', '.join(both)}: in both [params] and [space]")
    for key in [*params, *space_raw, *_bundle_keys(space_raw)]:
        if key == "seed":
            raise SweepError("seed: give seeds with the top-level 'seeds' list")
        if objective == "train" and not _is_bundle(space_raw.get(key)):
            _check_param_name(key)
    space = tuple(_dim(k, v, method) for k, v in space_raw.items())
    params = {k: _value(k, v) for k, v in params.items()}
    asha = search.get("asha")
    if asha is not None:
        if not isinstance(asha, dict):
            raise SweepError("search.asha: a table such as { grace_epochs = 1 }")
        _keys(asha, ASHA_KEYS, "search.asha.")
        asha = {"grace_epochs": _int(asha, "grace_epochs", 1, 1, "search.asha."),
                "reduction_factor": _int(asha, "reduction_factor", 2, 2, "search.asha.")}
    dataset = _choice(raw, "dataset", tuple(DATASETS), "mnist")
    protocol = _choice(raw, "protocol", PROTOCOLS, "balanced")
    epoch_size = raw.get("epoch_size")
    if epoch_size is not None and not (_is_int(epoch_size) and epoch_size >= 1):
        raise SweepError("epoch_size: an integer >= 1")
    if objective == "train" and protocol != "balanced":
        params.setdefault("lr_halve_every", 0.0)  # as erbp train: the default is for balanced
    if method == "grid":
        trials = 1
    else:
        trials = _int(search, "trials", None, 1, "search.")
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise SweepError("name: a non-empty string without '/'")
    data_dir = raw.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise SweepError("data_dir: a path string")
    return Spec(
        name=name, objective=objective, dataset=dataset,
        split=_choice(raw, "split", SPLITS, "validation"),
        epochs=_int(raw, "epochs", 1, 1), epoch_size=epoch_size, protocol=protocol,
        engine=_choice(raw, "engine", ("auto", "c", "python"), "auto"),
        seeds=tuple(seeds), metric=_choice(raw, "metric", METRICS, "error"),
        eval_samples=_int(raw, "eval_samples", 0, 0), batch_size=_int(raw, "batch_size", 500, 1),
        data_dir=data_dir, params=params, space=space, method=method, trials=trials,
        search_seed=_int(search, "seed", 0, 0, "search."),
        max_concurrent=_int(search, "max_concurrent", 0, 0, "search."), asha=asha,
        report_test=_choice(report, "test", TEST_REPORTS, "none", "report."), text=text)


def trial_params(spec: Spec, config: dict[str, Any]) -> dict[str, Any]:
    """Every parameter of a trial: the spec's fixed params, the schedule default, and the
    trial's sampled ``config`` (which holds ``seed``)."""
    out: dict[str, Any] = {}
    if spec.objective == "train":
        sched = default_lr_schedule(spec.epochs)  # erbp train's default for this many epochs
        out.update(variant="erbp", lr_halve_every=sched.every, lr_halve_start=sched.start)
    out.update(spec.params)
    if spec.objective == "train" and "average_last" not in out:
        # erbp train's default: the schedule's last halving period (none without a schedule)
        out["average_last"] = float(out["lr_halve_every"] or 0.0)  # trial.py validates both
    for k, v in config.items():
        if isinstance(v, dict):  # a grid value that is a table: its parameters
            out.update(v)
        else:
            out[k] = v
    return out


# --- helpers --------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _keys(d: dict[str, Any], known: set[str], prefix: str) -> None:
    for k in d:
        if k not in known:
            close = difflib.get_close_matches(k, sorted(known), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise SweepError(f"unknown key {prefix}{k}{hint}")


def _table(d: dict[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key, {})
    if not isinstance(v, dict):
        raise SweepError(f"{key}: a table ([{key}])")
    return v


def _choice(d: dict[str, Any], key: str, allowed: tuple[str, ...], default: str,
            prefix: str = "") -> str:
    v = d.get(key, default)
    if v not in allowed:
        raise SweepError(f"{prefix}{key}: {v!r} is not one of {', '.join(allowed)}")
    return v


def _int(d: dict[str, Any], key: str, default: int | None, lo: int, prefix: str = "") -> int:
    v = d.get(key, default)
    if v is None:
        raise SweepError(f"{prefix}{key} is required")
    if not _is_int(v) or v < lo:
        raise SweepError(f"{prefix}{key}: an integer >= {lo}, got {v!r}")
    return v


def _check_param_name(key: str) -> None:
    if key in RUN_PARAMS or key in FIELD_BY_NAME:
        return
    close = difflib.get_close_matches(key, [*RUN_PARAMS, *FIELD_BY_NAME], n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise SweepError(f"unknown parameter {key!r}{hint}: the train objective takes "
                     f"{', '.join(RUN_PARAMS)} and configuration fields")


def _is_bundle(v: Any) -> bool:
    """A [space] entry whose grid values are tables (parameters set together)."""
    vals = v if isinstance(v, list) else v.get("grid") if isinstance(v, dict) else None
    return isinstance(vals, list) and bool(vals) and all(isinstance(x, dict) for x in vals)


def _bundle_keys(space_raw: dict[str, Any]) -> list[str]:
    """The parameter names set by the tables of bundle entries."""
    out: list[str] = []
    for v in space_raw.values():
        if _is_bundle(v):
            for t in (v if isinstance(v, list) else v["grid"]):
                out += [k for k in t if k not in out]
    return out


def _value(key: str, v: Any) -> Any:
    """A parameter value as trials get it: per-layer lists become comma strings (one type
    that every searcher can sample), numbers and strings stay."""
    if isinstance(v, list):
        if not v or not all(_is_int(x) for x in v):
            raise SweepError(f"{key}: a per-layer value is a list of integers, got {v!r}")
        return ",".join(str(x) for x in v)
    if isinstance(v, dict):
        if not v:
            raise SweepError(f"{key}: an empty table")
        return {k: _value(k, x) for k, x in v.items()}
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        if key == "variant" and v not in VARIANTS:
            raise SweepError(f"variant: {v!r} is not one of {', '.join(VARIANTS)}")
        return v
    raise SweepError(f"{key}: unsupported value {v!r}")


def _dim(key: str, v: Any, method: str) -> Dim:
    if isinstance(v, list):
        v = {"grid": v}
    if not isinstance(v, dict) or len(set(v) & set(KINDS)) != 1:
        raise SweepError(f"space.{key}: a list (grid) or one of {{ {' | '.join(KINDS)} = ... }}")
    kind = next(k for k in v if k in KINDS)
    extra = set(v) - {kind} - ({"step"} if kind == "int" else set())
    if extra:
        raise SweepError(f"space.{key}: unexpected {', '.join(sorted(extra))}")
    arg = v[kind]
    if kind in ("grid", "choice"):
        if not isinstance(arg, list) or not arg:
            raise SweepError(f"space.{key}.{kind}: a non-empty list of values")
        values = tuple(_value(key, x) for x in arg)
        if any(isinstance(x, dict) for x in values) and (
                kind != "grid" or not all(isinstance(x, dict) for x in values)):
            raise SweepError(f"space.{key}: tables of parameters go in a grid list, all of them "
                             f"tables")
        if len({json.dumps(x, sort_keys=True) for x in values}) != len(values):
            raise SweepError(f"space.{key}: a value is listed twice")
        if method == "grid" and kind == "choice":
            raise SweepError(f"space.{key}: a grid sweep takes lists of values (grid); "
                             f"choice and ranges need search.method = \"tpe\" or \"random\"")
        if method == "tpe" and kind == "grid":
            raise SweepError(f"space.{key}: a tpe search samples: write "
                             f"{{ choice = [...] }} instead of a list")
        return Dim(key, kind, values=values)
    if method == "grid":
        raise SweepError(f"space.{key}: ranges need search.method = \"tpe\" or \"random\"")
    if not (isinstance(arg, list) and len(arg) == 2 and all(_is_num(x) for x in arg)):
        raise SweepError(f"space.{key}.{kind}: [low, high]")
    lo, hi = arg
    if kind in ("int", "log_int") and not (_is_int(lo) and _is_int(hi)):
        raise SweepError(f"space.{key}.{kind}: integer bounds")
    if not lo < hi or (kind in ("log", "log_int") and lo <= 0):
        raise SweepError(f"space.{key}.{kind}: need low < high" +
                         (" and low > 0" if kind in ("log", "log_int") else ""))
    step = v.get("step", 1)
    if not _is_int(step) or step < 1 or (hi - lo) % step:
        raise SweepError(f"space.{key}.step: an integer >= 1 that divides high - low")
    return Dim(key, kind, bounds=(lo, hi), step=step)
