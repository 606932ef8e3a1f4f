"""The numbers a config accepts: finite, and never a boolean.

Pydantic's lax mode would take ``true`` as 1 and ``.nan``/``.inf`` as floats, so ``n_trial: true``
ran one trial and an infinite bound passed validation to break a job later. Every numeric config
key (study, distributions, optimisation) uses :data:`Real` or :data:`Whole` instead. Text stays
accepted (``"1.5"``, ``"4"``): ``snakemake --config 'overrides={mass: 1.5}'`` hands nested values
over as text.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AllowInfNan, BeforeValidator, TypeAdapter, ValidationError


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"need a number, not the boolean {str(value).lower()}")
    return value


Real = Annotated[float, AllowInfNan(False), BeforeValidator(_not_a_boolean)]
"""A finite real number (an int, a float or its text; not a boolean, NaN or infinity)."""

def _whole_text(value: Any) -> Any:
    """``"1e3"`` as 1000: YAML reads ``n_trial: 1e3`` as text (its floats need a dot)."""
    if isinstance(value, str):
        try:
            return int(value)  # exact, however long
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            return value
        if number.is_integer():
            return int(number)
    return value


Whole = Annotated[int, BeforeValidator(_whole_text), BeforeValidator(_not_a_boolean)]
"""A whole number (``3``, ``3.0``, ``"3"``, ``"1e3"``; not a boolean, ``1.5``, NaN or infinity)."""

_REAL = TypeAdapter(Real)
_WHOLE = TypeAdapter(Whole)


def _convert(adapter: TypeAdapter, value: Any, kind: str) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        finite = "finite " if error.errors()[0]["type"] == "finite_number" else ""
        raise ValueError(f"{value!r} is not a {finite}{kind}") from None


def to_real(value: Any) -> float:
    """``value`` (a number or its text) as a float, or ValueError naming it."""
    return _convert(_REAL, value, "number")


def to_whole(value: Any) -> int:
    """``value`` (a whole number or its text) as an int, or ValueError naming it."""
    return _convert(_WHOLE, value, "whole number")


def first_non_finite(value: Any) -> float | None:
    """The first NaN or infinity anywhere in a value (numbers, lists, mappings), else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = first_non_finite(item)
        if found is not None:
            return found
    return None


def check_range(low: float, high: float) -> None:
    """ValueError unless ``low <= high`` with a finite width: the rule of every ``low``/``high``
    pair (a distribution's bounds, a search space's)."""
    if low > high:
        raise ValueError(f"low = {low} is greater than high = {high}; need low <= high")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low = {high} - {low} overflows; need a finite width")
