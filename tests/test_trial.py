"""lossadvisor.trial and lossadvisor.tiny_model, on slices of the real data in ../shared/data/real."""

from __future__ import annotations

import math
import tempfile
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from real_data import REAL, needs_real

from lossadvisor.errors import FitError, LossAdvisorError
from lossadvisor.table import load_table
from lossadvisor.trial import (
    TrialOptions,
    TrialResult,
    advise_loss,
    build_loss,
    check_custom_loss,
    check_data,
    check_fit,
    check_known_bad,
    compare,
    infer_num_labels,
    load_custom_loss,
    raise_for_failure,
    run_trial,
    sparkline,
    write_plot,
)

ROWS = 64
# Few steps and small batches: every trial must take seconds on 2 CPU cores.
FAST = TrialOptions(model="tiny", steps=6, batch_size=4)

pytestmark = needs_real


@pytest.fixture(scope="module")
def table():
    return load_table()


# --------------------------------------------------------------------------------------------- data slices


def _slice(data: pa.Table, columns: list[str], rename: dict[str, str] | None = None) -> pa.Table:
    data = data.select(columns).slice(0, ROWS)
    return data.rename_columns([(rename or {}).get(name, name) for name in data.column_names])


def snli_pair_class() -> pa.Table:
    return _slice(pq.read_table(REAL / "snli/snli_pair_class.parquet"), ["premise", "hypothesis", "label"])


def squad_pairs() -> pa.Table:
    options = pacsv.ParseOptions(newlines_in_values=True)
    return _slice(pacsv.read_csv(REAL / "squad/squad_qa_pairs.csv", parse_options=options), ["question", "context"])


def mrpc_labeled_pairs() -> pa.Table:
    from datasets import load_from_disk

    return _slice(load_from_disk(str(REAL / "mrpc/mrpc_train_hf")).data.table, ["sentence1", "sentence2", "label"])


def sick_scores() -> pa.Table:
    return _slice(pq.read_table(REAL / "sick/sick_relatedness.parquet"), ["sentence1", "sentence2", "label"])


def stsb_unscaled() -> pa.Table:
    data = pacsv.read_csv(REAL / "stsb/stsb_train_sample.csv")
    return _slice(data, ["sentence1", "sentence2", "score"], {"score": "label"})


def snli_triplets() -> pa.Table:
    options = pacsv.ParseOptions(newlines_in_values=True)
    data = pacsv.read_csv(REAL / "snli/snli_triplets.csv", parse_options=options)
    return _slice(data, ["anchor", "positive", "negative"])


def wikiqa_triplets() -> pa.Table:
    options = pacsv.ParseOptions(delimiter="\t", newlines_in_values=True)
    data = pacsv.read_csv(REAL / "wikiqa/wikiqa_train_triplets.tsv", parse_options=options)
    return data.select(["query", "positive", "negative"]).slice(0, ROWS + 1)


def wikiqa_n_tuple() -> pa.Table:
    """(query, positive, negative_1, negative_2): the second negative is the next row's negative."""
    data = wikiqa_triplets()
    return pa.table(
        {
            "query": data["query"].slice(0, ROWS),
            "positive": data["positive"].slice(0, ROWS),
            "negative_1": data["negative"].slice(0, ROWS),
            "negative_2": data["negative"].slice(1, ROWS),
        }
    )


def wikiqa_labeled_list(max_docs: int = 8) -> pa.Table:
    data = pajson.read_json(REAL / "wikiqa/wikiqa_test_labeled_list.jsonl").select(["query", "docs", "label"])
    # Short lists keep a listwise step cheap on CPU; the lengths still vary (ragged batches).
    short = data.filter(pc.less_equal(pc.list_value_length(data["docs"]), max_docs))
    return short.slice(0, ROWS)


def distill_margin() -> pa.Table:
    data = pajson.read_json(REAL / "distill/wikiqa_triplet_margin.jsonl")
    return _slice(data, ["query", "positive", "negative", "label"])


def distill_scores() -> pa.Table:
    return _slice(pq.read_table(REAL / "distill/wikiqa_triplet_scores.parquet"), ["query", "positive", "negative", "label"])


def _n_tuple_teacher(kind: str) -> pa.Table:
    """Two negatives per query from the teacher-scored triplets; the second negative (and its score) is
    borrowed from the next row, so its label is a shape stand-in, not a real teacher score for this query."""
    data = pq.read_table(REAL / "distill/wikiqa_triplet_scores.parquet").slice(0, ROWS + 1)
    scores = data["label"].to_pylist()
    labels = []
    for index in range(ROWS):
        positive, negative = scores[index]
        borrowed = scores[index + 1][1]
        if kind == "scores":
            labels.append([positive, negative, borrowed])
        else:
            labels.append([positive - negative, positive - borrowed])
    return pa.table(
        {
            "query": data["query"].slice(0, ROWS),
            "positive": data["positive"].slice(0, ROWS),
            "negative_1": data["negative"].slice(0, ROWS),
            "negative_2": data["negative"].slice(1, ROWS),
            "label": pa.array(labels, pa.list_(pa.float64())),
        }
    )


LOADERS = {
    "pair-class": snli_pair_class,
    "pair": squad_pairs,
    "labeled-pair": mrpc_labeled_pairs,
    "pair-score": sick_scores,
    "triplet": snli_triplets,
    "n-tuple": wikiqa_n_tuple,
    "labeled-list": wikiqa_labeled_list,
    "triplet-margin": distill_margin,
    "n-tuple-margin": lambda: _n_tuple_teacher("margin"),
    "triplet-scores": distill_scores,
    "n-tuple-scores": lambda: _n_tuple_teacher("scores"),
}

# One (format, loss) per row of data_formats.yaml, plus the second loss the brief asks for on two rows.
ROW_CASES = [
    ("pair-class", "CrossEntropyLoss"),
    ("pair", "MultipleNegativesRankingLoss"),
    ("labeled-pair", "BinaryCrossEntropyLoss"),
    ("pair-score", "BinaryCrossEntropyLoss"),
    ("triplet", "MultipleNegativesRankingLoss"),
    ("n-tuple", "CachedMultipleNegativesRankingLoss"),
    ("labeled-list", "LambdaLoss"),
    ("labeled-list", "ListNetLoss"),
    ("pair-score", "MSELoss"),
    ("triplet-margin", "MarginMSELoss"),
    ("n-tuple-margin", "MarginMSELoss"),
    ("triplet-scores", "MarginMSELoss"),
    ("n-tuple-scores", "MarginMSELoss"),
]


def test_row_cases_cover_every_row_of_the_table(table):
    covered = {(fmt, loss) for fmt, loss in ROW_CASES}
    for index, row in enumerate(table.rows):
        assert any((row.format, loss) in covered for loss in row.losses), f"rows[{index}] has no trial test"


@pytest.mark.parametrize("format_name", sorted(LOADERS))
def test_real_slices_pass_the_data_check(table, format_name):
    loss = next(loss for fmt, loss in ROW_CASES if fmt == format_name)
    check_data(LOADERS[format_name](), format_name, loss, table)


# --------------------------------------------------------------------------------------------- fit + refusals


@pytest.mark.parametrize("row_index", range(12))
def test_check_fit_accepts_every_documented_row(table, row_index):
    row = table.rows[row_index]
    for loss in row.losses:
        check_fit(row.format, loss, table)


def test_check_fit_refuses_with_the_convert_command(table):
    with pytest.raises(FitError) as caught:
        check_fit("labeled-list", "MultipleNegativesRankingLoss", table)
    assert caught.value.message.startswith("MultipleNegativesRankingLoss does not fit labeled-list data")
    assert "lossadvisor convert DATASET --to triplet" in caught.value.hint
    assert "labeled-list -> labeled-pair -> triplet" in caught.value.hint


def test_check_fit_without_a_conversion_names_the_losses_that_fit(table):
    with pytest.raises(FitError) as caught:
        check_fit("triplet", "CrossEntropyLoss", table)
    assert "No declared conversion" in caught.value.hint
    assert "MultipleNegativesRankingLoss" in caught.value.hint


def test_check_fit_names_the_teacher_a_conversion_needs(table):
    with pytest.raises(FitError) as caught:
        check_fit("triplet", "MarginMSELoss", table)
    assert "--to triplet-margin" in caught.value.hint and "teacher" in caught.value.hint


def test_run_trial_refuses_a_misfit_before_loading_anything(table):
    with pytest.raises(FitError, match="does not fit"):
        run_trial(squad_pairs(), "pair", "LambdaLoss", table, FAST)


def test_cached_loss_with_gradient_checkpointing_is_refused(table):
    options = TrialOptions(gradient_checkpointing=True)
    with pytest.raises(FitError, match="gradient checkpointing"):
        check_known_bad("CachedMultipleNegativesRankingLoss", options, table)
    check_known_bad("MultipleNegativesRankingLoss", options, table)


def test_half_precision_listwise_is_refused_only_on_old_sentence_transformers(table):
    options = TrialOptions(bf16=True)
    with pytest.raises(FitError, match="sentence-transformers 5.5.0") as caught:
        check_known_bad("LambdaLoss", options, table, st_version="5.5.0")
    assert "sentence-transformers>=5.6" in caught.value.hint
    check_known_bad("LambdaLoss", options, table, st_version="5.6.0")
    check_known_bad("BinaryCrossEntropyLoss", options, table, st_version="5.5.0")


def test_streaming_input_is_refused(table):
    from datasets import IterableDataset

    with pytest.raises(FitError, match="IterableDataset"):
        check_known_bad("BinaryCrossEntropyLoss", TrialOptions(streaming=True), table)

    def rows():
        yield {"sentence1": "a", "sentence2": "b", "label": 1}

    with pytest.raises(FitError, match="streaming"):
        run_trial(IterableDataset.from_generator(rows), "labeled-pair", "BinaryCrossEntropyLoss", table, FAST)


# --------------------------------------------------------------------------------------------- data checks


def test_mismatched_lists_are_named_by_row(table):
    data = wikiqa_labeled_list()
    labels = data["label"].to_pylist()
    labels[3] = labels[3] + [0]
    broken = data.set_column(2, "label", pa.array(labels))
    with pytest.raises(FitError) as caught:
        check_data(broken, "labeled-list", "LambdaLoss", table)
    assert caught.value.message.startswith("1 row (e.g. row 3) have a different number of documents and labels")


def test_unscaled_scores_are_refused_for_bce_with_a_rescale_hint(table):
    with pytest.raises(FitError, match="between 0 and 1, but found 0.0 to 5.0") as caught:
        check_data(stsb_unscaled(), "pair-score", "BinaryCrossEntropyLoss", table)
    assert "/ 5.0" in caught.value.hint


def test_string_classes_and_wrong_label_lengths_are_refused(table):
    data = snli_pair_class()
    names = pa.array([["entailment", "neutral", "contradiction"][v] for v in data["label"].to_pylist()])
    with pytest.raises(FitError, match="not numbers") as caught:
        check_data(data.set_column(2, "label", names), "pair-class", "CrossEntropyLoss", table)
    assert "class_encode_column" in caught.value.hint
    with pytest.raises(FitError, match="needs 3 per row"):
        check_data(
            distill_scores()
            .rename_columns(["q", "p", "n", "label"])
            .append_column("n2", pa.array(["x"] * ROWS))
            .select(["q", "p", "n", "n2", "label"]),
            "n-tuple-scores",
            "MarginMSELoss",
            table,
        )


def test_wrong_column_count_and_missing_label(table):
    with pytest.raises(FitError, match="needs 2 text input columns"):
        check_data(snli_triplets(), "pair", "MultipleNegativesRankingLoss", table)
    with pytest.raises(FitError, match="label column named 'label'"):
        check_data(squad_pairs(), "labeled-pair", "BinaryCrossEntropyLoss", table)


# --------------------------------------------------------------------------------------------- advice + loss


def test_bce_pos_weight_is_negatives_over_positives(table):
    data = mrpc_labeled_pairs()
    positives = pc.sum(data["label"]).as_py()
    negatives = ROWS - positives
    advice = advise_loss("BinaryCrossEntropyLoss", data, table)
    ratio = round(negatives / positives, 2)
    assert advice.code == f"losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor({ratio}))"
    assert advice.num_labels == 1 and not advice.identity_activation
    # float similarity scores are not 0/1 labels: no pos_weight
    assert advise_loss("BinaryCrossEntropyLoss", sick_scores(), table).params == ()


def test_advice_for_ranking_and_listwise_losses(table):
    mnrl = advise_loss("MultipleNegativesRankingLoss", squad_pairs(), table)
    assert mnrl.code == "losses.MultipleNegativesRankingLoss(model, activation_fn=torch.nn.Identity())"
    assert mnrl.identity_activation
    cached = advise_loss("CachedMultipleNegativesRankingLoss", squad_pairs(), table, batch_size=8)
    assert dict((p.name, p.value) for p in cached.params)["mini_batch_size"] == 4
    lambda_loss = advise_loss("LambdaLoss", wikiqa_labeled_list(), table)
    assert lambda_loss.code == ("losses.LambdaLoss(model, weighting_scheme=losses.NDCGLoss2PPScheme(), mini_batch_size=16)")
    # WikiQA lists are in page order, not sorted by label
    plist = advise_loss("PListMLELoss", wikiqa_labeled_list(), table)
    assert "respect_input_order=False" in plist.code
    assert infer_num_labels("CrossEntropyLoss", snli_pair_class(), table) == 3


def test_build_loss_returns_the_real_classes(table):
    import torch
    from sentence_transformers.cross_encoder import losses

    from lossadvisor.tiny_model import build_tiny_cross_encoder

    data = mrpc_labeled_pairs()
    model = build_tiny_cross_encoder(data["sentence1"].to_pylist(), num_labels=1, identity_activation=False)
    loss, code = build_loss(model, "BinaryCrossEntropyLoss", data, table)
    assert type(loss) is losses.BinaryCrossEntropyLoss
    assert code.startswith("losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(")
    assert loss.pos_weight.item() == pytest.approx(float(code.split("(")[-1].rstrip(")")))
    mnrl, _ = build_loss(model, "MultipleNegativesRankingLoss", squad_pairs(), table)
    assert isinstance(mnrl.activation_fn, torch.nn.Identity)
    lambda_loss, _ = build_loss(model, "LambdaLoss", wikiqa_labeled_list(), table)
    assert isinstance(lambda_loss.weighting_scheme, losses.NDCGLoss2PPScheme) and lambda_loss.mini_batch_size == 16


# --------------------------------------------------------------------------------------------- tiny model


def test_tiny_model_builds_without_a_download(tmp_path, monkeypatch):
    """Built from the texts alone: no connection is even tried (the network is cut and every attempt recorded).
    How long it takes is in benchmarks/bench_trial.py's time to the first step, not asserted here."""
    import socket

    import torch

    from lossadvisor.tiny_model import build_tiny_cross_encoder

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:1])
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    texts = snli_pair_class()["premise"].to_pylist()
    model = build_tiny_cross_encoder(texts, num_labels=3, identity_activation=False, workdir=tmp_path)
    assert attempts == []
    assert model.num_labels == 3 and isinstance(model.activation_fn, torch.nn.Identity)
    assert (tmp_path / "tiny-cross-encoder" / "config.json").is_file()
    ranker = build_tiny_cross_encoder(texts, num_labels=1, identity_activation=True)
    assert ranker.num_labels == 1 and isinstance(ranker.activation_fn, torch.nn.Identity)
    assert build_tiny_cross_encoder(texts, 1, False).activation_fn.__class__.__name__ == "Sigmoid"
    same = build_tiny_cross_encoder(texts, num_labels=1, identity_activation=True)
    pairs = [("a man", "a woman")]
    assert ranker.predict(pairs)[0] == pytest.approx(same.predict(pairs)[0])


def test_load_cross_encoder_errors(tmp_path):
    from lossadvisor.tiny_model import load_cross_encoder, load_local_cross_encoder

    with pytest.raises(LossAdvisorError, match="does not exist"):
        load_cross_encoder(str(tmp_path / "missing"), [], 1, True)
    with pytest.raises(LossAdvisorError, match="cannot load a CrossEncoder"):
        load_cross_encoder(str(tmp_path), [], 1, True)
    # local_files_only: the offline path without touching the network
    with pytest.raises(LossAdvisorError, match="from the Hugging Face Hub") as caught:
        load_cross_encoder("lossadvisor-test/no-such-model", [], 1, True, local_files_only=True)
    assert "--model tiny" in caught.value.hint
    model = load_cross_encoder("tiny", ["some text", "more text"], 1, True, workdir=tmp_path)
    assert load_local_cross_encoder(tmp_path / "tiny-cross-encoder", 1, True).num_labels == model.num_labels


# --------------------------------------------------------------------------------------------- custom losses

CUSTOM = textwrap.dedent(
    '''
    import torch
    from sentence_transformers.util import batch_to_device
    from torch import nn


    class GoodLoss(nn.Module):
        """BCE on the pair scores, written the way the library writes its losses."""

        def __init__(self, model, scale: float = 1.0):
            super().__init__()
            self.model = model
            self.scale = scale

        def forward(self, inputs, labels):
            tokens = self.model.preprocess(list(zip(inputs[0], inputs[1])))
            tokens = batch_to_device(tokens, self.model.device)
            logits = self.model(tokens)["scores"].view(-1) * self.scale
            return nn.functional.binary_cross_entropy_with_logits(logits, labels.float().view(-1))

        def get_config_dict(self):
            return {"scale": self.scale}

        @property
        def citation(self):
            return "@misc{good}"


    class DictLoss(GoodLoss):
        def forward(self, inputs, labels):
            loss = super().forward(inputs, labels)
            return {"bce": loss, "half": loss / 2}


    class NotAModule:
        def __init__(self, model):
            self.model = model

        def forward(self, inputs, labels):
            return torch.tensor(0.0)


    class ModelSecond(nn.Module):
        def __init__(self, scale, model):
            super().__init__()
            self.model = model


    class OneArgForward(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, inputs):
            return torch.tensor(0.0)


    class ReturnsFloat(GoodLoss):
        def forward(self, inputs, labels):
            return 0.5


    class NoGradient(GoodLoss):
        def forward(self, inputs, labels):
            return torch.tensor(0.5)


    class Crashes(GoodLoss):
        def forward(self, inputs, labels):
            raise RuntimeError("boom")
    '''
)


@pytest.fixture(scope="module")
def custom_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("custom") / "my_losses.py"
    path.write_text(CUSTOM)
    return path


@pytest.fixture(scope="module")
def shared_model():
    from lossadvisor.tiny_model import build_tiny_cross_encoder

    return build_tiny_cross_encoder(mrpc_labeled_pairs()["sentence1"].to_pylist(), 1, False)


def _checks(custom_file, name, table, model):
    cls = load_custom_loss(f"{custom_file}:{name}")
    return {check.name: check for check in check_custom_loss(cls, mrpc_labeled_pairs(), "labeled-pair", table, model)}


def test_a_good_custom_loss_passes_every_check(custom_file, table, shared_model):
    for name in ("GoodLoss", "DictLoss"):
        checks = _checks(custom_file, name, table, shared_model)
        assert all(check.passed for check in checks.values()), checks
        assert checks["get_config_dict()"].detail.startswith("present")
        assert checks["citation"].detail.startswith("present")
    assert (
        "dict of 2 tensors"
        in _checks(custom_file, "DictLoss", table, shared_model)["forward returns a tensor or a dict of tensors"].detail
    )


@pytest.mark.parametrize(
    "name, failing",
    [
        ("NotAModule", "subclass of torch.nn.Module"),
        ("ModelSecond", "`model` is the first constructor argument"),
        ("OneArgForward", "forward(inputs, labels)"),
        ("ReturnsFloat", "forward returns a tensor or a dict of tensors"),
        ("NoGradient", "forward returns a tensor or a dict of tensors"),
        ("Crashes", "forward returns a tensor or a dict of tensors"),
    ],
)
def test_each_requirement_fails_on_its_own(custom_file, table, shared_model, name, failing):
    checks = _checks(custom_file, name, table, shared_model)
    assert not checks[failing].passed
    others = [check for title, check in checks.items() if title != failing and check.required]
    # a failed shape check also blocks the call, which is then reported as not called
    assert all(check.passed or "not called" in check.detail for check in others), checks
    assert checks["get_config_dict()"].passed and not checks["get_config_dict()"].required


def test_check_without_data_uses_the_format_example(custom_file, table):
    cls = load_custom_loss(f"{custom_file}:GoodLoss")
    assert all(check.passed for check in check_custom_loss(cls, format_name="labeled-pair", loss_table=table))


def test_load_custom_loss_from_a_module_and_its_errors(custom_file, monkeypatch):
    monkeypatch.syspath_prepend(str(custom_file.parent))
    assert load_custom_loss("my_losses:GoodLoss").__name__ == "GoodLoss"
    with pytest.raises(FitError, match="has no class 'Missing'") as caught:
        load_custom_loss(f"{custom_file}:Missing")
    assert "GoodLoss" in caught.value.hint
    with pytest.raises(FitError, match="does not exist"):
        load_custom_loss("nowhere/losses.py:GoodLoss")
    with pytest.raises(FitError, match="cannot import module"):
        load_custom_loss("no_such_package_xyz.losses:GoodLoss")
    with pytest.raises(FitError, match="needs the form"):
        load_custom_loss("GoodLoss")


# --------------------------------------------------------------------------------------------- display


def _fake_result(name: str, losses: tuple[float, ...], status: str = "ok", bad: int | None = None) -> TrialResult:
    return TrialResult(
        loss_name=name,
        format_name="pair-score",
        status=status,
        losses=losses,
        grad_norms=(None,) * len(losses),
        steps_requested=len(losses),
        first_bad_step=bad,
        first_window_mean=None,
        last_window_mean=None,
        went_down=None,
        steps_per_second=None,
        samples_per_second=None,
        time_to_first_step_s=None,
        train_seconds=None,
        peak_rss_mib=None,
        peak_cuda_mib=None,
        device="cpu",
        model_code="",
        loss_code="",
        params=(),
        train_rows=0,
        eval_rows=0,
        batch_size=4,
        learning_rate=5e-4,
        problem=None if status == "ok" else "the loss became non-finite at step 3",
    )


def test_sparkline():
    assert sparkline([3, 2, 1, 0]) == "█▆▃▁"
    assert sparkline([1.0, float("nan"), 0.0]) == "█×▁"
    assert sparkline([2.0, 2.0]) == "▅▅"
    assert len(sparkline(list(range(100)), width=10)) == 10
    assert sparkline([]) == ""


def test_write_plot_and_raise_for_failure(tmp_path):
    results = [_fake_result("MSELoss", (1.0, 0.5, 0.25)), _fake_result("BCE", (1.0, 2.0, float("nan")), "not-finite", 3)]
    path = write_plot(results, tmp_path / "curves.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(LossAdvisorError, match="cannot write the plot"):
        write_plot(results, tmp_path / "missing" / "curves.png")
    raise_for_failure(results[0])
    with pytest.raises(LossAdvisorError, match="BCE: the loss became non-finite at step 3"):
        raise_for_failure(results)


# --------------------------------------------------------------------------------------------- training


def _assert_trained(result: TrialResult, steps: int) -> None:
    assert result.ok, (result.problem, result.hint)
    assert len(result.losses) == steps
    assert all(math.isfinite(value) for value in result.losses)
    assert all(norm is not None and math.isfinite(norm) for norm in result.grad_norms)
    assert result.steps_per_second > 0
    assert result.samples_per_second == pytest.approx(result.steps_per_second * result.batch_size)
    assert 0 < result.time_to_first_step_s < result.train_seconds
    assert result.peak_rss_mib > 50
    assert result.device == "cpu"
    assert result.first_window_mean is not None and result.last_window_mean is not None
    # One outcome each: the curve's verdict follows from the window means, withheld exactly for the losses
    # that need not fall step by step (listwise losses, pos_weight BCE).
    if result.curve_judged:
        assert result.went_down is (result.last_window_mean < result.first_window_mean)
    else:
        assert result.went_down is None
        assert result.format_name == "labeled-list" or any(p.name == "pos_weight" for p in result.params)
    assert result.model_code.startswith("build_tiny_cross_encoder(texts, num_labels=")


@pytest.mark.slow
@pytest.mark.parametrize("format_name, loss_name", ROW_CASES, ids=[f"{fmt}-{loss}" for fmt, loss in ROW_CASES])
def test_every_row_trains(table, format_name, loss_name):
    result = run_trial(LOADERS[format_name](), format_name, loss_name, table, FAST)
    _assert_trained(result, FAST.steps)
    assert result.loss_code.startswith(f"losses.{loss_name}(model")
    assert result.train_rows == FAST.steps * FAST.batch_size
    expected_labels = 3 if loss_name == "CrossEntropyLoss" else 1
    assert f"num_labels={expected_labels}" in result.model_code


@pytest.mark.slow
def test_a_regression_loss_visibly_learns_and_is_evaluated(table):
    options = TrialOptions(model="tiny", steps=12, batch_size=8, eval_fraction=0.25)
    steps_seen = []
    result = run_trial(sick_scores(), "pair-score", "MSELoss", table, options, on_step=lambda s, v: steps_seen.append(s))
    _assert_trained(result, 12)
    assert steps_seen == list(range(1, 13))
    assert result.went_down and result.last_window_mean < result.first_window_mean
    assert result.model_code.endswith("identity_activation=True, max_length=128, seed=0)")
    evaluation = result.evaluation
    assert evaluation.evaluator == "CrossEncoderCorrelationEvaluator" and evaluation.metric == "spearman"
    # 64 rows cannot hold 96 training rows plus a quarter held out: a quarter of what there is (or a little more,
    # since whole anchors are held out), the rest trains
    assert 16 <= evaluation.rows < 32 and result.train_rows == 64 - evaluation.rows and evaluation.after is not None
    assert evaluation.noise is not None and result.verdict.startswith(("works", "runs", "gets worse"))


@pytest.mark.slow
def test_compare_shares_sample_and_seed_and_plots(table, tmp_path):
    options = TrialOptions(model="tiny", steps=5, batch_size=4, eval_fraction=0.2)
    results = compare(mrpc_labeled_pairs(), "labeled-pair", ["BinaryCrossEntropyLoss", "MSELoss"], table, replace_force(options))
    assert [r.loss_name for r in results] == ["BinaryCrossEntropyLoss", "MSELoss"]
    for result in results:
        _assert_trained(result, 5)
        assert result.evaluation.evaluator == "CrossEncoderClassificationEvaluator"
    # same held-out rows and same starting weights: the same score before training
    assert results[0].evaluation.before == pytest.approx(results[1].evaluation.before)
    assert results[0].train_rows == results[1].train_rows
    assert write_plot(results, tmp_path / "compare.png").stat().st_size > 1000


def replace_force(options: TrialOptions) -> TrialOptions:
    from dataclasses import replace

    # MSELoss is documented for pair-score, not labeled-pair: comparing it here needs --force
    return replace(options, force=True)


def test_compare_checks_every_loss_before_training(table, monkeypatch):
    import lossadvisor.trial.run as trial_run

    monkeypatch.setattr(trial_run, "_run_prepared", lambda *a, **k: pytest.fail("trained before checking"))
    with pytest.raises(FitError, match="LambdaLoss does not fit"):
        compare(sick_scores(), "pair-score", ["BinaryCrossEntropyLoss", "LambdaLoss"], table, FAST)


@pytest.mark.slow
def test_a_non_finite_loss_stops_the_trial_and_is_explained(table):
    data = sick_scores()
    nan_labels = data.set_column(2, "label", pa.array([float("nan")] * ROWS))
    with pytest.raises(FitError, match="NaN or infinite"):
        run_trial(nan_labels, "pair-score", "MSELoss", table, FAST)
    huge = data.set_column(2, "label", pa.array([1e30] * ROWS))
    result = run_trial(huge, "pair-score", "MSELoss", table, TrialOptions(model="tiny", steps=6, batch_size=4, force=True))
    assert result.status == "not-finite" and not result.ok
    assert result.first_bad_step == 1 and len(result.losses) == 1
    assert result.problem.startswith("the loss became non-finite at step 1: labels reach 1e+30")
    assert result.went_down is None


@pytest.mark.slow
def test_a_shape_error_is_explained_in_terms_of_the_data(table):
    data = wikiqa_labeled_list()
    labels = [gains + [0] for gains in data["label"].to_pylist()]
    broken = data.set_column(2, "label", pa.array(labels))
    with pytest.raises(FitError, match="different number of documents and labels"):
        run_trial(broken, "labeled-list", "LambdaLoss", table, FAST)
    result = run_trial(broken, "labeled-list", "LambdaLoss", table, TrialOptions(model="tiny", steps=4, batch_size=4, force=True))
    assert result.status == "error" and result.losses == ()
    assert "different number of documents and labels" in result.problem
    assert "(LambdaLoss raised ValueError: Number of documents per query" in result.problem
    assert "filter" in result.hint


@pytest.mark.slow
def test_out_of_memory_is_explained_and_the_workdir_removed(table, monkeypatch):
    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainer

    created = []
    original = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        created.append(original(*args, **kwargs))
        return created[-1]

    def oom(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setattr(CrossEncoderTrainer, "train", oom)
    result = run_trial(wikiqa_labeled_list(), "labeled-list", "ListNetLoss", table, FAST)
    assert result.status == "error"
    assert result.problem.startswith("out of memory: ListNetLoss scores up to")
    assert "the longest list has" in result.problem and "mini_batch_size" in result.hint
    assert created and not any(Path(path).exists() for path in created)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(CrossEncoderTrainer, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_trial(sick_scores(), "pair-score", "MSELoss", table, FAST)
    assert not any(Path(path).exists() for path in created)


@pytest.mark.slow
def test_a_custom_loss_trains_like_a_built_in(custom_file, table):
    cls = load_custom_loss(f"{custom_file}:DictLoss")
    result = run_trial(mrpc_labeled_pairs(), "labeled-pair", cls, table, FAST)
    _assert_trained(result, FAST.steps)
    assert result.loss_name == "DictLoss" and result.loss_code == "DictLoss(model)"
    with pytest.raises(FitError, match="fails 'forward returns a tensor or a dict of tensors'"):
        run_trial(mrpc_labeled_pairs(), "labeled-pair", load_custom_loss(f"{custom_file}:NoGradient"), table, FAST)


def test_num_labels_counts_every_named_class_as_inspect_does():
    """A ClassLabel with 5 names whose sample uses ids 0..2: 5 outputs in trial, as in inspect and the script."""
    import pyarrow as pa

    from lossadvisor.table import load_table
    from lossadvisor.trial.data_checks import infer_num_labels
    from lossadvisor.trial.loss import advise_loss

    table = pa.table({"a": ["x y z"] * 6, "b": ["u v w"] * 6, "label": [0, 1, 2, 0, 1, 2]})
    names = ("a", "b", "c", "d", "e")
    assert infer_num_labels("CrossEntropyLoss", table, load_table(), names) == 5
    assert advise_loss("CrossEntropyLoss", table, load_table(), class_names=names).num_labels == 5
    assert infer_num_labels("CrossEntropyLoss", table, load_table()) == 3


def test_max_length_is_bounded_by_the_model_positions():
    from types import SimpleNamespace

    from lossadvisor.errors import LossAdvisorError
    from lossadvisor.trial.options import TrialOptions
    from lossadvisor.trial.training import _within_positions

    model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=512))
    assert _within_positions(model, TrialOptions(model="some/model", max_length=512)) is model
    with pytest.raises(LossAdvisorError, match="beyond what some/model reads \\(512 positions\\)"):
        _within_positions(model, TrialOptions(model="some/model", max_length=4096))
