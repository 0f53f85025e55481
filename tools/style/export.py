"""Export trained style networks to ONNX and build per-emotion style packs.

    python -m tools.style.export out/runs/x/model.pt -o x.onnx [--fp16]
    python -m tools.style.export --pack models/packs/johnson-distilled --runs out/runs/johnson-distilled

Files: opset 17, input ``image`` [1,3,H,W] 0..1 and output ``output`` [1,3,H,W] 0..1 with dynamic H, W
(multiples of 4); fp16 files take and give float16. Every export is checked: onnxruntime output vs
torch on a random image of a size other than the traced one (max abs diff printed; fp32 must be < 1e-4).

``--pack`` exports ``<runs>/<emotion>/model.pt`` for all 7 emotions and writes ``pack.json``
(``kind: per_emotion``, ``models``, ``training`` with each exact command from ``train.json``).
Add the ``eval`` section with ``python -m tools.style.evaluate --pack DIR --update-pack``.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import shlex
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from tools.common.args import ToolParser, one_line_errors

OPSET = 17
FP32_TOL = 1e-4
FP16_TOL = 2e-2
TRACE_SIZE = (64, 64)
CHECK_SIZE = (96, 128)


def load_checkpoint(path: Path):
    """The network saved by tools.style.train, in eval mode."""
    import torch

    from tools.style.nets import build

    if not path.is_file():
        raise EmocamError(f"checkpoint not found: {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "arch" not in ckpt or "state_dict" not in ckpt:
        raise EmocamError(f"{path} is not a tools.style.train checkpoint")
    net = build(ckpt["arch"])
    net.load_state_dict(ckpt["state_dict"])
    return net.eval()


def to_onnx_bytes(net, fp16: bool = False) -> bytes:
    """ONNX model bytes for ``net`` (fp16: weights, input and output in float16)."""
    import torch

    model = copy.deepcopy(net).eval()
    x = torch.rand(1, 3, *TRACE_SIZE)
    if fp16:
        model, x = model.half(), x.half()
    buf = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=OPSET, input_names=["image"],
                          output_names=["output"],
                          dynamic_axes={"image": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}})
    return buf.getvalue()


def add_metadata(data: bytes, meta: dict[str, str]) -> bytes:
    """Attach ``metadata_props`` to an ONNX model."""
    import onnx

    model = onnx.load_from_string(data)
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def check_onnx(net, data: bytes, fp16: bool, size: tuple[int, int] = CHECK_SIZE) -> float:
    """Max abs difference between onnxruntime and the fp32 torch net on a random image."""
    import onnxruntime as ort
    import torch

    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = net(x).numpy()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    feed = x.numpy().astype(np.float16 if fp16 else np.float32)
    out = sess.run(["output"], {"image": feed})[0]
    if out.shape != ref.shape:
        raise EmocamError(f"ONNX output shape {out.shape} != torch {ref.shape}")
    return float(np.abs(out.astype(np.float32) - ref).max())


def export(net, path: Path, fp16: bool, meta: dict[str, str] | None = None) -> float:
    """Write ``path`` and return the checked max abs diff; EmocamError if above tolerance."""
    data = to_onnx_bytes(net, fp16)
    if meta:
        data = add_metadata(data, meta)
    diff = check_onnx(net, data, fp16)
    tol = FP16_TOL if fp16 else FP32_TOL
    if not diff < tol:
        raise EmocamError(f"{path.name}: onnxruntime differs from torch by {diff:.3g} (limit {tol:g})")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return diff


def export_pack(pack_dir: Path, runs: Path, fp16: bool, name: str, teacher_pack: str, command: str = "") -> dict:
    """Export the 7 per-emotion networks under ``runs`` into ``pack_dir`` with its pack.json."""
    models, training, diffs = {}, {}, {}
    for emo in EMOTIONS:
        run = runs / emo
        info = json.loads((run / "train.json").read_text()) if (run / "train.json").is_file() else None
        if info is None:
            raise EmocamError(f"no train.json in {run}: train all 7 emotions first")
        net = load_checkpoint(run / "model.pt")
        fname = f"{emo}{'_fp16' if fp16 else ''}.onnx"
        meta = {"emocam.pipeline.style": json.dumps({"emotion": emo, "arch": info["arch"], "command": info["command"]})}
        diffs[emo] = export(net, pack_dir / fname, fp16, meta)
        models[emo] = fname
        keys = ("command", "arch", "loss_description", "steps", "batch", "crop", "content_images", "seconds",
                "seconds_per_step")
        training[emo] = {k: info[k] for k in keys if k in info}
        training[emo]["final_loss"] = {k: round(v, 5) for k, v in info["final"].items() if k != "step"}
        print(f"{emo}: {fname} (onnxruntime vs torch max abs diff {diffs[emo]:.2e})", flush=True)
    pack = {"name": name, "kind": "per_emotion", "models": models,
            "precision": "fp16" if fp16 else "fp32",
            "description": f"Seven Johnson et al. fast style networks, one per emotion, each distilled on CPU "
                           f"from the '{teacher_pack}' pack's multistyle26 style for that emotion.",
            "teacher": teacher_info(teacher_pack),
            "training": {"export": command, "per_emotion": training},
            "export_check": {"max_abs_diff_vs_torch": {k: float(f"{v:.3g}") for k, v in diffs.items()}},
            "eval": {}}
    old = pack_dir / "pack.json"
    if old.is_file():  # keep an eval section written earlier by tools.style.evaluate
        pack["eval"] = json.loads(old.read_text()).get("eval", {})
    old.write_text(json.dumps(pack, indent=1) + "\n")
    return pack


def teacher_info(teacher_pack: str) -> dict:
    """The teacher pack's name, model and style per emotion (for provenance)."""
    from emocam.modelstore.manifest import model_dirs

    for d in model_dirs():
        p = Path(d) / "packs" / teacher_pack / "pack.json"
        if p.is_file():
            data = json.loads(p.read_text())
            return {"pack": teacher_pack, "model": data.get("model"), "styles": data.get("styles")}
    return {"pack": teacher_pack}


def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(prog="python -m tools.style.export", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", nargs="?", help="model.pt from tools.style.train")
    p.add_argument("-o", "--output", help="output .onnx (single export)")
    p.add_argument("--fp16", action="store_true", help="also write <output>_fp16.onnx (pack: fp16 files only)")
    p.add_argument("--pack", help="write a per-emotion pack folder")
    p.add_argument("--runs", help="with --pack: folder holding <emotion>/model.pt and train.json")
    p.add_argument("--name", help="pack name (default: the folder name)")
    p.add_argument("--teacher-pack", default="default", help="pack the students were distilled from")
    return p


@one_line_errors("tools.style.export")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise EmocamError("export needs torch and onnx: pip install 'emocam[train]'") from None
    if args.pack:
        if not args.runs:
            raise EmocamError("--pack needs --runs FOLDER")
        pack_dir = Path(args.pack)
        export_pack(pack_dir, Path(args.runs), args.fp16, args.name or pack_dir.name, args.teacher_pack,
                    "python -m tools.style.export " + shlex.join(argv))
        print(f"wrote {pack_dir / 'pack.json'}")
        return 0
    if not args.checkpoint or not args.output:
        raise EmocamError("give a checkpoint and -o OUTPUT.onnx, or --pack DIR --runs DIR")
    net = load_checkpoint(Path(args.checkpoint))
    out = Path(args.output)
    diff = export(net, out, False)
    print(f"wrote {out} (fp32; onnxruntime vs torch max abs diff {diff:.2e})")
    if args.fp16:
        out16 = out.with_name(out.stem + "_fp16.onnx")
        diff = export(net, out16, True)
        print(f"wrote {out16} (fp16; onnxruntime vs torch fp32 max abs diff {diff:.2e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
