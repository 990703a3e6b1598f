"""Hub datasets: a streamed sample (the full read goes through a local copy)."""

from __future__ import annotations

import os

from lossadvisor.errors import SourceError
from lossadvisor.sources.base import Sample, _short
from lossadvisor.sources.jsonfile import _records_to_table


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _hub_sample(spec: str, split: str | None, subset: str | None, limit: int) -> Sample:
    if _offline():
        raise SourceError(
            f"'{spec}' is not a local path and the Hugging Face Hub is offline (HF_HUB_OFFLINE is set)",
            "Point at a local file or save_to_disk folder, or unset HF_HUB_OFFLINE.",
        )
    import itertools
    import socket

    try:  # fail in seconds, not after the hub client's minute of retries
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        raise SourceError(
            f"'{spec}' is not a local path, and the Hugging Face Hub cannot be reached (offline?)",
            "Point at a local file or save_to_disk folder, or check your network.",
        ) from None

    try:
        import datasets

        stream = datasets.load_dataset(spec, subset, split=split or "train", streaming=True)
        records = list(itertools.islice(iter(stream), limit))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the hub client raises many types; all mean "could not open it"
        raise SourceError(f"cannot open hub dataset '{spec}': {_short(exc)}",
                          "Check the id and your network, or point at a local copy.") from None
    table = _records_to_table(records, spec)
    return Sample(spec, "hub", table, None, (), split or "train", (split or "train",))  # open_sample finishes it
