"""The batch progress bar: frames of finished chunks plus what workers report, forward only, never past
the total."""
from __future__ import annotations

import io

from emocam.batch.report import BatchProgress


def test_bar_moves_forward_only_and_stops_at_the_total():
    out = io.StringIO()
    progress = BatchProgress(100, file=out, show=True)
    shown = []
    for step in (lambda: progress.flight(30),      # a worker is 30 frames into its chunk
                 lambda: progress.chunk_done(50),  # that chunk (50 frames) finished; the last poll counted 30 of it
                 lambda: progress.flight(20),      # the next chunk is 20 frames in
                 lambda: progress.flight(10),      # a poll that missed a slow worker: the bar stays
                 lambda: progress.chunk_done(50),
                 lambda: progress.flight(40)):     # a retried chunk's frames counted again: capped
        step()
        shown.append(progress.bar.n)
    progress.close()
    assert shown == [30, 50, 70, 70, 100, 100]
    assert "100/100" in out.getvalue() and "frame/s" in out.getvalue()


def test_no_bar_off_a_terminal():
    out = io.StringIO()  # not a terminal
    progress = BatchProgress(10, file=out)
    progress.chunk_done(10)
    progress.close()
    assert out.getvalue() == ""
