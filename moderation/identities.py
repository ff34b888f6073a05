"""Identities: the one list of identity terms, and everything that uses it.

A comment may say who someone is (``I am a gay man``, ``my Muslim neighbours``)
without attacking anyone, so the model must not treat an identity word as
evidence of abuse. The same list serves four purposes:

* the identity-balanced training augmentation (``augment``: the terms marked ``trained``);
* the identity words whose positive weights are removed after fitting (``neutralize_identity_terms``);
* the fairness probes (``identity_probes``: the terms marked ``probed``; five of them
  are never trained on, to see whether fairness carries over to unseen identities);
* the per-identity bias table of an evaluation (``identity_words``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["Identity", "IDENTITIES", "GROUPS", "training_terms", "probe_terms", "identity_words",
           "neutralize_identity_terms", "identity_probes"]

GROUPS = ("nationality", "ethnicity", "religion", "sexual_orientation", "gender", "disability", "age")


@dataclass(frozen=True)
class Identity:
    """An identity term, its group, and whether training augmentation and the fairness probes use it."""

    term: str
    group: str
    trained: bool = True
    probed: bool = True


IDENTITIES: tuple[Identity, ...] = (
    Identity('Russian', 'nationality', trained=True, probed=True),
    Identity('Kazakh', 'nationality', trained=True, probed=True),
    Identity('Ukrainian', 'nationality', trained=True, probed=True),
    Identity('Belarusian', 'nationality', trained=True, probed=False),
    Identity('Georgian', 'nationality', trained=True, probed=False),
    Identity('Chinese', 'nationality', trained=True, probed=True),
    Identity('Japanese', 'nationality', trained=True, probed=False),
    Identity('Korean', 'nationality', trained=True, probed=False),
    Identity('Mexican', 'nationality', trained=True, probed=True),
    Identity('American', 'nationality', trained=True, probed=True),
    Identity('Nigerian', 'nationality', trained=True, probed=True),
    Identity('Kenyan', 'nationality', trained=True, probed=False),
    Identity('Indian', 'nationality', trained=True, probed=True),
    Identity('Pakistani', 'nationality', trained=True, probed=True),
    Identity('Bangladeshi', 'nationality', trained=True, probed=False),
    Identity('Polish', 'nationality', trained=True, probed=True),
    Identity('Irish', 'nationality', trained=True, probed=True),
    Identity('Scottish', 'nationality', trained=True, probed=False),
    Identity('German', 'nationality', trained=True, probed=True),
    Identity('French', 'nationality', trained=True, probed=True),
    Identity('Italian', 'nationality', trained=True, probed=False),
    Identity('Greek', 'nationality', trained=True, probed=False),
    Identity('British', 'nationality', trained=True, probed=True),
    Identity('Syrian', 'nationality', trained=True, probed=True),
    Identity('Iraqi', 'nationality', trained=True, probed=False),
    Identity('Iranian', 'nationality', trained=True, probed=False),
    Identity('Afghan', 'nationality', trained=True, probed=True),
    Identity('Somali', 'nationality', trained=True, probed=True),
    Identity('Ethiopian', 'nationality', trained=True, probed=False),
    Identity('Turkish', 'nationality', trained=True, probed=True),
    Identity('Filipino', 'nationality', trained=True, probed=True),
    Identity('Vietnamese', 'nationality', trained=True, probed=True),
    Identity('Romanian', 'nationality', trained=True, probed=True),
    Identity('Israeli', 'nationality', trained=True, probed=True),
    Identity('Palestinian', 'nationality', trained=True, probed=True),
    Identity('Brazilian', 'nationality', trained=True, probed=False),
    Identity('Cuban', 'nationality', trained=True, probed=False),
    Identity('Haitian', 'nationality', trained=True, probed=False),
    Identity('Jamaican', 'nationality', trained=True, probed=False),
    Identity('Canadian', 'nationality', trained=True, probed=True),
    Identity('Australian', 'nationality', trained=True, probed=False),
    Identity('Chechen', 'nationality', trained=True, probed=False),
    Identity('Tatar', 'ethnicity', trained=True, probed=False),
    Identity('Uzbek', 'nationality', trained=True, probed=False),
    Identity('Black', 'ethnicity', trained=True, probed=True),
    Identity('white', 'ethnicity', trained=True, probed=True),
    Identity('Asian', 'ethnicity', trained=True, probed=True),
    Identity('Latino', 'ethnicity', trained=True, probed=True),
    Identity('Latina', 'ethnicity', trained=True, probed=False),
    Identity('Hispanic', 'ethnicity', trained=True, probed=True),
    Identity('Arab', 'ethnicity', trained=True, probed=True),
    Identity('Native American', 'ethnicity', trained=True, probed=True),
    Identity('Roma', 'ethnicity', trained=True, probed=True),
    Identity('African', 'ethnicity', trained=True, probed=True),
    Identity('Indigenous', 'ethnicity', trained=True, probed=True),
    Identity('biracial', 'ethnicity', trained=True, probed=False),
    Identity('Aboriginal', 'ethnicity', trained=True, probed=False),
    Identity('Uyghur', 'ethnicity', trained=True, probed=True),
    Identity('Kurdish', 'ethnicity', trained=True, probed=True),
    Identity('Slavic', 'ethnicity', trained=True, probed=False),
    Identity('Jewish', 'religion', trained=True, probed=True),
    Identity('Muslim', 'religion', trained=True, probed=True),
    Identity('Christian', 'religion', trained=True, probed=True),
    Identity('Catholic', 'religion', trained=True, probed=True),
    Identity('Hindu', 'religion', trained=True, probed=True),
    Identity('Buddhist', 'religion', trained=True, probed=True),
    Identity('Sikh', 'religion', trained=True, probed=True),
    Identity('atheist', 'religion', trained=True, probed=True),
    Identity('Protestant', 'religion', trained=True, probed=True),
    Identity('Mormon', 'religion', trained=True, probed=True),
    Identity('Orthodox', 'religion', trained=True, probed=True),
    Identity('evangelical', 'religion', trained=True, probed=False),
    Identity('Baptist', 'religion', trained=True, probed=False),
    Identity('Quaker', 'religion', trained=True, probed=False),
    Identity('gay', 'sexual_orientation', trained=True, probed=True),
    Identity('lesbian', 'sexual_orientation', trained=True, probed=True),
    Identity('bisexual', 'sexual_orientation', trained=True, probed=True),
    Identity('queer', 'sexual_orientation', trained=True, probed=True),
    Identity('straight', 'sexual_orientation', trained=True, probed=True),
    Identity('homosexual', 'sexual_orientation', trained=True, probed=True),
    Identity('LGBT', 'sexual_orientation', trained=True, probed=True),
    Identity('LGBTQ', 'sexual_orientation', trained=True, probed=False),
    Identity('transgender', 'gender', trained=True, probed=True),
    Identity('trans', 'gender', trained=True, probed=True),
    Identity('nonbinary', 'gender', trained=True, probed=True),
    Identity('female', 'gender', trained=True, probed=True),
    Identity('male', 'gender', trained=True, probed=True),
    Identity('intersex', 'gender', trained=True, probed=True),
    Identity('asexual', 'sexual_orientation', trained=True, probed=False),
    Identity('deaf', 'disability', trained=True, probed=True),
    Identity('blind', 'disability', trained=True, probed=True),
    Identity('autistic', 'disability', trained=True, probed=True),
    Identity('disabled', 'disability', trained=True, probed=True),
    Identity('mentally ill', 'disability', trained=True, probed=True),
    Identity('paralysed', 'disability', trained=True, probed=False),
    Identity('dyslexic', 'disability', trained=True, probed=True),
    Identity('elderly', 'age', trained=True, probed=True),
    Identity('young', 'age', trained=True, probed=True),
    Identity('old', 'age', trained=True, probed=True),
    Identity('teenage', 'age', trained=True, probed=True),
    Identity('retired', 'age', trained=True, probed=False),
    Identity('immigrant', 'nationality', trained=True, probed=True),
    Identity('refugee', 'nationality', trained=True, probed=True),
    Identity('migrant', 'nationality', trained=True, probed=True),
    Identity('mixed-race', 'ethnicity', trained=False, probed=True),
    Identity('Shia', 'religion', trained=False, probed=True),
    Identity('heterosexual', 'sexual_orientation', trained=False, probed=True),
    Identity('wheelchair-using', 'disability', trained=False, probed=True),
    Identity('middle-aged', 'age', trained=False, probed=True),
)


def training_terms() -> tuple[str, ...]:
    """The terms the identity-balanced augmentation is built from, in list order."""
    return tuple(i.term for i in IDENTITIES if i.trained)


def probe_terms() -> pd.DataFrame:
    """The fairness probes' terms and their groups (columns ``term``, ``group``), in list order."""
    return pd.DataFrame([(i.term, i.group) for i in IDENTITIES if i.probed], columns=["term", "group"])


# Words that often stand next to an identity word in benign text ("gay people", "are muslims").
NEIGHBOURS_AFTER = ("people", "person", "man", "men", "woman", "women", "community", "family",
                    "families", "friends", "friend", "neighbours", "neighbour", "couple", "kids",
                    "children", "and", "or", "rights", "culture", "voters", "citizens")
NEIGHBOURS_BEFORE = ("am", "are", "is", "as", "being", "my", "our", "the", "many", "most", "all",
                     "some", "fellow", "other", "im", "i'm", "be", "of", "for", "and")
# Plurals and group nouns the terms do not spell out.
_MORE_WORDS = ("jew", "jews", "gays", "lesbians", "muslims", "christians", "immigrants", "refugees", "migrants",
               "blacks", "whites", "asians", "arabs", "hindus", "sikhs", "atheists", "women", "woman", "men", "man",
               "girls", "boys", "russians", "ukrainians", "mexicans", "americans", "africans", "kazakhs")


def identity_words() -> list[str]:
    """Identity words (lower case, with common plurals) whose mere mention must not count as abuse.

    The words of the trained terms ("mentally ill" gives "mentally"; "ill" is left
    out, as it is an ordinary word) and the plurals and group nouns of ``_MORE_WORDS``.
    """
    words = {w.lower() for term in training_terms() for w in term.replace("-", " ").split()} - {"ill"}
    return sorted(words | set(_MORE_WORDS))


def neutralize_identity_terms(pipeline, words: Sequence[str]) -> int:
    """Remove the positive weight of identity words from a fitted pipeline's classifier; how many weights changed.

    The word itself (a word unigram), the word next to the words it most often
    stands with ("gay people", "are muslims") and the character n-grams of three
    or more characters inside it ("gay", " gay", "musl", ...) keep a negative
    weight if they had one but lose a positive one, so "I am a gay man" is scored
    as "I am a man" would be, while what is said about a group still counts.
    """
    from .linear import LinearHead

    union = pipeline.named_steps["features"]
    phrases = list(words) + [f"{w} {n}" for w in words for n in NEIGHBOURS_AFTER]
    phrases += [f"{n} {w}" for w in words for n in NEIGHBOURS_BEFORE]
    columns = []
    offset = 0
    for name, vectorizer in union.transformer_list:
        if name == "chars":
            occ = vectorizer.occurrences(list(words))
            keep = occ.end - occ.start >= 3
        else:
            occ = vectorizer.occurrences(phrases)
            keep = np.ones(len(occ.col), dtype=bool)
        columns.append(offset + occ.col[keep])
        offset += vectorizer.n_features
    return LinearHead.of(pipeline).clip_positive(np.unique(np.concatenate(columns)))


def identity_probes(templates: str | Path | pd.DataFrame, terms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every template × every probe term: columns text, label, identity, group, template.

    ``templates`` has columns ``template`` (with an ``{identity}`` slot) and ``label``;
    ``terms`` (columns ``term``, ``group``) defaults to ``probe_terms()``. Every
    identity is mentioned in exactly the same benign and abusive sentences, so any
    difference in scores between identities is the model's bias.
    """
    t = templates if isinstance(templates, pd.DataFrame) else pd.read_csv(templates)
    i = probe_terms() if terms is None else terms
    rows = [{"text": tpl.replace("{identity}", term), "label": int(label), "identity": term, "group": group,
             "template": tpl}
            for tpl, label in zip(t["template"], t["label"]) for term, group in zip(i["term"], i["group"])]
    return pd.DataFrame(rows)
