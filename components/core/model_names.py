"""Model names users write in presets and on the command line (the design card's names).

The Trainer's model zoo registers a builder under each of these names and the Baselines
component a scikit-learn estimator under each baseline name; tests check the registries match.
MER names are `TEXT+AUDIO`: any text encoder with any audio encoder builds, these are the
named ones (the reference's fusions, then the ones that run offline).
"""

BASELINES: tuple[str, ...] = ("linsvm", "rf", "mnb", "lr")

TER_MODELS: tuple[str, ...] = ("tfidf_dense", "minilm_dense", "bert_bilstm", "electra_dense",
                               "minilm+tfidf")
SER_MODELS: tuple[str, ...] = ("dense", "cnn1d", "cnn2d", "tdnn", "yamnet_lstm", "trill_lstm")
MER_MODELS: tuple[str, ...] = (
    "bert+cnn1d", "electra+cnn1d", "electra+cnn2d", "electra+trill", "electra+yamnet",
    "minilm+cnn1d", "minilm+cnn2d", "tfidf+cnn1d", "tfidf+dense")
MODEL_NAMES: dict[str, tuple[str, ...]] = {"ter": TER_MODELS, "ser": SER_MODELS,
                                           "mer": MER_MODELS}


def is_baseline(name: str) -> bool:
    return name in BASELINES
