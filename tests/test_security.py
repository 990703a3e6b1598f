"""The safety promises of the README's "Safety" section, one test (or more) each.

1. Tables and configs are read with YAML's safe loader only.
2. No model or dataset code runs unless the user passes --trust-remote-code.
3. Model weights load from safetensors; pickled weights only with --trust-remote-code, and never silently.
4. Outputs never escape the path the user named; names from the data (splits, data files, columns) never
   become paths outside the dataset folder.
5. Custom loss files are imported only when the user names them; code in a data folder never runs.
6. Text from the data cannot rewrite the terminal or inject code into a generated script.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile import check_clean_failure, run_cli  # noqa: E402

from lossadvisor.cli import app  # noqa: E402
from lossadvisor.errors import LossAdvisorError, printable  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "lossadvisor"
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            yield node


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture()
def pairs_csv(tmp_path) -> Path:
    path = tmp_path / "data" / "pairs.csv"
    path.parent.mkdir()
    path.write_text("question,answer,label\n" + "".join(
        f"what is question {i // 4}?,an answer {i} with several words,{int(i % 4 == 0)}\n" for i in range(24)))
    return path


# --------------------------------------------------------------------------------------------- 1. YAML


def test_yaml_is_only_ever_safe_loaded():
    unsafe = []
    for path in SOURCES:
        for call in _calls(path):
            name = _dotted(call.func)
            if name in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"):
                unsafe.append(f"{path.name}:{call.lineno} {name}")
            elif name in ("yaml.load", "yaml.load_all"):
                loader = next((k.value for k in call.keywords if k.arg == "Loader"), call.args[1] if len(call.args) > 1 else None)
                if loader is None or "Safe" not in ast.unparse(loader):
                    unsafe.append(f"{path.name}:{call.lineno} {ast.unparse(call)}")
        text = path.read_text(encoding="utf-8")
        for word in ("yaml.Loader", "yaml.FullLoader", "yaml.UnsafeLoader", "yaml.CLoader", "yaml.CFullLoader"):
            if word in text:
                unsafe.append(f"{path.name}: {word}")
    assert not unsafe, unsafe


@pytest.mark.parametrize("payload", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name:os.system",
])
def test_a_table_with_python_tags_is_refused_and_runs_nothing(tmp_path, payload):
    marker = tmp_path / "PWNED"
    table = tmp_path / "table.yaml"
    table.write_text("rows: " + payload.format(marker=marker) + "\n")
    run = run_cli(["--table", str(table), "table"])
    message = check_clean_failure(run)
    assert "invalid YAML" in message or "could not determine a constructor" in message, message
    assert not marker.exists()


# --------------------------------------------------------------------------------------------- 2 and 3. models


def test_no_trust_remote_code_true_in_the_package():
    found = [f"{path.name}:{call.lineno}" for path in SOURCES for call in _calls(path)
             for k in call.keywords if k.arg == "trust_remote_code" and isinstance(k.value, ast.Constant) and k.value.value]
    assert not found, f"trust_remote_code=True hard-coded at {found}"


def test_datasets_cannot_run_hub_scripts():
    """datasets >= 4 dropped loading scripts (and the argument); hub datasets are streamed as data files only."""
    import inspect

    import datasets

    assert "trust_remote_code" not in inspect.signature(datasets.load_dataset).parameters


class _Recorder:
    calls: list[dict] = []

    def __init__(self, *args, **kwargs):
        _Recorder.calls.append({"args": args, **kwargs})


@pytest.mark.parametrize("trusted", [False, True])
def test_every_model_loader_passes_trust_remote_code_and_safetensors(monkeypatch, tmp_path, trusted):
    import sentence_transformers
    import sentence_transformers.cross_encoder

    from lossadvisor.convert import models
    from lossadvisor.tiny_model import load_cross_encoder, load_local_cross_encoder

    monkeypatch.setattr(sentence_transformers.cross_encoder, "CrossEncoder", _Recorder)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", _Recorder)
    _Recorder.calls = []
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"")
    load_local_cross_encoder(folder, 1, False, trust_remote_code=trusted)
    load_cross_encoder("some-org/some-model", [], 1, False, trust_remote_code=trusted)
    load_cross_encoder(str(folder), [], 1, False, trust_remote_code=trusted)
    models.load_cross_encoder(str(folder), trust_remote_code=trusted)
    models.load_cross_encoder("some-org/some-model", trust_remote_code=trusted)
    models.load_sentence_transformer(str(folder), trust_remote_code=trusted)
    assert len(_Recorder.calls) == 6
    for call in _Recorder.calls:
        assert call["trust_remote_code"] is trusted
        assert (call.get("model_kwargs") or {}).get("use_safetensors") is (None if trusted else True)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    from lossadvisor.tiny_model import save_tiny_model

    return save_tiny_model(["what is question one", "an answer with several words"], 1, tmp_path_factory.mktemp("tiny") / "m")


def _remote_code_model(tiny_folder: Path, folder: Path, marker: Path) -> Path:
    shutil.copytree(tiny_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('remote code ran')\n"
        "from transformers import BertConfig, BertForSequenceClassification\n"
        "class EvilConfig(BertConfig):\n    pass\n"
        "class EvilModel(BertForSequenceClassification):\n    config_class = EvilConfig\n"
    )
    return folder


@pytest.mark.slow
def test_model_code_runs_only_when_trusted(tiny_folder, tmp_path, pairs_csv):
    from lossadvisor.tiny_model import load_local_cross_encoder

    marker = tmp_path / "PWNED"
    model = _remote_code_model(tiny_folder, tmp_path / "remote", marker)
    run = run_cli(["trial", str(pairs_csv), "--loss", "BinaryCrossEntropyLoss", "--model", str(model), "--steps", "1"],
                  limit=300)
    assert run.code in (0, 2) and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert not marker.exists(), "the model's own code ran without --trust-remote-code"
    load_local_cross_encoder(model, 1, False, trust_remote_code=True)
    assert marker.exists(), "the control: with trust_remote_code the model's code does run"


def _cli_has(command: str, flag: str) -> bool:
    return flag in CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "300"}).stdout


@pytest.mark.slow
def test_trust_remote_code_flag_reaches_the_model(tiny_folder, tmp_path, pairs_csv):
    assert _cli_has("trial", "--trust-remote-code")
    marker = tmp_path / "PWNED"
    model = _remote_code_model(tiny_folder, tmp_path / "remote", marker)
    run = run_cli(["trial", str(pairs_csv), "--loss", "BinaryCrossEntropyLoss", "--model", str(model), "--steps", "1",
                   "--trust-remote-code"], limit=300)
    assert run.code == 0, run.stderr
    assert marker.exists()


class _Boom:
    """A pickle that runs code when loaded."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _pickle_model(tiny_folder: Path, folder: Path, marker: Path) -> Path:
    shutil.copytree(tiny_folder, folder)
    (folder / "model.safetensors").unlink()
    with open(folder / "pytorch_model.bin", "wb") as handle:
        pickle.dump(_Boom(str(marker)), handle)
    return folder


def test_pickled_weights_are_refused_with_one_line(tiny_folder, tmp_path, pairs_csv):
    marker = tmp_path / "PWNED"
    model = _pickle_model(tiny_folder, tmp_path / "pickled", marker)
    run = run_cli(["trial", str(pairs_csv), "--loss", "BinaryCrossEntropyLoss", "--model", str(model), "--steps", "1"],
                  limit=300)
    message = check_clean_failure(run)
    assert "holds its weights only as pickles (pytorch_model.bin)" in message
    assert "--trust-remote-code" in run.stderr
    positives = tmp_path / "positives.csv"  # (anchor, positive) pairs: --to triplet mines with the --model
    positives.write_text("question,answer\n" + "".join(f"what is question {i}?,an answer {i} with words\n" for i in range(12)))
    run = run_cli(["convert", str(positives), "--to", "triplet", "--model", str(model), "-o", str(tmp_path / "out")])
    assert "holds its weights only as pickles" in check_clean_failure(run)
    assert not marker.exists()


def test_the_tiny_model_is_saved_as_safetensors(tiny_folder):
    names = {p.name for p in tiny_folder.iterdir()}
    assert "model.safetensors" in names
    assert not any(Path(n).suffix in (".bin", ".pt", ".pth", ".pkl") for n in names)


# --------------------------------------------------------------------------------------------- 4. paths

HOSTILE_NAMES = ["../../escaped", "/tmp/absolute", "..", "a/b", "x\\..\\y", "~"]


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv", ""])
def test_outputs_stay_where_the_user_named_them(tmp_path, suffix):
    """Column names that look like paths are data: the output is OUT and nothing else, wherever the names point."""
    work = tmp_path / "work"
    work.mkdir()
    data = work / "in.parquet"
    n = 24
    columns = {"question": [f"what is question {i // 4}?" for i in range(n)],
               "answer": [f"an answer {i} with words" for i in range(n)]}
    for name in HOSTILE_NAMES:
        columns[name] = [f"value {i // 4}" for i in range(n)]  # groups of 4 with one positive each: lists to rank
    columns["label"] = [int(i % 4 == 0) for i in range(n)]
    pq.write_table(pa.table(columns), data)
    before = _snapshot(tmp_path)
    out = work / "out" / f"result{suffix}"
    out.parent.mkdir()
    for args in (["--fix"], ["--to", "labeled-list", "--inputs", "../../escaped,answer", "--label", "label"]):
        destination = out.with_name(out.name + ("-" + args[1] if args[0] == "--to" else ""))
        if suffix:
            destination = out.with_name(f"{out.stem}-{len(args)}{suffix}")
        run = run_cli(["convert", str(data), *args, "-o", str(destination)])
        # '../../escaped' is a column of this data: a name, never a path. Both conversions succeed, except that a
        # CSV cannot hold the lists of a labeled-list: that one is refused in one line.
        if suffix == ".csv" and args[0] == "--to":
            assert run.code == 2 and "CSV cannot hold the list column(s)" in run.stderr, run.stderr
            check_clean_failure(run)
        else:
            assert run.code == 0, run.stderr
    after = _snapshot(tmp_path)
    new = sorted(after - before - {"work/out"})
    assert all(name.startswith("work/out/result") for name in new), new
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/absolute").exists()


def test_trial_and_scaffold_write_only_what_they_are_told(pairs_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    script = tmp_path / "scripts" / "train.py"
    script.parent.mkdir()
    assert run_cli(["scaffold", str(pairs_csv), "--loss", "BinaryCrossEntropyLoss", "-o", str(script)]).code == 0
    assert _snapshot(tmp_path) - before == {"scripts", "scripts/train.py"}


# --------------------------------------------------------------------------------------------- 5. custom code

BAIT = "open({marker!r}, 'a').write({name!r} + '\\n')\n"


def _bait_folder(folder: Path, marker: Path) -> None:
    """Python files a careless tool might import: in the data folder and in the working folder."""
    for name in ("loss.py", "losses.py", "__init__.py", "sitecustomize.py", "usercustomize.py", "conftest.py",
                 "BinaryCrossEntropyLoss.py", "MyLoss.py", "lossadvisor_custom.py"):
        (folder / name).write_text(BAIT.format(marker=str(marker), name=name))


@pytest.mark.slow
def test_code_in_data_or_working_folders_never_runs(pairs_csv, tmp_path, monkeypatch):
    marker = tmp_path / "IMPORTED"
    _bait_folder(pairs_csv.parent, marker)
    work = tmp_path / "cwd"
    work.mkdir()
    _bait_folder(work, marker)
    monkeypatch.chdir(work)
    spec = str(pairs_csv.parent)  # the folder: its .py files sit beside the data
    for args in (["inspect", spec], ["convert", spec, "--fix", "-o", str(tmp_path / "out")],
                 ["scaffold", spec, "--loss", "BinaryCrossEntropyLoss", "-o", str(tmp_path / "train.py")],
                 ["trial", spec, "--loss", "BinaryCrossEntropyLoss", "--steps", "1"],
                 ["trial", spec, "--loss", "MyLoss", "--steps", "1"]):
        run = run_cli(args, limit=300)
        assert run.code in (0, 2) and "Traceback" not in run.stderr, (args, run.stderr[-2000:])
    assert not marker.exists(), f"imported: {marker.read_text()}"


def test_a_named_custom_loss_file_is_imported(tmp_path):
    """The control: naming the file is what imports it (and the error says what is wrong with it)."""
    from lossadvisor.trial import load_custom_loss

    marker = tmp_path / "IMPORTED"
    loss_file = tmp_path / "my_loss.py"
    loss_file.write_text(BAIT.format(marker=str(marker), name="my_loss.py") + "class MyLoss:\n    pass\n")
    assert load_custom_loss(f"{loss_file}:MyLoss").__name__ == "MyLoss"
    assert marker.read_text() == "my_loss.py\n"


EXITING_LOSS = """
import sys
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

{at_import}

class ExitingLoss(BinaryCrossEntropyLoss):
    def __init__(self, model):
        super().__init__(model)
        self.calls = 0
        {at_init}

    def forward(self, inputs, labels):
        self.calls += 1
        if self.calls >= {exit_at_call}:
            {in_forward}
        return super().forward(inputs, labels)
"""


@pytest.mark.parametrize("where", ["import", "init", "forward-check", "forward-training", "code-2"])
def test_sys_exit_in_a_custom_loss_is_the_loss_failing(pairs_csv, tmp_path, where):
    """sys.exit(0) in user code used to end `trial` with exit 0 and nothing trained (issue 15, item 10)."""
    code = "sys.exit(2)" if where == "code-2" else "sys.exit(0)"
    parts = {"at_import": code if where == "import" else "", "at_init": code if where == "init" else "pass",
             "in_forward": code if where.startswith(("forward", "code")) else "pass",
             # the custom-loss check calls forward once; the trainer's calls come after it
             "exit_at_call": 3 if where == "forward-training" else 1}
    loss_file = tmp_path / "exiting_loss.py"
    loss_file.write_text(EXITING_LOSS.format(**parts))
    run = run_cli(["trial", str(pairs_csv), "--loss", f"{loss_file}:ExitingLoss", "--steps", "4", "--batch-size", "4",
                   "--json"], limit=300)
    message = check_clean_failure(run)
    assert "sys.exit" in message, message


def test_ctrl_c_in_a_custom_loss_stays_ctrl_c(pairs_csv, tmp_path):
    loss_file = tmp_path / "interrupting_loss.py"
    loss_file.write_text("raise KeyboardInterrupt\n")
    run = run_cli(["trial", str(pairs_csv), "--loss", f"{loss_file}:Anything", "--steps", "1"])
    assert run.code == 130 and "Interrupted" in run.stderr, (run.code, run.stderr[-2000:])


# --------------------------------------------------------------------------------------------- 6. text from the data


def test_messages_show_control_characters_as_escapes():
    assert printable("a\x1b[2Jb\nc\u202ed\x07") == "a\\x1b[2Jb\\nc\\u202ed\\x07"
    error = LossAdvisorError("column 'x\x1b]0;owned\x07' is\nmissing", "rename\r it")
    assert "\x1b" not in error.message and "\n" not in error.message and "\r" not in error.hint


def test_an_error_quoting_a_hostile_column_stays_one_line(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"q\x1b[2J\nnext": f"text {i} here", "answer": f"answer {i}"}) + "\n" for i in range(5)))
    run = run_cli(["inspect", str(data), "--inputs", "q\x1b[2J\nnext,missing"])
    message = check_clean_failure(run)
    assert "\x1b" not in run.stderr and "missing" in message


def _called_names(script: str) -> set[str]:
    tree = ast.parse(script)
    return {_dotted(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


def test_scaffold_keeps_hostile_paths_and_names_as_text(tmp_path):
    """A file name and column names crafted to close the docstring or a string: the script's code is unchanged."""
    payload = '"""; import os; os.system("touch PWNED"); x = """'
    scripts = {}
    for kind, file_name, column in (("benign", "data.csv", "question"), ("hostile", f"d{payload}.csv", 'q"""; __import__("os").system("id") #\'])')):
        folder = tmp_path / kind
        folder.mkdir()
        path = folder / file_name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([column, "answer", "label"])
            writer.writerows([f"what is question {i // 4}?", f"an answer {i} with words", int(i % 4 == 0)] for i in range(24))
        script = folder / "train.py"
        run = run_cli(["scaffold", str(path), "--loss", "BinaryCrossEntropyLoss", "-o", str(script)])
        assert run.code == 0, run.stderr
        scripts[kind] = script.read_text(encoding="utf-8")
    assert _called_names(scripts["hostile"]) == _called_names(scripts["benign"])
    tree = ast.parse(scripts["hostile"])
    assert payload in ast.get_docstring(tree)
