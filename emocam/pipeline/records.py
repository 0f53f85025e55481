"""Per-frame JSON records (`--json`): what each face read as, the frame's emotion and the style in use."""
from __future__ import annotations

import json
from pathlib import Path

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.pipeline.loop import Processed
from emocam.io.skipped import SkippedPackets


def frame_record(item: Processed, skipped: SkippedPackets | None = None) -> dict:
    """One frame as a JSON-ready dict; `skipped`: damaged packets of the source left out so far."""
    result = item.result
    return {
        "index": item.frame.index,
        "time": round(result.time, 4),
        "emotion": result.emotion,
        "style_weights": result.style_weights,
        **result.facts.as_record(),
        "faces": [
            {
                "track_id": f.track_id,
                "box": [round(float(v), 1) for v in f.box],
                "detected": f.seen,
                "emotion": f.emotion,
                "probs": {e: round(float(p), 4) for e, p in zip(EMOTIONS, f.smoothed)},
                **({"style": f.style} if f.style is not None else {}),  # --regions person: this person's style
            }
            for f in result.faces
        ],
        "skipped_packets": (skipped or SkippedPackets()).as_record(),
    }


class JsonRecordsSink:
    """JSON Lines, one record per frame, each line flushed: an interrupted render keeps valid records."""

    def __init__(self, path: Path, skipped: SkippedPackets | None = None) -> None:
        self.path = Path(path)
        self.skipped = skipped
        try:
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise EmocamError(f"cannot write {self.path}: {exc.strerror}") from None

    def write(self, item: Processed) -> None:
        try:
            self._file.write(json.dumps(frame_record(item, self.skipped)) + "\n")
            self._file.flush()
        except OSError as exc:
            raise EmocamError(f"cannot write {self.path}: {exc.strerror}") from None

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            raise EmocamError(f"cannot write {self.path}: {exc.strerror}") from None
