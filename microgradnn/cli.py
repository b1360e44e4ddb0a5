"""The ``microgradnn`` command: ``microgradnn demo``, ``microgradnn graph`` and ``microgradnn check``.

Each subcommand lives in its own module, which provides ``add_parser(subparsers)``; the parser
it adds sets ``run`` (a function of the parsed arguments returning the exit status).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from typing import Any

# Control characters (a newline in a file name, say) would break a one-line error apart.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\n``), so it stays one line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


class SubcommandParser(OneLineErrorParser):
    """The parser of one subcommand: it reports its own unknown options, with a suggestion.

    argparse hands a subcommand's unknown arguments back to the top-level parser, whose error
    ("microgradnn: error: unrecognized arguments: --datset") neither names the subcommand nor
    says what was meant. Here ``microgradnn demo --datset circles`` answers
    "microgradnn demo: error: unrecognized argument --datset (did you mean --dataset?)".
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unrecognized(extras))
        return namespace, extras

    def _unrecognized(self, extras: list[str]) -> str:
        # Name the first unknown option only: the words after it are most likely its value.
        options = [arg for arg in extras if arg.startswith("-")]
        if not options:
            return f"unexpected argument{'s' if len(extras) > 1 else ''} {' '.join(extras)}"
        name = options[0].split("=", 1)[0]
        known = [option for action in self._actions for option in action.option_strings]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        return f"unrecognized option {name}" + (f" (did you mean {close[0]}?)" if close else "")


def build_parser() -> argparse.ArgumentParser:
    from microgradnn import __version__, check_command, demo, graph_command

    parser = OneLineErrorParser(
        prog="microgradnn",
        description="Scalar autograd you can watch: train a tiny network, draw a computation graph.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=SubcommandParser)
    sub.required = True
    demo.add_parser(sub)
    graph_command.add_parser(sub)
    check_command.add_parser(sub)
    return parser


def _tolerate_any_terminal() -> None:
    """Write what the terminal's encoding cannot show as escapes (``\\xe9``) instead of failing.

    Names, values, file names and the help text may hold any character, and the terminal
    may be ASCII (``PYTHONIOENCODING=ascii``, an old locale).
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    _tolerate_any_terminal()
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
