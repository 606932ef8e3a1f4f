"""The ``signals:`` section of the study config: what each trial records over time, how often.

Only the spelling of each signal is checked here (cheaply, on every parse); that the names exist
in the model is checked against the compiled nominal model before any job runs
(:func:`mojo.signals.check_names`).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from mojo.config import codepath
from mojo.config.base import Frozen
from mojo.config.numbers import Real

NAMED_KINDS = {
    "sensor": "sensor",
    "qpos": "joint",
    "qvel": "joint",
    "xpos": "body",
    "xquat": "body",
    "ctrl": "actuator",
}
"""The kinds of signal that name an element of the model, with the kind of element they name."""
WHOLE_KINDS = ("ctrl",)
"""Kinds that may also stand alone, for every element at once (``ctrl``: every actuator)."""
FUNCTION = "fn"
"""The kind of a user function's signal: ``fn:package.module:function``."""


def parse_signal(signal: str) -> tuple[str, str | None]:
    """``(kind, name)`` of a signal's spelling (name None for a whole kind); ValueError if it is
    none of :data:`NAMED_KINDS` ``kind:name``, a whole kind, or ``fn:module:function``."""
    kind, sep, name = signal.partition(":")
    if kind == FUNCTION:
        codepath.split_path(name)  # raises, saying what form is expected
        return kind, name
    if kind in NAMED_KINDS and (name or (not sep and kind in WHOLE_KINDS)):
        return kind, name or None
    kinds = ", ".join(f"{k}:<{element}>" for k, element in NAMED_KINDS.items())
    raise ValueError(
        f"'{signal}' is not a signal: use {kinds}, {', '.join(WHOLE_KINDS)} (every actuator) or "
        f"{FUNCTION}:package.module:function (a function of yours, called as function(model, data) "
        "-> dict of numbers or arrays)"
    )


class SignalsConfig(Frozen):
    """What each trial records over simulated time (``signals: {rate: 100, record: [qpos:hinge0,
    sensor:tip_vel, ctrl]}``), in the trial's ``signals.parquet``. Changes no other trial file:
    adding or changing it only records the signals of the finished trials again."""

    rate: Real = Field(100.0, gt=0)
    """Samples per simulated second. A sample is taken every ``round(1 / (rate * timestep))``
    steps (at least one), at the simulated times the steps start; the times recorded are those
    true times, so a rate that is not a whole number of steps is recorded at the nearest one."""

    record: list[str] = Field(min_length=1)
    """The signals, each once: ``sensor:<sensor>``, ``qpos:<joint>``, ``qvel:<joint>``,
    ``xpos:<body>``, ``xquat:<body>``, ``ctrl:<actuator>``, ``ctrl`` (every actuator), or
    ``fn:package.module:function`` -- a function of yours, ``function(model, data) -> dict`` of
    numbers or 1-D arrays, one component per number."""

    @field_validator("record")
    @classmethod
    def _signals_are_spelt_right(cls, record: list[str]) -> list[str]:
        for signal in record:
            kind, name = parse_signal(signal)
            if kind == FUNCTION:
                codepath.check_call(name, ("model", "data"), {}, "function(model, data)")
        twice = sorted({s for s in record if record.count(s) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} given twice; each signal once")
        return record


def signals_spec(signals: SignalsConfig) -> dict:
    """What a signals file is recorded for: the section, and the source hash of each function it
    names (a file of another spec is recorded again; see :func:`mojo.trials.trial.signals_current`)."""
    spec = signals.model_dump(mode="json")
    functions = [name for kind, name in map(parse_signal, signals.record) if kind == FUNCTION]
    spec["code"] = {path: codepath.source_hash(path) for path in functions}
    return spec
