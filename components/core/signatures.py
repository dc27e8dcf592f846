"""Names of the exported models' interface: what TFMA, TF Serving and every client call.

`serving_default` takes serialized tf.Examples (TFMA, batch inference); `predict_raw` takes the
raw contract inputs of the task (text strings and/or WAV bytes, see `tasks.TASK_INPUTS`). Both
return `probabilities` [batch, classes] and `emotions` [batch, classes] (the class names).
"""

SERVING_DEFAULT = "serving_default"
RAW_SIGNATURE = "predict_raw"
EXAMPLES_INPUT = "examples"  # serving_default's one input: serialized tf.Examples
PROBABILITIES = "probabilities"
EMOTIONS = "emotions"
