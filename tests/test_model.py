"""train → save → load → score → flag → explain round trips, and model-file integrity."""

import json
import re
import warnings

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

import moderation
from moderation import ModerationError, Span


def test_score_returns_probabilities(small_model):
    scores = small_model.score(["you are a pathetic moron", "thanks for the thoughtful article"])
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64
    assert scores.shape == (2,)
    assert 0.0 <= scores.min() and scores.max() <= 1.0
    assert scores[0] > small_model.threshold > scores[1]


@pytest.mark.parametrize("text", ["a", "ok", "!!", "  x  ", "\u200b.\u200b"])
def test_text_too_short_to_judge_scores_zero(small_model, text):
    assert small_model.score([text]).tolist() == [0.0]
    assert small_model.score_with_reasons([text])[1] == [""]


def test_empty_and_missing_text_score_zero(small_model):
    scores = small_model.score(["", "   ", None, float("nan")])
    assert scores.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_single_string_is_one_text(small_model):
    assert small_model.score("you idiot").shape == (1,)


def test_numbers_are_scored_as_text(small_model):
    assert small_model.score([12345]).shape == (1,)


def test_flag_uses_threshold_and_override(small_model):
    texts = ["you are a pathetic moron", "thanks for the thoughtful article"]
    assert small_model.flag(texts).tolist() == [True, False]
    assert small_model.flag(texts, threshold=0.0).tolist() == [True, True]
    assert small_model.flag(texts, threshold=1.0).tolist() == [False, False]


def test_pipeline_is_plain_sklearn(small_model):
    assert isinstance(small_model.pipeline, Pipeline)
    assert list(small_model.pipeline.named_steps) == ["normalize", "features", "classifier"]
    texts = ["you moron", "I disagree with this article"]
    features, present = small_model.combination_inputs(texts)
    assert present.tolist() == [True, True]
    # the Pipeline's own probability is the whole text's; the model's score is that logit, calibrated
    whole = small_model.pipeline.predict_proba(texts)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-features[:, 0])), whole)
    np.testing.assert_allclose(small_model.calibrator.predict_proba(features)[:, 1], small_model.score(texts))


def test_explain_points_at_the_insult(small_model):
    text = "Honestly, you are a complete m.o.r.o.n and nobody cares."
    # trained on 300 rows, the small model also weighs "you" heavily: show more than the top word
    spans = small_model.explain(text, min_weight=0.3)
    assert spans and all(isinstance(s, Span) for s in spans)
    assert all(text[s.start:s.end] == s.fragment for s in spans)
    assert any("m.o.r.o.n" in s.fragment for s in spans)
    assert all(s.weight > 0 for s in spans)


def test_explain_of_empty_text_is_empty(small_model):
    assert small_model.explain("") == []
    assert small_model.explain("   ") == []


def test_score_with_reasons_names_terms(small_model):
    scores, reasons = small_model.score_with_reasons(["you stupid idiot", ""])
    assert "idiot" in reasons[0] or "stupid" in reasons[0]
    assert reasons[1] == ""


def _edit_card(path, card=None) -> dict:
    """The model directory's card, or, given ``card``, write it back."""
    if card is None:
        return json.loads((path / "card.json").read_text())
    (path / "card.json").write_text(json.dumps(card))
    return card


def test_save_load_round_trip(small_model, tmp_path):
    path = small_model.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["MODEL_CARD.md", "card.json", "model.skops"]
    loaded = moderation.load_model(path)
    texts = ["you are a pathetic moron", "lovely weather in Almaty"]
    np.testing.assert_array_equal(loaded.score(texts), small_model.score(texts))
    assert loaded.threshold == small_model.threshold
    card = json.loads((path / "card.json").read_text())
    assert card["threshold"] == small_model.threshold
    assert len(card["file"]["sha256"]) == 64
    assert card["versions"]["scikit-learn"] and card["versions"]["skops"]
    assert card["file"]["name"] == "model.skops"
    for key in ("rows", "positive_rate", "sources"):
        assert key in card["training_data"]
    for key in ("roc_auc", "pr_auc", "precision", "recall", "f1"):
        assert 0.0 <= card["evaluation"]["held_out"][key] <= 1.0
    assert "Operating threshold" in (path / "MODEL_CARD.md").read_text()


def test_tampered_model_is_refused(small_model, tmp_path):
    path = small_model.save(tmp_path / "m")
    with open(path / "model.skops", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModerationError, match="does not match its model card"):
        moderation.load_model(path)


def test_truncated_model_is_refused(small_model, tmp_path):
    path = small_model.save(tmp_path / "m")
    data = (path / "model.skops").read_bytes()
    (path / "model.skops").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModerationError, match="tampered or truncated"):
        moderation.load_model(path)


def test_other_sklearn_version_warns_naming_both_when_its_objects_are_built(small_model, tmp_path):
    # scoring reads the coefficients without scikit-learn: only its objects, built when asked for, can differ
    path = small_model.save(tmp_path / "m")
    card = _edit_card(path)
    card["versions"]["scikit-learn"] = "0.0.1"
    _edit_card(path, card)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = moderation.load_model(path)
        model.score(["you idiot", "thanks"])
    with pytest.warns(UserWarning, match=re.escape(f"model {model.card.name!r} was written with scikit-learn 0.0.1, "
                                                   "this is scikit-learn ") + r"\S+: its scikit-learn objects may "
                                                                              r"behave differently$") as caught:
        model.pipeline
        model.calibrator
        model.categories
    assert len(caught) == 1


def test_missing_model_directory_is_a_user_error(tmp_path):
    with pytest.raises(ModerationError, match="model directory not found"):
        moderation.load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModerationError, match="not a model directory"):
        moderation.load_model(tmp_path / "empty")


def test_loading_does_not_warn_for_same_version(small_model_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moderation.load_model(small_model_dir)


def test_model_verify_command(small_model, tmp_path):
    from typer.testing import CliRunner

    from moderation.cli import app

    path = small_model.save(tmp_path / "m")
    result = CliRunner().invoke(app, ["model", "verify", str(path)])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"OK {path}: sha256 {small_model.card.sha256}, written with scikit-learn ")
    with open(path / "model.skops", "ab") as f:
        f.write(b"x")
    result = CliRunner().invoke(app, ["model", "verify", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path / 'model.skops'} does not match its model card")


def test_tampered_pickle_is_never_unpickled(small_model, tmp_path, monkeypatch):
    """A legacy joblib replaced by one that would run code is refused before joblib.load is called."""
    import joblib

    path = small_model.save(tmp_path / "m")
    card = _edit_card(path)
    card["file"]["name"] = "model.joblib"
    _edit_card(path, card)
    (path / "model.joblib").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    called = []
    monkeypatch.setattr(joblib, "load", lambda *a, **k: called.append(a))
    with pytest.raises(ModerationError, match="does not match its model card"):
        moderation.load_model(path)
    assert called == []


def test_same_model_saves_the_same_bytes(small_model, tmp_path):
    a = small_model.save(tmp_path / "a") / "model.skops"
    b = small_model.save(tmp_path / "b") / "model.skops"
    assert a.read_bytes() == b.read_bytes()


def test_untrusted_types_are_refused_even_with_a_matching_hash(tmp_path):
    """A skops file naming a type we do not trust is refused, though its sha256 matches its card."""
    import hashlib

    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "m"
    path.mkdir()
    data = sio.dumps({"pipeline": FunctionTransformer(func=TfidfVectorizer), "threshold": 0.5, "categories": {}})
    (path / "model.skops").write_bytes(data)
    (path / "card.json").write_text(json.dumps({"file": {"name": "model.skops",
                                                         "sha256": hashlib.sha256(data).hexdigest()}}))
    with pytest.raises(ModerationError, match=r"holds types this version of moderation does not trust: .*TfidfVectorizer"):
        moderation.load_model(path)


def test_card_naming_another_file_is_refused(small_model, tmp_path):
    path = small_model.save(tmp_path / "m")
    card = _edit_card(path)
    card["file"]["name"] = "../../etc/passwd"
    _edit_card(path, card)
    with pytest.raises(ModerationError, match=r"unknown model file '\.\./\.\./etc/passwd'"):
        moderation.load_model(path)


def test_legacy_joblib_model_loads_with_a_warning(small_model, tmp_path):
    import hashlib

    import joblib

    path = small_model.save(tmp_path / "m")
    card = json.loads((path / "card.json").read_text())
    (path / "model.skops").unlink()
    joblib.dump({"pipeline": small_model.pipeline, "threshold": small_model.threshold, "categories": {}},
                path / "model.joblib")
    card["file"] = {"name": "model.joblib", "sha256": hashlib.sha256((path / "model.joblib").read_bytes()).hexdigest()}
    (path / "card.json").write_text(json.dumps(card))
    with pytest.warns(UserWarning, match="is a pickle .*save it again to write the safe skops format"):
        legacy = moderation.load_model(path, trust_pickle=True)
    # a legacy file has no calibration: its score is the Pipeline's own probability
    assert legacy.calibrator is None
    np.testing.assert_array_equal(legacy.score(["you idiot"]), small_model.pipeline.predict_proba(["you idiot"])[:, 1])
    legacy.save(path)  # converts: the pickle goes
    assert sorted(p.name for p in path.iterdir()) == ["MODEL_CARD.md", "card.json", "model.skops"]


def test_scoring_in_blocks_gives_the_same_table(small_model, sample_labelled, monkeypatch):
    import moderation.model as model_module

    texts = sample_labelled["text"].tolist() + ["", None]
    whole = small_model.score_table(texts, reasons=3)
    monkeypatch.setattr(model_module, "SCORE_BLOCK", 7)
    import pandas as pd

    pd.testing.assert_frame_equal(small_model.score_table(texts, reasons=3), whole)


def test_score_columns_are_the_score_tables_columns_as_arrays(default_model):
    texts = ["You idiot. The minister is right about the troops.", "thanks for the thoughtful article", "", None,
             "you moron"]
    table = default_model.score_table(texts, categories=True, reasons=2)
    columns = default_model.score_columns(texts, categories=True, reasons=2)
    assert list(columns) == list(table.columns) == ["score", "insult", "identity_attack", "obscene", "threat",
                                                     "reasons"]
    for name, values in columns.items():
        assert isinstance(values, np.ndarray) and len(values) == len(texts)
        assert values.tolist() == table[name].tolist(), name
    assert columns["reasons"].tolist()[2:4] == ["", ""]
    assert list(default_model.score_columns(["fine"])) == ["score", "reasons"]


def test_canonical_skops_keeps_every_kind_of_member():
    """Arrays (.npy) and sparse matrices (.npz) are renumbered consistently and load back equal."""
    import scipy.sparse as sp
    import skops.io as sio

    from moderation.persist import canonical_skops

    def payload():
        shared = np.arange(5.0)
        return {"dense": shared, "again": shared, "sparse": sp.random(20, 30, density=0.1, random_state=0,
                                                                       format="csr")}

    a, b = canonical_skops(sio.dumps(payload())), canonical_skops(sio.dumps(payload()))
    assert a == b
    loaded = sio.loads(a, trusted=["scipy.sparse._csr.csr_matrix"])
    np.testing.assert_array_equal(loaded["dense"], np.arange(5.0))
    assert loaded["dense"] is loaded["again"]  # a shared object stays shared
    assert (loaded["sparse"] != payload()["sparse"]).nnz == 0


def _legacy_pickle(small_model, path):
    """``path`` as moderation 0.1.0 wrote it: a joblib pickle named in the card with its sha256."""
    import hashlib

    import joblib

    small_model.save(path)
    card = _edit_card(path)
    (path / "model.skops").unlink()
    joblib.dump({"pipeline": small_model.pipeline, "threshold": small_model.threshold, "categories": {}},
                path / "model.joblib")
    card["file"] = {"name": "model.joblib", "sha256": hashlib.sha256((path / "model.joblib").read_bytes()).hexdigest()}
    _edit_card(path, card)
    return path


def test_a_pickle_is_refused_unless_trusted(small_model, tmp_path, monkeypatch):
    import joblib

    path = _legacy_pickle(small_model, tmp_path / "m")
    called = []
    monkeypatch.setattr(joblib, "load", lambda *a, **k: called.append(a))
    with pytest.raises(ModerationError, match=r"model\.joblib is a pickle .* refusing it\. Only if you trust where it "
                                              r"came from, load it with trust_pickle"):
        moderation.load_model(path)
    assert called == []


def test_the_cli_needs_trust_pickle_and_verify_names_a_pickle(small_model, tmp_path):
    from typer.testing import CliRunner

    from moderation.cli import app

    path = _legacy_pickle(small_model, tmp_path / "m")
    comments = tmp_path / "c.csv"
    comments.write_text("id,text\n1,you moron\n")
    result = CliRunner().invoke(app, ["score", str(comments), "--model", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path / 'model.joblib'} is a pickle (written by moderation 0.1.0), which runs "
                             "code when loaded: refusing it. Only if you trust where it came from, load it with "
                             "--trust-pickle, and save it again to convert it to the safe skops format\n")
    result = CliRunner().invoke(app, ["score", str(comments), "--model", str(path), "--trust-pickle"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"Warning: {path / 'model.joblib'} is a pickle (moderation 0.1.0)")
    result = CliRunner().invoke(app, ["model", "verify", str(path)])
    assert result.exit_code == 0
    assert result.stderr == ("Warning: model.joblib is a pickle (moderation 0.1.0), which runs code when loaded: it "
                             "loads only with --trust-pickle; save it again to convert it to the safe skops format\n")


def test_a_model_with_an_impossible_ngram_setting_is_one_line(small_model, tmp_path):
    from typer.testing import CliRunner

    from moderation.cli import app

    import copy

    broken = copy.deepcopy(small_model)
    broken.pipeline.set_params(features__words__ngram_range=(3, 1))
    path = broken.save(tmp_path / "m")
    comments = tmp_path / "c.csv"
    comments.write_text("id,text\n1,you moron\n")
    result = CliRunner().invoke(app, ["score", str(comments), "--model", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path / 'model.skops'}: the 'words' features have an impossible setting: "
                             "ngram_range must satisfy 1 <= min_n <= max_n <= 32, not (3, 1)\n")


def test_queue_add_and_the_server_workers_take_trust_pickle(small_model, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from conftest import skip_or_fail
    from moderation.cli import app

    try:
        from moderation.queue.web.server import SERVE_MODEL, SERVE_TRUST_PICKLE, app_from_environment
    except ImportError as e:
        skip_or_fail(f"the queue extra is not installed ({e})")
    path = _legacy_pickle(small_model, tmp_path / "m")
    scored = tmp_path / "scored.csv"
    scored.write_text("id,score,flag,text\nc1,0.9,True,you moron\n")
    db = f"sqlite:///{tmp_path / 'q.db'}"
    result = CliRunner().invoke(app, ["queue", "add", str(scored), "--db", db, "--model", str(path)])
    assert result.exit_code == 2 and "load it with --trust-pickle" in result.stderr
    with pytest.warns(UserWarning, match="is a pickle"):
        result = CliRunner().invoke(app, ["queue", "add", str(scored), "--db", db, "--model", str(path),
                                          "--trust-pickle"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 added")
    monkeypatch.setenv("MODERATION_DB", db)
    monkeypatch.setenv(SERVE_MODEL, str(path))
    monkeypatch.setenv(SERVE_TRUST_PICKLE, "0")
    with pytest.raises(ModerationError, match="is a pickle"):
        app_from_environment()
    monkeypatch.setenv(SERVE_TRUST_PICKLE, "1")
    with pytest.warns(UserWarning, match="is a pickle"):
        assert app_from_environment().state.model.threshold == small_model.threshold


def test_warm_up_builds_the_scoring_table_and_changes_no_score(small_model_dir):
    from moderation.persist import load_model

    model = load_model(small_model_dir)
    assert "head" not in model.__dict__
    model.warm_up()
    assert model.head.__dict__["kernel_weights"] is not None
    texts = ["you are a pathetic moron", "thanks for the thoughtful article"]
    assert np.array_equal(model.score(texts), load_model(small_model_dir).score(texts))


def test_a_loaded_model_scores_and_explains_without_importing_scikit_learn():
    import subprocess
    import sys

    code = ("import sys, moderation\n"
            "m = moderation.load_model()\n"
            "table = m.score_table(['You idiot. The minister is right about the troops.', 'fine'], categories=True)\n"
            "assert table['score'][0] > m.threshold > table['score'][1], table\n"
            "assert table['reasons'][0].startswith('insult: idiot'), table\n"
            "assert [s.fragment for s in m.explain('You idiot. The minister is right about the troops.')] == ['idiot']\n"
            "print(sorted(n for n in sys.modules if n.split('.')[0] in ('sklearn', 'skops', 'joblib')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


def test_a_loaded_model_scores_a_list_of_texts_without_importing_pandas_or_scipy():
    """Half of what loading a model took was importing pandas and scipy.sparse, which scoring a list does not use
    (``score_table`` imports pandas for its frame; ``score_columns`` gives the same columns without it), and a
    quarter of what loading and scoring one comment took was importing scipy.special, for one function."""
    import subprocess
    import sys

    code = ("import sys, moderation\n"
            "m = moderation.load_model()\n"
            "scores, reasons = m.score_with_reasons(['You idiot. The minister is right about the troops.', 'fine'])\n"
            "assert scores[0] > m.threshold > scores[1], scores\n"
            "assert reasons == ['insult: idiot; you idiot; you', ''], reasons\n"
            "assert list(m.score(['fine', 'you moron']) > m.threshold) == [False, True]\n"
            "columns = m.score_columns(['you moron'], categories=True, reasons=0)\n"
            "assert columns['insult'][0] > 0.5 and columns['reasons'].tolist() == [''], columns\n"
            "print(sorted(n for n in ('pandas', 'scipy', 'scipy.sparse', 'sklearn') if n in sys.modules))\n"
            "from moderation import features\n"
            "print(features._kernel is not None)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, kernel = out.stdout.splitlines()
    # without the compiled kernel (a source checkout not built), scores come through scipy's sparse matrices and
    # the calibrator's logistic function from scipy.special
    assert imported == ("[]" if kernel == "True" else "['scipy', 'scipy.sparse']")


@pytest.mark.parametrize("order", ["built first", "scored first"])
def test_a_loaded_models_scikit_learn_objects_are_built_when_asked_for(order, default_model):
    from moderation.persist import load_model

    model = load_model()
    texts = ["You idiot. The minister is right about the troops.", "thanks for the thoughtful article", "you moron"]
    if order == "built first":
        assert isinstance(model.pipeline, Pipeline)
    table = model.score_table(texts, categories=True)
    assert table.equals(default_model.score_table(texts, categories=True))
    pipeline, categories = model.pipeline, model.categories
    assert list(pipeline.named_steps) == ["normalize", "features", "classifier"]
    assert list(categories) == model.category_names == ["insult", "identity_attack", "obscene", "threat"]
    # one object each, however often asked for; the classifiers' coefficients are the scoring table's values
    assert model.pipeline is pipeline and model.categories["insult"] is categories["insult"]
    weights = model.head.kernel_weights
    if weights is not None:
        for j, c in enumerate([pipeline.named_steps["classifier"], *categories.values()], start=1):
            assert np.array_equal(c.coef_.ravel(), weights[:, j])
    whole = pipeline.predict_proba(texts)[:, 1]
    features, _ = model.combination_inputs(texts)
    np.testing.assert_allclose(1 / (1 + np.exp(-features[:, 0])), whole)


def test_the_calibrated_score_is_the_calibrators_predict_proba_bit_for_bit(default_model):
    rng = np.random.default_rng(0)
    features, _ = default_model.combination_inputs(["You idiot.", "Fine. Thanks.", "You idiot. I disagree, though."])
    random = rng.normal(scale=[8, 8, 2, 1][:features.shape[1]], size=(5000, features.shape[1]))
    extremes = np.array([[v] * features.shape[1] for v in (-1e6, -800.0, -40.0, 0.0, 40.0, 800.0, 1e6)])
    for x in (features, random, extremes):
        expected = default_model.calibrator.predict_proba(x)[:, 1]
        assert np.array_equal(default_model._calibrated(x), expected)


def test_a_loaded_model_saves_its_own_bytes_before_and_after_scoring(tmp_path):
    from moderation.persist import MODEL_FILE, load_model, sha256_file

    model = load_model()
    shipped = model.card.file.sha256
    model.save(tmp_path / "before")
    model.warm_up()
    model.save(tmp_path / "after")
    assert sha256_file(tmp_path / "before" / MODEL_FILE) == shipped
    assert sha256_file(tmp_path / "after" / MODEL_FILE) == shipped
