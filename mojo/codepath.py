"""Import paths of user code (``package.module:function``): checked without importing, hashed, loaded.

The Snakefile checks every path on each parse, including the parse every cluster job does, so the
check reads the module's source with ``ast`` instead of importing it (which would import MuJoCo).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any, Callable


def ensure_workdir_importable() -> None:
    """Let user modules next to the config (the working directory) be imported, as in a script."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def split_path(path: str) -> tuple[str, str]:
    """Split ``package.module:function`` into module and attribute, or raise ValueError."""
    module, sep, name = path.partition(":")
    if not sep or not module or not name.isidentifier():
        raise ValueError(f"'{path}' is not of the form 'package.module:function'")
    return module, name


@cache
def source_file(module: str) -> Path:
    """The source file of a module, found without executing it."""
    ensure_workdir_importable()
    try:
        spec = importlib.util.find_spec(module)
    except Exception as exc:  # finding a submodule imports its package, which may raise anything
        raise ValueError(f"module '{module}' cannot be found: {type(exc).__name__}: {exc}") from None
    if spec is None:
        raise ValueError(
            f"module '{module}' cannot be found (is it installed, or in the working directory {os.getcwd()}?)"
        )
    if not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"module '{module}' has no Python source file (origin: {spec.origin})")
    return Path(spec.origin)


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def check_path(path: str) -> None:
    """Raise ValueError unless ``path`` names a top-level definition in a findable module."""
    module, name = split_path(path)
    source = source_file(module)
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError) as exc:  # ValueError: a null byte
        line = f", line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise ValueError(f"module '{module}' ({source}{line}) cannot be parsed: {exc}") from None
    defined = _top_level_names(tree)
    if name not in defined:
        functions = sorted(
            n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
        )
        raise ValueError(
            f"module '{module}' ({source}) defines no '{name}'; its functions: {', '.join(functions) or 'none'}"
        )


def source_hash(path: str) -> str:
    """SHA-256 of the source file that defines ``path``: the provenance of a trial's code."""
    module, _ = split_path(path)
    return hashlib.sha256(source_file(module).read_bytes()).hexdigest()


def load(path: str) -> Callable[..., Any]:
    """Import ``package.module:function`` and return the callable."""
    module, name = split_path(path)
    ensure_workdir_importable()
    obj = getattr(importlib.import_module(module), name, None)
    if not callable(obj):
        raise TypeError(f"'{path}' is not callable (it is {type(obj).__name__})")
    return obj
