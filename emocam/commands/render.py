"""`emocam render`: restyle a video, image or image folder by the emotions of the faces in it."""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import IO

from tqdm import tqdm

from emocam.pipeline.annotate import draw_overlay
from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.pipeline.pipeline import FrameResult, Pipeline, Settings
from emocam.pipeline.sinks import ImageSink, VideoSink
from emocam.pipeline.sources import IMAGE_SUFFIXES, SAMPLE_CLIP, ImageSource, Source, VideoFileSource, open_source

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv"}
# a decoded stream this much shorter than its header says is treated as truncated
TRUNCATION_TOLERANCE = 0.02


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs the pipeline."""
    defaults = Settings()
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=defaults.device, help="where the networks run (default: auto)")
    parser.add_argument("--pack", default=defaults.pack, help="style pack name or folder (default: default)")
    parser.add_argument("--detector", choices=("short", "full"), default=defaults.detector, help="face detector range (full finds smaller faces)")
    parser.add_argument("--min-confidence", type=float, default=defaults.min_confidence, help="face detector threshold (0-1)")
    parser.add_argument("--emotion-model", type=Path, help="an emotion ONNX exported by tools.emotion.train (default: FER mini-Xception)")
    parser.add_argument("--strength", type=float, default=defaults.strength, help="0 = original, 1 = fully stylized")
    parser.add_argument("--process-size", type=int, default=defaults.process_size, help="longest side the style network sees, 0 = full size (output keeps the input size)")
    parser.add_argument("--smoothing", type=float, default=defaults.smoothing_s, help="emotion smoothing time constant, seconds")
    parser.add_argument("--dwell", type=float, default=defaults.dwell_s, help="seconds a new emotion must lead before the style switches")
    parser.add_argument("--blend", type=float, default=defaults.blend_s, help="seconds a style change fades over")
    parser.add_argument("--policy", choices=("largest", "confident", "majority"), default=defaults.policy, help="which face decides the frame's emotion")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Validated Settings from the shared pipeline options."""
    if not 0.0 <= args.strength <= 1.0:
        raise EmocamError(f"--strength must be between 0 and 1, got {args.strength}")
    if not 0.0 < args.min_confidence < 1.0:
        raise EmocamError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    if args.process_size < 0 or 0 < args.process_size < 32:
        raise EmocamError(f"--process-size must be 0 (full size) or at least 32, got {args.process_size}")
    for name in ("smoothing", "dwell", "blend"):
        if getattr(args, name) < 0:
            raise EmocamError(f"--{name} must not be negative")
    if args.emotion_model and not args.emotion_model.is_file():
        raise EmocamError(f"emotion model not found: {args.emotion_model}")
    return Settings(
        device=args.device, pack=args.pack, detector=args.detector, min_confidence=args.min_confidence,
        emotion_model=args.emotion_model, strength=args.strength, process_size=args.process_size or None,
        smoothing_s=args.smoothing, dwell_s=args.dwell, blend_s=args.blend, policy=args.policy,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", type=Path, default=SAMPLE_CLIP, help="video, image or folder of images (default: the bundled sample clip)")
    parser.add_argument("-o", "--output", type=Path, help="output file (video or image) or folder (default: INPUT_NAME.emocam.mp4 here)")
    parser.add_argument("--json", type=Path, help="write one JSON record per frame (JSON Lines) to this file")
    parser.add_argument("--overlay", action="store_true", help="draw face boxes, track ids and emotion bars")
    add_pipeline_arguments(parser)


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


def frame_record(index: int, result: FrameResult) -> dict:
    return {
        "index": index,
        "time": round(result.time, 4),
        "emotion": result.emotion,
        "style_weights": result.style_weights,
        "faces": [
            {
                "track_id": f.track_id,
                "box": [round(float(v), 1) for v in f.box],
                "detected": f.seen,
                "emotion": f.emotion,
                "probs": {e: round(float(p), 4) for e, p in zip(EMOTIONS, f.probs)},
            }
            for f in result.faces
        ],
    }


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    source = open_source(args.input)
    try:
        output = args.output or default_output(args.input, source)
        check_output(output, source, args.input)
        if source.kind == "video":
            return _render_video(source, output, settings, args)
        return _render_images(source, output, settings, args)
    finally:
        source.close()


def _open_json(path: Path | None) -> IO[str] | None:
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w")
    except OSError as exc:
        raise EmocamError(f"cannot write {path}: {exc.strerror}") from None


def _finish_frame(pipeline: Pipeline, image, time: float, args, index: int, records: IO[str] | None):
    result = pipeline.process(image, time)
    frame = draw_overlay(result.output, result.faces) if args.overlay else result.output
    if records:
        records.write(json.dumps(frame_record(index, result)) + "\n")
    return result, frame


def _render_video(source: VideoFileSource, output: Path, settings: Settings, args: argparse.Namespace) -> int:
    pipeline = Pipeline(settings, video_mode=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(output)
    sink = VideoSink(partial, source.size, source.rate or source.fps, audio=source.audio, time_base=source.video.time_base)
    records = _open_json(args.json)
    count = 0
    bar = tqdm(total=source.frame_count or None, unit="frame", desc="render", dynamic_ncols=True, disable=None)
    try:
        for frame in source.frames(on_audio=sink.write_audio):
            result, image = _finish_frame(pipeline, frame.image, frame.time, args, count, records)
            sink.write(image, frame.time)
            count += 1
            bar.set_postfix_str(result.emotion, refresh=False)
            bar.update(1)
    except (KeyboardInterrupt, EmocamError) as exc:
        sink.close()
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        if count == 0:
            partial.unlink(missing_ok=True)
            raise EmocamError(reason) from None
        raise EmocamError(f"{reason}; the {count} frames rendered so far are playable in {partial}") from None
    finally:
        bar.close()
        pipeline.close()
        if records:
            records.close()
    sink.close()
    expected = source.frame_count
    if expected and count < expected * (1 - TRUNCATION_TOLERANCE) - 1:
        raise EmocamError(f"{source.path} ends early: decoded {count} of {expected} frames (truncated?); partial output in {partial}")
    os.replace(partial, output)
    print(f"wrote {output} ({count} frames, {source.size[0]}x{source.size[1]}, {source.fps:.3g} fps, "
          f"audio {'copied' if source.audio else 'none'}, devices {pipeline.devices})")
    return 0


def _render_images(source: ImageSource, output: Path, settings: Settings, args: argparse.Namespace) -> int:
    # unrelated photos: no smoothing, fading or holding from one image to the next
    pipeline = Pipeline(replace(settings, blend_s=0.0, hold_s=0.0), video_mode=False)
    folder = len(source.paths) > 1 or args.input.is_dir()
    sink = ImageSink(output, folder=folder)
    records = _open_json(args.json)
    try:
        for index, frame in enumerate(tqdm(source.frames(), total=source.frame_count, unit="image", disable=None)):
            pipeline.reset()
            _, image = _finish_frame(pipeline, frame.image, 0.0, args, index, records)
            sink.write(image, name=source.paths[index].with_suffix(".png").name if folder else None)
    finally:
        pipeline.close()
        if records:
            records.close()
    print(f"wrote {output} ({sink.frames_written} image{'s' if sink.frames_written != 1 else ''})")
    return 0
