"""Evaluate fast style networks against their multistyle26 teacher.

    python -m tools.style.evaluate --pack models/packs/johnson-distilled [--update-pack] [--json eval.json]
    python -m tools.style.evaluate --onnx angry.onnx --teacher-style 20
    python -m tools.style.evaluate --regions [--pack default] [--face-strengths 0.3 1]   (tools.style.region_eval)

Per network, on the same inputs for student and teacher:

* ``psnr``: PSNR (dB) of the student's output vs the teacher's, on the still images.
* ``gram``: style distance to the teacher output: mean over layers r1-r4 of ||G(out) - G(teacher)|| / ||G(teacher)||
  on a fixed random conv net (``RandomFeatures(seed=1234)``, not the seed-0 net the distillation may use);
  ``gram_content`` is the same distance for the unstyled input (the no-style baseline).
* ``face_kept``: fraction of faces found in the input (MediaPipe, emocam.pipeline.faces) still found after styling
  (IoU > 0.5); ``emotion_score``: seed 002's emotion score, the cosine similarity of the FER emotion
  probabilities (emocam.pipeline.emotion, emotion_fer_minixception.onnx) of the input face and the stylized face.
* ``flicker``: warping error on a clip as defined in tools.common.video_quality (the same measure as the temporal
  bench): flow between consecutive input frames, output t+1 warped onto t, mean |difference| (0..1) on pixels
  whose forward-backward flow agrees, scene-cut pairs left out; ``flicker_ratio`` divides it by the input clip's
  own warping error (1 = no flicker added), with Farneback flow; ``flicker_ratio_dis`` the same with DIS flow.
* ``ms``: CPU milliseconds per frame (1 thread) at the clip size.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.runtime.base import image_tensor, tensor_image
from emocam.labels import EMOTIONS
from emocam.io.sources import SAMPLE_CLIP, open_source
from tools.common.args import ToolParser, one_line_errors
from tools.style.measures import FaceCheck, GramDistance, psnr
from tools.common.video_quality import FlickerReference, PairFlow, pair_flows, warping_error  # noqa: F401 (re-exported)

STILL_FRAMES = (0, 60, 150, 180)  # frames of the sample clip with faces

Stylize = Callable[[np.ndarray], np.ndarray]


def _pad4(img: np.ndarray) -> tuple[np.ndarray, int, int]:
    h, w = img.shape[:2]
    ph, pw = (-h) % 4, (-w) % 4
    return (np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else img), h, w


def onnx_stylizer(path: Path, threads: int, style: np.ndarray | None = None) -> Stylize:
    """uint8 RGB -> uint8 RGB through an ONNX style net (per-emotion file, or multistyle26 with ``style``)."""
    from emocam.modelstore.runtime import create_session

    sess, _ = create_session(path, "cpu", threads)
    inp = sess.get_inputs()[0]
    dtype = np.float16 if inp.type == "tensor(float16)" else np.float32

    def run(img: np.ndarray) -> np.ndarray:
        padded, h, w = _pad4(img)
        feed = {inp.name: image_tensor(padded).astype(dtype)}
        if style is not None:
            feed["style_weights"] = style.astype(np.float32)
        return tensor_image(sess.run(None, feed)[0].astype(np.float32)[:, :, :h, :w])

    return run


def read_frames(path: Path, count: int, long_side: int, start: int = 0) -> list[np.ndarray]:
    """``count`` consecutive RGB frames from ``start``, resized to ``long_side`` (multiples of 4)."""
    frames = [_resize(image, long_side) for image in _video_images(path, range(start, start + count))]
    if len(frames) < 2:
        raise EmocamError(f"{path}: need at least 2 frames from frame {start}, got {len(frames)}")
    return frames


def read_frame_set(path: Path, indices: Sequence[int]) -> list[np.ndarray]:
    """Chosen RGB frames of a video at full size."""
    return _video_images(path, indices)


def _video_images(path: Path, indices: Sequence[int]) -> list[np.ndarray]:
    """The RGB frames of a video at the given frame indices (decoding stops after the last one)."""
    wanted, out = set(indices), []
    source = open_source(path)
    try:
        for frame in source.frames():
            if frame.index in wanted:
                out.append(frame.image)
            if len(out) == len(wanted):
                break
    finally:
        source.close()
    return out


def _resize(img: np.ndarray, long_side: int | None) -> np.ndarray:
    h, w = img.shape[:2]
    scale = long_side / max(h, w) if long_side else 1.0
    nw, nh = max(4, round(w * scale / 4) * 4), max(4, round(h * scale / 4) * 4)
    return cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA) if (nw, nh) != (w, h) else img


def flows(frames: list[np.ndarray]) -> list[PairFlow]:
    """Farneback flows of consecutive input frames (see tools.common.video_quality)."""
    return pair_flows(frames, "farneback")


class EvalData:
    """Still images, face images and a clip, shared by every network evaluated."""

    def __init__(self, video: Path, frames: int, clip_size: int, still_size: int) -> None:
        import skimage.data

        astronaut = skimage.data.astronaut()
        stills = [astronaut] + read_frame_set(SAMPLE_CLIP, STILL_FRAMES)
        self.stills = [_resize(im, still_size) for im in stills]
        self.faces = [_resize(im, 512) for im in stills]
        self.clip = read_frames(video, frames, clip_size)
        self.reference = FlickerReference(self.clip)
        self.input_flicker = self.reference.input_error["farneback"]
        self.gram = GramDistance()
        self.face_check = FaceCheck(self.faces)
        self.settings = {"stills": f"skimage astronaut + {SAMPLE_CLIP.name} frames {list(STILL_FRAMES)}, "
                                   f"long side {still_size}",
                         "faces": "the same at long side 512, MediaPipe short range, IoU > 0.5",
                         "clip": f"{video.name}: {len(self.clip)} frames, long side {clip_size}",
                         "gram_net": "RandomFeatures(seed=1234) layers r1-r4",
                         "input_flicker": round(self.input_flicker, 5),
                         "input_flicker_dis": round(self.reference.input_error["dis"], 5)}


def evaluate(student: Stylize, teacher: Stylize, data: EvalData) -> dict[str, float]:
    """All metrics for one student vs its teacher (teacher's own face/flicker numbers included)."""
    s_stills = [student(im) for im in data.stills]
    t_stills = [teacher(im) for im in data.stills]
    res: dict[str, float] = {
        "psnr": float(np.mean([psnr(a, b) for a, b in zip(s_stills, t_stills)])),
        "gram": float(np.mean([data.gram(a, b) for a, b in zip(s_stills, t_stills)])),
        "gram_content": float(np.mean([data.gram(a, b) for a, b in zip(data.stills, t_stills)])),
    }
    for who, fn in (("student", student), ("teacher", teacher)):
        faces = data.face_check([fn(im) for im in data.faces])
        res[f"face_kept_{who}"] = faces["face_kept"]
        res[f"emotion_score_{who}"] = faces["emotion_score"]
        start = time.perf_counter()
        outs = [fn(f) for f in data.clip]
        res[f"ms_{who}"] = 1000 * (time.perf_counter() - start) / len(outs)
        ratios = data.reference.ratios(outs)
        res[f"flicker_{who}"] = ratios["farneback"] * data.input_flicker
        res[f"flicker_ratio_{who}"] = ratios["farneback"]
        res[f"flicker_ratio_dis_{who}"] = ratios["dis"]
    return {k: round(v, 4) for k, v in res.items()}


COLUMNS = (("psnr", "PSNR"), ("gram", "gram"), ("gram_content", "gram(in)"),
           ("face_kept_student", "face s"), ("face_kept_teacher", "face t"),
           ("emotion_score_student", "emo s"), ("emotion_score_teacher", "emo t"),
           ("flicker_ratio_student", "flick s"), ("flicker_ratio_teacher", "flick t"),
           ("ms_student", "ms s"), ("ms_teacher", "ms t"))


def table(results: dict[str, dict[str, float]]) -> str:
    """Plain-text table, one row per network."""
    head = f"{'net':<10}" + "".join(f"{title:>10}" for _, title in COLUMNS)
    rows = [head]
    for name, res in results.items():
        rows.append(f"{name:<10}" + "".join(f"{res[key]:>10.3f}" for key, _ in COLUMNS))
    return "\n".join(rows)


def contact_sheet(image: np.ndarray, nets: dict[str, tuple[Stylize, Stylize]], tile: int = 224) -> np.ndarray:
    """Rows: teacher, student; one column per network, plus the input on the left (RGB uint8)."""
    img = _resize(image, tile)
    h, w = img.shape[:2]
    label_h, pad = 22, 4
    cols = len(nets) + 1
    sheet = np.full((2 * (h + label_h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)

    def put(row: int, col: int, tile_img: np.ndarray, text: str) -> None:
        y, x = pad + row * (h + label_h + pad), pad + col * (w + pad)
        cv2.putText(sheet, text, (x + 2, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        sheet[y + label_h:y + label_h + h, x:x + w] = tile_img

    put(0, 0, img, "input")
    put(1, 0, img, "input")
    for col, (name, (student, teacher)) in enumerate(nets.items(), start=1):
        put(0, col, teacher(img), f"{name}: teacher")
        put(1, col, student(img), f"{name}: student")
    return sheet


def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(prog="python -m tools.style.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--pack", help="per_emotion pack (name or folder) to evaluate")
    p.add_argument("--teacher-pack", help="multistyle pack the pack was distilled from (default: pack.json "
                                          "teacher.pack, else 'default')")
    p.add_argument("--onnx", help="a single style ONNX (instead of --pack)")
    p.add_argument("--teacher-style", help="with --onnx: multistyle26 style index or blend, e.g. 19 or 3:0.5,12:0.5")
    p.add_argument("--emotions", nargs="+", choices=EMOTIONS, help="evaluate only these emotions of the pack")
    p.add_argument("--video", default=str(SAMPLE_CLIP), help="clip for the flicker measure (default: sample clip)")
    p.add_argument("--frames", type=int, default=12, help="clip frames used (default 12)")
    p.add_argument("--clip-size", type=int, default=320, help="clip long side in px (default 320)")
    p.add_argument("--still-size", type=int, default=384, help="still images' long side in px (default 384)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--update-pack", action="store_true", help="write the results into the pack's pack.json `eval`")
    p.add_argument("--sheet", help="also write a contact sheet PNG: teacher vs student per network on the astronaut")
    p.add_argument("--regions", action="store_true", help="faces kept and emotion score per region mode (frame, "
                                                          "person, background) for --pack (default: default)")
    p.add_argument("--face-strengths", type=float, nargs="+", default=[0.0, 0.3, 1.0],
                   help="with --regions: face strengths to measure (default 0 0.3 1)")
    return p


@one_line_errors("tools.style.evaluate")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    run(args, argv)
    return 0


def run(args: argparse.Namespace, argv: Sequence[str]) -> dict:
    from emocam.modelstore.manifest import find_model
    from emocam.packs.registry import load_pack
    from tools.style.teacher import parse_style

    if args.regions:
        return run_regions(args, argv)
    if bool(args.pack) == bool(args.onnx):
        raise EmocamError("give exactly one of --pack or --onnx")
    if args.frames < 2:
        raise EmocamError("--frames must be at least 2")
    if not Path(args.video).is_file():
        raise EmocamError(f"video not found: {args.video}")
    teacher_model = find_model("multistyle26.onnx")
    nets: dict[str, tuple[Path, np.ndarray]] = {}
    if args.pack:
        pack = load_pack(args.pack)
        if pack.kind != "per_emotion":
            raise EmocamError(f"{args.pack} is a {pack.kind} pack; eval_style compares per_emotion packs to a teacher")
        teacher_name = args.teacher_pack or pack.raw.get("teacher", {}).get("pack", "default")
        teacher = load_pack(teacher_name)
        if teacher.kind != "multistyle":
            raise EmocamError(f"teacher pack {teacher_name} must be a multistyle pack")
        for emo in args.emotions or EMOTIONS:
            nets[emo] = (pack.models[emo], teacher.styles[emo])
    else:
        if not args.teacher_style:
            raise EmocamError("--onnx needs --teacher-style")
        nets[Path(args.onnx).stem] = (Path(args.onnx), parse_style(args.teacher_style))
    data = EvalData(Path(args.video), args.frames, args.clip_size, args.still_size)
    results, pairs = {}, {}
    for name, (path, style) in nets.items():
        pairs[name] = (onnx_stylizer(path, args.threads), onnx_stylizer(teacher_model, args.threads, style))
        results[name] = evaluate(*pairs[name], data)
        print(f"{name}: " + ", ".join(f"{k} {v:g}" for k, v in results[name].items()), flush=True)
    data.face_check.close()
    mean = {k: round(float(np.mean([r[k] for r in results.values()])), 4) for k in next(iter(results.values()))}
    report = {"command": "python -m tools.style.evaluate " + shlex.join(argv), "settings": data.settings,
              "results": results, "mean": mean}
    print(table({**results, "mean": mean}))
    if args.sheet:
        import skimage.data

        sheet_path = Path(args.sheet)
        sheet_path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sheet_path), cv2.cvtColor(contact_sheet(skimage.data.astronaut(), pairs), cv2.COLOR_RGB2BGR))
        print(f"wrote {sheet_path}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.update_pack:
        if not args.pack:
            raise EmocamError("--update-pack needs --pack")
        pack_json = pack.folder / "pack.json"
        raw = json.loads(pack_json.read_text())
        raw["eval"] = report
        pack_json.write_text(json.dumps(raw, indent=1) + "\n")
        print(f"updated {pack_json}")
    return report


def run_regions(args: argparse.Namespace, argv: Sequence[str]) -> dict:
    """Per region mode and face strength: faces kept, emotion score, how fully the background is styled."""
    import skimage.data

    from tools.style.region_eval import evaluate_regions, table as region_table

    faces = [_resize(im, 512) for im in [skimage.data.astronaut()] + read_frame_set(SAMPLE_CLIP, STILL_FRAMES)]
    check = FaceCheck(faces)
    try:
        results = evaluate_regions(faces, check, args.pack or "default", tuple(args.face_strengths))
    finally:
        check.close()
    print(region_table(results))
    report = {"command": "python -m tools.style.evaluate " + shlex.join(argv), "results": results,
              "settings": {"faces": f"skimage astronaut + {SAMPLE_CLIP.name} frames {list(STILL_FRAMES)}, long side "
                                    "512, MediaPipe short range, IoU > 0.5", "styles": "mean over the 7 emotions"}}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
