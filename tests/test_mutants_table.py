"""table.py: the exact messages and look-ups that mutation testing (`make mutate`) found unpinned.

Each test kills mutants that survived tests/test_table.py (docs/mutation-survivors.md lists them). Messages are
compared whole after the file name, so a changed word, a stray dot or a wrong count fails. The helpers find the
table's sections wherever the YAML keeps them (top level, or under `families:`), so the tests survive a layout move.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

import lossadvisor.table as table_module
from lossadvisor.errors import FitError, TableError
from lossadvisor.table import as_plain_data, default_table_path, load_table


@pytest.fixture(scope="module")
def table():
    return load_table()


@pytest.fixture()
def raw() -> dict:
    return yaml.safe_load(default_table_path().read_text(encoding="utf-8"))


def section(raw: dict, key: str) -> object:
    """The YAML's `key` section: at the top level, or in the first model family that has it."""
    if key in raw:
        return raw[key]
    for family in (raw.get("families") or {}).values():
        if key in family:
            return family[key]
    raise KeyError(key)


def error_tail(tmp_path: Path, raw_or_text) -> str:
    """The message of the TableError for this table, less the `PATH: ` it starts with and any family prefix."""
    path = tmp_path / "table.yaml"
    text = raw_or_text if isinstance(raw_or_text, str) else yaml.safe_dump(raw_or_text, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TableError) as caught:
        load_table(path)
    message = caught.value.message
    assert message.startswith(f"{path}"), message
    tail = message[len(str(path)):]
    return re.sub(r"^: families(\.[\w-]+|\[[^\]]*\])\.", ": ", tail)


# --- validation messages, whole -------------------------------------------------------------------------------


def test_type_error_message_is_exact(tmp_path, raw):
    section(raw, "formats")[4]["texts"]["min"] = "three"
    assert error_tail(tmp_path, raw) == ": formats[4].texts.min: expected `int`, got `str`"


def test_a_number_in_quotes_is_not_a_number(tmp_path, raw):
    """Validation is strict: '2' is text, not the int 2 (lax conversion would accept it)."""
    section(raw, "formats")[4]["texts"]["min"] = "2"
    assert error_tail(tmp_path, raw) == ": formats[4].texts.min: expected `int`, got `str`"


def test_a_loss_flag_in_quotes_is_not_a_bool(tmp_path, raw):
    losses = section(raw, "losses")
    losses["MSELoss"]["loss_activation"] = "true"
    assert error_tail(tmp_path, raw) == ": losses.MSELoss.loss_activation: expected `bool`, got `str`"


def test_missing_field_message_is_exact(tmp_path, raw):
    del section(raw, "rows")[0]["format"]
    assert error_tail(tmp_path, raw) == ": rows[0].format: required field is missing"


def test_unknown_field_message_is_exact(tmp_path, raw):
    section(raw, "formats")[0]["colour"] = "blue"
    assert error_tail(tmp_path, raw) == ": formats[0].colour: unknown field, not permitted here"


def test_number_list_without_label_length_names_the_rule(tmp_path, raw):
    formats = section(raw, "formats")
    index, entry = next((i, f) for i, f in enumerate(formats) if "number-list" in f["labels"])
    del entry["label_length"]
    tail = error_tail(tmp_path, raw)
    assert tail == f": formats[{index}]: label_length is required exactly when labels include number-list"


def test_common_formats_are_named(tmp_path, raw):
    section(raw, "common")[0]["formats"][0] = "pairz"
    assert error_tail(tmp_path, raw) == ": common[0].formats[0]: unknown format 'pairz'"


def test_conversion_from_is_named(tmp_path, raw):
    section(raw, "conversions")[1]["from"] = "pair-klass"
    assert error_tail(tmp_path, raw) == ": conversions[1].from: unknown format 'pair-klass'"


def test_one_problem_has_no_count_and_two_count_one_more(tmp_path, raw):
    rows = section(raw, "rows")
    rows[0]["format"] = "nope1"
    assert error_tail(tmp_path, raw) == ": rows[0].format: unknown format 'nope1'"
    rows[1]["format"] = "nope2"
    assert error_tail(tmp_path, raw) == ": rows[0].format: unknown format 'nope1' (and 1 more)"
    rows[2]["format"] = "nope3"
    assert error_tail(tmp_path, raw).endswith(" (and 2 more)")


# --- YAML and file problems -------------------------------------------------------------------------------------


def test_yaml_error_gives_the_line_and_the_problem(tmp_path):
    tail = error_tail(tmp_path, "version: 1\nformats: [\n  - name: pair\n rows: {\n")
    assert tail == ": line 3: invalid YAML: did not find expected node content"


def test_yaml_error_without_a_position(tmp_path):
    """A reader error (a control character) has no line mark and no `problem`: its first line is the message."""
    tail = error_tail(tmp_path, "version: 1\x01\n")
    assert tail == ": invalid YAML: unacceptable character #x0001: control characters are not allowed"


def test_the_table_is_parsed_with_libyaml_when_present(tmp_path, raw, monkeypatch):
    """~20x faster than the pure-Python loader; the reason a cold `inspect` starts quickly."""
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setenv(table_module.CACHE_ENV, str(tmp_path / "cache"))
    loaders = []
    real_load = yaml.load

    def spy(text, Loader):
        loaders.append(Loader)
        return real_load(text, Loader=Loader)

    monkeypatch.setattr(yaml, "load", spy)
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    load_table(path)
    assert loaders == [yaml.CSafeLoader]


def test_missing_table_message_gives_the_os_reason(tmp_path):
    path = tmp_path / "missing.yaml"
    with pytest.raises(TableError) as caught:
        load_table(path)
    assert caught.value.message == f"cannot read loss table {path}: No such file or directory"


def test_a_fifo_is_not_a_table(tmp_path):
    """Refused without waiting for a writer; the reason is the reader's own."""
    fifo = tmp_path / "table.yaml"
    os.mkfifo(fifo)
    with pytest.raises(TableError) as caught:
        load_table(fifo)
    assert caught.value.message == f"cannot read loss table {fifo}: not a regular file (a FIFO, a device or a folder)"


def test_a_table_reached_through_a_link_loads(tmp_path):
    """--table may name a symlink (a dotfiles checkout): links are followed for the table, unlike for caches."""
    link = tmp_path / "linked.yaml"
    link.symlink_to(default_table_path())
    assert load_table(link).model == load_table().model


# --- where the table lives ----------------------------------------------------------------------------------------


def test_default_table_path_prefers_the_packaged_copy(tmp_path, monkeypatch):
    package = tmp_path / "site" / "lossadvisor"
    package.mkdir(parents=True)
    monkeypatch.setattr(table_module, "__file__", str(package / "table.py"))
    assert default_table_path() == (tmp_path / "site" / "data_formats.yaml").resolve()  # editable: the root's copy
    (package / "data_formats.yaml").write_text("version: 1\n")
    assert default_table_path() == package / "data_formats.yaml"  # installed: the wheel's copy


# --- look-ups -------------------------------------------------------------------------------------------------------


def test_as_plain_data_uses_the_yaml_key_names(table):
    name, loss = next(iter(table.losses.items()))
    data = as_plain_data(loss)
    assert data["import"] == loss.import_path and data["import"].endswith("." + name)
    assert data["summary"] == loss.summary


@pytest.mark.parametrize("typed", ["triples", "Triples"])
def test_resolve_format_reads_triples_as_triplet(table, typed):
    assert table.resolve_format(typed) == "triplet"


def test_unknown_format_lists_every_known_format(table):
    with pytest.raises(FitError) as caught:
        table.resolve_format("zzzzzz")
    known = ", ".join(f.name for f in table.formats)
    assert caught.value.message == f"unknown format 'zzzzzz' (known: {known})"


def test_resolve_loss_suggests_down_to_half_similarity(table):
    """'lamb' is 0.57 similar to 'lambdaloss': above the 0.5 cutoff, below difflib's default 0.6."""
    with pytest.raises(FitError) as caught:
        table.resolve_loss("lamb")
    assert caught.value.hint == "Did you mean 'LambdaLoss'?"


def test_resolve_loss_without_a_match_points_to_the_table(table):
    with pytest.raises(FitError) as caught:
        table.resolve_loss("Zebra")
    assert caught.value.message == "unknown loss 'Zebra'"
    assert caught.value.hint == "Run `lossadvisor table` for the known losses."
