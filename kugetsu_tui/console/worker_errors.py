"""Workers cannot take the console down: a worker that dies of an unexpected error is reported.

Every worker runs with `exit_on_error=False`. Textual tells only the node that ran the worker
(`Worker.StateChanged` does not bubble), so each such node mixes this in; it posts one
`UnexpectedError`, which bubbles up to the app's single handler.
"""

from __future__ import annotations

from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from kugetsu_tui.console.messages import UnexpectedError


class ReportsWorkerErrors(MessagePump):
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.post_message(UnexpectedError(worker.group or worker.name, worker.error))
