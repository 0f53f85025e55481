"""Fast style networks: training losses go down, slim init equals the teacher, ONNX export matches torch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from emocam.errors import EmocamError  # noqa: E402
from emocam.commands.loss_networks import VGG16Features  # noqa: E402
from emocam.io.sources import read_image  # noqa: E402
from tools.style import content, export as export_style, train as train_style  # noqa: E402
from tools.style.teacher import OnnxTeacher, parse_style, slim_from_multistyle  # noqa: E402
from tools.style.losses import DistillLoss, PerceptualLoss, temporal_loss  # noqa: E402
from tools.style.nets import SlimNet, TransformerNet  # noqa: E402

torch.set_num_threads(1)


def write_random_vgg16(path: Path) -> Path:
    """A random-initialised VGG16 saved in torchvision's state-dict format (features.N.weight ...)."""
    torch.manual_seed(0)
    net = VGG16Features()
    torch.save({f"features.{k}": v for k, v in net.features.state_dict().items()}, path)
    return path


def fixed_batch(astronaut: np.ndarray, size: int = 48) -> torch.Tensor:
    return content.image_tensor(astronaut, size)[:, :, :size, :size].contiguous()


def overfit(net: torch.nn.Module, loss_fn, x: torch.Tensor, steps: int, lr: float = 3e-3) -> tuple[float, float]:
    """Loss on one fixed batch before and after a few Adam steps on it."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    with torch.no_grad():
        first = float(loss_fn(net(x), x))
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(net(x), x)
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = float(loss_fn(net(x), x))
    return first, last


def test_vgg_loss_goes_down_with_a_state_dict_file(tmp_path, astronaut):
    vgg = VGG16Features.from_file(write_random_vgg16(tmp_path / "vgg16.pth"))
    style = content.image_tensor(read_image(content.OPENCV_DATA / "starry_night.jpg"), 48) \
        if (content.OPENCV_DATA / "starry_night.jpg").is_file() else torch.rand(1, 3, 48, 64)
    loss = PerceptualLoss(vgg, style, ["relu2_2"], ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], 1.0, 4e5)
    torch.manual_seed(0)
    first, last = overfit(SlimNet(), lambda y, x: loss(y, x)["total"], fixed_batch(astronaut), 8)
    assert last < 0.9 * first


def test_vgg16_file_errors(tmp_path):
    with pytest.raises(EmocamError, match="not found"):
        VGG16Features.from_file(tmp_path / "none.pth")
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    with pytest.raises(EmocamError, match="torchvision VGG16"):
        VGG16Features.from_file(tmp_path / "bad.pth")


def test_distill_loss_goes_down(astronaut):
    loss = DistillLoss(OnnxTeacher("20"), "l1", 1.0, feature_weight=0.1)
    torch.manual_seed(0)
    first, last = overfit(TransformerNet(), lambda y, x: loss(y, x)["total"], fixed_batch(astronaut, 32), 6)
    assert last < 0.8 * first


def test_temporal_loss_goes_down(astronaut):
    torch.manual_seed(0)
    net = SlimNet()

    def loss_fn(y, x):
        return temporal_loss(net, x, y, torch.Generator().manual_seed(1))  # the same warp every time

    first, last = overfit(net, loss_fn, fixed_batch(astronaut), 8)
    assert last < 0.7 * first


def test_slim_init_from_teacher_equals_teacher():
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    for spec in ("19", "3:0.5,12:0.5"):
        student = slim_from_multistyle(spec).eval()
        with torch.no_grad():
            diff = (student(x) - OnnxTeacher(spec)(x)).abs().max().item()
        assert diff < 1e-4, spec


def test_parse_style():
    assert parse_style("7")[7] == 1.0
    w = parse_style("3:1,12:3")
    assert w[3] == pytest.approx(0.25) and w.sum() == pytest.approx(1.0)
    with pytest.raises(EmocamError):
        parse_style("26")
    with pytest.raises(EmocamError):
        parse_style("a:b")


def test_networks_keep_any_size_and_range():
    x = torch.rand(1, 3, 36, 52)
    for net in (TransformerNet(), SlimNet()):
        with torch.no_grad():
            y = net.eval()(x)
        assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1


def test_cli_writes_checkpoint_record_and_curves(tmp_path, capsys):
    import skimage.data
    from PIL import Image

    content = tmp_path / "content"
    content.mkdir()
    Image.fromarray(skimage.data.coffee()).save(content / "coffee.png")
    out = tmp_path / "run"
    rc = train_style.main(["--out", str(out), "--arch", "slim", "--teacher-style", "19", "--content", str(content),
                           "--steps", "3", "--batch", "1", "--crop", "32", "--temporal-weight", "0.5",
                           "--no-preview"])
    assert rc == 0
    assert "loss: distill from multistyle26 style 19" in capsys.readouterr().out
    record = json.loads((out / "train.json").read_text())
    assert record["loss"] == "distill" and record["steps"] == 3
    assert record["command"].startswith("python -m tools.style.train --out")
    assert "temporal" in record["final"]
    assert (out / "model.pt").is_file() and (out / "loss.png").stat().st_size > 1000


def test_cli_errors(tmp_path, capsys):
    assert train_style.main(["--out", str(tmp_path), "--loss", "vgg", "--style-image", "x.jpg"]) == 2
    assert "needs --vgg16" in capsys.readouterr().err
    assert train_style.main(["--out", str(tmp_path), "--arch", "johnson", "--teacher-style", "3",
                             "--init-from-teacher"]) == 2
    assert "error: --init-from-teacher needs --arch slim" in capsys.readouterr().err


def test_export_matches_torch_and_pack_loads(tmp_path):
    from emocam.labels import EMOTIONS
    from emocam.pipeline.style import Stylizer
    from emocam.packs.registry import load_pack

    net = slim_from_multistyle("5").eval()
    assert export_style.export(net, tmp_path / "a.onnx", fp16=False) < 1e-4
    assert export_style.export(net, tmp_path / "a16.onnx", fp16=True) < 2e-2
    runs = tmp_path / "runs"
    for emo in EMOTIONS:  # seven tiny "runs": the checkpoint format train_style writes
        (runs / emo).mkdir(parents=True)
        torch.save({"arch": "slim", "state_dict": net.state_dict(), "step": 1}, runs / emo / "model.pt")
        (runs / emo / "train.json").write_text(json.dumps(
            {"command": f"python -m tools.style.train --out {emo}", "arch": "slim", "loss_description": "x",
             "steps": 1, "final": {"step": 1, "total": 0.5}}))
    pack_dir = tmp_path / "pack"
    pack = export_style.export_pack(pack_dir, runs, False, "test-pack", "default")
    assert pack["kind"] == "per_emotion" and set(pack["models"]) == set(EMOTIONS)
    loaded = load_pack(pack_dir)
    frame = (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)
    weights = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index("happy")]
    out = Stylizer(loaded, "cpu").stylize(frame, weights, None, 1.0)
    assert out.shape == frame.shape and out.dtype == np.uint8
