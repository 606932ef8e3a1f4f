"""Monte Carlo throughput: the whole workflow against a bare MuJoCo loop on the same cores.

For each model, runs a study of N trials through ``snakemake --cores 2`` from a clean results
folder, then the same N simulations as a bare loop (build, compile, step, metrics) over a
2-process pool that writes nothing, both as child processes of this script. Prints both wall
times and their ratio.

The study runs in a fresh folder under ``--workdir`` (default: ``benchmarks/.runs`` in this
project, on the disk where a study's ``results/`` would be). Creating files costs very different
amounts on different file systems (on our CI machine kind, ten times more in ``/tmp`` than on the
project's disk), and a study creates five per trial: pass ``--workdir /tmp`` to measure there.

    python benchmarks/bench_montecarlo.py            # N=1000, light and heavy models
    python benchmarks/bench_montecarlo.py --n 5000 --models light
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent

MODELS = {
    # about 1000 steps of a single body
    "light": {
        "generator": "mojo.examples.sliding_box:build",
        "metrics": "mojo.examples.sliding_box:metrics",
        "duration": 2.0,
        "parameters": {
            "friction": {"dist": "uniform", "low": 0.2, "high": 0.8},
            "speed": {"dist": "normal", "mean": 2.0, "std": 0.2},
            "mass": {"dist": "lognormal", "mu": 0.0, "sigma": 0.2},
        },
    },
    # a 10-link chain, about 5000 steps
    "heavy": {
        "generator": "mojo.examples.chain:build",
        "metrics": "mojo.examples.chain:metrics",
        "duration": 10.0,
        "parameters": {
            "link_length": {"dist": "uniform", "low": 0.1, "high": 0.3},
            "link_mass": {"dist": "truncnormal", "mean": 0.2, "std": 0.05, "low": 0.05, "high": 0.5},
            "damping": {"dist": "lognormal", "mu": -3.0, "sigma": 0.5},
            "initial_angle": {"dist": "normal", "mean": 45.0, "std": 10.0},
        },
    },
}

BARE_LOOP = """
import sys
from multiprocessing import Pool
import mujoco
from mojo.config.codepath import load
from mojo.config.study import load_study
from mojo.trials.sampling import plain_values, sample_parameters
import yaml

study = load_study(yaml.safe_load(open(sys.argv[1])))
generator, metrics = load(study.generator), load(study.metrics)

def simulate(trial):
    spec = generator(plain_values(sample_parameters(study, trial)), **study.gen_kwargs)
    model = spec.compile()
    data = mujoco.MjData(model)
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_step(model, data, nstep=round(study.duration / model.opt.timestep))
    return metrics(model, data)

if __name__ == "__main__":
    with Pool(int(sys.argv[2]) if len(sys.argv) > 2 else 2) as pool:
        pool.map(simulate, range(study.n_trial), chunksize=max(1, study.n_trial // 20))
"""
"""The bare MuJoCo loop: ``python bare.py <config> [processes]`` simulates the config's trials as
mojo would (same values, same steps, same metrics), writing nothing (also bench_warp.py's)."""


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def bench(
    name: str, n_trial: int, target: str, workdir: Path, extra: dict | None = None
) -> tuple[float, float]:
    """Wall seconds of the workflow (``target``, in a new folder under ``workdir``; ``extra``
    config keys, if any) and of the bare loop."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{name}-{target}-", dir=workdir))
    config = {"study": name, "seed": 1, "n_trial": n_trial, "n_proc": 2, **MODELS[name], **(extra or {})}
    config_path = run_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    (run_dir / "bare.py").write_text(BARE_LOOP)
    workflow = timed(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(run_dir),
            "--configfile",
            str(config_path),
            "--cores",
            "2",
            "--quiet",
            "all",
            "--",
            target,
        ],
        run_dir,
    )
    bare = timed([sys.executable, str(run_dir / "bare.py"), str(config_path)], run_dir)
    return workflow, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="trials per study (default 1000)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["all", "tables"],
        choices=["all", "tables"],
        help="all: the default run (trials, tables, plots, environment); tables: trials and tables",
    )
    parser.add_argument("--repeat", type=int, default=1, help="measure each pair this many times")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=REPO / "benchmarks" / ".runs",
        help="where the study folders are made (default: benchmarks/.runs in this project)",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # Every study folder is deleted at the end, not between measurements: right after thousands
    # of files are deleted, ext4 takes longer to create new ones (it avoids reusing the freed
    # inodes for a while), which would charge one measurement for the previous one's clean-up.
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=args.workdir))
    print(f"studies run in {workdir}")
    print(f"{'model':<8}{'target':<8}{'N':>7}{'workflow s':>12}{'bare loop s':>13}{'ratio':>8}")
    try:
        for name in args.models:
            for target in args.targets:
                for _ in range(args.repeat):
                    workflow, bare = bench(name, args.n, target, workdir)
                    ratio = workflow / bare
                    print(
                        f"{name:<8}{target:<8}{args.n:>7}{workflow:>12.2f}{bare:>13.2f}{ratio:>8.2f}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
