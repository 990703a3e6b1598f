"""The examples every command's `--help` ends with, held as `CommandLine`s (data, rendered in one place).

tests/test_cli_help.py parses each of them with the real command, so an example that names a flag the command
no longer has fails a test, not a user.
"""

from __future__ import annotations

import inspect

from lossadvisor.commands import CommandLine

START_HERE = CommandLine("inspect", "examples/support_faq.csv")

EXAMPLES: dict[str, tuple[tuple[str, CommandLine], ...]] = {
    "table": (
        ("every format and its losses", CommandLine("table")),
        ("only the rows of one format", CommandLine("table", None, (("--format", "labeled-list"),))),
        ("compare the table with the installed library", CommandLine("table", None, (("--check", None),))),
        ("as JSON, for scripts", CommandLine("table", None, (("--json", None),))),
    ),
    "explain": (
        ("the data a loss wants and how to build it", CommandLine("explain", "ListNetLoss")),
        ("case and the Loss suffix are forgiven", CommandLine("explain", "lambda")),
        ("as JSON", CommandLine("explain", "MarginMSELoss", (("--json", None),))),
    ),
    "inspect": (
        ("format, losses and traps of a file", CommandLine("inspect", "data/train.csv")),
        ("one split of a save_to_disk folder", CommandLine("inspect", "my_dataset", (("--split", "train"),))),
        ("choose the columns yourself", CommandLine("inspect", "qa.parquet", (("--inputs", "question,answer"), ("--label", "is_relevant")))),
        ("read 0/1 labels as two classes", CommandLine("inspect", "pairs.csv", (("--as", "pair-class"),))),
        ("a hub dataset, as JSON", CommandLine("inspect", "sentence-transformers/stsb", (("--json", None),))),
    ),
    "convert": (
        ("apply inspect's fixes only", CommandLine("convert", "data.csv", (("--fix", None), ("-o", "fixed")))),
        ("mine hard negatives into triplets", CommandLine("convert", "qa_pairs.csv", (("--to", "triplet"), ("-o", "triplets.parquet")))),
        ("labeled lists of 5 mined negatives", CommandLine("convert", "qa_pairs.csv", (("--to", "labeled-list"), ("-o", "lists"),
                                                                                     ("--num-negatives", "5")))),
        ("classes into pairs, class 0 positive", CommandLine("convert", "snli.parquet", (("--to", "labeled-pair"), ("-o", "pairs"),
                                                                                       ("--positive-class", "0")))),
        ("margins from a CrossEncoder teacher (a folder or cached id)", CommandLine("convert", "t.parquet", (("--to", "triplet-margin"), ("-o", "m"),
                                                                               ("--teacher", "my-reranker")))),
    ),
    "trial": (
        ("smoke-train one loss on a tiny local model", CommandLine("trial", "data.jsonl", (("--loss", "ListNetLoss"),))),
        ("every loss that fits, side by side", CommandLine("trial", "data.jsonl", (("--compare", "fitting"),))),
        ("longer, with a curve", CommandLine("trial", "data.jsonl", (("--loss", "LambdaLoss"), ("--steps", "50"), ("--plot", "curve.png")))),
        ("a held-out metric before and after", CommandLine("trial", "pairs.csv", (("--loss", "BinaryCrossEntropyLoss"),
                                                                                  ("--eval-fraction", "0.2")))),
        ("your own loss class", CommandLine("trial", "data.jsonl", (("--loss", "my_loss.py:MyLoss"),))),
    ),
    "scaffold": (
        ("a training script for the tiny model", CommandLine("scaffold", "data.parquet", (("--loss", "BinaryCrossEntropyLoss"),
                                                                                        ("-o", "train.py")))),
        ("on a real base model", CommandLine("scaffold", "data.csv", (("--loss", "LambdaLoss"), ("-o", "train.py"),
                                                                           ("--model", "bert-base-uncased")))),
        ("three epochs, batch 32, replacing the script", CommandLine("scaffold", "scores.csv", (
            ("--loss", "MSELoss"), ("-o", "train.py"), ("--epochs", "3"), ("--batch-size", "32"), ("--overwrite", None)))),
    ),
    "advise": (
        ("a guided session (asks for the dataset)", CommandLine("advise")),
        ("a guided session over one file", CommandLine("advise", "data/train.csv")),
        ("no questions: print the plan", CommandLine("advise", "data/train.csv", (("--no-input", None),))),
        ("no questions: fix the data and trial a loss", CommandLine("advise", "data/train.csv", (("--no-input", None),
                                                                                                ("--run", "fix,trial")))),
    ),
}


def _markup(text: str) -> str:
    return text.replace("[", "\\[")


def epilog(name: str) -> str:
    """The `Examples:` block of one command's help (rich markup; one example a line, its purpose as a comment)."""
    lines = [f"  [dim]# {_markup(why)}[/dim]\n  [cyan]{_markup(line.render())}[/cyan]" for why, line in EXAMPLES[name]]
    return "[bold]Examples:[/bold]\n" + "\n".join(lines)


def app_epilog() -> str:
    """The end of `lossadvisor --help`: where to start."""
    return ("[bold]Start here[/bold], with the bundled example (examples/ in the clone, lossadvisor/examples/ when installed):\n"
            f"  [cyan]{_markup(START_HERE.render())}[/cyan]\n"
            "Every command: lossadvisor COMMAND --help. Exit codes: 0 ok, 2 bad input or arguments, 1 internal error, "
            "130 interrupted, 141 output pipe closed (as `| head`).")


def help_text(command) -> str:
    """A command's docstring as help: paragraphs kept, the line breaks inside a paragraph joined (typer keeps them)."""
    paragraphs = inspect.cleandoc(command.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
