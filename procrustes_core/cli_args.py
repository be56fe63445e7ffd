"""The command line's argparse pieces: a parser that reports a usage mistake in one line, and argument
types whose messages stay short whatever they are given."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence

from .errors import shown

MAX_MESSAGE = 400  # characters of a usage error: argparse repeats what it was given


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = shown(message, MAX_MESSAGE, quote=False)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def integer_arg(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi], with a short one-line message otherwise."""

    def parse(text: str) -> int:
        digits = text.strip()
        if len(digits) > 20 or not re.fullmatch(r"[+-]?[0-9]+", digits) or not lo <= int(digits) <= hi:
            raise argparse.ArgumentTypeError(f"{shown(text)}: expected an integer from {lo} to {hi}")
        return int(digits)  # short: never near int()'s 4300-digit limit

    return parse


def choice_arg(options: Sequence[str]) -> Callable[[str], str]:
    """An argparse type: one of ``options`` (argparse's own choices would echo a long value in full)."""

    def parse(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"{shown(text)}: expected one of {', '.join(options)}")
        return text

    return parse
