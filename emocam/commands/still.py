"""``emocam still``: Gatys et al. style transfer by optimising the image itself (slow, any style image).

    emocam still photo.jpg --style-image painting.jpg -o out.png [--vgg16 vgg16.pth] [--steps 200]

Loss = alpha * content + beta * style + tv * total variation, with content = feature MSE at the content
layers and style = Gram-matrix MSE summed over the style layers of a loss network: VGG16 when ``--vgg16``
gives a torchvision VGG16 state dict, else a fixed random-weight conv net (emocam.commands.loss_networks.RandomFeatures),
which runs anywhere. The output says which. Writes the image and a PNG of the loss curves.
Needs torch (``pip install 'emocam[train]'``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError

# default style weight per loss network (Gram matrices normalised by C*H*W, MSE averaged)
DEFAULT_BETA = {"vgg16": 4e5, "random": 1e6}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emocam still``."""
    parser.add_argument("content", help="content photo")
    parser.add_argument("--style-image", required=True, help="style image (a painting, a texture ...)")
    parser.add_argument("-o", "--output", required=True, help="output image (.png, .jpg)")
    parser.add_argument("--vgg16", help="torchvision-format VGG16 state dict; without it a fixed random conv net")
    parser.add_argument("--content-layers", nargs="+",
                        help="default relu2_2 (VGG16) / r2 (random net)")
    parser.add_argument("--style-layers", nargs="+",
                        help="default relu1_2 relu2_2 relu3_3 relu4_3 (VGG16) / r1 r2 r3 r4 (random net)")
    parser.add_argument("--alpha", type=float, default=1.0, help="content weight (default 1)")
    parser.add_argument("--beta", type=float, help="style weight (default 4e5 with VGG16, 1e6 with the random net)")
    parser.add_argument("--tv", type=float, default=1e-3, help="total-variation weight against grain (default 1e-3)")
    parser.add_argument("--steps", type=int, default=200, help="optimiser iterations (default 200)")
    parser.add_argument("--optimizer", choices=("adam", "lbfgs"), default="adam",
                        help="adam (default; clamps to 0..1 every step) or lbfgs (one run of --steps iterations)")
    parser.add_argument("--lr", type=float, default=0.03, help="Adam step size (default 0.03)")
    parser.add_argument("--init", choices=("content", "noise"), default="content")
    parser.add_argument("--size", type=int, default=384, help="long side of the output in px (default 384)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curves", help="loss curves PNG (default: <output>_loss.png)")


def _torch():
    try:
        import torch
    except ImportError:
        raise EmocamError("emocam still needs torch: pip install 'emocam[train]'") from None
    return torch


def read_image(path: str, long_side: int) -> np.ndarray:
    """RGB uint8 image resized so its long side is ``long_side``."""
    import cv2

    from emocam.io.sources import read_image as read_rgb

    if not Path(path).is_file():
        raise EmocamError(f"image not found: {path}")
    rgb = read_rgb(Path(path))
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    size = (max(16, round(w * scale)), max(16, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _check(args: argparse.Namespace) -> None:
    if args.steps < 1:
        raise EmocamError("--steps must be at least 1")
    if not 32 <= args.size <= 4096:
        raise EmocamError("--size must be between 32 and 4096")
    if args.alpha < 0 or (args.beta is not None and args.beta < 0) or args.tv < 0:
        raise EmocamError("--alpha, --beta and --tv must not be negative")
    if Path(args.output).suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".webp"):
        raise EmocamError(f"output must be .png, .jpg, .bmp or .webp: {args.output}")


def stylize(content: np.ndarray, style: np.ndarray, args: argparse.Namespace,
            log=print) -> tuple[np.ndarray, list[dict]]:
    """Optimise an image; returns (uint8 result, per-step loss records)."""
    torch = _torch()
    from emocam.commands.loss_networks import content_loss, default_layers, describe, gram_matrix, loss_network, style_loss, tv_loss

    torch.manual_seed(args.seed)
    net = loss_network(args.vgg16)
    c_def, s_def = default_layers(net)
    c_layers = net.check_layers(args.content_layers or c_def)
    s_layers = net.check_layers(args.style_layers or s_def)
    kind = "vgg16" if args.vgg16 else "random"
    beta = args.beta if args.beta is not None else DEFAULT_BETA[kind]
    log(f"loss network: {describe(net)}")
    log(f"content layers {' '.join(c_layers)} (alpha {args.alpha:g}); style layers {' '.join(s_layers)} "
        f"(beta {beta:g}); tv {args.tv:g}; {args.optimizer}, {args.steps} steps")

    to_t = lambda a: torch.from_numpy(np.array(a)).permute(2, 0, 1)[None].float() / 255.0  # noqa: E731
    x_c, x_s = to_t(content), to_t(style)
    with torch.no_grad():
        c_target = net(x_c, c_layers)
        s_target = {k: gram_matrix(v) for k, v in net(x_s, s_layers).items()}
    init = x_c.clone().contiguous() if args.init == "content" else torch.rand(x_c.shape)
    img = init.requires_grad_(True)
    layers = sorted(set(c_layers) | set(s_layers), key=net.layer_index.get)
    history: list[dict] = []

    def losses() -> dict:
        feats = net(img, layers)
        terms = {"content": content_loss(feats, {k: c_target[k] for k in c_layers}),
                 "style": style_loss(feats, s_target), "tv": tv_loss(img)}
        terms["total"] = args.alpha * terms["content"] + beta * terms["style"] + args.tv * terms["tv"]
        return terms

    start = time.time()

    def record(terms: dict) -> None:
        rec = {"step": len(history) + 1, **{k: float(v.detach()) for k, v in terms.items()}}
        history.append(rec)
        if rec["step"] == 1 or rec["step"] % 20 == 0 or rec["step"] == args.steps:
            log(f"step {rec['step']}/{args.steps}: content {rec['content']:.4g} style {rec['style']:.4g} "
                f"tv {rec['tv']:.4g} total {rec['total']:.4g} ({time.time() - start:.0f}s)")

    if args.optimizer == "adam":
        opt = torch.optim.Adam([img], lr=args.lr)
        for _ in range(args.steps):
            opt.zero_grad()
            terms = losses()
            terms["total"].backward()
            opt.step()
            with torch.no_grad():
                img.clamp_(0, 1)
            record(terms)
    else:
        opt = torch.optim.LBFGS([img], lr=1.0, max_iter=args.steps, max_eval=args.steps, history_size=50,
                                tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            terms = losses()
            terms["total"].backward()
            record(terms)
            return terms["total"]

        opt.step(closure)
        with torch.no_grad():
            img.clamp_(0, 1)
    out = (img.detach()[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    return out, history


def save_curves(history: list[dict], path: Path, title: str) -> None:
    """Content, style and TV loss curves (log scale) in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    steps = [h["step"] for h in history]
    for ax, key in zip(axes, ("content", "style", "tv")):
        vals = [h[key] for h in history]
        ax.plot(steps, vals)
        if min(vals) > 0:
            ax.set_yscale("log")
        ax.set_title(f"{key} loss")
        ax.set_xlabel("step")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """Run ``emocam still``; raises EmocamError on bad input."""
    _check(args)
    torch = _torch()
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    content = read_image(args.content, args.size)
    style = read_image(args.style_image, args.size)
    result, history = stylize(content, style, args)
    import cv2

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(result, cv2.COLOR_RGB2BGR)):
        raise EmocamError(f"cannot write {out}")
    curves = Path(args.curves) if args.curves else out.with_name(out.stem + "_loss.png")
    net_name = "VGG16" if args.vgg16 else "random conv net"
    save_curves(history, curves, f"emocam still: {Path(args.content).name} in the style of "
                                 f"{Path(args.style_image).name} ({net_name}, {args.optimizer})")
    print(f"wrote {out} ({result.shape[1]}x{result.shape[0]}) and {curves}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m emocam.commands.still``: same as ``emocam still``."""
    parser = argparse.ArgumentParser(prog="emocam still", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except EmocamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
