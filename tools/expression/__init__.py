"""Expression editing: evaluation (emotion score, faces kept, pixels kept, speed, contact sheet) and the rest mesh."""
