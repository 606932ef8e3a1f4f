"""Turning a study's parameter specs into one trial's values, under the study's sampling design.

``sampling: random`` draws each parameter of each trial from its own stream (seed, trial, name).
The other designs give trial k (k >= 1) the point k - 1 of a design in the unit cube, one column
per design parameter (:attr:`StudyConfig.design_parameters`, in config order), mapped through each
parameter's inverse CDF (``ppf``):

- ``sobol``: a scrambled Sobol' sequence (:class:`scipy.stats.qmc.Sobol`): point k never depends
  on n_trial, so a study grows like a random one.
- ``lhs``: a Latin hypercube of n_trial - 1 points (:class:`scipy.stats.qmc.LatinHypercube`):
  every point depends on n_trial, so a study with finished trials cannot change its n_trial
  (:func:`mojo.trials.targets.design_refusal` refuses the run).
- ``saltelli``: SALib's Saltelli rows (:func:`SALib.sample.sobol.sample`, first and total order):
  blocks of D + 2 rows, block i built from point i of a Sobol' sequence, so it grows too (by
  doubling N, which the config's size check asks for anyway).

Cost: the whole design is computed once per process and cached (design size, not batch size:
about 0.05 s for Sobol' or LHS and 0.2 s for Saltelli at 100,000 trials of 10 parameters), then a
trial's values cost less than ``random``'s draws. SciPy and SALib are imported only then. The
cached design holds 8 bytes per trial and parameter (8 MB at 100,000 trials of 10 parameters).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mojo.config.distributions import name_key, parameter_rng
from mojo.config.study import DEFAULT_SAMPLING, GROWING_DESIGNS, StudyConfig
from mojo.trials.files import NamedValue

NOMINAL_TRIAL = 0


def sample_parameters(
    study: StudyConfig, stream: int, fixed: dict[str, NamedValue] | None = None
) -> dict[str, NamedValue]:
    """Every parameter's value for one trial (``stream`` is the trial number).

    Trial 0 is the nominal trial: every parameter at its nominal value. Overrides win over draws,
    and ``fixed`` values (the optimiser's choices) win over both. Under ``sampling: random`` (and
    for the optimiser's evaluations, ``fixed`` given, whose numbers are not rows of a design) a
    draw depends only on (seed, stream, parameter name); under another design on the design's
    point ``stream`` (see :func:`design_point`).
    """
    point = {}
    if study.sampling != DEFAULT_SAMPLING and fixed is None and stream != NOMINAL_TRIAL:
        point = design_point(study, stream)
    fixed = fixed or {}
    values: dict[str, NamedValue] = {}
    for name, dist in study.parameters.items():
        if name in fixed:
            values[name] = fixed[name]
        elif name in study.overrides:
            values[name] = NamedValue(value=study.override(name), unit=dist.unit, source="override")
        elif stream == NOMINAL_TRIAL:
            values[name] = NamedValue(value=dist.nominal_value(), unit=dist.unit, source="nominal")
        elif name in point:
            values[name] = NamedValue(value=dist.ppf(point[name]), unit=dist.unit, source="sampled")
        else:  # random sampling, an optimiser's evaluation, or a constant
            draw = dist.draw(parameter_rng(study.seed, stream, name))
            values[name] = NamedValue(value=draw, unit=dist.unit, source="sampled")
    return values


def plain_values(values: dict[str, NamedValue]) -> dict[str, Any]:
    """``{name: value}``, what the generator receives."""
    return {name: nv.value for name, nv in values.items()}


def design_fields(study: StudyConfig) -> dict[str, Any]:
    """What a Monte Carlo trial's ``config.json`` says of its design (:class:`TrialConfig`'s
    ``sampling`` and ``design_size``): a trial made under another design is not finished."""
    if study.sampling == DEFAULT_SAMPLING:
        return {}
    size = None if study.sampling in GROWING_DESIGNS else study.n_trial
    return {"sampling": study.sampling, "design_size": size}


def design_point(study: StudyConfig, trial: int) -> dict[str, float]:
    """Trial ``trial``'s point of the study's design in [0, 1]^D, by design parameter."""
    names = study.design_parameters
    if not names:
        return {}
    if not 1 <= trial < study.n_trial:
        raise ValueError(f"trial {trial} is not in the design of trials 1 .. {study.n_trial - 1}")
    row = unit_design(study.sampling, study.seed, tuple(names), design_rows(study))[trial - 1]
    return dict(zip(names, map(float, row)))


def design_rows(study: StudyConfig) -> int:
    """How many points to compute for trials 1 .. n_trial - 1. A Sobol' sequence is drawn to the
    next power of 2 (its balanced size, and the same points: it is a sequence)."""
    rows = max(study.n_trial - 1, 1)
    if study.sampling == "sobol":
        return 1 << (rows - 1).bit_length()
    return rows


def saltelli_problem(study: StudyConfig) -> dict[str, Any]:
    """The SALib problem of a ``saltelli`` study: trial k (1 <= k < n_trial) is row k - 1 of
    ``SALib.sample.sobol.sample(problem, N, calc_second_order=False)``, in the unit cube; so
    ``SALib.analyze.sobol.analyze(problem, Y, calc_second_order=False)`` takes the metric of
    trials 1 .. n_trial - 1 in trial order as ``Y``. Bounds are [0, 1]: the design's points, before
    each parameter's inverse CDF."""
    return _unit_problem(study.design_parameters)


def _unit_problem(names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _design_rng(design: str, seed: int) -> np.random.Generator:
    """The design's own random stream (scrambling, strata): apart from every trial's streams."""
    return np.random.default_rng(np.random.SeedSequence([seed, name_key(f"sampling:{design}")]))


@functools.lru_cache(maxsize=4)
def unit_design(design: str, seed: int, names: tuple[str, ...], rows: int) -> np.ndarray:
    """``rows`` points of ``design`` in [0, 1]^D, a column per name (read-only; computed once
    per process)."""
    from scipy.stats import qmc

    rng = _design_rng(design, seed)
    if design == "sobol":
        points = qmc.Sobol(d=len(names), rng=rng).random(rows)
    elif design == "lhs":
        points = qmc.LatinHypercube(d=len(names), rng=rng).random(rows)
    elif design == "saltelli":  # rows = N * (D + 2), N a power of 2 (the config checks it)
        from SALib.sample import sobol as saltelli

        n = rows // (len(names) + 2)
        points = saltelli.sample(_unit_problem(names), n, calc_second_order=False, seed=rng)
    else:
        raise ValueError(f"sampling = {design!r} has no design points")
    points.setflags(write=False)
    return points
