"""Which kind of model the user trains (issue 13): a reranker, a dense or sparse embedder for first-stage retrieval,
or late interaction. Asked when the families' answers differ; the answer becomes --family on every command."""

from __future__ import annotations

from lossadvisor.interactive.prompts import Option
from lossadvisor.interactive.session import Data, Session

# What each family is for, in the user's words (the goal the family question asks about).
FAMILY_GOALS = {
    "cross-encoder": "Reranking: score (query, document) pairs to reorder a first stage's results (CrossEncoder)",
    "sentence-transformer": "First-stage retrieval, dense: one vector per text, for search, similarity, clustering"
                            " (SentenceTransformer)",
    "sparse-encoder": "First-stage retrieval, sparse: SPLADE vectors for an inverted index (SparseEncoder)",
    "multi-vector": "Late interaction: token vectors matched with MaxSim, ColBERT-style (MultiVectorEncoder)",
}


def choose_family(s: Session) -> None:
    """Ask the family when more than one family trains on this data with different losses; re-read the data for it."""
    if s.family_fixed:
        return
    report = s.current().report
    picks = [pick for pick in report.families if pick.loss is not None]
    if len({pick.loss for pick in picks}) < 2:
        return
    options = []
    for pick in picks:
        how = pick.loss + (" after mining" if pick.mines else f" after convert --to {pick.via[-1]}" if pick.via else "")
        needs = f"; needs {', '.join(pick.needs)}" if pick.needs else ""
        options.append(Option(f"{FAMILY_GOALS.get(pick.family, pick.title)}: {how}{needs}", pick.family))
    current = s.family or report.family
    default = current if any(o.value == current for o in options) else options[0].value
    chosen = s.ask.choose("Which model are you training?", options, default,
                          "The model family decides the losses (and the trainer); becomes --family on every command.")
    if chosen == report.family:
        return
    s.family = chosen
    data = s.current()
    s.data = Data(data.spec, s.inspect(data.spec, original=data.original), data.original)
    s.say(f"[dim]advising a {s.loss_table.family.title} ({s.loss_table.family.role}) from here on[/dim]")
