"""`lossadvisor convert DATASET --to FORMAT -o OUT`: fixes, class sampling, hard-negative mining, teacher labels."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lossadvisor.cli.context import context_of, handles_errors, out
from lossadvisor.cli.options import (
    AsOpt,
    FamilyOpt,
    InputsOpt,
    JsonOpt,
    LabelOpt,
    NegativesPolicy,
    OverwriteOpt,
    Sampling,
    ScoreRangeOpt,
    SeedOpt,
    column_choice,
    finite,
    formats_help,
    parse_range,
)

Float = Optional[float]
KEEP_CONSTANT_HELP = "Keep the lists whose labels are all equal (nothing to rank), which --to labeled-list and --fix drop."


@handles_errors
def convert_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The dataset (as for inspect). It is never modified.", metavar="DATASET")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A save_to_disk folder, or a .parquet / .jsonl / .csv file by its suffix.")],
    to: Annotated[Optional[str], typer.Option("--to", "-t", help=formats_help("Target format (plurals accepted)."))] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Only apply inspect's fixes, keeping the format.")] = False,
    overwrite: OverwriteOpt = False,
    split: Annotated[Optional[str], typer.Option("--split", help="Split to convert.")] = None,
    inputs: InputsOpt = None,
    label: LabelOpt = None,
    read_as: AsOpt = None,
    score_range: ScoreRangeOpt = None,
    positive_class: Annotated[Optional[str], typer.Option("--positive-class", help="Class (name or id) that marks a positive pair.")] = None,
    negative_class: Annotated[Optional[str], typer.Option("--negative-class", show_default="every other class",
                                                        help="Only this class gives negatives.")] = None,
    num_negatives: Annotated[Optional[int], typer.Option("--num-negatives", min=1, show_default="3 when mining; an n-tuple: the fewest negatives any anchor has",
                                                          help="Negatives per anchor.")] = None,
    gain: Annotated[Optional[str], typer.Option("--gain", help=(
        "Map graded labels to gains: CODE=GAIN,... (e.g. 1=4,2=3,3=2,4=1,-1=0), or a preset: cranfield, clip."))] = None,
    negatives_policy: Annotated[NegativesPolicy, typer.Option("--negatives-policy", help=(
        "Ragged negative lists into n-tuples: truncate to the shortest, pad by repeating, or drop short rows."))] = NegativesPolicy.truncate,
    keep_constant_lists: Annotated[bool, typer.Option("--keep-constant-lists", help=KEEP_CONSTANT_HELP)] = False,
    range_min: Annotated[int, typer.Option("--range-min", min=0, help="Skip the closest N candidates when mining.")] = 0,
    range_max: Annotated[Optional[int], typer.Option("--range-max", min=1, show_default="range-min + num-negatives + positives (x10 negatives with a threshold)",
                                                       help="Consider at most N candidates when mining.")] = None,
    max_score: Annotated[Float, typer.Option("--max-score", callback=finite, help="Candidates scoring above this are not negatives.")] = None,
    absolute_margin: Annotated[Float, typer.Option("--absolute-margin", callback=finite, help="A negative must score this much below the positive.")] = None,
    relative_margin: Annotated[Float, typer.Option("--relative-margin", callback=finite, help="A negative must score this fraction below the positive.")] = None,
    sampling: Annotated[Sampling, typer.Option("--sampling", help="How negatives are picked among the candidates.")] = Sampling.top,
    scores: Annotated[bool, typer.Option("--scores", help="Similarity scores instead of 0/1 labels (like output_scores).")] = False,
    corpus: Annotated[Optional[Path], typer.Option("--corpus", help="Extra candidate documents: a .txt (one per line) or a data file.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", show_default="bm25", help="Dense miner: a SentenceTransformer folder or cached id.")] = None,
    rescore: Annotated[Optional[str], typer.Option("--rescore", help="A CrossEncoder to drop false negatives.")] = None,
    teacher: Annotated[Optional[str], typer.Option("--teacher", help=(
        "A teacher for the distillation formats: a CrossEncoder (its scores), or a SentenceTransformer / SparseEncoder "
        "(its similarity scores; its embeddings for input-embeddings). Read from the model's folder."))] = None,
    device: Annotated[Optional[str], typer.Option("--device", help=(
        "Where --model, --rescore and --teacher run: cpu, cuda, cuda:1, mps."), show_default="the library's choice")] = None,
    use_faiss: Annotated[Optional[bool], typer.Option("--use-faiss/--no-faiss", help=(
        "Dense mining searches a faiss index."), show_default="when faiss is installed")] = None,
    multi_process: Annotated[Optional[str], typer.Option("--multi-process", help=(
        "Dense mining encodes in several processes: 'all' (every GPU, else CPU cores) or devices such as cuda:0,cuda:1."))] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Encoding batch size of --model, --rescore and --teacher.")] = 32,
    faiss_batch_size: Annotated[int, typer.Option("--faiss-batch-size", min=1, help="Queries per faiss search (with --use-faiss).")] = 16384,
    seed: SeedOpt = 42,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help=(
        "Let --model, --rescore and --teacher run their own code (auto_map) and load pickled weights. Only for models you trust."))] = False,
    family: FamilyOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Reshape a dataset into the format a loss needs: fixes, class sampling, hard-negative mining, teacher labels.

    The losses it unlocks and the verdict on the output are for --family (CrossEncoder rerankers by default).
    """
    from lossadvisor.convert import ConvertOptions
    from lossadvisor.convert.gain import parse_gain

    options = ConvertOptions(
        seed=seed, positive_class=positive_class, negative_class=negative_class, num_negatives=num_negatives,
        range_min=range_min, range_max=range_max, max_score=max_score, absolute_margin=absolute_margin,
        relative_margin=relative_margin, sampling=Sampling(sampling).value, scores=scores,
        corpus=read_corpus(corpus) if corpus else None, miner=model or "bm25", rescore=rescore, teacher=teacher,
        trust_remote_code=trust_remote_code, negatives_policy=NegativesPolicy(negatives_policy).value,
        keep_constant_lists=keep_constant_lists,
        device=device, use_faiss=use_faiss, multi_process=multi_process_devices(multi_process), batch_size=batch_size,
        faiss_batch_size=faiss_batch_size,
    )
    kwargs = dict(fix_only=fix, overwrite=overwrite, split=split, choice=column_choice(inputs, label), reading=read_as,
                  score_range=parse_range(score_range), gain=parse_gain(gain) if gain else None,
                  other_inputs=(corpus, context_of(ctx).table))
    _convert_and_show(dataset, None if fix else to, output, context_of(ctx).loss_table(family), options, json_output, kwargs)


def _convert_and_show(dataset: str, to: str | None, output: Path, loss_table, options, json_output: bool, kwargs) -> None:
    from lossadvisor import render
    from lossadvisor.convert import rich_progress
    from lossadvisor.convert.command import convert_dataset
    from lossadvisor.convert.progress import plain_progress

    # a terminal gets bars; a pipe or a log plain lines on stderr for the long steps; --json nothing at all
    progress = None if json_output else rich_progress() if sys.stderr.isatty() else plain_progress()
    with progress if hasattr(progress, "__enter__") else contextlib.nullcontext():  # rich bars live inside their context
        report = convert_dataset(dataset, to, output, loss_table, options, progress=progress, **kwargs)
    if json_output:
        render.print_json(report)
    else:
        render.render_conversion(report, out())


def multi_process_devices(value: str | None) -> bool | tuple[str, ...]:
    """--multi-process: 'all' for every GPU (else the CPU cores), or a comma-separated list of devices."""
    if value is None:
        return False
    if value.strip().lower() == "all":
        return True
    return tuple(part.strip() for part in value.split(",") if part.strip())


def read_corpus(path: Path) -> tuple[str, ...]:
    """--corpus: the lines of a .txt file, or the text column of a data file."""
    from lossadvisor.errors import LossAdvisorError

    if not path.is_file():  # a FIFO or a device would be read forever: refused, not misreported as missing
        what = "not a regular file" if path.exists() else "no such file"
        raise LossAdvisorError(f"--corpus {path}: {what}")
    if path.suffix.lower() == ".txt":
        try:
            return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        except UnicodeDecodeError:
            raise LossAdvisorError(f"--corpus {path}: not UTF-8 text") from None
    import pyarrow as pa

    from lossadvisor.sources import open_sample, read_table
    from lossadvisor.sources.beir import titled_texts

    table = read_table(open_sample(str(path)))
    titled = titled_texts(table)  # a BEIR corpus: 'title text', as the joined positives read
    if titled is not None:
        return tuple(v for v in titled if v.strip())
    texts = [n for n in table.column_names if pa.types.is_string(table.column(n).type) or pa.types.is_large_string(table.column(n).type)]
    if not texts:
        raise LossAdvisorError(f"--corpus {path}: no text column")
    column = next((n for n in texts if n.lower() in ("text", "document", "doc", "passage", "context")), texts[0])
    return tuple(v for v in table.column(column).to_pylist() if v and v.strip())
