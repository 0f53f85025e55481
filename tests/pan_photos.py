"""The skip marker of tests on camera pans over photos (tools.temporal.clips.PAN_PHOTOS): Debian's opencv-doc."""
from __future__ import annotations

import pytest

from tools.temporal import clips as temporal_clips

needs_pan_photos = pytest.mark.skipif(
    not all((temporal_clips.OPENCV_DATA / photo).is_file() for photo in temporal_clips.PAN_PHOTOS),
    reason="the pan photos come with Debian's opencv-doc")
