"""data_formats.yaml: load it (validated by table_schema), and look things up in it, one model family at a time.

A `LossTable` is the whole table seen through one family: `rows`, `common` and `losses` are that family's, the
formats and conversions are shared. `for_family` gives the same table through another family.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from lossadvisor import __version__
from lossadvisor.errors import FitError, TableError
from lossadvisor.table_cache import CACHE_ENV as CACHE_ENV  # re-exported: where the cache lives is part of the table API
from lossadvisor.table_cache import TABLE_MAX_BYTES, cache_file, read_cache, read_regular_file, write_cache

# re-exported: the table's entry types are part of its API
from lossadvisor.table_schema import (  # noqa: F401
    CommonAdvice,
    Conversion,
    DocstringRow,
    Family,
    Format,
    Loss,
    LossParam,
    Row,
    TableModel,
    as_plain_data,
    cross_reference_problems,
    validate,
)

# The family a command reads the table through when none is named: the seed table, rerankers.
DEFAULT_FAMILY = "cross-encoder"


def default_table_path() -> Path:
    """The packaged copy when installed; the repository root in an editable checkout."""
    packaged = Path(__file__).with_name("data_formats.yaml")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "data_formats.yaml"


@dataclass(frozen=True)
class LossTable:
    """The validated table plus the lookups the rule engine needs."""

    model: TableModel
    path: Path
    family_name: str = DEFAULT_FAMILY

    @property
    def family(self) -> Family:
        return self.model.families[self.family_name]

    @property
    def family_names(self) -> list[str]:
        return list(self.model.families)

    def for_family(self, name: str | None) -> LossTable:
        """The same table through another family (None: the default); aliases and typos are handled."""
        resolved = self.resolve_family(name) if name is not None else DEFAULT_FAMILY
        return self if resolved == self.family_name else replace(self, family_name=resolved)

    def resolve_family(self, name: str) -> str:
        key = re.sub(r"[\s_]+", "-", name.strip().lower())
        names = {alias: family for family, entry in self.model.families.items() for alias in [family, *entry.aliases]}
        for candidate in (key, key.removesuffix("s")):
            if candidate in names:
                return names[candidate]
        close = difflib.get_close_matches(key, list(names), n=1)
        hint = f"Did you mean '{names[close[0]]}'?" if close else None
        raise FitError(f"unknown model family '{name}' (known: {', '.join(self.model.families)})", hint)

    def for_loss(self, name: str) -> LossTable:
        """This family when it has the loss `name` (typos forgiven); else the one family that has it."""
        owners = self._families_naming(name)
        return self if not owners or self.family_name in owners else self.for_family(owners[0])

    def _families_naming(self, name: str) -> list[str]:
        """The families with a loss `name` names: case, a module prefix and the 'Loss' suffix are forgiven."""
        stripped = name.strip().rsplit(".", 1)[-1].lower()
        return [family for family in self.family_names
                if any(stripped in (n.lower(), n.lower().removesuffix("loss")) for n in self.model.families[family].losses)]

    def families_with_loss(self, loss: str) -> list[str]:
        return [name for name, family in self.model.families.items() if loss in family.losses]

    @property
    def formats(self) -> list[Format]:
        return list(self.model.formats)

    @property
    def rows(self) -> list[Row]:
        return list(self.family.rows)

    @property
    def common(self) -> list[CommonAdvice]:
        return list(self.family.common)

    @property
    def conversions(self) -> list[Conversion]:
        return list(self.model.conversions)

    @property
    def losses(self) -> dict[str, Loss]:
        return dict(self.family.losses)

    @cached_property
    def _formats_by_name(self) -> dict[str, Format]:
        return {f.name: f for f in self.model.formats}

    def format(self, name: str) -> Format:
        return self._formats_by_name[self.resolve_format(name)]

    def resolve_format(self, name: str) -> str:
        """Canonical name for a user-typed format: case, underscores and plurals are forgiven."""
        key = re.sub(r"[\s_]+", "-", name.strip().lower())
        candidates = [key]
        if key.endswith("s"):
            candidates.append(key[:-1])
        candidates += [c.replace("triples", "triplet") for c in candidates]
        for candidate in candidates:
            if candidate in self._formats_by_name:
                return candidate
            # "pairs-class" / "labeled-pairs": a plural in the middle
            singular = "-".join(part.rstrip("s") if part not in {"scores"} else part for part in candidate.split("-"))
            if singular in self._formats_by_name:
                return singular
        close = difflib.get_close_matches(key, list(self._formats_by_name), n=1)
        hint = f"Did you mean '{close[0]}'?" if close else None
        known = ", ".join(self._formats_by_name)
        raise FitError(f"unknown format '{name}' (known: {known})", hint)

    def resolve_loss(self, name: str) -> str:
        """Exact class name for a user-typed loss, with 'did you mean' on a typo."""
        if name in self.family.losses:
            return name
        by_lower = {n.lower(): n for n in self.family.losses}
        stripped = name.strip().rsplit(".", 1)[-1].lower()
        for candidate in (stripped, stripped + "loss"):
            if candidate in by_lower:
                return by_lower[candidate]
        elsewhere = self._families_naming(name)
        if elsewhere:
            raise FitError(f"{name} is not a {self.family.title} loss: it is in the {', '.join(elsewhere)} table",
                           f"Pass --family {elsewhere[0]}.")
        close = difflib.get_close_matches(stripped, list(by_lower), n=1, cutoff=0.5)
        hint = f"Did you mean '{by_lower[close[0]]}'?" if close else "Run `lossadvisor table` for the known losses."
        raise FitError(f"unknown loss '{name}'", hint)

    def rows_for_format(self, name: str) -> list[Row]:
        return [row for row in self.family.rows if row.format == name]

    def rows_for_loss(self, loss: str) -> list[Row]:
        return [row for row in self.family.rows if loss in row.losses]

    def formats_for_loss(self, loss: str) -> list[str]:
        seen: list[str] = []
        for row in self.rows_for_loss(loss):
            if row.format not in seen:
                seen.append(row.format)
        return seen

    def common_for_format(self, name: str) -> list[CommonAdvice]:
        return [advice for advice in self.family.common if name in advice.formats]

    def conversions_from(self, name: str) -> list[Conversion]:
        return [c for c in self.model.conversions if c.from_format == name]

    def conversion(self, source: str, target: str) -> Conversion | None:
        for candidate in self.model.conversions:
            if candidate.from_format == source and candidate.to_format == target:
                return candidate
        return None

    def conversion_path(self, source: str, target: str) -> list[Conversion] | None:
        """Shortest chain of declared conversions from source to target (breadth-first)."""
        if source == target:
            return []
        frontier: list[tuple[str, list[Conversion]]] = [(source, [])]
        seen = {source}
        while frontier:
            next_frontier = []
            for name, path in frontier:
                for step in self.conversions_from(name):
                    if step.to_format in seen:
                        continue
                    chain = path + [step]
                    if step.to_format == target:
                        return chain
                    seen.add(step.to_format)
                    next_frontier.append((step.to_format, chain))
            frontier = next_frontier
        return None


def load_table(path: str | Path | None = None) -> LossTable:
    """Load and validate the table; every problem is reported with the file, entry and field."""
    table_path = Path(path) if path is not None else default_table_path()
    try:
        data = read_regular_file(table_path, TABLE_MAX_BYTES, follow_links=True)
    except OSError as exc:
        raise TableError(f"cannot read loss table {table_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise TableError(f"cannot read loss table {table_path}: {exc}") from None
    digest = hashlib.blake2b(data + __version__.encode(), digest_size=32).digest()
    cache = cache_file(table_path)
    cached = read_cache(cache, digest, TableModel)
    model = cached or validate(_parse_yaml(data, table_path), table_path)
    problems = cross_reference_problems(model)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TableError(f"{table_path}: {problems[0]}{more}")
    if cached is None:
        write_cache(cache, digest, model)
    return LossTable(model=model, path=table_path)


def _parse_yaml(data: bytes, table_path: Path) -> dict:
    import yaml  # here: a cached table needs no YAML parser, and importing one is a tenth of inspect's start-up

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TableError(f"{table_path}: not UTF-8 text") from None
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ~20x faster
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f": line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TableError(f"{table_path}{where}: invalid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise TableError(f"{table_path}: expected a mapping at the top level, found {type(raw).__name__}")
    return raw
