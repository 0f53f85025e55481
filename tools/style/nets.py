"""Fast feed-forward style networks (Johnson et al. 2016) in PyTorch.

* ``johnson``: the seed paper's TransformerNet: 9x9 conv 32, stride-2 3x3 convs 64 and 128, 5 residual
  blocks of 128, nearest 2x upsample + 3x3 conv to 64 and 32, 9x9 conv to 3; instance norm after
  every conv but the last; reflection padding; sigmoid output in 0..1.
* ``slim``: multistyle26's layout (Magenta's image_stylization net with one style): 9x9 conv 32,
  stride-2 3x3 convs 32 and 32, 6 residual blocks of 32, upsample + 3x3 conv to 8 and 4, 9x9 conv
  to 3; bias-free convs, instance norm after every conv (the last too), sigmoid output.

Both take [B,3,H,W] in 0..1 with H, W multiples of 4 and work at any size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = ("johnson", "slim")


class ConvNorm(nn.Module):
    """Reflect-pad, conv, instance norm (affine), optional ReLU; optional 2x nearest upsample first."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, relu: bool = True,
                 upsample: bool = False, bias: bool = True, norm: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.pad = k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride, bias=bias)
        self.norm = nn.InstanceNorm2d(cout, affine=True, eps=1e-5) if norm else None
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = self.conv(F.pad(x, [self.pad] * 4, mode="reflect"))
        if self.norm is not None:
            x = self.norm(x)
        return F.relu(x) if self.relu else x


class Residual(nn.Module):
    """x + IN(conv(ReLU(IN(conv(x)))))."""

    def __init__(self, ch: int, bias: bool = True) -> None:
        super().__init__()
        self.a = ConvNorm(ch, ch, 3, bias=bias)
        self.b = ConvNorm(ch, ch, 3, relu=False, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x))


class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network (see module docstring)."""

    arch = "johnson"

    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.Sequential(ConvNorm(3, 32, 9), ConvNorm(32, 64, 3, 2), ConvNorm(64, 128, 3, 2))
        self.res = nn.Sequential(*[Residual(128) for _ in range(5)])
        self.expand = nn.Sequential(ConvNorm(128, 64, 3, upsample=True), ConvNorm(64, 32, 3, upsample=True),
                                    ConvNorm(32, 3, 9, relu=False, norm=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.expand(self.res(self.contract(x))))


class SlimNet(nn.Module):
    """multistyle26's layout with a single style (see module docstring).

    Module names mirror the ONNX initializer names (``contract.0.w`` -> ``contract.0.conv.weight``,
    ``res.2.1.norm.gamma`` -> ``res.2.b.norm.weight``) so weights map one to one.
    """

    arch = "slim"

    def __init__(self) -> None:
        super().__init__()
        self.contract = nn.Sequential(ConvNorm(3, 32, 9, bias=False), ConvNorm(32, 32, 3, 2, bias=False),
                                      ConvNorm(32, 32, 3, 2, bias=False))
        self.res = nn.Sequential(*[Residual(32, bias=False) for _ in range(6)])
        self.expand = nn.Sequential(ConvNorm(32, 8, 3, upsample=True, bias=False),
                                    ConvNorm(8, 4, 3, upsample=True, bias=False),
                                    ConvNorm(4, 3, 9, relu=False, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.expand(self.res(self.contract(x))))


def build(arch: str) -> nn.Module:
    """A fresh network of the named architecture."""
    if arch == "johnson":
        return TransformerNet()
    if arch == "slim":
        return SlimNet()
    raise ValueError(f"unknown arch {arch!r}; use {', '.join(ARCHS)}")
