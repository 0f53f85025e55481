"""Train a fast style network (Johnson et al.) on CPU or GPU.

    python -m tools.style.train --out runs/angry --teacher-style 19            # distill from multistyle26
    python -m tools.style.train --out runs/x --vgg16 vgg16.pth --style-image starry.jpg   # VGG16 perceptual
    python -m tools.style.train --out runs/s --arch slim --init-from-teacher --teacher-style 3:0.5,12:0.5

Losses (``--loss``): ``vgg`` -- Gram style + content loss on VGG16 (weights from ``--vgg16``);
``distill`` (default without ``--vgg16``) -- pixel (+ optional random-net feature) loss against
multistyle26 (``--teacher-style``) or Magenta's arbitrary model (``--style-image``).
``--temporal-weight`` adds a flicker loss with a known random affine warp.

Writes to ``--out``: ``model.pt`` (arch + state dict), ``train.json`` (exact command, loss, steps, time,
final losses), ``loss.png`` (curves), ``preview.png`` (content | teacher | student on the astronaut).
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from emocam.io.sources import read_image
from tools.common.args import ToolParser, one_line_errors
from tools.style.content import ContentSampler, image_tensor, load_content


def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(prog="python -m tools.style.train", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--arch", choices=("johnson", "slim"), default="johnson")
    p.add_argument("--loss", choices=("vgg", "distill"), help="default: vgg with --vgg16, else distill")
    p.add_argument("--vgg16", help="torchvision-format VGG16 state dict (features.0.weight ...)")
    p.add_argument("--style-image", help="style image (vgg loss, or distill from the arbitrary model)")
    p.add_argument("--teacher-style", help="multistyle26 style index or blend, e.g. 19 or 3:0.5,12:0.5")
    p.add_argument("--teacher-model", help="multistyle26.onnx (default: emocam's models folder)")
    p.add_argument("--init-from-teacher", action="store_true", help="slim only: start from multistyle26")
    p.add_argument("--content", action="append", help="content image folder (repeatable; default: builtin)")
    p.add_argument("--content-layers", nargs="+", help="vgg loss content layers (default relu2_2)")
    p.add_argument("--style-layers", nargs="+", help="vgg loss style layers (default relu1_2 relu2_2 relu3_3 relu4_3)")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=4e5)
    p.add_argument("--style-size", type=int, default=256, help="style image short side for the vgg loss")
    p.add_argument("--pixel-loss", choices=("l1", "mse"), default="l1")
    p.add_argument("--pixel-weight", type=float, default=1.0)
    p.add_argument("--feature-weight", type=float, default=0.0,
                   help="distill: feature loss on the fixed random conv net (r1-r3) vs the teacher output")
    p.add_argument("--gram-weight", type=float, default=0.0, help="distill: Gram loss on the same features")
    p.add_argument("--tv-weight", type=float, default=0.0)
    p.add_argument("--temporal-weight", type=float, default=0.0)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-final", type=float, help="cosine-decay the learning rate to this (default: constant)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--no-preview", action="store_true")
    return p


def _check(args: argparse.Namespace) -> None:
    if args.loss is None:
        args.loss = "vgg" if args.vgg16 else "distill"
    if args.crop < 16 or args.crop % 4:
        raise EmocamError("--crop must be a multiple of 4, at least 16")
    if args.steps < 1 or args.batch < 1:
        raise EmocamError("--steps and --batch must be at least 1")
    if args.loss == "vgg":
        if not args.style_image:
            raise EmocamError("--loss vgg needs --style-image")
        if not args.vgg16:
            raise EmocamError("--loss vgg needs --vgg16 PATH (a torchvision VGG16 state dict)")
    else:
        if bool(args.teacher_style) == bool(args.style_image):
            raise EmocamError("--loss distill needs exactly one of --teacher-style or --style-image")
    if args.init_from_teacher and (args.arch != "slim" or not args.teacher_style):
        raise EmocamError("--init-from-teacher needs --arch slim and --teacher-style")


def build_loss(args: argparse.Namespace):
    """(loss callable, teacher callable or None, description of the loss)."""
    from emocam.commands.loss_networks import VGG16Features, default_layers, describe
    from tools.style.losses import DistillLoss, PerceptualLoss

    if args.loss == "vgg":
        net = VGG16Features.from_file(args.vgg16)
        c_def, s_def = default_layers(net)
        style = image_tensor(read_image(Path(args.style_image)), args.style_size)
        loss = PerceptualLoss(net, style, args.content_layers or c_def, args.style_layers or s_def,
                              args.content_weight, args.style_weight, args.tv_weight)
        desc = (f"vgg: {describe(net)}; content {loss.content_layers} x{args.content_weight:g}, "
                f"style Gram {loss.style_layers} x{args.style_weight:g}, tv x{args.tv_weight:g}")
        return loss, None, desc
    from tools.style.teacher import ArbitraryTeacher, OnnxTeacher

    if args.teacher_style:
        teacher = OnnxTeacher(args.teacher_style, Path(args.teacher_model) if args.teacher_model else None,
                              threads=args.threads)
    else:
        teacher = ArbitraryTeacher(read_image(Path(args.style_image)), threads=args.threads)
    loss = DistillLoss(teacher, args.pixel_loss, args.pixel_weight, args.feature_weight, args.gram_weight,
                       args.tv_weight)
    desc = f"distill from {teacher.describe()}: {args.pixel_loss} pixel x{args.pixel_weight:g}"
    if args.feature_weight or args.gram_weight:
        desc += (f", feature x{args.feature_weight:g} and Gram x{args.gram_weight:g} on the fixed random conv "
                 "net RandomFeatures(seed=0) layers r1-r3")
    if args.tv_weight:
        desc += f", tv x{args.tv_weight:g}"
    return loss, teacher, desc


def build_student(args: argparse.Namespace):
    from tools.style.nets import build

    if args.init_from_teacher:
        from tools.style.teacher import slim_from_multistyle

        return slim_from_multistyle(args.teacher_style, Path(args.teacher_model) if args.teacher_model else None)
    return build(args.arch)


def save_curves(history: list[dict[str, float]], path: Path, title: str) -> None:
    """Loss curves (log scale), one line per term."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [h["step"] for h in history]
    for key in history[0]:
        if key != "step":
            ax.plot(steps, [h[key] for h in history], label=key)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (unweighted terms; total weighted)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_preview(net, teacher, path: Path) -> None:
    """content | teacher | student on the held-out astronaut photo at 256 px."""
    import skimage.data
    import torch
    from PIL import Image

    x = image_tensor(skimage.data.astronaut(), 256)
    with torch.no_grad():
        tiles = [x, teacher(x) if teacher is not None else None, net(x)]
    arr = [(t[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8) for t in tiles if t is not None]
    Image.fromarray(np.concatenate(arr, axis=1)).save(path)


def save_checkpoint(net, args: argparse.Namespace, step: int, path: Path) -> None:
    import torch

    torch.save({"arch": args.arch, "state_dict": net.state_dict(), "step": step}, path)


def train(args: argparse.Namespace) -> dict:
    """Run the training described by ``args``; returns the train.json record."""
    import torch

    from tools.style.losses import temporal_loss

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = load_content(args.content or ["builtin"], args.crop)
    sampler = ContentSampler(images, args.crop, args.seed)
    loss_fn, teacher, desc = build_loss(args)
    net = build_student(args)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    if args.temporal_weight:
        desc += f"; temporal (random affine warp, known flow) x{args.temporal_weight:g}"
    print(f"loss: {desc}", flush=True)
    print(f"student: {args.arch}{' (initialised from multistyle26)' if args.init_from_teacher else ''}, "
          f"{sum(p.numel() for p in net.parameters())} parameters; {len(images)} content images; "
          f"{args.steps} steps of {args.batch}x{args.crop}px", flush=True)
    history: list[dict[str, float]] = []
    start = time.time()
    for step in range(1, args.steps + 1):
        if args.lr_final is not None:
            frac = (step - 1) / max(1, args.steps - 1)
            for group in opt.param_groups:
                group["lr"] = args.lr_final + (args.lr - args.lr_final) * 0.5 * (1 + math.cos(math.pi * frac))
        x = sampler.batch(args.batch)
        y = net(x)
        terms = loss_fn(y, x)
        if args.temporal_weight:
            terms["temporal"] = temporal_loss(net, x, y, gen)
            terms["total"] = terms["total"] + args.temporal_weight * terms["temporal"]
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        if step == 1 or step % args.log_every == 0 or step == args.steps:
            rec = {"step": step, **{k: float(v.detach()) for k, v in terms.items()}}
            history.append(rec)
            print(f"step {step}/{args.steps} " + " ".join(f"{k} {v:.4g}" for k, v in rec.items() if k != "step")
                  + f" ({time.time() - start:.0f}s)", flush=True)
        if step % args.save_every == 0:
            save_checkpoint(net, args, step, out / "model.pt")
    elapsed = time.time() - start
    net.eval()
    save_checkpoint(net, args, args.steps, out / "model.pt")
    save_curves(history, out / "loss.png", f"{args.arch}: {desc}"[:160])
    if not args.no_preview:
        save_preview(net, teacher, out / "preview.png")
    record = {
        "command": "python -m tools.style.train " + shlex.join(args.argv),
        "arch": args.arch, "loss": args.loss, "loss_description": desc,
        "init_from_teacher": bool(args.init_from_teacher), "steps": args.steps, "batch": args.batch,
        "crop": args.crop, "lr": args.lr, "lr_final": args.lr_final, "content_images": len(images),
        "threads": args.threads,
        "seconds": round(elapsed, 1), "seconds_per_step": round(elapsed / args.steps, 3),
        "first": history[0], "final": history[-1], "history": history,
    }
    (out / "train.json").write_text(json.dumps(record, indent=1))
    print(f"wrote {out / 'model.pt'}, train.json, loss.png in {elapsed:.0f}s", flush=True)
    return record


@one_line_errors("tools.style.train")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    _check(args)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise EmocamError("training needs torch: pip install 'emocam[train]'") from None
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
