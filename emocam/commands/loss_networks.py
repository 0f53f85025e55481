"""Loss networks for style transfer (needs the optional torch extra: ``emocam[train]``).

Shared by ``emocam still`` and the training tools in ``tools/``:

* :class:`VGG16Features` -- VGG16 conv layers in torchvision's layout (``features.N.weight``),
  weights loaded from a state-dict file the user supplies.
* :class:`RandomFeatures` -- a fixed, seeded random-weight conv net (VGG-shaped, 4 scales). It runs
  anywhere with no download; random conv features give usable Gram-matrix texture statistics.
* :func:`gram_matrix`, :func:`style_loss`, :func:`content_loss`, :func:`tv_loss`.

Both feature nets take RGB images in 0..1, [B,3,H,W], and return a dict layer name -> activation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from emocam.errors import EmocamError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision vgg16().features: index of each ReLU output we may read
VGG16_LAYERS = {
    "relu1_1": 1, "relu1_2": 3,
    "relu2_1": 6, "relu2_2": 8,
    "relu3_1": 11, "relu3_2": 13, "relu3_3": 15,
    "relu4_1": 18, "relu4_2": 20, "relu4_3": 22,
    "relu5_1": 25, "relu5_2": 27, "relu5_3": 29,
}
# conv layer config of torchvision's VGG16 ("M" = max pool)
_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")

RANDOM_LAYERS = ("r1", "r2", "r3", "r4")
_RANDOM_CHANNELS = (64, 128, 256, 256)


class _Normalize(nn.Module):
    """ImageNet mean/std normalisation of 0..1 RGB input."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class FeatureNet(nn.Module):
    """A frozen feature extractor: ``net(x, layers)`` -> {layer: activation}."""

    name = "features"
    layer_index: dict[str, int] = {}

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.norm = _Normalize()
        self.features = features
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        """Return the layer names, or raise EmocamError naming the valid ones."""
        layers = list(layers)
        bad = [name for name in layers if name not in self.layer_index]
        if bad:
            raise EmocamError(f"unknown layer(s) {', '.join(bad)} for the {self.name} loss network; "
                              f"use {', '.join(self.layer_index)}")
        return layers

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = {self.layer_index[name]: name for name in self.check_layers(layers)}
        last = max(wanted)
        out: dict[str, torch.Tensor] = {}
        h = self.norm(x)
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
            if i >= last:
                break
        return out


class VGG16Features(FeatureNet):
    """VGG16 ``features`` with torchvision's indices, so its state-dict keys load unchanged."""

    name = "vgg16"
    layer_index = VGG16_LAYERS

    def __init__(self) -> None:
        layers: list[nn.Module] = []
        cin = 3
        for v in _VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=False)]
                cin = int(v)
        super().__init__(nn.Sequential(*layers))

    @classmethod
    def from_file(cls, path: str | Path) -> "VGG16Features":
        """Load weights from a torchvision-format VGG16 state dict (``features.0.weight`` ...)."""
        state = load_tensors(Path(path), "VGG16 weights")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise EmocamError(f"{path} is not a state dict")
        net = cls()
        feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        own = net.features.state_dict()
        missing = [k for k in own if k not in feats]
        if missing:
            raise EmocamError(f"{path} is not a torchvision VGG16 state dict (missing features.{missing[0]})")
        for key, value in own.items():
            if tuple(feats[key].shape) != tuple(value.shape):
                raise EmocamError(f"{path}: features.{key} has shape {tuple(feats[key].shape)}, "
                                  f"VGG16 needs {tuple(value.shape)}")
        net.features.load_state_dict({k: feats[k].float() for k in own})
        return net


class RandomFeatures(FeatureNet):
    """Fixed random-weight conv net: 4 blocks (3x3 conv 64/128/256/256 + ReLU), 2x avg-pool between.

    Weights are Kaiming-normal from a fixed seed, so every run and machine gets the same net.
    """

    name = "random"
    layer_index = {name: 3 * i + 1 for i, name in enumerate(RANDOM_LAYERS)}

    def __init__(self, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        layers: list[nn.Module] = []
        cin = 3
        for i, cout in enumerate(_RANDOM_CHANNELS):
            conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / (cin * 9)) ** 0.5)
                conv.bias.zero_()
            layers += [conv, nn.ReLU(inplace=False)]
            if i < len(_RANDOM_CHANNELS) - 1:
                layers.append(nn.AvgPool2d(2, 2))
            cin = cout
        super().__init__(nn.Sequential(*layers))
        self.name = f"random(seed={seed})"


def describe(net: FeatureNet) -> str:
    """One line naming the loss network actually used."""
    if isinstance(net, VGG16Features):
        return "VGG16 (ImageNet weights from --vgg16)"
    return (f"fixed random-weight conv net {net.name}: 4 blocks of 3x3 conv "
            f"{'/'.join(map(str, _RANDOM_CHANNELS))} + ReLU, avg-pool between (no VGG16 given)")


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """Gram matrix [B,C,C] normalised by C*H*W."""
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style_loss(feats: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared Gram difference (targets broadcast over the batch)."""
    total = 0.0
    for name, target in target_grams.items():
        g = gram_matrix(feats[name])
        total = total + F.mse_loss(g, target.expand_as(g))
    return total  # type: ignore[return-value]


def content_loss(feats: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean squared feature difference."""
    total = 0.0
    for name, target in targets.items():
        total = total + F.mse_loss(feats[name], target)
    return total  # type: ignore[return-value]


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute difference of neighbouring pixels."""
    return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()


def loss_network(vgg16: str | Path | None, seed: int = 0) -> FeatureNet:
    """VGG16 from ``vgg16`` when given, else the fixed random net."""
    return VGG16Features.from_file(vgg16) if vgg16 else RandomFeatures(seed)


def default_layers(net: FeatureNet) -> tuple[list[str], list[str]]:
    """(content layers, style layers) used when the user names none."""
    if isinstance(net, VGG16Features):
        return ["relu2_2"], ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    return ["r2"], list(RANDOM_LAYERS)


def load_tensors(path: Path, what: str):
    """A torch file of tensors (weights_only: it runs no code from the file); one line naming it when missing or
    unreadable."""
    if not path.is_file():
        raise EmocamError(f"{what} file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise EmocamError(f"cannot read {what} {path}: {str(exc).splitlines()[0]}") from None
