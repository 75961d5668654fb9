"""Text data: vocabularies, corpora (a file or the built-in stdlib corpus), the train/val split, TBPTT batches."""

from .batching import TBPTTBatcher
from .corpus import CorpusInfo, default_corpus, read_text, train_val_split
from .vocab import UNK, CharVocab, WordVocab, tokenize_words

__all__ = ["UNK", "CharVocab", "CorpusInfo", "TBPTTBatcher", "WordVocab", "default_corpus", "read_text",
           "tokenize_words", "train_val_split"]
