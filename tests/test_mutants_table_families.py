"""table.py: which family a loss belongs to (for_loss, families_with_loss, resolve_loss's 'elsewhere').

`lossadvisor trial/scaffold --loss X` without --family reads the table through the family that has X
(cli/context.py), so the look-up must forgive case, a module prefix and a missing 'Loss' suffix, and keep the
asked family when it has the loss too.
"""

from __future__ import annotations

import pytest

from lossadvisor.errors import FitError
from lossadvisor.table import load_table


@pytest.fixture(scope="module")
def table():
    return load_table()


def test_a_loss_of_another_family_switches_to_it(table):
    assert table.family_name == "cross-encoder"
    assert table.for_loss("SpladeLoss").family_name == "sparse-encoder"


def test_the_family_is_kept_when_it_has_the_loss(table):
    embedder = table.for_family("sentence-transformer")
    assert embedder.for_loss("MarginMSELoss") is embedder
    assert table.for_loss("MarginMSELoss") is table


def test_the_first_owning_family_is_taken(table):
    sparse = table.for_family("sparse-encoder")
    assert sparse.for_loss("MarginMSELoss").family_name == "cross-encoder"


def test_an_unknown_loss_keeps_the_family(table):
    assert table.for_loss("NoSuchLoss") is table


@pytest.mark.parametrize("name", ["splade", "SPLADELOSS", " spladeloss ",
                                  "sentence_transformers.sparse_encoder.losses.SpladeLoss"])
def test_case_a_module_prefix_and_the_suffix_are_forgiven(table, name):
    assert table.for_loss(name).family_name == "sparse-encoder"


def test_families_with_loss_names_every_owner_in_table_order(table):
    assert table.families_with_loss("MarginMSELoss") == ["cross-encoder", "sentence-transformer"]
    assert table.families_with_loss("SpladeLoss") == ["sparse-encoder"]
    assert table.families_with_loss("NoSuchLoss") == []


def test_resolve_loss_names_the_family_that_has_it(table):
    with pytest.raises(FitError) as caught:
        table.resolve_loss("sentence_transformers.sparse_encoder.losses.Splade")
    assert caught.value.message == ("sentence_transformers.sparse_encoder.losses.Splade is not a "
                                    "CrossEncoder loss: it is in the sparse-encoder table")
    assert caught.value.hint == "Pass --family sparse-encoder."


def test_resolve_loss_names_every_family_that_has_it(table):
    with pytest.raises(FitError) as caught:
        table.for_family("multi-vector").resolve_loss("MarginMSELoss")
    assert caught.value.message == ("MarginMSELoss is not a MultiVectorEncoder loss: it is in the cross-encoder, "
                                    "sentence-transformer table")
    assert caught.value.hint == "Pass --family cross-encoder."


@pytest.mark.parametrize("name, family", [("Embedders", "sentence-transformer"), ("multi-vectors", "multi-vector"),
                                          ("Sparse_Encoder", "sparse-encoder")])
def test_a_family_name_in_the_plural_or_any_case_is_forgiven(table, name, family):
    assert table.resolve_family(name) == family


def test_an_unknown_family_lists_the_known_ones_without_a_guess(table):
    with pytest.raises(FitError) as caught:
        table.resolve_family("zzzz")
    assert caught.value.message == ("unknown model family 'zzzz' (known: cross-encoder, sentence-transformer, "
                                    "sparse-encoder, multi-vector)")
    assert caught.value.hint is None
