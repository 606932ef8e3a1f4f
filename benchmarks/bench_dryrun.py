"""How long ``snakemake -n`` takes as studies grow (targets: 10,000 trials < 5 s, 100,000 < 30 s).

Dry runs of the default study at several sizes, with the default job size and with 100 trials
per job, and once more after the 10,000-trial study has run (then every batch also checks that
its trial folders are still there).

    python benchmarks/bench_dryrun.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def snakemake(workdir: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
         "--configfile", str(workdir / "config.yaml"), "--quiet", *args],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mojo-dryrun-") as tmp:
        workdir = Path(tmp)
        shutil.copy(REPO / "config" / "config.yaml", workdir / "config.yaml")
        print(f"{'trials':>8} {'trials/job':>11} {'state':>9} {'dry run s':>10}")
        for n_trial in (10_000, 100_000):
            for per_job in ("default", "100"):
                extra = [] if per_job == "default" else [f"trials_per_job={per_job}"]
                seconds = snakemake(workdir, "-n", "--config", f"n_trial={n_trial}", "duration=0.01", *extra)
                print(f"{n_trial:>8} {per_job:>11} {'fresh':>9} {seconds:>10.2f}", flush=True)
        config = ["--config", "n_trial=10000", "duration=0.01", "trials_per_job=100"]
        snakemake(workdir, "--cores", "2", *config)
        seconds = snakemake(workdir, "-n", *config)
        print(f"{10_000:>8} {'100':>11} {'finished':>9} {seconds:>10.2f}")


if __name__ == "__main__":
    main()
