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


def _encoder_names(models: tuple[str, ...]) -> set[str]:
    """A single-task model's name and its encoder's short name (`electra_dense` -> `electra`)."""
    return set(models) | {m.split("_")[0] for m in models}


def is_model_name(task: str, name: str) -> bool:
    """Whether the Trainer's model zoo builds `name` for `task`, answered without loading it.

    TER and SER take a named model (or its encoder's short name); MER takes any
    `TEXT+AUDIO` pair of them. The config file and presets are checked with this before
    anything runs; tests check it agrees with the zoo (`models.build.parse_model_name`).
    """
    if task == "mer":
        text, sep, audio = name.partition("+")
        return bool(sep) and text in _encoder_names(TER_MODELS) and \
            audio in _encoder_names(SER_MODELS)
    return task in MODEL_NAMES and name in _encoder_names(MODEL_NAMES[task])
