"""data_formats.yaml: loading, validation messages, look-ups, and the drift check against the installed library."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lossadvisor.cli import app
from lossadvisor.errors import FitError, TableError
from lossadvisor.table import CACHE_ENV, default_table_path, load_table

CANONICAL_FORMATS = {
    "pair-class", "pair", "labeled-pair", "pair-score", "triplet", "n-tuple", "labeled-list",
    "triplet-margin", "n-tuple-margin", "triplet-scores", "n-tuple-scores",
}
# shapes data is published in, which no loss takes as they are: convert expands them (issue 11)
PUBLISHED_SHAPES = {"list-negatives", "pos-neg-lists", "pos-neg-lists-scores"}
# The SentenceTransformer table's own formats (no CrossEncoder row trains on them).
EMBEDDER_FORMATS = {"single-class", "single", "anchor-anchor", "damaged-original", "input-embeddings"}
FAMILIES = {"cross-encoder", "sentence-transformer", "sparse-encoder", "multi-vector"}


@pytest.fixture(scope="module")
def table():
    return load_table()


@pytest.fixture()
def raw() -> dict:
    """A fresh, mutable copy of the packaged YAML."""
    return yaml.safe_load(default_table_path().read_text(encoding="utf-8"))


def write(tmp_path: Path, data, name: str = "table.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def table_error(path: Path) -> str:
    with pytest.raises(TableError) as caught:
        load_table(path)
    message = caught.value.message
    assert "\n" not in message
    assert str(path) in message, "the message names the file"
    return message


# --- the packaged table -------------------------------------------------------------------------------


def test_packaged_table_loads(table):
    assert table.path.is_file()
    assert len(table.rows) >= 12
    assert {f.name for f in table.formats} == CANONICAL_FORMATS | PUBLISHED_SHAPES | EMBEDDER_FORMATS
    assert {f.name for f in table.formats if table.rows_for_format(f.name)} == CANONICAL_FORMATS
    for row in table.rows:
        assert row.format in CANONICAL_FORMATS
        assert all(loss in table.losses for loss in row.losses)
    for name, loss in table.losses.items():
        assert loss.class_name == name
        assert table.rows_for_loss(name), f"{name} is in no row"


def test_every_family_has_its_table(table):
    assert set(table.family_names) == FAMILIES
    for name in FAMILIES:
        family = table.for_family(name)
        assert family.family_name == name and family.rows and family.losses
        for row in family.rows:
            assert all(loss in family.losses for loss in row.losses)
        # every loss is a row's answer, or a wrapper, modifier, regularizer or component the family declares
        for loss in family.losses:
            assert family.rows_for_loss(loss) or loss in family.family.helpers, f"{name}: {loss} is in no row"
    embedder = table.for_family("sentence-transformer")
    assert {f for f in EMBEDDER_FORMATS if embedder.rows_for_format(f)} == EMBEDDER_FORMATS
    assert "MultipleNegativesRankingLoss" in embedder.rows_for_format("pair")[0].losses
    assert table.for_family("sparse-encoder").family.wrappers[0] == "SpladeLoss"


@pytest.mark.parametrize(("typed", "family"), [
    ("embedder", "sentence-transformer"), ("Sentence_Transformers", "sentence-transformer"), ("splade", "sparse-encoder"),
    ("colbert", "multi-vector"), ("reranker", "cross-encoder"), ("cross-encoders", "cross-encoder"),
])
def test_family_names_resolve(table, typed, family):
    assert table.for_family(typed).family_name == family


def test_unknown_family_suggests_the_closest(table):
    with pytest.raises(FitError) as caught:
        table.for_family("sentence-transformr")
    assert "unknown model family 'sentence-transformr'" in caught.value.message
    assert "sentence-transformer" in (caught.value.hint or "")


def test_a_loss_of_another_family_names_that_family(table):
    with pytest.raises(FitError) as caught:
        table.resolve_loss("CoSENTLoss")
    assert "not a CrossEncoder loss" in caught.value.message and "--family sentence-transformer" in caught.value.hint
    assert table.for_family("embedder").resolve_loss("cosent") == "CoSENTLoss"


def test_a_wrong_loss_in_another_family_is_reported_with_the_family(tmp_path, raw):
    raw["families"]["sparse-encoder"]["rows"][0]["losses"][0] = "SparseNopeLoss"
    message = table_error(write(tmp_path, raw))
    assert "families.sparse-encoder.rows[0].losses[0]: unknown loss 'SparseNopeLoss'" in message


def test_a_version_1_table_is_refused_with_the_way_to_upgrade(tmp_path, raw):
    raw = {"version": 1, "formats": raw["formats"], "conversions": raw["conversions"],
           **{key: raw["families"]["cross-encoder"][key] for key in ("rows", "common", "losses")}}
    message = table_error(write(tmp_path, raw))
    assert "version 1 table" in message and "families.cross-encoder" in message


def test_distillation_rows_are_marked(table):
    distillation = {row.format for row in table.rows if row.distillation}
    assert {"triplet-margin", "n-tuple-margin", "triplet-scores", "n-tuple-scores"} <= distillation
    assert "MSELoss" in {loss for row in table.rows if row.distillation for loss in row.losses}
    assert all(table.format(name).distillation for name in distillation if name != "pair-score")


# --- validation messages: file, entry path, field -------------------------------------------------------


def test_unknown_loss_in_a_row(tmp_path, raw):
    raw["families"]["cross-encoder"]["rows"][3]["losses"][0] = "BinaryCrossEntropyLos"
    message = table_error(write(tmp_path, raw))
    assert "rows[3].losses[0]" in message
    assert "unknown loss 'BinaryCrossEntropyLos'" in message


def test_unknown_format_in_a_row(tmp_path, raw):
    raw["families"]["cross-encoder"]["rows"][1]["format"] = "pairs-of-things"
    message = table_error(write(tmp_path, raw))
    assert "rows[1].format: unknown format 'pairs-of-things'" in message


def test_missing_field(tmp_path, raw):
    del raw["families"]["cross-encoder"]["rows"][2]["num_labels"]
    message = table_error(write(tmp_path, raw))
    assert "rows[2].num_labels" in message
    assert "required" in message.lower()


def test_missing_field_in_a_loss(tmp_path, raw):
    del raw["families"]["cross-encoder"]["losses"]["LambdaLoss"]["import"]
    message = table_error(write(tmp_path, raw))
    assert "losses.LambdaLoss.import" in message


def test_extra_key(tmp_path, raw):
    raw["formats"][0]["colour"] = "blue"
    message = table_error(write(tmp_path, raw))
    assert "formats[0].colour" in message
    assert "not permitted" in message


def test_wrong_type(tmp_path, raw):
    raw["formats"][4]["texts"]["min"] = "three"
    message = table_error(write(tmp_path, raw))
    assert "formats[4].texts.min" in message


def test_bad_value_for_a_literal(tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["MSELoss"]["activation"] = "tanh"
    message = table_error(write(tmp_path, raw))
    assert "losses.MSELoss.activation" in message


def test_bad_yaml(tmp_path):
    path = write(tmp_path, "version: 1\nformats: [\n  - name: pair\n rows: {\n")
    message = table_error(path)
    assert "invalid YAML" in message
    assert "line" in message


@pytest.mark.parametrize("text, found", [("- a\n- b\n", "list"), ("just a string\n", "str"), ("", "NoneType")])
def test_non_mapping_top_level(tmp_path, text, found):
    message = table_error(write(tmp_path, text))
    assert f"expected a mapping at the top level, found {found}" in message


def test_loss_in_no_row(tmp_path, raw):
    for row in raw["families"]["cross-encoder"]["rows"]:
        row["losses"] = [loss for loss in row["losses"] if loss != "ADRMSELoss"]
    message = table_error(write(tmp_path, raw))
    assert "losses.ADRMSELoss: appears in no row" in message


def test_conversion_to_unknown_format(tmp_path, raw):
    raw["conversions"][2]["to"] = "tripletz"
    message = table_error(write(tmp_path, raw))
    assert "conversions[2].to: unknown format 'tripletz'" in message


def test_common_advice_with_unknown_format(tmp_path, raw):
    raw["families"]["cross-encoder"]["common"][1]["via"][1] = "labelled-pair"
    message = table_error(write(tmp_path, raw))
    assert "common[1].via[1]: unknown format 'labelled-pair'" in message


def test_duplicate_format(tmp_path, raw):
    raw["formats"].append(copy.deepcopy(raw["formats"][0]))
    message = table_error(write(tmp_path, raw))
    assert f"formats[{len(raw['formats']) - 1}].name: duplicate format 'pair-class'" in message


def test_import_path_names_another_class(tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["MSELoss"]["import"] = "sentence_transformers.cross_encoder.losses.MarginMSELoss"
    message = table_error(write(tmp_path, raw))
    assert "losses.MSELoss.import" in message


def test_several_problems_are_counted(tmp_path, raw):
    raw["families"]["cross-encoder"]["rows"][0]["losses"][0] = "Nope1"
    raw["families"]["cross-encoder"]["rows"][1]["losses"][0] = "Nope2"
    message = table_error(write(tmp_path, raw))
    assert "rows[0].losses[0]" in message and "more)" in message


def test_unreadable_table(tmp_path):
    message = table_error(tmp_path / "missing.yaml")
    assert "cannot read loss table" in message
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: 1 # caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in table_error(path)


def test_cli_broken_table_exits_2_with_one_error_line(tmp_path, raw):
    raw["families"]["cross-encoder"]["rows"][3]["losses"][0] = "NoSuchLoss"
    path = write(tmp_path, raw)
    result = CliRunner().invoke(app, ["--table", str(path), "table"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ")
    assert "rows[3].losses[0]" in lines[0] and str(path) in lines[0]
    assert all(line.startswith(("Error:", "Hint:")) for line in lines)
    assert "Traceback" not in result.output


def test_cli_missing_table_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["--table", str(tmp_path / "nope.yaml"), "table"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("Error: cannot read loss table")


# --- the validated-table cache ---------------------------------------------------------------------------


@pytest.fixture()
def own_cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def test_cache_round_trip_gives_the_same_table(own_cache, tmp_path, raw):
    path = write(tmp_path, raw)
    first = load_table(path)
    cached = list(own_cache.glob("table-*.msgpack"))
    assert len(cached) == 1
    second = load_table(path)
    assert second.model == first.model
    assert second.losses["LambdaLoss"].class_name == "LambdaLoss" and second.rows[0].num_labels == first.rows[0].num_labels


def test_cache_hit_skips_the_yaml_parse(own_cache, tmp_path, raw, monkeypatch):
    path = write(tmp_path, raw)
    load_table(path)
    import lossadvisor.table as table_module

    def no_parse(*args):
        raise AssertionError("parsed the YAML although the cache holds it")

    monkeypatch.setattr(table_module, "_parse_yaml", no_parse)
    assert load_table(path).rows


def test_an_edited_table_is_read_again(own_cache, tmp_path, raw):
    path = write(tmp_path, raw)
    load_table(path)
    raw["families"]["cross-encoder"]["rows"][0]["inputs"] = "(sentence_A, sentence_B) pairs, edited"
    write(tmp_path, raw)
    assert load_table(path).rows[0].inputs.endswith("edited")
    raw["families"]["cross-encoder"]["rows"][3]["losses"][0] = "NoSuchLoss"  # a cached copy must not hide a new error
    write(tmp_path, raw)
    assert "rows[3].losses[0]" in table_error(path)


def test_a_broken_cache_file_is_ignored_and_replaced(own_cache, tmp_path, raw, monkeypatch):
    path = write(tmp_path, raw)
    expected = load_table(path).model
    (cached,) = own_cache.glob("table-*.msgpack")
    cached.write_bytes(cached.read_bytes()[:40] + b"garbage")
    assert load_table(path).model == expected  # parsed again, and the cache written anew
    import lossadvisor.table as table_module

    monkeypatch.setattr(table_module, "_parse_yaml", lambda *args: pytest.fail("the rewritten cache was not used"))
    assert load_table(path).model == expected


def test_an_unwritable_cache_costs_nothing_but_the_parse(tmp_path, raw, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    path = write(tmp_path, raw)
    assert load_table(path).rows and load_table(path).rows
    assert blocker.read_text() == "a file where the cache folder would go"


# --- look-ups ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, canonical", [
    ("triplets", "triplet"),
    ("labeled_pairs", "labeled-pair"),
    ("Labeled_Pair", "labeled-pair"),
    ("PAIR-CLASS", "pair-class"),
    ("pair class", "pair-class"),
    ("n_tuples", "n-tuple"),
    ("labeled-lists", "labeled-list"),
    ("triplet_scores", "triplet-scores"),
    ("triplets-scores", "triplet-scores"),
    ("n-tuple-margins", "n-tuple-margin"),
    ("pairs", "pair"),
    ("pair-scores", "pair-score"),
])
def test_resolve_format_forgives_case_underscores_plurals(table, typed, canonical):
    assert table.resolve_format(typed) == canonical


@pytest.mark.parametrize("name", sorted(CANONICAL_FORMATS))
def test_resolve_format_canonical_names(table, name):
    assert table.resolve_format(name) == name
    assert table.format(name).name == name


def test_resolve_format_suggests_on_typo(table):
    with pytest.raises(FitError) as caught:
        table.resolve_format("tripplet")
    assert caught.value.message.startswith("unknown format 'tripplet'")
    assert caught.value.hint == "Did you mean 'triplet'?"


def test_resolve_format_without_a_close_match(table):
    with pytest.raises(FitError) as caught:
        table.resolve_format("zzzzzz")
    assert "known: pair-class" in caught.value.message
    assert caught.value.hint is None


@pytest.mark.parametrize("typed, canonical", [
    ("LambdaLoss", "LambdaLoss"),
    ("lambdaloss", "LambdaLoss"),
    ("lambda", "LambdaLoss"),
    ("listnet", "ListNetLoss"),
    ("sentence_transformers.cross_encoder.losses.MSELoss", "MSELoss"),
    ("MultipleNegativesRankingLoss", "MultipleNegativesRankingLoss"),
])
def test_resolve_loss(table, typed, canonical):
    assert table.resolve_loss(typed) == canonical


@pytest.mark.parametrize("typo, suggestion", [
    ("ListNt", "ListNetLoss"),
    ("LamdaLoss", "LambdaLoss"),
    ("BinaryCrosEntropyLoss", "BinaryCrossEntropyLoss"),
    ("MarginMSLoss", "MarginMSELoss"),
    ("cachedmultiplenegativesrankinloss", "CachedMultipleNegativesRankingLoss"),
])
def test_resolve_loss_did_you_mean(table, typo, suggestion):
    with pytest.raises(FitError) as caught:
        table.resolve_loss(typo)
    assert caught.value.message == f"unknown loss '{typo}'"
    assert caught.value.hint == f"Did you mean '{suggestion}'?"


def test_resolve_loss_without_a_close_match(table):
    with pytest.raises(FitError) as caught:
        table.resolve_loss("Zebra")
    assert "lossadvisor table" in caught.value.hint


def test_conversion_path(table):
    assert table.conversion_path("pair", "pair") == []
    one = table.conversion_path("pair", "triplet")
    assert [(c.from_format, c.to_format) for c in one] == [("pair", "triplet")]
    two = table.conversion_path("pair-class", "labeled-list")
    assert [(c.from_format, c.to_format) for c in two] == [("pair-class", "labeled-pair"), ("labeled-pair", "labeled-list")]
    assert len(table.conversion_path("pair", "n-tuple-scores")) == 2  # mine, then teacher scores
    assert table.conversion_path("triplet", "pair") is None
    assert table.conversion_path("labeled-list", "pair-class") is None


def test_conversion_and_look_ups(table):
    assert table.conversion("labeled-list", "labeled-pair").method == "explode"
    assert table.conversion("triplet", "labeled-list") is None
    assert {c.to_format for c in table.conversions_from("pair")} >= {"triplet", "n-tuple", "labeled-pair", "labeled-list"}
    assert table.formats_for_loss("MarginMSELoss") == ["triplet-margin", "n-tuple-margin", "triplet-scores", "n-tuple-scores"]
    assert table.formats_for_loss("BinaryCrossEntropyLoss") == ["labeled-pair", "pair-score"]
    assert [c.loss for c in table.common_for_format("labeled-list")] == ["LambdaLoss"]


# --- the table is data: a new format and row need no code -------------------------------------------------


def test_new_format_and_row_need_no_code(tmp_path, raw):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lossadvisor.advice import inspect_dataset

    raw["formats"].append({
        "name": "quadruplet-score",
        "description": "(query, doc_1, doc_2, doc_3) with one float score",
        "texts": {"min": 4, "max": 4},
        "labels": ["score"],
        "example": {"query": "q", "doc_1": "a", "doc_2": "b", "doc_3": "c", "label": 0.5},
    })
    raw["families"]["cross-encoder"]["rows"].append({
        "inputs": "(query, doc_1, doc_2, doc_3)", "labels": "float score", "num_labels": "1",
        "format": "quadruplet-score", "losses": ["MSELoss"],
    })
    raw["conversions"].append({"from": "quadruplet-score", "to": "triplet", "method": "drop-last", "needs": [], "summary": "drop doc_3"})
    path = write(tmp_path, raw)
    custom = load_table(path)
    assert custom.resolve_format("quadruplet_scores") == "quadruplet-score"

    n = 30
    data = pa.table({
        "query": [f"what is the meaning of word {i}?" for i in range(n)],
        "doc_1": [f"the first document talks about word {i} at length" for i in range(n)],
        "doc_2": [f"a second document mentions word {i} in passing" for i in range(n)],
        "doc_3": [f"an unrelated third document number {i} about cooking" for i in range(n)],
        "label": [i / n for i in range(n)],
    })
    pq.write_table(data, tmp_path / "quads.parquet")
    default_report = inspect_dataset(str(tmp_path / "quads.parquet"), load_table())
    assert default_report.format is None
    assert "no-format" in {w.code for w in default_report.warnings}

    report = inspect_dataset(str(tmp_path / "quads.parquet"), custom)
    assert report.format == "quadruplet-score"
    assert [r.loss for r in report.recommendations] == ["MSELoss"]
    assert [c.to for c in report.conversions] == ["triplet"]
    result = CliRunner().invoke(app, ["--table", str(path), "table", "--format", "quadruplet_score"])
    assert result.exit_code == 0, result.output
    assert "quadruplet-score" in result.stdout


# --- drift check against the installed sentence-transformers ----------------------------------------------


@pytest.fixture(scope="module")
def drift():
    """check_against_library imports sentence_transformers (~7 s): import it once for the module."""
    from lossadvisor.drift import check_against_library

    return check_against_library


def test_drift_check_passes_on_the_installed_library(drift, table):
    report = drift(table)
    assert report.ok, report.differences
    every_family = [loss for name in table.family_names for loss in table.for_family(name).losses]
    assert sorted(report.checked) == sorted(every_family) and len(every_family) >= 58
    assert report.library_version


def test_drift_detects_a_changed_docstring_row_in_another_family(drift, tmp_path, raw):
    embedder = raw["families"]["sentence-transformer"]["losses"]
    embedder["CoSENTLoss"]["docstring_rows"][0]["labels"] = "float similarity score between 0 and 5"
    del embedder["TripletLoss"]
    for row in raw["families"]["sentence-transformer"]["rows"]:
        row["losses"] = [loss for loss in row["losses"] if loss != "TripletLoss"]
    report = drift(load_table(write(tmp_path, raw)))
    joined = "\n".join(report.differences)
    assert ("sentence-transformer: CoSENTLoss: table row (input_A, input_B) pairs | float similarity score between 0 and 5"
            " is not in the docstring") in joined
    assert "sentence-transformer: TripletLoss: in sentence_transformers.sentence_transformer.losses but not in the table" in joined


def test_drift_detects_a_changed_docstring_row(drift, tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["BinaryCrossEntropyLoss"]["docstring_rows"][1]["labels"] = "float similarity score between 0 and 5"
    report = drift(load_table(write(tmp_path, raw)))
    assert not report.ok
    joined = "\n".join(report.differences)
    assert "BinaryCrossEntropyLoss: table row (input_A, input_B) pairs | float similarity score between 0 and 5 | 1 is not in the docstring" in joined
    assert "BinaryCrossEntropyLoss: docstring row (input_A, input_B) pairs | float similarity score between 0 and 1 | 1 is not in the table" in joined


def test_drift_detects_a_changed_num_labels(drift, tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["LambdaLoss"]["num_labels"] = "2"
    report = drift(load_table(write(tmp_path, raw)))
    assert any(d.startswith("LambdaLoss: num_labels is '2' in the table") for d in report.differences)


def test_drift_detects_a_removed_loss(drift, tmp_path, raw):
    del raw["families"]["cross-encoder"]["losses"]["RankNetLoss"]
    for row in raw["families"]["cross-encoder"]["rows"]:
        row["losses"] = [loss for loss in row["losses"] if loss != "RankNetLoss"]
    report = drift(load_table(write(tmp_path, raw)))
    assert "RankNetLoss: in sentence_transformers.cross_encoder.losses but not in the table" in report.differences


def test_drift_detects_a_fake_loss(drift, tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["FakeLoss"] = copy.deepcopy(raw["families"]["cross-encoder"]["losses"]["ListNetLoss"])
    raw["families"]["cross-encoder"]["losses"]["FakeLoss"]["import"] = "sentence_transformers.cross_encoder.losses.FakeLoss"
    raw["families"]["cross-encoder"]["rows"][6]["losses"].append("FakeLoss")
    report = drift(load_table(write(tmp_path, raw)))
    assert "FakeLoss: not found as sentence_transformers.cross_encoder.losses.FakeLoss" in report.differences
    assert "FakeLoss" not in report.checked


def test_drift_detects_a_wrong_loss_activation(drift, tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["ListNetLoss"]["loss_activation"] = True  # ListNetLoss's activation_fn defaults to Identity
    raw["families"]["cross-encoder"]["losses"]["MultipleNegativesRankingLoss"]["loss_activation"] = False  # ...and MNRL's to Sigmoid
    report = drift(load_table(write(tmp_path, raw)))
    assert "ListNetLoss: loss_activation is true in the table, but the class's activation_fn defaults to Identity" in report.differences
    assert "MultipleNegativesRankingLoss: loss_activation is false in the table, but the class's activation_fn defaults to Sigmoid" in report.differences


def test_parse_inputs_table():
    from lossadvisor.drift import parse_inputs_table

    doc = """
    Some text.

    Inputs:
        +-------------------------------------+--------------------------+-------------------------------+
        | Texts                               | Labels                   | Number of Model Output Labels |
        +=====================================+==========================+===============================+
        | (query, [doc1, doc2, ..., docN])    | [score1, score2, ...,    | 1                             |
        |                                     | scoreN]                  |                               |
        +-------------------------------------+--------------------------+-------------------------------+

    Example:
    """
    rows = parse_inputs_table(doc)
    assert [(r.inputs, r.labels, r.num_labels) for r in rows] == [
        ("(query, [doc1, doc2, ..., docN])", "[score1, score2, ..., scoreN]", "1")
    ]  # a cell wrapped over two grid lines is one row
    assert parse_inputs_table("no table here") == []
    assert parse_inputs_table("Inputs:\n\n    plain text, no grid\n") == []


def test_cli_table_check_ok(drift):
    result = CliRunner().invoke(app, ["table", "--check"])
    assert result.exit_code == 0, result.output
    assert "agrees with the installed library" in result.stdout


def test_cli_table_check_fails_on_a_drifted_copy(drift, tmp_path, raw):
    raw["families"]["cross-encoder"]["losses"]["MarginMSELoss"]["docstring_rows"].pop()
    path = write(tmp_path, raw)
    result = CliRunner().invoke(app, ["--table", str(path), "table", "--check"])
    assert result.exit_code == 1
    assert "MarginMSELoss: docstring row" in result.stdout
    json_result = CliRunner().invoke(app, ["--table", str(path), "table", "--check", "--json"])
    assert json_result.exit_code == 1
    import json

    assert json.loads(json_result.stdout)["differences"]


def test_common_advice_with_unknown_loss(tmp_path, raw):
    raw["families"]["cross-encoder"]["common"][0]["loss"] = "BinaryCrossEntropyLos"
    message = table_error(write(tmp_path, raw))
    assert "common[0].loss: unknown loss 'BinaryCrossEntropyLos'" in message

