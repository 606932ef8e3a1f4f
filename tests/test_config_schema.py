"""The config model is the one owner of the config's facts (issue 12): the checked-in JSON schema,
the key tables of README.md and docs/optimize.md, and the frozen base every model shares all
follow from it; the optimiser's cross-check sees the whole, typed study."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

import mojo
from mojo.config.base import Frozen
from mojo.config.optimize import OptimizeConfig
from mojo.config.schema import REGENERATE, SCHEMA_FILE, documented_default, schema_text, write_schema
from mojo.config.study import StudyConfig, load_study

ROOT = Path(__file__).resolve().parents[1]

NOT_FROZEN = {
    # Re-laid out at the same time as this test was written (issue 12's SLURM and study-record
    # steps): to move onto Frozen with that work, then to leave this list.
    "mojo.slurm.limits.PartitionLimits": "SLURM limits parsed from scontrol, never read back",
    "mojo.slurm.limits.ClusterLimits": "SLURM limits parsed from scontrol, never read back",
    "mojo.slurm.partitions.PluginPartitionLimits": "the SLURM executor plugin's file format",
    "mojo.slurm.partitions.PluginPartitionFile": "the SLURM executor plugin's file format",
    "mojo.slurm.partitions.ClusterFile": "the SLURM executor plugin's companion file",
    "mojo.trials.record.StudyRecord": "the study record, read back from studies of older mojo",
}
"""pydantic models outside the frozen base, and why."""


def test_checked_in_schema_is_the_models():
    checked_in = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else "(missing)"
    assert checked_in == schema_text(), (
        f"{SCHEMA_FILE.relative_to(ROOT)} differs from the config model: regenerate it with "
        f"`{REGENERATE}` and commit it"
    )


def test_schema_is_package_data_and_written_whole(tmp_path: Path):
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"mojo\.workflow" = \[[^\]]*"schemas/\*\.json"', pyproject)
    write_schema(tmp_path / "config.schema.json")
    assert [p.name for p in tmp_path.iterdir()] == ["config.schema.json"]
    assert (tmp_path / "config.schema.json").read_text(encoding="utf-8") == schema_text()


def test_field_docstrings_reach_the_schema():
    import json

    schema = json.loads(schema_text())
    assert schema["properties"]["seed"]["description"].startswith("Root of every random draw")
    assert schema["properties"]["optimize"]["anyOf"]  # the section is in the schema ...
    optimize = schema["$defs"]["OptimizeConfig"]["properties"]
    assert "lowest or highest objective value" in optimize["direction"]["description"]  # ... with its words
    assert schema["$defs"]["JobResources"]["properties"]["mem_mb"]["description"]
    assert schema["additionalProperties"] is False


def _table(path: Path, model: type[BaseModel]) -> dict[str, str]:
    """The key → default rows of the table between ``<!-- keys: Model ...-->`` and ``<!-- /keys -->``."""
    text = path.read_text(encoding="utf-8")
    found = re.search(rf"<!-- keys: {model.__name__}\b.*?-->\n(.*?)<!-- /keys -->", text, re.S)
    assert found, f"{path.name} has no key table of {model.__name__} between marker comments"
    rows = {}
    for line in found.group(1).splitlines()[2:]:  # after the header and its rule
        keys, default = (cell.strip() for cell in line.strip("|").split("|")[:2])
        keys = [k.strip("` ") for k in keys.split(",")]
        defaults = [d.strip() for d in default.split(", ")] if len(keys) > 1 else [default]
        assert len(defaults) == len(keys), f"{path.name}: row {line!r} has a default per key?"
        rows.update({k: d.strip("`") for k, d in zip(keys, defaults)})
    return rows


@pytest.mark.parametrize("path, model", [("README.md", StudyConfig), ("docs/optimize.md", OptimizeConfig)])
def test_key_table_matches_the_model(path: str, model: type[BaseModel]):
    table = _table(ROOT / path, model)
    fields = {name: documented_default(field).strip("`") for name, field in model.model_fields.items()}
    assert sorted(set(fields) - set(table)) == [], f"keys of {model.__name__} missing from {path}'s table"
    assert sorted(set(table) - set(fields)) == [], f"keys in {path}'s table that {model.__name__} lacks"
    wrong = {k: (table[k], fields[k]) for k in fields if table[k] != fields[k]}
    assert wrong == {}, f"{path}: key: (table's default, the model's default); fix the table or the docstring"


def _models():
    for info in pkgutil.walk_packages(mojo.__path__, "mojo."):
        if info.name.startswith(("mojo.workflow.scripts", "mojo.templates")):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == info.name:
                yield f"{info.name}.{name}", value


def test_every_model_is_frozen_strict_and_documented_or_says_why():
    models = dict(_models())
    assert "mojo.config.study.StudyConfig" in models and "mojo.trials.files.TrialConfig" in models
    outside = sorted(n for n, m in models.items() if m is not Frozen and not issubclass(m, Frozen))
    assert outside == sorted(n for n in NOT_FROZEN if n in models), "a new model: base it on Frozen"
    for name, model in models.items():
        if issubclass(model, Frozen):
            assert model.model_config["frozen"] and model.model_config["use_attribute_docstrings"], name
            extra = model.model_config["extra"]
            assert extra == "forbid" or name == "mojo.trials.integrity.ManifestStamps", name


def test_optimize_cross_check_gets_the_typed_study(monkeypatch):
    seen = []
    monkeypatch.setattr(OptimizeConfig, "check_study", lambda self, study: seen.append(study))
    config = {
        "study": "box",
        "generator": "mojo.examples.sliding_box:build",
        "objective": "mojo.examples.sliding_box:objective",
        "parameters": {"friction": {"dist": "uniform", "low": 0.1, "high": 1.5}},
        "optimize": {
            "direction": "minimize",
            "search_space": {"friction": {"type": "float", "low": 0.1, "high": 1.5}},
        },
    }
    study = load_study(config)
    assert seen == [study] and isinstance(seen[0], StudyConfig)


def test_reserved_columns_are_the_trial_rows_own_fields():
    from mojo.config.study import TABLE_COLUMNS
    from mojo.trials.files import TrialRow

    assert TABLE_COLUMNS == tuple(n for n in TrialRow.model_fields if n not in ("values", "metrics"))


def test_config_imports_no_layer_above_it():
    import subprocess
    import sys

    code = (
        "import sys, mojo.config.study, mojo.config.schema; "
        "print(sorted(m for m in sys.modules if m.startswith('mojo.') and not m.startswith('mojo.config')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
