"""Sampling designs: how fast the mean and the 95th percentile of a metric converge with N.

For the sliding box (mojo/examples/sliding_box.py: friction, launch speed and mass vary; metric
``distance``), runs studies of N trials under each design (``sampling: random | sobol | lhs |
saltelli``) in this process: each trial's values come from mojo's own
:func:`mojo.trials.sampling.sample_parameters`, the model from the example's generator, the
simulation from mojo's default runtime (:func:`mojo.runtime.simulate`), as a study would,
without Snakemake or files. Each estimate is compared with a reference study of 2^14 trials, and
the error is the root mean square over ``--seeds`` seeds. Prints a table.

The reference is a scrambled Sobol' study of another seed, not a random one: a random reference
of 2^14 trials has a standard error of std / 128 in its mean, larger than the errors the
quasi-random designs reach at N = 1024, which a random reference would hide. Its own error is
printed (the spread of its four quarters' estimates / 2, an estimate of the standard error).

Designs that grow (random, sobol, saltelli) are run once at the largest N per seed, each smaller
N being a prefix (exactly the trials a study of that size has); ``lhs`` cannot grow, so each N
is a study of its own. N counts trials 1 .. n_trial - 1 (the nominal trial 0 is left out of the
estimates); a Saltelli study's N is N_base * (D + 2) = 5 * N_base rows, so its column is at its
own sizes. About 3 minutes on one core (the defaults).

    python benchmarks/bench_designs.py
    python benchmarks/bench_designs.py --seeds 4 --max-exponent 9 --reference-exponent 13
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

from mojo.config.codepath import load
from mojo.config.study import load_study
from mojo.runtime import TrialContext, simulate
from mojo.trials.sampling import plain_values, sample_parameters

CONFIG = {
    "study": "bench_designs",
    "generator": "mojo.examples.sliding_box:build",
    "metrics": "mojo.examples.sliding_box:metrics",
    "duration": 1.0,  # the box stops within 0.9 s at the lowest friction and highest speed
    "parameters": {
        "friction": {"dist": "uniform", "low": 0.3, "high": 0.9},
        "speed": {"dist": "truncnormal", "mean": 2.0, "std": 0.2, "low": 1.5, "high": 2.5},
        "mass": {"dist": "lognormal", "mu": 0.0, "sigma": 0.3},
    },
}
METRIC = "distance"
DESIGNS = ("random", "sobol", "lhs", "saltelli")
BLOCK = len(CONFIG["parameters"]) + 2
"""Saltelli rows per base point (D + 2)."""


def run_study(sampling: str, seed: int, trials: int) -> np.ndarray:
    """The metric of trials 1 .. ``trials`` of a study of 1 + ``trials`` trials."""
    study = load_study(CONFIG | {"sampling": sampling, "seed": seed, "n_trial": trials + 1})
    generator, metrics = load(study.generator), load(study.metrics)
    out = np.empty(trials)
    for trial in range(1, trials + 1):
        values = plain_values(sample_parameters(study, trial))
        model = generator(values).compile()
        context = TrialContext(number=trial, seed=0, values=values, duration=study.duration, metrics=metrics)
        out[trial - 1] = simulate(model, mujoco.MjData(model), context)[METRIC]
    return out


def estimates(values: np.ndarray) -> tuple[float, float]:
    return float(np.mean(values)), float(np.percentile(values, 95))


def sizes(design: str, max_exponent: int) -> list[int]:
    exponents = range(4, max_exponent + 1)
    return [BLOCK * 2 ** (e - 2) if design == "saltelli" else 2**e for e in exponents]


def design_errors(design: str, seeds: int, max_exponent: int, reference: tuple[float, float]) -> dict:
    """N -> (RMS error of the mean, RMS error of p95) over the seeds."""
    squared: dict[int, np.ndarray] = {n: np.zeros(2) for n in sizes(design, max_exponent)}
    for seed in range(1, seeds + 1):
        if design == "lhs":  # cannot grow: a study per size
            runs = {n: run_study(design, seed, n) for n in squared}
        else:
            largest = run_study(design, seed, max(squared))
            runs = {n: largest[:n] for n in squared}
        for n, values in runs.items():
            squared[n] += (np.array(estimates(values)) - reference) ** 2
    return {n: np.sqrt(total / seeds) for n, total in squared.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-exponent", type=int, default=10, help="largest N = 2**this")
    parser.add_argument("--reference-exponent", type=int, default=14)
    args = parser.parse_args()

    started = time.perf_counter()
    reference_values = run_study("sobol", 10_000, 2**args.reference_exponent)
    reference = np.array(estimates(reference_values))
    quarters = np.array([estimates(q) for q in np.split(reference_values, 4)])
    spread = quarters.std(axis=0, ddof=1) / 2
    print(
        f"reference: sobol, 2^{args.reference_exponent} trials: mean {reference[0]:.5f} "
        f"(+- {spread[0]:.1e}), p95 {reference[1]:.5f} (+- {spread[1]:.1e}); "
        f"std of {METRIC} {reference_values.std():.4f} m"
    )
    errors = {design: design_errors(design, args.seeds, args.max_exponent, reference) for design in DESIGNS}
    print(f"\nRMS error over {args.seeds} seeds of the mean and p95 of {METRIC} (m) against the reference")
    columns = " | ".join(f"{design} mean | {design} p95" for design in DESIGNS[:3])
    header = f"| N | {columns} | saltelli N | mean | p95 |"
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for row, n in enumerate(sizes("random", args.max_exponent)):
        cells = [f"{n}"]
        for design in DESIGNS[:3]:
            cells += [f"{e:.2e}" for e in errors[design][n]]
        n_saltelli = sizes("saltelli", args.max_exponent)[row]
        cells += [f"{n_saltelli}", *(f"{e:.2e}" for e in errors["saltelli"][n_saltelli])]
        print("| " + " | ".join(cells) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
