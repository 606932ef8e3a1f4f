"""Signals recorded in C (issue 13's speed budget): ``mojo.runtime.step`` records a study's
signals through ``mujoco.batch`` rollouts instead of a Python call per sample; the samples, the
simulation and where an unstable run stops must be those of the step-by-step path."""

from __future__ import annotations

from contextlib import nullcontext

import mujoco
import numpy as np
import pytest

import mojo.runtime as runtime
from mojo.config.signals import SignalsConfig
from mojo.examples import pendulum
from mojo.runtime import Unstable, sample_every, step
from mojo.signals import Recorder
from tests.signals_models import motorised

# A spring too stiff for its time step: it diverges (MuJoCo warns BADQACC) at step 1194, after
# one whole batched rollout (1000 steps), inside the second.
DIVERGING = """
<mujoco>
  <option timestep="0.002" gravity="0 0 0"/>
  <worldbody>
    <body name="mass">
      <joint name="spring" type="slide" axis="1 0 0" stiffness="5.005e6"/>
      <geom type="sphere" size="0.1" mass="5"/>
    </body>
  </worldbody>
  <sensor><jointpos name="stretch" joint="spring"/></sensor>
  <keyframe><key qpos="1e-30"/></keyframe>
</mujoco>
"""


class CountingRecorder(Recorder):
    """A recorder that counts the samples it was called for one by one."""

    calls = 0

    def __call__(self, model, data, t):
        self.calls += 1
        super().__call__(model, data, t)


def pendulum_model(integrator: str):
    model = pendulum.build(
        {"length": 1.0, "mass": 1.0, "damping": 0.05, "initial_angle": 60.0, "bob_shape": "box"}
    ).compile()
    model.opt.integrator = getattr(mujoco.mjtIntegrator, integrator)
    return model


MODELS = {
    "pendulum-euler": (
        lambda: pendulum_model("mjINT_EULER"),
        ["qpos:hinge", "qvel:hinge", "xpos:pole", "xquat:pole", "sensor:bob_vel"],
    ),
    "pendulum-rk4": (lambda: pendulum_model("mjINT_RK4"), ["qvel:hinge", "xpos:pole", "sensor:bob_vel"]),
    "motorised": (
        lambda: mujoco.MjModel.from_xml_string(motorised({})),
        ["ctrl", "ctrl:motor", "qpos:float", "qvel:float", "xpos:box", "xquat:arm"],
    ),
    "diverging": (lambda: mujoco.MjModel.from_xml_string(DIVERGING), ["qpos:spring", "sensor:stretch"]),
}


def record(name: str, rate: float, steps: list[int], batched: bool, monkeypatch) -> tuple:
    """Step the model through ``steps`` calls of ``step`` recording its signals (``rate``: None,
    no recording), with or without the batched path: ``(recorder, data, what stopped it)``."""
    build, signals = MODELS[name]
    model = build()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    recorder = None if rate is None else CountingRecorder(SignalsConfig(rate=rate, record=signals), model)
    with monkeypatch.context() as patch:
        if not batched:
            patch.setattr(runtime, "_mjbatch", None, raising=False)
        recording = nullcontext() if recorder is None else sample_every(rate, recorder, recorder.before)
        stopped = None
        with recording:
            try:
                for n in steps:
                    step(model, data, n)
            except Unstable as error:
                stopped = str(error)
    return recorder, data, stopped


def assert_same_data(one: mujoco.MjData, other: mujoco.MjData) -> None:
    assert one.time == other.time
    for field in dir(one):
        value = getattr(one, field, None) if not field.startswith("_") else None
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, getattr(other, field), err_msg=field)
    np.testing.assert_array_equal(one.warning.number, other.warning.number)


@pytest.mark.parametrize("name", ["pendulum-euler", "pendulum-rk4", "motorised"])
def test_signals_recorded_in_c_are_those_sampled_step_by_step(name, monkeypatch):
    # 30 Hz at 2 ms: a sample every 17 steps, across rollouts of 1000 steps and a short call
    steps = [2345, 5, 1201]
    batched, data, _ = record(name, 30, steps, batched=True, monkeypatch=monkeypatch)
    stepwise, reference, _ = record(name, 30, steps, batched=False, monkeypatch=monkeypatch)
    assert batched.calls == 1 and stepwise.calls == len(stepwise.times) == 209  # the 5 steps: one
    time, values, labels = batched.arrays()
    expected_time, expected, expected_labels = stepwise.arrays()
    np.testing.assert_array_equal(time, expected_time)
    assert labels == expected_labels and list(values) == list(expected)
    for signal in expected:
        np.testing.assert_array_equal(values[signal], expected[signal], err_msg=signal)
    assert_same_data(data, reference)


def test_an_unstable_run_stops_where_it_stops_without_signals(monkeypatch):
    _, plain, plain_stop = record("diverging", None, [3000], batched=True, monkeypatch=monkeypatch)
    batched, data, stop = record("diverging", 100, [3000], batched=True, monkeypatch=monkeypatch)
    stepwise, reference, stepwise_stop = record(
        "diverging", 100, [3000], batched=False, monkeypatch=monkeypatch
    )
    assert plain_stop.startswith("mjWARN_BADQACC") and stop == stepwise_stop == plain_stop
    # it diverged at step 1194 (t = 2.388 s); MuJoCo then put time back to 0
    assert plain_stop.endswith("after t=2.2s")
    assert_same_data(data, plain)
    assert_same_data(reference, plain)
    # the samples until MuJoCo reset the state, the last rollout's step by step (the 240th, at
    # step 1195, was of the reset state: t = 0.002 s, qpos 0)
    time, values, _ = batched.arrays()
    expected_time, expected, _ = stepwise.arrays()
    assert len(time) == 239 and batched.calls == 40
    np.testing.assert_array_equal(time, expected_time)
    for signal in expected:
        np.testing.assert_array_equal(values[signal], expected[signal], err_msg=signal)
