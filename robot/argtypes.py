"""argparse types for numbers with bounds: a bad value is one clear line from argparse, before any work
starts (a negative episode count or a zero time budget used to run on, or fail deep inside)."""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable, NoReturn


def number(kind: type, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> Callable[[str], float]:
    """A type that parses `kind` (int or float) and accepts `low <= v <= high` (`low < v` with
    `low_open`); None leaves that side open. NaN and infinities are refused."""
    word = "a whole number" if kind is int else "a number"
    if low is not None and high is not None:
        rule = f"from {low:g} to {high:g}"
    elif low is not None:
        rule = f"more than {low:g}" if low_open else f"{low:g} or more"
    elif high is not None:
        rule = f"at most {high:g}"
    else:
        rule = "finite"  # no bounds: any finite number

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (low is not None and (value <= low if low_open else value < low)) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text!r} must be {rule}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


positive_int = number(int, 1)
"""1 or more."""
non_negative_int = number(int, 0)
positive_float = number(float, 0.0, low_open=True)
non_negative_float = number(float, 0.0)
unit_float = number(float, 0.0, 1.0)
"""A share: 0 to 1."""


class Parser(argparse.ArgumentParser):
    """argparse with errors on one line (argparse prints the whole usage block first), and no abbreviated
    options: `--episodes` must not quietly mean `--episodes-out`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
