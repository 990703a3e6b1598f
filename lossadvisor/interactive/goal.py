"""What the model should do (reranker, classifier, distillation), and the losses for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lossadvisor.interactive.checks import GOALS, check_teacher, goal_of, offer_goal
from lossadvisor.interactive.prompts import Option
from lossadvisor.interactive.session import Session
from lossadvisor.render import escape

if TYPE_CHECKING:
    from lossadvisor.advice import Recommendation, Report

GOAL_TITLES = {
    "reranker": "Reranker: score (query, document) pairs to rank search results",
    "classifier": "Pair classifier: predict a class for each (A, B) pair",
    "distill": "Distillation: learn the scores of a stronger (teacher) model",
}


def goal_title(s: Session, goal: str) -> str:
    """The goal in words; for an embedder family, what its 'reranker' goal (no teacher, no classes) is."""
    family = s.loss_table.family
    if goal == "reranker" and not family.num_labels:
        return f"{family.title}: embed texts so that matching ones come close ({family.role})"
    return GOAL_TITLES[goal]


def choose_goal(s: Session) -> None:
    report = s.current().report
    direct = {g: [r for r in report.recommendations if goal_of(r) == g] for g in GOALS}
    via = {g: [o for o in report.conversions if offer_goal(o) == g] for g in GOALS}
    available = [g for g in GOALS if direct[g] or via[g]]
    default = goal_of(report.recommendations[0]) if report.recommendations else (available[0] if available else "reranker")
    if s.goal_hint in available:
        default = s.goal_hint  # an earlier answer already said (logits: distill; a bounded similarity: reranker)
    if len(available) > 1:
        options = []
        for g in available:
            if direct[g]:
                how = ", ".join(r.loss for r in direct[g])
            else:
                how = "after converting to " + ", ".join(o.to for o in via[g])
                if g == "distill":
                    how += "; needs a teacher model"
            options.append(Option(f"{goal_title(s, g)} ({how})", g))
        s.goal = s.ask.choose(
            "What should the model do?", options, default,
            "Picks the loss (--loss) and, where the data must change shape first, the conversion (convert --to).")
    else:
        s.goal = default
    if s.goal == "distill" and not direct["distill"]:
        ask_teacher(s)
        if not s.teacher:
            s.say("[yellow]No teacher model: advising a reranker instead.[/yellow]")
            s.goal = "reranker" if "reranker" in available else default


def ask_teacher(s: Session) -> None:
    s.teacher = s.ask.text(
        "Which teacher CrossEncoder? (empty: none available)", "",
        "A local model folder or a model id already in your Hugging Face cache (nothing is downloaded); becomes --teacher.",
        check_teacher) or None


def losses_for_goal(s: Session, report: Report) -> list[Recommendation]:
    recs = [r for r in report.recommendations if goal_of(r) == s.goal]
    return recs or list(report.recommendations)


def recommend(s: Session, report: Report) -> None:
    recs = [r for r in report.recommendations if goal_of(r) == s.goal]
    if not recs:
        offers = [o for o in report.conversions if offer_goal(o) == s.goal]
        s.say(f"No loss for this goal fits {report.format} data as it is; convert it first:")
        for o in offers:
            s.say(f"  → {o.to}: {escape(o.summary)} (unlocks {escape(', '.join(o.unlocks) or 'no new losses')})")
        return
    what = s.goal if s.loss_table.family.num_labels or s.goal != "reranker" else s.loss_table.family.role.split(" (")[0]
    s.say(f"For {'an' if what[0] in 'aeiou' else 'a'} {what} on {report.format} data, best first:")
    for index, rec in enumerate(recs, 1):
        s.say(f"  {index}. [bold]{rec.loss}[/bold]: {escape(rec.reason)}")
        if rec.num_labels is not None:
            s.say(f"     CrossEncoder(num_labels={rec.num_labels}), activation {escape(str(rec.activation))}")
        for line in rec.construction.splitlines():
            s.say(f"     [cyan]{escape(line)}[/cyan]")
        for p in rec.params:
            s.say(f"       {escape(p['name'])}={escape(str(p['value']))}  [dim]{escape(p.get('why', ''))}[/dim]")


def choose_loss(s: Session) -> str | None:
    recs = losses_for_goal(s, s.current().report)
    if not recs:
        return None
    default = s.loss if s.loss in [r.loss for r in recs] else recs[0].loss
    s.loss = s.ask.choose(
        "Which loss?", [Option(r.loss, r.loss, r.reason) for r in recs], default,
        "Best first, for your goal and data; becomes --loss for trial and scaffold.")
    return s.loss
