"""`emocam render IN1 IN2 ... -o OUTDIR`: many videos, and long ones in chunks, on Ray or one after another.

The driver plans every input (its output name, its chunks, what the journal says is finished), hands
the missing chunks to an engine (Ray actors, or this process without Ray), stores each finished chunk
and records it in the journal, joins a file's chunks once all are in, and reports. One broken input
fails only itself; the exit status is 2 if any input failed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emocam.batch import inputs as batch_inputs
from emocam.batch.chunks import ChunkSpec, auto_warmup, plan_chunks, probe
from emocam.batch.join import join_chunks
from emocam.batch.journal import Journal, count_frames, sha256
from emocam.batch.local_engine import CLUSTER_HINT, LocalEngine
from emocam.batch.options import check_args
from emocam.batch.report import REPORT_NAME, BatchProgress, BatchReport, FileReport
from emocam.batch.worker import ChunkResult
from emocam.io.skipped import SkippedPackets
from emocam.io import output_paths
from emocam.errors import EmocamError
from emocam.io.sources import VideoFileSource
from emocam.settings import Settings


@dataclass
class Job:
    """One input file and what is left to do for it."""

    input: Path
    name: str  # output file name
    output: Path
    report: FileReport
    chunks: list[ChunkSpec] = field(default_factory=list)
    left: set[int] = field(default_factory=set)  # chunk indexes not finished yet


def _load_ray():
    try:
        import ray
    except ImportError:
        return None
    return ray


def _output_key(path: Path, settings: Settings, records: bool) -> str:
    """What shapes an output: the input file (size, modification time) and every setting."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise EmocamError(f"cannot read {path}: {exc.strerror}") from None
    what = {"input": os.path.realpath(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns,
            "settings": asdict(settings), "records": records}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


class BatchRun:
    """Plans, renders and joins; owns the journal and the report."""

    def __init__(self, args: argparse.Namespace, settings: Settings, outdir: Path) -> None:
        self.settings, self.outdir = settings, outdir
        self.records_dir = Path(args.json) if args.json else None
        self.journal = Journal(outdir)
        self.ray = _load_ray()
        self.chunk_s = args.chunk_seconds if self.ray else math.inf  # without Ray: one file at a time
        self.warmup_s = args.warmup if args.warmup is not None else auto_warmup(settings)
        self.jobs: list[Job] = []
        self.by_path: dict[str, Job] = {}

    # -- planning ----------------------------------------------------------------------------------------------
    def plan(self, inputs: list[Path], report: BatchReport) -> list[ChunkSpec]:
        """Every input's job; returns the chunks still to render."""
        todo: list[ChunkSpec] = []
        for path, name in batch_inputs.output_names(inputs).items():
            job = Job(path, name, self.outdir / name, FileReport(str(path), str(self.outdir / name)))
            self.jobs.append(job)
            report.files.append(job.report)
            try:
                todo += self._plan_one(job)
            except EmocamError as exc:
                self._fail(job, str(exc), journal=False)
        return todo

    def _plan_one(self, job: Job) -> list[ChunkSpec]:
        if not os.path.exists(job.input):
            raise EmocamError(f"input not found: {job.input}")
        output_key = _output_key(job.input, self.settings, bool(self.records_dir))
        if self.journal.finished_file(job.name, job.output, output_key):
            entry = self.journal.files[job.name]
            job.report.status, job.report.frames = "skipped", entry["frames"]
            return []
        if os.path.lexists(job.output) and not self.journal.owns(job.name):
            raise EmocamError(f"{job.output} exists and was not made by this batch; move it or choose another -o")
        output_paths.plan_outputs([job.input], job.output, video=True)
        video = probe(Path(os.path.abspath(job.input)))  # workers on other machines need the full path
        source = VideoFileSource(job.input)  # the checks a single render makes (text, no video, sizes) ...
        try:  # ... and its check for a file that ends before its header says
            times = [float(pts * video.time_base) for pts in video.pts]
            source._check_complete(video.frames, times[-1], max((b - a for a, b in zip(times, times[1:])), default=0.0))
        finally:
            source.close()
        job.chunks = plan_chunks(video, self.chunk_s, self.warmup_s)
        self.journal.start(job.name, str(job.input), output_key, f"{output_key}:{self.chunk_s}:{self.warmup_s}")
        job.report.chunks = len(job.chunks)
        self.by_path[str(video.path)] = job
        todo = []
        for spec in job.chunks:
            if self.journal.finished_chunk(job.name, spec.index) and self._records_kept(job, spec.index):
                job.report.chunks_reused += 1
            else:
                job.left.add(spec.index)
                todo.append(spec)
        return todo

    def _records_kept(self, job: Job, index: int) -> bool:
        return not self.records_dir or self.journal.chunk_path(job.name, index, ".jsonl").is_file()

    # -- results -------------------------------------------------------------------------------------------------
    def wanted(self, spec: ChunkSpec) -> bool:
        return self.by_path[spec.path].report.status == "pending"

    def on_result(self, spec: ChunkSpec, result: ChunkResult | None, error: str | None,
                  progress: BatchProgress) -> None:
        job = self.by_path[spec.path]
        if job.report.status != "pending":
            return
        if error is not None:
            self._fail(job, error)
            progress.say(f"failed  {job.input}: {error}")
            return
        self._store_chunk(job, result)
        progress.chunk_done(result.frames)
        if not job.left:
            self.finish(job, progress)

    def _store_chunk(self, job: Job, result: ChunkResult) -> None:
        """Write the chunk under a scratch name, rename, then record it (a kill in between redoes it)."""
        started = time.perf_counter()
        target = self.journal.chunk_path(job.name, result.index)
        target.parent.mkdir(parents=True, exist_ok=True)
        if result.records is not None:
            records = self.journal.chunk_path(job.name, result.index, ".jsonl")
            scratch = records.with_name(f".{records.name}.tmp")
            scratch.write_text(result.records, encoding="utf-8")
            os.replace(scratch, records)
        scratch = target.with_name(f".{target.name}.tmp")
        scratch.write_bytes(result.data)
        os.replace(scratch, target)
        self.journal.chunk_done(job.name, result.index, result.frames, sha256(target), result.skipped_video)
        job.left.discard(result.index)
        job.report.chunks_rendered += 1
        job.report.seconds += result.seconds
        job.report.driver_seconds += time.perf_counter() - started
        spec = job.chunks[result.index]
        job.report.chunk_stats.append({
            "index": result.index, "frames": result.frames, "warmup_frames": spec.warmup_frames,
            "open_s": round(result.open_s, 3), "warmup_s": round(result.warmup_s, 3),
            "seconds": round(result.seconds, 3), "worker": result.worker})

    def finish(self, job: Job, progress: BatchProgress) -> None:
        """Join the chunks (no re-encoding) with the source's audio, check, rename, record."""
        started = time.perf_counter()
        partial = output_paths.partial_path(job.output)
        chunks = [(self.journal.chunk_path(job.name, c.index), c.start_pts) for c in job.chunks]
        skipped = SkippedPackets(video=self.journal.skipped_video(job.name))
        try:
            frames = join_chunks(job.input, chunks, partial, skipped)
            expected = sum(c.frames for c in job.chunks) - skipped.video
            if frames != expected or count_frames(partial) != expected:
                raise EmocamError(f"joining {job.input} gave {frames} frames, expected {expected}")
            self._join_records(job)
            os.replace(partial, job.output)
        except EmocamError as exc:
            partial.unlink(missing_ok=True)
            self._fail(job, str(exc))
            progress.say(f"failed  {job.input}: {exc}")
            return
        job.report.join_seconds = round(time.perf_counter() - started, 3)
        job.report.driver_seconds = round(job.report.driver_seconds + job.report.join_seconds, 3)
        job.report.seconds = round(job.report.seconds + job.report.join_seconds, 2)
        job.report.status, job.report.frames = "done", frames
        job.report.skipped_packets = skipped.as_record()
        job.report.fps = round(frames / job.report.seconds, 2) if job.report.seconds else 0.0
        self.journal.file_done(job.name, frames, sha256(job.output), job.report.seconds)
        folder = self.journal.chunk_folder(job.name)
        for path in folder.glob("chunk-*"):
            path.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass
        note = f"; {skipped.describe()}" if skipped.describe() else ""
        progress.say(f"done    {job.input} -> {job.output} ({frames} frames, {job.report.seconds:.1f} s, "
                     f"{job.report.fps:.1f} fps{note})")

    def _join_records(self, job: Job) -> None:
        if not self.records_dir:
            return
        self.records_dir.mkdir(parents=True, exist_ok=True)
        target = self.records_dir / f"{Path(job.name).stem}.jsonl"
        scratch = output_paths.json_partial_path(target)
        with open(scratch, "w", encoding="utf-8") as out:
            for spec in job.chunks:
                out.write(self.journal.chunk_path(job.name, spec.index, ".jsonl").read_text(encoding="utf-8"))
        os.replace(scratch, target)

    def _fail(self, job: Job, error: str, journal: bool = True) -> None:
        job.report.status, job.report.error = "failed", error.replace("\n", " ")
        if journal and self.journal.owns(job.name):
            self.journal.file_failed(job.name, job.report.error)


def run(args: argparse.Namespace, settings: Settings) -> int:
    outdir = check_args(args)
    inputs = batch_inputs.expand([str(p) for p in args.input])
    batch = BatchRun(args, settings, outdir)
    records = batch.records_dir is not None
    if batch.ray is None:
        if args.ray_address:
            raise EmocamError(f"--ray-address needs Ray: pip install -e \".[cluster]\" (or pip install \"emocam[cluster]\")")
        print(f"emocam: note: {CLUSTER_HINT}", file=sys.stderr)
        engine = LocalEngine(settings, records)
    else:
        from emocam.batch.ray_engine import RayEngine

        engine = RayEngine(batch.ray, settings, records, args.workers, args.ray_address)
    report = BatchReport(engine.description)
    todo = batch.plan(inputs, report)
    progress = BatchProgress(sum(c.frames for c in todo))
    try:
        for job in batch.jobs:  # every chunk finished by an earlier run: only the join is left
            if job.report.status == "pending" and not job.left:
                batch.finish(job, progress)
        engine.run(todo, lambda spec, result, error: batch.on_result(spec, result, error, progress),
                   progress.flight, batch.wanted)
    except KeyboardInterrupt:
        for job in batch.jobs:
            if job.report.status == "pending":
                job.report.status, job.report.error = "interrupted", "interrupted; run the same command again to finish"
        raise
    finally:
        progress.close()
        engine.close()
        report.worker_load_seconds = [round(s, 2) for s in engine.load_s]
        report.frames_rendered = sum(j.report.frames for j in batch.jobs if j.report.status == "done")
        report.write(outdir / REPORT_NAME)
        print(report.table())
        print(f"report: {outdir / REPORT_NAME}")
    return 2 if report.failed else 0
