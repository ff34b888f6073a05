"""Loaders for the public corpora (skipped without ../shared/data, required in CI)."""

import pytest

from moderation import ModerationError
from moderation.corpora import CATEGORIES, CORPORA, corpus_files_sha256, describe, find_data_root, load_corpora


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_each_corpus_loads_in_the_common_shape(data_root, name):
    df = load_corpora(data_root, [name])
    assert len(df) > 500
    assert list(df.columns[:7]) == ["text", "label", "source", *CATEGORIES]
    assert set(df["label"].unique()) == {0, 1}
    assert (df["source"] == name).all()
    assert df["text"].map(lambda t: isinstance(t, str) and t.strip() != "").all()
    assert not df["text"].duplicated().any()
    for c in CATEGORIES:
        assert str(df[c].dtype) == "Float64"


def test_toxic_spans_has_spans_inside_texts(data_root):
    df = load_corpora(data_root, ["toxic_spans"])
    assert df["spans"].map(len).sum() > 10_000
    for text, spans in zip(df["text"], df["spans"]):
        assert all(0 <= s < e <= len(text) for s, e in spans)


def test_describe_and_hash_are_stable(data_root):
    first = describe(data_root, ["impermium"])
    assert first == describe(data_root, ["impermium"])
    assert first[0]["sha256"] == corpus_files_sha256(data_root, "impermium")
    assert first[0]["licence"] and first[0]["source_url"].startswith("github.com/")
    assert first[0]["open_licence"] is False


def test_open_licence_only_where_any_use_is_allowed():
    assert {name: corpus.open_licence for name, corpus in CORPORA.items()} == {
        "toxic_spans": True, "davidson": True, "impermium": False, "toxigen": True, "olid": True,
        "hateval": False, "stormfront": True,
    }


def test_missing_corpus_file_is_a_user_error(tmp_path):
    with pytest.raises(ModerationError, match="corpus file not found"):
        load_corpora(tmp_path, ["davidson"])


def test_unknown_corpus_is_a_user_error(tmp_path):
    with pytest.raises(ModerationError, match="unknown corpus 'nope'"):
        load_corpora(tmp_path, ["nope"])


def test_find_data_root_honours_explicit_path(tmp_path, monkeypatch):
    assert find_data_root(tmp_path) == tmp_path
    assert find_data_root(tmp_path / "missing") is None
    monkeypatch.setenv("MODERATION_DATA", str(tmp_path))
    assert find_data_root() == tmp_path
