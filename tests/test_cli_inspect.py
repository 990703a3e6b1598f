"""The CLI through typer's CliRunner: inspect (rich and --json), table, explain, --version, errors and exit codes."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from real_data import REAL, needs_real
from typer.testing import CliRunner

from lossadvisor import __version__
from lossadvisor.cli import app


def run(*args: str, **kwargs):
    return CliRunner().invoke(app, list(args), **kwargs)


def error_lines(result) -> list[str]:
    """stderr as lines: one `Error:` line, at most one `Hint:` line, no traceback."""
    lines = result.stderr.splitlines()
    assert lines, f"nothing on stderr (exit {result.exit_code}): {result.stdout[:500]}"
    assert lines[0].startswith("Error: ")
    assert len(lines) <= 2 and all(line.startswith(("Error: ", "Hint: ")) for line in lines), lines
    assert "Traceback" not in result.output
    return lines


@pytest.fixture()
def pairs_file(tmp_path) -> Path:
    path = tmp_path / "pairs.parquet"
    n = 30
    pq.write_table(pa.table({
        "id": list(range(100, 100 + n)),
        "question": [f"what is the capital of country number {i}?" for i in range(n)],
        "answer": [f"the capital of country number {i} is a large old city" for i in range(n)],
        "label": [i % 2 for i in range(n)],
    }), path)
    return path


# --- inspect ---------------------------------------------------------------------------------------------


def test_inspect_rich_view(pairs_file):
    result = run("inspect", str(pairs_file))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert str(pairs_file.name) in out
    assert "format:" in out and "labeled-pair" in out
    assert "BinaryCrossEntropyLoss" in out
    assert "[extra-columns]" in out
    assert "load it with:" in out
    assert result.stderr == ""


def test_inspect_json(pairs_file):
    result = run("inspect", str(pairs_file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert report["format"] == "labeled-pair"
    assert report["num_labels"] == 1
    assert {"name": "question", "dtype": "string", "role": "input"}.items() <= report["columns"][1].items()
    assert [c["role"] for c in report["columns"]] == ["ignored", "input", "input", "label"]
    assert all({"name", "dtype", "role"} <= set(c) for c in report["columns"])
    assert report["recommendations"][0]["loss"] == "BinaryCrossEntropyLoss"
    assert all({"to", "command", "unlocks"} <= set(c) for c in report["conversions"])
    # No triplet and no labeled-list offer: every question appears once, so no anchor has a positive and a negative to
    # pair, and every grouped list would hold one label (nothing to rank, dropped): neither would leave a row.
    assert {c["to"] for c in report["conversions"]} == set()
    assert all(isinstance(c["unlocks"], list) for c in report["conversions"])
    assert all({"code", "message", "fix"} <= set(w) for w in report["warnings"])
    assert "extra-columns" in [w["code"] for w in report["warnings"]]


def test_rich_view_and_json_agree(pairs_file):
    rich_out = run("inspect", str(pairs_file)).stdout
    report = json.loads(run("inspect", str(pairs_file), "--json").stdout)
    for warning in report["warnings"]:
        assert f"[{warning['code']}]" in rich_out
    for recommendation in report["recommendations"]:
        assert recommendation["loss"] in rich_out


@needs_real
@pytest.mark.parametrize("path, fmt", [
    ("sick/SICK.txt", "pair-class"),
    ("sick/sick_nli_hf", "pair-class"),
    ("wikiqa/WikiQA-test.tsv", "labeled-pair"),
    ("cranfield/cranfield_labeled_list_hf", "labeled-list"),
])
def test_inspect_real_data(path, fmt):
    result = run("inspect", str(REAL / path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == fmt


@needs_real
def test_inspect_split_option():
    result = run("inspect", str(REAL / "sick/sick_nli_hf"), "--split", "test", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == "test" and report["num_rows"] == 2006


# --- table and explain ------------------------------------------------------------------------------------


def test_table():
    result = run("table", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in ("pair-class", "labeled-list", "n-tuple-scores", "CrossEntropyLoss", "MarginMSELoss"):
        assert name in result.stdout


def test_table_format_filter():
    result = run("table", "--format", "labeled_lists", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {row["format"] for row in data["rows"]} == {"labeled-list"}
    assert data["rows"][0]["losses"][0] == "LambdaLoss"
    rich = run("table", "--format", "pair-score")
    assert rich.exit_code == 0
    assert "pair-score" in rich.stdout and "labeled-list" not in rich.stdout


def test_table_unknown_format():
    result = run("table", "--format", "tripplet")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines[0].startswith("Error: unknown format 'tripplet'")
    assert lines[1] == "Hint: Did you mean 'triplet'?"


def test_explain():
    result = run("explain", "LambdaLoss")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("LambdaLoss")
    assert "labeled-list" in result.stdout
    assert "activation_fn=torch.nn.Identity()" in result.stdout


def test_explain_json_forgives_case():
    result = run("explain", "listnet", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["loss"] == "ListNetLoss"
    assert info["import_path"] == "sentence_transformers.cross_encoder.losses.ListNetLoss"
    # issue 11: the published list shapes expand into labeled-list too
    assert {c["from"] for c in info["convertible_from"]} == {"pair", "labeled-pair", "list-negatives", "pos-neg-lists",
                                                             "pos-neg-lists-scores"}


def test_explain_typo():
    result = run("explain", "ListNt")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines[0] == "Error: unknown loss 'ListNt'"
    assert lines[1] == "Hint: Did you mean 'ListNetLoss'?"
    assert result.stdout == ""


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lossadvisor {__version__}"


def test_help():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("inspect", "table", "explain"):
        assert command in result.stdout


# --- errors: exit 2 and one Error line ---------------------------------------------------------------------


def test_missing_path(tmp_path):
    result = run("inspect", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert error_lines(result)[0] == f"Error: {tmp_path / 'nope.csv'}: no such file or folder"


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    result = run("inspect", str(tmp_path / "empty.csv"))
    assert result.exit_code == 2
    assert error_lines(result)[0] == f"Error: {tmp_path / 'empty.csv'}: empty file"


def test_header_only_csv(tmp_path):
    (tmp_path / "header.csv").write_text("question,answer,label\n")
    result = run("inspect", str(tmp_path / "header.csv"))
    assert result.exit_code == 2
    assert error_lines(result)[0] == f"Error: {tmp_path / 'header.csv'}: the dataset is empty (no rows)"


def test_random_bytes_named_parquet(tmp_path):
    (tmp_path / "random.parquet").write_bytes(bytes(range(256)) * 16)
    result = run("inspect", str(tmp_path / "random.parquet"))
    assert result.exit_code == 2
    assert error_lines(result)[0].startswith(f"Error: {tmp_path / 'random.parquet'}: not a readable parquet file")


def test_malformed_jsonl(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"question": "a b c", "answer": "d e f"}\n{"question": \n')
    result = run("inspect", str(tmp_path / "bad.jsonl"))
    assert result.exit_code == 2
    assert error_lines(result)[0] == f"Error: {tmp_path / 'bad.jsonl'}: line 2 is not valid JSON (1 bad lines)"


def test_null_item_in_a_list_column_reads_intact(tmp_path):
    """pyarrow 26's JSON reader drops the null of ["", null]-style lists; found by the property test."""
    from lossadvisor.sources import open_sample, read_table

    rows = [{"query": f"q {i}", "docs": None, "scores": None} for i in range(3)]
    rows += [{"query": "q 3", "docs": [None, ""], "scores": [1.0, 0.0]}, {"query": "q 4", "docs": ["0"], "scores": [1.0]}]
    path = tmp_path / "lists.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sample = open_sample(str(path))
    assert sample.table.column("docs").to_pylist() == [None, None, None, [None, ""], ["0"]]
    assert read_table(sample).column("docs").to_pylist() == [None, None, None, [None, ""], ["0"]]
    result = run("inspect", str(path), "--json")
    # "q 0".."q 4" are ids rather than text at this size, so this is the clean refusal, not an internal error
    assert result.exit_code == 2, result.output
    assert "no text columns found" in result.output and "internal error" not in result.output


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".arrow"])
def test_unreadable_file(tmp_path, suffix):
    path = tmp_path / f"unreadable{suffix}"
    if Path("/proc/self/mem").exists():
        path.symlink_to("/proc/self/mem")  # a regular file whose first read fails (EIO), even for root
    else:
        path.write_text("question,answer\nwhat is it?,a thing that is\n")
        path.chmod(0)
    result = run("inspect", str(path))
    assert result.exit_code == 2
    assert error_lines(result)[0].startswith(f"Error: {path}: ")


def test_not_a_regular_file(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    result = run("inspect", str(tmp_path / "pipe.csv"))
    assert result.exit_code == 2
    assert error_lines(result)[0] == f"Error: {tmp_path / 'pipe.csv'}: not a regular file or folder"


@needs_real
def test_unknown_split():
    result = run("inspect", str(REAL / "sick/sick_nli_hf"), "--split", "dev")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines[0] == f"Error: {REAL / 'sick/sick_nli_hf'} has no split 'dev'"
    assert lines[1] == "Hint: Known splits: train, test. Use --split."


def test_unknown_split_of_a_local_file(pairs_file):
    result = run("inspect", str(pairs_file), "--split", "validation")
    assert result.exit_code == 2
    assert "one split, 'train'" in error_lines(result)[0]


def test_no_text_columns(tmp_path):
    (tmp_path / "numbers.csv").write_text("x,y,label\n1,2,0\n3,4,1\n")
    result = run("inspect", str(tmp_path / "numbers.csv"))
    assert result.exit_code == 2
    assert error_lines(result)[0] == f"Error: {tmp_path / 'numbers.csv'}: no text columns found (columns: x, y, label)"


def test_hub_id_offline_fails_without_trying_the_network(monkeypatch):
    """Offline, a hub id fails at once because nothing is tried: no connection, no `datasets` (its import alone takes
    ~0.8 s). How long it takes is measured by benchmarks/bench_inspect.py (d), not asserted here."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("the network is cut in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` raises ImportError: the message would change
    result = run("inspect", "some-org/some-dataset")
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines[0] == ("Error: 'some-org/some-dataset' is not a local path and the Hugging Face Hub is offline "
                        "(HF_HUB_OFFLINE is set)")
    assert attempts == []


def test_hub_id_without_network_probes_once(monkeypatch):
    """No HF_HUB_OFFLINE and no network: one probe with a short timeout, then the error; the hub client (which retries
    for about a minute) is never called."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    attempts = []

    def refuse(address, timeout=None, *args, **kwargs):
        attempts.append((address, timeout))
        raise OSError("the network is cut in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setitem(sys.modules, "datasets", None)
    result = run("inspect", "some-org/some-dataset")
    assert result.exit_code == 2
    assert error_lines(result)[0] == ("Error: 'some-org/some-dataset' is not a local path, and the Hugging Face Hub "
                                      "cannot be reached (offline?)")
    assert len(attempts) == 1 and attempts[0][1] is not None and attempts[0][1] <= 5


def test_inspect_reads_the_footer_and_one_sample_whatever_the_rows(tmp_path, monkeypatch):
    """The work does not grow with the file: rows come from the footer, the profile from one bounded sample. Counted
    (rows decoded, batches read), not timed: benchmarks/bench_inspect.py (c) times it against load_dataset."""
    from lossadvisor.sources import SAMPLE_ROWS, local

    decoded = []
    real_decode = local._decode
    monkeypatch.setattr(local, "_decode", lambda batch, schema: decoded.append(batch.num_rows) or real_decode(batch, schema))
    reports = {}
    for rows in (SAMPLE_ROWS * 3, SAMPLE_ROWS * 30):
        path = tmp_path / f"pairs-{rows}.parquet"
        pq.write_table(pa.table({
            "question": [f"what is question {i // 4} about?" for i in range(rows)],
            "answer": [f"answer {i} with a few words" for i in range(rows)],
            "label": [int(i % 4 == 0) for i in range(rows)],
        }), path, row_group_size=SAMPLE_ROWS // 2)  # many row groups: the sample must not walk them all
        decoded.clear()
        result = run("inspect", str(path), "--json")
        assert result.exit_code == 0, result.stderr
        reports[rows] = json.loads(result.stdout)
        assert reports[rows]["num_rows"] == rows and reports[rows]["sample_rows"] == SAMPLE_ROWS
        assert sum(decoded) == SAMPLE_ROWS and len(decoded) <= 2, decoded
    small, large = (reports[n] for n in sorted(reports))
    assert small["format"] == large["format"] == "labeled-pair"


def test_subset_on_a_local_file(pairs_file):
    result = run("inspect", str(pairs_file), "--subset", "x")
    assert result.exit_code == 2
    assert error_lines(result)[0] == "Error: --subset applies to hub datasets only"


def test_unknown_option_is_a_usage_error(pairs_file):
    result = run("inspect", str(pairs_file), "--frobnicate")
    assert result.exit_code == 2


# --- internal errors: exit 1, one line, traceback only with --debug ---------------------------------------


@pytest.fixture()
def broken_inspect(monkeypatch):
    import lossadvisor.advice

    def boom(*args, **kwargs):
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr(lossadvisor.advice, "inspect_dataset", boom)


def test_internal_error_is_one_line(broken_inspect, pairs_file):
    result = run("inspect", str(pairs_file))
    assert result.exit_code == 1
    lines = error_lines(result)
    assert lines[0] == "Error: internal error: RuntimeError: something inside broke"
    assert lines[1] == "Hint: Run again with --debug for the traceback."


def test_internal_error_with_debug_shows_the_traceback(broken_inspect, pairs_file):
    result = run("--debug", "inspect", str(pairs_file))
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "RuntimeError: something inside broke" in result.stderr
    assert result.stderr.rstrip().splitlines()[-2].startswith("Error: internal error")
