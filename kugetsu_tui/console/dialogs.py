"""Modal dialogs: start (issue ref + message), continue (message), and yes/no confirmation.

All share `Dialog`: one look (centred box, title, hints, errors) and Escape to cancel.

Keys typed ahead land where they were meant to. Textual routes each key to the widget focused when the
key is *read*, and runs ordinary bindings only when that widget has handled it: a burst of keys (a fast
typist, tmux send-keys) would all reach the first field before a Tab moved the focus. So the dialog's
first field is focused as it is composed (`AUTO_FOCUS`), the keys that move between fields are priority
bindings (run as the key is read), and a paste holding a Tab fills the fields in turn. The main screen
binds the keys that open dialogs with priority too, so the dialog is open before the next key is read.
"""

from __future__ import annotations

import re
from typing import TypeVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.refs import EXPECTED_FORMS, parse_issue_ref
from kugetsu_tui.console.bullets import bulleted

DialogResult = TypeVar("DialogResult")


class Dialog(ModalScreen[DialogResult]):
    """A centred box over the main screen; Escape dismisses it with `None` (or False)."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    Dialog.danger > Vertical { border: thick $error; }
    Dialog .title { text-style: bold; margin-bottom: 1; }
    Dialog .hint { color: $text-muted; }
    Dialog .error { color: $error; height: auto; }
    Dialog Input { margin-bottom: 1; }
    """
    AUTO_FOCUS = "Input"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
    ]

    def cancelled(self) -> DialogResult | None:
        """The result of Escape."""
        return None

    def action_cancel(self) -> None:
        self.dismiss(self.cancelled())


#: What ends a field in a paste: the rest goes to the next field.
FIELD_BREAK = re.compile(r"\t|\r\n|\r|\n")


class Field(Input):
    """An input that passes what follows a Tab (or a line break) in a paste on to the next field:
    a pasted `ref<Tab>message` fills both. In the last field, a paste is Input's own (its first line)."""

    class Settled(Message):
        """Every field has taken the keys read before this was posted: their values are what was typed.

        Posted to the first field, handed on field by field: each field's queue is first in, first out,
        so it reaches the dialog after every key typed before Enter, whichever field it was routed to."""

        def __init__(self, later: list[Field]) -> None:
            super().__init__()
            self.later = later

    def on_field_settled(self, event: Field.Settled) -> None:
        if event.later:
            event.stop()
            event.later[0].post_message(Field.Settled(event.later[1:]))

    def on_paste(self, event: events.Paste) -> None:
        fields = list(self.screen.query(Field))
        later = fields[fields.index(self) + 1 :] if self in fields else []
        parts = FIELD_BREAK.split(event.text, maxsplit=1)
        if not later or len(parts) < 2:
            return  # Input's own paste
        event.prevent_default()
        event.stop()
        self.insert_text_at_cursor(parts[0])
        self.screen.set_focus(later[0])  # now, not after the keys already read (as `focus()` would)
        later[0].post_message(events.Paste(parts[1]))


class StartDialog(Dialog[tuple[str, str] | None]):
    """Ask for an issue ref and a first message. Enter in the last field submits; Escape cancels.

    With `queue_because` (the cap's refusal), it queues the work instead: it starts when a slot frees.
    """

    AUTO_FOCUS = "#ref"
    #: Enter moves to the message as the key is read (see the module's docstring), or submits from it.
    BINDINGS = [Binding("enter", "submit", "Next field or submit", show=False, priority=True)]

    def __init__(self, capacity: str, queue_because: str | None = None) -> None:
        super().__init__()
        self.capacity = capacity
        self.queue_because = queue_because

    def compose(self) -> ComposeResult:
        verb = "Queue" if self.queue_because else "Start"
        with Vertical():
            yield Static(f"{verb} a dev session   ({self.capacity})", classes="title", markup=False)
            if self.queue_because:
                yield Static(
                    f"{self.queue_because}\nEnter queues it instead: it starts as soon as a slot frees.",
                    classes="error",
                    markup=False,
                )
            yield Label("Issue ref")
            yield Field(placeholder="OWNER/REPO#N, HOST/OWNER/REPO#N or an issue URL", id="ref")
            yield Static("", id="ref-error", classes="error", markup=False)
            yield Label("Message for the agent")
            yield Field(placeholder="What should the agent do?", id="message")
            yield Static("", id="message-error", classes="error", markup=False)
            yield Static(f"Tab: next field   Enter: {verb.lower()}   Escape: cancel", classes="hint", markup=False)

    def _ref_error(self) -> str | None:
        text = self.query_one("#ref", Input).value
        if not text.strip():
            return f"an issue ref is needed: {EXPECTED_FORMS}"
        try:
            parse_issue_ref(text)
        except KugetsuError as exc:
            return str(exc)
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "ref":
            error = self._ref_error() if event.value.strip() else None
            self.query_one("#ref-error", Static).update(error or "")

    def action_submit(self) -> None:
        if self.focused is self.query_one("#ref", Input):
            self.set_focus(self.query_one("#message", Input))  # now: the keys read next are the message's
            return
        fields = list(self.query(Field))
        fields[0].post_message(Field.Settled(fields[1:]))  # the values once the keys typed before are in

    def on_field_settled(self) -> None:
        error = self._ref_error()
        if error:
            self.query_one("#ref-error", Static).update(error)
            self.set_focus(self.query_one("#ref", Input))
            return
        message = self.query_one("#message", Input).value.strip()
        if not message:
            self.query_one("#message-error", Static).update("a message for the agent is needed")
            return
        self.dismiss((self.query_one("#ref", Input).value.strip(), message))


class MessageDialog(Dialog[str | None]):
    """Ask for the message to continue a session with."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield Input(placeholder="continue", id="message")
            yield Static("Enter: send (empty sends 'continue')   Escape: cancel", classes="hint", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())


class ConfirmDialog(Dialog[bool]):
    """Yes or no: `y` or Enter confirms, `n` or Escape cancels.

    With `enter_confirms=False` only `y` confirms: a second, deliberate keystroke for the
    irreversible-looking cases (base, PM), so Enter pressed twice cannot do it.
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "enter", "Yes", show=False),
        Binding("n", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: str, danger: bool = False, enter_confirms: bool = True) -> None:
        super().__init__(classes="danger" if danger else "")
        self.title_text = title
        self.body = body
        self.enter_confirms = enter_confirms

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield Static(bulleted(self.body))  # literal text; bullets wrap under their words
            yes = "y / Enter" if self.enter_confirms else "y"
            yield Static(f"\n{yes}: yes    n / Escape: no", classes="hint", markup=False)

    def cancelled(self) -> bool:
        return False  # Escape is "no"

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_enter(self) -> None:
        if self.enter_confirms:
            self.dismiss(True)
