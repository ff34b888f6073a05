"""The kinds of abuse the model scores separately, and the reason codes moderators give for a decision.

One definition shared by the model (a classifier per category), the corpora (the
category columns of every loader), the evaluation and the review queue.
*Reasons* are what the model gives for a score (the words that pushed it up,
led by the top category); *reason codes* are what a moderator chooses when
deciding a comment: the ground for a removal. Each category suggests one reason code.
"""

from __future__ import annotations

__all__ = ["CATEGORIES", "CATEGORY_LABELS", "REASON_CODES", "CATEGORY_REASON_CODE"]

CATEGORIES: tuple[str, ...] = ("insult", "identity_attack", "obscene", "threat")
CATEGORY_LABELS: dict[str, str] = {"insult": "insult", "identity_attack": "identity attack",
                                   "obscene": "obscenity", "threat": "threat"}

# The grounds a site gives the author when it removes a comment (the EU Digital Services Act's statement of
# reasons, Art. 17, asks for the ground): one short list, so decisions can be counted, told and learned from.
# code -> what the moderator sees.
REASON_CODES: dict[str, str] = {
    "illegal_hate_speech": "Illegal hate speech",
    "harassment": "Harassment or insult",
    "threat": "Threat of violence",
    "spam": "Spam",
    "off_topic": "Off-topic",
    "other_policy": "Other breach of the comments policy (e.g. obscenity)",
}
# The reason code each model category suggests (every category has one).
CATEGORY_REASON_CODE: dict[str, str] = {"insult": "harassment", "identity_attack": "illegal_hate_speech",
                                        "obscene": "other_policy", "threat": "threat"}
