"""The human-readable model card (``MODEL_CARD.md``), rendered from the JSON card."""

from __future__ import annotations

__all__ = ["render_model_card", "markdown_table"]


def _fmt(v) -> str:
    if isinstance(v, float):
        return "–" if v != v else f"{v:.3f}"
    return "–" if v is None else str(v)


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), floats to three decimals."""
    if not rows:
        return "(none)\n"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


INTENDED_USE = """\
Flagging comments on English-language news sites for removal under a comments
policy (slurs, identity attacks, insults, obscenity, threats), with a human
moderator reviewing what is flagged. Not for automatic removal without review,
not for other languages, and not a judgement of a person.
"""

LIMITATIONS = """\
- English only; other languages score unpredictably.
- Context-free: each comment is scored alone, so replies that are abusive only in
  context, sarcasm and reclaimed slurs are misjudged.
- Vocabulary drifts: new slurs and coded language are missed until retrained.
- Trained on research corpora whose definitions of "abusive" differ from any one
  site's policy; retrain on your own moderators' decisions.
- The model file is a pickle: load it only from a source you trust.
"""


def render_model_card(card: dict) -> str:
    """Markdown for the model card."""
    data = card.get("training_data", {})
    ev = card.get("evaluation", {})
    rule = card.get("threshold_rule", {})
    target = (f"precision ≥ {rule['target_precision']}" if rule.get("target_precision") is not None
              else f"recall ≥ {rule.get('target_recall')}")
    met = "met" if rule.get("met", True) else "NOT met: the threshold with the best F1 was used instead"
    out = [f"# Model card: {card.get('name', 'moderation model')}\n",
           f"Created {card.get('created', '?')}. Operating threshold **{card.get('threshold', 0):.4f}** "
           f"(chosen on held-out data for {target}; target {met}).\n",
           "\n## Intended use\n\n", INTENDED_USE,
           "\n## Training data\n\n",
           f"{data.get('rows', '?')} rows, {100 * data.get('positive_rate', 0):.1f}% labelled remove.\n\n"]
    sources = data.get("sources", [])
    if sources:
        cols = [c for c in ("name", "rows", "positive_rate", "weight", "licence", "source_url", "sha256")
                if any(c in s for s in sources)]
        out.append(markdown_table(sources, cols))
    recipe = card.get("recipe")
    if recipe:
        out.append("\nHow the sources were combined: " + "; ".join(f"{k.replace('_', ' ')}: {v}"
                                                                  for k, v in recipe.items()) + ".\n")
    out += ["\n## Evaluation\n\n", f"Method: {ev.get('method', '?')}.\n\n"]
    if ev.get("held_out"):
        out.append(markdown_table([ev["held_out"]], ["rows", "positives", "roc_auc", "pr_auc", "brier",
                                                      "threshold", "precision", "recall", "f1", "flag_rate"]))
    if ev.get("threshold_table"):
        out += ["\nAt other thresholds (the flag rate is the moderators' workload):\n\n",
                markdown_table(ev["threshold_table"])]
    if ev.get("reliability"):
        out += ["\nCalibration on the same held-out rows (Brier score "
                f"{ev.get('held_out', {}).get('brier', float('nan')):.3f}): the observed share of 'remove' "
                "per score bin. The held-out rows have the training data's share of abuse, not a site's, "
                "so read scores as a ranking and choose thresholds on your own data.\n\n",
                markdown_table(ev["reliability"])]
    if card.get("cross_corpus"):
        out += ["\n## Cross-corpus validation\n\n",
                "Trained on all corpora but one, tested on the one left out (ROC-AUC); "
                "alt-profanity-check's score on the same rows beside ours where measured.\n\n",
                markdown_table(card["cross_corpus"])]
    for title, key in (("Obfuscation", "obfuscation"), ("Fairness to identities", "fairness"),
                       ("Categories", "categories"), ("Highlighted spans", "spans")):
        section = card.get(key)
        if section:
            out.append(f"\n## {title}\n\n")
            if isinstance(section, dict) and "summary" in section:
                out.append(section["summary"] + "\n")
            if isinstance(section, dict) and section.get("table"):
                out.append("\n" + markdown_table(section["table"]))
    out += ["\n## Limitations\n\n", LIMITATIONS, "\n## Pipeline and versions\n\n"]
    for name, settings in card.get("pipeline", {}).items():
        out.append(f"- {name}: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n")
    out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items()) + "\n")
    f = card.get("file", {})
    if f:
        out.append(f"- file: {f.get('name')} ({f.get('bytes', 0) / 1e6:.1f} MB), sha256 {f.get('sha256')}\n")
    return "".join(out)
