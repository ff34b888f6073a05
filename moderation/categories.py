"""The kinds of abuse the model scores separately, and the reason codes moderators give for a decision.

One definition shared by the model (a classifier per category), the corpora (the
category columns of every loader), the evaluation and the review queue.
*Reasons* are what the model gives for a score (the words that pushed it up,
led by the top category); *reason codes* are what a moderator chooses when
deciding a comment. Each reason code that corresponds to a category names it.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "CATEGORY_LABELS", "REASON_CODES", "REASON_CODE_CATEGORY"]

CATEGORIES: tuple[str, ...] = ("insult", "identity_attack", "obscene", "threat")
CATEGORY_LABELS: dict[str, str] = {"insult": "insult", "identity_attack": "identity attack",
                                   "obscene": "obscenity", "threat": "threat"}

# A short list, so decisions can be counted and learned from: code -> what the moderator sees.
REASON_CODES: dict[str, str] = {
    "insult": "Insult or abuse",
    "identity": "Identity attack or hate",
    "obscene": "Obscenity",
    "threat": "Threat of violence",
    "spam": "Spam",
    "fair": "Fair comment, robust but acceptable",
    "misflagged": "Misflagged: quote, reclaimed word, counter-speech",
    "other": "Other",
}
# The model category each reason code stands for (codes with no category are left out).
REASON_CODE_CATEGORY: dict[str, str] = {"insult": "insult", "identity": "identity_attack", "obscene": "obscene",
                                        "threat": "threat"}
