"""Modal dialogs: start (issue ref + message), continue (message), and yes/no confirmation.

All share `Dialog`: one look (centred box, title, hints, errors) and Escape to cancel.
"""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
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
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def cancelled(self) -> DialogResult | None:
        """The result of Escape."""
        return None

    def action_cancel(self) -> None:
        self.dismiss(self.cancelled())


class StartDialog(Dialog[tuple[str, str] | None]):
    """Ask for an issue ref and a first message. Enter in the last field submits; Escape cancels.

    With `queue_because` (the cap's refusal), it queues the work instead: it starts when a slot frees.
    """

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
            yield Input(placeholder="OWNER/REPO#N, HOST/OWNER/REPO#N or an issue URL", id="ref")
            yield Static("", id="ref-error", classes="error", markup=False)
            yield Label("Message for the agent")
            yield Input(placeholder="What should the agent do?", id="message")
            yield Static("", id="message-error", classes="error", markup=False)
            yield Static(f"Tab: next field   Enter: {verb.lower()}   Escape: cancel", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#ref", Input).focus()

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

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "ref":
            self.query_one("#message", Input).focus()
            return
        error = self._ref_error()
        if error:
            self.query_one("#ref-error", Static).update(error)
            self.query_one("#ref", Input).focus()
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

    def on_mount(self) -> None:
        self.query_one(Input).focus()

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
