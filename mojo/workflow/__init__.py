"""The Snakemake workflow, shipped inside the package and included by a study folder's Snakefile.

A study folder's ``Snakefile`` (written by ``mojo init``) says ``include: mojo.workflow.SNAKEFILE``,
so the rules come from the installed mojo, and upgrading mojo upgrades them. (Not Snakemake's
``module`` directive: a module's ``onstart``/``onsuccess``/``onerror`` handlers are never run, and
mojo refuses a ``resume: false`` run or a second optimiser run in ``onstart``.) This package holds
the rules (``rules/``), report captions (``report/``), the config schema (``schemas/``) and the
Python the rules need that belongs to no stage: the bodies of the small local jobs (``jobs``),
the run lock (``locks``) and the only uses of Snakemake's private API (``private_api``).
"""

from pathlib import Path

SNAKEFILE = str(Path(__file__).with_name("Snakefile"))
"""The workflow's main Snakefile: what a study folder's Snakefile includes."""


def checked_config(path: str) -> str:
    """``path`` if it is a readable study config; otherwise exit with what is wrong and where.

    A study folder's Snakefile passes its default config through this before ``configfile:``,
    so that a missing or malformed file is named with the line of a YAML error, and a key given
    twice is refused (Snakemake's own reader would keep the last silently).
    """
    import sys

    from mojo.config.study import ConfigError, check_config_file

    try:
        check_config_file(path)
    except ConfigError as error:
        sys.exit(str(error))
    return path
