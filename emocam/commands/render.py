"""`emocam render`: restyle a video, image or image folder by the emotions of the faces in it."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from emocam import settings as schema
from emocam.batch.inputs import wants_batch
from emocam.batch.options import add_arguments as add_batch_arguments
from emocam.commands import batch
from emocam.io import output_paths
from emocam.io.output_paths import OutputPlan
from emocam.errors import EmocamError
from emocam.pipeline.loop import Processed, Sink, run_loop
from emocam.pipeline.pipeline import Pipeline
from emocam.pipeline.step import pipeline_step
from emocam.pipeline.records import JsonRecordsSink
from emocam.io.remux import REMUX_SUFFIXES, remux_to_regular
from emocam.io.sinks import ImageSink, VideoSink
from emocam.io.skipped import SkippedPackets
from emocam.runtime import ran_line
from emocam.io.sources import IMAGE_SUFFIXES, SAMPLE_CLIP, ImageSource, Source, VideoFileSource, open_source
from emocam.settings import Settings

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv"}
# a decoded stream this much shorter than its header says is treated as truncated
TRUNCATION_TOLERANCE = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="*", type=Path, help="video, image or folder of images (default: the bundled "
                        "sample clip); several videos, a folder of videos, a glob or a .txt list render as a batch into -o OUTDIR")
    parser.add_argument("-o", "--output", type=Path, help="output file (video or image) or folder (default: INPUT_NAME.emocam.mp4 here)")
    parser.add_argument("--json", type=Path, help="write one JSON record per frame (JSON Lines) to this file")
    schema.add_arguments(parser, schema.RENDER)
    add_batch_arguments(parser)


def default_output(source_path: Path, source: Source) -> Path:
    if source.kind == "video":
        return Path.cwd() / f"{source_path.stem}.emocam.mp4"
    if source_path.is_dir():
        return Path.cwd() / f"{source_path.name}.emocam"
    return Path.cwd() / f"{source_path.stem}.emocam.png"


def check_output(output: Path, source: Source, input_path: Path, json_path: Path | None = None,
                 settings: Settings | None = None) -> OutputPlan:
    """Refuse an output that cannot be written before any work is done (see output_paths)."""
    if source.kind == "video" and output.suffix.lower() not in VIDEO_SUFFIXES:
        raise EmocamError(f"output {output} must end in one of {', '.join(sorted(VIDEO_SUFFIXES))} for a video input")
    if source.kind == "images" and not input_path.is_dir() and output.suffix.lower() not in IMAGE_SUFFIXES:
        raise EmocamError(f"output {output} must be an image file ({', '.join(sorted(IMAGE_SUFFIXES))}) for an image input")
    inputs = list(source.paths) if source.kind == "images" else [source.path]
    if settings is not None:  # the model and pack files are inputs too: never overwritten by --json
        inputs += [Path(settings.emotion_model)] if settings.emotion_model else []
        pack = Path(settings.pack)
        folder = pack.parent if pack.suffix == ".json" else pack
        inputs += sorted(folder.glob("*")) if folder.is_dir() else []
    folder_output = source.kind == "images" and (len(source.paths) > 1 or input_path.is_dir())
    return output_paths.plan_outputs(inputs, output, json_path, video=source.kind == "video", folder=folder_output)


def partial_path(output: Path) -> Path:
    """Where a video is written while it renders: a playable file, renamed to `output` only when complete."""
    return output_paths.partial_path(output)


def run(args: argparse.Namespace) -> int:
    settings, _ = schema.from_args(args, Settings.for_surface(schema.RENDER))
    if wants_batch([str(p) for p in args.input]):
        return batch.run(args, settings)
    args.input = args.input[0] if args.input else SAMPLE_CLIP
    source = open_source(args.input)
    try:
        output = args.output or default_output(args.input, source)
        plan = check_output(output, source, args.input, args.json, settings)
        if source.kind == "video":
            return _render_video(source, plan, settings)
        return _render_images(source, plan, settings, args)
    finally:
        source.close()


def _progress(total: int | None, unit: str):
    bar = tqdm(total=total or None, unit=unit, desc="render", dynamic_ncols=True, disable=None)

    def done(item: Processed) -> None:
        bar.set_postfix_str(item.result.emotion, refresh=False)
        bar.update(1)

    return bar, done


def _json_sink(plan: OutputPlan, skipped: SkippedPackets | None = None) -> list[Sink]:
    """Records go to `--json`'s partial name, renamed with the output when the render completes."""
    if plan.json_partial is None:
        return []
    output_paths.clear_scratch(plan.json_partial)
    return [JsonRecordsSink(plan.json_partial, skipped)]


def _finish(plan: OutputPlan, scratch: Path | None, audio_start: int | None = None) -> None:
    """Give the records and then the output their final names; a finished MP4 becomes a regular one
    (index at the front, which browsers and editors need) under the output name, or stays fragmented
    in `scratch` with one line saying so."""
    if plan.json_partial is not None and plan.json is not None:
        output_paths.finish(plan.json_partial, plan.json)
    if scratch is None:
        return
    if scratch.suffix.lower() in REMUX_SUFFIXES:
        remux_to_regular(scratch, plan.output, audio_start)
    else:
        output_paths.finish(scratch, plan.output)


def _close(sinks: list[Sink]) -> None:
    errors = []
    for sink in sinks:
        try:
            sink.close()
        except EmocamError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def _abandon(exc: BaseException, sinks: list[Sink]) -> str:
    """Close what was written so far (the first problem is the one reported) and say why the render stopped."""
    try:
        _close(sinks)
    except EmocamError:
        pass
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)


def _render_video(source: VideoFileSource, plan: OutputPlan, settings: Settings) -> int:
    output, partial = plan.output, plan.partial
    pipeline = Pipeline(settings, video_mode=True)
    output_paths.clear_scratch(partial)
    try:
        video = VideoSink(partial, source.size, source.rate or source.fps, audio=source.audio,
                          time_base=source.video.time_base, skipped=source.skipped)
    except BaseException:
        pipeline.close()
        raise
    sinks: list[Sink] = [video]
    bar, done = _progress(source.frame_count, "frame")
    try:
        sinks += _json_sink(plan, source.skipped)
        run_loop(source.frames(on_audio=video.write_audio), pipeline_step(pipeline, settings), sinks, on_done=done)
    except (KeyboardInterrupt, EmocamError) as exc:
        reason = _abandon(exc, sinks)
        if video.frames_written == 0:
            for scratch in (partial, plan.json_partial):
                if scratch is not None:
                    scratch.unlink(missing_ok=True)
            raise EmocamError(reason) from None
        raise EmocamError(f"{reason}; the {video.frames_written} frames rendered so far are playable in {partial}") from None
    finally:
        bar.close()
        pipeline.close()
    _close(sinks)
    if video.audio is not None and video.audio.all_damaged:
        raise EmocamError(f"{source.path}: none of its {video.audio_packets} audio packets decodes (damaged audio); "
                          f"the video without sound is in {partial}")
    count, expected = video.frames_written, source.frame_count
    if expected and count + source.skipped.video < expected * (1 - TRUNCATION_TOLERANCE) - 1:
        raise EmocamError(f"{source.path} ends early: decoded {count} of {expected} frames (truncated?); partial output in {partial}")
    _finish(plan, partial, video.audio_start)
    width, height = source.size
    size = f"{video.video.width}x{video.video.height} (padded from {width}x{height}: H.264 needs even sides)" \
        if video.padded else f"{width}x{height}"
    damage = f", {source.skipped.describe()}" if source.skipped.describe() else ""
    print(f"wrote {output} ({count} frames, {size}, {source.fps:.3g} fps, "
          f"audio {video.audio_note}{damage}; ran: {ran_line(pipeline.devices)})")
    return 0


def _render_images(source: ImageSource, plan: OutputPlan, settings: Settings, args: argparse.Namespace) -> int:
    output = plan.output
    pipeline = Pipeline(replace(settings, blend_s=0.0, hold_s=0.0), video_mode=False)
    ran = ran_line(pipeline.devices)
    folder = len(source.paths) > 1 or args.input.is_dir()
    sinks: list[Sink] = []
    bar, done = _progress(source.frame_count, "image")
    try:
        images = ImageSink(output, folder=folder, names=output_paths.image_output_names(source.paths))
        sinks += [images]
        sinks += _json_sink(plan)
        run_loop(source.frames(), pipeline_step(pipeline, settings, still=True), sinks, on_done=done)
    except (KeyboardInterrupt, EmocamError) as exc:
        reason = _abandon(exc, sinks)
        written = images.frames_written if sinks else 0
        if not written:
            if plan.json_partial is not None:
                plan.json_partial.unlink(missing_ok=True)
            if sinks:
                images.discard()
        raise EmocamError(f"{reason}; {written} of {len(source.paths)} images are in {images.scratch_folder}"
                          if folder and written else reason) from None
    finally:
        bar.close()
        pipeline.close()
    _close(sinks)
    images.commit()
    _finish(plan, None)
    print(f"wrote {output} ({images.frames_written} image{'s' if images.frames_written != 1 else ''}; ran: {ran})")
    return 0
