"""The model card: card.json read and written as a typed ModelCard, and MODEL_CARD.md rendered from it."""

from __future__ import annotations

import json

from moderation.card import ModelCard, render_model_card

from conftest import ROOT

DEFAULT = ROOT / "models" / "default"


def test_shipped_model_card_is_rendered_from_its_card():
    card = ModelCard.from_dict(json.loads((DEFAULT / "card.json").read_text()))
    assert (DEFAULT / "MODEL_CARD.md").read_text() == render_model_card(card)


def test_card_json_round_trips_through_the_typed_card():
    raw = json.loads((DEFAULT / "card.json").read_text())
    card = ModelCard.from_dict(raw)
    assert card.to_dict() == raw
    assert ModelCard.from_dict(card.to_dict()) == card
    assert card.name == "default" and card.file.name == "model.skops" and card.version_tag == card.sha256[:12]
    assert sorted(card.measured) == ["fairness", "functional_suite", "obfuscation", "spans", "whole_comments"]


def test_a_card_with_missing_sections_gets_defaults():
    card = ModelCard.from_dict({"threshold": 0.3})
    assert card.threshold == 0.3 and card.file is None and card.sha256 is None and card.version_tag == "unknown"
    assert card.sources == [] and card.measured == {} and card.threshold_rule.met is True


def test_shipped_model_card_has_every_section():
    text = (DEFAULT / "MODEL_CARD.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Intended use", "## Training data", "## Evaluation", "## Calibration",
                        "## Cross-corpus validation", "## Obfuscation", "## Fairness to identities", "## Categories",
                        "## Highlighted spans", "## Functional suite", "## Whole comments", "## Threshold",
                        "## Limitations", "## Pipeline and versions"]
    assert "| name | rows | positive_rate | licence | open_licence | source_url | sha256 |" in text
    for limitation in ("English only", "Context-free", "sarcasm", "Vocabulary drifts"):
        assert limitation in text
    assert "pickle" not in text
    assert "with a human\nmoderator reviewing what is flagged" in text


def test_threshold_rationale_follows_the_rule():
    card = ModelCard.from_dict({
        "threshold": 0.25, "threshold_rule": {"target_precision": None, "target_recall": 0.95, "met": False},
        "evaluation": {"held_out": {"rows": 200, "positives": 50, "flag_rate": 0.5, "precision": 0.4,
                                    "recall": 0.8}}})
    text = render_model_card(card)
    section = text.split("## Threshold\n\n")[1].split("\n")[0]
    assert section.startswith("Operating threshold 0.2500. It is the highest threshold whose recall on held-out "
                              "data reaches 0.95")
    assert "The target could not be met, so the threshold with the best F1 was used instead." in section
    assert "it flags 50.0% of comments, with precision 0.400 and recall 0.800" in section
    assert "share of abuse (25%)" in section
