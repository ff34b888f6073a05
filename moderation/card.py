"""The model card: what a model was trained on, how it was measured, and why its threshold is where it is.

``ModelCard`` is the typed card (``card.json`` beside the model file, read and
written with ``from_dict``/``to_dict``); ``new_card`` builds one after training,
``render_model_card`` turns it into the human-readable ``MODEL_CARD.md``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["ModelCard", "Source", "ThresholdRule", "HeldOutEvaluation", "CategoryInfo", "Calibration", "ModelFile",
           "Measured",
           "new_card", "render_model_card", "markdown_table"]


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


@dataclass
class Source:
    """A training source: a corpus, a labelled file, the review queue's decisions or our augmentation."""

    name: str
    rows: int = 0
    positive_rate: float = 0.0
    title: str | None = None
    licence: str | None = None
    source_url: str | None = None
    sha256: str | None = None
    open_licence: bool | None = None

    def to_dict(self) -> dict:
        return _drop_none({"name": self.name, "title": self.title, "licence": self.licence,
                           "source_url": self.source_url, "rows": self.rows, "positive_rate": self.positive_rate,
                           "sha256": self.sha256, "open_licence": self.open_licence})

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        return cls(**{f.name: d.get(f.name) for f in fields(cls) if f.name in d})


@dataclass
class ThresholdRule:
    """How the operating threshold was chosen and whether the target was met on held-out data."""

    target_precision: float | None = None
    target_recall: float | None = None
    met: bool = True

    def to_dict(self) -> dict:
        return {"target_precision": self.target_precision, "target_recall": self.target_recall, "met": self.met}


@dataclass
class HeldOutEvaluation:
    """Metrics on the held-out rows (or evaluation file) the threshold was chosen on."""

    method: str = ""
    held_out: dict = field(default_factory=dict)
    threshold_table: list[dict] = field(default_factory=list)
    reliability: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"method": self.method, "held_out": self.held_out, "threshold_table": self.threshold_table,
                "reliability": self.reliability}


@dataclass
class CategoryInfo:
    """The model's categories, their held-out ROC-AUC and, once measured, their cross-corpus table."""

    names: list[str] = field(default_factory=list)
    held_out_roc_auc: dict = field(default_factory=dict)
    summary: str | None = None
    table: list[dict] | None = None

    def to_dict(self) -> dict:
        return _drop_none({"names": self.names, "held_out_roc_auc": self.held_out_roc_auc, "summary": self.summary,
                           "table": self.table})


@dataclass
class Calibration:
    """What the scores mean: the share of abuse they are calibrated for, how, and what each threshold costs at it."""

    prevalence: float = 0.1
    method: str = ""
    sentences: bool = False
    held_out: dict = field(default_factory=dict)
    threshold_table: list[dict] = field(default_factory=list)
    reliability: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"prevalence": self.prevalence, "method": self.method, "sentences": self.sentences,
                "held_out": self.held_out, "threshold_table": self.threshold_table, "reliability": self.reliability}


@dataclass
class ModelFile:
    """The model file the card describes, with the sha256 it must match."""

    name: str
    sha256: str
    bytes: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "bytes": self.bytes}


@dataclass
class Measured:
    """A quality measurement added after training (``benchmarks/quality.py``): a summary and a table."""

    summary: str = ""
    table: list[dict] | None = None

    def to_dict(self) -> dict:
        return _drop_none({"summary": self.summary, "table": self.table})


# The sections of a card that benchmarks/quality.py measures, in the order the Markdown card shows them.
MEASURED_TITLES = {"obfuscation": "Obfuscation", "fairness": "Fairness to identities",
                   "spans": "Highlighted spans"}


@dataclass
class ModelCard:
    """Everything ``card.json`` records about a model."""

    name: str = "moderation model"
    created: str = ""
    training_rows: int = 0
    training_positive_rate: float = 0.0
    sources: list[Source] = field(default_factory=list)
    threshold_rule: ThresholdRule = field(default_factory=ThresholdRule)
    evaluation: HeldOutEvaluation = field(default_factory=HeldOutEvaluation)
    categories: CategoryInfo = field(default_factory=CategoryInfo)
    calibration: Calibration | None = None
    pipeline: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    recipe: dict | None = None
    threshold: float = 0.5
    file: ModelFile | None = None
    cross_corpus: list[dict] | None = None
    measured: dict[str, Measured] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str | None:
        """The model file's sha256, or None for a model that was never saved."""
        return self.file.sha256 if self.file else None

    @property
    def version_tag(self) -> str:
        """A short name for the model file's version: its sha256's first 12 characters, or ``unknown``."""
        return self.sha256[:12] if self.sha256 else "unknown"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "name": self.name, "created": self.created,
            "training_data": {"rows": self.training_rows, "positive_rate": self.training_positive_rate,
                              "sources": [s.to_dict() for s in self.sources]},
            "threshold_rule": self.threshold_rule.to_dict(), "evaluation": self.evaluation.to_dict(),
            "categories": self.categories.to_dict()}
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_dict()
        out.update({"pipeline": self.pipeline, "versions": self.versions})
        if self.recipe is not None:
            out["recipe"] = self.recipe
        out["threshold"] = float(self.threshold)
        if self.file is not None:
            out["file"] = self.file.to_dict()
        if self.cross_corpus is not None:
            out["cross_corpus"] = self.cross_corpus
        for key, section in self.measured.items():
            out[key] = section.to_dict()
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "ModelCard":
        """A card from ``card.json``'s content; missing sections get their defaults."""
        data = d.get("training_data") or {}
        ev = d.get("evaluation") or {}
        cats = d.get("categories") or {}
        f = d.get("file")
        known = {"name", "created", "training_data", "threshold_rule", "evaluation", "categories", "calibration",
                 "pipeline", "versions", "recipe", "threshold", "file", "cross_corpus", "warnings"}
        return cls(
            name=d.get("name", "moderation model"), created=d.get("created", ""),
            training_rows=data.get("rows", 0), training_positive_rate=data.get("positive_rate", 0.0),
            sources=[Source.from_dict(s) for s in data.get("sources", [])],
            threshold_rule=ThresholdRule(**(d.get("threshold_rule") or {})),
            evaluation=HeldOutEvaluation(**ev),
            categories=CategoryInfo(**cats),
            calibration=Calibration(**d["calibration"]) if isinstance(d.get("calibration"), dict) else None,
            pipeline=d.get("pipeline") or {}, versions=d.get("versions") or {}, recipe=d.get("recipe"),
            threshold=float(d.get("threshold", 0.5)),
            file=ModelFile(**f) if isinstance(f, dict) else None,
            cross_corpus=d.get("cross_corpus"),
            measured={k: Measured(**v) for k, v in d.items() if k not in known and isinstance(v, dict)},
            warnings=list(d.get("warnings") or []))


def new_card(*, name: str | None, rows: int, positive_rate: float, sources: list[Source], rule: ThresholdRule,
             evaluation: HeldOutEvaluation, categories: CategoryInfo, calibration: Calibration | None,
             pipeline: dict, versions: dict, threshold: float) -> ModelCard:
    """The card of a freshly trained model (the file, recipe and measurements are added later)."""
    return ModelCard(name=name or "moderation model",
                     created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                     training_rows=rows, training_positive_rate=positive_rate, sources=sources,
                     threshold_rule=rule, evaluation=evaluation, categories=categories, calibration=calibration,
                     pipeline=pipeline, versions=versions, threshold=threshold)


# -- the Markdown card ---------------------------------------------------------------------------

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
"""


def _threshold_rationale(card: ModelCard) -> str:
    """Why the operating threshold is where it is, and what it costs, from the card's numbers."""
    from .metrics import DEFAULT_TARGET_PRECISION

    rule = card.threshold_rule
    held = card.evaluation.held_out
    if rule.target_recall is not None:
        why = (f"It is the highest threshold whose recall on held-out data reaches {rule.target_recall}: "
               "the fewest comments for moderators to review while catching that share of abuse.")
    else:
        target = rule.target_precision or DEFAULT_TARGET_PRECISION
        why = (f"It is the lowest threshold whose precision on held-out data reaches {target}: at least "
               f"{100 * target:.0f}% of the comments it flags are abusive, so moderators' time goes to real abuse "
               "and few civil comments are held back; of such thresholds it catches the most abuse.")
    if not rule.met:
        why += " The target could not be met, so the threshold with the best F1 was used instead."
    cost = ""
    cal = card.calibration
    if cal is not None and cal.held_out:
        at = cal.held_out
        why = why.replace("on held-out data", f"on held-out data weighted to {cal.prevalence:.0%} abusive comments")
        cost = (f" On a site with that share of abuse it flags about {at.get('flagged_per_10000', 0)} comments per "
                f"10,000, with precision {at.get('precision', 0):.3f} and recall {at.get('recall', 0):.3f}; a site "
                "with less abuse sees fewer flags and lower precision, one with more the reverse.")
    elif held:
        cost = (f" On the held-out rows it flags {100 * held.get('flag_rate', 0):.1f}% of comments, with precision "
                f"{held.get('precision', 0):.3f} and recall {held.get('recall', 0):.3f}; those rows have the corpora's "
                f"share of abuse ({100 * held.get('positives', 0) / max(held.get('rows', 1), 1):.0f}%), so the flag "
                "rate on a site's comments will be lower.")
    return (f"Operating threshold {card.threshold:.4f}. {why}{cost} Every flag is meant for a human moderator, not "
            "for automatic removal. A site with its own labelled comments should choose its own threshold: "
            "`moderation evaluate labelled.csv --report report.html` shows precision, recall and workload at every "
            "threshold and the threshold that reaches a target, and `moderation score --threshold` applies it.\n")


def render_model_card(card: ModelCard) -> str:
    """Markdown for the model card."""
    ev = card.evaluation
    rule = card.threshold_rule
    target = (f"precision ≥ {rule.target_precision}" if rule.target_precision is not None
              else f"recall ≥ {rule.target_recall}")
    met = "met" if rule.met else "NOT met: the threshold with the best F1 was used instead"
    out = [f"# Model card: {card.name}\n",
           f"Created {card.created or '?'}. Operating threshold **{card.threshold:.4f}** "
           f"(chosen on held-out data for {target}; target {met}).\n",
           "\n## Intended use\n\n", INTENDED_USE,
           "\n## Training data\n\n",
           f"{card.training_rows} rows, {100 * card.training_positive_rate:.1f}% labelled remove.\n\n"]
    if card.warnings:
        out.append("".join(f"**Warning:** {w}\n\n" for w in card.warnings))
    sources = [s.to_dict() for s in card.sources]
    if sources:
        cols = [c for c in ("name", "rows", "positive_rate", "licence", "open_licence", "source_url", "sha256")
                if any(c in s for s in sources)]
        out.append(markdown_table(sources, cols))
    if card.recipe:
        settings = card.recipe.get("settings", {})
        described = {k: v for k, v in card.recipe.items() if k != "settings"}
        out.append("\nHow the sources were combined: " + "; ".join(f"{k.replace('_', ' ')}: {v}"
                                                                  for k, v in described.items()) + ".\n")
        if settings:
            out.append("\nRecipe settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + ".\n")
    out += ["\n## Evaluation\n\n", f"Method: {ev.method or '?'}.\n\n"]
    if ev.held_out:
        out.append(markdown_table([ev.held_out], ["rows", "positives", "roc_auc", "pr_auc", "brier",
                                                  "threshold", "precision", "recall", "f1", "flag_rate"]))
    if ev.threshold_table:
        out += ["\nAt other thresholds (the flag rate is the moderators' workload):\n\n",
                markdown_table(ev.threshold_table)]
    if ev.reliability:
        out += ["\nCalibration on the same held-out rows (Brier score "
                f"{ev.held_out.get('brier', float('nan')):.3f}): the observed share of 'remove' "
                "per score bin. The held-out rows have the training data's share of abuse, not a site's, "
                "so read scores as a ranking and choose thresholds on your own data.\n\n",
                markdown_table(ev.reliability)]
    cal = card.calibration
    if cal is not None:
        held = cal.held_out
        per_10k = [{**r, "flagged per 10,000": round(10_000 * r.get("flag_rate", 0))} for r in cal.threshold_table]
        out += ["\n## Calibration\n\n",
                f"Scores are calibrated for a site where {cal.prevalence:.0%} of comments are abusive: a score is "
                f"the probability that a comment should be removed on such a site. Method: {cal.method}."
                + (" Longer comments are read sentence by sentence as well as whole." if cal.sentences else "")
                + "\n\n"]
        if held:
            out += [f"At that share, on the held-out rows, the operating threshold flags "
                    f"{held.get('flagged_per_10000', round(10_000 * held.get('flag_rate', 0)))} comments per 10,000, "
                    f"with precision {held.get('precision', 0):.3f} and recall {held.get('recall', 0):.3f} "
                    f"(ROC-AUC {held.get('roc_auc', float('nan')):.3f}, Brier {held.get('brier', float('nan')):.3f}).\n\n"]
        if per_10k:
            out += ["At other thresholds, at that share:\n\n", markdown_table(per_10k)]
        if cal.reliability:
            out += ["\nReliability at that share (observed share of 'remove' per score bin):\n\n",
                    markdown_table(cal.reliability)]
    if card.cross_corpus:
        out += ["\n## Cross-corpus validation\n\n",
                "Trained on all corpora but one, tested on the one left out (ROC-AUC); "
                "alt-profanity-check's score on the same rows beside ours where measured.\n\n",
                markdown_table(card.cross_corpus)]
    sections = [(MEASURED_TITLES[k], card.measured.get(k)) for k in ("obfuscation", "fairness")]
    sections.append(("Categories", Measured(card.categories.summary, card.categories.table)
                     if card.categories.summary or card.categories.table else None))
    sections.append((MEASURED_TITLES["spans"], card.measured.get("spans")))
    sections += [(key.replace("_", " ").capitalize(), section) for key, section in card.measured.items()
                 if key not in MEASURED_TITLES]
    for title, section in sections:
        if section is None:
            continue
        out.append(f"\n## {title}\n\n")
        if section.summary:
            out.append(section.summary + "\n")
        if section.table:
            out.append("\n" + markdown_table(section.table))
    out += ["\n## Threshold\n\n", _threshold_rationale(card), "\n## Limitations\n\n", LIMITATIONS,
            "\n## Pipeline and versions\n\n"]
    for name, settings in card.pipeline.items():
        out.append(f"- {name}: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n")
    out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in card.versions.items()) + "\n")
    if card.file:
        out.append(f"- file: {card.file.name} ({card.file.bytes / 1e6:.1f} MB), sha256 {card.file.sha256}\n")
    return "".join(out)
