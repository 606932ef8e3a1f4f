"""Signals (issue 13): sampling in mojo.runtime.step, the recorded values against a direct MuJoCo
loop, the file format, readers, name checks, and resume of signals files in batches."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
import pyarrow.parquet as pq
import pytest

import mojo.signals as signals
from mojo.config.study import ConfigError, load_study
from mojo.examples import pendulum
from mojo.runtime import sample_every, step
from mojo.trials import targets
from mojo.trials.batch import run_batch
from mojo.trials.files import SIGNALS_FILE, TRIAL_FILES
from mojo.trials.integrity import trial_stamps, unreadable
from mojo.trials.layout import trial_dir

NOMINAL = {"length": 1.0, "mass": 1.0, "damping": 0.05, "initial_angle": 60.0, "bob_shape": "box"}
RECORD = ["qpos:hinge", "qvel:hinge", "xpos:pole", "xquat:pole", "sensor:bob_vel"]


def pendulum_study(tmp_path: Path, n_trial: int = 2, **changes):
    config = {
        "study": "swing",
        "results_dir": str(tmp_path),
        "seed": 1,
        "n_trial": n_trial,
        "generator": "mojo.examples.pendulum:build",
        "metrics": "mojo.examples.pendulum:metrics",
        "duration": 0.5,
        "parameters": {
            "length": {"dist": "uniform", "low": 0.5, "high": 1.5, "nominal": 1.0},
            "mass": {"dist": "constant", "value": 1.0},
            "damping": {"dist": "constant", "value": 0.05},
            "initial_angle": {"dist": "normal", "mean": 60.0, "std": 10.0},
            "bob_shape": {"dist": "constant", "value": "box"},
        },
        "signals": {"rate": 100, "record": RECORD},
    }
    return load_study(config | changes)


def nominal_pendulum():
    model = pendulum.build(NOMINAL).compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    return model, data


def direct_samples(every: int, n_steps: int) -> list[dict]:
    """The reference: a plain mj_step loop; a sample is the state before the step that starts at
    its time and the derived quantities just after that step (computed by MuJoCo for that time)."""
    model, data = nominal_pendulum()
    sensor = model.sensor("bob_vel")
    samples = []
    for i in range(n_steps):
        if i % every == 0:
            t, qpos, qvel = data.time, data.qpos.copy(), data.qvel.copy()
        mujoco.mj_step(model, data)
        if i % every == 0:
            samples.append(
                {
                    "time": t,
                    "qpos:hinge": qpos,
                    "qvel:hinge": qvel,
                    "xpos:pole": data.xpos[model.body("pole").id].copy(),
                    "xquat:pole": data.xquat[model.body("pole").id].copy(),
                    "sensor:bob_vel": data.sensordata[sensor.adr[0] : sensor.adr[0] + 3].copy(),
                }
            )
    return samples


# --- sampling in mojo.runtime.step ------------------------------------------------------------


def test_sampling_leaves_the_simulation_bit_for_bit_as_a_plain_loop():
    model, plain = nominal_pendulum()
    mujoco.mj_step(model, plain, nstep=250)
    model, sampled = nominal_pendulum()
    times = []
    with sample_every(100, lambda m, d, t: times.append((t, d.time))):
        for chunk in (3, 1, 120, 126):  # a user loop's uneven steps: the schedule carries over
            step(model, sampled, chunk)
    assert np.array_equal(sampled.qpos, plain.qpos) and np.array_equal(sampled.qvel, plain.qvel)
    assert sampled.time == plain.time
    assert [t for t, _ in times] == pytest.approx([0.01 * k for k in range(50)], abs=1e-12)
    assert all(seen == pytest.approx(t + 0.002) for t, seen in times)  # called after the step at t


def test_a_sample_holds_the_state_at_its_time():
    model, data = nominal_pendulum()
    recorder = signals.Recorder(pendulum_study(Path("/unused")).signals, model)
    with sample_every(100, recorder, recorder.before):
        step(model, data, 250)
    time, values, labels = recorder.arrays()
    expected = direct_samples(every=5, n_steps=250)
    assert len(time) == len(expected) == 50
    np.testing.assert_array_equal(time, [s["time"] for s in expected])
    for signal in RECORD:
        np.testing.assert_array_equal(values[signal], np.array([s[signal] for s in expected]), err_msg=signal)
    assert labels["xquat:pole"] == ["w", "x", "y", "z"] and labels["qpos:hinge"] == ["0"]


def test_a_rate_of_no_whole_number_of_steps_samples_at_the_nearest_step_count():
    model, data = nominal_pendulum()  # timestep 0.002 s: 30 Hz is 16.7 steps, sampled every 17
    times, faster = [], []
    with (
        sample_every(30, lambda m, d, t: times.append(t)),
        sample_every(250, lambda m, d, t: faster.append(t)),
    ):
        step(model, data, 100)
    assert times == pytest.approx([0.0, 0.034, 0.068, 0.102, 0.136, 0.170])
    assert faster == pytest.approx([0.004 * k for k in range(50)])  # nested contexts, each its rate


def test_sample_every_refuses_a_rate_that_is_not_positive():
    with pytest.raises(ValueError, match="rate must be a positive number"):
        with sample_every(0, print):
            pass


# --- the file and its readers -----------------------------------------------------------------


def test_signals_file_format_and_readers(tmp_path):
    folder = tmp_path / "trial_0003"
    folder.mkdir()
    time = np.array([0.0, 0.5])
    values = {"xpos:box": np.arange(6.0).reshape(2, 3), "ctrl": np.array([[1.0], [2.0]])}
    labels = {"xpos:box": ["x", "y", "z"], "ctrl": ["motor"]}
    path = folder / SIGNALS_FILE
    signals.write_signals(path, time, values, labels, spec={"rate": 2}, input_hash="abc")
    first = path.read_bytes()
    signals.write_signals(path, time, values, labels, spec={"rate": 2}, input_hash="abc")
    assert path.read_bytes() == first  # no timestamps: the same arguments, the same bytes
    schema = pq.read_schema(path)
    assert schema.names == ["time", "xpos:box[x]", "xpos:box[y]", "xpos:box[z]", "ctrl[motor]"]
    assert {str(t) for t in schema.types} == {"double"}
    assert signals.file_metadata(path) == {"spec": {"rate": 2}, "input_hash": "abc"}
    assert signals.recorded(tmp_path) == ["xpos:box", "ctrl"]
    assert signals.components(tmp_path, "xpos:box") == ["x", "y", "z"]
    assert signals.components(path, "ctrl") == ["motor"]
    with pytest.raises(KeyError, match="recorded: xpos:box, ctrl"):
        signals.components(tmp_path, "qpos:hinge")
    [(number, (t, v))] = signals.read_signal(tmp_path, "xpos:box").items()
    assert number == 3 and np.array_equal(t, time) and np.array_equal(v, values["xpos:box"])


def test_load_reads_only_the_trials_and_signals_asked_for(tmp_path):
    for trial in range(3):
        folder = tmp_path / f"trial_{trial:04d}"
        folder.mkdir()
        signals.write_signals(
            folder / SIGNALS_FILE,
            np.array([0.0, 0.1]),
            {"a": np.full((2, 2), trial), "b": np.full((2, 1), -trial)},
            {"a": ["0", "1"], "b": ["0"]},
        )
    (tmp_path / "trial_0001" / SIGNALS_FILE).write_bytes(b"unreadable: never opened unless asked for")
    frame = signals.load(tmp_path, trials=[0, 2], signals=["b"])
    assert list(frame.columns) == ["trial", "time", "signal", "component", "value"]
    assert frame.astype({"signal": str, "component": str}).to_dict("list") == {
        "trial": [0, 0, 2, 2],
        "time": [0.0, 0.1, 0.0, 0.1],
        "signal": ["b"] * 4,
        "component": ["0"] * 4,
        "value": [0.0, 0.0, -2.0, -2.0],
    }
    assert len(signals.load(tmp_path, trials=[2])) == 2 * 3  # every signal: 2 samples x 3 components


# --- names and config -------------------------------------------------------------------------


def test_names_are_checked_against_the_nominal_model_listing_what_it_has(tmp_path):
    study = pendulum_study(
        tmp_path, signals={"rate": 10, "record": ["qpos:hinge", "xpos:bob", "sensor:speed"]}
    )
    with pytest.raises(ValueError) as error:
        signals.check_study(study)
    assert str(error.value).splitlines() == [
        "signals.record: 'xpos:bob': the model has no body named 'bob'; its bodies: world, pole",
        "signals.record: 'sensor:speed': the model has no sensor named 'speed'; its sensors: bob_vel",
    ]
    with pytest.raises(ValueError, match="'ctrl': the model has no actuators"):
        signals.check_study(pendulum_study(tmp_path, signals={"record": ["ctrl"]}))
    signals.check_study(pendulum_study(tmp_path))  # the right names pass


@pytest.mark.parametrize(
    "record, message",
    [
        (["hinge"], "'hinge' is not a signal: use sensor:<sensor>, qpos:<joint>"),
        (["qpos:"], "'qpos:' is not a signal"),
        (["fn:tests.signals_models"], "is not of the form 'package.module:function'"),
        (["fn:tests.signals_models:nothing"], "defines no 'nothing'"),
        (["qpos:a", "qpos:a"], "qpos:a given twice"),
    ],
)
def test_misspelt_signals_are_refused_with_the_key(tmp_path, record, message):
    with pytest.raises(ConfigError, match="signals.record") as error:
        pendulum_study(tmp_path, signals={"record": record})
    assert message in str(error.value)


def test_signals_stay_out_of_the_trials_config_and_the_study_fingerprint(tmp_path):
    bare = pendulum_study(tmp_path, signals=None)
    study = pendulum_study(tmp_path)
    assert targets.study_fingerprint(study) == targets.study_fingerprint(bare)
    assert targets.batch_fingerprint(bare, "f") == "f"
    other = pendulum_study(tmp_path, signals={"rate": 50, "record": RECORD})
    assert len({targets.batch_fingerprint(s, "f") for s in (bare, study, other)}) == 3


# --- trials -----------------------------------------------------------------------------------


def test_a_trial_records_its_signals_as_a_direct_loop_does(tmp_path):
    study = pendulum_study(tmp_path, n_trial=1)  # trial 0: the nominal pendulum
    run_batch(study, 0, 0)
    folder = trial_dir(study, 0)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*TRIAL_FILES, SIGNALS_FILE])
    expected = direct_samples(every=5, n_steps=250)
    for signal in RECORD:
        time, values = signals.read_signal(study.results_dir + "/swing", signal)[0]
        np.testing.assert_array_equal(time, [s["time"] for s in expected])
        np.testing.assert_array_equal(values, np.array([s[signal] for s in expected]), err_msg=signal)


def test_a_trial_that_stops_early_keeps_what_it_recorded(tmp_path):
    study = pendulum_study(
        tmp_path,
        n_trial=1,
        generator="tests.signals_models:motorised",
        metrics=None,
        runtime="tests.signals_models:stop_halfway",
        parameters={},
        signals={
            "rate": 10,
            "record": ["ctrl", "ctrl:motor", "qpos:float", "qvel:float", "fn:tests.signals_models:energy"],
        },
    )
    [row] = run_batch(study, 0, 0).rows
    assert row.status == "failure"
    folder = Path(study.results_dir, "swing")
    assert signals.components(folder, "qpos:float") == ["x", "y", "z", "qw", "qx", "qy", "qz"]
    assert signals.components(folder, "qvel:float") == ["vx", "vy", "vz", "wx", "wy", "wz"]
    assert signals.components(folder, "ctrl") == ["motor"]
    assert signals.components(folder, "fn:tests.signals_models:energy") == ["height", "speed.0", "speed.1"]
    time, ctrl = signals.read_signal(folder, "ctrl:motor")[0]
    np.testing.assert_allclose(time, [0.0, 0.1, 0.2])  # 0.5 s of 1 s at 10 Hz: stopped at 0.5
    np.testing.assert_array_equal(ctrl[:, 0], time)  # the control the sampled step applied
    _, user = signals.read_signal(folder, "fn:tests.signals_models:energy")[0]
    np.testing.assert_array_equal(user[:, 2], 2 * user[:, 1])
    recorded = (trial_dir(study, 0) / SIGNALS_FILE).read_bytes()
    (trial_dir(study, 0) / SIGNALS_FILE).unlink()
    assert run_batch(study, 0, 0).rows == [row]  # replayed for its signals: the outcome stays
    assert (trial_dir(study, 0) / SIGNALS_FILE).read_bytes() == recorded


def test_a_trial_whose_model_was_never_built_has_an_empty_signals_file(tmp_path):
    study = pendulum_study(
        tmp_path, n_trial=1, generator="tests.signals_models:refused", metrics=None, parameters={}
    )
    assert run_batch(study, 0, 0).rows[0].status == "error"
    assert signals.read_signal(Path(study.results_dir, "swing"), "qpos:hinge")[0][0].shape == (0,)


def stamps(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.name != SIGNALS_FILE
    }


def test_signals_are_recorded_again_without_touching_the_other_files(tmp_path):
    """Added to a finished study, deleted, damaged, or of another spec: the batch replays the
    trial for its signals only, with the same bytes as a first recording."""
    study = pendulum_study(tmp_path, n_trial=2)
    run_batch(study, 0, 1, tmp_path / "m.json")
    folders = [trial_dir(study, n) for n in range(2)]
    first = {f: (f / SIGNALS_FILE).read_bytes() for f in folders}
    files = {f: stamps(f) for f in folders}

    (folders[0] / SIGNALS_FILE).unlink()
    (folders[1] / SIGNALS_FILE).write_bytes(b"PAR1 garbled")
    manifest = run_batch(study, 0, 1)
    assert {f: (f / SIGNALS_FILE).read_bytes() for f in folders} == first
    assert {f: stamps(f) for f in folders} == files  # not rewritten: same bytes and mtimes
    assert SIGNALS_FILE in manifest.stamps[0]

    other = pendulum_study(tmp_path, n_trial=2, signals={"rate": 20, "record": ["qpos:hinge"]})
    run_batch(other, 0, 1)
    assert signals.read_signal(Path(tmp_path, "swing"), "qpos:hinge")[1][0].shape == (10,)
    assert {f: stamps(f) for f in folders} == files


def test_adding_signals_to_a_finished_trial_replays_it(tmp_path):
    bare = pendulum_study(tmp_path, n_trial=1, signals=None)
    run_batch(bare, 0, 0)
    folder = trial_dir(bare, 0)
    files = stamps(folder)
    assert not (folder / SIGNALS_FILE).exists()
    run_batch(pendulum_study(tmp_path, n_trial=1), 0, 0)
    assert stamps(folder) == files
    assert signals.recorded(folder.parent) == RECORD


def test_missing_signals_files_are_remade_once_their_batch_recorded_them(tmp_path):
    study = pendulum_study(tmp_path, n_trial=2)
    recorded = {}
    for n in range(2):
        trial_dir(study, n).mkdir(parents=True)
        for name in TRIAL_FILES:
            (trial_dir(study, n) / name).write_text("x")
        recorded[n] = trial_stamps(trial_dir(study, n))
    recorded[1][SIGNALS_FILE] = (1, 1)  # trial 1's batch recorded a signals file, since deleted
    missing = targets.damaged_batch_files(study, 0, 1, recorded)
    # Trial 0's batch ran before the study recorded signals: it records them when it runs again.
    assert missing == [str(trial_dir(study, 1) / SIGNALS_FILE)]


def test_a_damaged_signals_file_is_found_without_pyarrow(tmp_path):
    path = tmp_path / SIGNALS_FILE
    signals.write_signals(path, np.zeros(1), {}, {})
    assert unreadable(path) is None
    path.write_bytes(path.read_bytes()[:-1])
    assert unreadable(path) == "not a parquet file (no PAR1 magic bytes at both ends)"
