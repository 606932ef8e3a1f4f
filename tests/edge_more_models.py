"""User code for tests/test_edges_more.py: names that are not functions, and functions whose
signature does not take what mojo passes them."""

from __future__ import annotations

import functools

from tests.trial_models import ball, height_metrics

THRESHOLD = 0.5
"""A constant a ``metrics`` path may name by mistake."""

SHAPES = ["sphere", "box"]


def one_argument_metrics(model) -> dict:
    """Wrong: ``metrics`` is called as ``metrics(model, data)``."""
    return {"z": 0.0}


def two_argument_objective(metrics, weight) -> float:
    """Wrong: ``objective`` is called as ``objective(metrics)``."""
    return metrics["z"] * weight


def keyword_generator(values, *, scale: float = 1.0, **extra):
    """Takes any keyword: every ``gen_kwargs`` fits."""
    return ball({"height": values["height"] * scale})


def _logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)

    return wrapper


@_logged
def decorated_metrics(model, data, extra):
    """Decorated: its signature is only known by running it, so it is not checked up front."""
    return height_metrics(model, data)


def typed_generator(values, scale, flag, items):
    """Raises unless ``--config 'gen_kwargs={scale: 2.0, flag: true, items: [1, a, null]}'``
    arrived as a config file would give it: numbers, booleans and null, not their text."""
    if (scale, flag, items) != (2.0, True, [1, "a", None]) or not isinstance(scale, float):
        raise TypeError(f"gen_kwargs arrived as scale={scale!r}, flag={flag!r}, items={items!r}")
    return ball({"height": values["height"] * scale})
