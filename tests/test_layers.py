"""No import runs back up the package's layers (issue 12).

Every module under ``mojo/`` is parsed with ``ast`` (imports inside functions count too: a late
import is still a dependency) and given a layer; an import of a module in a higher layer, or in
a sibling layer of the same rank, fails the test, naming the module, the line and the import.

The layers, bottom to top:

0. ``runtime`` and ``snakemake-api``: ``mojo.runtime`` and ``mojo.examples.*`` are the user API
   and user code that trials run (a user's runtime imports ``mojo.runtime`` without loading the
   workflow machinery); ``mojo.workflow.private_api`` is the one module allowed to touch
   Snakemake's private API, imported by the SLURM guard and the run locks. They import nothing
   of mojo's above them.
1. ``config``: ``mojo.config.*``, the typed settings.
2. ``trials``: ``mojo.trials.*``, planning, running and recording trials.
3. ``results``: ``mojo.results.*``, tables, plots, provenance.
4. ``optimize`` and ``slurm``: siblings above results; neither imports the other.
5. ``commands``: ``mojo.cli`` and the ``mojo status`` / ``mojo show`` commands
   (``mojo.results.status``, ``mojo.results.show``), which read every stage's files, the
   optimiser's included, so they sit above it.
6. ``workflow``: ``mojo.workflow.*`` (the Snakefile's Python) may import anything.

The package's ``mojo/__init__.py`` and ``mojo/templates`` hold no imports of mojo (layer 0).
"""

from __future__ import annotations

import ast
from pathlib import Path

import mojo

PACKAGE = Path(mojo.__file__).parent

RANKS = {
    "runtime": 0,
    "snakemake-api": 0,
    "config": 1,
    "trials": 2,
    "results": 3,
    "optimize": 4,
    "slurm": 4,
    "commands": 5,
    "workflow": 6,
}

MODULE_LAYERS = {
    "mojo": "runtime",
    "mojo.runtime": "runtime",
    "mojo.signals": "trials",  # the user's reader of signal files; the trials record them
    "mojo.cli": "commands",
    "mojo.init": "commands",
    "mojo.results.status": "commands",
    "mojo.results.show": "commands",
    "mojo.workflow.private_api": "snakemake-api",
}
"""Modules whose layer is not their package's."""

PACKAGE_LAYERS = {
    "mojo.examples": "runtime",
    "mojo.templates": "runtime",
    "mojo.config": "config",
    "mojo.trials": "trials",
    "mojo.results": "results",
    "mojo.optimize": "optimize",
    "mojo.slurm": "slurm",
    "mojo.workflow": "workflow",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    if module in MODULE_LAYERS:
        return MODULE_LAYERS[module]
    for prefix in sorted(PACKAGE_LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return PACKAGE_LAYERS[prefix]
    raise AssertionError(f"module {module} has no layer: add it to tests/test_layers.py")


def imports_of(path: Path, modules: set[str]) -> list[tuple[int, str]]:
    """(line, mojo module) of every import in ``path``; ``from mojo.x import y`` names the module
    ``mojo.x.y`` when that is one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "mojo"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "mojo":
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((node.lineno, submodule if submodule in modules else node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import (use the full mojo.… name)")
    return found


def violations() -> dict[tuple[str, str], str]:
    """(importer, imported) -> where and why, for every import that runs up or sideways."""
    modules = all_modules()
    found = {}
    for module, path in modules.items():
        layer = layer_of(module)
        for line, imported in imports_of(path, set(modules)):
            target = layer_of(imported)
            if target == layer or RANKS[target] < RANKS[layer]:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            found[(module, imported)] = f"{where}: {module} ({layer}) imports {imported} ({target})"
    return found


def test_every_module_has_a_layer():
    for module in all_modules():
        layer_of(module)


def test_no_import_runs_back_up_the_layers():
    new = [why for _, why in sorted(violations().items())]
    assert not new, "imports that run back up (or sideways across) the layers:\n" + "\n".join(new)


def test_the_walk_sees_late_and_from_package_imports(tmp_path: Path):
    """The checker itself: an import inside a function and ``from mojo.x import module`` count."""
    source = tmp_path / "m.py"
    source.write_text(
        "from mojo.results import status\n\ndef f():\n    from mojo.optimize.loop import step\n"
    )
    modules = {"mojo.results", "mojo.results.status", "mojo.optimize.loop"}
    assert imports_of(source, modules) == [(1, "mojo.results.status"), (4, "mojo.optimize.loop")]
