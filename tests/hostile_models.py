"""A slow generator for the kill and concurrency tests of tests/test_faults_hostile.py."""

from __future__ import annotations

import time

import mujoco

from tests.trial_models import ball


def slow_ball(values: dict, delay: float = 0.5) -> mujoco.MjSpec:
    """The dropped ball of tests/trial_models.py, after ``delay`` seconds: a run stays alive
    long enough to be killed, or met by a second run, in the middle of its trials."""
    time.sleep(delay)
    return ball(values)
