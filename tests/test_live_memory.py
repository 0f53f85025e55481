"""The live app keeps big blocks (frames, encoder buffers) mmapped, so freeing them gives the memory back.

Without `keep_big_blocks_mapped`, glibc raises its mmap threshold on the first free of a big block, and the
next 1.1 MB frame comes from an arena, where it stays resident after it is freed: the live window grew about
1 MB per recording that way (see emocam/live/memory.py and tools/soak/run.py for the measurement)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import ctypes, ctypes.util, sys
    import numpy as np

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = Info
    if sys.argv[1] == "fixed":
        from emocam.live.controller import Controller
        from emocam.settings import Settings
        Controller(Settings(device="cpu"), make_pipeline=lambda *a, **k: None)  # what the live app starts with
    mapped = []
    for _ in range(3):
        frame = np.ones((528, 720, 3), np.uint8)  # one live frame of the soak's clip
        mapped.append(libc.mallinfo2().hblks)
        del frame
    print(mapped[1:] == [mapped[0]] * 2 and libc.mallinfo2().hblks == mapped[0] - 1)
""")


def _all_frames_mapped(mode: str) -> bool:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip() == "True"


def test_live_frames_stay_mapped_and_go_back_when_freed():
    if sys.platform != "linux":
        pytest.skip("glibc's allocator only")
    assert not _all_frames_mapped("default")  # glibc alone: after the first free the next frame is in an arena
    assert _all_frames_mapped("fixed")  # with the live app's setting every frame is mapped and given back
