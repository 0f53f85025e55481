"""Scratch folders for chunks a worker renders, named after the worker so a later worker on the same machine
can remove what a killed one left behind (a SIGKILLed process runs no clean-up of its own)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "emocam-chunk-"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", os.uname().nodename)


def host_prefix() -> str:
    """The prefix of every worker's scratch folders on this machine: emocam-chunk-HOST-."""
    return f"{PREFIX}{_host()}-"


def prefix() -> str:
    """The prefix of this process's scratch folders: emocam-chunk-HOST-PID-."""
    return f"{host_prefix()}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders of workers on this machine whose process is gone; returns what went."""
    root = Path(root or tempfile.gettempdir())
    pattern = re.compile(rf"{re.escape(host_prefix())}(\d+)-")
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
