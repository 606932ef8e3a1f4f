"""Turning a study's parameter specs into one trial's values."""

from __future__ import annotations

from typing import Any

from mojo.config.distributions import parameter_rng
from mojo.config.study import StudyConfig
from mojo.trials.files import NamedValue

NOMINAL_TRIAL = 0


def sample_parameters(
    study: StudyConfig, stream: int, fixed: dict[str, NamedValue] | None = None
) -> dict[str, NamedValue]:
    """Every parameter's value for one trial (``stream`` is the trial number).

    Trial 0 is the nominal trial: every parameter at its nominal value. Overrides win over draws,
    and ``fixed`` values (the optimiser's choices) win over both. A draw depends only on
    (seed, stream, parameter name).
    """
    fixed = fixed or {}
    values: dict[str, NamedValue] = {}
    for name, dist in study.parameters.items():
        if name in fixed:
            values[name] = fixed[name]
        elif name in study.overrides:
            values[name] = NamedValue(value=study.override(name), unit=dist.unit, source="override")
        elif stream == NOMINAL_TRIAL:
            values[name] = NamedValue(value=dist.nominal_value(), unit=dist.unit, source="nominal")
        else:
            draw = dist.draw(parameter_rng(study.seed, stream, name))
            values[name] = NamedValue(value=draw, unit=dist.unit, source="sampled")
    return values


def plain_values(values: dict[str, NamedValue]) -> dict[str, Any]:
    """``{name: value}``, what the generator receives."""
    return {name: nv.value for name, nv in values.items()}
