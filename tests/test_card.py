"""The model card (MODEL_CARD.md) rendered from card.json."""

from __future__ import annotations

import json

from moderation.card import render_model_card

from conftest import ROOT

DEFAULT = ROOT / "models" / "default"


def test_shipped_model_card_is_rendered_from_its_card():
    card = json.loads((DEFAULT / "card.json").read_text())
    assert (DEFAULT / "MODEL_CARD.md").read_text() == render_model_card(card)


def test_shipped_model_card_has_every_section():
    text = (DEFAULT / "MODEL_CARD.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Intended use", "## Training data", "## Evaluation", "## Cross-corpus validation",
                        "## Obfuscation", "## Fairness to identities", "## Categories", "## Highlighted spans",
                        "## Threshold", "## Limitations", "## Pipeline and versions"]
    assert "| name | rows | positive_rate | licence | source_url | sha256 |" in text
    for limitation in ("English only", "Context-free", "sarcasm", "Vocabulary drifts"):
        assert limitation in text
    assert "with a human\nmoderator reviewing what is flagged" in text


def test_threshold_rationale_follows_the_rule():
    card = {"threshold": 0.25, "threshold_rule": {"target_precision": None, "target_recall": 0.95, "met": False},
            "evaluation": {"held_out": {"rows": 200, "positives": 50, "flag_rate": 0.5, "precision": 0.4,
                                        "recall": 0.8}}}
    text = render_model_card(card)
    section = text.split("## Threshold\n\n")[1].split("\n")[0]
    assert section.startswith("Operating threshold 0.2500. It is the highest threshold whose recall on held-out "
                              "data reaches 0.95")
    assert "The target could not be met, so the threshold with the best F1 was used instead." in section
    assert "it flags 50.0% of comments, with precision 0.400 and recall 0.800" in section
    assert "share of abuse (25%)" in section
