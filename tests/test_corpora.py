"""Loaders for the public corpora (skipped without ../shared/data, required in CI)."""

import pandas as pd
import pytest

from moderation import ModerationError
from moderation.corpora import CATEGORIES, CORPORA, corpus_files_sha256, describe, find_data_root, load_corpora


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_each_corpus_loads_in_the_common_shape(data_root, name):
    df = load_corpora(data_root, [name])
    assert len(df) > 500
    assert list(df.columns[:7]) == ["text", "label", "source", *CATEGORIES]
    assert set(df["label"].unique()) == {0, 1}
    assert (df["source"] == name).all()
    assert df["text"].map(lambda t: isinstance(t, str) and t.strip() != "").all()
    assert not df["text"].duplicated().any()
    for c in CATEGORIES:
        assert str(df[c].dtype) == "Float64"


def test_toxic_spans_has_spans_inside_texts(data_root):
    df = load_corpora(data_root, ["toxic_spans"])
    assert df["spans"].map(len).sum() > 10_000
    for text, spans in zip(df["text"], df["spans"]):
        assert all(0 <= s < e <= len(text) for s, e in spans)


def test_describe_and_hash_are_stable(data_root):
    first = describe(data_root, ["impermium"])
    assert first == describe(data_root, ["impermium"])
    assert first[0]["sha256"] == corpus_files_sha256(data_root, "impermium")
    assert first[0]["licence"] and first[0]["source_url"].startswith("github.com/")
    assert first[0]["open_licence"] is False


def test_registry_order_keeps_the_first_seven_first():
    assert list(CORPORA) == ["toxic_spans", "davidson", "impermium", "toxigen", "olid", "hateval", "stormfront",
                             "conan", "ghc", "convabuse", "cadd", "hatemoji_build", "edos"]


def test_label_rules_say_the_test_split_is_not_used():
    for name in ("ghc", "convabuse", "cadd", "hatemoji_build", "edos"):
        assert "the test split" in CORPORA[name].label_rule and "is not used" in CORPORA[name].label_rule
        assert not any("test" in f.lower() for f in CORPORA[name].files)
    assert "No test split is published" in CORPORA["conan"].label_rule


def test_open_licence_only_where_any_use_is_allowed():
    assert {name: corpus.open_licence for name, corpus in CORPORA.items()} == {
        "toxic_spans": True, "davidson": True, "impermium": False, "toxigen": True, "olid": True,
        "hateval": False, "stormfront": True, "conan": False, "ghc": False, "convabuse": True, "cadd": True,
        "hatemoji_build": True, "edos": True,
    }


def test_missing_corpus_file_is_a_user_error(tmp_path):
    with pytest.raises(ModerationError, match="corpus file not found"):
        load_corpora(tmp_path, ["davidson"])


def test_unknown_corpus_is_a_user_error(tmp_path):
    with pytest.raises(ModerationError, match="unknown corpus 'nope'"):
        load_corpora(tmp_path, ["nope"])


def test_find_data_root_honours_explicit_path(tmp_path, monkeypatch):
    assert find_data_root(tmp_path) == tmp_path
    assert find_data_root(tmp_path / "missing") is None
    monkeypatch.setenv("MODERATION_DATA", str(tmp_path))
    assert find_data_root() == tmp_path


# -- the corpora added later: each loader on a tiny file in its published format, texts written by us

NEW_CORPORA = ("conan", "ghc", "convabuse", "cadd", "hatemoji_build", "edos")
NA = pd.NA


def write(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def rows(df, *columns):
    return [list(r) for r in df[list(columns)].astype(object).itertuples(index=False)]


def distinct_with_majority(texts, labels):
    """How many distinct texts have a majority label (what a loader keeps after deduplication)."""
    mean = pd.Series(list(labels), dtype=float).groupby(pd.Series(list(texts))).mean()
    return int((mean != 0.5).sum())


def test_conan_hate_is_removed_counter_narrative_kept(tmp_path):
    write(tmp_path / "conan/Multitarget-CONAN.csv",
          "INDEX,HATE_SPEECH,COUNTER_NARRATIVE,TARGET,VERSION\n"
          "0,Goblins ruin every town.,Goblins run bakeries and pay taxes.,other,V1\n"
          "1,Goblins ruin every town.,\"Towns with goblins are doing fine, \"\"ruin\"\" is unfair.\",other,V2\n")
    write(tmp_path / "conan/CONAN.csv",
          "cn_id,hateSpeech,counterSpeech,hsType,hsSubType,cnType,age,gender,educationLevel\n"
          "ENT1ST0001HS0001CN000001,Trolls should leave.,Trolls are neighbours.,Islamophobia,x,facts,20,F,1\n"
          "FRT1ST0001HS0001CN000001,Les trolls doivent partir.,Les trolls sont voisins.,Islamophobia,x,facts,20,F,1\n")
    write(tmp_path / "conan/DIALOCONAN.csv",
          "text,TARGET,dialogue_id,turn_id,type,source\n"
          "\"Ogres take our jobs.\n\",MIGRANTS,0,0,HS,session_1\n"
          "Ogres work the jobs nobody else wanted.,MIGRANTS,0,1,CN,session_1\n"
          "Goblins run bakeries and pay taxes.,MIGRANTS,0,2,HS,session_1\n"
          " ,MIGRANTS,0,3,CN,session_1\n")
    df = load_corpora(tmp_path, ["conan"])  # the bakeries text is hate once and counter-narrative once: dropped
    assert rows(df, "text", "label", "identity_attack", "insult", "target_group") == [
        ["Goblins ruin every town.", 1, 1.0, NA, "other"],
        ['Towns with goblins are doing fine, "ruin" is unfair.', 0, 0.0, NA, "other"],
        ["Trolls should leave.", 1, 1.0, NA, "MUSLIMS"],
        ["Trolls are neighbours.", 0, 0.0, NA, "MUSLIMS"],
        ["Ogres take our jobs.", 1, 1.0, NA, "MIGRANTS"],
        ["Ogres work the jobs nobody else wanted.", 0, 0.0, NA, "MIGRANTS"],
    ]


def test_conan_hate_statements_are_identity_attacks(data_root):
    df = load_corpora(data_root, ["conan"])
    assert (df["identity_attack"] == df["label"]).all()
    assert set(df["target_group"]) >= {"MUSLIMS", "MIGRANTS", "WOMEN", "LGBT+", "JEWS", "POC", "DISABLED"}


def test_ghc_any_label_is_removed_and_maps_to_categories(tmp_path):
    write(tmp_path / "ghc/GHC_train.tsv",
          "text\thd\tcv\tvo\n"
          "nice weather\t0\t0\t0\n"
          "\"goblins are \"\"vermin\"\" \"\t1\t0\t0\n"
          "goblins must be driven out by force\t1\t1\t0\n"
          "you are a goblin &amp; a fool\t0\t0\t1\n")
    write(tmp_path / "ghc/GHC_test.tsv", "text\thd\tcv\tvo\nnot read\t1\t1\t1\n")
    df = load_corpora(tmp_path, ["ghc"])
    assert rows(df, "text", "label", "identity_attack", "threat", "insult", "obscene") == [
        ["nice weather", 0, 0.0, 0.0, 0.0, NA],
        ['goblins are "vermin"', 1, 1.0, 0.0, 0.0, NA],
        ["goblins must be driven out by force", 1, 1.0, 1.0, 0.0, NA],
        ["you are a goblin & a fool", 1, 0.0, 0.0, 1.0, NA],
    ]


def test_ghc_is_the_train_split_only(data_root):
    df = load_corpora(data_root, ["ghc"])
    train = pd.read_csv(data_root / "ghc/GHC_train.tsv", sep="\t", dtype=str, keep_default_na=False)
    test = pd.read_csv(data_root / "ghc/GHC_test.tsv", sep="\t", dtype=str, keep_default_na=False)
    train_texts = set(train["text"].str.strip())
    assert not set(df["text"]) & (set(test["text"].str.strip()) - train_texts)
    labels = (train[["hd", "cv", "vo"]] == "1").any(axis=1).astype(int)
    assert len(df) == distinct_with_majority(train["text"].str.strip(), labels)
    assert df["identity_attack"].notna().all() and df["threat"].notna().all() and df["insult"].notna().all()


CONVABUSE_FIELDS = ("is_abuse.1", "is_abuse.0", "is_abuse.-1", "is_abuse.-2", "is_abuse.-3", "ableist", "homophobic",
                    "intellectual", "racist", "sexist", "sex_harassment", "transphobic", "target.generalised",
                    "target.individual", "target.system", "explicit", "implicit")


def convabuse_header():
    """The published header, with its misnamed transphobic columns for annotators 7 and 8."""
    names = ["example_id", "conv_id", "prev_agent", "prev_user", "agent", "user", "bot"]
    for a in range(1, 9):
        names += [f"Annotator{a}_{f}" if (a, f) not in ((7, "transphobic"), (8, "transphobic"))
                  else f"Annotator6_transphobic.{a - 6}" for f in CONVABUSE_FIELDS]
    return names


def convabuse_row(example_id, user, ratings):
    """``ratings``: annotator number -> list of (is_abuse, ticked fields), one per time they rated the row."""
    cells = []
    for a in range(1, 9):
        given = ratings.get(a, [])
        for f in CONVABUSE_FIELDS:
            values = [int(f == f"is_abuse.{score}" or f in ticked) for score, ticked in given]
            cells.append(", ".join(map(str, values)))
    return [f"{example_id}.0", "1.0", "hello", "", "how can I help?", user, "E.L.I.Z.A.", *cells]


def write_convabuse(path, rows_):
    import csv
    import io
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([convabuse_header(), *rows_])
    write(path, out.getvalue())


def test_convabuse_majority_of_annotators_by_position(tmp_path):
    ok, goblin = (1, ()), (-1, ("intellectual", "target.system", "explicit"))
    write_convabuse(tmp_path / "convabuse/ConvAbuseEMNLPtrain.csv", [
        convabuse_row(1, "nice weather", {1: [ok], 2: [ok], 3: [ok]}),
        convabuse_row(2, "you are a goblin", {1: [goblin], 2: [goblin], 3: [(0, ())]}),
        convabuse_row(3, "goblins are all thieves", {1: [ok], 7: [(-2, ("transphobic",))], 8: [(-3, ("transphobic",))]}),
        # annotator 4 rated it twice: one vote, not two, so 2 of 4 annotators is no majority
        convabuse_row(4, "you smell of onions", {4: [(-1, ()), (-1, ())], 5: [(-1, ())], 6: [ok], 1: [ok]}),
        convabuse_row(5, " <span class='emoji-bytes' data-emoji-bytes='[240, 159, 152, 128]'></span> hi bot ",
                      {2: [ok], 3: [ok]}),
        convabuse_row(6, "nobody rated this", {}),
    ])
    write_convabuse(tmp_path / "convabuse/ConvAbuseEMNLPvalid.csv", [
        convabuse_row(7, "hello there", {1: [(0, ())], 2: [(0, ())]}),
        convabuse_row(8, "you are a goblin, bot", {5: [goblin], 7: [(-1, ("intellectual",)), ok]}),  # 1.5 of 2 votes
    ])
    df = load_corpora(tmp_path, ["convabuse"])
    assert rows(df, "text", "label", "identity_attack", "insult", "obscene", "threat") == [
        ["nice weather", 0, 0.0, 0.0, NA, NA],
        ["you are a goblin", 1, 0.0, 1.0, NA, NA],
        ["goblins are all thieves", 1, 1.0, NA, NA, NA],
        ["you smell of onions", 0, 0.0, 0.0, NA, NA],
        ["\N{GRINNING FACE} hi bot", 0, 0.0, 0.0, NA, NA],
        ["hello there", 0, 0.0, 0.0, NA, NA],
        ["you are a goblin, bot", 1, 0.0, 1.0, NA, NA],
    ]


def test_convabuse_rejects_an_unexpected_header(tmp_path):
    header = convabuse_header()
    header[7 + 5] = "Annotator1_fish"
    write(tmp_path / "convabuse/ConvAbuseEMNLPtrain.csv", ",".join(header) + "\n")
    write(tmp_path / "convabuse/ConvAbuseEMNLPvalid.csv", ",".join(convabuse_header()) + "\n")
    with pytest.raises(ModerationError, match="unexpected ConvAbuse annotator columns"):
        load_corpora(tmp_path, ["convabuse"])


def test_convabuse_is_train_and_valid_by_annotator_majority(data_root):
    """Labels recomputed here from the raw cells, one vote per annotator who rated the row."""
    import csv

    df = load_corpora(data_root, ["convabuse"])
    texts, labels, test_texts = [], [], set()
    for split in ("train", "valid", "test"):
        with open(data_root / f"convabuse/ConvAbuseEMNLP{split}.csv", newline="", encoding="utf-8") as fh:
            header, *body = list(csv.reader(fh))
        user = header.index("user")
        for row in body:
            if split == "test":
                test_texts.add(row[user].strip())
                continue
            votes = []
            for a in range(8):
                block = row[7 + 17 * a:7 + 17 * (a + 1)]
                if block[0]:
                    ratings = list(zip(*[[int(v) for v in cell.split(", ")] for cell in block[:5]]))
                    votes.append(sum(r[2] or r[3] or r[4] for r in ratings) / len(ratings))
            if votes:
                texts.append(row[user].strip())
                labels.append(int(sum(votes) > len(votes) / 2))
    assert len(df) == distinct_with_majority(texts, labels)
    assert int(df["label"].sum()) == int(pd.Series(labels).groupby(pd.Series(texts)).mean().gt(0.5).sum())
    assert not set(df["text"]) & (test_texts - set(texts))
    kept, removed = df[df["label"] == 0], df[df["label"] == 1]
    assert (kept["insult"] == 0).all() and (kept["identity_attack"] == 0).all()
    assert removed["insult"].fillna(1).eq(1).all() and removed["identity_attack"].notna().all()


def cadd_json(comments):
    """CADD's published layout: one object keyed by comment id, every value a string."""
    import json

    out = {}
    for i, (comment, l1, l4) in enumerate(comments):
        out[f"1k{i:04d}"] = {"title": "A question about goblins", "body": "Goblins &amp; trolls: discuss.",
                             "comment": comment, "L1": str(l1), "L2": str(int(l1 > 0)), "L3": str(int(l1 in (1, 2))),
                             "L4": str(l4), "L5": "0", "L6": "0"}
    return json.dumps(out, indent=4, ensure_ascii=False)


def test_cadd_hate_and_derogatory_removed_profanity_dropped(tmp_path):
    write(tmp_path / "cadd/CADD_dev.json", cadd_json([
        ("nice weather", 0, 0),
        ("you are a goblin", 2, 0),
        ("goblins are vermin", 1, 7),
        ("?\x9cgoblins?? are not welcome here", 1, 8),
        ("darn it all", 3, 0),
        ("a cafÃ© run by goblins &gt; a caf\u00e9 run by trolls", 0, 0),
        ("5 \\* 3 goblins", 0, 0),
    ]))
    write(tmp_path / "cadd/CADD_test.json", cadd_json([("not read", 1, 1)]))
    df = load_corpora(tmp_path, ["cadd"])
    assert rows(df, "text", "label", "identity_attack", "insult", "obscene", "threat") == [
        ["nice weather", 0, 0.0, 0.0, NA, NA],
        ["you are a goblin", 1, 0.0, 1.0, NA, NA],
        ["goblins are vermin", 1, 1.0, NA, NA, NA],
        ["\N{LEFT DOUBLE QUOTATION MARK}goblins?? are not welcome here", 1, NA, NA, NA, NA],
        ["a caf\u00e9 run by goblins > a caf\u00e9 run by trolls", 0, 0.0, 0.0, NA, NA],
        ["5 * 3 goblins", 0, 0.0, 0.0, NA, NA],
    ]
    assert set(df["context_title"]) == {"A question about goblins"}
    assert set(df["context_body"]) == {"Goblins & trolls: discuss."}


def test_cadd_reads_latin1_when_the_bytes_are_not_utf8(tmp_path):
    write(tmp_path / "cadd/CADD_dev.json", cadd_json([("caf\u00e9 goblins", 0, 0), ("you goblin", 2, 0)]), "latin-1")
    assert load_corpora(tmp_path, ["cadd"])["text"].tolist() == ["caf\u00e9 goblins", "you goblin"]


def test_cadd_is_the_dev_split_without_profanity(data_root):
    import json

    df = load_corpora(data_root, ["cadd"])
    dev = pd.DataFrame(list(json.loads((data_root / "cadd/CADD_dev.json").read_text("utf-8")).values()))
    test = pd.DataFrame(list(json.loads((data_root / "cadd/CADD_test.json").read_text("utf-8")).values()))
    kept = dev[dev["L1"].isin(["0", "1", "2"])]
    assert len(df) == distinct_with_majority(kept["comment"], kept["L1"] != "0")
    assert int(df["label"].sum()) == int(kept["L1"].isin(["1", "2"]).sum())
    assert not set(df["text"]) & set(dev.loc[dev["L1"] == "3", "comment"].str.strip())
    assert not set(df["text"]) & (set(test["comment"].str.strip()) - set(dev["comment"].str.strip()))
    assert (df["context_title"].str.len() > 0).all() and (df["context_body"].str.len() > 0).all()
    assert not df["text"].str.contains("[\x80-\x9f]|&gt;|&amp;").any()


HATEMOJI_HEADER = "entry_id,text,type,target,round.base,round.set,set,split,label_gold,matched_text,matched_id\n"


def test_hatemoji_build_label_gold_pairs_kept_whole(tmp_path):
    write(tmp_path / "hatemoji_build/train.csv", HATEMOJI_HEADER +
          "0,goblins are vermin \N{RAT},derogation,['gob'],5,5a,original,train,1,trolls are vermin \N{RAT},1\n"
          "1,trolls are vermin \N{RAT},none,['none'],5,5b,perturbation,train,0,goblins are vermin \N{RAT},0\n"
          "2,\"\nall goblins should be \N{FIRE}\",threateninglanguage,['gob'],6,6a,original,train,1,x,3\n"
          "4,i love goblins,none,['none'],6,6a,original,train,0,i hate goblins,5\n"
          "6,i love goblins,none,['none'],7,7a,original,train,0,i hate goblins,7\n"
          "7,i hate goblins,animosity,['gob'],7,7b,perturbation,train,1,i love goblins,6\n")
    write(tmp_path / "hatemoji_build/validation.csv", HATEMOJI_HEADER +
          "3,all bonfires should be \N{FIRE},none,['none'],6,6b,perturbation,dev,0,x,2\n")
    # entry 4's partner (5) is in the test split: 4 is dropped, its text in entry 6 too, and 6's partner 7
    df = load_corpora(tmp_path, ["hatemoji_build"])
    assert rows(df, "text", "label", "identity_attack", "threat", "insult", "hatemoji_type", "hatemoji_pair") == [
        ["goblins are vermin \N{RAT}", 1, 1.0, 0.0, NA, "derogation", 0],
        ["trolls are vermin \N{RAT}", 0, 0.0, NA, NA, "none", 0],
        ["all goblins should be \N{FIRE}", 1, 1.0, 1.0, NA, "threateninglanguage", 2],
        ["all bonfires should be \N{FIRE}", 0, 0.0, NA, NA, "none", 2],
    ]


def test_hatemoji_build_is_train_and_validation_with_whole_pairs(data_root):
    df = load_corpora(data_root, ["hatemoji_build"])
    raw = pd.concat([pd.read_csv(data_root / f"hatemoji_build/{split}.csv", dtype=str, keep_default_na=False)
                     for split in ("train", "validation")], ignore_index=True)
    test = pd.read_csv(data_root / "hatemoji_build/test.csv", dtype=str, keep_default_na=False)
    twins = set(raw.loc[raw["matched_id"].isin(set(test["entry_id"])), "text"].str.strip())
    assert not set(df["text"]) & (set(test["text"].str.strip()) | twins)
    paired = raw[raw["matched_id"].isin(set(raw["entry_id"])) & ~raw["text"].str.strip().isin(twins)]
    paired = paired[paired["matched_id"].isin(set(paired["entry_id"]))]
    assert len(df) == distinct_with_majority(paired["text"].str.strip(), paired["label_gold"].astype(int))
    assert (df["identity_attack"] == df["label"]).all()
    assert (df["threat"].fillna(0).eq(1) == df["hatemoji_type"].eq("threateninglanguage")).all()


def test_edos_threats_and_derogation_removed_animosity_dropped(tmp_path):
    write(tmp_path / "edos/edos_labelled_aggregated.csv",
          "rewire_id,text,label_sexist,label_category,label_vector,split\n"
          "sexism2022_english-1,nice weather [URL],not sexist,none,none,train\n"
          "sexism2022_english-2,goblin women should be thrown in the moat,sexist,"
          "\"1. threats, plans to harm and incitement\",1.2 incitement and encouragement of harm,train\n"
          "sexism2022_english-3,goblin women are all dim &#x200B;,sexist,2. derogation,2.1 descriptive attacks,dev\n"
          "sexism2022_english-4,goblin women can't park,sexist,3. animosity,"
          "3.2 immutable gender differences and gender stereotypes,train\n"
          "sexism2022_english-5,goblin women belong at home,sexist,4. prejudiced discussions,"
          "4.2 supporting systemic discrimination against women as a group,dev\n"
          "sexism2022_english-6,goblin women are all trolls,sexist,2. derogation,2.1 descriptive attacks,test\n"
          "sexism2022_english-7,[USER] ¯\\\\\\_(ツ)_/¯,not sexist,none,none,dev\n")
    df = load_corpora(tmp_path, ["edos"])
    assert rows(df, "text", "label", "identity_attack", "threat", "insult", "edos_category", "edos_vector") == [
        ["nice weather [URL]", 0, NA, NA, NA, "none", "none"],
        ["goblin women should be thrown in the moat", 1, 1.0, 1.0, NA, "1. threats, plans to harm and incitement",
         "1.2 incitement and encouragement of harm"],
        ["goblin women are all dim \u200b", 1, 1.0, 0.0, NA, "2. derogation", "2.1 descriptive attacks"],
        ["[USER] ¯\\_(ツ)_/¯", 0, NA, NA, NA, "none", "none"],
    ]


def test_edos_is_train_and_dev_without_animosity_or_prejudice(data_root):
    df = load_corpora(data_root, ["edos"])
    raw = pd.read_csv(data_root / "edos/edos_labelled_aggregated.csv", dtype=str, keep_default_na=False)
    used = raw[raw["split"].isin(["train", "dev"]) & ~raw["label_category"].str[:2].isin(["3.", "4."])]
    assert len(df) == distinct_with_majority(used["text"], used["label_sexist"] == "sexist")
    assert set(df["edos_category"]) == {"none", "1. threats, plans to harm and incitement", "2. derogation"}
    assert not set(df["text"]) & set(raw.loc[raw["split"] == "test", "text"])
    assert ((df["label"] == 1) == (df["edos_category"] != "none")).all()
    assert (df["threat"].fillna(0).eq(1) == df["edos_category"].str.startswith("1.")).all()


@pytest.mark.parametrize("name", NEW_CORPORA)
def test_new_corpora_categories_imply_removal(data_root, name):
    df = load_corpora(data_root, [name])
    for c in CATEGORIES:
        assert (df.loc[df[c].fillna(0).eq(1).to_numpy(), "label"] == 1).all()
        assert df[c].isin([0.0, 1.0]).sum() + df[c].isna().sum() == len(df)
