"""`lossadvisor convert` streams local parquet batch by batch when the chain and the fixes are row-local.

Each case converts a real-data slice written as multi-row-group parquet twice: streamed (in small batches, so that
duplicates and dropped rows fall in different batches) and read whole, and the two outputs and accounts must match.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from real_data import REAL, needs_real

from lossadvisor.convert import ConvertOptions, streaming
from lossadvisor.convert import command as convert_command
from lossadvisor.table import load_table

pytestmark = needs_real
BATCH = 64


@pytest.fixture(scope="module")
def loss_table():
    return load_table()


def _with_traps(table: pa.Table) -> pa.Table:
    """The slice, plus its first 70 rows again at the end (duplicates in another batch) and a blank first text."""
    first = table.column_names[0]
    texts = table.column(first).to_pylist()
    texts[5] = "  "
    table = table.set_column(0, first, pa.array(texts, table.schema.field(first).type))
    return pa.concat_tables([table, table.slice(0, 70)])


def _labeled_lists() -> pa.Table:
    rows = [json.loads(line) for line in (REAL / "wikiqa" / "wikiqa_test_labeled_list.jsonl").read_text().splitlines()]
    return pa.Table.from_pylist(rows)


def _n_tuples() -> pa.Table:
    """WikiQA questions with a positive and three negatives, as (query, positive, negative_1..3)."""
    out = []
    for row in _labeled_lists().to_pylist():
        positives = [d for d, label in zip(row["docs"], row["label"]) if label == 1]
        negatives = [d for d, label in zip(row["docs"], row["label"]) if label == 0]
        if positives and len(negatives) >= 3:
            out.append({"query": row["query"], "positive": positives[0],
                        **{f"negative_{i + 1}": negatives[i] for i in range(3)}})
    return pa.Table.from_pylist(out)


def _pair_classes() -> pa.Table:
    return pq.read_table(REAL / "snli" / "snli_pair_class.parquet")


def _triplets() -> pa.Table:
    import pyarrow.csv as pcsv

    return pcsv.read_csv(REAL / "snli" / "snli_triplets.csv")


class WordOverlapModel:
    """A stand-in CrossEncoder teacher: score = shared words (deterministic, instant)."""

    def predict(self, pairs, batch_size=32, show_progress_bar=None):
        import numpy as np

        return np.array([len(set(a.lower().split()) & set(b.lower().split())) for a, b in pairs], dtype=np.float32)


CASES = {
    "explode": (_labeled_lists, "labeled-pair", {}),
    "split-negatives": (_n_tuples, "triplet", {}),
    "class-to-binary": (_pair_classes, "labeled-pair", {"positive_class": "0"}),
    "teacher": (_triplets, "triplet-margin", {"teacher": WordOverlapModel()}),
    "fix": (_labeled_lists, None, {}),  # --fix: lists with nothing to rank are dropped, after the duplicates
}


def _source(tmp_path, make) -> str:
    path = tmp_path / "in.parquet"
    pq.write_table(_with_traps(make()), path, row_group_size=50)
    return str(path)


def _convert(source, target, out, loss_table, options, monkeypatch, *, stream: bool, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(streaming, "DEFAULT_BATCH_ROWS", BATCH)
        if not stream:
            patch.setattr(convert_command, "_streamer", lambda *a, **k: (None, "forced by the test"))
        return convert_command.convert_dataset(source, target, out, loss_table, options, **kwargs)


def _account(report) -> tuple:
    return (report.rows_in, report.rows_out, report.dropped, report.fixes, report.class_mapping, report.steps,
            report.source_format, report.target_format, report.verdict)


@pytest.mark.parametrize("method", list(CASES))
@pytest.mark.parametrize("suffix", [".parquet", ""])
def test_streamed_output_equals_the_in_memory_output(method, suffix, tmp_path, loss_table, monkeypatch):
    make, target, knobs = CASES[method]
    source = _source(tmp_path, make)
    options = ConvertOptions(**knobs)
    fix = dict(fix_only=target is None)
    streamed = _convert(source, target, tmp_path / f"streamed{suffix}", loss_table, options, monkeypatch, stream=True, **fix)
    whole = _convert(source, target, tmp_path / f"whole{suffix}", loss_table, options, monkeypatch, stream=False, **fix)
    assert streamed.extra == {"streamed": True, "stream_blocker": None}
    assert whole.extra == {"streamed": False, "stream_blocker": "forced by the test"}
    assert method in streamed.steps and streamed.stats["stream_batches"] > 3
    assert _account(streamed) == _account(whole)
    assert [n for n in streamed.notes if not n.startswith("streamed: ")] == [n for n in whole.notes if "not streamed" not in n]
    assert any("duplicate" in reason for reason in streamed.dropped)  # the repeated rows sit in later batches
    if suffix:
        a, b = pq.read_table(streamed.output), pq.read_table(whole.output)
    else:
        from datasets import load_from_disk

        a, b = load_from_disk(streamed.output).data.table, load_from_disk(whole.output).data.table
        assert json.loads(load_from_disk(streamed.output).info.description)["lossadvisor"]["format"] == streamed.target_format
    assert a.num_rows == streamed.rows_out and a.replace_schema_metadata(None).equals(b.replace_schema_metadata(None))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.parquet", f"streamed{suffix}", f"whole{suffix}"])


def test_a_chain_of_row_local_steps_streams_with_a_known_score_range(tmp_path, loss_table, monkeypatch):
    """A score column in [0, 5]: rescaling by the column's own range needs every row, --score-range does not."""
    table = pq.read_table(REAL / "sick" / "sick_relatedness.parquet")
    table = table.set_column(2, "label", pa.compute.multiply(table.column("label"), 5.0))
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=500)
    blocked = _convert(str(source), None, tmp_path / "a.parquet", loss_table, ConvertOptions(), monkeypatch, stream=True,
                       fix_only=True)
    assert blocked.extra["streamed"] is False and "--score-range" in blocked.extra["stream_blocker"]
    assert any(note.startswith("read whole, not streamed: the fix 'rescale scores'") for note in blocked.notes)
    args = dict(fix_only=True, score_range=(0.0, 4.0))  # scores above 4 in every batch are clipped and counted once
    streamed = _convert(str(source), None, tmp_path / "b.parquet", loss_table, ConvertOptions(), monkeypatch, stream=True, **args)
    whole = _convert(str(source), None, tmp_path / "c.parquet", loss_table, ConvertOptions(), monkeypatch, stream=False, **args)
    assert streamed.extra["streamed"] is True and _account(streamed) == _account(whole)
    assert any(fix.startswith("clipped ") for fix in streamed.fixes) and streamed.stats["stream_batches"] > 3
    assert pq.read_table(streamed.output).equals(pq.read_table(whole.output))


@pytest.mark.parametrize(
    ("make", "target", "blocker"),
    [
        (lambda: pq.read_table(REAL / "sick" / "sick_relatedness.parquet").select(["sentence1", "sentence2"]), "triplet",
         "mine needs a global view: the corpus is every positive"),
        (_labeled_lists, "labeled-pair", "only parquet input streams (this is json"),
    ],
    ids=["mine", "json-input"],
)
def test_what_needs_a_global_view_is_read_whole_and_says_why(make, target, blocker, tmp_path, loss_table, monkeypatch):
    if blocker.startswith("only parquet"):
        source = tmp_path / "in.jsonl"
        source.write_text("".join(json.dumps(row) + "\n" for row in make().to_pylist()))
    else:
        source = tmp_path / "in.parquet"
        pq.write_table(make().slice(0, 300), source, row_group_size=50)
    report = _convert(str(source), target, tmp_path / "out.parquet", loss_table, ConvertOptions(), monkeypatch, stream=True)
    assert report.extra["streamed"] is False and report.extra["stream_blocker"].startswith(blocker)
    assert f"read whole, not streamed: {report.extra['stream_blocker']}" in report.notes


def test_grouping_fix_and_csv_output_are_read_whole(tmp_path, loss_table, monkeypatch):
    """Long-format judgments (one doc per row) are grouped by query: every row of a query is needed."""
    rows = [{"query": row["query"], "doc": doc, "label": label}
            for row in _labeled_lists().to_pylist()[:60] for doc, label in zip(row["docs"], row["label"])]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), source, row_group_size=100)
    report = _convert(str(source), "labeled-list", tmp_path / "out.parquet", loss_table, ConvertOptions(), monkeypatch,
                      stream=True)
    assert report.extra["streamed"] is False
    assert "group" in report.extra["stream_blocker"] and "global view" in report.extra["stream_blocker"]
    flat = tmp_path / "flat.parquet"
    pq.write_table(_with_traps(_labeled_lists()), flat, row_group_size=50)
    report = _convert(str(flat), "labeled-pair", tmp_path / "out.tsv", loss_table, ConvertOptions(), monkeypatch, stream=True)
    assert report.extra == {"streamed": False, "stream_blocker": report.extra["stream_blocker"]}
    assert ".tsv output is written whole" in report.extra["stream_blocker"]


def test_cli_json_says_it_streamed(tmp_path):
    from typer.testing import CliRunner

    from lossadvisor.cli.app import app

    source = _source(tmp_path, _labeled_lists)
    result = CliRunner().invoke(app, ["convert", source, "--to", "labeled-pair", "-o", str(tmp_path / "o.parquet"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["extra"] == {"streamed": True, "stream_blocker": None}
    assert any(note.startswith("streamed: 1 batch(es)") for note in report["notes"])


@pytest.mark.parametrize("suffix", [".parquet", ""])
def test_ctrl_c_while_streaming_leaves_the_old_output_and_nothing_else(suffix, tmp_path, loss_table, monkeypatch):
    from lossadvisor.convert import plan

    source = _source(tmp_path, _labeled_lists)
    out = tmp_path / f"out{suffix}"
    first = _convert(source, "labeled-pair", out, loss_table, ConvertOptions(), monkeypatch, stream=True)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    real = plan.METHODS["explode"]
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setitem(plan.METHODS, "explode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _convert(source, "labeled-pair", out, loss_table, ConvertOptions(), monkeypatch, stream=True, overwrite=True)
    assert len(calls) == 3 and sorted(p.name for p in tmp_path.rglob("*")) == before
    assert first.rows_out == (pq.read_table(out) if suffix else __import__("datasets").load_from_disk(str(out))).num_rows


@pytest.mark.parametrize("max_run", [1 << 23, 100])
def test_seen_rows_drop_exact_duplicates_across_batches(max_run, monkeypatch):
    monkeypatch.setattr(streaming.SeenRows, "MAX_RUN", max_run)
    rows = SeenRowsCase()
    assert rows.kept == rows.expected
    assert len(rows.runs) > 4 if max_run == 100 else len(rows.runs) < 5


class SeenRowsCase:
    """Random texts with many repeats, fed in uneven batches: what SeenRows keeps is the first of each key."""

    def __init__(self) -> None:
        import random

        rng = random.Random(3)
        texts = [f"text {rng.randrange(400)}" for _ in range(3000)]
        labels = [rng.randrange(2) for _ in texts]
        seen = streaming.SeenRows()
        kept, start = [], 0
        while start < len(texts):
            size = rng.randrange(1, 300)
            batch = pa.table({"a": texts[start:start + size], "label": labels[start:start + size]})
            kept += seen.drop(batch).table.to_pylist()
            start += size
        self.kept, self.runs = kept, seen.runs
        first = {}
        for text, label in zip(texts, labels):
            first.setdefault((text, label), {"a": text, "label": label})
        self.expected = list(first.values())


def test_counts_in_notes_are_summed_over_batches():
    lines = ["class ids: {'a': 0}", "3 blank documents were left out"]
    streaming._merge_lines(lines, ["class ids: {'a': 0}", "4 blank documents were left out", "scaled 'label'"])
    assert lines == ["class ids: {'a': 0}", "7 blank documents were left out", "scaled 'label'"]
