"""Fairness to identities on our template-generated probes (targets: benign mentions rarely flagged, abuse of every identity caught)."""

import pytest

from moderation.identities import identity_probes
from moderation.probes import fairness_report

from conftest import TEST_DATA


@pytest.fixture(scope="module")
def report(default_model):
    probes = identity_probes(TEST_DATA / "identity_templates.csv")
    return fairness_report(probes, default_model.score(probes["text"]), default_model.threshold)


def test_probe_suite_covers_50_identities_in_every_group(report):
    overall, table = report
    assert overall["identities"] >= 50
    assert set(table["group"]) >= {"nationality", "ethnicity", "religion", "sexual_orientation", "gender",
                                   "disability"}


def test_benign_mentions_are_rarely_flagged(report):
    overall, _ = report
    assert overall["false_positive_rate"] <= 0.02


def test_no_identity_has_more_than_5_percent_false_positives(report):
    _, table = report
    worst = table.loc[table["false_positive_rate"] > 0.05, ["identity", "false_positive_rate"]]
    assert worst.to_dict("records") == []


def test_abuse_of_identities_is_partly_caught(report):
    """A guard at the level reached; the target (90%) is below."""
    overall, _ = report
    assert overall["recall"] >= 0.55


@pytest.mark.xfail(strict=True, reason="target missed: recall on abusive probes is 55.5%; threats and "
                                       "dehumanisation that use no abusive word ('Burn every X family out of this "
                                       "town', 'No X person deserves to live') are missed")
def test_abuse_of_every_identity_is_caught(report):
    overall, _ = report
    assert overall["recall"] >= 0.90


def test_per_identity_bias_aucs(report):
    """Subgroup, BPSN and BNSP AUC (Borkan et al., 2019) for every identity, at the level reached (without the
    identity neutralisation, which cost 0.010 of the cross-corpus mean, BPSN fell from 0.940 to 0.796)."""
    _, table = report
    assert table["subgroup_auc"].min() >= 0.95
    assert table["bpsn_auc"].min() >= 0.79
    assert table["bnsp_auc"].min() >= 0.83


@pytest.mark.parametrize("text", ["I am a gay man", "my Muslim neighbours are lovely",
                                  "Russians are mostly decent people who want peace",
                                  "as a Black woman I disagree with this article"])
def test_people_saying_who_they_are_are_not_flagged(default_model, text):
    assert default_model.flag([text]).tolist() == [False]
