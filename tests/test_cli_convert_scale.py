"""convert's scale flags reach the core options as the user wrote them (the core's use of them: test_mine_scale.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lossadvisor.cli import app
from lossadvisor.convert import command as command_module


@pytest.fixture
def captured(monkeypatch):
    seen = {}

    def fake_convert(dataset, to, output, loss_table, options, **kwargs):
        seen["options"] = options
        raise SystemExit(0)

    monkeypatch.setattr(command_module, "convert_dataset", fake_convert)
    return seen


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"device": None, "use_faiss": None, "multi_process": False, "batch_size": 32, "faiss_batch_size": 16384}),
        (["--device", "cpu", "--no-faiss", "--multi-process", "cpu, cpu", "--batch-size", "8"],
         {"device": "cpu", "use_faiss": False, "multi_process": ("cpu", "cpu"), "batch_size": 8}),
        (["--use-faiss", "--multi-process", "all", "--faiss-batch-size", "512"],
         {"use_faiss": True, "multi_process": True, "faiss_batch_size": 512}),
    ],
)
def test_scale_flags_reach_the_options(captured, tmp_path, flags, expected):
    data = tmp_path / "pairs.csv"
    data.write_text("query,answer\nwhat is bm25,a ranking function\n")
    CliRunner().invoke(app, ["convert", str(data), "--to", "triplet", "-o", str(tmp_path / "out"), *flags])
    options = captured["options"]
    for name, value in expected.items():
        assert getattr(options, name) == value, name


def test_a_bad_batch_size_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["convert", "x.csv", "--to", "triplet", "-o", str(tmp_path / "o"), "--batch-size", "0"])
    assert result.exit_code == 2
