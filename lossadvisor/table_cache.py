"""Reading the loss table's bytes safely, and the cache of the validated table.

Both read files that someone else may have planted: the table path a user passes (`--table`) and a cache folder
that may sit in a shared place. Nothing here follows a planted link on write, blocks on a FIFO or reads without bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path
from typing import TypeVar

import msgspec

T = TypeVar("T")

TABLE_MAX_BYTES = 16 << 20  # the documented table is ~20 kB; anything near this is not a loss table


def read_regular_file(path: Path, limit: int, *, follow_links: bool, owner: int | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; a FIFO, a device or a directory is refused, never read.

    O_NONBLOCK keeps open() of a FIFO from waiting for a writer; O_NOFOLLOW (when links are not followed) keeps a
    planted link from pointing the read elsewhere.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ValueError("not a regular file (a FIFO, a device or a folder)")
        if owner is not None and status.st_uid != owner:
            raise ValueError("owned by another user")
        if status.st_size > limit:
            raise ValueError(f"larger than {limit >> 20} MiB")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit >> 20} MiB")
    return data



# The validated table, kept as msgpack next to nothing the user owns: one file per table path, holding the digest
# of the YAML bytes it came from. Reading it back is ~0.5 ms against ~40 ms for importing PyYAML and parsing; it is
# still decoded into the typed entries (so still validated), and any problem with it means "parse the YAML".
CACHE_ENV = "LOSSADVISOR_CACHE_DIR"


def cache_file(table_path: Path) -> Path | None:
    root = os.environ.get(CACHE_ENV) or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lossadvisor")
    if root.startswith("~"):
        return None  # no home directory to expand
    key = hashlib.blake2b(str(table_path.resolve()).encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
    return Path(root) / f"table-{key}.msgpack"


def _private_folder(folder: Path) -> bool:
    """Only a real folder of ours that nobody else may write into holds the cache (a shared /tmp does not)."""
    try:
        status = os.lstat(folder)
    except OSError:
        return False
    mine = not hasattr(os, "geteuid") or status.st_uid == os.geteuid()
    return stat.S_ISDIR(status.st_mode) and mine and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_cache(cache: Path | None, digest: bytes, model_type: type[T]) -> T | None:
    if cache is None or not _private_folder(cache.parent):
        return None
    try:
        owner = os.geteuid() if hasattr(os, "geteuid") else None
        data = read_regular_file(cache, CACHE_MAX_BYTES, follow_links=False, owner=owner)
    except (OSError, ValueError):
        return None
    if data[: len(digest)] != digest:
        return None
    try:
        return msgspec.msgpack.decode(data[len(digest):], type=model_type)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


CACHE_MAX_BYTES = 4 << 20


def write_cache(cache: Path | None, digest: bytes, model: msgspec.Struct) -> None:
    if cache is None:
        return
    import tempfile  # here: only a cache miss writes, and inspect's start-up counts every import

    partial: str | None = None
    try:
        with contextlib.suppress(FileExistsError):
            cache.parent.mkdir(mode=0o700, parents=True)
        if not _private_folder(cache.parent):
            return  # a folder someone else owns or may write into: no cache, the YAML is parsed each time
        # mkstemp creates a new file with O_EXCL at an unpredictable name, so no planted link is followed;
        # os.replace then swaps the directory entry itself, never the target of a link found at `cache`.
        descriptor, partial = tempfile.mkstemp(prefix=f".{cache.name}.", suffix=".partial", dir=cache.parent)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(digest + msgspec.msgpack.encode(model))
        os.replace(partial, cache)  # readers see the old file or the new one, never half of one
    except OSError:  # a read-only or full disk only costs the next run the YAML parse
        if partial is not None:
            with contextlib.suppress(OSError):
                os.unlink(partial)
