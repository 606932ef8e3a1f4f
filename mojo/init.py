"""``mojo init``: a study folder of the researcher's own, using the installed workflow.

The folder holds only the researcher's files: a Snakefile that includes the installed workflow
(``mojo.workflow.SNAKEFILE``), the workflow profile (Snakemake's rerun triggers for mojo), a SLURM
profile to adapt, and a config — a bundled example's, or a new one with a generator template
(``models.py``). Upgrading mojo changes none of them. Nothing existing is ever overwritten: if any
file would be, nothing at all is written.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import unicodedata
from importlib.resources import files
from pathlib import Path

import yaml

from mojo.config.study import MAX_NAME, STUDY_NAME_CHARACTERS

TEMPLATES = files("mojo.templates")
STUDY_FILES = ("Snakefile", "profiles/default/config.yaml", "profiles/slurm/config.yaml")
"""Every study folder's files, from ``mojo/templates/study/`` (the repository root holds copies)."""
EXAMPLES = ("pendulum", "sliding_box", "chain")
"""Bundled examples (``mojo.examples.<name>``), each with a config in ``mojo/templates/configs/``."""
CONFIG = "config/config.yaml"
NAME_PLACEHOLDER = "STUDY_NAME"


class InitError(RuntimeError):
    """The folder cannot be made as asked; nothing was written."""


def study_name(folder: Path) -> str:
    """The folder's name as a study name: ASCII letters, digits, ``_``, ``.``, ``-``; accented
    letters lose their accents (``études`` -> ``etudes``) rather than the letter."""
    letters = unicodedata.normalize("NFKD", folder.resolve().name)
    unaccented = "".join(c for c in letters if not unicodedata.combining(c))
    name = re.sub(f"[^{STUDY_NAME_CHARACTERS}]+", "_", unaccented).strip("._-")[:MAX_NAME]
    return name or "study"


def study_files(folder: Path, example: str | None) -> dict[str, str]:
    """Relative path -> text of every file ``mojo init`` writes."""
    made = {name: (TEMPLATES / "study" / name).read_text() for name in STUDY_FILES}
    if example is None:
        config = (TEMPLATES / "new" / "config.yaml").read_text()
        made[CONFIG] = config.replace(NAME_PLACEHOLDER, study_name(folder), 1)
        made["models.py"] = (TEMPLATES / "new" / "models.py").read_text()
    else:
        made[CONFIG] = (TEMPLATES / "configs" / f"{example}.yaml").read_text()
    return made


def init(folder: Path, example: str | None = None) -> list[Path]:
    """Write a study folder; raise InitError, writing nothing, if any of its files exists."""
    if folder.exists() and not folder.is_dir():
        raise InitError(f"{folder} exists and is not a folder")
    made = study_files(folder, example)
    existing = [name for name in made if (folder / name).exists() or (folder / name).is_symlink()]
    if existing:
        raise InitError(
            f"{folder} already has {', '.join(existing)}: mojo init overwrites nothing "
            "(move them away, or choose another folder)"
        )
    written = []
    for name, text in made.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x") as stream:  # "x": fails rather than overwrite a file made meanwhile
            stream.write(text)
        written.append(path)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", type=Path, help="the study folder to make (may exist, if it has none of the files)"
    )
    parser.add_argument(
        "--example", choices=EXAMPLES, help="start from a bundled example instead of a new generator template"
    )


def command(args: argparse.Namespace) -> int:
    try:
        written = init(args.folder, args.example)
    except (InitError, OSError) as error:  # OSError: a folder that cannot be made, a full disk
        print(f"mojo init: {error}", file=sys.stderr)
        return 1
    study = yaml.safe_load((args.folder / CONFIG).read_text())["study"]
    print(f"mojo init: made {args.folder}:")
    for path in written:
        print(f"  {path}")
    print("Next:")
    for line in (
        f"cd {shlex.quote(str(args.folder))}",
        "snakemake --cores 2",
        "snakemake --report report.html",
        f"mojo status results/{study}",
    ):
        print(f"  {line}")
    return 0
