"""Content pictures for style training: real photos available offline, sampled as random crops."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from emocam.errors import EmocamError
from emocam.io.sources import read_image

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
# real photos; the astronaut is held out for previews and evaluation
SKIMAGE_CONTENT = ("coffee", "chelsea", "rocket", "cat", "immunohistochemistry", "retina")
OPENCV_CONTENT = ("baboon.jpg", "building.jpg", "butterfly.jpg", "fruits.jpg", "home.jpg", "messi5.jpg",
                  "orange.jpg", "apple.jpg", "squirrel_cls.jpg", "aero1.jpg", "aero3.jpg", "board.jpg",
                  "stuff.jpg", "HappyFish.jpg", "smarties.png", "rubberwhale1.png", "graf1.png",
                  "leuvenA.jpg", "lena.jpg", "ela_original.jpg", "basketball1.png", "pic1.png")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MAX_SIDE = 640




def _shrink(img: np.ndarray) -> np.ndarray:
    import cv2

    scale = MAX_SIDE / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    return img


def builtin_content() -> list[np.ndarray]:
    """Real colour photos available offline: scikit-image samples and opencv-doc's example images."""
    import skimage.data

    images = [getattr(skimage.data, name)() for name in SKIMAGE_CONTENT]
    images += [read_image(OPENCV_DATA / name) for name in OPENCV_CONTENT if (OPENCV_DATA / name).is_file()]
    return [_shrink(im[..., :3]) for im in images if im.ndim == 3]


def load_content(dirs: Sequence[str], min_side: int) -> list[np.ndarray]:
    """Colour images from folders (``builtin`` = :func:`builtin_content`), at most 640 px on the long side."""
    images: list[np.ndarray] = []
    for d in dirs:
        if d == "builtin":
            images += builtin_content()
            continue
        folder = Path(d)
        if not folder.is_dir():
            raise EmocamError(f"content folder not found: {folder}")
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() in IMAGE_EXTS:
                images.append(_shrink(read_image(p)))
    images = [im for im in images if min(im.shape[:2]) >= min_side and not _is_gray(im)]
    if not images:
        raise EmocamError(f"no colour content images of at least {min_side}px in {', '.join(dirs)}")
    return images


def _is_gray(img: np.ndarray) -> bool:
    return bool(np.abs(img[..., 0].astype(int) - img[..., 1]).max() < 3 and
                np.abs(img[..., 1].astype(int) - img[..., 2]).max() < 3)


class ContentSampler:
    """Random crops with random scale and horizontal flips, as float tensors [B,3,crop,crop] in 0..1."""

    def __init__(self, images: list[np.ndarray], crop: int, seed: int) -> None:
        self.images, self.crop = images, crop
        self.rng = np.random.default_rng(seed)

    def crop_one(self) -> np.ndarray:
        import cv2

        img = self.images[self.rng.integers(len(self.images))]
        short = min(img.shape[:2])
        target = self.rng.uniform(self.crop, max(self.crop, min(short, 3 * self.crop)))
        scale = target / short
        h, w = max(self.crop, round(img.shape[0] * scale)), max(self.crop, round(img.shape[1] * scale))
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        y, x = self.rng.integers(h - self.crop + 1), self.rng.integers(w - self.crop + 1)
        out = img[y:y + self.crop, x:x + self.crop]
        return out[:, ::-1] if self.rng.random() < 0.5 else out

    def batch(self, n: int):
        import torch

        arr = np.stack([self.crop_one() for _ in range(n)]).astype(np.float32) / 255.0
        return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def image_tensor(img: np.ndarray, size: int | None = None):
    """uint8 HxWx3 -> [1,3,H,W] float 0..1, short side resized to ``size``, sides cropped to multiples of 4."""
    import cv2
    import torch

    if size:
        scale = size / min(img.shape[:2])
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    h, w = img.shape[0] // 4 * 4, img.shape[1] // 4 * 4
    return torch.from_numpy(np.ascontiguousarray(img[:h, :w])).permute(2, 0, 1)[None].float() / 255.0
