"""Offline experiments that reproduce the reference's studies with the pipeline's own code.

They live beside the TFX components (not inside them) because they answer design questions,
such as which utterance features to keep, rather than produce a served model; but they reuse the
in-graph features and the same baselines/models so their answers apply to what is deployed.
"""
