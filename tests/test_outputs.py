"""Where the commands write (lossadvisor/outputs.py): issue 15, items 1-3.

1. `--overwrite` replaces only what lossadvisor would itself have written: a folder holding nothing but a saved
   dataset, or a file of the output's kind; never the working folder or a folder above it.
2. No command writes over one of its inputs (the dataset, --corpus, --table), with or without --overwrite,
   by the same path, a link or a hard link.
3. `trial --plot` follows the same rules, checked before any training: atomic, no clobber without
   --overwrite, links not followed, a folder refused, the suffix one matplotlib writes.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile import check_clean_failure, run_cli, tree_digest  # noqa: E402

from lossadvisor import outputs  # noqa: E402
from lossadvisor.errors import FitError  # noqa: E402
from lossadvisor.table import default_table_path  # noqa: E402

LOSS = "BinaryCrossEntropyLoss"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture()
def work(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture()
def pairs(work) -> Path:
    path = work / "pairs.csv"
    lines = ["sentence1,sentence2,label"] + [f"what is item {i},this passage is about item {i * 7 % 40},{i % 2}"
                                             for i in range(40)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refused(args: list[str], *fragments: str) -> str:
    run = run_cli(args)
    message = check_clean_failure(run)
    for fragment in fragments:
        assert fragment in message, message
    return message


# --------------------------------------------------------------------------------------------- 1. --overwrite


def test_a_folder_that_merely_holds_state_json_is_not_replaced(pairs, work):
    """The issue's reproduction: `notes.txt` beside a planted state.json used to be deleted."""
    folder = work / "p"
    folder.mkdir()
    (folder / "notes.txt").write_text("x\n")
    (folder / "state.json").write_text("{}")
    before = tree_digest(folder)
    refused(["convert", str(pairs), "--fix", "-o", str(folder), "--overwrite"], "not a saved dataset")
    assert tree_digest(folder) == before


@pytest.mark.parametrize("extra", ["notes.txt", "sub/keep.txt", "cache-123.arrow"])
def test_a_saved_dataset_with_anything_else_in_it_is_not_replaced(pairs, work, extra):
    out = work / "saved"
    assert run_cli(["convert", str(pairs), "--fix", "-o", str(out)]).code == 0
    (out / extra).parent.mkdir(exist_ok=True)
    (out / extra).write_text("mine")
    before = tree_digest(out)
    refused(["convert", str(pairs), "--fix", "-o", str(out), "--overwrite"], "refusing to replace it")
    assert tree_digest(out) == before


def test_what_convert_wrote_is_replaced_with_overwrite(pairs, work):
    """The control: a folder, a dataset dict and a file lossadvisor wrote are replaced."""
    from datasets import DatasetDict, load_from_disk

    folder, single = work / "saved", work / "out.parquet"
    for out in (folder, single):
        assert run_cli(["convert", str(pairs), "--fix", "-o", str(out)]).code == 0
        run = run_cli(["convert", str(pairs), "--fix", "-o", str(out), "--overwrite"])
        assert run.code == 0, run.stderr
    split = load_from_disk(str(folder))
    DatasetDict({"train": split, "test": split}).save_to_disk(str(work / "dict"))
    assert outputs.is_saved_dataset(work / "dict")
    assert run_cli(["convert", str(pairs), "--fix", "-o", str(work / "dict"), "--overwrite"]).code == 0
    assert load_from_disk(str(work / "dict")).num_rows == 40


def test_a_file_is_not_replaced_by_a_dataset_folder(pairs, work):
    mine = work / "results"  # no suffix: convert would write a save_to_disk folder here
    mine.write_text("my notes")
    refused(["convert", str(pairs), "--fix", "-o", str(mine), "--overwrite"], "not a saved dataset folder")
    assert mine.read_text() == "my notes"


def test_the_working_folder_and_the_folders_above_it_are_never_replaced(pairs, work, monkeypatch):
    here = work / "here"
    here.mkdir()
    (here / "notes.txt").write_text("mine")
    (here / "state.json").write_text("{}")  # what made the old check take the folder for a dataset
    monkeypatch.chdir(here)
    before = tree_digest(work)
    for out in (here, Path("."), work, Path(".."), Path(here.anchor)):
        refused(["convert", str(pairs), "--fix", "-o", str(out), "--overwrite"])
    assert tree_digest(work) == before


# --------------------------------------------------------------------------------------------- 2. never an input


def test_scaffold_never_writes_over_its_input(pairs):
    before = pairs.read_bytes()
    refused(["scaffold", str(pairs), "--loss", LOSS, "-o", str(pairs), "--overwrite"], "would overwrite the input")
    assert pairs.read_bytes() == before


def test_convert_never_writes_over_its_corpus(pairs, work):
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpus = work / "corpus.parquet"
    pq.write_table(pa.table({"text": [f"an extra document number {i}" for i in range(30)]}), corpus)
    before = corpus.read_bytes()
    refused(["convert", str(pairs), "--to", "triplet", "--corpus", str(corpus), "-o", str(corpus), "--overwrite"],
            "would overwrite the input")
    assert corpus.read_bytes() == before


def test_no_command_writes_over_the_loss_table(pairs, work):
    table = work / "table.py"  # a YAML table under a name scaffold could write
    table.write_bytes(default_table_path().read_bytes())
    before = table.read_bytes()
    refused(["--table", str(table), "scaffold", str(pairs), "--loss", LOSS, "-o", str(table), "--overwrite"],
            "would overwrite the input")
    assert table.read_bytes() == before


def test_a_hard_link_or_symlink_to_the_input_is_the_input(pairs, work):
    hard, soft = work / "hard.csv", work / "soft.csv"
    os.link(pairs, hard)
    soft.symlink_to(pairs)
    before = pairs.read_bytes()
    refused(["convert", str(pairs), "--fix", "-o", str(hard), "--overwrite"], "would overwrite the input")
    refused(["convert", str(pairs), "--fix", "-o", str(soft), "--overwrite"])
    assert pairs.read_bytes() == before and soft.is_symlink()


def test_an_output_inside_or_above_a_dataset_folder_is_refused(pairs, work):
    data = work / "data"
    assert run_cli(["convert", str(pairs), "--fix", "-o", str(data)]).code == 0
    before = tree_digest(data)
    refused(["scaffold", str(data), "--loss", LOSS, "-o", str(data / "train.py")], "would overwrite the input")
    refused(["convert", str(data), "--fix", "-o", str(data / "again.parquet")], "would overwrite the input")
    refused(["convert", str(data), "--fix", "-o", str(data), "--overwrite"], "would overwrite the input")
    assert tree_digest(data) == before


# --------------------------------------------------------------------------------------------- 3. trial --plot


@pytest.fixture()
def no_training(monkeypatch):
    """The plot path is judged before any work: training at all is a failure of the test."""
    from lossadvisor import trial

    def trained(*args, **kwargs):
        raise AssertionError("trained before checking --plot")

    monkeypatch.setattr(trial, "run_trial", trained)
    monkeypatch.setattr(trial, "compare", trained)


def _trial(pairs: Path, plot: Path, *extra: str) -> list[str]:
    return ["trial", str(pairs), "--loss", LOSS, "--steps", "2", "--plot", str(plot), *extra]


def test_plot_never_clobbers_without_overwrite(pairs, work, no_training):
    plot = work / "curve.png"
    plot.write_bytes(b"my own picture")
    refused(_trial(pairs, plot), "already exists")
    assert plot.read_bytes() == b"my own picture"


def test_plot_never_writes_through_a_link(pairs, work, no_training):
    victim = work / "victim.txt"
    victim.write_text("precious")
    plot = work / "curve.png"
    plot.symlink_to(victim)
    for extra in ((), ("--overwrite",)):
        refused(_trial(pairs, plot, *extra), "symbolic link")
    assert victim.read_text() == "precious" and plot.is_symlink()


@pytest.mark.parametrize("name", ["plots", "plots.png"])
def test_plot_into_a_folder_is_refused(pairs, work, no_training, name):
    folder = work / name
    folder.mkdir()
    refused(_trial(pairs, folder, "--overwrite"))
    assert not (work / f"{name}.png").exists() and not list(folder.iterdir())


@pytest.mark.parametrize("name", ["curve.xyz", "curve", "curve.png.txt"])
def test_plot_suffix_is_checked_before_training(pairs, work, no_training, name):
    refused(_trial(pairs, work / name), "a plot is written as")
    assert sorted(p.name for p in work.iterdir()) == ["pairs.csv"]


@pytest.mark.parametrize("special", ["fifo", "dev-null"])
def test_plot_at_a_fifo_or_device_is_refused(pairs, work, no_training, special):
    plot = work / "curve.png"
    if special == "fifo":
        os.mkfifo(plot)
    else:
        plot.symlink_to("/dev/null")
    refused(_trial(pairs, plot, "--overwrite"))


@pytest.mark.filterwarnings("ignore:No artists")
def test_a_full_disk_leaves_no_half_plot(work, monkeypatch):
    """savefig failing half way (ENOSPC) leaves no truncated plot, no temporary file, and an old plot whole."""
    from matplotlib.figure import Figure

    from lossadvisor.errors import LossAdvisorError
    from lossadvisor.trial import write_plot

    def half_written(self, target, *args, **kwargs):
        Path(target).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    plot = work / "curve.png"
    with pytest.raises(LossAdvisorError, match="No space left"):
        write_plot([], plot)
    assert list(work.iterdir()) == []
    plot.write_bytes(b"the previous complete plot")
    with pytest.raises(LossAdvisorError, match="No space left"):
        write_plot([], plot, overwrite=True)
    assert plot.read_bytes() == b"the previous complete plot"
    assert sorted(p.name for p in work.iterdir()) == ["curve.png"]


@pytest.mark.slow
def test_plot_is_written_and_replaced_with_overwrite(pairs, work):
    plot = work / "curve.svg"
    assert run_cli(_trial(pairs, plot), limit=300).code == 0
    assert plot.read_bytes().lstrip().startswith(b"<?xml")
    plot.write_text("old")
    assert run_cli(_trial(pairs, plot, "--overwrite"), limit=300).code == 0
    assert plot.read_text() != "old"
    assert sorted(p.name for p in work.iterdir()) == ["curve.svg", "pairs.csv"]


# --------------------------------------------------------------------------------------------- the module itself


def test_atomic_write_publishes_complete_files_only(tmp_path):
    out = tmp_path / "a.txt"
    outputs.atomic_write(out, lambda t: t.write_text("one"))
    with pytest.raises(FitError, match="already exists"):
        outputs.atomic_write(out, lambda t: t.write_text("two"))
    assert out.read_text() == "one"

    def boom(t: Path) -> None:
        t.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        outputs.atomic_write(out, boom, overwrite=True)
    assert out.read_text() == "one" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    outputs.atomic_write(out, lambda t: t.write_text("three"), overwrite=True)
    assert out.read_text() == "three"


def test_publish_keeps_a_link_planted_after_the_check(tmp_path):
    """The race: OUT checked, then replaced by a link before the rename. The link and its target stay."""
    victim, out = tmp_path / "victim", tmp_path / "out.png"
    victim.write_text("precious")
    out.symlink_to(victim)
    temporary = tmp_path / ".out.png.tmp"
    temporary.write_text("new")
    for overwrite in (False, True):
        with pytest.raises(FitError):
            outputs.publish(temporary, out, overwrite)
    assert out.is_symlink() and victim.read_text() == "precious"
