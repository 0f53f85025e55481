"""`emocam render`: restyle a video, image or image folder by the emotions of the faces in it."""
from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from emocam import settings as schema
from emocam.errors import EmocamError
from emocam.pipeline.annotate import Annotator
from emocam.pipeline.loop import Processed, Sink, run_loop
from emocam.pipeline.pipeline import Pipeline
from emocam.pipeline.records import JsonRecordsSink
from emocam.pipeline.sinks import ImageSink, VideoSink
from emocam.pipeline.sources import IMAGE_SUFFIXES, SAMPLE_CLIP, Frame, ImageSource, Source, VideoFileSource, open_source
from emocam.settings import Settings

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv"}
# a decoded stream this much shorter than its header says is treated as truncated
TRUNCATION_TOLERANCE = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", type=Path, default=SAMPLE_CLIP, help="video, image or folder of images (default: the bundled sample clip)")
    parser.add_argument("-o", "--output", type=Path, help="output file (video or image) or folder (default: INPUT_NAME.emocam.mp4 here)")
    parser.add_argument("--json", type=Path, help="write one JSON record per frame (JSON Lines) to this file")
    schema.add_arguments(parser, schema.RENDER)


def default_output(source_path: Path, source: Source) -> Path:
    if source.kind == "video":
        return Path.cwd() / f"{source_path.stem}.emocam.mp4"
    if source_path.is_dir():
        return Path.cwd() / f"{source_path.name}.emocam"
    return Path.cwd() / f"{source_path.stem}.emocam.png"


def check_output(output: Path, source: Source, input_path: Path) -> None:
    """Refuse an output that cannot be written before any work is done."""
    if source.kind == "video" and output.suffix.lower() not in VIDEO_SUFFIXES:
        raise EmocamError(f"output {output} must end in one of {', '.join(sorted(VIDEO_SUFFIXES))} for a video input")
    if source.kind == "images" and not input_path.is_dir() and output.suffix.lower() not in IMAGE_SUFFIXES:
        raise EmocamError(f"output {output} must be an image file ({', '.join(sorted(IMAGE_SUFFIXES))}) for an image input")
    if output.resolve() == input_path.resolve():
        raise EmocamError("output would overwrite the input")
    parent = output if input_path.is_dir() else output.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise EmocamError(f"cannot write to {parent}: not a writable folder")


def partial_path(output: Path) -> Path:
    """Where a video is written while it renders: a playable file, renamed to `output` only when complete."""
    return output.with_name(f"{output.stem}.partial{output.suffix}")


def run(args: argparse.Namespace) -> int:
    settings, _ = schema.from_args(args, Settings.for_surface(schema.RENDER))
    source = open_source(args.input)
    try:
        output = args.output or default_output(args.input, source)
        check_output(output, source, args.input)
        if source.kind == "video":
            return _render_video(source, output, settings, args.json)
        return _render_images(source, output, settings, args)
    finally:
        source.close()


def pipeline_step(pipeline: Pipeline, settings: Settings, still: bool = False):
    """The per-frame step of a render: the pipeline, then the overlay when asked for."""
    annotator = Annotator() if settings.overlay else None

    def step(frame: Frame) -> Processed:
        if still:
            pipeline.reset()  # unrelated photos: no smoothing, fading or holding from one to the next
        result = pipeline.process(frame.image, 0.0 if still else frame.time)
        image = annotator.annotate(result.output, result.faces) if annotator else result.output
        return Processed(frame, result, image)

    return step


def _progress(total: int | None, unit: str):
    bar = tqdm(total=total or None, unit=unit, desc="render", dynamic_ncols=True, disable=None)

    def done(item: Processed) -> None:
        bar.set_postfix_str(item.result.emotion, refresh=False)
        bar.update(1)

    return bar, done


def _json_sink(path: Path | None) -> list[Sink]:
    if path is None:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    return [JsonRecordsSink(path)]


def _close(sinks: list[Sink]) -> None:
    errors = []
    for sink in sinks:
        try:
            sink.close()
        except EmocamError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def _render_video(source: VideoFileSource, output: Path, settings: Settings, json_path: Path | None) -> int:
    pipeline = Pipeline(settings, video_mode=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(output)
    video = VideoSink(partial, source.size, source.rate or source.fps, audio=source.audio, time_base=source.video.time_base)
    sinks: list[Sink] = [video]
    bar, done = _progress(source.frame_count, "frame")
    try:
        sinks += _json_sink(json_path)
        run_loop(source.frames(on_audio=video.write_audio), pipeline_step(pipeline, settings), sinks, on_done=done)
    except (KeyboardInterrupt, EmocamError) as exc:
        _close(sinks)
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        if video.frames_written == 0:
            partial.unlink(missing_ok=True)
            raise EmocamError(reason) from None
        raise EmocamError(f"{reason}; the {video.frames_written} frames rendered so far are playable in {partial}") from None
    finally:
        bar.close()
        pipeline.close()
    _close(sinks)
    count, expected = video.frames_written, source.frame_count
    if expected and count < expected * (1 - TRUNCATION_TOLERANCE) - 1:
        raise EmocamError(f"{source.path} ends early: decoded {count} of {expected} frames (truncated?); partial output in {partial}")
    os.replace(partial, output)
    print(f"wrote {output} ({count} frames, {source.size[0]}x{source.size[1]}, {source.fps:.3g} fps, "
          f"audio {'copied' if source.audio else 'none'}, devices {pipeline.devices})")
    return 0


def _render_images(source: ImageSource, output: Path, settings: Settings, args: argparse.Namespace) -> int:
    pipeline = Pipeline(replace(settings, blend_s=0.0, hold_s=0.0), video_mode=False)
    folder = len(source.paths) > 1 or args.input.is_dir()
    images = ImageSink(output, folder=folder)
    sinks: list[Sink] = [images]
    bar, done = _progress(source.frame_count, "image")
    try:
        sinks += _json_sink(args.json)
        run_loop(source.frames(), pipeline_step(pipeline, settings, still=True), sinks, on_done=done)
    finally:
        bar.close()
        pipeline.close()
        _close(sinks)
    print(f"wrote {output} ({images.frames_written} image{'s' if images.frames_written != 1 else ''})")
    return 0
