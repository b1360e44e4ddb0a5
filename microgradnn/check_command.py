"""``microgradnn check``: check your own micrograd-style Value class from the command line.

``microgradnn check my_engine:Value`` imports the module ``my_engine`` (from the current folder
or the installed packages), ``microgradnn check path/to/engine.py:Value`` loads that file, and
prints the report of :func:`microgradnn.testing.check_engine`. Several targets may be given
(a teacher grading a class): each gets its report, and a summary closes the output.

Exit status: 0 when every target passes; 1 when a check fails; 2 for a usage error (no such
module or file, no such class, not a class, a class that cannot be checked), with a one-line
message. With several targets the highest status wins.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from microgradnn.cli import one_line

__all__ = ["TargetError", "add_parser", "load_target", "run"]


class TargetError(ValueError):
    """``MODULE:CLASS`` or ``FILE.py:CLASS`` could not be loaded: a one-line reason."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_target(target: str) -> type:
    """The class named by ``MODULE:CLASS`` or ``path/to/file.py:CLASS`` (the learner's code runs)."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise TargetError(
            f"{target!r}: expected MODULE:CLASS or path/to/file.py:CLASS (e.g. my_engine:Value)"
        )
    is_file = where.endswith(".py") or "/" in where or os.sep in where
    if is_file:
        path = Path(where)
        if not path.is_file():
            raise TargetError(f"{where}: no such file")
        module_name = path.stem if path.stem.isidentifier() else "learner_engine"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise TargetError(f"{where}: cannot be imported as Python code")
        module = importlib.util.module_from_spec(spec)
        # The file may import its neighbours (its own nn.py, say), as `python file.py` allows.
        sys.path.insert(0, str(path.resolve().parent))
        try:
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - anything the learner's file does on import
            sys.modules.pop(module_name, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise TargetError(f"importing {where} raised {_describe(exc)}") from None
        finally:
            sys.path.remove(str(path.resolve().parent))
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # `python -m` finds modules in the current folder too
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and where.startswith(exc.name):
                raise TargetError(
                    f"module {where!r} not found (run from its folder, or give path/to/file.py:{name})"
                ) from None
            raise TargetError(f"importing {where} raised {_describe(exc)}") from None
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise TargetError(f"importing {where} raised {_describe(exc)}") from None
    found: Any = module
    for part in name.split("."):
        if not hasattr(found, part):
            raise TargetError(f"{where} has no {name!r}")
        found = getattr(found, part)
    if not isinstance(found, type):
        raise TargetError(f"{target}: {name} is a {type(found).__name__}, not a class")
    return found


def run(args: argparse.Namespace) -> int:
    from microgradnn.testing.engine_check import EngineUnusableError, check_engine

    statuses = []
    summary = []
    for target in args.targets:
        try:
            cls = load_target(target)
            report = check_engine(cls, max_examples=args.max_examples, seed=args.seed, max_ops=args.max_ops,
                                  conventions=not args.no_conventions)  # fmt: skip
        except (TargetError, EngineUnusableError) as exc:
            print(f"microgradnn check: error: {one_line(str(exc))}", file=sys.stderr)
            statuses.append(2)
            summary.append(f"ERROR {one_line(str(exc))}")
            continue
        except ImportError as exc:  # hypothesis missing
            print(f"microgradnn check: error: {one_line(str(exc))}", file=sys.stderr)
            return 2
        print(report)
        if len(args.targets) > 1:
            print()
        statuses.append(0 if report else 1)
        failure = report.failure
        summary.append(
            f"PASS  {target}" if report else f"FAIL  {target}: {failure.formula if failure else ''}"
        )
    if len(args.targets) > 1:
        print("summary:")
        for line in summary:
            print(f"  {line}")
    return max(statuses)


def _whole_number(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``check`` to the ``microgradnn`` command."""
    parser = subparsers.add_parser(
        "check",
        help="check your own micrograd-style Value class against microgradnn",
        description=(
            "Import a micrograd-style Value class, find the operations it supports, and check the "
            "values and gradients of each operation alone and of random expression graphs against "
            "microgradnn. A failure is shrunk to a small expression and the first node of the "
            "backward pass whose local derivative is wrong is named."
        ),
        epilog=(
            "examples: microgradnn check my_engine:Value    microgradnn check homework/alice.py:Value "
            "homework/bob.py:Value.   Exit status: 0 when every check passes, 1 when one fails, 2 for a "
            "usage error (module or file not found, not a class, a class that cannot be checked)."
        ),
    )
    parser.add_argument("targets", nargs="+", metavar="MODULE:CLASS",
                        help="the class, as module:Class or path/to/file.py:Class")  # fmt: skip
    parser.add_argument("--max-examples", type=_whole_number(1), default=200, metavar="N",
                        help="random expression graphs to try (default 200)")  # fmt: skip
    parser.add_argument("--max-ops", type=_whole_number(1), default=6, metavar="N",
                        help="operations drawn per random expression (default 6)")  # fmt: skip
    parser.add_argument("--seed", type=_whole_number(0), default=0,
                        help="random seed (default 0: repeatable)")  # fmt: skip
    parser.add_argument("--no-conventions", action="store_true",
                        help="skip the conventions (second backward(), deep graphs, kinks)")  # fmt: skip
    parser.set_defaults(run=run)
    return parser
