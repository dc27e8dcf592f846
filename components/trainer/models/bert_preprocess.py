"""TF Hub-style BERT preprocessing SavedModels (strings -> token ids, mask, type ids), offline.

The converted encoders (``minilm_convert``: MiniLM-L6, all-mpnet-base-v2) and the test
stand-ins need a preprocessor with the interface of TF Hub's ``bert_en_uncased_preprocess/3``
for their own WordPiece vocabulary; this module builds one from a ``vocab.txt``, with the
tokenizer inside the graph (``tensorflow_text.BertTokenizer``), so an exported model tokenises
exactly as in training. Loading it needs ``import tensorflow_text`` first.
"""

from __future__ import annotations

import components.core.tf_env  # noqa: E402, F401 - TF's environment, before TensorFlow

# isort: split

from typing import Mapping, Sequence  # noqa: E402

import tensorflow as tf  # noqa: E402

from components.trainer.models.minilm_weights import load_vocab  # noqa: E402

BERT_TOKENS = {"cls": "[CLS]", "sep": "[SEP]", "unk": "[UNK]"}


class _Preprocessor(tf.Module):
    """TF Hub BERT preprocessing (bert_en_uncased_preprocess/3) for a WordPiece vocabulary."""

    def __init__(self, vocab_path: str, seq_length: int, tokens: Mapping[str, str]):
        super().__init__(name="minilm_preprocess")
        import tensorflow_text as text

        vocab = load_vocab(vocab_path)
        self.seq_length = seq_length
        self.cls_id, self.sep_id = vocab[tokens["cls"]], vocab[tokens["sep"]]
        # The vocab file becomes a SavedModel asset through the initializer.
        self.vocab_table = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(
                vocab_path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
            num_oov_buckets=1)
        self.tokenizer = text.BertTokenizer(self.vocab_table, token_out_type=tf.int32,
                                            lower_case=True, unknown_token=tokens["unk"])

    def tokenize(self, sentences: tf.Tensor) -> tf.RaggedTensor:
        """[B] strings -> ragged int32 [B, words, wordpieces], as the TF Hub preprocessor."""
        return self.tokenizer.tokenize(tf.reshape(sentences, [-1]))

    def pack(self, segments: Sequence[tf.RaggedTensor]) -> dict:
        """[CLS] a [SEP] (b [SEP]); round-robin truncation to seq_length; pad with 0."""
        import tensorflow_text as text

        flat = [tf.cast(s.merge_dims(-2, -1), tf.int32) if s.ragged_rank > 1
                else tf.cast(s, tf.int32) for s in segments]
        trimmed = text.RoundRobinTrimmer(max_seq_length=self.seq_length - len(flat) - 1).trim(flat)
        ids, type_ids = text.combine_segments(trimmed, start_of_sequence_id=self.cls_id,
                                              end_of_segment_id=self.sep_id)
        word_ids, mask = text.pad_model_inputs(ids, max_seq_length=self.seq_length)
        type_ids, _ = text.pad_model_inputs(type_ids, max_seq_length=self.seq_length)
        return {"input_word_ids": tf.cast(word_ids, tf.int32),
                "input_mask": tf.cast(mask, tf.int32),
                "input_type_ids": tf.cast(type_ids, tf.int32)}


def save_bert_preprocessor(vocab_path: str, seq_length: int, path: str,
                           tokens: Mapping[str, str] = BERT_TOKENS) -> None:
    """Saves ``__call__`` (strings -> BERT inputs), ``tokenize`` and ``bert_pack_inputs``.

    TF Hub's ``bert_en_uncased_preprocess`` interface for any WordPiece vocabulary file (one
    token per line): MiniLM's here, the small stand-in vocabularies in ``hub_standins``.

    ``tokens`` names the vocabulary's cls, sep and unk tokens (MPNet's are ``<s>``, ``</s>``;
    its pairs would be joined by two ``</s>``, which this BERT packing does not do, so it is
    exact for the single segments the models here feed it).

    ``__call__`` accepts any string shape and flattens it to [B], so a [B, 1] column from
    tf.Transform works as well as a [B] vector.
    """
    pre = _Preprocessor(vocab_path, seq_length, tokens)
    string_spec = tf.TensorSpec(None, tf.string)
    tokens_spec = tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2)

    @tf.function
    def call(sentences):
        return pre.pack([pre.tokenize(sentences)])

    @tf.function
    def tokenize(sentences):
        return pre.tokenize(sentences)

    @tf.function
    def bert_pack_inputs(segments):
        return pre.pack(segments)

    call.get_concrete_function(string_spec)
    tokenize.get_concrete_function(string_spec)
    for n_segments in (1, 2):
        bert_pack_inputs.get_concrete_function([tokens_spec] * n_segments)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return pre.pack([pre.tokenize(text)])

    root = tf.train.Checkpoint()
    root.preprocessor = pre
    root.__call__ = call
    root.tokenize = tokenize
    root.bert_pack_inputs = bert_pack_inputs
    root.seq_length = tf.Variable(seq_length, trainable=False, name="seq_length")
    root.variables = []
    root.trainable_variables = []
    root.regularization_losses = []
    tf.saved_model.save(root, path, signatures={"serving_default": serve})
