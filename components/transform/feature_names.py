"""Transformed feature names: the interface between the Transform and its readers.

A module of its own, with no imports, so code that only needs the names (the experiments CLI,
the benchmarks) does not load tf.Transform to get them.
"""

TEXT_TFIDF = "text_tfidf"
AUDIO_FEATURES = "audio_features"
LOG_MEL = "log_mel"
TEXT_RAW = "text_raw"  # the raw string, for pretrained text encoders (tokenised in-model)
WAVEFORM = "waveform"  # padded 16 kHz float waveform, for pretrained audio encoders
LABEL = "label"
