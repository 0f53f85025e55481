"""Threads the live app's background work starts keep the live view's priority where they also serve it: the
style thumbnails run the first network of a pack, and OpenVINO's worker threads, started then, go on to run the
live view's style network (see emocam/live/thumbnails.py). Where OpenVINO is not installed the same holds for
onnxruntime's threads."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import json, os, threading
    from emocam.live.pack_view import pack_info
    from emocam.live.thumbnails import ThumbnailWorker

    worker = ThumbnailWorker()
    worker.render(pack_info("default", {}), "cpu")  # the window's first job: the first network this process runs
    worker.thread.join(timeout=300)
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    others = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            others.add(os.getpriority(os.PRIO_PROCESS, int(tid)))
        except ProcessLookupError:  # a thread that ended meanwhile
            pass
    print(json.dumps({"main": main, "others": sorted(others), "thumbnails": len(worker.take())}))
""")


def test_the_style_networks_threads_keep_the_live_views_priority():
    if sys.platform != "linux":
        pytest.skip("per-thread priorities are Linux's")
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["thumbnails"] == 26  # the job really ran the network
    assert found["others"] == [found["main"]]  # no thread, OpenVINO's included, left at a lowered priority
