"""A generated corpus with planted meaning, to check word vectors against a known truth.

Each sentence is a bag of 7 words in random order (the window sees them all):

* **people**: a person noun with a gender and a role (king = male royal, queen = female
  royal, woman = female commoner...), two words of its gender's context pool (he/his... or
  she/her...), two words of its role's pool (crown, throne... for royals) and two fillers.
  Since king shares "he" contexts with man and "crown" contexts with queen, the vectors
  should satisfy king - man + woman ≈ queen: the course's E(roi) - E(homme) + E(femme) ≈
  E(reine), planted.
* **topics**: two members of a cluster (animals, fruits, colours...), two words of the
  cluster's own context pool and two fillers, so members of a cluster are near neighbours.

Fillers (the, a, of...) are drawn with Zipf-like weights, so subsampling has work to do.
With ``noise > 0`` each word is replaced, with that probability, by one of
``n_distractors`` meaningless words ("x17", Zipf-distributed): a harder, text8-like corpus
where the planted signal is thinner and the vocabulary larger.

    >>> corpus = planted_corpus(200, seed=0)
    >>> len(corpus.sentences), len(corpus.sentences[0])
    (200, 7)
    >>> corpus.analogies[0]
    ('man', 'king', 'woman', 'queen')
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GENDER_POOLS = {
    "m": ["he", "him", "his", "himself", "mr", "sir"],
    "f": ["she", "her", "hers", "herself", "mrs", "madam"],
}
ROLES = {  # role: (male word, female word), role's context pool
    "common": (("man", "woman"), ["work", "street", "town", "job", "market", "shop"]),
    "royal": (("king", "queen"), ["crown", "throne", "palace", "reign", "royal", "court"]),
    "young": (("boy", "girl"), ["school", "toy", "play", "lesson", "game", "class"]),
    "heir": (("prince", "princess"), ["heir", "castle", "knight", "tower", "duty", "title"]),
    "parent": (("father", "mother"), ["family", "home", "children", "care", "kitchen", "garden"]),
    "sibling": (("brother", "sister"), ["twin", "elder", "younger", "sibling", "cousin", "rival"]),
}
CLUSTERS = {  # cluster: members, cluster's context pool
    "animal": (["cat", "dog", "horse", "cow", "sheep", "goat"],
               ["fur", "tail", "farm", "barn", "feed", "paw"]),
    "fruit": (["apple", "pear", "plum", "cherry", "grape", "peach"],
              ["sweet", "ripe", "juice", "tree", "orchard", "pie"]),
    "colour": (["red", "blue", "green", "yellow", "white", "black"],
               ["paint", "shade", "bright", "dark", "dye", "hue"]),
    "tool": (["hammer", "saw", "drill", "wrench", "chisel", "spade"],
             ["nail", "wood", "bench", "shed", "blade", "handle"]),
}
FILLERS = ["the", "a", "of", "and", "to", "in", "is", "was", "with", "on", "at", "by"]


@dataclass
class PlantedCorpus:
    sentences: list            # list of token lists
    clusters: dict             # cluster -> member words (similar words)
    analogies: list            # (a, b, c, d): d ≈ b - a + c


def _pick(pool: list, rows: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k words per row drawn uniformly from pool[rows[i]] (pools of equal size). (n, k)"""
    words = np.array(pool)  # (n_pools, pool_size)
    return words[rows[:, None], rng.integers(0, words.shape[1], size=(len(rows), k))]


def planted_corpus(n_sentences: int = 20000, people_share: float = 0.6, noise: float = 0.0,
                   n_distractors: int = 2000, seed: int = 0) -> PlantedCorpus:
    """``n_sentences`` generated sentences (see the module docstring), reproducible."""
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"planted_corpus: noise must lie in [0, 1), got {noise!r}.")
    rng = np.random.default_rng(seed)
    roles = list(ROLES)
    genders = ["m", "f"]
    n_people = int(round(n_sentences * people_share))
    n_topic = n_sentences - n_people
    filler_p = 1.0 / np.arange(1, len(FILLERS) + 1)
    filler_p /= filler_p.sum()

    # people: noun, 2 gender words, 2 role words, 2 fillers  -> (n_people, 7)
    g = rng.integers(0, 2, n_people)
    r = rng.integers(0, len(roles), n_people)
    nouns = np.array([ROLES[x][0] for x in roles])[r, g]  # (n_people,)
    people = np.column_stack([
        nouns,
        _pick([GENDER_POOLS[x] for x in genders], g, 2, rng),
        _pick([ROLES[x][1] for x in roles], r, 2, rng),
        np.array(FILLERS)[rng.choice(len(FILLERS), (n_people, 2), p=filler_p)],
    ])
    # topics: 2 members, 2 cluster words, 2 fillers, 1 more filler -> (n_topic, 7)
    names = list(CLUSTERS)
    c = rng.integers(0, len(names), n_topic)
    topics = np.column_stack([
        _pick([CLUSTERS[x][0] for x in names], c, 2, rng),
        _pick([CLUSTERS[x][1] for x in names], c, 2, rng),
        np.array(FILLERS)[rng.choice(len(FILLERS), (n_topic, 3), p=filler_p)],
    ])
    rows = np.concatenate([people, topics])  # (n, 7)
    rows = rows[rng.permutation(len(rows))]
    if noise > 0:  # Zipf-distributed distractors replace a share of the words
        zipf = 1.0 / np.arange(1, n_distractors + 1)
        hit = rng.random(rows.shape) < noise
        fake = rng.choice(n_distractors, size=int(hit.sum()), p=zipf / zipf.sum())
        rows = rows.astype(object)
        rows[hit] = np.char.add("x", fake.astype(str))
    order = np.argsort(rng.random(rows.shape), axis=1)  # shuffle words inside each sentence
    rows = np.take_along_axis(rows, order, axis=1)

    analogies = []
    for r1 in roles:
        for r2 in roles:
            if r1 == r2:
                continue
            (m1, f1), (m2, f2) = ROLES[r1][0], ROLES[r2][0]
            analogies += [(m1, m2, f1, f2), (f1, f2, m1, m2)]
    return PlantedCorpus(sentences=rows.tolist(),
                         clusters={k: list(v[0]) for k, v in CLUSTERS.items()},
                         analogies=analogies)
