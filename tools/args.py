"""Command-line parsing shared by the tools: a bad command line is one line and exit 2, like emocam's."""
from __future__ import annotations

import argparse
import math
from typing import NoReturn


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
