"""Chunks on Ray: one actor per worker holds the loaded networks and renders chunk after chunk.

Ray restarts an actor whose process dies (`max_restarts`) and runs the chunk it was rendering again
(`max_task_retries`), so a killed worker or node costs only that chunk. An error in the input itself
(a damaged file) is not retried: it is the same every time, and it fails only that file.
Each actor has a second thread (concurrency group "poll") so the driver can ask how far its chunk got.
"""
from __future__ import annotations

import logging
import os
import signal
import warnings
from collections import deque
from typing import Sequence

from emocam.batch import ray_address
from emocam.batch.chunks import ChunkSpec
from emocam.batch.local_engine import OnProgress, OnResult, Wanted
from emocam.batch.worker import ChunkRenderer, ChunkResult
from emocam.errors import EmocamError
from emocam.settings import Settings

RESTARTS = 3  # per actor; each restart loads the networks again
CHUNK_ATTEMPTS = 3  # per chunk, on top of Ray's own retries, when an actor is gone for good
QUEUED_PER_WORKER = 2  # one rendering, one waiting: a worker never idles while the driver joins a file
WORKER_MEMORY = 1.5e9  # bytes a CPU worker needs (networks, decoder, frames in flight)
CPUS_PER_WORKER = 2  # decode, step and encode threads overlap; onnxruntime uses the rest
CLIENT_ATTEMPTS = 3  # Ray Client connections (--ray-address ray://) tried before giving up
KILL_ONCE_ENV = "EMOCAM_TEST_KILL_WORKER_ONCE"  # tests only: a marker path; the first worker to create it is killed


class ChunkActor:
    """What each Ray worker runs (wrapped by `ray.remote` at start-up)."""

    def __init__(self, settings: Settings, records: bool) -> None:
        self.renderer = ChunkRenderer(settings, records)
        self.current: tuple[str, int] | None = None
        self.frames = 0

    def hello(self) -> tuple[float, str]:
        return self.renderer.load_s, self.renderer.name

    def render(self, spec: ChunkSpec) -> ChunkResult:
        self.current, self.frames = (spec.path, spec.index), 0

        def progress(kept: int) -> None:
            self.frames = kept
            if kept == max(1, spec.frames // 2):
                _kill_once_for_tests()

        try:
            return self.renderer.render(spec, progress)
        finally:
            self.current = None

    def progress(self) -> int:
        """Frames done of the chunk being rendered now (0 between chunks)."""
        return self.frames if self.current is not None else 0


def _kill_once_for_tests() -> None:
    """A real crash for the fault-tolerance test: SIGKILL this worker half way through a chunk, once. The
    marker keeps the killed worker's PID, so the test looks for that worker's scratch folders only."""
    marker = os.environ.get(KILL_ONCE_ENV)
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def start(ray, address: str | None) -> bool:
    """Join `address`, or start a local Ray sized to this machine (Ray counts cores, memory and GPUs).
    Returns whether this process started Ray (and so shuts it down)."""
    if ray.is_initialized():
        return False
    logging.getLogger("ray").setLevel(logging.ERROR)  # Ray's start-up notices would break the one-line stderr
    where = _where(address)
    options = dict(log_to_driver=False, configure_logging=False)
    if not address:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        # "local": a new instance even when `ray start` left a cluster running on this machine
        options.update(address="local", num_cpus=cores, include_dashboard=False)
    else:
        options.update(address=address)
        _check_answers(address, where)
    attempts = CLIENT_ATTEMPTS if address and address.startswith(ray_address.CLIENT_PREFIX) else 1
    for attempt in range(1, attempts + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Ray Client warns before it raises; the error says it once
                ray.init(**options)
            return True
        except ConnectionAbortedError as exc:
            # Ray Client's per-connection server sometimes dies as it starts ("Initialization failure from
            # server"); the next connection gets a new one
            if attempt == attempts:
                raise EmocamError(f"cannot reach {where}: {_first_line(exc)} ({attempts} tries)") from None
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            raise EmocamError(f"cannot start or reach {where}: {_first_line(exc)}") from None
    return True


def _check_answers(address: str, where: str) -> None:
    """Fail in one line, at once, when nothing listens at the address (Ray itself keeps retrying for
    minutes, deaf to Ctrl-C)."""
    try:
        host, port = ray_address.endpoint(address)
    except ValueError as exc:
        raise EmocamError(f"cannot reach {where}: {exc}") from None
    problem = ray_address.unanswered(host, port)
    if problem:
        raise EmocamError(f"cannot reach {where}: nothing answers at {host}:{port} ({problem})")


def _where(address: str | None) -> str:
    return f"the Ray cluster at {address}" if address else "a local Ray instance"


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(exc).__name__


def default_workers(resources: dict, device: str) -> tuple[int, bool]:
    """(workers, each on a GPU): one per GPU, else one per CPUS_PER_WORKER cores that memory allows."""
    gpus = int(resources.get("GPU", 0))
    if gpus and device in ("auto", "cuda"):  # Ray's GPUs are CUDA devices
        return gpus, True
    cpus = int(resources.get("CPU", 1))
    by_memory = int(resources.get("memory", WORKER_MEMORY) // WORKER_MEMORY)
    return max(1, min(cpus // CPUS_PER_WORKER, by_memory)), False



def _grouped(ray):
    """ChunkActor with rendering and progress polls in their own concurrency groups, declared on the methods
    (Ray Client, `--ray-address ray://`, refuses `.options(concurrency_group=...)` on a call)."""

    class GroupedChunkActor(ChunkActor):
        @ray.method(concurrency_group="render")
        def render(self, spec: ChunkSpec) -> ChunkResult:
            return ChunkActor.render(self, spec)

        @ray.method(concurrency_group="poll")
        def progress(self) -> int:
            return ChunkActor.progress(self)

    return GroupedChunkActor

class RayEngine:
    """Actors on a local or remote Ray cluster; chunks go to whichever actor has room."""

    def __init__(self, ray, settings: Settings, records: bool, workers: int | None, address: str | None) -> None:
        self.ray = ray
        self.started = start(ray, address)
        resources = ray.cluster_resources()
        default, on_gpu = default_workers(resources, settings.device)
        # never more actors than the cluster can place: a worker left waiting for a CPU would hold its chunks
        room = int(resources.get("GPU", 0)) if on_gpu else int(resources.get("CPU", 1))
        self.workers = max(1, min(workers or default, room))
        self.capped = (workers or default) > self.workers
        remote = ray.remote(max_restarts=RESTARTS, max_task_retries=RESTARTS,
                            concurrency_groups={"render": 1, "poll": 1})(_grouped(ray))
        remote = remote.options(num_cpus=1, num_gpus=1 if on_gpu else 0)
        self.actors = [remote.remote(settings, records) for _ in range(self.workers)]
        where = _where(address)
        self.description = (f"{self.workers} Ray worker{'s' * (self.workers > 1)}{' on GPUs' if on_gpu else ''} on {where}"
                            + (f" (--workers {workers}: the cluster has room for {room})" if self.capped else ""))
        self.load_s: list[float] = []

    def run(self, specs: Sequence[ChunkSpec], on_result: OnResult, on_progress: OnProgress, wanted: Wanted) -> None:
        ray = self.ray
        todo: deque[tuple[ChunkSpec, int]] = deque((spec, 1) for spec in specs)
        inflight: dict = {}  # ref -> (spec, attempt, actor index)
        hellos = {actor.hello.remote(): actor for actor in self.actors}
        alive = set(range(len(self.actors)))
        while todo or inflight:
            for index in sorted(alive):
                while todo and sum(1 for v in inflight.values() if v[2] == index) < QUEUED_PER_WORKER:
                    spec, attempt = todo.popleft()
                    if wanted(spec):
                        inflight[self.actors[index].render.remote(spec)] = (spec, attempt, index)
            if not inflight:
                break
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
            for ref in ready:
                spec, attempt, index = inflight.pop(ref)
                result, error = self._outcome(ref, spec, attempt, index, todo, alive)
                if result is not None or error is not None:
                    on_result(spec, result, error)
            self._collect_hellos(hellos)
            on_progress(self._frames_in_flight(inflight))
        self._collect_hellos(hellos, timeout=1.0)
        if not alive and todo:
            raise EmocamError("every Ray worker died; see the Ray logs (ray status, /tmp/ray/session_latest/logs)")

    def _outcome(self, ref, spec, attempt, index, todo, alive) -> tuple[ChunkResult | None, str | None]:
        """The chunk's result, its input error, or (None, None) when it was queued again."""
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref), None
        except exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, EmocamError):
                return None, str(cause)
            return None, f"worker error: {str(cause or exc).splitlines()[0]}"
        except (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.ObjectLostError) as exc:
            if getattr(exc, "actor_init_failed", False):  # it could not load the models: neither can the others
                raise EmocamError(_start_failure(exc)) from None
            alive.discard(index)  # out of restarts: its chunks go to the others
            if attempt < CHUNK_ATTEMPTS and alive:
                todo.appendleft((spec, attempt + 1))
                return None, None
            return None, f"chunk {spec.index} lost {attempt} times with its worker: {str(exc).splitlines()[0]}"

    def _collect_hellos(self, hellos: dict, timeout: float = 0.0) -> None:
        """Each worker's model load time, as workers come up."""
        if not hellos:
            return
        ready, _ = self.ray.wait(list(hellos), num_returns=len(hellos), timeout=timeout)
        for ref in ready:
            hellos.pop(ref)
            try:
                self.load_s.append(self.ray.get(ref)[0])
            except self.ray.exceptions.RayError:
                pass

    def _frames_in_flight(self, inflight: dict) -> int:
        """Frames the actors report for the chunks they are rendering right now."""
        busy = {v[2] for v in inflight.values()}
        refs = [self.actors[i].progress.remote() for i in busy]
        if not refs:
            return 0
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0.2)
        total = 0
        for ref in ready:
            try:
                total += self.ray.get(ref)
            except self.ray.exceptions.RayError:
                pass
        return total

    def close(self) -> None:
        """Shut down the Ray this run started (its actors go with it); on a Ray someone else started,
        end this run's actors so their CPUs and GPUs are free again."""
        if self.started:
            self.ray.shutdown()
            return
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 (already gone)
                pass


def _start_failure(exc: Exception) -> str:
    """The one line a worker that could not start gives: its EmocamError's own text (a missing or damaged model,
    a bad pack), found in the traceback Ray carries back, or Ray's first line."""
    text = str(exc)
    marker = "EmocamError: "
    lines = [line.split(marker, 1)[1].strip() for line in text.splitlines() if marker in line]
    return lines[-1] if lines else f"a Ray worker could not start: {text.splitlines()[0]}"
