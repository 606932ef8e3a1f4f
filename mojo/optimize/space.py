"""The search space: Optuna distributions from the config, and refinement around the best trial."""

from __future__ import annotations

import math
from typing import Any

from mojo.config.optimize import CategoricalParam, FloatParam, IntParam, SearchParam


def distributions(space: dict[str, SearchParam]) -> dict[str, Any]:
    """Optuna distributions for ``study.ask(fixed_distributions=...)``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, CategoricalParam):
            out[name] = CategoricalDistribution(p.choices)
        elif isinstance(p, IntParam):
            out[name] = IntDistribution(p.low, p.high, log=p.log, step=p.step or 1)
        else:
            out[name] = FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    return out


def refine(space: dict[str, SearchParam], best: dict[str, Any], factor: float) -> dict[str, SearchParam]:
    """Shrink every numeric range to ``factor`` times its width, centred on the best value (or the
    nearest bound, for a best value outside the range) and clipped to the old range (log-scaled
    ranges: in log space; stepped ranges stay on their grid). Categorical parameters and
    parameters the best trial lacks are kept as they are."""
    refined: dict[str, SearchParam] = {}
    for name, p in space.items():
        value = best.get(name)
        if isinstance(p, CategoricalParam) or value is None:
            refined[name] = p
            continue
        refined[name] = _window(p, float(value), factor)
    return refined


def _window(p: FloatParam | IntParam, best: float, factor: float) -> FloatParam | IntParam:
    if p.log:
        lo, hi, centre = math.log(p.low), math.log(p.high), math.log(best)
    else:
        lo, hi, centre = p.low, p.high, best
    # A best value outside the range (the bounds were edited since) centres the window on the
    # nearest bound: the window stays inside the range, never inverted.
    centre = min(max(centre, lo), hi)
    half = factor * (hi - lo) / 2
    new_lo, new_hi = max(lo, centre - half), min(hi, centre + half)
    if p.log:
        new_lo, new_hi = math.exp(new_lo), math.exp(new_hi)
        new_lo, new_hi = max(p.low, new_lo), min(p.high, new_hi)  # exp(log(x)) may drift by an ulp
    if isinstance(p, IntParam):
        step = p.step or 1
        k_lo = math.ceil((new_lo - p.low) / step - 1e-9)
        k_hi = math.floor((new_hi - p.low) / step + 1e-9)
        k_hi = max(k_hi, k_lo)
        return p.model_copy(update={"low": p.low + k_lo * step, "high": min(p.high, p.low + k_hi * step)})
    if p.step is not None:
        k_lo = math.ceil((new_lo - p.low) / p.step - 1e-9)
        k_hi = max(math.floor((new_hi - p.low) / p.step + 1e-9), k_lo)
        new_lo, new_hi = p.low + k_lo * p.step, min(p.high, p.low + k_hi * p.step)
    return p.model_copy(update={"low": new_lo, "high": new_hi})


def incompatible(old: dict[str, SearchParam], new: dict[str, SearchParam]) -> dict[str, str]:
    """The parameters of both spaces whose ``new`` range Optuna cannot mix with ``old``'s in one
    study (its rule for one parameter name: same kind, same ``log``, same categorical choices),
    each with what changed. Bounds and steps may change."""
    changes: dict[str, str] = {}
    for name in old.keys() & new.keys():
        was, now = old[name], new[name]
        if was.type != now.type:
            changes[name] = f"its type changed from {was.type} to {now.type}"
        elif isinstance(was, CategoricalParam):
            if list(was.choices) != list(now.choices):
                changes[name] = f"its choices changed from {was.choices} to {now.choices}"
        elif was.log != now.log:
            changes[name] = f"log changed from {str(was.log).lower()} to {str(now.log).lower()}"
    return changes


def contains(space: dict[str, SearchParam], params: dict[str, Any]) -> bool:
    """Whether every parameter value lies in the space (used by tests and checks)."""
    for name, p in space.items():
        value = params.get(name)
        if isinstance(p, CategoricalParam):
            if value not in p.choices:
                return False
        elif value is None or not (p.low <= value <= p.high):
            return False
    return True
