"""The one place that renders `lossadvisor …` command lines: quoting, required flags, option lookup."""

from __future__ import annotations

import shlex

from lossadvisor.commands import CommandLine, convert_command, dataset_argument


def test_convert_command_always_carries_an_output():
    line = convert_command("data dir/train.csv", "triplet")
    assert line.option("-o") == "triplet-dataset"
    assert shlex.split(line.render()) == ["lossadvisor", "convert", "data dir/train.csv", "--to", "triplet", "-o", "triplet-dataset"]


def test_fix_command_has_no_format_and_the_fix_output():
    line = convert_command("x.csv")
    assert line.has("--fix") and line.option("--to") is None
    assert line.render() == "lossadvisor convert x.csv --fix -o fixed-dataset"


def test_a_dataset_that_looks_like_an_option_is_made_a_path():
    assert dataset_argument("-x.csv").endswith("-x.csv") and not dataset_argument("-x.csv").startswith("-")
    assert CommandLine("inspect", "-x.csv").argv()[1] != "-x.csv"


def test_extra_options_keep_their_order_and_quote_values():
    line = convert_command("a.csv", "triplet", "out", ("--positive-class", "two words")).with_option("--overwrite")
    assert line.argv()[-3:] == ["--positive-class", "two words", "--overwrite"]
    assert "'two words'" in line.render()
