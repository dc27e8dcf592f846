"""The Evaluator: TFX's, with its input batches bounded by bytes (`executor.py`)."""
