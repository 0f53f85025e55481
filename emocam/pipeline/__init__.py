"""The stages a frame goes through, in data order: sources, faces, tracking, emotion, smoothing, style,
annotate, sinks; `stages/` gives each step of the pipeline one lifecycle, `pipeline` holds them in one list and
`loop` drives them."""
