"""Which emotion crop margin (and whether mirror averaging) reads real faces best.

    python -m tools.emotion.crop_margin [--margins 0 0.1 0.2 0.25 0.3 0.4] [--detector short full]

The faces: real photos found on this machine, labelled by eye (only faces whose expression is plain): the
astronaut (scikit-image), Grace Hopper (matplotlib's sample data) and the photos among Debian opencv-doc's
tutorial pictures (`apt-get install opencv-doc`). Each face is found by the MediaPipe detector (the one
nearest the listed centre), then classified by the FER model at each margin, with and without averaging the
face with its mirror image. Prints correct / faces and the mean probability of the true label.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from emocam.labels import EMOTIONS

OPENCV_HTML = Path("/usr/share/doc/opencv-doc/opencv4/html")
# (where, file, face centre x, y in pixels, label by eye)
FACES = [
    ("skimage", "astronaut.png", 224, 118, "happy"),
    ("opencv", "227943776_1.jpg", 206, 198, "happy"),
    ("opencv", "facereg.jpg", 149, 49, "happy"),
    ("opencv", "facereg.jpg", 52, 147, "happy"),
    ("opencv", "Cascade_Classifier_Tutorial_Result_Haar.jpg", 263, 294, "happy"),
    ("opencv", "Cascade_Classifier_Tutorial_Result_LBP.jpg", 446, 336, "happy"),
    ("opencv", "2.jpg", 503, 44, "happy"),
    ("opencv", "2.jpg", 230, 48, "happy"),
    ("opencv", "2.jpg", 406, 231, "happy"),
    ("opencv", "2.jpg", 593, 39, "happy"),
    ("opencv", "2.jpg", 141, 48, "happy"),
    ("opencv", "2.jpg", 418, 43, "happy"),
    ("matplotlib", "grace_hopper.jpg", 265, 228, "neutral"),
    ("opencv", "230501201_1.jpg", 301, 415, "neutral"),
    ("opencv", "example.jpg", 964, 366, "neutral"),
    ("opencv", "facereg.jpg", 148, 145, "neutral"),
    ("opencv", "ab.jpg", 217, 197, "neutral"),
    ("opencv", "06.jpg", 308, 235, "neutral"),
    ("opencv", "inpaint_result.jpg", 85, 235, "neutral"),
    ("opencv", "3.jpg", 242, 34, "surprise"),
]


def _path(where: str, name: str) -> Path:
    if where == "skimage":
        import skimage.data

        return Path(skimage.data.data_dir) / name
    if where == "matplotlib":
        import matplotlib

        return Path(matplotlib.get_data_path()) / "sample_data" / name
    return OPENCV_HTML / name


def labelled_faces(detector_range: str) -> list[tuple[np.ndarray, tuple, str]]:
    """(RGB image, detector box, label) for every listed face the detector finds (missing files skipped)."""
    from emocam.pipeline.faces import FaceDetector

    detector = FaceDetector(detector_range, 0.3, video_mode=False)
    out = []
    try:
        for where, name, cx, cy, label in FACES:
            bgr = cv2.imread(str(_path(where, name)))
            if bgr is None:
                continue
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            found = [f for f in detector.detect(image) if f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3]]
            if found:
                out.append((image, found[0].box, label))
    finally:
        detector.close()
    return out


def score(faces, classifier, margin: float, mirror: bool) -> tuple[int, float]:
    """Correct answers and the mean probability of the true label."""
    classifier.margin = margin
    correct, p_true = 0, []
    for image, box, label in faces:
        p = classifier.classify(image, [box])[0]
        if mirror:
            w = image.shape[1]
            flipped = (w - box[2], box[1], w - box[0], box[3])
            p = (p + classifier.classify(np.ascontiguousarray(image[:, ::-1]), [flipped])[0]) / 2
        correct += EMOTIONS[int(np.argmax(p))] == label
        p_true.append(float(p[EMOTIONS.index(label)]))
    return correct, float(np.mean(p_true))


def main(argv: list[str] | None = None) -> int:
    from emocam.modelstore.manifest import find_model
    from emocam.pipeline.emotion import DEFAULT_EMOTION_MODEL, EmotionClassifier

    parser = argparse.ArgumentParser(prog="python -m tools.emotion.crop_margin", description=__doc__.split("\n")[0])
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.25, 0.3, 0.4])
    parser.add_argument("--detector", nargs="+", default=["short", "full"], choices=("short", "full"))
    args = parser.parse_args(argv)
    classifier = EmotionClassifier(find_model(DEFAULT_EMOTION_MODEL), "cpu")
    for detector_range in args.detector:
        faces = labelled_faces(detector_range)
        if not faces:
            print(f"crop_margin: error: no listed face found ({OPENCV_HTML} missing?)", file=sys.stderr)
            return 2
        counts = {e: sum(label == e for _, _, label in faces) for e in EMOTIONS}
        print(f"{detector_range} range boxes: {len(faces)} faces "
              f"({', '.join(f'{n} {e}' for e, n in counts.items() if n)})")
        for mirror in (False, True):
            cells = []
            for margin in args.margins:
                correct, p_true = score(faces, classifier, margin, mirror)
                cells.append(f"{margin:g}: {correct}/{len(faces)} p {p_true:.2f}")
            print(f"  {'mirror-averaged' if mirror else 'plain':<16}" + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
