"""Sampling designs (``sampling: random | sobol | lhs | saltelli``): reproducible, trial 0 nominal,
the growth rules the README states, the marginals, SALib's row order, and the config errors."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mojo.config.distributions import Choice, Integer, LogNormal, Normal, TruncatedNormal
from mojo.config.study import ConfigError, load_study
from mojo.trials.files import NamedValue
from mojo.trials.layout import study_dir, trial_dir
from mojo.trials.record import STUDY_RECORD, write_study_record
from mojo.trials.sampling import saltelli_problem, sample_parameters
from mojo.trials.targets import resume_refusal, study_fingerprint
from mojo.trials.trial import UserCode, config_template, plan_trial, run_trial
from tests.conftest import ball_config

DESIGNS = ("random", "sobol", "lhs", "saltelli")
UNIT = {"dist": "uniform", "low": 0.0, "high": 1.0}
SALTELLI_SIZE = 1 + 2 * (3 + 2)
"""The smallest-but-one Saltelli study of ball_config's three parameters (N = 2)."""


def study(sampling: str = "random", **changes):
    n_trial = SALTELLI_SIZE if sampling == "saltelli" else 12
    return load_study(ball_config(sampling=sampling, **{"n_trial": n_trial, **changes}))


def values(s, trial: int) -> dict:
    return {name: nv.value for name, nv in sample_parameters(s, trial).items()}


def table(s, trials=None) -> list[dict]:
    return [values(s, k) for k in (trials or range(s.n_trial))]


@pytest.mark.parametrize("sampling", DESIGNS)
def test_same_seed_same_values_other_seed_other_values(sampling):
    first = table(study(sampling))
    assert first == table(study(sampling))
    assert first[1:] != table(study(sampling, seed=8))[1:]
    assert len({tuple(row.values()) for row in first[1:]}) == len(first) - 1  # no repeated point


@pytest.mark.parametrize("sampling", DESIGNS)
def test_trial_0_is_nominal_under_every_design(sampling):
    nominal = sample_parameters(study(sampling), 0)
    assert {name: (nv.value, nv.source) for name, nv in nominal.items()} == {
        "height": (1.0, "nominal"), "radius": (0.1, "nominal"), "mass": (1.0, "nominal")
    }


def test_designs_give_other_values_than_random():
    random = table(study("random", n_trial=11))
    for sampling in ("sobol", "lhs"):
        rows = table(study(sampling, n_trial=11))
        assert all(a != b for a, b in zip(random[1:], rows[1:])), sampling


def test_sobol_growth_keeps_earlier_draws():
    small, grown = study("sobol", n_trial=6), study("sobol", n_trial=300)
    assert table(small) == table(grown, range(6))
    # ... because a scrambled Sobol' draw of n points is the start of a larger draw (scipy).
    engine = lambda: stats.qmc.Sobol(d=3, rng=np.random.default_rng(5))  # noqa: E731
    assert np.array_equal(engine().random(8), engine().random(64)[:8])


def test_saltelli_growth_to_a_doubled_n_keeps_earlier_draws():
    assert table(study("saltelli")) == table(study("saltelli", n_trial=1 + 8 * 5), range(SALTELLI_SIZE))


def test_lhs_hits_each_stratum_of_each_parameter_once():
    s = load_study(ball_config(sampling="lhs", n_trial=21, parameters={"a": UNIT, "b": UNIT, "c": UNIT}))
    for name in "abc":
        strata = sorted(math.floor(values(s, k)[name] * 20) for k in range(1, 21))
        assert strata == list(range(20)), name


def test_lhs_depends_on_n_trial_so_it_cannot_grow():
    assert table(study("lhs", n_trial=6)) != table(study("lhs", n_trial=12), range(6))


def test_saltelli_rows_are_salibs_in_order_and_give_known_sobol_indices():
    """Y = 4 a + 2 b + c on uniform [0, 1] parameters: first-order indices 16/21, 4/21, 1/21,
    computed by SALib from trials 1 .. n_trial - 1 in order, as helper code would do."""
    from SALib.analyze import sobol

    parameters = {"a": UNIT, "b": UNIT, "k": {"dist": "constant", "value": 3}, "c": UNIT}
    s = load_study(ball_config(sampling="saltelli", n_trial=1 + 256 * 5, parameters=parameters))
    problem = saltelli_problem(s)
    assert problem == {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}
    rows = np.array([[values(s, k)[n] for n in problem["names"]] for k in range(1, s.n_trial)])
    blocks = rows.reshape(256, 5, 3)  # SALib's layout: A, AB_0 .. AB_{D-1}, B per base point
    for j in range(3):
        others = [i for i in range(3) if i != j]
        assert np.array_equal(blocks[:, 1 + j, others], blocks[:, 0, others])
        assert np.array_equal(blocks[:, 1 + j, j], blocks[:, 4, j])
    indices = sobol.analyze(problem, rows @ [4.0, 2.0, 1.0], calc_second_order=False, seed=1)
    assert np.allclose(indices["S1"], [16 / 21, 4 / 21, 1 / 21], atol=0.03)
    assert np.allclose(indices["ST"], [16 / 21, 4 / 21, 1 / 21], atol=0.03)


def test_design_spans_the_varying_parameters_in_config_order_and_overrides_win():
    parameters = {"z": UNIT, "k": {"dist": "constant", "value": 2}, "a": UNIT, "m": UNIT}
    s = load_study(ball_config(sampling="sobol", parameters=parameters, overrides={"a": 0.25}))
    assert s.design_parameters == ["z", "m"]
    assert all(values(s, k)["a"] == 0.25 and values(s, k)["k"] == 2 for k in range(1, 12))
    again = load_study(ball_config(sampling="sobol", parameters={"z": UNIT, "m": UNIT}))
    assert [values(s, k)["m"] for k in range(1, 12)] == [values(again, k)["m"] for k in range(1, 12)]


def test_optimiser_evaluations_draw_at_random_whatever_the_design():
    fixed = {"height": NamedValue(value=0.7, source="optimizer")}
    designed = sample_parameters(study("lhs"), 123456, fixed)
    assert designed == sample_parameters(study("random"), 123456, fixed)
    assert designed["height"].value == 0.7


def test_ppf_inverts_each_distribution():
    q = np.array([1e-9, 0.01, 0.3, 0.5, 0.9, 1 - 1e-9])
    normal, lognormal = Normal(dist="normal", mean=2, std=3), LogNormal(dist="lognormal", mu=1, sigma=0.5)
    assert np.allclose([normal.ppf(u) for u in q], stats.norm.ppf(q, 2, 3), rtol=1e-12)
    assert np.allclose([lognormal.ppf(u) for u in q], stats.lognorm.ppf(q, 0.5, scale=math.e), rtol=1e-12)
    assert math.isfinite(normal.ppf(0.0)) and math.isfinite(normal.ppf(1.0))
    trunc = TruncatedNormal(dist="truncnormal", mean=0, std=1, low=-0.5, high=2)
    assert np.allclose([trunc.ppf(u) for u in q], stats.truncnorm.ppf(q, -0.5, 2), atol=1e-9)
    integer = Integer(dist="integer", low=3, high=5)
    assert [integer.ppf(u) for u in (0.0, 0.33, 0.34, 0.66, 0.67, 0.999, 1.0)] == [3, 3, 4, 4, 5, 5, 5]


def test_choice_ppf_maps_cumulative_weights_and_never_picks_weight_zero():
    choice = Choice(dist="choice", values=["never", "a", "b", "also never"], weights=[0, 1, 3, 0])
    assert [choice.ppf(u) for u in (0.0, 0.2499, 0.25, 0.7, 1.0)] == ["a", "a", "b", "b", "b"]
    uniform = Choice(dist="choice", values=[1, 2])
    assert [uniform.ppf(u) for u in (0.0, 0.49, 0.5, 0.99)] == [1, 1, 2, 2]
    parameters = {"c": {"dist": "choice", "values": ["x", "y"], "weights": [1, 3]}}
    s = load_study(ball_config(sampling="lhs", n_trial=401, parameters=parameters))
    assert sum(values(s, k)["c"] == "y" for k in range(1, 401)) == 300  # strata: exactly 3/4


def test_unknown_design_is_refused_naming_key_value_and_designs():
    with pytest.raises(ConfigError) as error:
        study("halton")
    message = str(error.value)
    assert "sampling = 'halton'" in message
    assert all(f"'{design}'" in message for design in DESIGNS)


def test_saltelli_of_a_wrong_size_names_n_trial_and_the_nearest_valid_sizes():
    with pytest.raises(ConfigError) as error:
        study("saltelli", n_trial=30)
    message = str(error.value)
    assert "n_trial = 30" in message and "sampling = 'saltelli'" in message
    assert "1 + N * (D + 2)" in message and "D = 3" in message
    assert "n_trial = 21 (N = 4) or 41 (N = 8)" in message
    for valid in (21, 41):
        study("saltelli", n_trial=valid)
    with pytest.raises(ConfigError, match=r"nearest: n_trial = 6 \(N = 1\)$"):
        study("saltelli", n_trial=3)
    with pytest.raises(ConfigError, match="at least one parameter that varies"):
        study("saltelli", overrides={"height": 1, "radius": 0.1, "mass": 1})


def test_a_design_changes_the_fingerprint_and_the_trial_configs_but_random_adds_nothing():
    random, sobol, lhs = study("random"), study("sobol"), study("lhs")
    assert len({study_fingerprint(s) for s in (random, sobol, lhs)}) == 3

    def config_json(s):
        template = config_template(s, {})
        return plan_trial(s, 3, Path("unused"), template).config_json

    assert '"sampling"' not in config_json(random) and '"design_size"' not in config_json(random)
    assert '"sampling": "sobol"' in config_json(sobol) and '"design_size"' not in config_json(sobol)
    assert '"sampling": "lhs"' in config_json(lhs) and '"design_size": 12' in config_json(lhs)


def run_study_in_process(s) -> None:
    """Trials 0 and 1 of ``s`` run as a batch would run them, and the record a run writes."""
    template, code = config_template(s, {}), UserCode.load(s)
    for k in (0, 1):
        run_trial(plan_trial(s, k, trial_dir(s, k), template), code)
    write_study_record(s)


@pytest.mark.parametrize("resume", [True, False])
def test_lhs_study_with_finished_trials_refuses_another_n_trial(tmp_path: Path, resume: bool):
    base = {"results_dir": str(tmp_path), "resume": resume}
    run_study_in_process(study("lhs", **base))
    for n_trial in (13, 11):
        other = study("lhs", n_trial=n_trial, **base)
        refusal = resume_refusal(other, study_fingerprint(other))
        assert refusal is not None
        assert "n_trial = 12" in refusal and f"n_trial = {n_trial}" in refusal
        assert "cannot grow or shrink" in refusal and "Nothing was changed" in refusal
    same = study("lhs", **base)
    assert resume_refusal(same, study_fingerprint(same)) is None
    if resume:  # a design that grows is not refused
        sobol = study("sobol", **base)
        run_study_in_process(sobol)
        grown = study("sobol", n_trial=40, **base)
        assert resume_refusal(grown, study_fingerprint(grown)) is None


def test_lhs_refusal_without_a_study_record_reads_a_finished_trials_config(tmp_path: Path):
    s = study("lhs", results_dir=str(tmp_path))
    run_study_in_process(s)
    (study_dir(s) / STUDY_RECORD).unlink()
    grown = study("lhs", n_trial=20, results_dir=str(tmp_path))
    assert "n_trial = 12" in resume_refusal(grown, study_fingerprint(grown))
    shutil.rmtree(trial_dir(s, 0))
    shutil.rmtree(trial_dir(s, 1))
    assert resume_refusal(grown, study_fingerprint(grown)) is None  # nothing finished: a fresh study


@pytest.mark.slow
def test_snakemake_refuses_to_grow_an_lhs_study_before_any_job(workflow):
    def files():
        paths = workflow.study_dir().rglob("*")
        return {p: p.read_bytes() for p in paths if p.is_file() and "logs" not in p.parts}

    workflow.write_config(ball_config(sampling="lhs", n_trial=4, n_proc=1))
    workflow.run()
    before = files()
    workflow.write_config(ball_config(sampling="lhs", n_trial=6, n_proc=1))
    done = workflow.run(check=False)
    assert done.returncode != 0 and "cannot grow or shrink" in done.stdout + done.stderr
    assert files() == before
