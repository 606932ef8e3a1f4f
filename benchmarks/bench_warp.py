"""The warp backend's throughput: a chain study end to end on MuJoCo Warp against the CPU backend
and a bare MuJoCo loop, all on the same cores (issue 15).

The model is issue 15's: ``mojo.examples.chain`` with 10 links, 1 ms steps, link mass and damping
dispersed per trial. For each N, three runs, each a child process of this script, from a clean
folder:

- ``warp``: ``snakemake --cores C tables`` with ``backend: warp`` and ``n_proc: 1`` (one job,
  which compiles on all C cores, steps on the device, finishes and writes the trial files, then
  the tables);
- ``cpu``: the same with ``backend: cpu`` and ``n_proc: C`` (the CPU batch runner on all cores);
- ``bare``: the same N trials as a bare loop (build, compile, step, metrics) on a C-process pool
  that writes nothing.

Prints wall seconds and trials per second of each, the ratios, and the device Warp ran on (a GPU
if there is one, else Warp's CPU device, where a step of all worlds takes milliseconds: use few
``--steps`` there).

    python benchmarks/bench_warp.py                          # N = 1000 10000 100000, 5000 steps
    python benchmarks/bench_warp.py --n 128 --steps 500      # Warp's CPU device: a few minutes

Everything but the device's stepping, at a GPU's scale, on Warp's CPU device (one batch of all
the worlds, as a GPU with room for them runs it; three steps, so the stepping takes seconds):

    python benchmarks/bench_warp.py --n 100000 --steps 3 --worlds-per-batch 100000
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
from bench_montecarlo import BARE_LOOP  # the bare MuJoCo loop, as bench_montecarlo.py runs it

REPO = Path(__file__).resolve().parent.parent
TIMESTEP = 0.001

CHAIN = {
    "generator": "mojo.examples.chain:build",
    "gen_kwargs": {"n_links": 10, "timestep": TIMESTEP},
    "metrics": "mojo.examples.chain:metrics",
    "parameters": {
        "link_length": {"dist": "constant", "value": 0.2},
        "link_mass": {"dist": "truncnormal", "mean": 0.2, "std": 0.05, "low": 0.05, "high": 0.5},
        "damping": {"dist": "lognormal", "mu": -3.0, "sigma": 0.5},
        "initial_angle": {"dist": "constant", "value": 45.0},
    },
}

DEVICE = """
import warp as wp
wp.config.log_level = wp.LOG_WARNING
device = wp.get_preferred_device()
print(f"{device.alias} ({device.name})")
"""


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def study(
    run_dir: Path, n_trial: int, steps: int, backend: str, cores: int, worlds: int | None = None
) -> Path:
    """The study's config file in ``run_dir`` (``worlds``: the warp backend's ``worlds_per_batch``)."""
    config = {
        "study": "chain",
        "seed": 1,
        "n_trial": n_trial,
        "n_proc": 1 if backend == "warp" else cores,
        "duration": steps * TIMESTEP,
        "backend": backend,
        **CHAIN,
    }
    if backend == "warp" and worlds:
        config["worlds_per_batch"] = worlds
    path = run_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def workflow(
    n_trial: int, steps: int, backend: str, cores: int, workdir: Path, worlds: int | None = None
) -> tuple[float, list[str]]:
    """Wall seconds of ``snakemake --cores cores tables`` on a new study, and what the warp
    backend said of its stages in the job's log (compile, groups, steps)."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{backend}-{n_trial}-", dir=workdir))
    config = study(run_dir, n_trial, steps, backend, cores, worlds)
    snakemake = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(run_dir)]
    seconds = timed(
        [*snakemake, "--configfile", str(config), "--cores", str(cores), "--quiet", "all", "--", "tables"],
        run_dir,
    )
    said = [line for log in sorted(run_dir.rglob("*.log")) for line in log.read_text().splitlines()]
    return seconds, [line.split("warp: ", 1)[1] for line in said if "] warp: " in line]


def bare(n_trial: int, steps: int, cores: int, workdir: Path) -> float:
    """Wall seconds of the bare loop over the same trials."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"bare-{n_trial}-", dir=workdir))
    config = study(run_dir, n_trial, steps, "cpu", cores)
    (run_dir / "bare.py").write_text(BARE_LOOP)
    return timed([sys.executable, str(run_dir / "bare.py"), str(config), str(cores)], run_dir)


def device() -> str:
    done = subprocess.run([sys.executable, "-c", DEVICE], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000, 100000], help="trials per study")
    parser.add_argument("--steps", type=int, default=5000, help=f"steps of {TIMESTEP * 1000:g} ms per trial")
    parser.add_argument(
        "--cores", type=int, default=os.cpu_count(), help="cores for every run (default: all)"
    )
    parser.add_argument(
        "--worlds-per-batch", type=int, help="the warp backend's worlds_per_batch (default: its own)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "benchmarks" / ".runs", help="where the study folders are made"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # Deleted at the end, not between runs (see bench_montecarlo.py: ext4 after mass deletes).
    workdir = Path(tempfile.mkdtemp(prefix="bench-warp-", dir=args.workdir))
    print(f"chain, 10 links, {args.steps} steps of {TIMESTEP * 1000:g} ms; {args.cores} cores")
    print(f"Warp device: {device()}")
    print(
        f"{'N':>7}{'warp s':>9}{'cpu s':>9}{'bare s':>9}{'warp/s':>10}{'cpu/s':>9}{'bare/s':>9}"
        f"{'cpu/warp':>10}{'bare/warp':>11}"
    )
    try:
        for n in args.n:
            warp, stages = workflow(n, args.steps, "warp", args.cores, workdir, args.worlds_per_batch)
            cpu, _ = workflow(n, args.steps, "cpu", args.cores, workdir)
            loop = bare(n, args.steps, args.cores, workdir)
            print(
                f"{n:>7}{warp:>9.2f}{cpu:>9.2f}{loop:>9.2f}{n / warp:>10.1f}{n / cpu:>9.1f}{n / loop:>9.1f}"
                f"{cpu / warp:>10.2f}{loop / warp:>11.2f}",
                flush=True,
            )
            for line in stages:
                print(f"{'':>7}  warp job: {line}")
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
