"""The ``slurm_cluster`` fixture: one real single-node SLURM cluster per test session.

Use it from a test module with ``from tests.conftest_slurm import slurm_cluster  # noqa: F401``
(or list ``tests.conftest_slurm`` in ``pytest_plugins``), mark the tests ``@pytest.mark.slurm``
and pass ``slurm_cluster.env`` to every SLURM client or snakemake subprocess.

Where the SLURM/munge programs (or root) are missing the tests are skipped, naming what is
missing; with ``CI=true`` they fail instead, because CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.slurm_cluster import SlurmCluster, start_cluster, why_cluster_cannot_start


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A running cluster (``.env``, ``.conf_path``, ``.partitions``, ``.max_array_size``);
    stopped, with no daemons left, at the end of the session."""
    reason = why_cluster_cannot_start()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
