"""Files in and out, below the pipeline: where outputs go and how they are written without loss."""
