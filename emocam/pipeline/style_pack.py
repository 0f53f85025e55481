"""The style pack record: what every pack kind loads into, and what the stages that run packs read."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class StylePack:
    """A pack: `multistyle` (one conditional network, a style-weight vector per emotion) or `per_emotion`."""

    name: str
    kind: str
    folder: Path
    models: dict[str, Path]  # emotion -> ONNX (per_emotion), or {"*": multistyle model}
    styles: dict[str, np.ndarray] = field(default_factory=dict)  # emotion -> [26] weights (multistyle)
    description: str = ""
    raw: dict = field(default_factory=dict)
