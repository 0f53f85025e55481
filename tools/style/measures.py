"""What eval_style measures on a stylized picture: PSNR, Gram distance on a fixed random net, faces kept and
the emotion score (seed 002)."""
from __future__ import annotations

import numpy as np

from emocam.errors import EmocamError
from emocam.pipeline.tracking import iou

GRAM_LAYERS = ("r1", "r2", "r3", "r4")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


class GramDistance:
    """Relative Gram distance on the fixed random conv net RandomFeatures(seed=1234)."""

    def __init__(self) -> None:
        import torch

        from emocam.commands.loss_networks import RandomFeatures

        self.torch = torch
        self.net = RandomFeatures(seed=1234)

    def grams(self, img: np.ndarray) -> dict:
        from emocam.commands.loss_networks import gram_matrix

        x = self.torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 255.0
        with self.torch.no_grad():
            return {k: gram_matrix(v)[0] for k, v in self.net(x, GRAM_LAYERS).items()}

    def __call__(self, img: np.ndarray, ref: np.ndarray) -> float:
        g, r = self.grams(img), self.grams(ref)
        return float(np.mean([float((g[k] - r[k]).norm() / r[k].norm()) for k in GRAM_LAYERS]))


class FaceCheck:
    """Faces kept after styling and the emotion score (cosine similarity of emotion probabilities)."""

    def __init__(self, images: list[np.ndarray]) -> None:
        from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier
        from emocam.pipeline.faces import FaceDetector
        from emocam.modelstore.manifest import find_model

        self.detector = FaceDetector("short", 0.5, video_mode=False)
        self.classifier = EmotionClassifier(find_model(DEFAULT_EMOTION_MODEL), "cpu")
        self.images = images
        self.boxes = [[f.box for f in self.detector.detect(im)] for im in images]
        self.probs = [self.classifier.classify(im, boxes) for im, boxes in zip(images, self.boxes)]
        if not any(self.boxes):
            raise EmocamError("no face found in the evaluation images")

    def __call__(self, stylized: list[np.ndarray]) -> dict[str, float]:
        kept, total, cosines = 0, 0, []
        for img, boxes, probs in zip(stylized, self.boxes, self.probs):
            found = [f.box for f in self.detector.detect(img)]
            for box in boxes:
                total += 1
                kept += any(iou(box, other) > 0.5 for other in found)
            for p, q in zip(probs, self.classifier.classify(img, boxes)):
                cosines.append(float(p @ q / (np.linalg.norm(p) * np.linalg.norm(q) + 1e-12)))
        return {"face_kept": kept / total, "emotion_score": float(np.mean(cosines))}

    def close(self) -> None:
        self.detector.close()
