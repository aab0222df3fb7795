"""The spec's search space in Ray Tune's terms (Optuna's TPE reads the same space through
``ray.tune.search.optuna.OptunaSearch``, which maps each Ray domain to an Optuna distribution).

===========================  =============================================  ==================
spec                         Ray Tune                                       Optuna (TPE)
===========================  =============================================  ==================
``[a, b]`` / ``{grid=..}``   ``tune.grid_search([a, b])``                   (refused)
``{choice = [a, b]}``        ``tune.choice([a, b])``                        categorical
``{int = [lo, hi]}``         ``tune.randint(lo, hi + 1)`` (hi inclusive)    int
``{int=[lo,hi], step=s}``    ``tune.qrandint(lo, hi, s)``                   int with step
``{log_int = [lo, hi]}``     ``tune.lograndint(lo, hi + 1)``                int, log
``{float = [lo, hi]}``       ``tune.uniform(lo, hi)``                       float
``{log = [lo, hi]}``         ``tune.loguniform(lo, hi)``                    float, log
===========================  =============================================  ==================

Seeds: a grid sweep adds ``seed = tune.grid_search(seeds)``; a search has one seed, a constant.
"""
from __future__ import annotations

from typing import Any

from .spec import Dim, Spec


def ray_domain(d: Dim) -> Any:
    """The Ray Tune search-space entry of one swept parameter."""
    from ray import tune

    lo, hi = d.bounds
    if d.kind == "grid":
        return tune.grid_search(list(d.values))
    if d.kind == "choice":
        return tune.choice(list(d.values))
    if d.kind == "int":
        return tune.randint(lo, hi + 1) if d.step == 1 else tune.qrandint(lo, hi, d.step)
    if d.kind == "log_int":
        return tune.lograndint(lo, hi + 1)
    if d.kind == "float":
        return tune.uniform(float(lo), float(hi))
    if d.kind == "log":
        return tune.loguniform(float(lo), float(hi))
    raise ValueError(f"unknown kind {d.kind!r}")


def param_space(spec: Spec) -> dict[str, Any]:
    """The ``param_space`` of the Tuner: every swept parameter and the seed (fixed parameters
    are not in it: the trial adds them from the spec, see spec.trial_params)."""
    from ray import tune

    space = {d.name: ray_domain(d) for d in spec.space}
    space["seed"] = (tune.grid_search(list(spec.seeds)) if spec.method == "grid"
                     else spec.seeds[0])
    return space
