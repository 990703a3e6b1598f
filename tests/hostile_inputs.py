"""Malformed and unusual datasets, generated at test time (nothing here is a checked-in blob).

Each `Hostile` writes its data under its own folder and returns the DATASET argument the commands get. The
suite (tests/test_hostile.py) runs every command over every input. Two more classes: `TARGETS`, what may
already sit at a path a command writes (-o, --plot), and `USER_CODE`, custom loss files that misbehave.
LOSSADVISOR_HOSTILE_REPORT=1 makes a full run write the tables to docs/hostile-inputs.md.

Everything is deterministic: the same seed gives the same bytes, so the generated table does not churn.
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HUB_ID = "no-such-org/no-such-dataset"
# Anything at least this large is a "multi-megabyte" cell: above sources.TEXT_WINDOW_BYTES (4 MiB).
HUGE_CELL_BYTES = 5 * 1024 * 1024


class Hang(BaseException):
    """Raised by the alarm: a BaseException, so that no `except Exception` inside the command swallows it."""


@contextmanager
def time_limit(seconds: int):
    def on_alarm(signum, frame):
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Hostile:
    name: str
    what: str  # one line for the report
    build: Callable[[Path], str]  # writes under the folder it gets; returns the DATASET argument
    ok_possible: bool = True  # False: every command must fail (with one line and exit 2)


def _pairs(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    topics = ["paris", "python", "rivers", "coffee", "chess", "bread", "volcanoes", "owls", "tides", "glass"]
    rows = []
    for i in range(n):  # four answers per question, the first one relevant
        topic = topics[(i // 4) % len(topics)]
        rows.append({
            "question": f"what do people usually ask about {topic} number {i // 4}?",
            "answer": f"an answer about {topics[i % len(topics)]} that mentions detail {rng.randint(0, 10**6)} and more words",
            "label": int(i % 4 == 0),
        })
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> None:
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def _write_jsonl(path: Path, records: list[object]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _good_parquet(path: Path, n: int = 40) -> None:
    pq.write_table(pa.Table.from_pylist(_pairs(n)), path)


def _save_to_disk(folder: Path, n: int = 30) -> None:
    from datasets import Dataset

    Dataset.from_list(_pairs(n)).save_to_disk(str(folder))


# --------------------------------------------------------------------------------------------- paths


def missing_path(d: Path) -> str:
    return str(d / "does-not-exist.csv")


def empty_folder(d: Path) -> str:
    (d / "empty").mkdir()
    return str(d / "empty")


def empty_csv(d: Path) -> str:
    (d / "empty.csv").write_bytes(b"")
    return str(d / "empty.csv")


def empty_jsonl(d: Path) -> str:
    (d / "empty.jsonl").write_bytes(b"")
    return str(d / "empty.jsonl")


def blank_lines_csv(d: Path) -> str:
    (d / "blank.csv").write_text("\n\n   \n\t\n")
    return str(d / "blank.csv")


def header_only_csv(d: Path) -> str:
    (d / "header.csv").write_text("question,answer,label\n")
    return str(d / "header.csv")


def ragged_csv(d: Path) -> str:
    rows = [[r["question"], r["answer"], r["label"]] for r in _pairs(30)]
    rows[3] = rows[3][:2]
    rows[7] = rows[7] + ["extra field", "and another"]
    rows[11] = rows[11][:1]
    _write_csv(d / "ragged.csv", ["question", "answer", "label"], rows)
    return str(d / "ragged.csv")


def latin1_csv(d: Path) -> str:
    rows = [[f"où est la gare numéro {i} ?", f"à côté du café {i}, déjà fermé", i % 2] for i in range(20)]
    _write_csv(d / "latin1.csv", ["question", "réponse", "label"], rows, encoding="latin-1")
    return str(d / "latin1.csv")


def utf16_csv(d: Path) -> str:
    rows = [[r["question"], r["answer"], r["label"]] for r in _pairs(10)]
    _write_csv(d / "utf16.csv", ["question", "answer", "label"], rows, encoding="utf-16")
    return str(d / "utf16.csv")


def random_bytes_parquet(d: Path) -> str:
    (d / "random.parquet").write_bytes(random.Random(1).randbytes(50_000))
    return str(d / "random.parquet")


def random_bytes_arrow(d: Path) -> str:
    (d / "random.arrow").write_bytes(random.Random(2).randbytes(50_000))
    return str(d / "random.arrow")


def parquet_magic_only(d: Path) -> str:
    (d / "magic.parquet").write_bytes(b"PAR1" + random.Random(3).randbytes(1000) + b"PAR1")
    return str(d / "magic.parquet")


def truncated_parquet(d: Path) -> str:
    full = d / "full.parquet.tmp"
    _good_parquet(full, 500)
    data = full.read_bytes()
    full.unlink()
    (d / "truncated.parquet").write_bytes(data[: len(data) // 2])
    return str(d / "truncated.parquet")


def truncated_arrow(d: Path) -> str:
    table = pa.Table.from_pylist(_pairs(500))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=50):
            writer.write_batch(batch)
    data = sink.getvalue().to_pybytes()
    (d / "truncated.arrow").write_bytes(data[: int(len(data) * 0.6)])
    return str(d / "truncated.arrow")


def zero_row_parquet(d: Path) -> str:
    schema = pa.schema([("question", pa.string()), ("answer", pa.string()), ("label", pa.int64())])
    pq.write_table(schema.empty_table(), d / "zero.parquet")
    return str(d / "zero.parquet")


def invalid_jsonl(d: Path) -> str:
    lines = [json.dumps(r) for r in _pairs(12)]
    lines[4] = '{"question": "unterminated", "answer": '
    lines[9] = "not json at all"
    (d / "invalid.jsonl").write_text("\n".join(lines) + "\n")
    return str(d / "invalid.jsonl")


def json_scalar(d: Path) -> str:
    (d / "scalar.json").write_text("42\n")
    return str(d / "scalar.json")


def json_array_of_scalars(d: Path) -> str:
    (d / "scalars.json").write_text('[1, "two", null, 3.5, true]')
    return str(d / "scalars.json")


def deep_nesting_json(d: Path) -> str:
    depth = 5000  # beyond Python's recursion limit for json.loads
    (d / "deep.json").write_text('{"a": ' * depth + "1" + "}" * depth)
    return str(d / "deep.json")


def type_drift_jsonl(d: Path) -> str:
    records = _pairs(10)
    records[5]["label"] = "seven"
    records[6]["question"] = {"text": "a record where a string was"}
    records[7]["answer"] = [1, 2, 3]
    _write_jsonl(d / "drift.jsonl", records)
    return str(d / "drift.jsonl")


def unknown_suffix(d: Path) -> str:
    _write_csv(d / "data.xlsx", ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in _pairs(10)])
    return str(d / "data.xlsx")


def no_suffix(d: Path) -> str:
    _write_csv(d / "data", ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in _pairs(10)])
    return str(d / "data")


def mixed_suffix_folder(d: Path) -> str:
    folder = d / "mixed"
    folder.mkdir()
    _write_csv(folder / "a.csv", ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in _pairs(5)])
    _write_jsonl(folder / "b.jsonl", _pairs(5))
    return str(folder)


def glob_no_match(d: Path) -> str:
    return str(d / "nothing-*.parquet")


def fifo_csv(d: Path) -> str:
    os.mkfifo(d / "pipe.csv")  # opening it for reading would block forever without a writer
    return str(d / "pipe.csv")


def symlink_loop(d: Path) -> str:
    os.symlink(d / "loop.csv", d / "loop.csv")
    return str(d / "loop.csv")


def python_file_folder(d: Path) -> str:
    """A folder of code, not data: nothing in it may be imported or executed."""
    folder = d / "code"
    folder.mkdir()
    marker = d / "PWNED"
    (folder / "loss.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    (folder / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\n")
    return str(folder)


# --------------------------------------------------------------------------------------------- save_to_disk


def corrupt_state_json(d: Path) -> str:
    folder = d / "saved"
    _save_to_disk(folder)
    (folder / "state.json").write_text("{ this is not json")
    return str(folder)


def save_to_disk_missing_arrow(d: Path) -> str:
    folder = d / "saved"
    _save_to_disk(folder)
    for arrow in folder.glob("*.arrow"):
        arrow.unlink()
    return str(folder)


def save_to_disk_truncated_arrow(d: Path) -> str:
    folder = d / "saved"
    _save_to_disk(folder, 2000)
    for arrow in folder.glob("*.arrow"):
        data = arrow.read_bytes()
        arrow.write_bytes(data[: len(data) // 3])
    return str(folder)


def corrupt_dataset_dict(d: Path) -> str:
    folder = d / "dict"
    _save_to_disk(folder / "train")
    (folder / "dataset_dict.json").write_text('{"splits": 5}')
    return str(folder)


def escaping_split_name(d: Path) -> str:
    """dataset_dict.json names a split '../outside': reading it would leave the folder the user named."""
    _save_to_disk(d / "outside")
    folder = d / "dict"
    folder.mkdir()
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": ["../outside"]}))
    return str(folder)


def escaping_data_file(d: Path) -> str:
    """state.json points at '../elsewhere/data.arrow', outside the dataset folder."""
    _save_to_disk(d / "elsewhere")
    folder = d / "saved"
    _save_to_disk(folder, 5)
    state = json.loads((folder / "state.json").read_text())
    name = next(iter((d / "elsewhere").glob("*.arrow"))).name
    state["_data_files"] = [{"filename": f"../elsewhere/{name}"}]
    (folder / "state.json").write_text(json.dumps(state))
    return str(folder)


# --------------------------------------------------------------------------------------------- content


def only_label(d: Path) -> str:
    _write_csv(d / "label.csv", ["label"], [[i % 2] for i in range(30)])
    return str(d / "label.csv")


def only_numbers(d: Path) -> str:
    _write_csv(d / "numbers.csv", ["a", "b", "c"], [[i, i * 0.5, -i] for i in range(30)])
    return str(d / "numbers.csv")


def all_null_texts(d: Path) -> str:
    _write_jsonl(d / "nulls.jsonl", [{"question": None, "answer": None, "label": i % 2} for i in range(20)])
    return str(d / "nulls.jsonl")


def nan_labels(d: Path) -> str:
    rows = _pairs(30)
    table = pa.table({
        "question": [r["question"] for r in rows],
        "answer": [r["answer"] for r in rows],
        "score": pa.array([float("nan") if i % 3 == 0 else (float("inf") if i == 4 else i / 30) for i in range(30)]),
    })
    pq.write_table(table, d / "nan.parquet")
    return str(d / "nan.parquet")


def all_nan_labels(d: Path) -> str:
    rows = _pairs(20)
    table = pa.table({
        "question": [r["question"] for r in rows],
        "answer": [r["answer"] for r in rows],
        "label": pa.array([float("nan")] * 20),
    })
    pq.write_table(table, d / "allnan.parquet")
    return str(d / "allnan.parquet")


def nested_dicts(d: Path) -> str:
    records = [{"q": {"text": r["question"], "lang": "en"}, "a": {"text": r["answer"], "meta": {"len": 5}}, "label": r["label"]}
               for r in _pairs(20)]
    _write_jsonl(d / "nested.jsonl", records)
    return str(d / "nested.jsonl")


def mixed_type_lists(d: Path) -> str:
    records = [{"query": r["question"], "docs": [r["answer"], 3, None, {"x": 1}, [1, 2]], "label": [1, "0", None, 0.5, True]}
               for r in _pairs(12)]
    _write_jsonl(d / "mixed.jsonl", records)
    return str(d / "mixed.jsonl")


def list_length_mismatch(d: Path) -> str:
    records = []
    for i, r in enumerate(_pairs(20)):
        docs = [r["answer"], f"another passage {i} about something else", f"a third passage {i} with words"]
        labels = [1, 0, 0] if i % 2 else [1, 0]  # every other row has one label too few
        records.append({"query": r["question"], "docs": docs, "label": labels})
    _write_jsonl(d / "lists.jsonl", records)
    return str(d / "lists.jsonl")


def one_row(d: Path) -> str:
    _write_csv(d / "one.csv", ["question", "answer", "label"], [["what is the capital of france?", "paris is the capital of france", 1]])
    return str(d / "one.csv")


def huge_cell(d: Path) -> str:
    rows = [[r["question"], r["answer"], r["label"]] for r in _pairs(20)]
    rows[0][1] = ("word " * (HUGE_CELL_BYTES // 5 + 1)).strip()
    _write_csv(d / "huge.csv", ["question", "answer", "label"], rows)
    return str(d / "huge.csv")


def huge_cell_jsonl(d: Path) -> str:
    records = _pairs(20)
    records[3]["answer"] = ("text " * (HUGE_CELL_BYTES // 5 + 1)).strip()
    _write_jsonl(d / "huge.jsonl", records)
    return str(d / "huge.jsonl")


def wide_table(d: Path) -> str:
    rows = _pairs(20)
    columns = {"question": [r["question"] for r in rows], "answer": [r["answer"] for r in rows]}
    for i in range(3000):
        columns[f"feature_{i}"] = [float(i + j) for j in range(20)]
    columns["label"] = [r["label"] for r in rows]
    pq.write_table(pa.table(columns), d / "wide.parquet")
    return str(d / "wide.parquet")


def unicode_edge_cases(d: Path) -> str:
    samples = [
        "ما هي عاصمة فرنسا؟ باريس هي العاصمة",  # RTL
        "שלום עולם, מה שלומך היום?",  # RTL
        "e\u0301e\u0301 cafe\u0301 with combining acute accents a\u0308o\u0308u\u0308",  # combining marks
        "emoji 👩‍👩‍👧‍👦 family 🏳️‍🌈 flag 🇫🇷 and 🙂 smile",  # ZWJ sequences
        "zero\u200bwidth\u200cjoiners\u200dand\ufeffbom inside",  # zero-width
        "bidi \u202eoverride\u202c and \u2066isolate\u2069 marks",  # bidi controls
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 mathematical letters and 𠜎 astral cjk",
        "Z\u0351\u0352\u0353a\u0354\u0355l\u0356\u0357g\u0358\u0359o zalgo text",
    ]
    rows = [[samples[i % len(samples)], samples[(i + 3) % len(samples)] + f" {i}", i % 2] for i in range(24)]
    _write_csv(d / "unicode.csv", ["ques\u200btion 🙂", "réponse\u0301", "label"], rows)
    return str(d / "unicode.csv")


def ansi_escapes(d: Path) -> str:
    """Terminal control sequences in names and values: they must not reach the terminal raw."""
    rows = [[f"question \x1b[31mred\x1b[0m {i} \x07bell", f"answer \x1b]0;title\x07 {i} \x1b[2J", i % 2] for i in range(20)]
    _write_csv(d / "ansi.csv", ["ques\x1b[1mtion", "answer", "label"], rows)
    return str(d / "ansi.csv")


def bom_crlf_csv(d: Path) -> str:
    lines = ["question,answer,label"] + [f"{r['question']},{r['answer']},{r['label']}" for r in _pairs(20)]
    (d / "bom.csv").write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return str(d / "bom.csv")


def duplicate_columns(d: Path) -> str:
    _write_csv(d / "dup.csv", ["text", "text", "label", "label"], [[r["question"], r["answer"], r["label"], 1 - r["label"]] for r in _pairs(20)])
    return str(d / "dup.csv")


def huge_integers(d: Path) -> str:
    _write_csv(d / "bigint.csv", ["question", "answer", "label"],
               [[r["question"], r["answer"], 10**30 + i] for i, r in enumerate(_pairs(20))])
    return str(d / "bigint.csv")


def long_column_name(d: Path) -> str:
    name = "q" * 20_000
    _write_jsonl(d / "longname.jsonl", [{name: r["question"], "answer\nwith newline": r["answer"], "label": r["label"]} for r in _pairs(20)])
    return str(d / "longname.jsonl")


def dotted_column_names(d: Path) -> str:
    """Names that pyarrow's compute engine would read as paths into nested fields."""
    rows = _pairs(24)
    pq.write_table(pa.table({
        "../../question": [r["question"] for r in rows],
        "answers.text": [r["answer"] for r in rows],
        "label": [r["label"] for r in rows],
    }), d / "dotted.parquet")
    return str(d / "dotted.parquet")


def hub_id_offline(d: Path) -> str:
    return HUB_ID


# --------------------------------------------------------------------------------------------- controls


def control_labeled_pair(d: Path) -> str:
    _write_csv(d / "pairs.csv", ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in _pairs(40)])
    return str(d / "pairs.csv")


def control_labeled_list(d: Path) -> str:
    records = []
    for i, r in enumerate(_pairs(24)):
        docs = [r["answer"], f"another passage {i} about something else", f"a third passage {i} with more words"]
        records.append({"query": r["question"], "docs": docs, "label": [1, 0, 0]})
    _write_jsonl(d / "lists.jsonl", records)
    return str(d / "lists.jsonl")


INPUTS: tuple[Hostile, ...] = (
    Hostile("missing-path", "a path that does not exist", missing_path, False),
    Hostile("empty-folder", "an empty folder", empty_folder, False),
    Hostile("empty-csv", "a 0-byte .csv", empty_csv, False),
    Hostile("empty-jsonl", "a 0-byte .jsonl", empty_jsonl, False),
    Hostile("blank-lines-csv", "a .csv of blank lines and whitespace", blank_lines_csv, False),
    Hostile("header-only-csv", "a .csv with a header and no rows", header_only_csv, False),
    Hostile("ragged-csv", "a .csv whose rows have 1, 2, 3 and 5 fields", ragged_csv),
    Hostile("latin1-csv", "a Latin-1 (non-UTF-8) .csv", latin1_csv, False),
    Hostile("utf16-csv", "a UTF-16 .csv (NUL bytes)", utf16_csv, False),
    Hostile("random-bytes-parquet", "50 kB of random bytes named .parquet", random_bytes_parquet, False),
    Hostile("random-bytes-arrow", "50 kB of random bytes named .arrow", random_bytes_arrow, False),
    Hostile("parquet-magic-only", "PAR1 magic around random bytes", parquet_magic_only, False),
    Hostile("truncated-parquet", "a parquet file cut in half", truncated_parquet, False),
    Hostile("truncated-arrow", "an Arrow stream cut at 60%", truncated_arrow),
    Hostile("zero-row-parquet", "a parquet file with a schema and no rows", zero_row_parquet, False),
    Hostile("invalid-jsonl", "JSON Lines with two broken lines", invalid_jsonl, False),
    Hostile("json-scalar", "a .json holding the number 42", json_scalar, False),
    Hostile("json-array-of-scalars", "a .json array of mixed scalars", json_array_of_scalars, False),
    Hostile("deep-nesting-json", "a .json nested 5,000 levels deep", deep_nesting_json, False),
    Hostile("type-drift-jsonl", "JSON Lines whose fields change type mid-file", type_drift_jsonl),
    Hostile("unknown-suffix", "CSV text named data.xlsx", unknown_suffix, False),
    Hostile("no-suffix", "CSV text in a file with no suffix", no_suffix, False),
    Hostile("mixed-suffix-folder", "a folder with a .csv and a .jsonl", mixed_suffix_folder, False),
    Hostile("glob-no-match", "a glob that matches nothing", glob_no_match, False),
    Hostile("fifo-csv", "a named pipe called pipe.csv", fifo_csv, False),
    Hostile("symlink-loop", "a symlink that points to itself", symlink_loop, False),
    Hostile("python-file-folder", "a folder of .py files (never imported)", python_file_folder, False),
    Hostile("corrupt-state-json", "a save_to_disk folder with a garbage state.json", corrupt_state_json, False),
    Hostile("save-to-disk-missing-arrow", "a save_to_disk folder without its .arrow file", save_to_disk_missing_arrow, False),
    Hostile("save-to-disk-truncated-arrow", "a save_to_disk folder whose .arrow is cut to a third", save_to_disk_truncated_arrow),
    Hostile("corrupt-dataset-dict", "a DatasetDict folder whose dataset_dict.json says splits: 5", corrupt_dataset_dict, False),
    Hostile("escaping-split-name", "a DatasetDict whose split is '../outside'", escaping_split_name, False),
    Hostile("escaping-data-file", "a state.json pointing at '../elsewhere/…arrow'", escaping_data_file, False),
    Hostile("only-label", "a .csv with only a label column", only_label, False),
    Hostile("only-numbers", "a .csv of three numeric columns", only_numbers, False),
    Hostile("all-null-texts", "JSON Lines whose texts are all null", all_null_texts, False),
    Hostile("nan-labels", "parquet scores with NaN and inf", nan_labels),
    Hostile("all-nan-labels", "parquet labels that are all NaN", all_nan_labels),
    Hostile("nested-dicts", "JSON Lines of nested objects", nested_dicts),
    Hostile("mixed-type-lists", "lists mixing strings, numbers, nulls, objects", mixed_type_lists),
    Hostile("list-length-mismatch", "3 documents but 2 labels in half the rows", list_length_mismatch),
    Hostile("one-row", "a .csv with a single row", one_row),
    Hostile("huge-cell-csv", "a .csv with a 5 MiB cell in the first row", huge_cell),
    Hostile("huge-cell-jsonl", "JSON Lines with a 5 MiB value", huge_cell_jsonl),
    Hostile("wide-table", "parquet with 3,002 columns", wide_table),
    Hostile("unicode-edge-cases", "RTL, combining marks, ZWJ emoji, zero-width and bidi controls", unicode_edge_cases),
    Hostile("ansi-escapes", "terminal escape sequences in names and values", ansi_escapes),
    Hostile("bom-crlf-csv", "a UTF-8 BOM and CRLF line endings", bom_crlf_csv),
    Hostile("duplicate-columns", "two columns named text, two named label", duplicate_columns),
    Hostile("huge-integers", "labels beyond int64 (10^30)", huge_integers),
    Hostile("long-column-name", "a 20,000-character column name and a newline in another", long_column_name),
    Hostile("dotted-column-names", "columns named '../../question' and 'answers.text'", dotted_column_names),
    Hostile("hub-id-offline", "a hub id with HF_HUB_OFFLINE=1", hub_id_offline, False),
    Hostile("control-labeled-pair", "control: a clean labeled-pair .csv", control_labeled_pair),
    Hostile("control-labeled-list", "control: a clean labeled-list .jsonl", control_labeled_list),
)
BY_NAME = {h.name: h for h in INPUTS}


def build_all(root: Path) -> dict[str, str]:
    """Write every input under root/<name>/; return {name: DATASET argument}."""
    specs = {}
    for hostile in INPUTS:
        folder = root / hostile.name
        folder.mkdir(parents=True)
        specs[hostile.name] = hostile.build(folder)
    return specs


# --------------------------------------------------------------------------------------------- output paths


@dataclass(frozen=True)
class HostileTarget:
    """Something already at the path a command writes (-o, --plot), planted in its own folder."""

    name: str
    what: str
    plant: Callable[[Path, Path, str], Path]  # (folder, the command's input file, suffix) -> the path given to it
    replaceable: bool = False  # True: what lossadvisor itself writes, so --overwrite may replace it


def _victim(d: Path) -> Path:
    victim = d / "victim.txt"
    victim.write_text("a file of the user's that must stay as it is\n")
    return victim


def _fresh(d: Path, data: Path, suffix: str) -> Path:
    return d / f"out{suffix}"


def _fifo(d: Path, data: Path, suffix: str) -> Path:
    os.mkfifo(d / f"out{suffix}")
    return d / f"out{suffix}"


def _link_to_file(d: Path, data: Path, suffix: str) -> Path:
    os.symlink(_victim(d), d / f"out{suffix}")
    return d / f"out{suffix}"


def _link_to_folder(d: Path, data: Path, suffix: str) -> Path:
    (d / "victim").mkdir()
    (d / "victim" / "state.json").write_text("{}")
    os.symlink(d / "victim", d / f"out{suffix}")
    return d / f"out{suffix}"


def _dangling_link(d: Path, data: Path, suffix: str) -> Path:
    os.symlink(d / "planted-target", d / f"out{suffix}")
    return d / f"out{suffix}"


def _link_to_device(d: Path, data: Path, suffix: str) -> Path:
    os.symlink("/dev/null", d / f"out{suffix}")
    return d / f"out{suffix}"


def _the_input(d: Path, data: Path, suffix: str) -> Path:
    return data


def _hard_link_to_input(d: Path, data: Path, suffix: str) -> Path:
    os.link(data, d / f"out{suffix}")
    return d / f"out{suffix}"


def _link_to_input(d: Path, data: Path, suffix: str) -> Path:
    os.symlink(data, d / f"out{suffix}")
    return d / f"out{suffix}"


def _folder_of_input(d: Path, data: Path, suffix: str) -> Path:
    return data.parent


def _working_folder(d: Path, data: Path, suffix: str) -> Path:
    return Path.cwd()


def _state_json_folder(d: Path, data: Path, suffix: str) -> Path:
    folder = d / f"out{suffix}"
    folder.mkdir()
    (folder / "state.json").write_text("{}")
    (folder / "notes.txt").write_text("x\n")
    return folder


def _dataset_plus_notes(d: Path, data: Path, suffix: str) -> Path:
    folder = d / f"out{suffix}"
    _save_to_disk(folder)
    (folder / "notes.txt").write_text("x\n")
    return folder


def _plain_folder(d: Path, data: Path, suffix: str) -> Path:
    folder = d / f"out{suffix}"
    folder.mkdir()
    (folder / "keep.txt").write_text("x\n")
    return folder


def _saved_dataset(d: Path, data: Path, suffix: str) -> Path:
    folder = d / f"out{suffix}"
    _save_to_disk(folder)
    return folder


def _regular_file(d: Path, data: Path, suffix: str) -> Path:
    (d / f"out{suffix}").write_text("an earlier output\n")
    return d / f"out{suffix}"


TARGETS: tuple[HostileTarget, ...] = (
    HostileTarget("fresh-path", "control: nothing there yet", _fresh, True),
    HostileTarget("regular-file", "control: an earlier output file of the same name", _regular_file, True),
    HostileTarget("fifo", "a named pipe", _fifo),
    HostileTarget("link-to-file", "a symlink to a file of the user's", _link_to_file),
    HostileTarget("link-to-folder", "a symlink to a folder holding state.json", _link_to_folder),
    HostileTarget("dangling-link", "a symlink to a path that does not exist", _dangling_link),
    HostileTarget("link-to-device", "a symlink to /dev/null", _link_to_device),
    HostileTarget("the-input", "the command's own input file", _the_input),
    HostileTarget("hard-link-to-input", "a hard link to the input", _hard_link_to_input),
    HostileTarget("link-to-input", "a symlink to the input", _link_to_input),
    HostileTarget("folder-of-input", "the folder that holds the input", _folder_of_input),
    HostileTarget("working-folder", "the working folder", _working_folder),
    HostileTarget("state-json-folder", "a folder of the user's with a state.json and notes.txt", _state_json_folder),
    HostileTarget("dataset-plus-notes", "a saved dataset with the user's notes.txt beside it", _dataset_plus_notes),
    HostileTarget("plain-folder", "a folder of the user's", _plain_folder),
    HostileTarget("saved-dataset", "control: a save_to_disk folder and nothing else", _saved_dataset, True),
)


# --------------------------------------------------------------------------------------------- user code

_LOSS = """import sys
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
{module}

class HostileLoss(BinaryCrossEntropyLoss):
    def __init__(self, model):
        super().__init__(model)
        self.calls = 0
        {init}

    def forward(self, inputs, labels):
        self.calls += 1
        if self.calls >= {at_call}:
            {forward}
        return super().forward(inputs, labels)
"""


@dataclass(frozen=True)
class HostileCode:
    """A custom loss file (`trial --loss FILE.py:HostileLoss`) that misbehaves."""

    name: str
    what: str
    module: str = ""
    init: str = "pass"
    forward: str = "pass"
    at_call: int = 1

    def write(self, d: Path) -> str:
        path = d / f"{self.name.replace('-', '_')}.py"
        path.write_text(_LOSS.format(module=self.module, init=self.init, forward=self.forward, at_call=self.at_call))
        return f"{path}:HostileLoss"


USER_CODE: tuple[HostileCode, ...] = (
    HostileCode("exit-0-at-import", "sys.exit(0) when imported", module="sys.exit(0)"),
    HostileCode("exit-0-in-init", "sys.exit(0) in __init__", init="sys.exit(0)"),
    HostileCode("exit-0-in-forward", "sys.exit(0) in forward (the check's call)", forward="sys.exit(0)"),
    HostileCode("exit-0-in-training", "sys.exit(0) in forward once training has started (3rd call)", forward="sys.exit(0)",
                at_call=3),
    HostileCode("exit-none-in-forward", "sys.exit() in forward", forward="sys.exit()"),
    HostileCode("raise-systemexit-3", "raise SystemExit(3) at import", module="raise SystemExit(3)"),
)


# --------------------------------------------------------------------------------------------- issue 15: data inputs
# Small files that claim or decode to a lot, names and links that trap a walk, and values read wrong silently.
# (A separate block: other classes of issue 15, for output paths, are added above this one.)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def write_lying_parquet(path: Path, claim: int = 2**40, n: int = 1234) -> None:
    """A parquet file whose footer claims `claim` rows (it holds n): the row counts are rewritten in the footer."""
    import io
    import struct

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(_pairs(n)), buffer, compression="zstd")
    data = buffer.getvalue()
    length = struct.unpack("<I", data[-8:-4])[0]
    footer = data[-8 - length:-8]
    old, new = _varint(n << 1), _varint(claim << 1)  # thrift compact protocol: zigzag varints
    assert footer.count(old) >= 2, "the footer should name the row count twice (file and row group)"
    footer = footer.replace(old, new)
    path.write_bytes(data[:-8 - length] + footer + struct.pack("<I", len(footer)) + b"PAR1")


def footer_lies_parquet(d: Path) -> str:
    write_lying_parquet(d / "lies.parquet")
    return str(d / "lies.parquet")


def write_dictionary_bomb(path: Path, rows: int = 1500, cell: int = 1 << 20) -> None:
    """Texts plus a column whose every row is the same 1 MiB value: a dictionary page of a few bytes, GBs decoded."""
    pairs = _pairs(rows)
    pq.write_table(pa.table({
        "question": [r["question"] for r in pairs],
        "answer": [r["answer"] for r in pairs],
        "label": [r["label"] for r in pairs],
        # built as indices into a one-value dictionary: the generator itself never holds the decoded gigabytes
        "notes": pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * cell])),
    }), path, compression="zstd")


def dictionary_bomb_parquet(d: Path) -> str:
    write_dictionary_bomb(d / "bomb.parquet")
    return str(d / "bomb.parquet")


def symlink_loop_glob(d: Path) -> str:
    """A ** glob over a folder whose subfolder links back to it: following links would never end."""
    folder = d / "data"
    (folder / "sub").mkdir(parents=True)
    _write_csv(folder / "sub" / "pairs.csv", ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in _pairs(24)])
    os.symlink("..", folder / "sub" / "loop")
    os.symlink("../sub", folder / "sub" / "loop2")
    return str(folder / "**" / "*.csv")


def symlink_loop_folder(d: Path) -> str:
    folder = d / "data"
    folder.mkdir()
    _write_jsonl(folder / "pairs.jsonl", _pairs(24))
    os.symlink(".", folder / "self")
    return str(folder)


def write_late_decode_error(path: Path) -> None:
    """More than the 4 MiB sampled window of clean UTF-8, then one Latin-1 byte."""
    rows = [[r["question"], r["answer"], r["label"]] for r in _pairs(60_000)]
    _write_csv(path, ["question", "answer", "label"], rows)
    with open(path, "ab") as handle:
        handle.write("caf\xe9 au lait?,a Latin-1 answer caf\xe9,1\n".encode("latin-1"))


def late_decode_error_csv(d: Path) -> str:
    write_late_decode_error(d / "late.csv")
    return str(d / "late.csv")


def decimal_comma_csv(d: Path) -> str:
    """Excel's export in many locales: ';'-separated, scores written 0,5."""
    rng = random.Random(5)
    scores = ["0", "0,1", "0,2", "0,3", "0,4", "0,5", "0,6", "0,7", "0,8", "0,9", "1"]
    lines = ["question;answer;score"] + [f"{r['question']};{r['answer']};{rng.choice(scores)}" for r in _pairs(60)]
    (d / "excel.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(d / "excel.csv")


def drifting_shards_parquet(d: Path) -> str:
    """Two shards whose label is an int in one and a string in the other (after enough rows that a sample stops)."""
    folder = d / "shards"
    folder.mkdir()
    first, second = _pairs(2500), _pairs(2500, seed=1)
    pq.write_table(pa.Table.from_pylist(first), folder / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist([dict(r, label=str(r["label"])) for r in second]), folder / "part-1.parquet")
    return str(folder)


def compatible_shards_parquet(d: Path) -> str:
    """int64 labels in one shard, float64 in the other: unified, not refused."""
    folder = d / "shards"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(_pairs(2500)), folder / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist([dict(r, label=float(r["label"])) for r in _pairs(2500, seed=1)]), folder / "part-1.parquet")
    return str(folder)


def drifting_shards_jsonl(d: Path) -> str:
    folder = d / "shards"
    folder.mkdir()
    _write_jsonl(folder / "a.jsonl", _pairs(30))
    _write_jsonl(folder / "b.jsonl", [dict(r, label=["no", "yes"][r["label"]]) for r in _pairs(30, seed=1)])
    return str(folder)


def inf_labels(d: Path) -> str:
    """40 scores of which 24 are inf or -inf: 16 rows are valid."""
    rows = _pairs(40)
    scores = [round(i / 40, 3) if i % 5 < 2 else [float("inf"), float("-inf")][i % 2] for i in range(40)]
    pq.write_table(pa.table({"question": [r["question"] for r in rows], "answer": [r["answer"] for r in rows],
                             "score": scores}), d / "inf.parquet")
    return str(d / "inf.parquet")


def pretty_json_large(d: Path) -> str:
    """json.dump(records, indent=2) of more than the 4 MiB window."""
    (d / "pretty.json").write_text(json.dumps(_pairs(30_000), indent=2), encoding="utf-8")
    return str(d / "pretty.json")


def bracket_name_csv(d: Path) -> str:
    """A real file named with glob characters: taken literally."""
    _write_csv(d / "data[1].csv", ["question", "answer", "label"], [[r["question"], r["answer"], r["label"]] for r in _pairs(30)])
    return str(d / "data[1].csv")


def sparse_class_ids(d: Path) -> str:
    ids = [0, 1, 2, 5_000_000]
    _write_csv(d / "ids.csv", ["question", "answer", "label"], [[r["question"], r["answer"], ids[i % 4]] for i, r in enumerate(_pairs(40))])
    return str(d / "ids.csv")


def label_beyond_class_names(d: Path) -> str:
    """A ClassLabel with 3 names over labels that include 7."""
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({"question": Value("string"), "answer": Value("string"), "label": ClassLabel(names=["a", "b", "c"])})
    rows = _pairs(40)
    data = {"question": [r["question"] for r in rows], "answer": [r["answer"] for r in rows], "label": [i % 3 for i in range(40)]}
    Dataset.from_dict(data, features=features).save_to_disk(str(d / "saved"))
    table = pa.table({"question": data["question"], "answer": data["answer"], "label": [7 if i == 5 else i % 3 for i in range(40)]})
    folder = d / "saved"
    arrow = next(folder.glob("*.arrow"))
    schema = table.schema.with_metadata(pa.ipc.open_stream(pa.memory_map(str(arrow))).schema.metadata)
    with pa.ipc.new_stream(str(arrow), schema) as writer:
        writer.write_table(table.cast(schema))
    return str(folder)


def million_class_names(d: Path) -> str:
    """A ClassLabel naming a million classes (in the schema and in dataset_info.json): no message may quote them all."""
    from datasets import ClassLabel, Dataset, Features, Value

    rows = _pairs(30)
    features = Features({"question": Value("string"), "answer": Value("string"),
                         "label": ClassLabel(names=[f"name-{i}" for i in range(1_000_000)])})
    data = {"question": [r["question"] for r in rows], "answer": [r["answer"] for r in rows], "label": [i % 3 for i in range(30)]}
    Dataset.from_dict(data, features=features).save_to_disk(str(d / "saved"))
    return str(d / "saved")


INPUTS += (
    Hostile("footer-lies-parquet", "a 12 kB parquet (1,234 rows) whose footer claims 2^40 rows", footer_lies_parquet, False),
    Hostile("dictionary-bomb-parquet", "a 14 kB parquet whose dictionary decodes to 1.5 GB", dictionary_bomb_parquet),
    Hostile("symlink-loop-glob", "a ** glob over folders that link back to themselves", symlink_loop_glob),
    Hostile("symlink-loop-folder", "a folder holding a link to itself", symlink_loop_folder),
    Hostile("late-decode-error-csv", "a Latin-1 byte after 4 MiB of UTF-8", late_decode_error_csv),
    Hostile("decimal-comma-csv", "Excel's ';' file with scores written 0,5", decimal_comma_csv),
    Hostile("drifting-shards-parquet", "parquet shards: int labels in one, strings in the other", drifting_shards_parquet, False),
    Hostile("compatible-shards-parquet", "parquet shards: int64 labels in one, float64 in the other", compatible_shards_parquet),
    Hostile("drifting-shards-jsonl", "JSON Lines shards: int labels in one, strings in the other", drifting_shards_jsonl, False),
    Hostile("inf-labels", "40 scores, 24 of them inf or -inf", inf_labels),
    Hostile("pretty-json-large", "json.dump(records, indent=2) over 4 MiB", pretty_json_large),
    Hostile("bracket-name-csv", "a file named data[1].csv", bracket_name_csv),
    Hostile("sparse-class-ids", "class ids 0, 1, 2 and 5,000,000", sparse_class_ids),
    Hostile("label-beyond-class-names", "a ClassLabel of 3 names and a label 7", label_beyond_class_names),
    Hostile("million-class-names", "a ClassLabel naming 1,000,000 classes", million_class_names),
)
BY_NAME = {h.name: h for h in INPUTS}
