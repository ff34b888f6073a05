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


def _threshold_rationale(card: dict) -> str:
    """Why the operating threshold is where it is, and what it costs, from the card's numbers."""
    rule = card.get("threshold_rule", {})
    held = card.get("evaluation", {}).get("held_out", {})
    t = card.get("threshold", 0.0)
    if rule.get("target_recall") is not None:
        why = (f"It is the highest threshold whose recall on held-out data reaches {rule['target_recall']}: "
               "the fewest comments for moderators to review while catching that share of abuse.")
    else:
        target = rule.get("target_precision") or 0.9
        why = (f"It is the lowest threshold whose precision on held-out data reaches {target}: at least "
               f"{100 * target:.0f}% of the comments it flags are abusive, so moderators' time goes to real abuse "
               "and few civil comments are held back; of such thresholds it catches the most abuse.")
    if not rule.get("met", True):
        why += " The target could not be met, so the threshold with the best F1 was used instead."
    cost = ""
    if held:
        cost = (f" On the held-out rows it flags {100 * held.get('flag_rate', 0):.1f}% of comments, with precision "
                f"{held.get('precision', 0):.3f} and recall {held.get('recall', 0):.3f}; those rows have the corpora's "
                f"share of abuse ({100 * held.get('positives', 0) / max(held.get('rows', 1), 1):.0f}%), so the flag "
                "rate on a site's comments will be lower.")
    return (f"Operating threshold {t:.4f}. {why}{cost} Every flag is meant for a human moderator, not for automatic "
            "removal. A site with its own labelled comments should choose its own threshold: `moderation evaluate "
            "labelled.csv --report report.html` shows precision, recall and workload at every threshold and the "
            "threshold that reaches a target, and `moderation score --threshold` applies it.\n")


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
    out += ["\n## Threshold\n\n", _threshold_rationale(card), "\n## Limitations\n\n", LIMITATIONS,
            "\n## Pipeline and versions\n\n"]
    for name, settings in card.get("pipeline", {}).items():
        out.append(f"- {name}: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n")
    out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items()) + "\n")
    f = card.get("file", {})
    if f:
        out.append(f"- file: {f.get('name')} ({f.get('bytes', 0) / 1e6:.1f} MB), sha256 {f.get('sha256')}\n")
    return "".join(out)
