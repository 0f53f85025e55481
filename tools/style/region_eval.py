"""Faces kept and emotion score per region mode (`python -m tools.style.evaluate --regions`).

On the face images of the style evaluation (skimage astronaut + sample clip frames, long side 512), for each of
the pack's 7 emotion styles (everyone in that style, like the shipped per-network numbers), each region mode and
each face strength:

* ``face_kept``: share of the input's faces the MediaPipe detector still finds after styling (IoU > 0.5);
* ``emotion_score``: seed 002's emotion score, cosine similarity of the FER probabilities before/after styling;
* ``background_styled``: mean amount of style on background pixels (person confidence < 0.5), 1 = fully styled.
"""
from __future__ import annotations

import numpy as np

from emocam.labels import EMOTIONS
from emocam.pipeline.faces import Face
from emocam.pipeline.regions import MODES, RegionStyler, composite
from emocam.pipeline.segmentation import PersonSegmenter
from emocam.pipeline.style import Stylizer
from emocam.packs.registry import load_pack

PROCESS_SIZE = 512


def _onehot(emotion: str) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index(emotion)]


def evaluate_regions(images: list[np.ndarray], face_check, pack: str = "default",
                     face_strengths: tuple[float, ...] = (0.0, 0.3, 1.0)) -> dict[str, dict[str, float]]:
    """Mean metrics over the 7 styles, keyed "mode" (frame) or "mode@strength"."""
    stylizer = Stylizer(load_pack(pack), "cpu")
    segmenter = PersonSegmenter(video_mode=False)
    sums: dict[str, dict[str, list[float]]] = {}
    try:
        for emotion in EMOTIONS:
            weights = _onehot(emotion)
            styled = [stylizer.stylize(im, weights, PROCESS_SIZE, 1.0) for im in images]
            outputs: dict[str, list[np.ndarray]] = {"frame": styled}
            backgrounds: dict[str, list[float]] = {"frame": [1.0] * len(images)}
            for mode in MODES[1:]:
                for strength in face_strengths:
                    key = f"{mode}@{strength:g}"
                    outputs[key], backgrounds[key] = [], []
                    for image, boxes, out in zip(images, face_check.boxes, styled):
                        styler = RegionStyler(segmenter, mode, strength)
                        found = boxes_with_points(face_check, image, boxes)
                        faces = [Face(box, 1.0, track_id=i + 1, emotion=emotion, keypoints=kp)
                                 for i, (box, kp) in enumerate(found)]
                        plan = styler.plan(image, faces, weights, 0.0)
                        outputs[key].append(composite(image, {e: out for e in plan.styles}, plan))
                        person = styler._person
                        background = person < 0.5
                        backgrounds[key].append(float(plan.amount[background].mean()) if background.any() else 1.0)
            for key, outs in outputs.items():
                scores = face_check(outs)
                entry = sums.setdefault(key, {"face_kept": [], "emotion_score": [], "background_styled": []})
                entry["face_kept"].append(scores["face_kept"])
                entry["emotion_score"].append(scores["emotion_score"])
                entry["background_styled"].append(float(np.mean(backgrounds[key])))
    finally:
        segmenter.close()
    return {key: {k: round(float(np.mean(v)), 4) for k, v in entry.items()} for key, entry in sums.items()}


def boxes_with_points(face_check, image: np.ndarray, boxes: list) -> list[tuple]:
    """The input's face boxes with their detector keypoints (matched by box)."""
    found = face_check.detector.detect(image)
    out = []
    for box in boxes:
        match = next((f for f in found if tuple(f.box) == tuple(box)), None)
        out.append((box, match.keypoints if match is not None else None))
    return out


def table(results: dict[str, dict[str, float]]) -> str:
    rows = [f"{'regions':<18}{'faces kept':>12}{'emotion':>10}{'background':>12}"]
    for key, r in results.items():
        rows.append(f"{key:<18}{r['face_kept']:>12.3f}{r['emotion_score']:>10.3f}{r['background_styled']:>12.3f}")
    return "\n".join(rows)
