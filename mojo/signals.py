"""Signals: what each trial records over simulated time, and how to read them back.

A study with a ``signals:`` section (:class:`mojo.config.signals.SignalsConfig`) records, in each
trial folder, one parquet file :data:`SIGNALS_FILE`: a column ``time`` (float64, simulated
seconds) then one float64 column per component of each signal, named ``signal[component]``
(``qpos:hinge0[0]``, ``xpos:box[x]``, ``ctrl[motor]``). Its key-value metadata holds the spec
it was recorded for and the trial's input hash, so a rerun knows when to record it again. A trial
that stopped early (unstable, failure, error) has the rows recorded until then; one whose model
could not be built or that was killed (timeout, crash) has no rows.

One file per trial, like the trial's other files, so that recording, resuming and deleting
signals follow the trial; a reader opens only the files of the trials it asks for and reads only
the columns of the signals it asks for (see ``benchmarks/bench_signals.py`` for the cost).

Recording goes through :func:`mojo.runtime.sample_every`: no extra MuJoCo pass; see there for
what a sample at time ``t`` holds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from mojo.config import codepath
from mojo.config.signals import FUNCTION, NAMED_KINDS, SignalsConfig, parse_signal
from mojo.config.study import StudyConfig
from mojo.trials.files import SIGNALS_FILE, write_atomic
from mojo.trials.layout import TRIAL_PREFIX

__all__ = [
    "SIGNALS_FILE",
    "TIME",
    "components",
    "load",
    "read_signal",
    "recorded",
    "write_signals",
]

TIME = "time"
"""The time column of a signals file (simulated seconds)."""
LONG_COLUMNS = ("trial", TIME, "signal", "component", "value")
"""The columns of :func:`load`'s table."""
_METADATA_PREFIX = "mojo."


def column(signal: str, component: str) -> str:
    """The file's column of one component of a signal: ``signal[component]``."""
    return f"{signal}[{component}]"


def _split_column(name: str) -> tuple[str, str]:
    signal, _, component = name[:-1].rpartition("[")
    return signal, component


# --- the file ---------------------------------------------------------------------------------


def write_signals(
    path: str | Path,
    time: np.ndarray,
    values: dict[str, np.ndarray],
    labels: dict[str, list[str]],
    **metadata: Any,
) -> None:
    """Write one trial's signals atomically: ``values[signal]`` has shape (samples, components),
    ``labels[signal]`` names its components; each ``metadata`` value is stored as JSON in the
    file's key-value metadata. The same arguments give the same bytes (no timestamps)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {TIME: np.asarray(time, dtype=np.float64)}
    for signal, array in values.items():
        array = np.asarray(array, dtype=np.float64).reshape(len(columns[TIME]), len(labels[signal]))
        for index, component in enumerate(labels[signal]):
            columns[column(signal, component)] = array[:, index]
    stored = {
        f"{_METADATA_PREFIX}{key}": json.dumps(value, sort_keys=True) for key, value in metadata.items()
    }
    table = pa.table(columns).replace_schema_metadata(stored)
    # Floats rarely repeat: dictionary encoding and column statistics only cost time. Into memory,
    # then one os.write: pyarrow's own file opening cost more than the rest of the write.
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, use_dictionary=False, write_statistics=False)
    write_atomic(Path(path), sink.getvalue())


def file_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata :func:`write_signals` stored in the file (raises if it cannot be read)."""
    import pyarrow.parquet as pq

    stored = pq.read_schema(path).metadata or {}
    prefix = _METADATA_PREFIX.encode()
    return {k[len(prefix) :].decode(): json.loads(v) for k, v in stored.items() if k.startswith(prefix)}


def _signal_columns(names: Iterable[str]) -> dict[str, list[str]]:
    """The file's column names by signal, in file order (``time`` left out)."""
    signals: dict[str, list[str]] = {}
    for name in names:
        if name != TIME:
            signals.setdefault(_split_column(name)[0], []).append(name)
    return signals


# --- reading a study --------------------------------------------------------------------------


def _trial_files(study_dir: str | Path, trials: Iterable[int] | None) -> dict[int, Path]:
    """The signals file of each trial folder (of ``trials`` only, if given) that has one."""
    wanted = None if trials is None else set(trials)
    found = {}
    with os.scandir(study_dir) as entries:
        for entry in entries:
            number = entry.name[len(TRIAL_PREFIX) :]
            if entry.name.startswith(TRIAL_PREFIX) and number.isdigit():
                if wanted is None or int(number) in wanted:
                    path = Path(entry.path, SIGNALS_FILE)
                    if path.exists():
                        found[int(number)] = path
    return dict(sorted(found.items()))


def _schema_names(study_dir_or_file: str | Path, trials: Iterable[int] | None = None) -> list[str]:
    """The columns of the first signals file (of ``trials``, if given) with any signal in it: a
    trial whose model was never built has only ``time``. Reads one footer, as a rule."""
    import pyarrow.parquet as pq

    path = Path(study_dir_or_file)
    if not path.is_dir():
        return pq.read_schema(path).names
    names = [TIME]
    for file in _trial_files(path, trials).values():
        names = pq.read_schema(file).names
        if len(names) > 1:
            break
    return names


def recorded(study_dir: str | Path) -> list[str]:
    """The signals recorded in the study (or in one signals file), in the config's order: those
    of its first trial that recorded any."""
    return list(_signal_columns(_schema_names(study_dir)))


def components(study_dir_or_file: str | Path, signal: str) -> list[str]:
    """The component labels of ``signal`` (``['x', 'y', 'z']`` for ``xpos:box``)."""
    columns = _signal_columns(_schema_names(study_dir_or_file))
    if signal not in columns:
        raise KeyError(f"signal '{signal}' was not recorded; recorded: {', '.join(columns) or 'none'}")
    return [_split_column(name)[1] for name in columns[signal]]


def _read(
    path: Path, signal: str, labels: Iterable[str] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(time, values, component labels)`` of one signal in one file, reading only its columns
    (those of ``labels`` only, in that order, if given: NaN for one the file lacks)."""
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(path)
    names = [n for n in reader.schema_arrow.names if n != TIME and _split_column(n)[0] == signal]
    if labels is not None:
        has = set(names)
        names = [column(signal, label) for label in labels]
    table = reader.read(columns=[TIME, *(n for n in names if labels is None or n in has)])
    time = table.column(TIME).to_numpy()
    values = np.full((len(time), len(names)), np.nan)
    for index, name in enumerate(names):
        if name in table.column_names:
            values[:, index] = table.column(name).to_numpy()
    return time, values, [_split_column(n)[1] for n in names]


def read_signal(
    study_dir: str | Path,
    signal: str,
    trials: Iterable[int] | None = None,
    labels: Iterable[str] | None = None,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Trial number -> (time (n,), values (n, components)) of one signal, for ``trials`` (default:
    every trial with a signals file). Reads only that signal's columns. A trial whose file lacks
    the signal (its model was never built) gives arrays of 0 rows and 0 components. With
    ``labels``, the components are those, in that order, matched by name (trials' models may
    differ: another number or order of actuators, a ``fn:`` signal's keys), NaN where a trial's
    file lacks one."""
    labels = None if labels is None else list(labels)
    return {
        number: _read(path, signal, labels)[:2] for number, path in _trial_files(study_dir, trials).items()
    }


def load(study_dir: str | Path, trials: Iterable[int] | None = None, signals: Iterable[str] | None = None):
    """The signals of ``trials`` (default: all) as a long pandas DataFrame with the columns
    ``trial, time, signal, component, value``, reading only the ``signals`` asked for (default:
    all recorded). One row per trial, sample and component, by signal, then trial, then time;
    ``signal`` and ``component`` are pandas categoricals (a string per row would cost more
    than the values)."""
    import pandas as pd

    files = _trial_files(study_dir, trials)
    names = list(_signal_columns(_schema_names(study_dir, files))) if signals is None else list(signals)
    parts: dict[str, list[np.ndarray]] = {column: [] for column in LONG_COLUMNS}
    categories: dict[str, int] = {}  # component label -> its code
    for code, signal in enumerate(names):
        for number, path in files.items():
            time, values, labels = _read(path, signal)
            n, m = values.shape
            codes = np.array(
                [categories.setdefault(label, len(categories)) for label in labels], dtype=np.int32
            )
            parts["trial"].append(np.full(n * m, number, dtype=np.int64))
            parts[TIME].append(np.repeat(time, m))
            parts["signal"].append(np.full(n * m, code, dtype=np.int32))
            parts["component"].append(np.tile(codes, n))
            parts["value"].append(values.reshape(-1))
    empty = {
        "trial": np.int64,
        TIME: np.float64,
        "signal": np.int32,
        "component": np.int32,
        "value": np.float64,
    }
    columns = {c: np.concatenate(arrays) if arrays else np.empty(0, empty[c]) for c, arrays in parts.items()}
    columns["signal"] = pd.Categorical.from_codes(columns["signal"], names)
    columns["component"] = pd.Categorical.from_codes(columns["component"], list(categories))
    return pd.DataFrame(columns)


# --- recording --------------------------------------------------------------------------------

_JOINT_LABELS = {  # mjtJoint: free, ball, slide, hinge
    "qpos": {0: ["x", "y", "z", "qw", "qx", "qy", "qz"], 1: ["qw", "qx", "qy", "qz"]},
    "qvel": {0: ["vx", "vy", "vz", "wx", "wy", "wz"], 1: ["wx", "wy", "wz"]},
}
_OBJECTS = {
    "sensor": "mjOBJ_SENSOR",
    "joint": "mjOBJ_JOINT",
    "body": "mjOBJ_BODY",
    "actuator": "mjOBJ_ACTUATOR",
}


def model_names(model, element: str) -> list[str]:
    """The names of the model's elements of one kind (``joint``, ``body``, ...), unnamed ones left out."""
    import mujoco

    obj = getattr(mujoco.mjtObj, _OBJECTS[element])
    count = {"sensor": model.nsensor, "joint": model.njnt, "body": model.nbody, "actuator": model.nu}[element]
    names = (mujoco.mj_id2name(model, obj, i) for i in range(count))
    return [name for name in names if name]


def _element_id(model, element: str, signal: str, name: str) -> int:
    """The id of the model's ``element`` named ``name``; ValueError naming ``signal`` and the
    names the model has of that kind."""
    import mujoco

    index = mujoco.mj_name2id(model, getattr(mujoco.mjtObj, _OBJECTS[element]), name)
    if index < 0:
        have = model_names(model, element)
        plural = "bodies" if element == "body" else f"{element}s"
        raise ValueError(
            f"'{signal}': the model has no {element} named '{name}'; its {plural}: "
            f"{', '.join(have) if have else 'none with a name'}"
        )
    return index


def _source(model, signal: str) -> tuple[str, np.ndarray, list[str]]:
    """Where ``signal`` is read: an array of ``data`` (for ``qpos``/``qvel``: the state before the
    sample's step), the indices of its components in that array flattened, and their labels.
    ValueError if the model has no such element."""
    kind, name = parse_signal(signal)
    if name is None:  # ctrl: every actuator
        if not model.nu:
            raise ValueError(f"'{signal}': the model has no actuators")
        return "ctrl", np.arange(model.nu), [model.actuator(i).name or str(i) for i in range(model.nu)]
    index = _element_id(model, NAMED_KINDS[kind], signal, name)
    if kind == "sensor":
        start, size = model.sensor_adr[index], model.sensor_dim[index]
        return "sensordata", np.arange(start, start + size), [str(i) for i in range(size)]
    if kind in _JOINT_LABELS:
        labels = _JOINT_LABELS[kind].get(int(model.jnt_type[index]), ["0"])
        start = (model.jnt_qposadr if kind == "qpos" else model.jnt_dofadr)[index]
        return kind, np.arange(start, start + len(labels)), labels
    if kind in ("xpos", "xquat"):
        labels = ["x", "y", "z"] if kind == "xpos" else ["w", "x", "y", "z"]
        return kind, np.arange(index * len(labels), (index + 1) * len(labels)), labels
    return "ctrl", np.array([index]), ["0"]  # ctrl:<actuator>


_BEFORE_STEP = ("qpos", "qvel")
"""The sources a sample copies just before its step (the step changes them)."""


def check_names(spec: SignalsConfig, model) -> None:
    """ValueError naming the key, each signal whose element ``model`` lacks, and the names the
    model has of that kind: run on the compiled nominal model before any job (see
    :func:`check_study`)."""
    problems = []
    for signal in spec.record:
        if parse_signal(signal)[0] != FUNCTION:
            try:
                _source(model, signal)
            except ValueError as error:
                problems.append(f"signals.record: {error}")
    if problems:
        raise ValueError("\n".join(problems))


class Recorder:
    """Records ``spec``'s signals of one trial through :func:`mojo.runtime.sample_every`
    (``sample_every(recorder.rate, recorder, recorder.before)``).

    Per sample, one fancy-indexed copy per array of ``data`` the signals read (the state before
    the step, the derived quantities after it) and a call of each user function; the samples
    become the signals' columns once, in :meth:`arrays`. About a microsecond per array read.
    Without user functions, :func:`mojo.runtime.step` records in C instead and hands over the
    samples' rows of those arrays in blocks (:meth:`add_rows`): no Python call per sample.
    """

    def __init__(self, spec: SignalsConfig, model):
        self.rate = spec.rate
        self.signals = list(spec.record)
        self.times: list[float] = []
        self.labels: dict[str, list[str] | None] = {}
        self.columns: dict[str, tuple[str, int]] = {}  # signal -> (source, first index in its row)
        indices: dict[str, list[np.ndarray]] = {}
        for signal in self.signals:
            kind, name = parse_signal(signal)
            if kind == FUNCTION:
                self.labels[signal] = None  # known from its first result
                self.columns[signal] = (signal, 0)
                indices[signal] = []
                continue
            source, index, self.labels[signal] = _source(model, signal)
            parts = indices.setdefault(source, [])
            self.columns[signal] = (source, sum(len(p) for p in parts))
            parts.append(index)
        self.samples: dict[str, list] = {source: [] for source in indices}
        gather = [
            (self.samples[source].append, source, np.concatenate(parts))
            for source, parts in indices.items()
            if parts
        ]
        self._before = [g for g in gather if g[1] in _BEFORE_STEP]
        self._after = [g for g in gather if g[1] not in _BEFORE_STEP]
        self._time = self.times.append
        self._data = None
        functions = [s for s in self.signals if self.labels[s] is None]
        self._functions = [(s, codepath.load(parse_signal(s)[1]), self.samples[s]) for s in functions]
        # what mojo.runtime.step reads of data for add_rows; a user function needs a call per sample
        self.fields_before = [source for _, source, _ in self._before]
        self.fields_after = [source for _, source, _ in self._after]
        self._gathers = self._before + self._after
        if self._functions:
            self.add_rows = None

    def before(self, model, data) -> None:
        """Just before a sample's step: the state it will change."""
        if data is not self._data:
            self._bind(data)
        for append, array, index in self._before_arrays:
            append(array[index])

    def __call__(self, model, data, t: float) -> None:
        if data is not self._data:
            self._bind(data)
        if any(self._warnings[w] for w in self._instability):
            # MuJoCo flagged divergence and reset the state (time included) in a step since the
            # last sample; mojo.runtime.step notices only at its next check. What follows, this
            # sample's derived quantities included, is of the reset state: not the trial's.
            return
        for append, array, index in self._after_arrays:
            append(array[index])
        for signal, function, samples in self._functions:
            samples.append(self._flatten(signal, function(model, data)))
        self._time(t)  # last: a sample whose reading raised is left out

    def add_rows(self, times: np.ndarray, rows: dict[str, np.ndarray]) -> None:
        """Samples in bulk: their times, and by array of :attr:`fields_before` (as just before
        each sample's step) and :attr:`fields_after` (just after it) its rows, one a sample
        (``(samples, ...)``: the array's shape, or flattened)."""
        n = len(times)
        for append, source, index in self._gathers:
            append(rows[source].reshape(n, -1)[:, index])
        self.times.extend(times.tolist())

    def _bind(self, data) -> None:
        """Look up ``data``'s arrays once: MuJoCo never moves them, and a lookup per sample
        (a new NumPy view each time) was a third of the recording's cost."""
        from mojo.runtime import INSTABILITY_WARNINGS

        flat = lambda gathers: [(a, getattr(data, s).reshape(-1), i) for a, s, i in gathers]  # noqa: E731
        self._before_arrays, self._after_arrays = flat(self._before), flat(self._after)
        self._warnings, self._instability = data.warning.number, [int(w) for w in INSTABILITY_WARNINGS]
        self._data = data

    def _flatten(self, signal: str, result: Any) -> np.ndarray:
        """A user function's dict as one row; its keys and sizes are fixed by its first result."""
        if not isinstance(result, dict):
            raise TypeError(
                f"signal '{signal}' returned {type(result).__name__}, not a dict of numbers or arrays"
            )
        arrays = {key: np.asarray(value, dtype=np.float64).reshape(-1) for key, value in result.items()}
        labels = [
            str(key) if np.ndim(result[key]) == 0 else f"{key}.{i}"
            for key, array in arrays.items()
            for i in range(array.size)
        ]
        if self.labels[signal] is None:
            bad = [key for key in arrays if not isinstance(key, str) or not key or "[" in key or "]" in key]
            if bad:
                raise ValueError(
                    f"signal '{signal}': key {bad[0]!r} is not a name (non-empty text without brackets)"
                )
            self.labels[signal] = labels
        elif labels != self.labels[signal]:
            raise ValueError(
                f"signal '{signal}' returned components {labels}, unlike its first sample's "
                f"{self.labels[signal]}"
            )
        return np.concatenate(list(arrays.values())) if arrays else np.empty(0)

    def arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, list[str]]]:
        """``(time, values, labels)`` as :func:`write_signals` takes them. A user function that
        never ran (no sample) is left out: its components are unknown."""
        n = len(self.times)
        tables = {}
        for source, samples in self.samples.items():
            # rows of one sample each (from __call__), or blocks of rows (from add_rows)
            rows = np.vstack(samples).astype(np.float64, copy=False)[:n] if samples else np.empty(0)
            tables[source] = rows.reshape(n, -1) if n else rows
        values, labels = {}, {}
        for signal in self.signals:
            if self.labels[signal] is None:
                continue
            labels[signal] = self.labels[signal]
            source, start = self.columns[signal]
            size = len(labels[signal])
            values[signal] = tables[source][:, start : start + size] if n else np.empty((0, size))
        return np.array(self.times, dtype=np.float64), values, labels


def check_study(study: StudyConfig) -> None:
    """Check the names in ``study``'s signals against its compiled nominal model (trial 0's
    values), before any job runs: ValueError as :func:`check_names`. A nominal model that cannot
    be built is not checked here (its trial records the generator's error). Costs importing
    MuJoCo and one call of the generator, only when the study records signals."""
    if study.signals is None:
        return
    import sys

    from mojo.trials.trial import UserCode, build_model, code_hashes, config_template, plan_trial

    plan = plan_trial(study, 0, Path(), config_template(study, code_hashes(study)))
    try:
        model, _ = build_model(plan, UserCode.load(study))
    except Exception as error:
        print(f"mojo: signals not checked: the nominal model could not be built ({error})", file=sys.stderr)
        return
    check_names(study.signals, model)
