"""The shipped default model: packaged, intact, small, and right about our own sample comments."""

import pandas as pd
import pytest

import moderation
from moderation.persist import default_model_path

from conftest import DATA


def test_default_model_is_shipped_and_verified(default_model):
    assert 0.0 < default_model.threshold < 1.0
    assert default_model.card.name == "default"
    names = [s.name for s in default_model.card.sources]
    assert names == ["toxic_spans", "davidson", "impermium", "toxigen", "olid", "hateval", "stormfront", "conan",
                     "ghc", "convabuse", "cadd", "hatemoji_build", "edos"]
    for source in default_model.card.sources:
        assert source.licence and len(source.sha256) == 64
    assert default_model.card.categories.names == ["insult", "identity_attack", "obscene", "threat"]


def test_default_model_directory_is_under_25_mb():
    total = sum(p.stat().st_size for p in default_model_path().iterdir())
    assert total < 25 * 1024 * 1024


def test_load_model_without_path_is_the_default(default_model):
    assert moderation.load_model().card.file == default_model.card.file


@pytest.fixture(scope="module")
def sample(default_model) -> pd.DataFrame:
    comments = pd.read_csv(DATA / "sample_comments.csv")
    expected = pd.read_csv(DATA / "sample_comments_expected.csv").set_index("id").loc[comments["id"]]
    return comments.assign(should_flag=expected["should_flag"].astype(bool).to_numpy(),
                           flagged=default_model.flag(comments["text"]))


def test_no_civil_sample_comment_is_flagged(sample):
    assert sample.loc[~sample["should_flag"] & sample["flagged"], "text"].tolist() == []


@pytest.mark.xfail(strict=True, reason="6 of the 25 abusive sample comments are missed: three threats without an "
                                       "abusive word, two slurs the corpora do not use, one slur-and-threat")
def test_every_abusive_sample_comment_is_flagged(sample):
    assert sample.loc[sample["should_flag"] & ~sample["flagged"], "text"].tolist() == []


def test_most_abusive_sample_comments_are_flagged(sample):
    """A guard at the level reached: 19 of 25."""
    assert sample.loc[sample["should_flag"], "flagged"].sum() >= 19


def test_categories_and_top_category_in_reasons(default_model):
    table = default_model.score(["I will break your neck, you traitor", "you stupid moron"], categories=True)
    assert list(table.columns) == ["score", "insult", "identity_attack", "obscene", "threat"]
    assert table["threat"][0] > table["threat"][1]
    assert table["insult"][1] > table["insult"][0]
    _, reasons = default_model.score_with_reasons(["you stupid moron"])
    assert reasons[0].startswith("insult: ")


def test_explain_many_gives_each_text_its_own_spans(default_model, monkeypatch):
    """Texts explained together, in blocks, get the spans each gets alone: the queue's ingest and the Perspective
    API's batches explain that way."""
    texts = pd.read_csv(DATA / "sample_comments.csv")["text"].tolist() + [
        "", "   ", None, 42, "ok", "Shut up, you f.u.c.k.i.n.g m0r0n.",
        "The council meeting ran late and the budget vote was postponed. You are a pathetic moron.\n\nThanks.",
        " ".join(["The minister answered every question about the troops at length."] * 3) + " You disgusting idiot."]
    assert max(map(len, texts[-2:])) > 150
    for options in ({}, {"every_text": True}, {"min_weight": 0.3}):
        alone = [default_model.explain(t, **options) for t in texts]
        assert sum(map(bool, alone)) >= 15
        # blocks of 7 texts, then of at most 150 characters (a longer text alone): they end inside the list
        for texts_per_block, chars_per_block in ((7, 400_000), (1_000, 150)):
            monkeypatch.setattr(moderation.model, "EXPLAIN_BLOCK", texts_per_block)
            monkeypatch.setattr(moderation.model, "EXPLAIN_BLOCK_CHARS", chars_per_block)
            assert default_model.explain_many(texts, **options) == alone
    assert default_model.explain_many(iter(texts[:3])) == [default_model.explain(t) for t in texts[:3]]
    assert default_model.explain_many([]) == []


def test_explain_highlights_original_characters(default_model):
    text = "Shut up, you f.u.c.k.i.n.g m0r0n."
    spans = default_model.explain(text)
    assert spans
    assert all(text[s.start:s.end] == s.fragment for s in spans)
    assert any("m0r0n" in s.fragment or "f.u.c.k.i.n.g" in s.fragment for s in spans)
