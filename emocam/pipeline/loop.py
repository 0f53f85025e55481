"""The one frame loop: source -> step -> sinks. Render, bench, the live app and batch rendering all use it.

Decoding, the pipeline step and encoding each cost real time; run one after another they add up (a render
ran at ~5 fps where the step alone allowed ~8). So a reader thread decodes ahead into a bounded queue, the
calling thread runs the step, and a writer thread hands results to the sinks from a second bounded queue:
the three overlap while memory stays bounded. A step may return a future of its result (the live step styles
on a thread of its own): the writer waits for each in order. With `latest_only` (the live view) the reader
keeps just the newest frame, so a step slower than the camera drops stale frames instead of building up
latency.
An error in any of the three threads stops the others and is raised in the caller, as is Ctrl-C.
"""
from __future__ import annotations

import queue
import threading
import time as clock
from collections import deque
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np

from emocam.pipeline.pipeline import FrameResult
from emocam.io.sources import Frame

_END = object()


@dataclass
class Processed:
    """One frame after the step: the source frame, what the pipeline made of it, and the image outputs get."""

    frame: Frame
    result: FrameResult | None  # None where the step had no pipeline (the live view shows raw video then)
    image: np.ndarray


class Sink(Protocol):
    """An output: a video file, images, JSON records, the live recorder, the virtual camera, the window."""

    def write(self, item: Processed) -> None: ...

    def close(self) -> None: ...


@dataclass
class LoopStats:
    """Per-stage milliseconds of every frame, and the frame count."""

    read_ms: list[float] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    frames: int = 0
    dropped: int = 0  # frames the live reader replaced before the step took them


def run_loop(
    frames: Iterable[Frame],
    step: Callable[[Frame], "Processed | Future[Processed]"],
    sinks: Sequence[Sink],
    *,
    queue_size: int = 4,
    latest_only: bool = False,
    stop: threading.Event | None = None,
    on_done: Callable[[Processed], None] | None = None,
    keep_last: int | None = None,
) -> LoopStats:
    """Run every frame of `frames` through `step` and write each result to every sink, in order.

    Returns when the frames end or `stop` is set. Sinks are not closed here: their owner decides (a render
    renames its file only after a clean close). `on_done` runs on the writer thread after the sinks."""
    stop = stop or threading.Event()
    stats = LoopStats()
    if keep_last:  # a loop that runs for hours (the live view) keeps only the newest frames' timings
        stats.read_ms, stats.step_ms, stats.write_ms = (deque(maxlen=keep_last) for _ in range(3))
    errors: list[BaseException] = []
    inbox: queue.Queue = queue.Queue(maxsize=1 if latest_only else queue_size)
    outbox: queue.Queue = queue.Queue(maxsize=queue_size)

    def put(q: queue.Queue, item: object, replace: bool = False) -> None:
        while not stop.is_set():
            if replace:
                try:
                    q.get_nowait()
                    stats.dropped += 1
                except queue.Empty:
                    pass
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            iterator = iter(frames)
            while not stop.is_set():
                started = clock.perf_counter()
                frame = next(iterator, _END)
                if frame is _END:
                    break
                stats.read_ms.append((clock.perf_counter() - started) * 1000)
                put(inbox, frame, replace=latest_only)
        except BaseException as exc:  # noqa: BLE001 (handed to the caller's thread)
            errors.append(exc)
        finally:
            put(inbox, _END)

    def write() -> None:
        try:
            while True:
                item = outbox.get()
                if item is _END:
                    return
                if isinstance(item, Future):  # a step that finishes frames on a thread of its own
                    item = item.result()
                started = clock.perf_counter()
                for sink in sinks:
                    sink.write(item)
                stats.write_ms.append((clock.perf_counter() - started) * 1000)
                if on_done is not None:
                    on_done(item)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            stop.set()
            _drain(outbox)

    reader = threading.Thread(target=read, name="emocam-read", daemon=True)
    writer = threading.Thread(target=write, name="emocam-write", daemon=True)
    reader.start()
    writer.start()
    last: object = None
    try:
        while not stop.is_set() and not errors:
            try:
                frame = inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if frame is _END:
                break
            started = clock.perf_counter()
            item = last = step(frame)
            stats.step_ms.append((clock.perf_counter() - started) * 1000)
            stats.frames += 1
            put(outbox, item)
    except BaseException:
        stop.set()
        raise
    finally:
        if isinstance(last, Future):  # on every way out, nothing is left running on the step's networks
            wait([last])  # (a step styles one frame at a time: this is the last one)
        if errors or stop.is_set():
            stop.set()
            _drain(inbox)
        while writer.is_alive():  # the writer finishes what is queued (a partial render keeps those frames)
            try:
                outbox.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue
        writer.join()
        reader.join(timeout=5)
    if errors:
        raise errors[0]
    return stats


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
