"""`emocam still`: Gatys optimisation writes the image and the loss curves, and lowers the loss."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emocam.commands import still  # noqa: E402
from emocam.errors import EmocamError  # noqa: E402
from emocam.commands.loss_networks import VGG16Features  # noqa: E402


@pytest.fixture()
def pictures(tmp_path, astronaut):
    import skimage.data
    from PIL import Image

    Image.fromarray(astronaut).save(tmp_path / "face.png")
    Image.fromarray(skimage.data.coffee()).save(tmp_path / "style.jpg")
    return tmp_path / "face.png", tmp_path / "style.jpg"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    still.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_still_writes_image_and_curves(pictures, tmp_path, capsys):
    content, style = pictures
    out = tmp_path / "out" / "styled.png"
    args = parse(str(content), "--style-image", str(style), "-o", str(out), "--size", "48", "--steps", "3")
    assert still.run(args) == 0
    text = capsys.readouterr().out
    assert "loss network: fixed random-weight conv net" in text
    from PIL import Image

    assert Image.open(out).size == (48, 48)
    assert (tmp_path / "out" / "styled_loss.png").stat().st_size > 1000


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_optimisation_lowers_the_loss(pictures, optimizer):
    content, style = pictures
    args = parse(str(content), "--style-image", str(style), "-o", "x.png", "--steps", "12",
                 "--optimizer", optimizer, "--init", "noise")
    img, history = still.stylize(still.read_image(str(content), 40), still.read_image(str(style), 40), args,
                                 log=lambda _: None)
    assert img.shape == (40, 40, 3) and img.dtype == np.uint8
    assert history[-1]["total"] < 0.5 * history[0]["total"]
    assert history[-1]["style"] < history[0]["style"]


def test_vgg16_loss_network(pictures, tmp_path, capsys):
    torch.manual_seed(0)
    net = VGG16Features()
    torch.save({f"features.{k}": v for k, v in net.features.state_dict().items()}, tmp_path / "vgg16.pth")
    content, style = pictures
    out = tmp_path / "v.png"
    args = parse(str(content), "--style-image", str(style), "-o", str(out), "--size", "32", "--steps", "2",
                 "--vgg16", str(tmp_path / "vgg16.pth"), "--style-layers", "relu1_2", "relu2_2", "--tv", "0")
    assert still.run(args) == 0
    assert "loss network: VGG16" in capsys.readouterr().out and out.is_file()


def test_bad_input_is_one_clear_error(pictures, tmp_path, capsys):
    content, style = pictures
    assert still.main([str(tmp_path / "missing.png"), "--style-image", str(style), "-o", str(tmp_path / "o.png")]) == 2
    assert capsys.readouterr().err.strip() == f"error: image not found: {tmp_path / 'missing.png'}"
    with pytest.raises(EmocamError, match="unknown layer"):
        still.run(parse(str(content), "--style-image", str(style), "-o", str(tmp_path / "o.png"), "--size", "32",
                        "--steps", "1", "--style-layers", "relu9_9"))
    with pytest.raises(EmocamError, match="output must be"):
        still.run(parse(str(content), "--style-image", str(style), "-o", str(tmp_path / "o.txt")))


def test_missing_torch_is_a_clear_error(monkeypatch, pictures, tmp_path):
    import sys

    content, style = pictures
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(EmocamError, match=r"pip install 'emocam\[train\]'"):
        still.run(parse(str(content), "--style-image", str(style), "-o", str(tmp_path / "o.png")))
