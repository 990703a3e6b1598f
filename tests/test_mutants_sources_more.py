"""sources/: more survivors of the sampled mutation run (issue 17), each pinned by one exact outcome.

In-process only (a subprocess imports the unmutated package); small files written here, no model, no network.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from test_mutants_sources import refused, write  # the helpers of the first sources file

from lossadvisor.sources import open_sample

# --- ids.py: which field of a lookup is the id, which the text ---------------------------------------------------------


def test_pick_prefers_id_over_qid():
    from lossadvisor.sources.ids import _pick

    assert _pick(["qid", "id", "text"], "corpus") == ("id", "text")


def test_pick_prefers_qid_over_doc_id():
    from lossadvisor.sources.ids import _pick

    assert _pick(["doc_id", "qid", "text"], "corpus") == ("qid", "text")


def test_pick_prefers_query_id_over_document_id():
    from lossadvisor.sources.ids import _pick

    assert _pick(["document_id", "query_id", "text"], "queries") == ("query_id", "text")


def test_pick_prefers_contents_over_content():
    from lossadvisor.sources.ids import _pick

    assert _pick(["id", "content", "contents"], "corpus") == ("id", "contents")


def test_pick_prefers_document_over_query():
    from lossadvisor.sources.ids import _pick

    assert _pick(["id", "query", "document"], "corpus") == ("id", "document")


def test_header_with_an_underscore_id():
    from lossadvisor.sources.ids import _header

    assert _header(["_id", "text"]) == (0, 1)


def test_header_finds_a_contents_column_after_a_title():
    from lossadvisor.sources.ids import _header

    assert _header(["id", "title", "contents"]) == (0, 2)


def test_read_lookup_counts_every_titled_document(tmp_path):
    from lossadvisor.sources.ids import read_lookup

    path = Path(write(tmp_path, "corpus.jsonl", '{"_id": "1", "title": "A", "text": "one"}\n'
                                                '{"_id": "2", "title": "B", "text": "two"}\n'))
    assert read_lookup(path, "corpus", {"1", "2"}) == ({"1": "A one", "2": "B two"}, 2)


def test_read_lookup_names_the_file_of_a_bad_json_line(tmp_path):
    from lossadvisor.sources.ids import read_lookup

    path = Path(write(tmp_path, "corpus.jsonl", '{"_id": "1", "text": "one"}\n{broken\n'))
    assert refused(read_lookup, path, "corpus", {"1"}) == (f"{path}: line 2 is not JSON", None)


def test_read_lookup_header_whose_last_cell_ends_in_x(tmp_path):
    from lossadvisor.sources.ids import read_lookup

    path = Path(write(tmp_path, "queries.tsv", "text\tidX\nhello\t1\n"))
    fields: dict = {}
    assert read_lookup(path, "queries", {"text", "hello"}, fields) == ({"text": "idX", "hello": "1"}, 0)


def test_output_name_of_a_qid_id_column_for_the_queries():
    from lossadvisor.sources.ids import output_name

    assert output_name("qid_id", False, set(), "queries") == "query"


def test_resolve_table_names_the_queries_records_it_cannot_read(tmp_path):
    from lossadvisor.sources.ids import resolve_table

    layout = {"ids": tmp_path / "train.jsonl", "queries": Path(write(tmp_path, "queries.jsonl", '{"a": 1, "title": 2}\n')),
              "corpus": Path(write(tmp_path, "corpus.jsonl", '{"_id": "d1", "text": "doc"}\n'))}
    table = pa.table({"query_id": ["q1"], "doc_id": ["d1"]})
    assert refused(resolve_table, table, layout) == (
        "cannot tell the id and the text field of the queries records (fields: a, title)",
        "Give each record an id field (_id or id) and a text field (text).")


# --- beir.py / parallel.py: what a spec names ------------------------------------------------------------------------


def test_beir_layout_needs_the_queries_file(tmp_path):
    from lossadvisor.sources.beir import beir_layout

    write(tmp_path, "corpus.jsonl", '{"_id": "d1", "text": "doc"}\n')
    assert beir_layout(str(tmp_path)) is None


def test_named_parallel_files_refuses_a_file_that_is_not_a_line_file(tmp_path):
    from lossadvisor.sources.parallel import named_parallel_files

    a = write(tmp_path, "a.txt", "one\ntwo\n")
    b = write(tmp_path, "b.csv", "x\ny\n")
    assert named_parallel_files(f"{a},{b}") is None


def test_named_parallel_files_refuses_files_of_different_lengths(tmp_path):
    from lossadvisor.sources.parallel import named_parallel_files

    a = write(tmp_path, "a.txt", "one\ntwo\n")
    b = write(tmp_path, "b.txt", "x\n")
    assert named_parallel_files(f"{a},{b}") is None


# --- sample.py: the one split of local files -------------------------------------------------------------------------


def test_parallel_files_have_the_train_split(tmp_path):
    a = write(tmp_path, "a.txt", "one\ntwo\n")
    b = write(tmp_path, "b.txt", "x\ny\n")
    assert open_sample(f"{a},{b}").splits == ("train",)


def test_a_parquet_file_has_the_train_split(tmp_path):
    pq.write_table(pa.table({"text": ["a", "b"]}), tmp_path / "d.parquet")
    assert open_sample(str(tmp_path / "d.parquet")).splits == ("train",)


def test_an_arrow_file_has_the_train_split(tmp_path):
    table = pa.table({"text": ["a", "b"]})
    with pa.ipc.new_stream(str(tmp_path / "d.arrow"), table.schema) as writer:
        writer.write_table(table)
    assert open_sample(str(tmp_path / "d.arrow")).splits == ("train",)


def test_read_lookup_counts_every_titled_parquet_document(tmp_path):
    from lossadvisor.sources.ids import read_lookup

    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"_id": ["1", "2"], "title": ["A", "B"], "text": ["one", "two"]}), path)
    assert read_lookup(path, "corpus", {"1", "2"}) == ({"1": "A one", "2": "B two"}, 2)


def test_beir_layout_needs_the_queries_file_even_with_qrels(tmp_path):
    from lossadvisor.sources.beir import beir_layout

    write(tmp_path, "corpus.jsonl", '{"_id": "d1", "text": "doc"}\n')
    write(tmp_path, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    assert beir_layout(str(tmp_path)) is None


# --- spec.py -------------------------------------------------------------------------------------------------------


def test_resolve_files_of_a_beir_folder_lists_its_three_files(tmp_path):
    from lossadvisor.sources.spec import resolve_files

    corpus = write(tmp_path, "corpus.jsonl", '{"_id": "d1", "text": "doc"}\n')
    queries = write(tmp_path, "queries.jsonl", '{"_id": "q1", "text": "query"}\n')
    qrels = write(tmp_path, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    assert resolve_files(str(tmp_path)) == ("beir", [corpus, queries, qrels])


def test_a_glob_of_mixed_types_names_the_glob(tmp_path):
    from lossadvisor.sources.spec import resolve_files

    write(tmp_path, "a.csv", "x\n1\n")
    write(tmp_path, "b.json", "[]")
    assert refused(resolve_files, str(tmp_path / "*")) == (f"{tmp_path}/*: mixes file types (csv, json); point at one type",
                                                            None)


# --- text.py -------------------------------------------------------------------------------------------------------


def test_read_window_names_an_os_error_without_strerror(tmp_path, monkeypatch):
    from lossadvisor.sources import text

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(text, "open", broken, raising=False)
    assert refused(text._read_window, "data.csv") == ("data.csv: cannot read it (disk gone)", None)


def test_quotes_that_only_change_the_widths_are_literal_quotes():
    from lossadvisor.sources.text import _choose_dialect

    notes = _choose_dialect("p.csv", 'x,y,z\n"a,b",c\nd,e,f\ng,h,i\n', True)[2]
    assert notes == [("literal-quotes", "quote characters are literal text; read with quoting=csv.QUOTE_NONE (3)")]


def test_a_trec_qrels_file_is_refused_by_its_path(tmp_path):
    path = write(tmp_path, "judged.txt", "q1 0 d1 1\nq2 0 d2 0\n")
    assert refused(open_sample, path)[0] == (
        f"{path}: a TREC qrels file (query id, iteration, document id, relevance): judgments, as ids, not text. "
        "A CrossEncoder trains on the query and document texts these ids point to")


# --- jsonfile.py ---------------------------------------------------------------------------------------------------


def test_json_records_of_an_array_after_leading_blank_lines(tmp_path):
    from lossadvisor.sources.jsonfile import _json_records

    path = write(tmp_path, "d.json", '\n  [{"a": 1}, {"a": 2}]')
    assert _json_records(path, 10) == ([{"a": 1}, {"a": 2}], 2, None, [])


def test_json_records_of_json_lines_larger_than_the_window(tmp_path):
    from lossadvisor.sources.base import TEXT_WINDOW_BYTES
    from lossadvisor.sources.jsonfile import _json_records

    count = TEXT_WINDOW_BYTES // 9 + 1000
    path = write(tmp_path, "d.jsonl", '{"a": 1}\n' * count)
    assert _json_records(path, 3) == ([{"a": 1}] * 3, count, None, [])


def test_array_head_after_a_space_and_a_byte_order_mark(tmp_path):
    from lossadvisor.sources.jsonfile import _array_head

    path = write(tmp_path, "d.json", ' \ufeff[{"a": 1}, {"a": 2}]')
    assert _array_head(path, 10) == [{"a": 1}, {"a": 2}]


def test_array_head_reads_in_chunks_within_the_element_limit(tmp_path, monkeypatch):
    from lossadvisor.sources import jsonfile

    monkeypatch.setattr(jsonfile, "ARRAY_CHUNK_BYTES", 16)
    monkeypatch.setattr(jsonfile, "TEXT_WINDOW_MAX_BYTES", 64)
    path = write(tmp_path, "d.json", "[" + ", ".join('{"a": %d}' % i for i in range(30)) + "]")
    assert jsonfile._array_head(path, 30) == [{"a": i} for i in range(30)]


# --- local.py ------------------------------------------------------------------------------------------------------


def test_decoded_bytes_of_a_one_row_batch():
    from lossadvisor.sources.local import _decoded_bytes

    batch = pa.record_batch({"n": pa.array([7], pa.int64())})
    assert _decoded_bytes(batch).tolist() == [16]


def test_full_read_budget_grows_with_the_file(tmp_path, monkeypatch):
    from lossadvisor.sources import local

    monkeypatch.setattr(local, "FULL_READ_MIN_BYTES", 0)
    pq.write_table(pa.table({"n": list(range(100))}), tmp_path / "d.parquet")
    schema, batches = local.parquet_batches(str(tmp_path / "d.parquet"))
    assert sum(b.num_rows for b in batches) == 100


def test_parquet_batches_budget_counts_every_batch(tmp_path):
    from lossadvisor.sources.local import parquet_batches

    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.table({"n": list(range(100))}), path)
    schema, batches = parquet_batches(path, batch_rows=10, max_bytes=800)
    assert refused(list, batches) == (
        f"{path}: its data decodes to more than 0 MiB ({Path(path).stat().st_size:,} bytes on disk): values repeated "
        "from a dictionary, too large to read", "Check how the file was made; a few kB must not hold gigabytes of text.")


def test_parquet_batches_names_a_read_error(tmp_path):
    from lossadvisor.sources.local import parquet_batches

    class Broken:
        def iter_batches(self, **kwargs):
            raise pa.ArrowInvalid("page gone")
            yield

    path = write(tmp_path, "d.parquet", "x")
    schema, batches = parquet_batches(path, opened=(Broken(), pa.schema([("n", pa.int64())])))
    assert refused(list, batches) == (f"{path}: cannot read parquet data (page gone)", None)


def test_the_sample_of_a_parquet_file_stops_at_its_byte_budget(tmp_path, monkeypatch):
    from lossadvisor.sources import local

    monkeypatch.setattr(local, "SAMPLE_MAX_BYTES", 16 * 10)
    pq.write_table(pa.table({"n": list(range(100))}), tmp_path / "d.parquet")
    assert open_sample(str(tmp_path / "d.parquet")).table.num_rows == 10


def test_shards_of_one_column_in_two_types_are_named(tmp_path):
    from lossadvisor.sources.local import _concat

    first, second = pa.table({"a": [1]}), pa.table({"a": ["x"]})
    assert refused(_concat, [first, second], ["one.parquet", "two.parquet"]) == (
        "shards disagree on column 'a': int64 in one.parquet, string in two.parquet",
        "Cast that column to one type in every file.")


def test_shards_that_fail_to_concatenate_with_unifiable_columns_are_named_by_the_first(tmp_path):
    from lossadvisor.sources.local import _concat

    first = pa.table({"a": pa.array([1], pa.int64())})
    second = pa.Table.from_arrays([pa.array([1], pa.int32()), pa.array([2], pa.int32())], names=["a", "a"])
    assert refused(_concat, [first, second], ["one.parquet", "two.parquet"]) == (
        "shards one.parquet and others have schemas that cannot be unified", "Cast the columns to one type in every file.")


# --- full.py: the whole dataset ------------------------------------------------------------------------------------


def test_read_table_of_an_exhaustive_sample_is_the_sample(tmp_path):
    from lossadvisor.sources import read_table

    path = write(tmp_path, "d.csv", "x,y\n1,a\n2,b\n")
    sample = open_sample(path)
    Path(path).write_text("x,y\n3,c\n4,d\n", encoding="utf-8")
    assert read_table(sample).to_pydict() == {"x": [1, 2], "y": ["a", "b"]}


def test_read_table_of_parquet_shards_in_two_types_names_them(tmp_path):
    from lossadvisor.sources import read_table
    from lossadvisor.sources.base import Sample

    one, two = str(tmp_path / "one.parquet"), str(tmp_path / "two.parquet")
    pq.write_table(pa.table({"a": [1]}), one)
    pq.write_table(pa.table({"a": ["x"]}), two)
    sample = Sample(str(tmp_path), "parquet", pa.table({"a": [1]}), None, (one, two))
    assert refused(read_table, sample) == (f"shards disagree on column 'a': int64 in {one}, string in {two}",
                                           "Cast that column to one type in every file.")


def test_read_table_of_json_shards_in_two_types_names_them(tmp_path):
    from lossadvisor.sources import read_table
    from lossadvisor.sources.base import Sample

    one, two = write(tmp_path, "one.jsonl", '{"a": 1}\n'), write(tmp_path, "two.jsonl", '{"a": "x"}\n')
    sample = Sample(str(tmp_path), "json", pa.table({"a": [1]}), None, (one, two))
    assert refused(read_table, sample) == (f"shards disagree on column 'a': int64 in {one}, string in {two}",
                                           "Cast that column to one type in every file.")


def test_read_table_of_an_arrow_file_past_its_sample(tmp_path):
    from lossadvisor.sources import read_table

    table = pa.table({"text": ["a", "b", "c"]})
    with pa.ipc.new_stream(str(tmp_path / "d.arrow"), table.schema) as writer:
        writer.write_table(table)
    assert read_table(open_sample(str(tmp_path / "d.arrow"), limit=1)).column("text").to_pylist() == ["a", "b", "c"]


def test_read_table_names_the_spec_of_a_column_that_changes_type(tmp_path):
    from lossadvisor.sources import read_table

    path = write(tmp_path, "d.csv", "x\n1\n2\nabc\n")
    message, hint = refused(read_table, open_sample(path, limit=2))
    assert (message.split(" (")[0], hint) == (
        f"{path}: column 'x' reads as int64 in the sampled rows but not in all of the data",
        "Make the column's values one type, or save the data as parquet / JSON Lines with the type you mean.")


def test_check_utf8_counts_lines_over_every_block(tmp_path):
    from lossadvisor.sources.full import _check_utf8

    path = tmp_path / "d.csv"
    path.write_bytes(b"a\n" * (1 << 24) + b"\xff\n")
    assert refused(_check_utf8, str(path)) == (
        f"{path}: not UTF-8 text at line 16,777,217 (byte 33,554,432)",
        f"Re-encode it, e.g. `iconv -f latin1 -t utf-8 {path} > fixed.csv`.")


def test_ids_resolved_from_nested_records_are_not_flattened_again(tmp_path):
    record = '{"query_id": "q1", "hits": [{"doc_id": "d1", "note": "some words"}, {"doc_id": "d2", "note": "more"}]}\n'
    write(tmp_path, "train.jsonl", record * 2)
    write(tmp_path, "queries.jsonl", '{"_id": "q1", "text": "a query"}\n')
    write(tmp_path, "corpus.jsonl", '{"_id": "d1", "text": "doc one"}\n{"_id": "d2", "text": "doc two"}\n')
    assert open_sample(str(tmp_path)).flattened == ()


def test_parquet_batches_come_in_65536_rows(tmp_path):
    from lossadvisor.sources.local import parquet_batches

    pq.write_table(pa.table({"n": list(range(65537))}), tmp_path / "d.parquet")
    schema, batches = parquet_batches(str(tmp_path / "d.parquet"))
    assert [b.num_rows for b in batches] == [65536, 1]
