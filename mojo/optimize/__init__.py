"""Optuna optimisation of a study's parameters, run as a checkpoint-driven loop of rounds.

Each round asks Optuna for a batch of trials, runs their evaluations with the Monte Carlo trial
machinery (same generator, runtime and trial files), and tells the scores back. See
``docs/optimize.md``.

Importing this package (and :mod:`mojo.config.optimize`, :mod:`mojo.optimize.files`,
:mod:`mojo.optimize.workflow`) never imports Optuna or MuJoCo: the Snakefile parses them on every
cluster job.
"""
