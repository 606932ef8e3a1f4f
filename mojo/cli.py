"""The ``mojo`` command: small tools around a study's files."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mojo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    # Each subcommand registers itself here: commands.add_parser(...).set_defaults(func=...)
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    raise SystemExit(main())
