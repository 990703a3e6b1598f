"""Issue 15, data inputs: small files that claim or decode to a lot, walks that never end, values read wrong silently.

Each test pins one item of the issue (5, 6, 7, 8, 9, 11, 12, 13, 14, 16) and failed on the code before the fix;
tests/test_hostile.py runs every command over the same inputs (tests/hostile_inputs.py, the issue-15 block).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import hostile_inputs as h  # noqa: E402

from lossadvisor.cli import app  # noqa: E402
from lossadvisor.errors import LossAdvisorError  # noqa: E402

LONGEST_LINE = 1200  # an error line quoting data stays readable (errors.MAX_MESSAGE_CHARS, with its prefix)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def one_line_error(result, *parts: str) -> str:
    """Exit 2, one Error line (and at most a Hint), which names every part."""
    assert result.exit_code == 2, (result.exit_code, result.stdout[-2000:], result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Error: ") and len(lines) <= 2, lines
    assert all(len(line) < LONGEST_LINE for line in lines)
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def peak_rss_mib(args: list[str], cwd: Path) -> tuple[int, float, str]:
    """(exit code, peak resident MiB, stderr) of a real `lossadvisor` process."""
    code = ("import atexit, runpy, sys\n"
            # VmHWM, not ru_maxrss: the latter keeps the high-water mark of the forking (pytest) process across exec
            "atexit.register(lambda: sys.stderr.write('\\nPEAK_KIB %s\\n' % [line.split()[1] for line in open('/proc/self/status')"
            " if line.startswith('VmHWM')][0]))\n"
            f"sys.argv = ['lossadvisor', *{args!r}]\n"
            "runpy.run_module('lossadvisor', run_name='__main__')\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    peak = int(process.stderr.rsplit("PEAK_KIB", 1)[1].split()[0])
    return process.returncode, peak / 1024, process.stderr


# --------------------------------------------------------------------------------------------- 5, 6: parquet


def test_a_footer_claiming_more_rows_than_its_pages_hold_is_refused(tmp_path):
    path = tmp_path / "lies.parquet"
    h.write_lying_parquet(path)
    assert pq.ParquetFile(path).metadata.num_rows == 2**40  # the claim the file makes
    for args in (["inspect", str(path)], ["convert", str(path), "--fix", "-o", str(tmp_path / "out.parquet")]):
        one_line_error(cli(*args), "claims 1,099,511,627,776 rows", "hold 1,234")
    assert not (tmp_path / "out.parquet").exists()


def test_a_true_footer_of_a_large_compressible_file_is_kept(tmp_path):
    """The check reads the pages only when the claim is implausible, and accepts what they really hold."""
    import pyarrow as pa

    path = tmp_path / "constant.parquet"
    rows = 400_000  # one repeated pair: far more rows than bytes
    pq.write_table(pa.table({"question": pa.array(["what is the capital of france?"] * rows).dictionary_encode(),
                             "answer": pa.array(["paris is the capital of france"] * rows).dictionary_encode()}), path)
    assert rows > path.stat().st_size * 10
    from lossadvisor.sources import open_sample

    assert open_sample(str(path)).num_rows == rows


def test_a_dictionary_bomb_is_sampled_within_bounded_memory(tmp_path):
    path = tmp_path / "bomb.parquet"
    h.write_dictionary_bomb(path)  # 1,500 rows of one 1 MiB value: ~20 kB on disk, 1.5 GB decoded
    assert path.stat().st_size < 64_000
    code, peak, stderr = peak_rss_mib(["inspect", str(path)], tmp_path)
    assert code in (0, 2) and "Traceback" not in stderr, stderr[-2000:]
    assert peak < 700, f"inspect peaked at {peak:.0f} MiB on a {path.stat().st_size:,}-byte file"


def test_a_dictionary_bomb_is_refused_by_a_full_read(tmp_path):
    path = tmp_path / "bomb.parquet"
    h.write_dictionary_bomb(path)
    from lossadvisor.sources import local

    with pytest.raises(LossAdvisorError, match="decodes to more than"):
        local.FULL_READ_MIN_BYTES, saved = 64 * 2**20, local.FULL_READ_MIN_BYTES
        try:
            from lossadvisor.sources import open_sample, read_table

            read_table(open_sample(str(path)))
        finally:
            local.FULL_READ_MIN_BYTES = saved


# --------------------------------------------------------------------------------------------- 7: bounded arguments


def test_num_negatives_is_bounded_by_the_corpus_and_a_ceiling(tmp_path):
    from lossadvisor.convert.options import ConvertOptions
    from lossadvisor.errors import FitError

    with pytest.raises(FitError, match="at most 1,000"):
        ConvertOptions(num_negatives=1_000_000)
    pairs = tmp_path / "pairs.csv"
    h._write_csv(pairs, ["question", "answer"], [[r["question"], r["answer"]] for r in h._pairs(30)])
    result = cli("convert", str(pairs), "--to", "triplet", "--num-negatives", "500", "-o", str(tmp_path / "t.parquet"))
    one_line_error(result, "cannot mine 500 negatives", "holds 30 documents")
    result = cli("convert", str(pairs), "--to", "triplet", "--num-negatives", "1000000", "-o", str(tmp_path / "t.parquet"))
    one_line_error(result, "at most 1,000")


def test_mining_ranks_are_bounded_by_the_corpus(tmp_path):
    pairs = tmp_path / "pairs.csv"
    h._write_csv(pairs, ["question", "answer"], [[r["question"], r["answer"]] for r in h._pairs(40)])
    out = tmp_path / "t.parquet"
    with h.time_limit(60):
        result = cli("convert", str(pairs), "--to", "triplet", "--range-max", "1000000000", "-o", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_out"] >= 1


def test_trial_max_length_is_bounded(tmp_path):
    from lossadvisor.trial.options import MAX_LENGTH, TrialOptions

    with pytest.raises(LossAdvisorError, match="max-length"):
        TrialOptions(max_length=10**9)
    assert TrialOptions(max_length=MAX_LENGTH).max_length == MAX_LENGTH
    data = tmp_path / "pairs.csv"
    h._write_csv(data, ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in h._pairs(20)])
    with h.time_limit(60):
        result = cli("trial", str(data), "--loss", "BinaryCrossEntropyLoss", "--steps", "1", "--max-length", "1000000000")
    one_line_error(result, "--max-length 1,000,000,000")


# --------------------------------------------------------------------------------------------- 8, 16: names and walks


def test_a_glob_over_a_link_loop_returns(tmp_path):
    spec = h.symlink_loop_glob(tmp_path)
    from lossadvisor.sources.spec import resolve_files

    with h.time_limit(20):
        kind, files = resolve_files(spec)
    assert kind == "csv" and [Path(f).name for f in files] == ["pairs.csv"]
    with h.time_limit(30):
        assert cli("inspect", spec).exit_code == 0


def test_a_folder_holding_a_link_to_itself_is_read_once(tmp_path):
    spec = h.symlink_loop_folder(tmp_path)
    from lossadvisor.sources.spec import resolve_files

    with h.time_limit(20):
        kind, files = resolve_files(spec)
    assert [Path(f).name for f in files] == ["pairs.jsonl"]


def test_corpus_fifo_is_refused_not_called_missing(tmp_path):
    from lossadvisor.cli.convert import read_corpus

    fifo = tmp_path / "corpus.txt"
    os.mkfifo(fifo)
    with h.time_limit(10), pytest.raises(LossAdvisorError, match="not a regular file"):
        read_corpus(fifo)
    with pytest.raises(LossAdvisorError, match="no such file"):
        read_corpus(tmp_path / "absent.txt")


def test_a_file_named_with_glob_characters_is_taken_literally(tmp_path):
    spec = h.bracket_name_csv(tmp_path)
    (tmp_path / "data1.csv").write_text("question,answer\nnot,this\n")  # what the glob [1] would match
    result = cli("inspect", spec, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["num_rows"] == 30


def test_pretty_printed_json_beyond_the_window_is_read(tmp_path):
    spec = h.pretty_json_large(tmp_path)
    assert Path(spec).stat().st_size > 4 * 2**20
    result = cli("inspect", spec, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "labeled-pair" and report["sample_rows"] == 2000
    result = cli("convert", spec, "--fix", "-o", str(tmp_path / "out.parquet"), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_in"] == 30_000


def test_a_pretty_printed_object_beyond_the_window_is_read(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"version": 1, "data": h._pairs(30_000)}, indent=2))
    result = cli("inspect", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["num_rows"] == 30_000


# --------------------------------------------------------------------------------------------- 9: late decode errors


def test_a_bad_byte_after_the_sampled_window_is_named_by_its_line(tmp_path):
    path = tmp_path / "late.csv"
    h.write_late_decode_error(path)
    assert cli("inspect", str(path)).exit_code == 0  # the sample is clean
    out = tmp_path / "fixed.parquet"
    one_line_error(cli("convert", str(path), "--fix", "-o", str(out)), "not UTF-8 text at line 60,002")
    assert not out.exists()


# --------------------------------------------------------------------------------------------- 11: infinite labels


def test_infinite_labels_are_their_own_warning_and_only_their_rows_are_dropped(tmp_path):
    spec = h.inf_labels(tmp_path)
    report = json.loads(cli("inspect", spec, "--json").stdout)
    codes = {w["code"]: w for w in report["warnings"]}
    assert "infinite-labels" in codes and codes["infinite-labels"]["message"].startswith("24 label(s)")
    assert "inf" not in json.dumps([w["fix"] for w in report["warnings"] if w["code"] != "infinite-labels"])
    result = cli("convert", spec, "--fix", "-o", str(tmp_path / "out.parquet"), "--json")
    assert result.exit_code == 0, result.stderr
    written = json.loads(result.stdout)
    assert written["rows_out"] == 16
    labels = pq.read_table(tmp_path / "out.parquet").column("label").to_pylist()
    assert len(labels) == 16 and all(0 <= v <= 1 for v in labels)


# --------------------------------------------------------------------------------------------- 12: decimal commas


def test_decimal_commas_are_read_as_numbers_and_said(tmp_path):
    spec = h.decimal_comma_csv(tmp_path)
    report = json.loads(cli("inspect", spec, "--json").stdout)
    assert report["num_labels"] == 1 and report["format"] == "pair-score"
    assert any(w["code"] == "decimal-comma" for w in report["warnings"])
    assert 'decimal=","' in report["load_code"]
    result = cli("convert", spec, "--fix", "-o", str(tmp_path / "out.parquet"), "--json")
    assert result.exit_code == 0, result.stderr
    labels = pq.read_table(tmp_path / "out.parquet").column("label")
    assert str(labels.type) == "double" and 0.5 in labels.to_pylist()


def test_thousands_separators_are_not_decimal_commas():
    from lossadvisor.sources.text import _decimal_comma_columns

    assert _decimal_comma_columns([["1,000"], ["12,500"], ["3"]], 1) == []
    assert _decimal_comma_columns([["0,5"], ["1"], ["-2,25"]], 1) == [0]
    assert _decimal_comma_columns([["0,5"], ["abc"]], 1) == []


# --------------------------------------------------------------------------------------------- 13: num_labels


def test_out_of_range_class_ids_are_warned_and_refused_everywhere(tmp_path):
    spec = h.sparse_class_ids(tmp_path)
    report = json.loads(cli("inspect", spec, "--json").stdout)
    warning = next(w for w in report["warnings"] if w["code"] == "class-ids")
    assert warning["severity"] == "warning" and "5,000,001" in warning["message"] and "class_encode_column" in warning["fix"]
    from lossadvisor.recipe import num_labels_from_ids

    with pytest.raises(ValueError, match="0 to N-1"):  # the scaffolded script's rule refuses them too
        num_labels_from_ids([0, 1, 2, 5_000_000])
    assert num_labels_from_ids([0, 1, 7]) == 8


def test_sparse_class_ids_are_warned(tmp_path):
    path = tmp_path / "ids.csv"
    h._write_csv(path, ["question", "answer", "label"], [[r["question"], r["answer"], [0, 1, 2, 7][i % 4]]
                                                          for i, r in enumerate(h._pairs(40))])
    report = json.loads(cli("inspect", str(path), "--json").stdout)
    assert report["num_labels"] == 8
    warning = next(w for w in report["warnings"] if w["code"] == "class-ids")
    assert warning["severity"] == "warning" and "gaps" in warning["message"]


def test_a_label_beyond_the_class_names_gives_one_num_labels(tmp_path):
    spec = h.label_beyond_class_names(tmp_path)
    report = json.loads(cli("inspect", spec, "--json").stdout)
    from lossadvisor.sources import open_sample, read_table
    from lossadvisor.table import load_table
    from lossadvisor.trial.data_checks import infer_num_labels

    table = read_table(open_sample(spec))
    assert report["num_labels"] == infer_num_labels("CrossEntropyLoss", table, load_table()) == 8
    assert any(w["code"] == "class-ids" and "beyond the 3 class names" in w["message"] for w in report["warnings"])


def test_a_million_class_names_give_short_lines(tmp_path):
    spec = h.million_class_names(tmp_path)
    result = cli("inspect", spec, "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["num_labels"] == 3
    assert any(w["code"] == "class-ids" and "1,000,000" in w["message"] for w in report["warnings"])


def test_error_messages_are_bounded():
    from lossadvisor.errors import MAX_HINT_CHARS, MAX_MESSAGE_CHARS

    error = LossAdvisorError("labels: " + ", ".join(f"name-{i}" for i in range(1_000_000)), "x" * 100_000)
    assert len(error.message) <= MAX_MESSAGE_CHARS and len(error.hint) <= MAX_HINT_CHARS
    assert error.message.startswith("labels: name-0, name-1") and "more characters" in error.message
    assert len(LossAdvisorError("\x1b" * 10_000).message) <= MAX_MESSAGE_CHARS


# --------------------------------------------------------------------------------------------- 14: drifting shards


@pytest.mark.parametrize("build", [h.drifting_shards_parquet, h.drifting_shards_jsonl], ids=["parquet", "jsonl"])
def test_drifting_shards_are_one_line_naming_both_files_and_the_column(tmp_path, build):
    spec = build(tmp_path)
    first, second = sorted(os.listdir(spec))
    for args in (["inspect", spec], ["convert", spec, "--fix", "-o", str(tmp_path / "out.parquet")]):
        one_line_error(cli(*args), "'label'", first, second)


def test_compatible_shards_are_unified(tmp_path):
    spec = h.compatible_shards_parquet(tmp_path)
    assert cli("inspect", spec).exit_code == 0
    result = cli("convert", spec, "--fix", "-o", str(tmp_path / "out.parquet"), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_in"] == 5000


def test_a_hint_with_long_paths_is_kept_whole(tmp_path):
    """A hint's command names the user's files; in a deep folder it must still come whole (it is pasted)."""
    from lossadvisor.errors import MAX_MESSAGE_CHARS

    deep = tmp_path / ("nested-folder-" * 8) / ("another-level-" * 8)
    paths = ",".join(str(deep / name) for name in ("triples.tsv", "queries.tsv", "collection.tsv"))
    hint = f"lossadvisor inspect {paths} (convert and trial take the same). Or: dataset.map(resolve_ids({{'column_1': q}}))"
    assert len(hint) > MAX_MESSAGE_CHARS
    assert LossAdvisorError("ids, not text", hint).hint == hint
