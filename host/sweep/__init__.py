"""``erbp sweep``: experiments and hyper-parameter searches on Ray Tune (with Optuna's TPE),
from one laptop to a cluster. docs/sweeps.md is the user's guide.

Modules: :mod:`.spec` (the TOML spec, checked without Ray), :mod:`.space` (its search space in
Ray Tune / Optuna terms), :mod:`.trial` (one trial = one run directory trained epoch by epoch),
:mod:`.runner` (Ray start-up, the Tuner, resume), :mod:`.report` (results.md and results.csv),
:mod:`.plots` (``erbp plot sweep``). Ray and Optuna are imported only when a sweep runs (the
``sweep`` extra: ``pip install 'erbp[sweep]'``); this package imports only the spec.
"""
from __future__ import annotations

from .spec import MISSING_EXTRA, Spec, SweepError, load_spec, parse_spec

__all__ = ["MISSING_EXTRA", "Spec", "SweepError", "load_spec", "parse_spec"]
