"""Signals: the cost of recording them, and of reading one back across a large study.

``record``: the heavy model (``mojo.examples.chain``, 10 s at 2 ms: 5000 steps a trial) through
``snakemake --cores 2 tables`` recording 10 signals at 100 Hz (1000 samples a trial), the same
study without signals, and the bare MuJoCo loop of ``bench_montecarlo.py`` (which records
nothing); prints each wall time and its ratio to the bare loop (the issue's budget: 1.3), and the
CPU seconds each used (its processes' user + system time): on a machine that other work shares,
the CPU ratio moves far less than the wall-time one.

``trial``: the same trials in this one process, one after another (a bare trial, the trial
path of ``mojo.trials.trial.run_trial`` without signals, then with them, for each trial number
in turn): the median CPU milliseconds of each, and the trial path's ratios to the bare one. No
Snakemake, no pool: where other work shares the cores, the difference recording makes shows here
when the workflow's figures move by more than it.

``load``: writes a synthetic study of ``--trials`` signals files of ``--signals`` one-component
signals by ``--samples`` samples (10,000 x 20 x 1000 by default: 1.6 GB), then times
``mojo.signals.read_signal`` and ``mojo.signals.load`` of one signal across every trial (the
file system's cache is warm: the files were just written).

    python benchmarks/bench_signals.py record [--n 1000] [--repeat 1]
    python benchmarks/bench_signals.py trial [--n 200]
    python benchmarks/bench_signals.py load [--trials 10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_montecarlo  # noqa: E402
from bench_montecarlo import REPO, bench  # noqa: E402

CPU: list[float] = []
"""CPU seconds of each command :func:`bench_montecarlo.timed` ran, in order."""
_timed = bench_montecarlo.timed


def _timed_with_cpu(command: list[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = _timed(command, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall


bench_montecarlo.timed = _timed_with_cpu  # bench() looks it up when it runs

SIGNALS = {
    "rate": 100,
    "record": [
        *(f"qpos:hinge{i}" for i in range(5)),
        "qvel:hinge0",
        "qvel:hinge9",
        "xpos:link9",
        "xquat:link9",
        "sensor:tip_pos",
    ],
}


def record(args: argparse.Namespace, workdir: Path) -> None:
    print(
        f"{'study':<16}{'N':>7}{'workflow s':>12}{'bare loop s':>13}{'ratio':>8}"
        f"{'CPU s':>15}{'CPU ratio':>11}"
    )
    for _ in range(args.repeat):
        for label, extra in (("heavy", None), ("heavy+signals", {"signals": SIGNALS})):
            workflow, bare = bench("heavy", args.n, "tables", workdir, extra)
            cpu_workflow, cpu_bare = CPU[-2:]
            print(
                f"{label:<16}{args.n:>7}{workflow:>12.2f}{bare:>13.2f}{workflow / bare:>8.2f}"
                f"{cpu_workflow:>8.1f}/{cpu_bare:<6.1f}{cpu_workflow / cpu_bare:>11.2f}",
                flush=True,
            )


def trial(args: argparse.Namespace, workdir: Path) -> None:
    import mujoco

    from mojo.config.codepath import load as load_code
    from mojo.config.study import load_study
    from mojo.trials.batch import plan_batch
    from mojo.trials.sampling import plain_values, sample_parameters
    from mojo.trials.trial import UserCode, run_trial

    config = {"study": "heavy", "seed": 1, "n_trial": args.n, **bench_montecarlo.MODELS["heavy"]}
    bare_study = load_study(config)
    generator, metrics = load_code(bare_study.generator), load_code(bare_study.metrics)

    def bare(number: int) -> None:  # bench_montecarlo's bare loop, one trial
        model = generator(plain_values(sample_parameters(bare_study, number))).compile()
        data = mujoco.MjData(model)
        if model.nkey:
            mujoco.mj_resetDataKeyframe(model, data, 0)
        mujoco.mj_step(model, data, nstep=round(bare_study.duration / model.opt.timestep))
        metrics(model, data)

    runs = {"bare": bare}
    for label, extra in (("trial", {}), ("trial+signals", {"signals": SIGNALS})):
        study = load_study({**config, "results_dir": str(workdir / label), **extra})
        code, plans = UserCode.load(study), plan_batch(study, range(args.n))
        for plan in plans:
            plan.dir.mkdir(parents=True)
        runs[label] = lambda number, code=code, plans=plans: run_trial(plans[number], code)
    cpu: dict[str, list[float]] = {label: [] for label in runs}
    for number in range(args.n):
        for label, run in runs.items():
            started = time.process_time()
            run(number)
            cpu[label].append(time.process_time() - started)
    median = {label: float(np.median(times[3:])) * 1e3 for label, times in cpu.items()}  # warm
    for label, ms in median.items():
        print(f"{label:<16}{ms:>8.2f} ms CPU a trial (median of {args.n - 3}){ms / median['bare']:>8.2f}")
    extra = np.median(np.subtract(cpu["trial+signals"], cpu["trial"])[3:]) * 1e3
    print(f"recording, per trial: {extra:.2f} ms (median of the trial-by-trial differences)")


def load(args: argparse.Namespace, workdir: Path) -> None:
    import mojo.signals as signals

    study = workdir / "study"
    names = [f"fn:m:s{i}" for i in range(args.signals)]
    time_ = np.arange(args.samples) * 0.01
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for trial in range(args.trials):
        folder = study / f"trial_{trial:05d}"
        folder.mkdir(parents=True)
        values = {name: np.cumsum(rng.normal(size=(args.samples, 1)), axis=0) for name in names}
        signals.write_signals(folder / signals.SIGNALS_FILE, time_, values, {n: ["0"] for n in names})
    written = time.perf_counter() - started
    size = sum(p.stat().st_size for p in study.glob("trial_*/*")) / 1e9
    print(
        f"wrote {args.trials} files of {args.signals} signals x {args.samples} samples: "
        f"{size:.2f} GB in {written:.1f} s"
    )
    for label, read in (
        ("read_signal", lambda: signals.read_signal(study, names[7])),
        ("load", lambda: signals.load(study, signals=[names[7]])),
    ):
        started = time.perf_counter()
        result = read()
        print(
            f"{label:<12} one signal, every trial: "
            f"{time.perf_counter() - started:.2f} s ({len(result)} entries)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["record", "trial", "load"])
    parser.add_argument("--n", type=int, default=None, help="trials (record: 1000, trial: 200)")
    parser.add_argument("--repeat", type=int, default=1, help="record: measure each pair this many times")
    parser.add_argument("--trials", type=int, default=10_000, help="load: trials (default 10,000)")
    parser.add_argument("--signals", type=int, default=20, help="load: signals per trial (default 20)")
    parser.add_argument("--samples", type=int, default=1000, help="load: samples per signal (default 1000)")
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / ".runs")
    args = parser.parse_args()
    if args.n is None:
        args.n = 200 if args.what == "trial" else 1000
    args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-signals-", dir=args.workdir))
    try:
        {"record": record, "trial": trial, "load": load}[args.what](args, workdir)
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
