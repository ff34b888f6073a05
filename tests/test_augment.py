"""Our augmentation sets: well-formed frames, both labels, no contradictions or repeats, identities from one list."""

import re

import pandas as pd
import pytest

from moderation import augment
from moderation.augment import AUGMENTATIONS
from moderation.categories import CATEGORIES
from moderation.identities import training_terms

EXISTING = (augment.identity_augmentation, augment.threat_augmentation, augment.slur_augmentation)
MINIMAL_PAIR_SETS = (augment.counter_speech_augmentation, augment.reclaimed_augmentation,
                     augment.profanity_augmentation, augment.idiom_augmentation, augment.threat_augmentation_plain,
                     augment.dehumanisation_augmentation, augment.hate_statement_augmentation)
IDENTITY_SETS = (augment.counter_speech_augmentation, augment.dehumanisation_augmentation,
                 augment.hate_statement_augmentation)
NAMES = [f.__name__ for f in MINIMAL_PAIR_SETS]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {f.__name__: f() for f in AUGMENTATIONS}


def test_every_set_is_registered_after_the_existing_three():
    assert AUGMENTATIONS == EXISTING + MINIMAL_PAIR_SETS


@pytest.mark.parametrize("name", NAMES)
def test_frame_shape_labels_and_categories(frames, name):
    frame = frames[name]
    assert list(frame.columns[:3]) == ["text", "label", "source"]
    assert set(frame.columns[3:]) <= set(CATEGORIES) and len(frame.columns) > 3
    assert (frame["source"] == name).all()
    assert set(frame["label"].unique()) == {0, 1}
    assert frame["text"].map(lambda t: isinstance(t, str) and t.strip() == t and len(t) > 0).all()
    assert not frame["text"].str.contains(r"\{\w+\}").any()  # no unfilled slot
    for c in frame.columns[3:]:
        assert str(frame[c].dtype) == "Float64"
        assert frame[c].dropna().isin([0.0, 1.0]).all()
        assert (frame.loc[frame[c] == 1, "label"] == 1).all(), f"{c} is 1 on a row that is kept"


@pytest.mark.parametrize("name", NAMES)
def test_sets_are_minimal_pairs_near_half_and_half(frames, name):
    frame = frames[name]
    assert 300 <= len(frame) <= 3000
    assert 0.45 <= frame["label"].mean() <= 0.55


def test_no_text_has_both_labels_and_none_repeats_within_or_across_sets(frames):
    pool = pd.concat(frames.values(), ignore_index=True)
    assert not pool["text"].duplicated().any(), pool.loc[pool["text"].duplicated(keep=False), ["text", "source"]]
    folded = pool["text"].str.lower().str.rstrip(".!")
    labels = pool.groupby(folded)["label"].nunique()
    assert (labels == 1).all(), labels[labels > 1].index[:5].tolist()


@pytest.mark.parametrize("make", MINIMAL_PAIR_SETS, ids=NAMES)
def test_sets_are_deterministic(make):
    pd.testing.assert_frame_equal(make(), make())


def test_identity_terms_come_from_training_terms(monkeypatch):
    made_up = ("Zorblaxian", "Quuxish")
    monkeypatch.setattr(augment, "training_terms", lambda: made_up)
    for make in IDENTITY_SETS:
        patched = make()
        pd.testing.assert_frame_equal(patched, make(terms=made_up))
        assert patched["text"].str.contains("Zorblaxian|Quuxish").any()
    dehumanisation = augment.dehumanisation_augmentation()
    assert dehumanisation["text"].str.contains("zorblaxian|quuxish", case=False).all()
    hate = augment.hate_statement_augmentation()
    assert hate.loc[hate["label"] == 1, "text"].str.contains("zorblaxian|quuxish", case=False).all()


def test_every_training_term_is_in_both_labels(frames):
    for name in ("dehumanisation_augmentation", "hate_statement_augmentation"):
        frame = frames[name]
        for term in training_terms():
            said = frame["text"].str.contains(rf"\b{re.escape(term)}\b", case=False)
            assert set(frame.loc[said, "label"]) == {0, 1}, (name, term)


def test_every_slur_and_reclaimed_word_is_in_both_labels(frames):
    counter = frames["counter_speech_augmentation"]
    for slur in augment.COUNTER_SLURS:
        said = counter["text"].str.contains(rf"\b{re.escape(slur)}", case=False)
        assert set(counter.loc[said, "label"]) == {0, 1}, slur
    reclaimed = frames["reclaimed_augmentation"]
    for word, words, _ in augment.RECLAIMED_WORDS:
        said = reclaimed["text"].str.contains(rf"\b{re.escape(word)}", case=False)
        assert set(reclaimed.loc[said, "label"]) == {0, 1}, word


def test_quoted_threats_are_kept_and_the_same_threats_removed(frames):
    frame = frames["threat_augmentation_plain"]
    quoted = frame["text"].str.contains("'We know where you live'", regex=False)
    said = frame["text"].str.contains(r"^(?:[A-Z][^.?]*[.?] )?We know where you live\b")
    assert (frame.loc[quoted, "label"] == 0).all() and quoted.any()
    assert (frame.loc[said, "label"] == 1).all() and said.any()
