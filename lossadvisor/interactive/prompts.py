"""The questions of `lossadvisor advise`, behind a small `Prompter`.

`QuestionaryPrompter` (arrow keys, validation, path completion) in a terminal; `DefaultsPrompter` (no questions; each
default is printed as an assumption) without one or with `--no-input`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Protocol, Sequence

from rich.console import Console

from lossadvisor.render import escape

Validator = Callable[[str], Optional[str]]  # returns an error message, or None when the answer is fine


# --- the prompt layer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One answer of a multiple-choice question; `value` is what the session uses (never None)."""

    title: str
    value: Any
    help: str | None = None


class Prompter(Protocol):
    """Asks the questions. `interactive` is False when nothing may prompt (the defaults are used)."""

    interactive: bool

    def choose(self, question: str, options: Sequence[Option], default: Any, help: str) -> Any: ...

    def pick_many(self, question: str, options: Sequence[Option], defaults: Sequence[Any], help: str,
                  validate: Callable[[list], Optional[str]] | None = None) -> list: ...

    def confirm(self, question: str, default: bool, help: str) -> bool: ...

    def text(self, question: str, default: str, help: str, validate: Validator | None = None) -> str: ...

    def path(self, question: str, default: str, help: str, validate: Validator | None = None) -> str: ...


def _questionary_check(validate: Callable[[Any], Optional[str]] | None) -> Callable[[Any], Any]:
    if validate is None:
        return lambda _answer: True
    return lambda answer: validate(answer) or True


class QuestionaryPrompter:
    """Arrow-key choices (type to filter), validation with a re-ask, path completion; Ctrl-C raises KeyboardInterrupt."""

    interactive = True

    def __init__(self, console: Console) -> None:
        self.console = console

    def _help(self, help: str) -> None:
        self.console.print(f"  [dim]{escape(help)}[/dim]", highlight=False)

    @staticmethod
    def _ask(question) -> Any:
        answer = question.unsafe_ask()  # unsafe: Ctrl-C raises KeyboardInterrupt instead of returning None
        if answer is None:
            raise KeyboardInterrupt
        return answer

    def choose(self, question: str, options: Sequence[Option], default: Any, help: str) -> Any:
        import questionary

        self._help(help)
        choices = [questionary.Choice(o.title, value=o.value, description=o.help) for o in options]
        start = next((c for c in choices if c.value == default), choices[0])
        return self._ask(questionary.select(question, choices=choices, default=start, use_search_filter=True,
                                            use_jk_keys=False, instruction="(↑/↓ move, type to filter, Enter chooses)"))

    def pick_many(self, question: str, options: Sequence[Option], defaults: Sequence[Any], help: str,
                  validate: Callable[[list], Optional[str]] | None = None) -> list:
        import questionary

        self._help(help)
        choices = [questionary.Choice(o.title, value=o.value, checked=o.value in defaults, description=o.help) for o in options]
        return self._ask(questionary.checkbox(question, choices=choices, validate=_questionary_check(validate),
                                              instruction="(↑/↓ move, Space toggles, Enter accepts)"))

    def confirm(self, question: str, default: bool, help: str) -> bool:
        import questionary

        self._help(help)
        return self._ask(questionary.confirm(question, default=default))

    def _until_valid(self, make, default: str, validate: Validator | None) -> str:
        """Ask until `validate` accepts; after a refused answer the prompt starts empty (typing must not append to it)."""
        while True:
            answer = self._ask(make(default)).strip()
            problem = validate(answer) if validate is not None else None
            if problem is None:
                return answer
            self.console.print(f"  [red]✗ {escape(problem)}[/red]", highlight=False)
            default = ""

    def text(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        import questionary

        self._help(help)
        return self._until_valid(lambda start: questionary.text(question, default=start), default, validate)

    def path(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        import questionary

        self._help(help)

        def make(start: str):
            # No space reserved for the completion menu: it appears below the line when there is something to show.
            return tab_completes_a_single_match(questionary.path(question, default=start, reserve_space_for_menu=0))

        return self._until_valid(make, default, validate)


def tab_completes_a_single_match(question):
    """Tab as in a shell: one match is completed (a folder's contents are offered next); several complete their
    common part and show the menu; Tab again moves through it."""
    import os

    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

    bindings = KeyBindings()

    @bindings.add("tab", eager=True)
    def _complete(event) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None and len(buffer.complete_state.completions) > 1:
            buffer.complete_next()
            return
        found = list(buffer.completer.get_completions(buffer.document, CompleteEvent(completion_requested=True)))
        if len(found) == 1:
            buffer.complete_state = None
            buffer.apply_completion(found[0])
            if buffer.text.endswith(os.sep):
                buffer.start_completion(select_first=False)
        else:
            buffer.start_completion(insert_common_part=True, select_first=False)

    application = question.application
    application.key_bindings = merge_key_bindings([application.key_bindings, bindings])
    return question


class DefaultsPrompter:
    """Asks nothing: every question takes its documented default, which is printed as an assumption."""

    interactive = False

    def __init__(self, console: Console) -> None:
        self.console = console

    def _assume(self, question: str, answer: str) -> None:
        self.console.print(f"  [dim]assumed:[/dim] {escape(question)} [bold]{escape(answer)}[/bold]", highlight=False)

    def choose(self, question: str, options: Sequence[Option], default: Any, help: str) -> Any:
        self._assume(question, next((o.title for o in options if o.value == default), str(default)))
        return default

    def pick_many(self, question: str, options: Sequence[Option], defaults: Sequence[Any], help: str,
                  validate: Callable[[list], Optional[str]] | None = None) -> list:
        self._assume(question, ", ".join(o.title for o in options if o.value in defaults) or "none")
        return list(defaults)

    def confirm(self, question: str, default: bool, help: str) -> bool:
        self._assume(question, "yes" if default else "no")
        return default

    def text(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        self._assume(question, default)
        return default

    def path(self, question: str, default: str, help: str, validate: Validator | None = None) -> str:
        return self.text(question, default, help, validate)
