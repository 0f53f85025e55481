"""Training losses for the fast style networks.

* :class:`PerceptualLoss` -- Johnson et al.: Gram style loss + feature content loss on a loss network
  (VGG16 with real weights, or emocam.commands.loss_networks' fixed random net) against one style image.
* :class:`DistillLoss` -- match a teacher's output: pixel loss (L1 or MSE) plus an optional feature
  loss (features + Gram matrices of the fixed random conv net ``RandomFeatures(seed=0)``).
* :func:`temporal_loss` -- flicker: output(warp(x)) vs warp(output(x)) for a known random affine warp.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from emocam.commands.loss_networks import (FeatureNet, RandomFeatures, content_loss, gram_matrix, style_loss, tv_loss)

Terms = dict[str, torch.Tensor]


class PerceptualLoss:
    """content_weight * content + style_weight * style (+ tv_weight * TV) on a loss network."""

    def __init__(self, net: FeatureNet, style_image: torch.Tensor, content_layers: Sequence[str],
                 style_layers: Sequence[str], content_weight: float = 1.0, style_weight: float = 4e5,
                 tv_weight: float = 0.0) -> None:
        self.net = net
        self.content_layers = net.check_layers(content_layers)
        self.style_layers = net.check_layers(style_layers)
        self.weights = {"content": content_weight, "style": style_weight, "tv": tv_weight}
        with torch.no_grad():
            feats = net(style_image, self.style_layers)
            self.grams = {k: gram_matrix(v) for k, v in feats.items()}

    def __call__(self, out: torch.Tensor, content: torch.Tensor) -> Terms:
        layers = sorted(set(self.content_layers) | set(self.style_layers), key=self.net.layer_index.get)
        feats = self.net(out, layers)
        with torch.no_grad():
            target = self.net(content, self.content_layers)
        terms = {"content": content_loss(feats, target),
                 "style": style_loss(feats, self.grams)}
        if self.weights["tv"] > 0:
            terms["tv"] = tv_loss(out)
        return weigh(terms, self.weights)


class DistillLoss:
    """pixel_weight * pixel(out, teacher) + feature_weight * (features + Gram) on a frozen random net."""

    FEATURE_LAYERS = ("r1", "r2", "r3")

    def __init__(self, teacher: Callable[[torch.Tensor], torch.Tensor], pixel: str = "l1",
                 pixel_weight: float = 1.0, feature_weight: float = 0.0, gram_weight: float = 0.0,
                 tv_weight: float = 0.0) -> None:
        if pixel not in ("l1", "mse"):
            raise ValueError("pixel loss must be l1 or mse")
        self.teacher = teacher
        self.pixel = F.l1_loss if pixel == "l1" else F.mse_loss
        self.weights = {"pixel": pixel_weight, "feature": feature_weight, "gram": gram_weight, "tv": tv_weight}
        self.net = RandomFeatures(seed=0) if (feature_weight > 0 or gram_weight > 0) else None

    def __call__(self, out: torch.Tensor, content: torch.Tensor) -> Terms:
        with torch.no_grad():
            target = self.teacher(content)
        terms = {"pixel": self.pixel(out, target)}
        if self.net is not None:
            feats = self.net(out, self.FEATURE_LAYERS)
            with torch.no_grad():
                tfeats = self.net(target, self.FEATURE_LAYERS)
            if self.weights["feature"] > 0:
                terms["feature"] = content_loss(feats, tfeats)
            if self.weights["gram"] > 0:
                terms["gram"] = sum(F.mse_loss(gram_matrix(feats[k]), gram_matrix(tfeats[k]))
                                    for k in self.FEATURE_LAYERS)
        if self.weights["tv"] > 0:
            terms["tv"] = tv_loss(out)
        return weigh(terms, self.weights)


def weigh(terms: Terms, weights: dict[str, float]) -> Terms:
    """Add ``total`` = sum of weight * term; the other entries stay unweighted for logging."""
    terms["total"] = sum(weights[k] * v for k, v in terms.items())  # type: ignore[assignment]
    return terms


def random_affine(batch: int, gen: torch.Generator, max_shift: float = 0.03, max_rot_deg: float = 2.0,
                  max_zoom: float = 0.03) -> torch.Tensor:
    """[B,2,3] affine_grid matrices for a small camera motion (shift in half-widths, rotation, zoom)."""
    u = lambda: (torch.rand(batch, generator=gen) * 2 - 1)  # noqa: E731
    ang, zoom = u() * math.radians(max_rot_deg), 1 + u() * max_zoom
    tx, ty = u() * max_shift * 2, u() * max_shift * 2
    cos, sin = torch.cos(ang) / zoom, torch.sin(ang) / zoom
    return torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)


def warp(x: torch.Tensor, grid: torch.Tensor, padding: str = "reflection") -> torch.Tensor:
    """Sample ``x`` at ``grid`` (the known flow)."""
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def temporal_loss(net: torch.nn.Module, x: torch.Tensor, out: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mean |net(warp(x)) - warp(net(x))| over pixels whose source lies inside the frame.

    The warped crop plays the next video frame; its flow is known exactly, so no optical flow is needed.
    """
    theta = random_affine(x.shape[0], gen).to(x)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    valid = (grid.abs() <= 1).all(-1, keepdim=True).permute(0, 3, 1, 2).to(x)
    moved = net(warp(x, grid))
    expected = warp(out, grid)
    return ((moved - expected).abs() * valid).sum() / (valid.sum() * x.shape[1]).clamp(min=1)
