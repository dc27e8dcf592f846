"""The core: facts every layer shares, importing nothing else of this project.

The data contract (tf.Example feature names, the 16 kHz sample rate, quarantine reasons), the
tasks and the inputs each reads, the exported models' signature and output names, the
Transform's output feature names, the model and baseline names, the typed configuration schema,
and the two pieces of audio/serving plumbing that training and serving must share byte for byte
(WAV encoding and TF Serving warm-up records).

Why a package of its own: the components, the serving layer and the application all read
these facts, so they must live below all of them (docs/architecture.md). Nothing here imports
TensorFlow at module import time, so `serving` and the CLI can read a name without loading TF.
"""
