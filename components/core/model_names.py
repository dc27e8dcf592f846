"""Model names users write in presets and on the command line (the design card's names).

The Trainer's model zoo registers a builder under each of these names and the Baselines
component a scikit-learn estimator under each baseline name; tests check the registries match.
MER names are `TEXT+AUDIO`: any text encoder with any audio encoder builds, these are the
named ones (the reference's fusions, then the ones that run offline).
"""

BASELINES: tuple[str, ...] = ("linsvm", "rf", "mnb", "lr")

TER_MODELS: tuple[str, ...] = ("tfidf_dense", "minilm_dense", "bert_bilstm", "electra_dense",
                               "minilm+tfidf", "mpnet_dense", "mpnet_bilstm")
SER_MODELS: tuple[str, ...] = ("dense", "cnn1d", "cnn2d", "tdnn", "reslstm", "yamnet_lstm",
                               "trill_lstm")
MER_MODELS: tuple[str, ...] = (
    "bert+cnn1d", "electra+cnn1d", "electra+cnn2d", "electra+trill", "electra+yamnet",
    "minilm+cnn1d", "minilm+cnn2d", "tfidf+cnn1d", "tfidf+dense")
MODEL_NAMES: dict[str, tuple[str, ...]] = {"ter": TER_MODELS, "ser": SER_MODELS,
                                           "mer": MER_MODELS}


def is_baseline(name: str) -> bool:
    return name in BASELINES


# Models whose encoder is not their name's first part: all-mpnet-base-v2 has two heads, the
# pooled sentence embedding (`mpnet_dense`, encoder `mpnet`) and the reference's BiLSTM over
# its token states (`mpnet_bilstm`).
OWN_ENCODER: frozenset[str] = frozenset({"mpnet_bilstm"})


def encoder_name(name: str) -> str:
    """A named single-task model's encoder (`electra_dense` -> `electra`); other names as given
    (`electra`, `cnn1d`; an unknown `yamnet_dense` stays unknown)."""
    if name in OWN_ENCODER:
        return name
    return name.split("_")[0] if name in TER_MODELS + SER_MODELS else name


TEXT_ENCODER_NAMES = frozenset(encoder_name(m) for m in TER_MODELS if "+" not in m)
AUDIO_ENCODER_NAMES = frozenset(encoder_name(m) for m in SER_MODELS)


def parse_model_name(task: str, name: str) -> tuple[list[str], list[str]]:
    """(text encoders, audio encoders) a task's model name builds; the one parser of names.

    TER: one text encoder or several fused with `+` (`minilm+tfidf`); SER: one audio encoder;
    MER: `TEXT+AUDIO`. Each part is an encoder's short name or its single-task model name.
    A name that does not parse is a ConfigurationError saying what is allowed.
    """
    from components.core.errors import ConfigurationError

    def bad(why: str) -> ConfigurationError:
        return ConfigurationError(f"Unknown {task} model {name!r}: {why}")

    if task == "ter":
        texts = [encoder_name(part) for part in name.split("+")]
        unknown = [t for t in texts if t not in TEXT_ENCODER_NAMES]
        if unknown:
            raise bad(f"{unknown[0]!r} is not one of {sorted(TEXT_ENCODER_NAMES)}.")
        if len(set(texts)) != len(texts):
            raise bad("it names an encoder twice.")
        return texts, []
    if task == "ser":
        audio = encoder_name(name)
        if audio not in AUDIO_ENCODER_NAMES or "+" in name:
            raise bad(f"{audio!r} is not one of {sorted(AUDIO_ENCODER_NAMES)}.")
        return [], [audio]
    if task == "mer":
        text, sep, audio = name.partition("+")
        if not sep:
            raise bad("MER model names are TEXT+AUDIO (e.g. tfidf+cnn1d).")
        text, audio = encoder_name(text), encoder_name(audio)
        if text not in TEXT_ENCODER_NAMES:
            raise bad(f"{text!r} is not one of {sorted(TEXT_ENCODER_NAMES)}.")
        if audio not in AUDIO_ENCODER_NAMES:
            raise bad(f"{audio!r} is not one of {sorted(AUDIO_ENCODER_NAMES)}.")
        return [text], [audio]
    raise bad("unknown task; tasks are ter, ser, mer.")


def is_model_name(task: str, name: str) -> bool:
    """Whether the Trainer's model zoo builds `name` for `task`, answered without loading it
    (the config file and presets are checked with this before anything runs)."""
    try:
        parse_model_name(task, name)
    except ValueError:
        return False
    return True
