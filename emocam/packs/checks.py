"""Checks the pack kinds share: files beside pack.json, emotion keys, the networks' inputs."""
from __future__ import annotations

from pathlib import Path

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model, load_manifest, verify_file
from emocam.modelstore.onnx_graph import onnx_input_names
from emocam.runtime import Network


def resolve_file(folder: Path, name: str) -> Path:
    """A pack's model file: beside pack.json (verified when the models manifest lists it), else by find_model."""
    local = folder / name
    if not local.is_file():
        return find_model(name)
    key = f"packs/{folder.name}/{name}"
    return verify_file(local, key) if key in load_manifest() else local


def check_emotion_keys(mapping: dict, key: str, where: Path) -> None:
    """`mapping` names exactly the seven emotions."""
    missing = [e for e in EMOTIONS if e not in mapping]
    unknown = [k for k in mapping if k not in EMOTIONS]
    if missing or unknown:
        problem = f"lacks {', '.join(missing)}" if missing else f"names unknown emotions {', '.join(map(str, unknown))}"
        raise EmocamError(f"{where}: `{key}` {problem} (it needs exactly {', '.join(EMOTIONS)})")


def input_names(path: Path) -> list[str]:
    """The graph inputs of an ONNX file (read without loading it)."""
    return onnx_input_names(path)


def check_image_input(network: Network, path: Path) -> None:
    """A style network must take [1, 3, H, W] with free H and W (frames come at any size): say so at load,
    naming the file, rather than fail on the first frame."""
    inputs = network.inputs
    image = next((i for i in inputs if i.name == "image"), inputs[0])
    shape = list(image.shape)
    fixed = [d for d in shape[2:] if isinstance(d, int) and d > 0]
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3) or fixed:
        raise EmocamError(f"{path}: a style network must take an image [1, 3, height, width] of any size, "
                          f"but its input {image.name} is {shape}")
