"""Chunk scratch folders: a worker removes what killed workers on its machine left, and nothing else."""
from __future__ import annotations

import os
import subprocess
import sys

from emocam.batch import scratch


def test_sweep_removes_only_folders_of_dead_workers(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process that has ended: its pid is free
    dead = tmp_path / f"{scratch.host_prefix()}{gone.pid}-abc"
    live = tmp_path / f"{scratch.prefix()}def"  # this process
    other_host = tmp_path / f"{scratch.PREFIX}elsewhere-{gone.pid}-ghi"  # another machine's: not ours to judge
    unrelated = tmp_path / f"something-{gone.pid}-jkl"
    for folder in (dead, live, other_host, unrelated):
        folder.mkdir()
        (folder / "chunk-00000.mp4").write_bytes(b"partial")
    assert scratch.sweep(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and other_host.exists() and unrelated.exists()
    assert str(os.getpid()) in live.name
