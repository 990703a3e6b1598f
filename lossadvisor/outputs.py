"""Where a command may write, and how: the one place for the output-path rules of convert, scaffold and trial.

check_output(path, kind, inputs, overwrite) runs before any work, so that a bad path fails in a second:
- never over an input: OUT may not be, hold or sit inside an input (resolved paths, and the same inode for a
  hard link), with or without --overwrite; nor be the working folder or a folder above it;
- never through a link: OUT that is a symbolic link is refused (a rename would replace the link, a plain
  open would write to its target: neither is what the user asked for), and so is a FIFO, device or socket;
- never over something lossadvisor did not write: with --overwrite, an existing regular file is replaced
  only by a file (convert's .parquet/.jsonl/.csv/.tsv, scaffold's script, trial's plot), and an existing
  folder only by convert's save_to_disk folder, when it holds nothing but a dataset's files (state.json,
  dataset_info.json, data-*.arrow; or dataset_dict.json and its split folders) or nothing at all;
- a plot's suffix is one matplotlib writes (.png, .svg, .pdf).

atomic_write(path, write, overwrite) writes a temporary sibling (created O_EXCL by tempfile, in OUT's
folder) and renames it into place once complete: a full disk or an error leaves the old OUT as it was and
no temporary file behind; without --overwrite, a file that appeared meanwhile is never clobbered.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from lossadvisor.errors import FitError

# What a command writes: convert a save_to_disk folder or a data file (by OUT's suffix), scaffold a script,
# trial a plot.
DATASET_FOLDER, DATA_FILE, SCRIPT, PLOT = "dataset-folder", "data-file", "script", "plot"
DATA = (DATASET_FOLDER, DATA_FILE)
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
# What Dataset.save_to_disk writes into its folder (data-00000-of-00001.arrow, ...), and DatasetDict's index.
_DATASET_FILES = frozenset({"dataset_info.json", "state.json"})
_DATASET_DICT = "dataset_dict.json"


def input_paths(spec: str | os.PathLike | None) -> list[Path]:
    """The local paths a dataset spec reads (the path itself, and the files of a folder or glob); [] for a hub id."""
    if spec is None:
        return []
    text = os.fspath(spec)
    paths = [Path(text).expanduser()] if os.path.lexists(Path(text).expanduser()) else []
    from lossadvisor.errors import LossAdvisorError
    from lossadvisor.sources import resolve_files

    try:
        kind, files = resolve_files(text)
    except (LossAdvisorError, OSError):
        return paths  # the command reports the unreadable spec itself
    return paths + ([Path(f) for f in files] if kind != "hub" else [])


def _is_dataset(folder: Path) -> bool:
    """A folder holding nothing but one Dataset.save_to_disk's files: state.json, dataset_info.json, data-*.arrow."""
    names = {entry.name: entry for entry in folder.iterdir()}
    if "state.json" not in names:
        return False
    for name, entry in names.items():
        if not stat.S_ISREG(entry.lstat().st_mode):
            return False
        if name not in _DATASET_FILES and not (name.startswith("data-") and name.endswith(".arrow")):
            return False
    return True


def is_saved_dataset(folder: Path) -> bool:
    """True for an empty folder, a Dataset.save_to_disk folder, or a DatasetDict one (dataset_dict.json naming
    its split folders, each a Dataset folder), with nothing else in it: what `convert` would itself write."""
    try:
        entries = list(folder.iterdir())
        if not entries:
            return True
        if (folder / _DATASET_DICT).exists():
            index = folder / _DATASET_DICT
            if not stat.S_ISREG(index.lstat().st_mode) or index.stat().st_size > 1 << 20:
                return False
            splits = json.loads(index.read_text(encoding="utf-8")).get("splits")
            if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
                return False
            for entry in entries:
                if entry.name == _DATASET_DICT:
                    continue
                if entry.name not in splits or not stat.S_ISDIR(entry.lstat().st_mode) or not _is_dataset(entry):
                    return False
            return True
        return _is_dataset(folder)
    except (OSError, ValueError, AttributeError):
        return False


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _real(path: Path) -> Path:
    """The path with its links resolved; a link loop stays as it is (Path.resolve raises on one)."""
    return Path(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _describe(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return None


def check_output(
    path: str | os.PathLike,
    kind: str = DATASET_FOLDER,
    inputs: Iterable[str | os.PathLike | None] = (),
    overwrite: bool = False,
    *,
    option: str = "-o",
) -> Path:
    """Every rule about OUT that needs no data (see the module docstring); FitError with one line otherwise."""
    out = Path(path).expanduser()
    if not out.name or out.name in (".", ".."):
        raise FitError(f"{option} {path}: name a file{' or folder' if kind in DATA else ''}, not '{out.name or path}'",
                       "Choose a new path, e.g. out/converted.")
    if kind == PLOT and out.suffix.lower() not in PLOT_SUFFIXES:
        raise FitError(f"{option} {path}: a plot is written as {', '.join(PLOT_SUFFIXES)}, not '{out.suffix or '(none)'}'",
                       f"Give the file one of those suffixes, e.g. {out.with_suffix('.png').name}.")
    parent = out.absolute().parent
    if not parent.is_dir():
        what = "cannot write the plot: " if kind == PLOT else ""
        raise FitError(f"{what}folder {parent} does not exist", f"Create it first (mkdir -p {parent}) or choose another path.")
    if not os.access(parent, os.W_OK):
        raise FitError(f"cannot write to {parent}: no permission or a read-only file system", "Choose a folder you can write to.")
    # The parent resolved, the name itself not: a link at OUT is judged as a link, not as what it points to.
    target = _real(parent) / out.name
    for source in inputs:
        if source is None:
            continue
        source_path = Path(source).expanduser()
        resolved = _real(source_path)
        if _under(target, resolved) or resolved in target.parents or _same_file(out, source_path) or \
                (os.path.lexists(out) and _same_file(out, resolved)):
            raise FitError(f"{path} would overwrite the input {source}",
                           "Write the converted data to a new path." if kind in DATA else
                           "Write to a new path: lossadvisor never changes its inputs, with or without --overwrite.")
    cwd = _real(Path.cwd())
    if _under(cwd, target):
        raise FitError(f"{option} {path} is the working folder or a folder above it; refusing to replace it",
                       "Choose a new path inside the working folder.")
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise FitError(f"cannot use {option} {path}: {exc.strerror or exc}", None) from None
    special = _describe(info.st_mode)
    if special is not None:
        raise FitError(f"{option} {path} is {special}; lossadvisor neither writes through nor replaces it",
                       "Choose a new path, or remove it yourself.")
    if not overwrite:
        raise FitError(f"{path} already exists",
                       f"Pass --overwrite to replace it, or choose another {'OUT' if kind in DATA else option}.")
    if stat.S_ISDIR(info.st_mode):
        if kind != DATASET_FOLDER:
            example = {SCRIPT: "train.py", PLOT: "curve.png"}.get(kind, "out.parquet")
            raise FitError(f"{option} {path} is a folder; refusing to replace it", f"Give a new file name, e.g. {example}.")
        if not is_saved_dataset(out):
            raise FitError(
                f"{path} is a folder that is not a saved dataset (or holds more than one); refusing to replace it",
                "--overwrite replaces only a folder holding nothing but a dataset's files: choose a new path.",
            )
    elif kind == DATASET_FOLDER:
        raise FitError(f"{path} is a file, not a saved dataset folder; refusing to replace it", "Choose a new path.")
    return out


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened for fsync
        fsync_file(path)


def publish(temporary: Path, out: Path, overwrite: bool) -> bool:
    """Rename the complete file `temporary` to OUT; True when an existing OUT was replaced.

    Without overwrite a hard link publishes it, which fails if OUT appeared meanwhile (no clobber); with it,
    OUT is checked again just before the rename, so that a link or folder planted since the check stays.
    """
    if not overwrite:
        try:
            os.link(temporary, out)
        except FileExistsError:
            raise FitError(f"{out} already exists", "Pass --overwrite to replace it, or choose another path.") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(out):
                raise FitError(f"{out} already exists", "Pass --overwrite to replace it, or choose another path.") from None
            os.rename(temporary, out)  # file systems without hard links
            return False
        temporary.unlink()
        return False
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise FitError(f"{out} is no longer a regular file; refusing to replace it", "Choose a new path.")
    os.replace(temporary, out)
    return mode is not None


def os_error(out: Path, exc: OSError) -> FitError:
    """An OS error while writing OUT as one line, with the next step for the common ones."""
    text = str(exc).strip()
    reason = exc.strerror or (text.splitlines()[0] if text else type(exc).__name__)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(exc):
        hint = "Free some space, or write to another disk; nothing was replaced."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "Choose a folder you can write to."
    else:
        hint = None
    return FitError(f"cannot write {out}: {reason}", hint)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], overwrite: bool = False,
                 mode: int | None = 0o666) -> Path:
    """Call write(temporary) on a fresh sibling of PATH, then publish it; PATH is complete or untouched."""
    out = Path(path).expanduser()
    folder = out.absolute().parent
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".lossadvisor-tmp{out.suffix}", dir=folder)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        fsync_file(temporary)
        if mode is not None:
            # mkstemp creates 0600; give the file the mode a plain open() would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, mode & ~umask)
        publish(temporary, out, overwrite)
        fsync_folder(folder)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise os_error(out, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return out
