"""The study config's JSON schema and documented defaults, both read off the config model.

The model (:class:`mojo.config.study.StudyConfig`, field docstrings included) is the one owner of
the config's keys, defaults and descriptions. ``python -m mojo.config.schema`` writes the schema
to ``mojo/workflow/schemas/config.schema.json`` (checked in, for editors and other tools; a test
fails while it differs from the model); the tests check the key tables of README.md and
docs/optimize.md against :func:`documented_default`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.json"
"""Where the schema is checked in: package data of ``mojo.workflow``."""

REGENERATE = "python -m mojo.config.schema"
"""The command that rewrites :data:`SCHEMA_FILE` from the model."""


def schema_text() -> str:
    """The study config's JSON schema (draft 2020-12), as checked in."""
    from mojo.config.study import StudyConfig

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **StudyConfig.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> None:
    """Write the schema to ``path`` atomically (a reader never sees half a file)."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(schema_text(), encoding="utf-8")
    os.replace(part, path)


def documented_default(field: FieldInfo) -> str:
    """A field's default as the key tables show it: ``required``; the text after ``Default:`` in
    its docstring when the default is derived from other keys (the value is None); ``none``;
    else the value as YAML writes it (``true``, ``[]``, ``{}``, ``1.0``, ``tpe``)."""
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
    if value is None:
        derived = re.search(r"Default: (.+?)(?:[,.;](?:\s|$)|$)", " ".join((field.description or "").split()))
        return derived.group(1).replace("``", "`") if derived else "none"
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_defaults=True)
    return _yaml_value(value)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return value
    return repr(value) if isinstance(value, float) else json.dumps(value)


if __name__ == "__main__":
    write_schema()
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
