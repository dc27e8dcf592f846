"""Transformed feature names: the interface between the Transform and what reads its output.

The Transform writes these; the Trainer's models, the Baselines and the studies read them.
"""

from components.core import contract

TEXT_TFIDF = "text_tfidf"
AUDIO_FEATURES = "audio_features"
LOG_MEL = "log_mel"
TEXT_RAW = "text_raw"  # the raw string, for pretrained text encoders (tokenised in-model)
WAVEFORM = "waveform"  # padded 16 kHz float waveform, for pretrained audio encoders
# The label key is the contract's (the Transform passes it through unchanged).
LABEL = contract.LABEL
# The speaker id, passed through unchanged for the speaker-held-out validation carve-out
# (components/core/carve_out.py); never a model input, and absent at serving.
SPEAKER = contract.SPEAKER

# Computed only when a configured model reads them (they are large); TEXT_TFIDF and
# AUDIO_FEATURES always are, for the tasks that need them (the baselines train on them).
OPTIONAL_FEATURES = (LOG_MEL, TEXT_RAW, WAVEFORM)
