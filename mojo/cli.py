"""The ``mojo`` command: small tools around a study's files."""

from __future__ import annotations

import argparse
import os
import sys

from mojo import init
from mojo.results import show, status
from mojo.slurm import cli as slurm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mojo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    # Each subcommand registers itself here: commands.add_parser(...).set_defaults(func=...)
    init_parser = commands.add_parser("init", help="make a study folder that uses the installed workflow")
    init.add_arguments(init_parser)
    init_parser.set_defaults(func=init.command)
    status_parser = commands.add_parser("status", help="trial counts, throughput and ETA of a study")
    status.add_arguments(status_parser)
    status_parser.set_defaults(func=status.command)
    show_parser = commands.add_parser(
        "show",
        help="one trial's parameters and result; --view opens it, --plot plots its signals, "
        "--render pictures it",
    )
    show.add_arguments(show_parser)
    show_parser.set_defaults(func=show.command)
    slurm_commands = commands.add_parser("slurm", help="SLURM cluster tools").add_subparsers(
        dest="slurm_command", required=True
    )
    partitions = slurm_commands.add_parser(
        "partitions", help="query partition limits and write the plugin's partition file"
    )
    slurm.add_partitions_arguments(partitions)
    partitions.set_defaults(func=slurm.partitions_command)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except BrokenPipeError:  # `mojo status ... | head`: the reader has all it wants
        # Python would report the pipe again when it flushes stdout at exit: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
