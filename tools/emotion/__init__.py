"""Emotion classifier tools: data readers, the seed CNN, training, evaluation, reports, a generated data set."""
