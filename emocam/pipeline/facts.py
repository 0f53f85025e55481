"""What the later stages tell about one frame: typed, with the same fields in every mode.

They reach the JSON records (`records.py`) as they are, so a record has the same keys whatever
`--regions` or `--temporal` says.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FrameFacts:
    """Per-frame facts of the style stages."""

    keyframe: bool = True  # the style network ran on this frame (False: the last output carried along the flow)
    temporal_reset: bool = False  # the temporal history was dropped (a cut, a new scene, a first frame)
    regions: str = "frame"  # how styles fall on the frame (--regions)
    styles: list[str] = field(default_factory=list)  # the emotions whose look the network ran for on this frame
    networks: dict[str, str] = field(default_factory=dict)  # stage -> what really ran its network (backend, device, precision)

    def as_record(self) -> dict:
        return {"keyframe": self.keyframe, "temporal_reset": self.temporal_reset, "regions": self.regions,
                "styles": list(self.styles), "networks": dict(self.networks)}
