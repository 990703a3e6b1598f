"""sources/: the messages, boundaries and generated code that mutation testing (`make mutate`) found unpinned.

Each test opens a small file written here (or calls the module's function directly) and asserts one exact
outcome: the kind a spec resolves to, the exact error and hint, the dialect and notes of a text file, the rows of
a join, the `datasets` code printed for it. In-process only: a subprocess imports the unmutated package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lossadvisor.errors import SourceError
from lossadvisor.sources import TextDialect, open_sample, read_table


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def refused(call, *args, **kwargs) -> tuple[str, str | None]:
    with pytest.raises(SourceError) as caught:
        call(*args, **kwargs)
    return caught.value.message, caught.value.hint


# --- spec.py: what a spec names --------------------------------------------------------------------------------------


def test_resolve_files_kinds_and_refusals(tmp_path):
    from lossadvisor.sources.spec import resolve_files

    a = write(tmp_path, "a.csv", "x,y\n1,2\n")
    write(tmp_path, "b.json", "[]")
    assert resolve_files(str(tmp_path / "*.c*")) == ("csv", [a])
    assert refused(resolve_files, str(tmp_path / "*.zz")) == (f"no files match '{tmp_path}/*.zz'", None)
    assert refused(resolve_files, str(tmp_path)) == (f"{tmp_path}: mixes file types (csv, json); point at one type", None)
    assert refused(resolve_files, str(tmp_path / "nothere")) == (f"{tmp_path}/nothere: no such file or folder", None)
    assert resolve_files("org/name") == ("hub", [])
    assert refused(resolve_files, "./org/name") == ("./org/name: no such file or folder", None)
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty, "readme.md", "x")
    write(empty, ".hidden/c.csv", "x\n1\n")
    assert refused(resolve_files, str(empty)) == (
        f"{empty}: folder holds no data files (csv, tsv, json, jsonl, parquet, arrow)", None)


@pytest.mark.parametrize("suffix, kind", [
    (".parquet", "parquet"), (".PARQUET", "parquet"), (".arrow", "arrow"), (".json", "json"), (".jsonl", "json"),
    (".ndjson", "json"), (".csv", "csv"), (".tsv", "csv"), (".txt", "csv"), (".qrels", "csv"), (".run", "csv"),
    (".trec", "csv"),
])
def test_kind_of_each_suffix(suffix, kind):
    from lossadvisor.sources.spec import _kind_of

    assert _kind_of([f"data{suffix}", f"more{suffix}"], "spec") == kind


def test_kind_of_an_unknown_suffix_names_the_file_and_the_types():
    from lossadvisor.sources.spec import _kind_of

    hint = "Use csv, tsv, txt, json, jsonl, parquet or arrow."
    assert refused(_kind_of, ["a.csv", "d/a.xyz"], "s") == ("d/a.xyz: unknown file type '.xyz'", hint)
    assert refused(_kind_of, ["d/noext"], "s") == ("d/noext: unknown file type '(none)'", hint)


# --- jsonfile.py -----------------------------------------------------------------------------------------------------


def test_json_records_of_each_layout(tmp_path):
    from lossadvisor.sources.jsonfile import _json_records

    document = write(tmp_path, "d.json", '{"meta": 1, "data": [{"a": "x"}, {"a": "y"}, {"a": "z"}]}')
    assert _json_records(document, 2) == ([{"a": "x"}, {"a": "y"}], 3, "data", [
        ("json-field", "one JSON document: the records are under the field 'data' (field=\"data\")")])
    array = write(tmp_path, "l.json", '[{"a": 1}, {"a": 2}, {"a": 3}]')
    assert _json_records(array, 2) == ([{"a": 1}, {"a": 2}], 3, None, [])
    lines = write(tmp_path, "ok.jsonl", '{"a": 1}\n\n{"a": 2}\n{"a": 3}\n')
    assert _json_records(lines, 2) == ([{"a": 1}, {"a": 2}], 3, None, [])
    two_lists = write(tmp_path, "two.json", '{"x": [{"a": 1}], "y": [{"b": 2}]}')
    assert _json_records(two_lists, 5) == ([{"x": [{"a": 1}], "y": [{"b": 2}]}], 1, None, [])


def test_json_records_refusals(tmp_path):
    from lossadvisor.sources.jsonfile import _json_records

    empty = write(tmp_path, "e.json", "  \n")
    assert refused(_json_records, empty, 10) == (f"{empty}: empty file", None)
    some_bad = write(tmp_path, "bad.jsonl", 'nope\n{"a": 1}\nno\n')
    assert refused(_json_records, some_bad, 5) == (f"{some_bad}: line 1 is not valid JSON (2 bad lines)",
                                                   "Fix or drop those lines.")
    later_bad = write(tmp_path, "late.jsonl", '{"a": 1}\n\n{"a": 2}\nno\n')
    assert refused(_json_records, later_bad, 5) == (f"{later_bad}: line 4 is not valid JSON (1 bad lines)",
                                                    "Fix or drop those lines.")
    all_bad = write(tmp_path, "allbad.jsonl", "\nnope\nno\n")
    assert refused(_json_records, all_bad, 5) == (f"{all_bad}: not JSON or JSON Lines (line 2 does not parse)", None)
    values = write(tmp_path, "vals.jsonl", "1\n2\n")
    assert refused(_json_records, values, 5) == (f"{values}: JSON values are not objects (found int)", None)


def test_records_to_table_refusals():
    from lossadvisor.sources.jsonfile import _records_to_table

    assert refused(_records_to_table, [], "p") == ("p: no records", None)
    assert refused(_records_to_table, [{"a": 1}, 1], "p") == ("p: JSON records are not objects", None)
    message, _ = refused(_records_to_table, [{"a": 1}, {"a": "x"}], "p")
    assert message.startswith("p: records with inconsistent types (")


# --- text.py: the head of a text file and its dialect ----------------------------------------------------------------


def dialect_of(tmp_path: Path, name: str, text: str):
    from lossadvisor.sources.text import _choose_dialect

    return _choose_dialect(write(tmp_path, name, text), text, True)


def test_literal_quotes_that_would_merge_rows(tmp_path):
    dialect, rows, notes = dialect_of(tmp_path, "q.tsv", 'say "hi\tthere\n"x\ty\n"\tz\n')
    assert (dialect.delimiter, dialect.quoting, dialect.header, dialect.column_names) == (
        "\t", False, False, ("column_1", "column_2"))
    assert rows == [['say "hi', "there"], ['"x', "y"], ['"', "z"]]
    assert notes == [
        ("literal-quotes", "quote characters are literal text: CSV quoting would silently merge 1 rows (2 rows instead "
                           "of 3); read with quoting=csv.QUOTE_NONE (3)"),
        ("no-header", "no header row: columns are named column_1..column_2 by position")]


def test_ragged_rows_of_a_pipe_separated_txt(tmp_path):
    dialect, rows, notes = dialect_of(tmp_path, "r.txt", "a|b\n1|2|3\n4|5\n")
    assert (dialect.delimiter, dialect.quoting, dialect.header, dialect.column_names) == (
        "|", True, True, ("a", "b", "column_3"))
    assert rows == [["1", "2", "3"], ["4", "5"]]
    assert notes == [
        ("misleading-extension", "r.txt is pipe-separated text with a .txt extension"),
        ("ragged-rows", "1 of 2 rows have a different number of fields than the usual 2 (up to 3); the extra fields "
                        "become extra columns")]


def test_semicolons_with_decimal_commas_in_a_csv(tmp_path):
    dialect, rows, notes = dialect_of(tmp_path, "d.csv", "a;b;label\nhello world;foo bar;0,5\nx y;z w;1,25\n")
    assert dialect == TextDialect(delimiter=";", quoting=True, header=True, column_names=("a", "b", "label"),
                                  decimal_comma=("label",))
    assert rows == [["hello world", "foo bar", "0.5"], ["x y", "z w", "1.25"]]
    assert notes == [
        ("misleading-extension", "d.csv is semicolon-separated despite its .csv extension"),
        ("decimal-comma", "decimal commas in 'label' (0,5 means 0.5, as Excel writes it in many locales): read as "
                          "numbers, not as text classes")]


def test_a_pandas_index_column_and_crlf_endings(tmp_path):
    dialect, rows, notes = dialect_of(tmp_path, "p.csv", ",text,label\r\n0,hello there,1\r\n1,good bye,0\r\n")
    assert dialect.column_names == ("Unnamed: 0", "text", "label") and dialect.header
    assert rows == [["0", "hello there", "1"], ["1", "good bye", "0"]]
    assert notes == [
        ("crlf", "CRLF (Windows) line endings"),
        ("pandas-index", "the first column is a pandas index (an empty header cell, as df.to_csv() writes it): read as "
                         "'Unnamed: 0', an id to drop (write with index=False to avoid it)")]


def test_repeated_header_names_are_made_unique(tmp_path):
    from lossadvisor.sources.text import _unique

    dialect, _, notes = dialect_of(tmp_path, "h.csv", "a,a,b\nthe cat sat,dog,1\n")
    assert dialect.column_names == ("a", "a_1", "b") and notes == []
    assert _unique(["a", "a", "b", "a", "a_1"]) == ["a", "a_1", "b", "a_2", "a_1"]


def test_sniffed_delimiters():
    from lossadvisor.sources.text import _sniff_delimiter

    assert _sniff_delimiter(["a,b;c", "d;e"], ".tsv") == "\t"
    assert _sniff_delimiter(["abc", "def"], ".csv") == ","
    assert _sniff_delimiter(["abc", "def"], ".txt") == "\t"
    assert _sniff_delimiter(["a;b,c", "d;e", "f;g,h,i"], ".csv") == ";"
    assert _sniff_delimiter(["a|b", "c|d", "e|f"], ".txt") == "|"


def test_read_window_refusals(tmp_path):
    from lossadvisor.sources.text import _read_window

    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"a,b\n\x00\x01\n")
    assert refused(_read_window, str(binary)) == (f"{binary}: binary data, not a text file", None)
    latin = tmp_path / "lat.csv"
    latin.write_bytes(b"a,b\ncaf\xe9,1\n")
    assert refused(_read_window, str(latin)) == (
        f"{latin}: not UTF-8 text (bad byte at offset 7)", f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {latin} > fixed.csv`.")
    missing = tmp_path / "missing.csv"
    assert refused(_read_window, str(missing)) == (f"{missing}: cannot read it (No such file or directory)", None)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa,b\n1,2\n".encode())
    assert _read_window(str(bom)) == ("a,b\n1,2\n", True)


def test_read_window_grows_for_long_lines_and_cuts_at_a_line(tmp_path, monkeypatch):
    from lossadvisor.sources import text

    monkeypatch.setattr(text, "TEXT_WINDOW_BYTES", 100)
    monkeypatch.setattr(text, "TEXT_WINDOW_MAX_BYTES", 1000)
    monkeypatch.setattr(text, "WINDOW_MIN_LINES", 3)
    lines = ["h" * 150, "a" * 150, "b" * 150, "c" * 150, "d" * 150]
    path = write(tmp_path, "long.txt", "\n".join(lines) + "\n")
    # 101 bytes, then 100 more while fewer than 3 lines: 501 bytes hold 3 full lines and a cut fourth
    assert text._read_window(path) == ("\n".join(lines[:3]) + "\n", False)
    one_line = write(tmp_path, "one.txt", "x" * 3000 + "\n")
    assert refused(text._read_window, one_line) == (
        f"{one_line}: the first line is longer than 0 MiB, more than lossadvisor reads to sample it",
        "Write it as JSON Lines or parquet, or load it with datasets and save_to_disk.")
    small = write(tmp_path, "small.txt", "x" * 100 + "\n")  # 101 bytes: read whole
    assert text._read_window(small) == ("x" * 100 + "\n", True)


def test_text_sample_counts_rows_of_every_file(tmp_path):
    from lossadvisor.sources.text import _text_sample

    first = write(tmp_path, "s1.csv", "a,b\nfoo bar,1\nbaz qux,2\n")
    second = write(tmp_path, "s2.csv", "a,b\nx y,3\n")
    table, total, dialect, notes = _text_sample([first, second], 10)
    assert table.to_pydict() == {"a": ["foo bar", "baz qux"], "b": [1, 2]} and total == 3 and notes == []
    table, total, _, _ = _text_sample([first], 1)
    assert table.to_pydict() == {"a": ["foo bar"], "b": [1]} and total == 2
    headless = write(tmp_path, "n1.csv", "1,2\n3,4\n")
    _, total, dialect, _ = _text_sample([headless, write(tmp_path, "n2.csv", "5,6\n")], 10)
    assert total == 3 and not dialect.header


# --- schema.py: one typing rule, and the sample's schema applied to the full read ------------------------------------


def test_rows_to_table_types_and_nulls():
    from lossadvisor.sources.schema import rows_to_table

    table = rows_to_table([["1", "x", "", "1.5", "-9223372036854775808"],
                           ["-2", "", "3", "nan", "9223372036854775807"], ["0"]], ("a", "b", "c", "d", "e"))
    assert table.schema == pa.schema([("a", pa.int64()), ("b", pa.string()), ("c", pa.int64()), ("d", pa.float64()),
                                      ("e", pa.int64())])
    assert table.to_pydict() == {"a": [1, -2, 0], "b": ["x", None, None], "c": [None, 3, None],
                                 "d": [1.5, pytest.approx(float("nan"), nan_ok=True), None],
                                 "e": [-2**63, 2**63 - 1, None]}
    assert table.column("c").null_count == 2 and table.column("d").null_count == 1
    beyond = rows_to_table([["9223372036854775808"], ["-9223372036854775809"]], ("big",))
    assert beyond.schema.field("big").type == pa.float64()


def test_conform_drops_adds_and_types_columns():
    from lossadvisor.sources.schema import conform

    table = pa.table({"a": ["1", "2", ""], "b": ["x", "", "z"], "extra": [1, 2, 3], "n": ["q", "r", "s"]})
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("gone", pa.float64()), ("n", pa.null())])
    assert conform(table, schema, "w", empty_is_null=True).to_pydict() == {
        "a": [1, 2, None], "b": ["x", None, "z"], "gone": [None, None, None], "n": [None, None, None]}
    kept = conform(pa.table({"b": ["x", ""]}), pa.schema([("b", pa.string())]), "w")
    assert kept.to_pydict() == {"b": ["x", ""]}
    assert refused(conform, pa.table({"a": ["1", "x"]}), pa.schema([("a", pa.int64())]), "where") == (
        "where: column 'a' reads as int64 in the sampled rows but not in all of the data (Failed to parse string: 'x' "
        "as a scalar of type int64)",
        "Make the column's values one type, or save the data as parquet / JSON Lines with the type you mean.")


# --- full.py: the whole dataset -------------------------------------------------------------------------------------


def test_bad_bytes_in_the_full_read_are_named_by_line(tmp_path):
    from lossadvisor.sources.full import _check_utf8, _decoded

    bad = tmp_path / "b.csv"
    bad.write_bytes(b"a,b\nok,1\nmore,2\ncaf\xe9,3\n")
    expected = (f"{bad}: not UTF-8 text at line 4 (byte 19)", f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {bad} > fixed.csv`.")
    assert refused(_check_utf8, str(bad)) == expected
    assert refused(_decoded, str(bad)) == expected
    cut = tmp_path / "c.csv"
    cut.write_bytes("a,b\nok,\xe9".encode()[:-1])
    assert refused(_check_utf8, str(cut)) == (f"{cut}: not UTF-8 text at its end (a cut multi-byte character)", None)
    assert refused(_decoded, str(cut)) == (
        f"{cut}: not UTF-8 text at line 2 (byte 7)", f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {cut} > fixed.csv`.")
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa\n".encode())
    assert _decoded(str(bom)) == "a\n"


def test_full_reads_of_text_and_json(tmp_path):
    commas = open_sample(write(tmp_path, "dc.tsv", "text\tscore\nfoo bar\t0,5\nbaz qux\t1,25\nlast one\t\n"), limit=1)
    assert (commas.num_rows, commas.exhaustive) == (3, False)
    assert read_table(commas).to_pydict() == {"text": ["foo bar", "baz qux", "last one"], "score": [0.5, 1.25, None]}
    ragged = open_sample(write(tmp_path, "rag.csv", "a,b\nfoo bar,1\nbaz,2,extra\nq,3\n"), limit=1)
    assert read_table(ragged).to_pydict() == {"a": ["foo bar", "baz", "q"], "b": [1, 2, 3], "column_3": [None, "extra", None]}
    records = [{"t": "a b", "l": 1}, {"t": "c d", "l": 2}, {"t": "e f", "l": 3}]
    document = open_sample(write(tmp_path, "doc.json", json.dumps({"v": 1, "rows": records})), limit=2)
    assert (document.json_field, document.num_rows) == ("rows", 3)
    assert read_table(document).to_pydict() == {"t": ["a b", "c d", "e f"], "l": [1, 2, 3]}
    # pyarrow's reader drops a null item of [null, ""]: the records are read another way
    lines = open_sample(write(tmp_path, "l.jsonl", '{"t": "a b", "l": [null, ""]}\n{"t": "c", "l": ["x"]}\n'), limit=1)
    assert read_table(lines).to_pydict() == {"t": ["a b", "c"], "l": [[None, ""], ["x"]]}


def test_a_hub_sample_is_not_read_whole(tmp_path):
    from dataclasses import replace

    sample = open_sample(write(tmp_path, "l.jsonl", '{"t": "a"}\n{"t": "b"}\n'), limit=1)
    assert refused(read_table, replace(sample, kind="hub")) == (
        "hub datasets are read through a local copy: use datasets.load_dataset(...).save_to_disk(PATH)", None)


# --- local.py: save_to_disk folders, shards ---------------------------------------------------------------------------

OUTSIDE_HINT = "A dataset folder must hold its own files: re-save it with save_to_disk."


@pytest.mark.parametrize("name", ["", " ", "/abs", "a\\b", "c:x", "../x", "a/./b", "a/../../b"])
def test_a_name_leading_out_of_the_folder_is_refused(tmp_path, name):
    from lossadvisor.sources.local import _inside

    assert refused(_inside, tmp_path, name, "W") == (f"W {name!r} points outside {tmp_path}; refusing to read it",
                                                      OUTSIDE_HINT)


def test_a_name_inside_the_folder_is_kept(tmp_path):
    from lossadvisor.sources.local import _inside

    assert _inside(tmp_path, "a/b", "W") == tmp_path / "a" / "b"
    assert _inside(tmp_path, "x..y", "W") == tmp_path / "x..y"


def test_save_to_disk_splits(tmp_path):
    from lossadvisor.sources.local import _save_to_disk_split

    assert refused(_save_to_disk_split, tmp_path, "test") == (f"{tmp_path} is a single Dataset: it has no split 'test'", None)
    assert _save_to_disk_split(tmp_path, None) == (tmp_path, None, ())
    assert _save_to_disk_split(tmp_path, "train") == (tmp_path, None, ())
    listed = tmp_path / "dataset_dict.json"
    listed.write_text("{")
    assert refused(_save_to_disk_split, tmp_path, None) == (f"{listed}: corrupt dataset_dict.json", None)
    for splits in ("[]", '"train"', '[1]'):
        listed.write_text(f'{{"splits": {splits}}}')
        assert refused(_save_to_disk_split, tmp_path, None) == (
            f'{listed}: corrupt dataset_dict.json ("splits" is not a list of names)', None)
    listed.write_text('{"splits": ["test", "train"]}')
    assert _save_to_disk_split(tmp_path, None) == (tmp_path / "train", "train", ("test", "train"))
    assert _save_to_disk_split(tmp_path, "test") == (tmp_path / "test", "test", ("test", "train"))
    assert refused(_save_to_disk_split, tmp_path, "dev") == (f"{tmp_path} has no split 'dev'",
                                                              "Known splits: test, train. Use --split.")
    listed.write_text('{"splits": ["test", "valid"]}')
    assert _save_to_disk_split(tmp_path, None) == (tmp_path / "test", "test", ("test", "valid"))
    listed.write_text('{"splits": ["../up"]}')
    assert refused(_save_to_disk_split, tmp_path, None) == (
        f"{listed}: split '../up' points outside {tmp_path}; refusing to read it", OUTSIDE_HINT)


def test_save_to_disk_files(tmp_path):
    from lossadvisor.sources.local import _save_to_disk_files

    state = tmp_path / "state.json"
    assert refused(_save_to_disk_files, tmp_path) == (f"{tmp_path}: corrupt save_to_disk folder (state.json unreadable)", None)
    state.write_text('{"_data_files": [{"filename": 3}]}')
    assert refused(_save_to_disk_files, tmp_path) == (
        f"{tmp_path}: corrupt save_to_disk folder (state.json names no data files)", None)
    state.write_text('{"_data_files": [{"filename": "a.arrow"}], "_indices_data_files": [{"filename": "i.arrow"}]}')
    assert refused(_save_to_disk_files, tmp_path) == (
        f"{tmp_path}: saved with an indices mapping; re-save it with .flatten_indices()", None)
    state.write_text('{"_data_files": [{"filename": "a.arrow"}]}')
    assert refused(_save_to_disk_files, tmp_path) == (f"{tmp_path}: corrupt save_to_disk folder (missing a.arrow)", None)
    state.write_text('{"_data_files": []}')
    assert refused(_save_to_disk_files, tmp_path) == (f"{tmp_path}: corrupt save_to_disk folder (missing data)", None)
    state.write_text('{"_data_files": [{"filename": "../a.arrow"}]}')
    assert refused(_save_to_disk_files, tmp_path) == (
        f"{state}: data file '../a.arrow' points outside "
        f"{tmp_path}; refusing to read it", OUTSIDE_HINT)
    (tmp_path / "a.arrow").write_text("x")
    state.write_text('{"_data_files": [{"filename": "a.arrow"}]}')
    assert _save_to_disk_files(tmp_path) == [str(tmp_path / "a.arrow")]


def test_shards_that_disagree(tmp_path):
    from lossadvisor.sources.local import _concat

    ints = pa.table({"x": [1], "y": ["a"]})
    assert refused(_concat, [ints, pa.table({"x": ["s"], "y": ["b"]})], ["f1", "f2"]) == (
        "shards disagree on column 'x': int64 in f1, string in f2", "Cast that column to one type in every file.")
    unified = _concat([ints, pa.table({"x": [1.5], "z": [1]})], ["f1", "f2"])
    assert unified.schema == pa.schema([("x", pa.float64()), ("y", pa.string()), ("z", pa.int64())])
    assert unified.to_pydict() == {"x": [1.0, 1.5], "y": ["a", None], "z": [None, 1]}


# --- parallel.py: line-aligned files, one column each -----------------------------------------------------------------


@pytest.fixture
def sick(tmp_path):
    """SICK's layout: two text files, a score per line and an id per line, all .txt."""
    write(tmp_path, "a.txt", "a man runs\nthe dog eats\nkids play\n")
    write(tmp_path, "b.txt", "a person runs\nthe cat eats\nchildren play\n")
    write(tmp_path, "sim.txt", "4.5\n3\n5\n")
    write(tmp_path, "id.txt", "1\n2\n3\n")
    return tmp_path


def test_aligned_txt_files_are_explained_with_the_command(sick):
    from lossadvisor.sources.parallel import aligned_error, parallel_files

    assert parallel_files(sick) is None  # all .txt: not read as columns unasked
    error = aligned_error(sick)
    assert (error.message, error.hint) == (
        f"{sick}: a.txt, b.txt, id.txt, sim.txt hold 3 lines each: line-aligned columns (line i of each file is row i), "
        "not one table",
        f"Name the files as the columns: lossadvisor inspect {sick} --inputs a.txt,b.txt --label sim.txt (convert and "
        "trial take the same; or pass them comma-separated).")
    from lossadvisor.sources.spec import resolve_files

    assert refused(resolve_files, str(sick)) == (error.message, error.hint)


def test_files_named_as_columns(sick):
    from lossadvisor.profile import ColumnChoice
    from lossadvisor.sources.parallel import files_as_columns, named_parallel_files, parallel_table

    files = [str(sick / n) for n in ("a.txt", "b.txt", "sim.txt")]
    assert files_as_columns(str(sick), ColumnChoice(inputs=("a.txt", "b.txt"), label="sim.txt")) == (
        ",".join(files), ColumnChoice(inputs=("a", "b"), label="sim"))
    assert files_as_columns(str(sick / "a.txt"), ColumnChoice(inputs=("a.txt", "b.txt"), label="none")) == (
        ",".join(files[:2]), ColumnChoice(inputs=("a", "b"), label="none"))
    assert files_as_columns(str(sick), ColumnChoice(inputs=None, label="sim.txt")) == (
        str(sick), ColumnChoice(inputs=None, label="sim.txt"))  # one file is not a dataset of columns
    assert files_as_columns(str(sick), ColumnChoice(inputs=("a", "b"), label="sim")) == (
        str(sick), ColumnChoice(inputs=("a", "b"), label="sim"))  # column names, not files
    assert named_parallel_files(f"{files[0]},{files[2]}") == [files[0], files[2]]
    assert named_parallel_files(f"{files[0]}") is None
    assert parallel_table([files[0], files[2]], 2).to_pydict() == {"a": ["a man runs", "the dog eats"], "sim": [4.5, 3.0]}
    sample = open_sample(",".join(files))
    assert (sample.kind, sample.num_rows, sample.reading_notes) == ("parallel", 3, (
        ("parallel-files", "line-aligned files read as columns (line i of each is row i): a ← a.txt, b ← b.txt, "
                           "sim ← sim.txt; 3 lines each"),))
    assert refused(open_sample, ",".join(files), split="test") == (
        f"{','.join(files)}: local files have one split, 'train' (got --split test)", None)


def test_names_and_join_code_of_parallel_files(sick):
    from lossadvisor.sources.parallel import join_code, names_of

    assert names_of(["x/a.toks", "y/a.toks", "z/README", "q/a_.txt"]) == ("a", "a_", "README", "a__")
    files = [str(sick / n) for n in ("a.txt", "sim.txt", "id.txt")]
    schema = pa.schema([("sim", pa.float64()), ("id", pa.int64())])
    lines = "open({!r}, encoding='utf-8').read().splitlines()"
    assert join_code(files, schema) == (
        f"Dataset.from_dict({{'a': {lines.format(files[0])}, 'sim': [float(v) for v in {lines.format(files[1])}], "
        f"'id': [int(v) for v in {lines.format(files[2])}]}})")


def test_a_folder_of_toks_files_is_read_as_columns(tmp_path):
    from lossadvisor.sources.parallel import parallel_files

    a = write(tmp_path, "a.toks", "x y\nz w\n")
    b = write(tmp_path, "b.toks", "p q\nr s\n")
    write(tmp_path, ".hidden", "1\n")
    assert parallel_files(tmp_path) == [a, b]
    write(tmp_path, "c.toks", "one line\n")
    assert parallel_files(tmp_path) is None  # lengths differ


# --- beir.py: corpus + queries + qrels --------------------------------------------------------------------------------


def jsonl(path: Path, rows: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def load_dataset_stub(kind: str, data_files: str, split: str = "train", sep: str = ","):
    """What `datasets.load_dataset` gives the printed code: records, numbers parsed (the code must str() the ids)."""
    import csv

    if kind == "json":
        return [json.loads(line) for line in Path(data_files).read_text().splitlines() if line.strip()]
    assert kind == "csv"
    rows = list(csv.DictReader(open(data_files, encoding="utf-8"), delimiter=sep))
    return [{k: int(v) if v.lstrip("-").isdigit() else v for k, v in row.items()} for row in rows]


def run_code(code: str) -> list[dict]:
    """The printed `datasets` code, run against stubs: its rows, as dicts."""
    class Dataset:
        @staticmethod
        def from_list(rows):
            return rows

        @staticmethod
        def from_dict(columns):
            return [dict(zip(columns, row)) for row in zip(*columns.values())]

    return eval(code, {"Dataset": Dataset, "load_dataset": load_dataset_stub})


@pytest.fixture
def beir(tmp_path):
    jsonl(tmp_path / "corpus.jsonl", [{"_id": "d1", "title": "Cats", "text": "cats purr softly"},
                                      {"_id": "d2", "title": "Dogs", "text": "Dogs bark loudly"},
                                      {"_id": "d3", "text": "fish swim"}])
    jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "what do cats do"}, {"_id": "q2", "text": "what do dogs do"}])
    write(tmp_path, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t2\nq2\td2\t1\nq2\td3\t0\nq3\td1\t1\nq1\td9\t1\n")
    write(tmp_path, "qrels/train.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    return tmp_path


def test_a_beir_folder_of_positives(beir):
    sample = open_sample(str(beir))
    assert (sample.kind, sample.split, sample.splits, sample.num_rows) == ("beir", "train", ("train", "test"), 2)
    assert sample.files == (str(beir / "corpus.jsonl"), str(beir / "queries.jsonl"), str(beir / "qrels" / "train.tsv"))
    assert sample.reading_notes == (("beir-folder", (
        "a BEIR/MTEB retrieval layout: corpus.jsonl + queries.jsonl + qrels (train, test); joined qrels 'train': 2 "
        "judgments of 2 queries; title prepended to the text ('title text', as BEIR does) for 1 of 2 documents; every "
        "judgment is a positive: (query, positive) pairs, negatives to mine from the corpus")),)
    assert sample.table.to_pydict() == {"query": ["what do cats do", "what do dogs do"],
                                        "passage": ["Cats cats purr softly", "Dogs bark loudly"]}


def test_a_graded_beir_split_with_dropped_judgments(beir):
    from lossadvisor.sources.beir import beir_layout, beir_load_code, beir_table

    sample = open_sample(str(beir), split="test", limit=1)
    rows = {"query": ["what do cats do", "what do dogs do", "what do dogs do"],
            "passage": ["Cats cats purr softly", "Dogs bark loudly", "fish swim"], "label": [2, 1, 0]}
    assert sample.num_rows == 3 and sample.table.to_pydict() == {k: v[:1] for k, v in rows.items()}
    assert sample.reading_notes == (("beir-folder", (
        "a BEIR/MTEB retrieval layout: corpus.jsonl + queries.jsonl + qrels (train, test); joined qrels 'test': 3 "
        "judgments of 3 queries, 2 dropped (query or document not found); title prepended to the text ('title text', "
        "as BEIR does) for 1 of 3 documents; graded scores kept as the label")),)
    assert read_table(sample).to_pydict() == rows
    layout = beir_layout(str(beir))
    assert beir_table(layout, "test")[1] == {"judgments": 5, "joined": 3, "queries": 3, "missing_query": 1,
                                             "missing_doc": 1, "documents": 3, "titled": 1}
    assert run_code(beir_load_code(layout, "test", True)) == [dict(zip(rows, r)) for r in zip(*rows.values())]
    assert run_code(beir_load_code(layout, "test", False)) == [
        {"query": q, "passage": p} for q, p in zip(rows["query"], rows["passage"])]


def test_beir_tables_refused_or_fractional(beir):
    from lossadvisor.sources.beir import beir_layout, beir_table

    write(beir, "qrels/none.tsv", "query-id\tcorpus-id\tscore\nqx\tdx\t1\n")
    write(beir, "qrels/frac.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t0.5\nq2\td2\t1\n")
    layout = beir_layout(str(beir))
    assert refused(beir_table, layout, "none") == (
        f"{beir}/qrels/none.tsv: no judgment's query and document are in queries.jsonl and corpus.jsonl", None)
    assert beir_table(layout, "frac")[0].to_pydict() == {
        "query": ["what do cats do", "what do dogs do"], "passage": ["Cats cats purr softly", "Dogs bark loudly"],
        "label": [0.5, 1.0]}
    named = f"{beir}/corpus.jsonl,{beir}/queries.jsonl,{beir}/qrels/test.tsv"
    assert beir_layout(named) == {"corpus": beir / "corpus.jsonl", "queries": beir / "queries.jsonl",
                                  "qrels": {"test": beir / "qrels" / "test.tsv"}}
    assert beir_layout(f"{beir}/corpus.jsonl,{beir}/queries.jsonl") is None
    assert beir_layout(f"{beir}/corpus.jsonl,{beir}/queries.jsonl,{beir}/missing.tsv") is None


def test_beir_helpers():
    from lossadvisor.sources.beir import choose_split, titled_texts, with_title

    assert with_title(" T ", "text") == ("T text", True)
    assert with_title("T", "  T and more") == ("  T and more", False)
    assert with_title(None, "x") == ("x", False)
    assert with_title("T", None) == ("T", True)
    assert titled_texts(pa.table({"Title": ["t", None, ""], "TEXT": ["x", "y", ""]})) == ["t x", "y"]
    assert titled_texts(pa.table({"text": ["a"]})) is None
    assert choose_split({"qrels": {"test": 1, "dev": 2, "zz": 3, "aa": 4}}, None) == ("dev", ("dev", "test", "aa", "zz"))
    assert choose_split({"qrels": {"test": 1, "train": 2}}, "test") == ("test", ("train", "test"))
    assert refused(choose_split, {"qrels": {"test": 1, "dev": 2}}, "train") == (
        "no qrels split 'train'", "Known splits: dev, test. Use --split.")


def test_judgments_of_a_qrels_file(tmp_path):
    from lossadvisor.sources.beir import _judgments

    mixed = Path(write(tmp_path, "q.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n\nq2 0 d2 2\nq3 d3 -1.5\n"))
    assert _judgments(mixed) == [("q1", "d1", 1.0), ("q2", "d2", 2.0), ("q3", "d3", -1.5)]
    short = Path(write(tmp_path, "bad.tsv", "q1\td1\t1\nq1\td1\n"))
    assert refused(_judgments, short) == (f"{short}: line 2 is not 'query-id corpus-id score'", None)
    word = Path(write(tmp_path, "bad2.tsv", "q\tc\ts\nq1\td1\tx\n"))
    assert refused(_judgments, word) == (f"{word}: line 2: score 'x' is not a number", None)


@pytest.mark.parametrize("name, text, expected", [
    ("a.tsv", "1 2 1\n3 4 0\n", True), ("b.tsv", "1 2 100\n3 4 0\n", False), ("c.tsv", "1 0 2 1\n", True),
    ("d.tsv", "query-id\tcorpus-id\n", True), ("e.tsv", "1 2\n", False), ("f.tsv", "1 2 x\n", False), ("g.tsv", "", False),
    ("h.tsv", "".join(f"1 2 {g}\n" for g in range(1, 7)), False), ("h5.tsv", "".join(f"1 2 {g}\n" for g in range(1, 6)), True),
    ("i.tsv", "1 2 -10\n", True), ("j.tsv", "1 2 -11\n", False), ("k.tsv", "1 0 2 1\n1 2 1\n", True),
    ("l.tsv", "1 0 2 1 9\n", False), ("my_QRELS.txt", "a b c d e\n", True), ("qrels/x.tsv", "a b c d e\n", True),
    ("QRELS/y.tsv", "a b c d e\n", True),
])
def test_looks_like_qrels(tmp_path, name, text, expected):
    from lossadvisor.sources.beir import looks_like_qrels

    assert looks_like_qrels(Path(write(tmp_path, name, text))) is expected


def test_trec_files_alone_are_explained():
    from lossadvisor.sources.beir import trec_error

    run = trec_error("p", ["q1 Q0 d1 1 2.5 run", "", "q1 q0 d2 2 -1e-3 run"])
    assert run.message == ("p: a TREC run file (query id, Q0, document id, rank, score, run tag): a system's ranking, as "
                           "ids, not text. A CrossEncoder trains on the query and document texts these ids point to")
    qrels = trec_error("p", ["q1 0 d1 1", "q2 Q0 d2 -1"])
    assert qrels.message == ("p: a TREC qrels file (query id, iteration, document id, relevance): judgments, as ids, not "
                             "text. A CrossEncoder trains on the query and document texts these ids point to")
    assert qrels.hint == run.hint == (
        "Put it in a BEIR folder with the texts: corpus.jsonl ({\"_id\", \"title\", \"text\"}), queries.jsonl "
        "({\"_id\", \"text\"}) and qrels/train.tsv (this file's judgments as 'query-id<TAB>corpus-id<TAB>score'), then "
        "point lossadvisor at the folder (or at corpus.jsonl,queries.jsonl,QRELS together).")
    assert trec_error("p", ["", " "]) is None
    assert trec_error("p", ["q1 0 d1 1", "hello world"]) is None


# --- ids.py: rows of ids resolved into the texts of a queries and a corpus file ----------------------------------------


class Rows(list):
    """The few `datasets.Dataset` methods the printed ids code calls, over a list of dicts."""

    def filter(self, keep):
        return Rows(r for r in self if keep(r))

    def map(self, change, remove_columns=()):
        return Rows({**{k: v for k, v in r.items() if k not in remove_columns}, **change(r)} for r in self)

    def select_columns(self, names):
        return Rows({n: r[n] for n in names} for r in self)


@pytest.fixture
def ids_folder(tmp_path):
    jsonl(tmp_path / "train.jsonl", [
        {"query_id": 1, "pos_ids": [10, 11], "neg_id": 12, "score": 0.5, "extra": "a b"},
        {"query_id": 2, "pos_ids": [11], "neg_id": 13, "score": 1.0, "extra": "c d"},
        {"query_id": 3, "pos_ids": [10], "neg_id": 12, "score": 0.0, "extra": "e f"}])
    jsonl(tmp_path / "queries.jsonl", [{"_id": "1", "text": "first q"}, {"_id": "2", "text": "second q"}])
    write(tmp_path, "corpus.tsv", "id\ttext\ttitle\n10\tdoc ten\tT\n11\tdoc eleven\tX\n12\tdoc twelve\tY\n13\tdoc 13\tZ\n")
    return tmp_path


def test_ids_resolved_into_texts(ids_folder):
    from lossadvisor.sources.ids import ids_layout, sample_load_code

    assert ids_layout(str(ids_folder)) == {"ids": ids_folder / "train.jsonl", "queries": ids_folder / "queries.jsonl",
                                           "corpus": ids_folder / "corpus.tsv"}
    sample = open_sample(str(ids_folder))
    rows = {"query": ["first q", "second q"], "pos": [["doc ten", "doc eleven"], ["doc eleven"]],
            "neg": ["doc twelve", "doc 13"], "score": [0.5, 1.0]}
    assert (sample.kind, sample.num_rows) == ("ids", 2) and sample.table.to_pydict() == rows
    assert sample.files == tuple(str(ids_folder / n) for n in ("train.jsonl", "queries.jsonl", "corpus.tsv"))
    assert sample.reading_notes == (("resolved-ids", (
        "ids resolved into texts, as sentence-transformers' resolve_ids does: query_id → query (from queries.jsonl); "
        "pos_ids → pos (from corpus.tsv); neg_id → neg (from corpus.tsv); 1 of 3 rows dropped (an id not found: "
        "query_id 1); columns left out: extra")),)
    counts = sample.source_info["counts"]
    assert counts == {
        "rows": 3, "resolved": 2, "missing": {"query_id": 1, "pos_ids": 0, "neg_id": 0}, "titled": 0,
        "columns": {"query_id": ("queries", "query"), "pos_ids": ("corpus", "pos"), "neg_id": ("corpus", "neg")},
        "fields": {"queries": {"id": "_id", "text": "text", "title": None},
                   "corpus": {"id": 0, "text": 1, "header": True, "delimiter": "\t"}},
        "listed": ["pos_ids"], "order": ["query", "pos", "neg", "score"], "dropped_columns": ["extra"]}
    code = sample_load_code(sample)
    assert run_ids_code(code) == [dict(zip(rows, r)) for r in zip(*rows.values())]
    assert read_table(open_sample(str(ids_folder), limit=1)).to_pydict() == rows


def run_ids_code(code: str) -> list[dict]:
    def load_dataset(kind, data_files, split="train"):
        assert kind in ("json", "parquet") and split == "train"
        if kind == "parquet":
            return Rows(pq.read_table(data_files).to_pylist())
        return Rows(load_dataset_stub(kind, data_files))

    return list(eval(code, {"load_dataset": load_dataset}))


def test_ids_read_from_parquet_and_json_lookups_with_titles(tmp_path):
    from lossadvisor.sources.ids import sample_load_code

    jsonl(tmp_path / "pairs.jsonl", [{"qid": "a1", "doc_id": 1}, {"qid": "a2", "doc_id": 2}, {"qid": "a2", "doc_id": 3}])
    jsonl(tmp_path / "questions.jsonl", [{"id": "a1", "question": "what is one"}, {"id": "a2", "question": "what is two"}])
    pq.write_table(pa.table({"doc_id": [1, 2, 3], "title": ["One", None, "Three"],
                             "contents": ["One is a number", "two", "a third"]}), tmp_path / "docs.parquet")
    sample = open_sample(str(tmp_path))
    rows = {"query": ["what is one", "what is two", "what is two"],
            "positive": ["One is a number", "two", "Three a third"]}
    assert sample.table.to_pydict() == rows
    assert sample.reading_notes[-1] == ("resolved-ids", (
        "ids resolved into texts, as sentence-transformers' resolve_ids does: qid → query (from questions.jsonl); "
        "doc_id → positive (from docs.parquet); title put before the text for 1 documents (as BEIR does)"))
    assert run_ids_code(sample_load_code(sample)) == [dict(zip(rows, r)) for r in zip(*rows.values())]


def test_ids_alone_are_explained_with_the_files_to_name(tmp_path):
    from lossadvisor.sources.ids import ids_error

    write(tmp_path, "topics.tsv", "1\tq\n")
    error = ids_error(str(tmp_path / "train.jsonl"), pa.table({"qid": [1, 2], "doc_ids": [[3, 4], [5]], "label": [1, 0]}))
    assert error.message == (f"{tmp_path}/train.jsonl: ids, not text: qid (ids), doc_ids (lists of ids) point into a "
                             "queries file and a corpus file that hold the texts (label kept as the label)")
    assert error.hint == (
        f"Name the text files with it, comma-separated (each with an id and a text column): lossadvisor inspect "
        f"{tmp_path}/train.jsonl,{tmp_path}/topics.tsv,{tmp_path}/corpus.jsonl (convert and trial take the same). Or "
        "resolve them in your training script: from sentence_transformers.util import resolve_ids; dataset = "
        "dataset.map(resolve_ids({'qid': queries, 'doc_ids': corpus}, output_format=\"lists\"), batched=True, "
        "remove_columns=['qid', 'doc_ids']) with queries and corpus loaded as datasets of (id, text).")
    headless = ids_error("x/t.tsv", pa.table({"column_1": [1], "column_2": ["p7"]}))
    assert headless.message == ("x/t.tsv: ids, not text: column_1 (ids), column_2 (ids) point into a queries file and a "
                                "corpus file that hold the texts")
    assert "resolve_ids({'column_1': queries, 'column_2': corpus}" in headless.hint
    assert "lossadvisor inspect x/t.tsv,x/queries.jsonl,x/corpus.jsonl (" in headless.hint
    assert ids_error("x/t.jsonl", pa.table({"qid": [1], "text": ["a real text here"]})) is None
    assert ids_error("x/t.jsonl", pa.table({"a": [1], "b": [2]})) is None
    assert ids_error("x/t.jsonl", pa.table({"qid": pa.array([], pa.int64())})) is None
    assert ids_error("x/t.tsv", pa.table({"column_1": [1], "column_2": [1.5]})) is None


@pytest.mark.parametrize("args, expected", [
    (("query_id", False, set()), "query"), (("document_ids", True, set()), "documents"), (("pid+", False, set()), "positive"),
    (("pid-", False, set()), "negative"), (("column_2", False, set(), "corpus", 0), "positive"),
    (("column_3", False, set(), "corpus", 1), "negative"), (("column_1", False, set(), "queries"), "query"),
    (("column_4", True, set(), "corpus", 1), "documents"), (("doc_ids", True, set()), "documents"),
    (("pos_ids", True, set()), "pos"), (("neg_ids", True, {"neg"}), "neg_2"), (("qid", False, {"query", "query_2"}, "queries"), "query_3"),
    (("passage_no", False, set()), "passage"), (("qidx", False, set()), "positive"), (("docs", True, set()), "documents"),
    (("answer_id", True, set()), "answers"),
])
def test_output_names(args, expected):
    from lossadvisor.sources.ids import output_name

    assert output_name(*args) == expected


def test_lookup_fields():
    from lossadvisor.sources.ids import _header, _pick, _stem_kind

    assert _pick(["_id", "title", "text"], "corpus") == ("_id", "text")
    assert _pick(["docid", "body"], "c") == ("docid", "body")
    assert _pick(["my_id", "title", "words"], "c") == ("my_id", "words")
    hint = "Give each record an id field (_id or id) and a text field (text)."
    assert refused(_pick, ["a", "b"], "corpus") == (
        "cannot tell the id and the text field of the corpus records (fields: a, b)", hint)
    assert refused(_pick, ["xid"], "queries") == (
        "cannot tell the id and the text field of the queries records (fields: xid)", hint)
    assert [_header(c) for c in (["id", "text"], ["text", "pid"], ["1", "2"], ["id"], ["qid", "foo", "query"],
                                 ["foo", "DocID"])] == [(0, 1), (1, 0), None, None, (0, 2), (1, 0)]
    assert [_stem_kind(Path(n)) for n in ("queries.tsv", "Query.jsonl", "topics.x.y", "collection.tsv", "docs.parquet",
                                          "train.jsonl", "questions_dev.json", "passages")] == [
        "queries", "queries", "queries", "corpus", "corpus", None, "queries", "corpus"]


def test_read_lookup_of_each_format(tmp_path):
    from lossadvisor.sources.ids import read_lookup

    pq.write_table(pa.table({"doc_id": [1, 2, 3], "title": ["A", None, "C"], "contents": ["A b", "two", "three"]}),
                   tmp_path / "corpus.parquet")
    fields: dict = {}
    assert read_lookup(tmp_path / "corpus.parquet", "corpus", {"1", "2", "3"}, fields) == (
        {"1": "A b", "2": "two", "3": "C three"}, 1)
    assert fields == {"id": "doc_id", "text": "contents", "title": "title"}
    fields = {}
    assert read_lookup(tmp_path / "corpus.parquet", "queries", {"1", "3"}, fields) == ({"1": "A b", "3": "three"}, 0)
    assert fields == {"id": "doc_id", "text": "contents", "title": None}
    fields = {}
    assert read_lookup(Path(write(tmp_path, "c.csv", "7,seven\n8,eight\n9\n")), "corpus", {"7", "9"}, fields) == (
        {"7": "seven"}, 0)
    assert fields == {"id": 0, "text": 1, "header": False, "delimiter": ","}
    lines = Path(write(tmp_path, "c.jsonl", '{"id": 1, "title": "T", "text": "body"}\n{"id": 2, "text": "two"}\n'))
    fields = {}
    assert read_lookup(lines, "corpus", {"1", "2"}, fields) == ({"1": "T body", "2": "two"}, 1)
    assert fields == {"id": "id", "text": "text", "title": "title"}
    fields = {}
    assert read_lookup(lines, "queries", {"1"}, fields) == ({"1": "body"}, 0)
    assert fields == {"id": "id", "text": "text", "title": None}


# --- nested.py and jsonfile.flatten_nested: nested fields and records -------------------------------------------------

MSMARCO_ROWS = [{"query": "q one", "passages": [{"is_selected": 1, "passage_text": "a b"}, {"is_selected": 0, "passage_text": "c d"}]},
                {"query": "q two", "passages": [{"is_selected": 0, "passage_text": "e f"}]}]


def test_judged_records_read_as_parallel_lists(tmp_path):
    from lossadvisor.sources.nested import flatten_code

    sample = open_sample(jsonl(tmp_path / "m.jsonl", MSMARCO_ROWS), limit=1)
    assert (sample.num_rows, sample.fields_flattened) == (2, ("passages",))
    assert sample.schema_before == pa.schema([("query", pa.string()), ("passages", pa.list_(pa.struct(
        [("is_selected", pa.int64()), ("passage_text", pa.string())])))])
    assert sample.reading_notes == (("nested-fields", "nested fields read as columns: passages.is_selected, "
                                                      "passages.passage_text"),)
    rows = {"query": ["q one", "q two"], "passages.is_selected": [[1, 0], [0]],
            "passages.passage_text": [["a b", "c d"], ["e f"]]}
    assert sample.table.to_pydict() == {k: v[:1] for k, v in rows.items()}
    assert read_table(sample).to_pydict() == rows
    code = flatten_code(sample.fields_flattened, sample.schema_before)
    assert code == ("dataset = dataset.map(lambda row: {f'passages.{k}': [r[k] for r in row['passages']] for k in "
                    "['is_selected', 'passage_text']}, remove_columns=['passages'])")
    dataset = Rows(MSMARCO_ROWS)
    exec(code, {}, scope := {"dataset": dataset})
    assert list(scope["dataset"]) == [dict(zip(rows, r)) for r in zip(*rows.values())]


def test_a_judged_struct_and_nulls(tmp_path):
    from lossadvisor.sources.nested import flatten_code, flatten_fields

    table = pa.Table.from_pylist([{"query": "q one", "passages": {"is_selected": [1, 0], "passage_text": ["a b", "c d"]}},
                                  {"query": "q two", "passages": None}])
    flat, fields = flatten_fields(table)
    assert fields == ("passages",)
    assert flat.to_pydict() == {"query": ["q one", "q two"], "passages.is_selected": [[1, 0], None],
                                "passages.passage_text": [["a b", "c d"], None]}
    assert flatten_code(fields, table.schema) == "dataset = dataset.flatten()"
    assert flatten_code((), table.schema) == "dataset = dataset.flatten()"
    records = pa.Table.from_pylist([MSMARCO_ROWS[0], {"query": "q two", "passages": None}, {"query": "q3", "passages": []}])
    flat, fields = flatten_fields(records)
    assert flat.to_pydict() == {"query": ["q one", "q two", "q3"], "passages.is_selected": [[1, 0], None, []],
                                "passages.passage_text": [["a b", "c d"], None, []]}
    clash = pa.Table.from_pylist([{"p.label": 5, "p": {"label": 1, "text": "x y"}}])
    assert flatten_fields(clash)[0].column_names == ["p.label", "p.label_", "p.text"]
    plain = pa.Table.from_pylist([{"answers": {"text": "t", "start": 1}}])  # no label-like field: one nested column
    assert flatten_fields(plain) == (plain, ())


def test_nested_records_exploded(tmp_path):
    from lossadvisor.sources.jsonfile import flatten_nested

    squad = [{"title": "T", "paragraphs": [{"context": "ctx one", "qas": [{"question": "q?", "id": "1"}]},
                                          {"context": "ctx two", "qas": []}]},
             {"title": "U", "paragraphs": [{"context": "c3", "qas": []}]}]
    sample = open_sample(jsonl(tmp_path / "sq.jsonl", squad), limit=1)
    assert (sample.num_rows, sample.flattened) == (None, ("paragraphs",))
    assert sample.reading_notes == (("nested-records", "nested records flattened: paragraphs (one row per innermost record)"),)
    assert sample.table.to_pydict() == {"title": ["T", "T"], "context": ["ctx one", "ctx two"],
                                        "qas": [[{"question": "q?", "id": "1"}], []]}
    assert read_table(sample).to_pydict() == {"title": ["T", "T", "U"], "context": ["ctx one", "ctx two", "c3"],
                                              "qas": [[{"question": "q?", "id": "1"}], [], []]}
    whole = open_sample(jsonl(tmp_path / "two.jsonl", squad))
    assert (whole.num_rows, whole.flattened) == (3, ("paragraphs",))
    clash = pa.Table.from_pylist([{"id": "x", "items": [{"id": "i1", "v": 1}]}])
    flat, path = flatten_nested(clash)
    assert path == ("items",) and flat.to_pydict() == {"id": ["x"], "items.id": ["i1"], "v": [1]}
    leaf = pa.Table.from_pylist([{"a": "x", "b": "y", "answers": [{"text": "t", "start": 1}]}])
    assert flatten_nested(leaf) == (leaf, ())
    records_in_records = [{"sub": [{"t": "z"}, {"t": "w"}]}]
    kept = pa.Table.from_pylist([{"a": "x", "b": "y", "items": records_in_records}])  # texts paired: one level
    flat, path = flatten_nested(kept)
    assert path == ("items",) and flat.to_pydict() == {"a": ["x"], "b": ["y"], "sub": [[{"t": "z"}, {"t": "w"}]]}
    deep = pa.Table.from_pylist([{"a": "x", "items": records_in_records}])
    flat, path = flatten_nested(deep)
    assert path == ("items", "sub") and flat.to_pydict() == {"a": ["x", "x"], "t": ["z", "w"]}


# --- jsonfile.py: JSON arrays read by their head, whole documents -----------------------------------------------------


def test_array_head_reads_chunk_by_chunk(tmp_path, monkeypatch):
    from lossadvisor.sources import jsonfile

    monkeypatch.setattr(jsonfile, "ARRAY_CHUNK_BYTES", 8)  # elements run past what was read so far
    array = write(tmp_path, "arr.json", '\ufeff [ {"a": 1} ,\n {"a": [2, 3]}, {"a": 4}]')
    assert jsonfile._array_head(array, 2) == [{"a": 1}, {"a": [2, 3]}]
    assert jsonfile._array_head(array, 10) == [{"a": 1}, {"a": [2, 3]}, {"a": 4}]
    unclosed = write(tmp_path, "open.json", '[{"a": 1}, {"a": 2}')
    assert refused(jsonfile._array_head, unclosed, 10) == (f"{unclosed}: not JSON (the array is not closed)", None)
    empty = write(tmp_path, "empty.json", "[ ]")
    assert refused(jsonfile._array_head, empty, 10) == (f"{empty}: an empty JSON array", None)
    bad = write(tmp_path, "bad.json", '[{"a": 1}, nope]')
    assert refused(jsonfile._array_head, bad, 10) == (
        f"{bad}: not JSON or JSON Lines (Expecting value: line 1 column 11 (char 10))", None)
    latin = tmp_path / "lat.json"
    latin.write_bytes(b'[{"a": "caf\xe9"}]')
    assert refused(jsonfile._array_head, str(latin), 10) == (f"{latin}: not UTF-8 text", None)


def test_array_head_bounds_one_element(tmp_path, monkeypatch):
    from lossadvisor.sources import jsonfile

    monkeypatch.setattr(jsonfile, "ARRAY_CHUNK_BYTES", 1 << 20)
    monkeypatch.setattr(jsonfile, "TEXT_WINDOW_MAX_BYTES", 3 << 20)
    huge = write(tmp_path, "huge.json", '[{"a": "' + "x" * (4 << 20) + '"}]')
    assert refused(jsonfile._array_head, huge, 10) == (f"{huge}: a JSON array element longer than 3 MiB",
                                                       "Write it as JSON Lines or parquet.")


def test_a_whole_json_document(tmp_path, monkeypatch):
    from lossadvisor.sources import jsonfile

    document = write(tmp_path, "doc.json", '{"x": 1, "rows": [{"a": 1}, {"a": 2}, {"a": 3}]}')
    assert jsonfile._document(document, 2, []) == ([{"a": 1}, {"a": 2}], 3, "rows", [
        ("json-field", "one JSON document: the records are under the field 'rows' (field=\"rows\")")])
    one = write(tmp_path, "obj.json", '{"x": 1}')
    assert refused(jsonfile._document, one, 2, []) == (f"{one}: one JSON object, not a list of records",
                                                       "Write the records as JSON Lines.")
    cut = write(tmp_path, "nj.json", '{"x": ')
    assert refused(jsonfile._document, cut, 2, []) == (
        f"{cut}: not JSON or JSON Lines (Expecting value: line 1 column 7 (char 6))", None)
    monkeypatch.setattr(jsonfile, "JSON_DOCUMENT_MAX_BYTES", 10)
    big = write(tmp_path, "big.json", '{"x": [' + ", ".join(['{"a": 1}'] * 200_000) + "]}")
    assert refused(jsonfile._document, big, 2, []) == (
        f"{big}: one JSON document of 2 MiB, more than lossadvisor parses whole",
        "Write the records as JSON Lines (one object per line).")
    too_deep = jsonfile._too_deep("p")
    assert (too_deep.message, too_deep.hint) == (
        f"p: JSON nested too deeply to read (more than {__import__('sys').getrecursionlimit()} levels)",
        "Flatten the records to one object per row.")


# --- base.py ------------------------------------------------------------------------------------------------------------


def test_class_names_kept_by_datasets():
    from lossadvisor.sources.base import _class_names, _class_names_from_schema

    features = {"label": {"_type": "ClassLabel", "names": ["neg", "pos"]}, "x": {"_type": "Value"},
                "y": {"_type": "ClassLabel", "names": []}, "z": {"_type": "ClassLabel", "names": "ab"}, "w": 3,
                7: {"_type": "ClassLabel", "names": [0, 1]}}
    assert _class_names(features) == {"label": ["neg", "pos"], "7": ["0", "1"]}
    assert _class_names([]) == {}
    meta = {b"huggingface": json.dumps({"info": {"features": {"label": {"_type": "ClassLabel", "names": ["a", "b"]}}}})}
    assert _class_names_from_schema(pa.schema([("label", pa.int64())], metadata=meta)) == {"label": ["a", "b"]}
    for raw in (b"{bad", b"[1]", b""):
        assert _class_names_from_schema(pa.schema([("label", pa.int64())], metadata={b"huggingface": raw})) == {}
    assert _class_names_from_schema(pa.schema([])) == {}


def test_small_helpers_of_base():
    from lossadvisor.sources.base import _first_batches, _short, json_lines

    assert _short(ValueError("  first\nsecond")) == "first"
    assert _short(ValueError("")) == "ValueError"
    assert _short(ValueError("x" * 300)) == "x" * 200
    assert refused(lambda: list(json_lines("P", ['{"a":1}\n', "\n", "bad\n"]))) == ("P: line 3 is not JSON", None)
    schema = pa.schema([("a", pa.int64())])
    batches = [pa.record_batch([pa.array(v)], schema=schema) for v in ([1, 2, 3], [4, 5], [6])]
    assert _first_batches(iter(batches), 4, schema).to_pydict() == {"a": [1, 2, 3, 4]}
    assert _first_batches(iter(batches), 3, schema).to_pydict() == {"a": [1, 2, 3]}
    assert _first_batches(iter([]), 4, schema).num_rows == 0


# --- local.py: parquet and Arrow samples ------------------------------------------------------------------------------


def test_parquet_sample_over_shards_and_its_footer_stats(tmp_path):
    from lossadvisor.sources.local import _parquet_sample

    first, second = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    pq.write_table(pa.table({"t": ["a b", "c d", None, "e f"], "n": [1, 5, None, -2], "f": [0.5, float("nan"), 1.0, 2.0],
                             "s": [{"x": 1}] * 4}), first, row_group_size=2)
    pq.write_table(pa.table({"t": ["g h"], "n": [9], "f": [1.5], "s": [{"x": 2}]}), second)
    table, total, stats = _parquet_sample([first, second], 3)
    assert total == 5 and table.column_names == ["t", "n", "f", "s"]
    assert table.select(["t", "n"]).to_pydict() == {"t": ["a b", "c d", None], "n": [1, 5, None]}
    assert stats == {"n": {"min": -2, "max": 5, "nulls": 1}, "f": {"min": 0.5, "max": 2.0, "nulls": 0}}  # first file's
    table, total, _ = _parquet_sample([first, second], 10)
    assert table.select(["t", "n"]).to_pydict() == {"t": ["a b", "c d", None, "e f", "g h"], "n": [1, 5, None, -2, 9]}
    sample = open_sample(first)
    assert (sample.num_rows, sample.column_stats) == (4, stats)


def test_unreadable_parquet_and_arrow_files(tmp_path):
    from lossadvisor.sources.local import _arrow_sample, open_parquet

    bad = write(tmp_path, "bad.parquet", "nope")
    assert refused(open_parquet, bad) == (
        f"{bad}: not a readable parquet file (Parquet file size is 4 bytes, smaller than the minimum file footer (8 bytes))",
        None)
    bad_arrow = write(tmp_path, "bad.arrow", "nope")
    assert refused(_arrow_sample, [bad_arrow], 4) == (f"{bad_arrow}: not a readable Arrow file (File is too small: 4)", None)


def test_arrow_file_and_stream_formats(tmp_path):
    from lossadvisor.sources.local import _arrow_sample

    table = pa.table({"x": [1, 2, 3]})
    with pa.OSFile(str(tmp_path / "f.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)
    with pa.OSFile(str(tmp_path / "s.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1)
    files = [str(tmp_path / "f.arrow"), str(tmp_path / "s.arrow")]
    sample, total, schema = _arrow_sample(files, 4)
    assert (sample.to_pydict(), total, schema) == ({"x": [1, 2, 3, 1]}, 6, table.schema)
    sample, total, _ = _arrow_sample(files, 2)
    assert (sample.to_pydict(), total) == ({"x": [1, 2]}, 6)
    whole = open_sample(str(tmp_path / "s.arrow"))
    assert (whole.kind, whole.num_rows, whole.exhaustive) == ("arrow", 3, True)


# --- dictionary.py: dictionary-encoded text sized and decoded from its buffers ---------------------------------------


def dictionary_column() -> pa.DictionaryArray:
    # a null index (row 1) and a null entry (index 1, row 3): both decode to null and cost no bytes
    return pa.DictionaryArray.from_arrays(pa.array([0, None, 2, 1, 0], pa.int32()), pa.array(["ab", None, "cde"]))


@pytest.mark.parametrize("in_python", [True, False])
def test_dictionary_decode_and_sizes(in_python):
    from lossadvisor.sources import dictionary

    column = dictionary_column()
    decoded = dictionary.decode(column, in_python=in_python)
    assert (decoded.to_pylist(), decoded.type, decoded.null_count) == (["ab", None, "cde", None, "ab"], pa.string(), 2)
    assert dictionary.value_bytes(column).tolist() == [2, 0, 3, 0, 2]
    assert dictionary._value_bytes_compute(column).tolist() == [2, 0, 3, 0, 2]
    part = column.slice(1, 3)
    assert dictionary.decode(part, in_python=in_python).to_pylist() == [None, "cde", None]
    assert dictionary.value_bytes(part).tolist() == [0, 3, 0]


def test_dictionary_decode_of_other_layouts():
    from lossadvisor.sources import dictionary

    column = dictionary_column()
    assert dictionary.decode(column, in_python=True, target=pa.large_string()).type == pa.large_string()
    assert dictionary.decode(column, in_python=True, target=pa.int64()).type == pa.string()
    unsigned = pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.uint8()), pa.array([b"x", b"yz"]))
    assert dictionary.decode(unsigned, in_python=True).to_pylist() == [b"yz", b"x"]
    assert dictionary.value_bytes(unsigned).tolist() == [2, 1]
    empty = pa.DictionaryArray.from_arrays(pa.array([None, None], pa.int32()), pa.array([], pa.string()))
    assert dictionary.decode(empty, in_python=True).to_pylist() == [None, None]
    assert dictionary.value_bytes(empty).tolist() == [0, 0]
    large = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["q", "rs"], pa.large_string()))
    decoded = dictionary.decode(large, in_python=True)
    assert (decoded.to_pylist(), decoded.type) == (["q", "rs"], pa.large_string())
    assert dictionary.value_bytes(large).tolist() == [1, 2]
    assert dictionary._valid(pa.array([1, None, 3]).slice(1)).tolist() == [False, True]
    out_of_range = pa.DictionaryArray.from_buffers(pa.dictionary(pa.int32(), pa.string()), 2,
                                                   [None, pa.array([0, 5], pa.int32()).buffers()[1]],
                                                   dictionary=pa.array(["a", "b"]))
    assert dictionary._entries(out_of_range) is None
    with pytest.raises(pa.ArrowIndexError, match="Index 5 out of bounds"):
        dictionary.decode(out_of_range, in_python=True)


# --- spec.py globs, sample.py refusals and shards, hub.py offline ----------------------------------------------------


def test_double_star_globs(tmp_path, monkeypatch):
    from lossadvisor.sources.spec import _glob_files

    for name in ("a/x.jsonl", "a/b/y.jsonl", "a/.h/z.jsonl", "top.jsonl", "a/b/notes.txt"):
        write(tmp_path, name, '{"t": "a"}\n')
    assert _glob_files(str(tmp_path / "**" / "*.jsonl")) == [
        str(tmp_path / "a/b/y.jsonl"), str(tmp_path / "a/x.jsonl"), str(tmp_path / "top.jsonl")]
    assert _glob_files(str(tmp_path / "a" / "**")) == [
        str(tmp_path / "a/b/notes.txt"), str(tmp_path / "a/b/y.jsonl"), str(tmp_path / "a/x.jsonl")]
    monkeypatch.chdir(tmp_path)
    assert _glob_files("**/*.jsonl") == ["a/b/y.jsonl", "a/x.jsonl", "top.jsonl"]
    assert _glob_files("**/b/*.jsonl") == ["a/b/y.jsonl"]
    assert _glob_files("a/*.jsonl") == ["a/x.jsonl"]


def test_walk_is_bounded(tmp_path, monkeypatch):
    from lossadvisor.sources import spec

    for i in range(4):
        write(tmp_path, f"d/{i}.csv", "a\n1\n")
    monkeypatch.setattr(spec, "MAX_WALK_ENTRIES", 5)  # d and its 4 files: 5 entries
    assert sorted(spec._walk_files(str(tmp_path))) == [str(tmp_path / f"d/{i}.csv") for i in range(4)]
    monkeypatch.setattr(spec, "MAX_WALK_ENTRIES", 4)
    assert refused(spec._walk_files, str(tmp_path)) == (
        f"{tmp_path}: more than 4 entries under it; point at the data files", None)


def test_local_files_refuse_hub_options(tmp_path):
    path = jsonl(tmp_path / "top.jsonl", [{"t": "e", "l": 3}])
    assert refused(open_sample, path, subset="x") == ("--subset applies to hub datasets only", None)
    assert refused(open_sample, path, split="dev") == (f"{path}: local files have one split, 'train' (got --split dev)", None)
    assert open_sample(path, split="train").split == "train"


def test_json_shards_are_checked_by_their_heads(tmp_path):
    first = jsonl(tmp_path / "s/1.jsonl", [{"t": "a", "l": 1}])
    second = jsonl(tmp_path / "s/2.jsonl", [{"t": "b", "l": "x"}])
    assert refused(open_sample, str(tmp_path / "s")) == (
        f"shards disagree on column 'l': int64 in {first}, string in {second}", "Cast that column to one type in every file.")
    jsonl(tmp_path / "ok/1.jsonl", [{"t": "a", "l": 1}])
    jsonl(tmp_path / "ok/2.jsonl", [{"t": "b", "l": 2.5}])
    write(tmp_path, "ok/3.jsonl", "garbage\n[1]\n")
    write(tmp_path, "ok/4.jsonl", '[{"t": 5}]')  # a whole-JSON document: read with the rest, not checked here
    sample = open_sample(str(tmp_path / "ok"))
    assert (sample.num_rows, sample.table.to_pydict()) == (None, {"t": ["a"], "l": [1]})


def test_a_drifting_shard_past_the_head_size_is_cut_at_a_line(tmp_path, monkeypatch):
    from lossadvisor.sources import sample as sample_module

    monkeypatch.setattr(sample_module, "SHARD_HEAD_BYTES", 40)
    jsonl(tmp_path / "1.jsonl", [{"t": "a", "l": 1}])
    # the head ends inside the second record: only whole lines are read, and the first agrees
    jsonl(tmp_path / "2.jsonl", [{"t": "bbbbbbbbbbbbbbbb", "l": 2}, {"t": "c", "l": "text"}])
    assert open_sample(str(tmp_path)).table.to_pydict() == {"t": ["a"], "l": [1]}
    monkeypatch.setattr(sample_module, "SHARDS_CHECKED", 1)
    third = jsonl(tmp_path / "3.jsonl", [{"t": "d", "l": "x"}])
    assert open_sample(str(tmp_path)).files[-1] == third  # beyond the shards checked


@pytest.mark.parametrize("variable, value, offline", [
    ("HF_HUB_OFFLINE", "Yes", True), ("HF_HUB_OFFLINE", "1", True), ("HF_DATASETS_OFFLINE", "TRUE", True),
    ("HF_DATASETS_OFFLINE", "no", False), ("HF_HUB_OFFLINE", "0", False),
])
def test_hub_offline(monkeypatch, variable, value, offline):
    from lossadvisor.sources import hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv(variable, value)
    assert hub._offline() is offline
    if offline:
        assert refused(open_sample, "org/name") == (
            "'org/name' is not a local path and the Hugging Face Hub is offline (HF_HUB_OFFLINE is set)",
            "Point at a local file or save_to_disk folder, or unset HF_HUB_OFFLINE.")


# --- sample.py and full.py over save_to_disk folders and parquet shards -----------------------------------------------


def save_split(folder: Path, table: pa.Table, info: dict | None = None) -> None:
    """A `datasets` save_to_disk split written by hand: an Arrow stream, state.json and (optionally) dataset_info.json."""
    folder.mkdir(parents=True)
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
    if info is not None:
        (folder / "dataset_info.json").write_text(json.dumps(info))


def test_a_dataset_dict_folder(tmp_path):
    table = pa.table({"text": ["a b", "c d", "e f"], "label": [0, 1, 0]})
    save_split(tmp_path / "train", table, {"features": {"label": {"_type": "ClassLabel", "names": ["neg", "pos"]}}})
    save_split(tmp_path / "test", table.slice(0, 1))
    (tmp_path / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    sample = open_sample(str(tmp_path), limit=2)
    assert (sample.kind, sample.split, sample.splits, sample.num_rows) == ("save_to_disk", "train", ("train", "test"), 3)
    assert sample.files == (str(tmp_path / "train" / "data-00000-of-00001.arrow"),)
    assert sample.class_names == {"label": ["neg", "pos"]}
    assert sample.table.to_pydict() == {"text": ["a b", "c d"], "label": [0, 1]}
    assert read_table(sample).to_pydict() == table.to_pydict()
    test = open_sample(str(tmp_path), split="test")
    assert (test.split, test.num_rows, test.class_names) == ("test", 1, {})
    assert refused(open_sample, str(tmp_path), subset="x") == ("--subset applies to hub datasets only", None)
    for broken in ("[1]", "{bad"):
        (tmp_path / "train" / "dataset_info.json").write_text(broken)
        assert open_sample(str(tmp_path)).class_names == {}


def test_parquet_shards_read_whole(tmp_path):
    pq.write_table(pa.table({"a": [1, 2, 3]}), tmp_path / "1.parquet")
    pq.write_table(pa.table({"a": [4]}), tmp_path / "2.parquet")
    sample = open_sample(str(tmp_path), limit=2)
    assert (sample.kind, sample.num_rows, sample.table.to_pydict()) == ("parquet", 4, {"a": [1, 2]})
    assert read_table(sample).to_pydict() == {"a": [1, 2, 3, 4]}


def test_parquet_batches_within_a_byte_budget(tmp_path):
    import os

    from lossadvisor.sources.local import _decoded_bytes, open_parquet, parquet_batches

    path = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"t": ["aaaa", "bbbbbbbb", "c"], "n": [1, 2, 3]}), path)
    parquet, _ = open_parquet(path)
    batch = next(parquet.iter_batches())
    assert pa.types.is_dictionary(batch.schema.field("t").type)
    # per row: the fixed-width bytes shared out (24 // 3) + 8, and the bytes of its text
    assert _decoded_bytes(batch).tolist() == [8 + 8 + 4, 8 + 8 + 8, 8 + 8 + 1]
    _, batches = parquet_batches(path, max_bytes=40, stop_at_budget=True)
    assert [b.to_pydict() for b in batches] == [{"t": ["aaaa"], "n": [1]}]
    message = (f"{path}: its data decodes to more than 0 MiB ({os.path.getsize(path):,} bytes on disk): values repeated "
               "from a dictionary, too large to read", "Check how the file was made; a few kB must not hold gigabytes of text.")
    _, batches = parquet_batches(path, max_bytes=40)
    assert refused(list, batches) == message
    _, batches = parquet_batches(path, max_bytes=10, stop_at_budget=True)  # not even one row fits
    assert refused(list, batches) == message
    _, batches = parquet_batches(path, batch_rows=2, max_rows=3)
    assert [b.to_pydict() for b in batches] == [{"t": ["aaaa", "bbbbbbbb"], "n": [1, 2]}, {"t": ["c"], "n": [3]}]
    _, batches = parquet_batches(path, batch_rows=2, max_rows=1)
    assert [b.to_pydict() for b in batches] == [{"t": ["aaaa"], "n": [1]}]


def test_full_reads_of_parallel_files_and_json_fallbacks(tmp_path):
    from lossadvisor.sources.full import _read_json_all, _read_json_whole, _read_text_all

    write(tmp_path, "p/a.toks", "x y\nz w\nq r\n")
    write(tmp_path, "p/b.toks", "1\n2\n3\n")
    sample = open_sample(str(tmp_path / "p"), limit=1)
    assert (sample.kind, sample.num_rows, sample.table.to_pydict()) == ("parallel", 3, {"a": ["x y"], "b": [1]})
    assert read_table(sample).to_pydict() == {"a": ["x y", "z w", "q r"], "b": [1, 2, 3]}
    # pyarrow's reader loses the null of [null, ""]: an array and JSON Lines are read with the json module instead
    array = write(tmp_path, "arr.json", '[{"a": [null, ""]}, {"a": ["x"]}]')
    assert _read_json_whole(array, None).to_pydict() == {"a": [[None, ""], ["x"]]}
    lines = write(tmp_path, "lines.json", '{"a": [null, ""]}\n\n{"a": ["x"]}\n')
    assert _read_json_whole(lines, None).to_pydict() == {"a": [[None, ""], ["x"]]}
    bad = write(tmp_path, "bad.json", '{"a": 1}\n{"a": \n')
    assert refused(_read_json_all, bad, None) == (
        f"{bad}: cannot read the whole file as JSON (Expecting value: line 1 column 7 (char 6))", None)
    field = write(tmp_path, "f.json", '{"rows": [{"a": 1}]}')
    assert refused(_read_json_all, field, "nope") == (f"{field}: cannot read the whole file as JSON ('nope')", None)
    text = write(tmp_path, "t.csv", "1;2,5\n3;4\n")
    dialect = TextDialect(";", False, False, ("x", "y"), decimal_comma=("y",))
    assert _read_text_all(text, dialect).to_pydict() == {"x": ["1", "3"], "y": ["2.5", "4"]}


def test_resolve_table_refusals_and_switched_lookups(tmp_path):
    from lossadvisor.sources.ids import resolve_table

    write(tmp_path, "queries.tsv", "q1\tfirst query\nq2\tsecond query\n")
    write(tmp_path, "collection.tsv", "pid\tpassage\n7\tseven text\n8\teight text\n")
    layout = {"ids": tmp_path / "train.tsv", "queries": tmp_path / "queries.tsv", "corpus": tmp_path / "collection.tsv"}
    assert refused(resolve_table, pa.table({"text": ["a b c"]}), layout) == (
        f"{tmp_path}/train.tsv: no column holds ids to resolve in queries.tsv and collection.tsv",
        "The ids file needs integer or token id columns (query_id, doc_ids, ...).")
    assert refused(resolve_table, pa.table({"a": [99], "b": [98]}), layout) == (
        f"{tmp_path}/train.tsv: the ids in 'a' (e.g. '99') are in neither queries.tsv nor collection.tsv",
        "Check that the three files belong together (the same id scheme).")
    assert refused(resolve_table, pa.table({"qid": ["q1", "q9"], "pid": [9, 7]}), layout) == (
        f"{tmp_path}/train.tsv: no row's ids are all in queries.tsv and collection.tsv", None)
    # no query-named column: the first is taken for the query, and switches when its ids are the corpus's
    table, counts = resolve_table(pa.table({"column_1": [7, 8], "column_2": ["q1", "q2"]}), layout)
    assert table.to_pydict() == {"positive": ["seven text", "eight text"], "query": ["first query", "second query"]}
    assert counts["columns"] == {"column_1": ("corpus", "positive"), "column_2": ("queries", "query")}


def test_which_columns_hold_ids():
    from lossadvisor.sources.ids import _is_text, _values, id_columns

    table = pa.table({"qid": [1], "label": [1], "x": [2], "doc_ids": [[1]], "t": ["a b"], "tok": ["ab-1"]})
    assert id_columns(table) == {"qid": False, "doc_ids": True}
    assert id_columns(table, named_only=False) == {"qid": False, "x": False, "doc_ids": True, "tok": False}

    def column(values, type=None):
        return pa.chunked_array([pa.array(values, type)])

    assert _values(column([None, None], pa.int64())) is None
    assert _values(column([[1], None, []])) == ([1], True)
    assert _values(column([1.5])) is None
    assert _values(column(["a" * 65])) is None
    assert _values(column(["a" * 64, None])) == (["a" * 64], False)
    assert [_is_text(column(v)) for v in (["ab"], ["a b"], [1], [["a b"]])] == [False, True, False, True]


def test_ids_layouts(tmp_path):
    from lossadvisor.sources.ids import ids_layout

    names = ("train.jsonl", "queries.jsonl", "corpus.jsonl")
    for name in names:
        write(tmp_path, f"a/{name}", "{}")
    expected = {"ids": tmp_path / "a/train.jsonl", "queries": tmp_path / "a/queries.jsonl", "corpus": tmp_path / "a/corpus.jsonl"}
    assert ids_layout(str(tmp_path / "a")) == expected
    assert ids_layout(",".join(str(tmp_path / "a" / n) for n in names)) == expected
    assert ids_layout(",".join(str(tmp_path / "a" / n) for n in names[:2])) is None
    assert ids_layout(",".join(str(tmp_path / "a" / n) for n in ("train.jsonl", "queries.jsonl", "queries.jsonl"))) is None
    assert ids_layout(",".join(str(tmp_path / "a" / n) for n in ("train.jsonl", "queries.jsonl", "missing.jsonl"))) is None
    write(tmp_path, "a/.hidden.jsonl", "{}")
    write(tmp_path, "a/readme.md", "x")
    assert ids_layout(str(tmp_path / "a")) == expected
    write(tmp_path, "a/more.jsonl", "{}")
    assert ids_layout(str(tmp_path / "a")) is None
    (tmp_path / "a/more.jsonl").unlink()
    (tmp_path / "a/qrels").mkdir()
    assert ids_layout(str(tmp_path / "a")) is None  # a BEIR folder


def test_empty_and_truncated_arrow_streams(tmp_path):
    from lossadvisor.sources.local import _arrow_sample

    empty = str(tmp_path / "e.arrow")
    with pa.OSFile(empty, "wb") as sink, pa.ipc.new_stream(sink, pa.schema([("x", pa.int64())])):
        pass
    table, total, schema = _arrow_sample([empty], 5)
    assert (table.schema, table.num_rows, total, schema) == (pa.schema([("x", pa.int64())]), 0, 0, pa.schema([("x", pa.int64())]))
    whole = pa.table({"x": list(range(1000))})
    with pa.OSFile(str(tmp_path / "s.arrow"), "wb") as sink, pa.ipc.new_stream(sink, whole.schema) as writer:
        writer.write_table(whole, max_chunksize=100)
    data = (tmp_path / "s.arrow").read_bytes()
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(data[: len(data) // 2])
    message, hint = refused(_arrow_sample, [str(cut)], 5)
    assert message.startswith(f"{cut}: truncated or corrupt Arrow data (") and hint is None


# --- hub.py: a streamed sample, with the network and `datasets` stood in for -------------------------------------------


class FakeNetwork:
    def __init__(self, reachable: bool = True):
        self.reachable, self.calls = reachable, []

    def create_connection(self, address, timeout):
        self.calls.append((address, timeout))
        if not self.reachable:
            raise OSError("unreachable")
        return self

    def close(self):
        pass


@pytest.fixture
def hub(monkeypatch):
    """A reachable hub whose `datasets.load_dataset` streams three records; its calls are kept."""
    import socket
    import sys
    import types

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    network = FakeNetwork()
    monkeypatch.setattr(socket, "create_connection", network.create_connection)
    fake = types.ModuleType("datasets")
    fake.calls = []

    def load_dataset(*args, **kwargs):
        fake.calls.append((args, kwargs))
        if args[0] == "org/broken":
            raise ConnectionError("the hub said no\nand more")
        if args[0] == "org/empty":
            return iter([])
        return iter([{"text": "a b", "label": 1}, {"text": "c d", "label": 0}, {"text": "e f", "label": 1}])

    fake.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", fake)
    return network, fake


def test_a_hub_sample_is_streamed(hub):
    network, fake = hub
    sample = open_sample("org/name", limit=2)
    assert network.calls == [(("huggingface.co", 443), 3)]
    assert fake.calls == [(("org/name", None), {"split": "train", "streaming": True})]
    assert (sample.spec, sample.kind, sample.num_rows, sample.files, sample.split, sample.splits) == (
        "org/name", "hub", None, (), "train", ("train",))
    assert sample.table.to_pydict() == {"text": ["a b", "c d"], "label": [1, 0]}
    other = open_sample("org/name", split="test", subset="pairs", limit=5)
    assert fake.calls[-1] == (("org/name", "pairs"), {"split": "test", "streaming": True})
    assert (other.split, other.splits, other.table.num_rows) == ("test", ("test",), 3)


def test_a_hub_that_cannot_be_reached_or_opened(hub, monkeypatch):
    network, _ = hub
    assert refused(open_sample, "org/broken") == (
        "cannot open hub dataset 'org/broken': the hub said no", "Check the id and your network, or point at a local copy.")
    assert refused(open_sample, "org/empty") == ("org/empty: no records", None)
    network.reachable = False
    assert refused(open_sample, "org/name") == (
        "'org/name' is not a local path, and the Hugging Face Hub cannot be reached (offline?)",
        "Point at a local file or save_to_disk folder, or check your network.")


def test_a_beir_folder_without_titles_keyed_by_id(tmp_path):
    jsonl(tmp_path / "corpus.jsonl", [{"id": "d1", "text": "cats purr"}, {"id": "d2"}])
    jsonl(tmp_path / "queries.jsonl", [{"id": "q1", "text": "what purrs"}, {"id": "q2"}])
    write(tmp_path, "qrels/dev.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n\t\nq2\td2\t1\n \n")
    sample = open_sample(str(tmp_path))
    assert sample.table.to_pydict() == {"query": ["what purrs", ""], "passage": ["cats purr", ""]}
    assert sample.reading_notes == (("beir-folder", (
        "a BEIR/MTEB retrieval layout: corpus.jsonl + queries.jsonl + qrels (dev); joined qrels 'dev': 2 judgments of 2 "
        "queries; every judgment is a positive: (query, positive) pairs, negatives to mine from the corpus")),)


def test_a_json_document_at_its_size_limit_and_too_deep(tmp_path, monkeypatch):
    import os

    from lossadvisor.sources import jsonfile

    deep = write(tmp_path, "deep.json", '{\n"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    too_deep = jsonfile._too_deep(deep)
    assert refused(jsonfile._document, deep, 5, []) == (too_deep.message, too_deep.hint)
    assert too_deep.message.startswith(f"{deep}: JSON nested too deeply")
    document = write(tmp_path, "doc.json", '{"rows": [{"a": 1}]}')
    monkeypatch.setattr(jsonfile, "JSON_DOCUMENT_MAX_BYTES", os.path.getsize(document))  # at the limit: parsed
    assert jsonfile._document(document, 5, [])[:3] == ([{"a": 1}], 1, "rows")


def lying_parquet(path: Path, table: pa.Table, claim: int) -> str:
    """A parquet file whose footer claims `claim` rows (the row counts rewritten, as tests/hostile_inputs.py does)."""
    import io
    import struct
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from hostile_inputs import _varint

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    length = struct.unpack("<I", data[-8:-4])[0]
    footer = data[-8 - length:-8].replace(_varint(table.num_rows << 1), _varint(claim << 1))
    path.write_bytes(data[:-8 - length] + footer + struct.pack("<I", len(footer)) + b"PAR1")
    return str(path)


def test_a_parquet_footer_is_checked_against_its_pages(tmp_path):
    from lossadvisor.sources.local import open_parquet

    one_column = pa.table({"t": [f"row {i}" for i in range(1234)]})
    lies = lying_parquet(tmp_path / "lies.parquet", one_column, 2**40)
    assert refused(open_parquet, lies) == (
        f"{lies}: corrupt parquet footer: it claims 1,099,511,627,776 rows, its pages hold 1,234",
        "Rewrite the file from its source; lossadvisor does not trust a footer that its data contradicts.")
    plausible = lying_parquet(tmp_path / "plausible.parquet", one_column, 65536)  # not worth reading the pages for
    assert open_parquet(plausible)[0].metadata.num_rows == 65536
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"t": pa.array([], pa.string())}), empty)
    assert open_parquet(str(empty))[0].metadata.num_rows == 0
    two_columns = pa.table({"t": ["x"] * 1234, "n": list(range(1234))})
    assert refused(open_parquet, lying_parquet(tmp_path / "two.parquet", two_columns, 10**9))[0].endswith(
        "it claims 1,000,000,000 rows, its pages hold 1,234")


def test_dictionary_decode_of_one_entry_one_row_and_large_binary():
    from lossadvisor.sources import dictionary

    one_entry = pa.DictionaryArray.from_arrays(pa.array([0, 0, None], pa.int32()), pa.array(["x"]))
    assert dictionary.decode(one_entry, in_python=True).to_pylist() == ["x", "x", None]
    assert dictionary.value_bytes(one_entry).tolist() == [1, 1, 0]
    one_row = pa.DictionaryArray.from_arrays(pa.array([1], pa.int32()), pa.array(["a", "bc"]))
    assert dictionary.decode(one_row, in_python=True).to_pylist() == ["bc"]
    large_binary = pa.DictionaryArray.from_arrays(pa.array([1, 0], pa.int32()), pa.array([b"x", b"yz"], pa.large_binary()))
    decoded = dictionary.decode(large_binary, in_python=True)
    assert (decoded.to_pylist(), decoded.type) == ([b"yz", b"x"], pa.large_binary())
    assert dictionary.value_bytes(large_binary).tolist() == [2, 1]


def test_a_tsv_whose_cells_hold_one_comma_is_read_whole_by_tabs(tmp_path):
    sample = open_sample(write(tmp_path, "c.tsv", "x\ty\np,q\tr\ns,t\tu\nv,w\tz\n"), limit=1)
    assert read_table(sample).to_pydict() == {"x": ["p,q", "s,t", "v,w"], "y": ["r", "u", "z"]}


def test_a_json_array_too_deep_to_read(tmp_path):
    from lossadvisor.sources import jsonfile

    deep = write(tmp_path, "deep.json", "[" + "[" * 100_000 + "]" * 100_000 + "]")
    too_deep = jsonfile._too_deep(deep)
    assert refused(jsonfile._array_head, deep, 5) == (too_deep.message, too_deep.hint)


def test_a_shard_head_is_read_by_whole_lines(tmp_path, monkeypatch):
    from lossadvisor.sources import sample as sample_module

    monkeypatch.setattr(sample_module, "SHARD_HEAD_BYTES", 40)
    first = jsonl(tmp_path / "a/1.jsonl", [{"t": "a", "l": 1}])
    # a first line longer than the head: nothing whole to check, the shard is left to the full read
    jsonl(tmp_path / "a/2.jsonl", [{"t": "b" * 60, "l": "x"}])
    assert open_sample(str(tmp_path / "a")).table.to_pydict() == {"t": ["a"], "l": [1]}
    # a whole first line within the head that drifts is found
    jsonl(tmp_path / "b/1.jsonl", [{"t": "a", "l": 1}])
    second = jsonl(tmp_path / "b/2.jsonl", [{"t": "b", "l": "x"}, {"t": "c" * 60, "l": "y"}])
    assert refused(open_sample, str(tmp_path / "b")) == (
        f"shards disagree on column 'l': int64 in {tmp_path}/b/1.jsonl, string in {second}",
        "Cast that column to one type in every file.")
    assert first


@pytest.mark.parametrize("name, text, header, rows, notes", [
    ("w.csv", 'a,b\n"x,y",1\nz,2\n', True, [["x,y", "1"], ["z", "2"]], []),  # CSV quoting kept: no rows merged
    ("qc.csv", 'text,score\nfoo bar,"0,5"\nbaz qux,"1,5"\n', True, [["foo bar", "0,5"], ["baz qux", "1,5"]], []),
    ("t.csv", "a\tb\nfoo bar\t1\n", True, [["foo bar", "1"]],
     [("misleading-extension", "t.csv is TAB-separated despite its .csv extension")]),
    ("one.csv", "a,b\n", True, [], []),  # one row: a header over no data
    ("rep.csv", "cat,dog\ncat,bird\n", False, [["cat", "dog"], ["cat", "bird"]],
     [("no-header", "no header row: columns are named column_1..column_2 by position")]),
    ("long.csv", "h" * 64 + ",b\nfoo,1\n", True, [["foo", "1"]], []),
    ("longer.csv", "h" * 65 + ",b\nfoo,1\n", False, [["h" * 65, "b"], ["foo", "1"]],
     [("no-header", "no header row: columns are named column_1..column_2 by position")]),
])
def test_dialects_at_their_edges(tmp_path, name, text, header, rows, notes):
    dialect, body, found = dialect_of(tmp_path, name, text)
    assert (dialect.header, body, found) == (header, rows, notes)


def test_a_pandas_index_over_one_column(tmp_path):
    dialect, rows, _ = dialect_of(tmp_path, "pi.csv", ",text\n0,hello there\n1,good bye\n")
    assert dialect.column_names == ("Unnamed: 0", "text") and rows == [["0", "hello there"], ["1", "good bye"]]


def test_header_evidence_is_taken_from_the_first_199_rows(tmp_path):
    from lossadvisor.sources.text import _has_header, _pandas_index

    body = [["some longer text", "other longer text"]] * 199
    # the header's value appears in its column only at row 200: not looked at
    assert _has_header([["x", "y"], *body, ["x", "zzz"]]) is True
    assert _has_header([["x", "y"], *body[:198], ["x", "zzz"]]) is False
    index = [["", "text"], ["0", "a b"], *[[str(i), "c d"] for i in range(1, 199)], ["not a number", "e f"]]
    assert _pandas_index(index) is True
    assert _pandas_index([["", "text"], ["x", "a b"], ["1", "c d"]]) is False


def test_the_most_consistent_delimiter_wins():
    from lossadvisor.sources.text import _sniff_delimiter

    assert _sniff_delimiter(["a,b;c;d", "e,f;g;h", "i,j;k;l;m"], ".txt") == ","


def test_line_numbers_of_a_bad_byte_past_the_first_block(tmp_path):
    from lossadvisor.sources.full import _check_utf8

    path = tmp_path / "big.csv"
    lines = 6 * 2**20  # 18 MiB: more than one 16 MiB block
    path.write_bytes(b"ab\n" * lines + b"caf\xe9\n")
    assert refused(_check_utf8, str(path))[0] == f"{path}: not UTF-8 text at line {lines + 1:,} (byte {3 * lines + 3:,})"


def test_aligned_files_at_their_edges(tmp_path):
    from lossadvisor.sources.parallel import aligned_error

    two = tmp_path / "two"
    write(two, "a.txt", "a man runs\nthe dog eats\n")
    write(two, "val.txt", "0.5\n1.5\n")  # a number per line, not named as a label: a decimal point makes it one
    error = aligned_error(two)
    assert error.hint == (f"Name the files as the columns: lossadvisor inspect {two} --inputs a.txt --label val.txt "
                          "(convert and trial take the same; or pass them comma-separated).")
    odd = tmp_path / "odd"
    write(odd, "0notes.txt", "1\n2\n3\n4\n5\n")
    write(odd, "a.txt", "a man runs\nthe dog eats\nkids play\n")
    write(odd, "b.txt", "a person runs\nthe cat eats\nchildren play\n")
    write(odd, "sim.txt", "4.5\n3\n5\n")
    assert aligned_error(odd).message == (f"{odd}: a.txt, b.txt, sim.txt hold 3 lines each: line-aligned columns (line i "
                                          "of each file is row i), not one table")


def test_files_as_columns_without_a_choice_or_from_the_working_folder(sick, monkeypatch):
    from lossadvisor.profile import ColumnChoice
    from lossadvisor.sources.parallel import files_as_columns

    assert files_as_columns("org/name", None) == ("org/name", None)
    monkeypatch.chdir(sick)
    assert files_as_columns("org/name", ColumnChoice(inputs=("a.txt", "b.txt"), label="sim.txt")) == (
        "a.txt,b.txt,sim.txt", ColumnChoice(inputs=("a", "b"), label="sim"))


def test_sixteen_line_files_at_most(tmp_path):
    from lossadvisor.sources.parallel import parallel_files

    for i in range(16):
        write(tmp_path, f"f{i:02d}.toks", "x\ny\n")
    assert len(parallel_files(tmp_path)) == 16
    write(tmp_path, "f16.toks", "x\ny\n")
    assert parallel_files(tmp_path) is None


def test_ids_found_in_both_lookups_read_by_their_names(tmp_path):
    from lossadvisor.sources.ids import resolve_table

    write(tmp_path, "queries.tsv", "1\tquery one\n2\tquery two\n")
    write(tmp_path, "corpus.tsv", "1\tdoc one\n2\tdoc two\n")
    layout = {"ids": tmp_path / "t.tsv", "queries": tmp_path / "queries.tsv", "corpus": tmp_path / "corpus.tsv"}
    table, _ = resolve_table(pa.table({"pid": [2, 1], "qid": [1, 2]}), layout)
    assert table.to_pydict() == {"query": ["query one", "query two"], "positive": ["doc two", "doc one"]}


@pytest.mark.parametrize("cells, expected", [
    (["query_id", "text"], (0, 1)), (["doc_id", "contents"], (0, 1)), (["x", "passage", "docid"], (2, 1)),
    (["document", "id"], (1, 0)), (["QID", "Query"], (0, 1)), (["pid", "other"], (0, 1)), (["other", "pid"], (1, 0)),
])
def test_header_positions(cells, expected):
    from lossadvisor.sources.ids import _header

    assert _header(cells) == expected


def test_ids_sample_drops_what_the_ids_file_had(ids_folder):
    sample = open_sample(str(ids_folder))
    assert (sample.column_stats, sample.class_names, sample.flattened, sample.fields_flattened, sample.schema_before) == (
        {}, {}, (), (), None)


def test_whole_json_records_that_are_not_objects(tmp_path):
    from lossadvisor.sources.full import _read_json_whole

    array = write(tmp_path, "a.json", '[{"a": [null, ""]}, 1]')
    assert refused(_read_json_whole, array, None) == (f"{array}: JSON records are not objects", None)
    lines = write(tmp_path, "l.json", '{"a": [null, ""]}\n2\n')
    assert refused(_read_json_whole, lines, None) == (f"{lines}: JSON records are not objects", None)


@pytest.mark.parametrize("names, expected", [
    (["ID", "Text"], ("ID", "Text")), (["x", "qid", "question"], ("qid", "question")), (["query_id", "query"], ("query_id", "query")),
    (["document_id", "document"], ("document_id", "document")), (["corpus_id", "contents"], ("corpus_id", "contents")),
    (["pid", "body"], ("pid", "body")), (["doc_id", "content", "passage"], ("doc_id", "content")),
])
def test_pick_names_the_id_and_text_fields(names, expected):
    from lossadvisor.sources.ids import _pick

    assert _pick(names, "corpus") == expected


@pytest.mark.parametrize("args, expected", [
    (("QUERY_ID", False, set()), "QUERY"), (("d_id", False, set()), "positive"), (("qid", False, set(), "corpus"), "positive"),
])
def test_more_output_names(args, expected):
    from lossadvisor.sources.ids import output_name

    assert output_name(*args) == expected


def test_headerless_tsv_lookups_and_their_load_code(tmp_path):
    from lossadvisor.sources.ids import sample_load_code

    jsonl(tmp_path / "train.jsonl", [{"qid": 1, "pid": 7, "note": "x y"}, {"qid": 2, "pid": 8, "note": "z w"},
                                     {"qid": 3, "pid": 9, "note": "v u"}, {"qid": 4, "pid": 7, "note": "t s"}])
    write(tmp_path, "queries.tsv", "1\tfirst query\n2\tsecond query\n")
    write(tmp_path, "corpus.tsv", '7\t"quoted" text\n8\tplain text\n')
    sample = open_sample(str(tmp_path))
    rows = {"query": ["first query", "second query"], "positive": ['"quoted" text', "plain text"]}
    assert sample.table.to_pydict() == rows
    assert sample.reading_notes[-1][1] == (
        "ids resolved into texts, as sentence-transformers' resolve_ids does: qid → query (from queries.tsv); pid → "
        "positive (from corpus.tsv); 2 of 4 rows dropped (an id not found: qid 2); columns left out: note")
    assert run_ids_code(sample_load_code(sample)) == [dict(zip(rows, r)) for r in zip(*rows.values())]


def test_titles_counted_and_columns_left_out(tmp_path):
    jsonl(tmp_path / "train.jsonl", [{"qid": 1, "pid": 7, "a": "x y", "b": "z w"}, {"qid": 1, "pid": 8, "a": "v u", "b": "t s"}])
    jsonl(tmp_path / "queries.jsonl", [{"_id": 1, "text": "first query"}])
    jsonl(tmp_path / "corpus.jsonl", [{"_id": 7, "title": "Seven", "text": "is a number"},
                                      {"_id": 8, "title": "Eight", "text": "is more"}])
    sample = open_sample(str(tmp_path))
    assert sample.table.to_pydict() == {"query": ["first query", "first query"],
                                        "positive": ["Seven is a number", "Eight is more"]}
    assert sample.reading_notes[-1][1] == (
        "ids resolved into texts, as sentence-transformers' resolve_ids does: qid → query (from queries.jsonl); pid → "
        "positive (from corpus.jsonl); columns left out: a, b; title put before the text for 2 documents (as BEIR does)")


def test_a_column_with_half_its_ids_in_its_lookup_keeps_it(tmp_path):
    from lossadvisor.sources.ids import resolve_table

    write(tmp_path, "queries.tsv", "1\tquery one\n2\tquery two\n")
    write(tmp_path, "corpus.tsv", "1\tdoc one\n")
    layout = {"ids": tmp_path / "t.tsv", "queries": tmp_path / "queries.tsv", "corpus": tmp_path / "corpus.tsv"}
    table, counts = resolve_table(pa.table({"qid": [1, 2], "pid": [1, 2]}), layout)
    assert table.to_pydict() == {"query": ["query one"], "positive": ["doc one"]}
    assert counts["columns"]["pid"] == ("corpus", "positive") and counts["missing"] == {"qid": 0, "pid": 1}


def test_parallel_lines_keep_their_last_characters(tmp_path):
    from lossadvisor.sources.parallel import parallel_table

    files = [write(tmp_path, "a.toks", "ends with X\r\nsecond X\n"), write(tmp_path, "b.toks", "XX\nY\n")]
    assert parallel_table(files).to_pydict() == {"a": ["ends with X", "second X"], "b": ["XX", "Y"]}


def test_latin1_bytes_do_not_stop_the_line_file_checks(tmp_path):
    from lossadvisor.sources.beir import looks_like_qrels
    from lossadvisor.sources.parallel import aligned_error

    qrels = tmp_path / "judged.tsv"
    qrels.write_bytes(b"1 2 1\ncaf\xe9 2 0\n")
    assert looks_like_qrels(qrels) is True
    folder = tmp_path / "lines"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"un caf\xe9 noir\nthe dog eats\n")
    write(folder, "sim.txt", "4.5\n3\n")
    assert aligned_error(folder).message.startswith(f"{folder}: a.txt, sim.txt hold 2 lines each")


def test_nulls_among_more_than_eight_numbers():
    from lossadvisor.sources.schema import rows_to_table

    cells = [[str(i)] if i % 3 else [""] for i in range(10)]
    assert rows_to_table(cells, ("n",)).to_pydict() == {"n": [None, 1, 2, None, 4, 5, None, 7, 8, None]}


def test_a_first_line_of_megabytes_is_measured_in_mib(tmp_path, monkeypatch):
    from lossadvisor.sources import text

    monkeypatch.setattr(text, "TEXT_WINDOW_BYTES", 1 << 20)
    monkeypatch.setattr(text, "TEXT_WINDOW_MAX_BYTES", 3 << 20)
    path = write(tmp_path, "wide.csv", "x" * (5 << 20) + "\n")
    assert refused(text._read_window, path)[0] == (
        f"{path}: the first line is longer than 3 MiB, more than lossadvisor reads to sample it")  # 3 MiB + 1 byte read


def test_ids_alone_are_refused_from_csv_and_save_to_disk(tmp_path):
    ids = pa.table({"qid": [1, 3], "pid": [2, 4]})
    path = write(tmp_path, "pairs.csv", "qid,pid\n1,2\n3,4\n")
    assert refused(open_sample, path)[0].startswith(f"{path}: ids, not text: qid (ids), pid (ids) point into")
    save_split(tmp_path / "saved", ids)
    assert refused(open_sample, str(tmp_path / "saved"))[0].startswith(f"{tmp_path / 'saved'}: ids, not text: qid (ids)")
