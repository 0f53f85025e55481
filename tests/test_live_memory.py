"""The live app's allocator setting: threads share arenas (a recording's threads leave no arena of their own
behind) and big blocks are reused, not mapped anew for every frame (see emocam/live/memory.py, where the soak and
the live window's frame rate with each setting are measured)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import ctypes, ctypes.util, json, os, sys, tempfile, threading
    import numpy as np

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = Info
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    if sys.argv[1] == "live":
        from emocam.live.controller import Controller
        from emocam.settings import Settings
        Controller(Settings(device="cpu"), make_pipeline=lambda *a, **k: None)  # what the live app starts with

    def heaps():
        path = tempfile.mktemp()
        handle = libc.fopen(path.encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        text = open(path).read()
        os.unlink(path)
        return text.count("<heap nr=")

    def recording():  # a recording's thread: frames made and freed while the live view holds its own
        for _ in range(5):
            frame = np.ones((528, 720, 3), np.uint8)
            del frame

    held = [np.ones((528, 720, 3), np.uint8)]
    for _ in range(6):
        thread = threading.Thread(target=recording)
        thread.start()
        thread.join()
    mapped, base = [], libc.mallinfo2().hblks
    for _ in range(4):  # one stage's float temporary, frame after frame
        temporary = np.ones((480, 640, 3), np.float32)
        mapped.append(libc.mallinfo2().hblks - base)
        del temporary
    print(json.dumps({"heaps": heaps(), "mapped_after_first": mapped[1:]}))
""")


def _probe(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_recording_threads_share_arenas_and_big_blocks_are_reused():
    if sys.platform != "linux":
        pytest.skip("glibc's allocator only")
    default, live = _probe("default"), _probe("live")
    assert default["heaps"] > 1  # glibc alone: a thread that allocates gets an arena of its own
    assert live["heaps"] == 1  # the live app's setting: every thread allocates from the one shared arena
    assert live["mapped_after_first"] == [0, 0, 0]  # a freed 3.7 MB temporary is reused, not mapped again
