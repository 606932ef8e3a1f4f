"""User code that returns what a new user's code might: odd metrics, no model, odd objectives.

One study runs every odd kind of metric (trial ``n`` returns ``ODD_KINDS[n]``), another every odd
objective; each generator returns something that is not a model. Used by tests/test_edges_corpus.py.
"""

from __future__ import annotations

import numpy as np

from mojo.runtime import step

ODD_METRICS = {
    "numpy_float": lambda: {"z": np.float64(0.25)},
    "numpy_int": lambda: {"z": np.int64(3)},
    "numpy_bool": lambda: {"z": np.bool_(True)},
    "numpy_array": lambda: {"z": np.array([1.0, 2.0])},
    "numpy_scalar_array": lambda: {"z": np.array(0.5)},
    "string": lambda: {"z": "tall"},
    "bool": lambda: {"z": True},
    "none": lambda: {"z": None},
    "nested_dict": lambda: {"z": {"inner": 1.0}},
    "nan": lambda: {"z": float("nan")},
    "inf": lambda: {"z": float("-inf")},
    "huge_int": lambda: {"z": 10**400},
    "name_not_text": lambda: {1: 2.0},
    "name_empty": lambda: {"": 2.0},
    "reserved_name": lambda: {"status": 1.0},
    "parameter_name": lambda: {"height": 1.0},
    "a_list": lambda: [1.0, 2.0],
    "nothing": lambda: None,
}


ODD_KINDS = list(ODD_METRICS)
"""Trial ``n`` of a study run by :func:`odd` returns the metrics of ``ODD_KINDS[n]``."""


def odd(model, data, trial) -> dict:
    """Step the model briefly, then return the odd metrics of this trial's kind."""
    step(model, data, 10)
    return ODD_METRICS[ODD_KINDS[trial.number]]()


def plain(model, data, trial) -> dict:
    """Ordinary metrics, plus the trial number for the objectives below."""
    step(model, data, 10)
    return {"z": float(data.qpos[2]), "number": trial.number}


ODD_OBJECTIVES = [
    lambda: float("nan"),
    lambda: "good",
    lambda: None,
    lambda: [1.0],
    lambda: float("inf"),
    lambda: "0.25",
    lambda: True,
]


def odd_objective(metrics: dict):
    """Trial ``n``'s objective is ``ODD_OBJECTIVES[n]()``: NaN, text, None, a list, infinity,
    text that reads as a number, a bool."""
    return ODD_OBJECTIVES[int(metrics["number"])]()


def generator_none(values: dict) -> None:
    return None


def generator_number(values: dict) -> int:
    return 5


def generator_bad_xml(values: dict) -> str:
    return "<mujoco><worldbody><body><geom type='nonsense'/></body></worldbody></mujoco>"
