"""The canonical emotion order used everywhere in emocam (FER2013's and ExpW's order)."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NEUTRAL = EMOTIONS.index("neutral")
