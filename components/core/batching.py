"""How many examples a Beam stage may batch: bounded by bytes, from the longest clip allowed.

TFDV and tf.Transform batch up to 1000 examples by count. With raw audio in every example that
is up to 1000 x `features.max_duration_s` of 16-bit WAV (1000 x 0.96 MB at 30 s) in one Python
worker's batch, several of them in flight; a batch bounded by bytes keeps a worker's memory flat
whatever the clips' length (docs/scaling.md). Text-only data keeps the runners' own batching.
"""

from __future__ import annotations

from typing import Optional

from components.core.contract import SAMPLE_RATE

# Target bytes of raw audio in one batch, and 16-bit mono samples (what ingestion writes).
TARGET_BATCH_BYTES = 64 * 1024 * 1024
BYTES_PER_SAMPLE = 2


def audio_batch_size(max_duration_s: float, has_audio: bool = True) -> Optional[int]:
    """Examples per batch so that clips of the longest allowed length fill ~64 MiB; None (the
    runner's dynamic batching) when the examples carry no audio."""
    if not has_audio:
        return None
    clip_bytes = max(1, int(max_duration_s * SAMPLE_RATE * BYTES_PER_SAMPLE))
    return max(1, TARGET_BATCH_BYTES // clip_bytes)
