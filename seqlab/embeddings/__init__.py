"""Word embeddings (seed 001): word2vec CBOW / skip-gram and the vectors it learns.

    >>> from seqlab.embeddings import Word2Vec
    >>> model = Word2Vec([["le", "roi"], ["la", "reine"]] * 20, vector_size=4, min_count=1)
"""
from seqlab.embeddings.planted import PlantedCorpus, planted_corpus
from seqlab.embeddings.vectors import WordVectors
from seqlab.embeddings.vocab import Vocabulary, tokenize
from seqlab.embeddings.word2vec import Word2Vec, Word2VecConfig

__all__ = ["Word2Vec", "Word2VecConfig", "WordVectors", "Vocabulary", "tokenize",
           "planted_corpus", "PlantedCorpus"]
