"""columns.py's statistics and sources/dictionary.py's buffer reads, against plain oracles.

Both were rewritten for speed (inspect's own work on a big parquet file); the oracles below are the plain
per-value definitions they replaced, and every statistic must come out the same, to the last float bit.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossadvisor.columns import ID_VALUE, QUESTION_START, _number_stats, _text_stats
from lossadvisor.recipe import data_facts
from lossadvisor.sources import dictionary

# Whitespace of every kind str.strip() knows (and one it does not: U+200B), digits of other scripts, words the
# question and id rules look at, parentheses for parse trees.
PIECES = [" ", "\t", "\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\u200b", "0", "7", "\u0663", ".", "-",
          "_", "e", "x", "?", "(", "S", "What", "how", "is", "inf", "nan", "ID", "1_0", "\u0130s", "\u017f", "\u212a"]
texts = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


def _is_float(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def text_stats_oracle(values: list[str | None]) -> dict:
    """The per-value definition: strip every value, try float() on every one of the first 500."""
    present = [v for v in values if v is not None]
    non_empty = [v for v in present if v.strip()]
    lengths = [len(v) for v in non_empty]
    words = [len(v.split()) for v in non_empty[:500]]
    distinct = len(set(non_empty))
    head = max(1, min(500, len(non_empty)))
    return {
        "nulls": len(values) - len(present),
        "empty": len(present) - len(non_empty),
        "distinct": distinct,
        "mean_chars": sum(lengths) / len(lengths) if lengths else 0.0,
        "mean_words": sum(words) / len(words) if words else 0.0,
        "numeric": sum(1 for v in non_empty[:500] if _is_float(v)) / head,
        "id_like": sum(1 for v in non_empty[:500] if ID_VALUE.match(v.strip())) / head,
        "parse_tree": sum(1 for v in non_empty[:200] if v.lstrip().startswith("(") and v.count("(") > 3)
        / max(1, min(200, len(non_empty))),
        "questions": sum(1 for v in non_empty[:500] if v.rstrip().endswith("?") or QUESTION_START.match(v.strip())) / head,
        "top": Counter(non_empty).most_common(12) if distinct <= 50 else [],
        "rows": len(values),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), texts), max_size=700), st.integers(min_value=1, max_value=60))
def test_text_stats_match_the_per_value_definition(values, vocabulary):
    values = [v if v is None else v + str(i % vocabulary) * (i % 3 == 0) for i, v in enumerate(values)]
    assert repr(_text_stats(pa.chunked_array([pa.array(values, pa.string())]))) == repr(text_stats_oracle(values))


def test_text_stats_whitespace_is_what_strip_removes():
    """`not v.isspace()` (no new string per value) decides emptiness exactly as `v.strip()` does, for every character."""
    differ = [c for c in map(chr, range(sys.maxunicode + 1))
              if not 0xD800 <= ord(c) <= 0xDFFF and bool(c.strip()) != (not c.isspace())]
    assert differ == []
    stats = _text_stats(pa.chunked_array([pa.array(["\u3000", "\u200b", " a ", "\x1c\x1d", "", None])]))
    assert (stats["nulls"], stats["empty"], stats["distinct"]) == (1, 3, 2)  # U+200B is not whitespace


NUMBER_TYPES = [pa.int8(), pa.int64(), pa.uint64(), pa.bool_(), pa.float64()]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_number_stats_and_label_facts_of_integers_match_the_float_checks(data):
    """Integer and boolean columns skip the per-value NaN / inf / is_integer checks: the results must not change."""
    kind = data.draw(st.sampled_from(NUMBER_TYPES))
    if pa.types.is_boolean(kind):
        item = st.booleans()
    elif pa.types.is_floating(kind):
        item = st.sampled_from([0.0, 1.0, 2.0, 0.5, math.nan, math.inf])
    else:
        item = st.sampled_from([0, 1, 2, 5, 99] + ([2**63 + 1] if kind == pa.uint64() else [-3]))
    values = data.draw(st.lists(st.one_of(st.none(), item), max_size=60))
    column = pa.chunked_array([pa.array(values, kind)], type=kind)
    stats = _number_stats(column, None)
    numbers = [int(v) if isinstance(v, bool) else v for v in values if v is not None]
    finite = [v for v in numbers if not (isinstance(v, float) and not math.isfinite(v))]
    assert stats["integral"] == (all(float(v).is_integer() for v in finite) if finite else False)
    assert (stats["nan"], stats["inf"]) == (sum(1 for v in numbers if v != v),
                                            sum(1 for v in numbers if isinstance(v, float) and math.isinf(v)))
    facts = data_facts(pa.table({"label": column}))
    labels = [v for v in numbers if v == v]
    if labels:
        assert facts.class_ids.integral == all(float(v).is_integer() for v in labels)
        ids = facts.class_ids
        assert (ids.low, ids.high, ids.distinct) == (min(labels), max(labels), len(set(labels)))
    else:
        assert facts.class_ids is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(["0", "1", "2", ".", "5", "e", "-", "+", "inf", "NaN", "x",
                                                                  " ", "l", "entailment", "\u0663", "_"]),
                                               max_size=3).map("".join)), max_size=12))
def test_string_labels_are_numbers_exactly_when_pyarrow_casts_them(values):
    """data_facts refuses strings with a character no number has before trying pyarrow's cast: same facts."""
    column = pa.array(values, pa.string())
    facts = data_facts(pa.table({"label": column}))
    try:
        numbers = [v for v in pc.cast(column, pa.float64()).to_pylist() if v is not None and v == v]
    except pa.ArrowInvalid:
        numbers = []
    if numbers:
        assert (facts.class_ids.low, facts.class_ids.high, facts.class_ids.distinct) == (min(numbers), max(numbers),
                                                                                        len(set(numbers)))
    else:
        assert facts.class_ids is None and facts.pos_weight is None


# --------------------------------------------------------------------------------------------- dictionary columns

VALUE_TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]
INDEX_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint32()]


@st.composite
def dictionary_arrays(draw):
    kind = draw(st.sampled_from(VALUE_TYPES))
    entries = draw(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=6))
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        entries = [None if e is None else e.encode() for e in entries]
    values = pa.array(entries, kind)
    if entries and draw(st.booleans()):  # a dictionary that is a slice of a longer array (offset > 0)
        pad = "p" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else b"p"
        values = pa.array([pad, *entries, pad], kind).slice(1, len(entries))
    picks = st.none() if not entries else st.one_of(st.none(), st.integers(0, len(entries) - 1))
    indices = pa.array(draw(st.lists(picks, max_size=12)), draw(st.sampled_from(INDEX_TYPES)))
    array = pa.DictionaryArray.from_arrays(indices, values)
    if len(array) > 2 and draw(st.booleans()):
        array = array.slice(1, len(array) - 2)
    return array


@settings(max_examples=400, deadline=None)
@given(dictionary_arrays())
def test_dictionary_sizes_and_values_match_pyarrow_compute(array):
    import numpy as np

    decoded = array.dictionary_decode()
    expected = pc.coalesce(pc.binary_length(decoded).cast(pa.int64()), 0).to_numpy()
    sizes = dictionary.value_bytes(array)
    assert sizes.dtype == np.int64 and sizes.tolist() == expected.tolist()
    ours = dictionary.decode(array, in_python=True)
    ours.validate(full=True)
    assert ours.type == decoded.type and ours.null_count == decoded.null_count and ours.to_pylist() == decoded.to_pylist()
    large = pa.large_binary() if pa.types.is_binary(decoded.type) or pa.types.is_large_binary(decoded.type) else pa.large_string()
    wide = dictionary.decode(array, in_python=True, target=large)  # what polars' large_string columns are cast to
    wide.validate(full=True)
    assert wide.type == large and wide.equals(decoded.cast(large))


QUESTIONS = [f"what is question {i // 4}?" for i in range(400)]
ANSWERS = [f"answer number {i} in a few words" for i in range(400)]
SHAPES = {
    "labeled-pair": {"question": QUESTIONS, "answer": ANSWERS, "label": [int(i % 4 == 0) for i in range(400)]},
    "pair-class": {"premise": QUESTIONS, "hypothesis": ANSWERS,
                   "label": [("entailment", "neutral", "contradiction")[i % 3] for i in range(400)]},
    "labeled-list": {"query": QUESTIONS[::4], "docs": [ANSWERS[i:i + 4] for i in range(0, 400, 4)],
                     "labels": [[1, 0, 0, None] if i % 8 else None for i in range(0, 400, 4)]},
}


@pytest.mark.parametrize("large", [False, True], ids=["string", "large_string"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_inspect_of_parquet_does_not_import_pyarrow_compute(tmp_path, shape, large):
    """Importing pyarrow.compute costs ~30 ms, half of inspect's own work on a big parquet file: strings (read as
    dictionaries), large strings (as polars writes them), string labels and list columns are read without it."""
    table = pa.table(SHAPES[shape])
    if large:
        table = table.cast(pa.schema([pa.field(f.name, pa.large_string()) if f.type == pa.string() else f for f in table.schema]))
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=40)
    code = ("import sys\nfrom lossadvisor.advice import inspect_dataset\nfrom lossadvisor.table import load_table\n"
            "report = inspect_dataset(sys.argv[1], load_table())\n"
            "print(report.format, report.num_rows, 'pyarrow.compute' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [shape, str(table.num_rows), "False"]
