"""Reading a comment sentence by sentence: splitting, and what the model makes of the pieces."""

import numpy as np
import pytest

from moderation.recipe import Recipe
from moderation.sentences import combination_features, split


def pieces(text):
    return [text[s:e] for s, e in split(text)]


@pytest.mark.parametrize("text,expected", [
    ("Great article. You idiot.", ["Great article.", "You idiot."]),
    ("Mr. Smith said no.  Then he left.", ["Mr. Smith said no.", "Then he left."]),
    ('He said "stop now." Then left quickly.', ['He said "stop now."', "Then left quickly."]),
    ("(Really now.) Fine by me.", ["(Really now.)", "Fine by me."]),
    ("Line one\nLine two is here", ["Line one", "Line two is here"]),
    ("What?! Really... I think so. Die.", ["What?! Really...", "I think so. Die."]),
    ("Wow. You idiot, go away now.", ["Wow. You idiot, go away now."]),
    ("no punctuation at all", ["no punctuation at all"]),
    ("", []),
    ("   \n  ", []),
])
def test_split_into_sentences(text, expected):
    assert pieces(text) == expected


def test_split_ranges_point_into_the_original():
    text = "  First one here.\r\n\r\nSecond one, there!  "
    assert split(text) == [(2, 17), (21, 39)]


def test_combination_features():
    features = combination_features(np.array([-1.0, 2.0]), [np.array([-3.0, 1.5, 0.5]), np.array([])])
    np.testing.assert_allclose(features, [[-1.0, 1.5, np.log(3)], [2.0, 2.0, 0.0]])


@pytest.fixture(scope="module")
def reading_model(sample_labelled):
    import moderation

    return moderation.train(sample_labelled["text"], sample_labelled["label"], recipe=Recipe(sentences=True))


def test_a_model_that_reads_sentences_scores_the_strongest_one(reading_model):
    civil = "The council meeting ran late and the budget vote was postponed until March."
    abusive = "You are a pathetic moron."
    features, present = reading_model.combination_inputs([civil + " " + abusive, abusive])
    assert present.tolist() == [True, True]
    assert features[0, 2] == pytest.approx(np.log(2))
    assert features[0, 1] == pytest.approx(features[1, 0])  # the strongest sentence is the abusive one, alone
    assert features[0, 1] > features[0, 0]  # stronger than the diluted whole


def test_explain_points_into_the_sentence_that_decided(reading_model):
    text = "The council meeting ran late and the budget vote was postponed. You are a pathetic moron."
    spans = reading_model.explain(text)
    assert spans and all(s.start >= text.index("You") for s in spans)
    assert all(text[s.start:s.end] == s.fragment for s in spans)
