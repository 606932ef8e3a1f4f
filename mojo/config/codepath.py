"""Import paths of user code (``package.module:function``): checked without importing, hashed, loaded.

The Snakefile checks every path on each parse, including the parse every cluster job does, so the
check reads the module's source with ``ast`` instead of importing it (which would import MuJoCo).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
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
            f"module '{module}' cannot be found: looked for {module.replace('.', '/')}.py in the study "
            f"folder {os.getcwd()} (where snakemake runs, or its --directory) and in the packages "
            f"installed for {sys.executable}"
        )
    if not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"module '{module}' has no Python source file (origin: {spec.origin})")
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names:  # found in the study folder or not: either is a trap
        raise ValueError(
            f"module '{module}' has the name of a module of Python's standard library, which hides "
            f"(or is hidden by) a {top}.py in the study folder; rename yours (e.g. my_{top}.py)"
        )
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


LITERALS = (
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.JoinedStr,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
"""Expressions whose value is never callable: a name bound to one cannot be user code."""


def check_path(path: str) -> None:
    """Raise ValueError unless ``path`` names a top-level definition in a findable module that
    may be callable (not a name bound to a literal such as a number, text or list)."""
    _definition(path)


def _definition(path: str) -> ast.AST:
    """The last top-level statement of the module that binds the name ``path`` gives."""
    module, name = split_path(path)
    source = source_file(module)
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError) as exc:  # ValueError: a null byte
        line = f", line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise ValueError(f"module '{module}' ({source}{line}) cannot be parsed: {exc}") from None
    functions = sorted(n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)))
    listed = f"its functions: {', '.join(functions) or 'none'}"
    binding = [node for node in tree.body if name in _top_level_names(ast.Module([node], []))]
    if not binding:
        raise ValueError(f"module '{module}' ({source}) defines no '{name}'; {listed}")
    node = binding[-1]
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, LITERALS):
        raise ValueError(
            f"module '{module}' ({source}, line {node.lineno}) binds '{name}' to a value that is "
            f"not callable; need a function; {listed}"
        )
    return node


def check_call(path: str, args: tuple, kwargs: dict[str, Any], form: str) -> None:
    """Raise ValueError if the plain function ``path`` names cannot take ``args`` and ``kwargs``
    (as ``form`` shows the call): read from its ``def``, so a wrong ``gen_args``, ``run_kwargs``
    or parameter count is refused before any job, not once per trial. A decorated function, a
    class or a name bound otherwise (its signature is only known by running it) is not checked."""
    node = _definition(path)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.decorator_list:
        return
    try:
        _signature(node.args).bind(*args, **kwargs)
    except TypeError as error:
        raise ValueError(
            f"{node.name}({ast.unparse(node.args)}) cannot be called as {form}: {error}"
        ) from None


def _signature(arguments: ast.arguments) -> inspect.Signature:
    """The signature a ``def`` declares (defaults as placeholders: only their presence counts)."""
    kind = inspect.Parameter
    positional = [*arguments.posonlyargs, *arguments.args]
    first_default = len(positional) - len(arguments.defaults)
    parameters = [
        kind(
            arg.arg,
            kind.POSITIONAL_ONLY if i < len(arguments.posonlyargs) else kind.POSITIONAL_OR_KEYWORD,
            default=None if i >= first_default else kind.empty,
        )
        for i, arg in enumerate(positional)
    ]
    if arguments.vararg:
        parameters.append(kind(arguments.vararg.arg, kind.VAR_POSITIONAL))
    parameters += [
        kind(arg.arg, kind.KEYWORD_ONLY, default=kind.empty if default is None else None)
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults)
    ]
    if arguments.kwarg:
        parameters.append(kind(arguments.kwarg.arg, kind.VAR_KEYWORD))
    return inspect.Signature(parameters)


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
