"""Command-line parsing shared by the tools: a bad command line is one line and exit 2, like emocam's."""
from __future__ import annotations

import argparse
import functools
import math
import sys
from typing import Callable, NoReturn

from emocam.errors import EmocamError


class ToolParser(argparse.ArgumentParser):
    """argparse without the usage block on errors: `PROG: error: MESSAGE (see --help)`, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_number(text: str) -> float:
    """An argparse type: a finite number above 0 (NaN and infinity are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def one_line_errors(prog: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorates a tool's `main`: a bad input (EmocamError) is one line `PROG: error: MESSAGE` and exit 2."""

    def decorate(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def wrapper(*args, **kwargs) -> int:
            try:
                return main(*args, **kwargs)
            except EmocamError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2

        return wrapper

    return decorate


def frame_sizes(text: str, smallest: int) -> list[tuple[int, int]]:
    """'640x480,320x240' -> [(640, 480), (320, 240)]: each side at least `smallest` and a multiple of 4 (the
    networks downsample by 4); EmocamError in one line otherwise."""
    from emocam.errors import EmocamError

    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise EmocamError(f"--sizes {text!r}: use WIDTHxHEIGHT,...") from None
    if not sizes or any(len(s) != 2 or min(s) < smallest or s[0] % 4 or s[1] % 4 for s in sizes):
        raise EmocamError(f"--sizes {text!r}: each WIDTHxHEIGHT at least {smallest}x{smallest}, multiples of 4")
    return sizes  # type: ignore[return-value]
