"""A MediaPipe owner nobody closed, freed by the cycle collector, is closed without hanging the process.

Before: MediaPipe's own finaliser asked its executor, already gone with the same garbage cycle, to close the
task, and the process waited forever (the test suite hung in an unrelated test when the collector ran)."""
from __future__ import annotations

import subprocess
import sys

CODE = """
import gc, time
from emocam.pipeline import faces
from emocam.pipeline.segmentation import PersonSegmenter
owners = [faces.FaceDetector("short", 0.5, True), PersonSegmenter(video_mode=True)]
for owner in owners:
    owner.cycle = owner  # garbage that only the cycle collector frees
del owners, owner
gc.collect()
segmenters = lambda: [t for t in faces._live_tasks if type(t).__name__ == "ImageSegmenter"]
deadline = time.time() + 60
while segmenters() and time.time() < deadline:
    time.sleep(0.05)
print("open segmenters left:", len(segmenters()))
"""


def test_an_unclosed_segmenter_in_a_cycle_is_closed_and_nothing_hangs():
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "open segmenters left: 0" in done.stdout
