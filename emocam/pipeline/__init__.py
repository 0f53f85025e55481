"""The stages a frame goes through, in data order: sources, faces, tracking, emotion, smoothing, style,
annotate, sinks; `pipeline` holds them together and `loop` drives them."""
