"""Optimisation benchmark: N trials of the sliding box through the workflow vs Optuna in one process.

    python benchmarks/bench_optimize.py [--trials 200] [--round-sizes 8 32] [--sampler tpe]

For each round size it runs ``snakemake --cores 2 optimize`` from a clean temporary folder (wall
time of the whole command, Snakemake start-up included), then runs Optuna's own
``study.optimize`` with the same sampler (and constant liar off, as a sequential study needs none)
in this process, simulating the same model with MuJoCo and writing nothing. It prints both wall
times, their ratio, the loop's cost per round and the best value each found.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SPEED, DURATION = 2.0, 1.5


def config(n_trial: int, round_size: int, sampler: str) -> dict:
    return {
        "study": "bench_box",
        "seed": 1,
        "n_proc": 2,
        "generator": "mojo.examples.sliding_box:build",
        "metrics": "mojo.examples.sliding_box:metrics",
        "objective": "mojo.examples.sliding_box:objective",
        "duration": DURATION,
        "parameters": {
            "friction": {"dist": "uniform", "low": 0.05, "high": 2.0},
            "speed": {"dist": "constant", "value": SPEED, "unit": "m/s"},
        },
        "optimize": {
            "direction": "minimize",
            "n_trial": n_trial,
            "sampler": sampler,
            "trials_per_round": round_size,
            "search_space": {"friction": {"type": "float", "low": 0.05, "high": 2.0, "log": True}},
        },
    }


def run_workflow(n_trial: int, round_size: int, sampler: str) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory(prefix="bench_opt_") as tmp:
        work = Path(tmp)
        (work / "study.yaml").write_text(yaml.safe_dump(config(n_trial, round_size, sampler)))
        command = [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            tmp,
            "--configfile",
            str(work / "study.yaml"),
            "--cores",
            "2",
            "optimize",
        ]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        started = time.perf_counter()
        subprocess.run(command, cwd=tmp, env=env, check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        out = work / "results" / "bench_box" / "optimize"
        rounds = len(list((out / "rounds").glob("round_*.json")))
        best = json.loads((out / "best.json").read_text())["value"]
        return elapsed, rounds, best


def run_optuna(n_trial: int, sampler_name: str) -> tuple[float, float]:
    started = time.perf_counter()
    import mujoco
    import optuna

    from mojo.examples.sliding_box import build, metrics, objective
    from mojo.optimize.samplers import make_sampler
    from mojo.runtime import TrialContext, simulate

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kwargs = {"constant_liar": False} if sampler_name == "tpe" else {}
    study = optuna.create_study(direction="minimize", sampler=make_sampler(sampler_name, 1, 0, kwargs))

    def evaluate(trial: optuna.Trial) -> float:
        friction = trial.suggest_float("friction", 0.05, 2.0, log=True)
        model = build({"friction": friction, "speed": SPEED}).compile()
        data = mujoco.MjData(model)
        context = TrialContext(number=trial.number, seed=0, values={}, duration=DURATION, metrics=metrics)
        return objective(simulate(model, data, context))

    study.optimize(evaluate, n_trials=n_trial)
    return time.perf_counter() - started, study.best_value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--round-sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--sampler", default="tpe")
    args = parser.parse_args()

    optuna_time, optuna_best = run_optuna(args.trials, args.sampler)
    print(f"optuna study.optimize, one process: {optuna_time:7.2f} s  best {optuna_best:.2e} m")
    for size in args.round_sizes:
        wall, rounds, best = run_workflow(args.trials, size, args.sampler)
        print(
            f"workflow, {size:3d} trials/round:     {wall:7.2f} s  best {best:.2e} m  "
            f"({rounds} rounds, {wall / rounds:.2f} s per round)  ratio {wall / optuna_time:.1f}x"
        )


if __name__ == "__main__":
    main()
