"""Ask what the data cannot decide by itself (inspect's `Report.questions`), each answer one flag.

inspect lists the ambiguities of a shape as data: which column is the label, whether unbounded scores are a
teacher's logits or a similarity, whether graded codes are inverted, which expansion of list-valued data to
make, and what to do with ragged negative lists. The session asks each (the defaults are inspect's own
assumptions) and keeps the answer as the flag it stands for, so the commands it prints repeat the choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lossadvisor.interactive.columns import model_inputs
from lossadvisor.interactive.prompts import Option
from lossadvisor.interactive.session import Data

if TYPE_CHECKING:
    from lossadvisor.checks_shapes import Question
    from lossadvisor.interactive.session import Session

HELP = {
    "label": "The other label-like columns become metadata (left out of the inputs); becomes --label X.",
    "score-reading": "Logits are distilled with MSELoss as they are; a bounded similarity is rescaled to [0, 1] "
                     "(--score-range) for BinaryCrossEntropyLoss.",
    "gain": "The listwise losses rank higher labels first: an inverted scale needs its codes mapped to gains (--gain).",
    "expansion": "The expansion convert will perform; becomes convert --to FORMAT.",
    "negatives-policy": "How an n-tuple is made from negative lists of different lengths; becomes --negatives-policy.",
}


def ask_shape_questions(s: Session) -> None:
    """Each question of the current report, asked once; the answers change the session's flags."""
    report = s.current().report
    for question in report.questions:
        if question.topic == "score-reading" and report.tidy is not None and report.tidy.score_range is not None:
            continue  # a bounded scale: settle_readings already asks the range it is rescaled from
        options = [Option(choice.answer, index, choice.flag or "(no flag: the default reading)")
                   for index, choice in enumerate(question.choices)]
        if not options:
            continue
        picked = s.ask.choose(question.ask, options, question.default, HELP.get(question.topic, ""))
        _apply(s, question, list(question.choices[picked].option))


def _apply(s: Session, question: Question, words: list[str]) -> None:
    if len(words) < 2:
        return  # the default reading: nothing to add
    flag, value = words[0], words[1]
    if flag == "--label":
        _relabel(s, value)
    elif flag == "--score-range":
        s.score_range = value
        s.goal_hint = "reranker"
    elif flag == "--loss":
        s.goal_hint = "distill"
    elif flag == "--to":
        s.expansion = value
        s.say(f"[dim]convert will expand the data to {value}[/dim]")
    elif flag in ("--gain", "--negatives-policy"):
        s.convert_flags = (*[(f, v) for f, v in s.convert_flags if f != flag], (flag, value))


def _relabel(s: Session, label: str) -> None:
    """--label X: X is the label, every other label-like column is left out of the inputs."""
    inputs, current = model_inputs(s.current().report)
    if label == current:
        return
    s.inputs = tuple(inputs)
    s.label = label
    s.data = Data(s.current().spec, s.inspect(s.current().spec, original=True), True)
