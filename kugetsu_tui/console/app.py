"""The console app: the home, the model, the main screen, and the workers that keep them current.

The workers watch the sessions directory and the queue; they post messages that the app folds
into the model (`model.py`) before the main screen draws it. A once-a-second tick on the loop
samples the agents' processes and reads their activity (cheaper than a worker). Any worker or
tick that fails of an unexpected error is reported (a notification and `logs/console.log` in the
home) and, for the watchers, restarted: the console never exits on an error it did not expect.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from kugetsu_tui.attention.notifier import Notifier, attention_notice
from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import FILE_MODE, Home
from kugetsu_tui.base.process import ProcessSampler
from kugetsu_tui.base.text import printable
from kugetsu_tui.console.main_screen import MainScreen
from kugetsu_tui.console.messages import (
    ClusterBeat,
    ParkedRead,
    QueueDrained,
    QueueRead,
    ServerFollowed,
    SessionsRead,
    UnexpectedError,
    UsageRead,
    WatcherModeChanged,
)
from kugetsu_tui.console.model import ConsoleModel, config_stamp, read_changes
from kugetsu_tui.console.naming import session_label
from kugetsu_tui.console.settings import console_bell
from kugetsu_tui.console.worker_errors import ReportsWorkerErrors
from kugetsu_tui.opencode.settings import DEFAULT_STALL_AFTER
from kugetsu_tui.sessions.activities import Activity, ActivityInfo
from kugetsu_tui.sessions.capacity_settings import DEFAULT_IDLE_AFTER, idle_after
from kugetsu_tui.sessions.files import count_active
from kugetsu_tui.sessions.limit import Limit, resolve_limit
from kugetsu_tui.sessions.overview import SessionView
from kugetsu_tui.sessions.watch import is_waiting, session_batches

if TYPE_CHECKING:
    from kugetsu_tui.cluster.settings import ClusterSettings
    from kugetsu_tui.opencode.server_activity import ActivityTracker
    from kugetsu_tui.opencode.usage import Usage

STATS_INTERVAL = 1.0  # the agents on screen are sampled this often
CLUSTER_INTERVAL = 15.0  # with [cluster] set: the cluster's figure is this fresh (and the lease renewed)
ACTIVITY_EVERY = 2  # ticks between looks at what the agents on screen are doing (a stat of each log)
SAMPLE_ALL_EVERY = 5  # ticks between looks at everything: agents off screen, and the (coarse) ages
WATCHER_GROUP = "session-watcher"
SAMPLER = "process sampler"  # named in the report of an error nobody expected
ACTIVITY_READER = "activity reader"
QUEUE_WATCHER_GROUP = "queue-watcher"
PARKED_WATCHER_GROUP = "parked-watcher"
PARK_POLICY_EVERY = 30  # ticks between looks for sessions idle longer than [capacity] park_idle_after
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0)  # seconds before the n-th restart of a failed watcher
ERROR_LOG = "console.log"
USAGE_INTERVAL = 15.0  # seconds between reads of the tokens and cost (the server's session list)


TITLE = "kugetsu-tui"


class KugetsuConsole(ReportsWorkerErrors, App[None]):
    TITLE = TITLE

    def __init__(
        self,
        home: Home,
        *,
        clock: Callable[[], float] = time.time,
        force_polling: bool = False,
        sample_processes: bool = True,
        check_work: bool = True,
        follow_activity: bool = True,
    ) -> None:
        super().__init__()
        self.home = home
        self.clock = clock
        self.force_polling = force_polling
        self.sample_processes = sample_processes
        self.check_work = check_work  # off: only the cached work status is shown (snapshots stay still)
        self.follow_activity = follow_activity  # off: no Activity column (snapshots stay still)
        self.sub_title = printable(home.root)
        self.model = ConsoleModel(Limit(None, "not read yet", "not read yet"))
        self._sampler = ProcessSampler()
        self._ticks = 0
        self._failing: dict[str, str] = {}  # what each part of the tick last failed of, while it fails
        self._stall_after = DEFAULT_STALL_AFTER  # read on mount, and again when config.toml changes
        self._config_stamp: tuple[float | None, ...] = ()
        self._stop_watching = asyncio.Event()
        self._watcher_restarts = 0
        self._drain_lock = threading.Lock()
        self._stop_following = threading.Event()
        self._resync = threading.Event()  # set: the follower reconnects and takes a fresh snapshot
        self._contradicted: set[str] = set()  # sessions whose server busy the process evidence contradicts
        self._bell = False
        self._policy_error = ""  # why [capacity] park_idle_after cannot be applied, once said
        self.notifier: Notifier | None = None  # `[notify] by = "console"`: this console notifies
        self._frozen = False  # see freeze_what_is_loaded
        self.tracker: ActivityTracker | None = None  # the server's view, when [agent] server is set
        self.server_url: str | None = None
        self._counted: dict[str, Usage] = {}  # tokens and cost by opencode session id, as last read

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self.home, self.model, self.clock)

    @property
    def main_screen(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        # The figure first (a directory listing; the main screen draws it as it mounts), the rows as
        # soon as the watcher has read them.
        try:
            self.model.active = count_active(self.home)
        except OSError as exc:  # e.g. a symlink loop, or no permission: start anyway, and say what is wrong
            self.notify(
                f"cannot list {printable(self.home.sessions_dir)}: {exc.strerror or exc}",
                title="Sessions unreadable",
                severity="error",
                markup=False,
            )
        self._reread_config()
        # The watchers read every file (in a thread, but holding the GIL for much of it): started after
        # the first frame, they no longer delay the figure (start-up at 10,000 sessions).
        self.call_after_refresh(self.watch_sessions)
        self.call_after_refresh(self.watch_queue)
        self.call_after_refresh(self.watch_parked)
        self.set_interval(STATS_INTERVAL, self.tick)
        try:
            self._bell = console_bell(self.home)
        except KugetsuError as exc:
            self.notify(str(exc), severity="warning", markup=False)
        self._start_notifying()
        self._start_following_the_server()
        self._start_cluster_beats()
        self._recover_if_needed()
        if not self.check_work:
            self.call_after_refresh(self.main_screen.run_check_work, check=False)
        # else the checks start once the sessions are first read (on_sessions_read)

    def _start_cluster_beats(self) -> None:
        """With [cluster] dsn: keep this host's leases fresh, and the cluster's figure in the footer."""
        from kugetsu_tui.cluster.settings import load_cluster_settings

        try:
            settings = load_cluster_settings(self.home)
        except KugetsuError as exc:
            self.notify(str(exc), title="Cluster off", severity="warning", markup=False)
            return
        if settings is None:
            return
        self.beat_cluster(settings)
        self.set_interval(min(CLUSTER_INTERVAL, settings.lease / 4), partial(self.beat_cluster, settings))

    @work(thread=True, group="cluster", exclusive=True, exit_on_error=False)
    def beat_cluster(self, settings: ClusterSettings) -> None:
        from kugetsu_tui.cluster.liveness import beat

        try:
            figure = beat(self.home, settings)
        except KugetsuError:
            self.post_message(ClusterBeat("cluster unreachable"))
            return
        hosts = f"{figure.live_hosts} host{'s' if figure.live_hosts != 1 else ''}"
        self.post_message(ClusterBeat(f"cluster {figure.active}/{figure.cap} on {hosts}"))

    def on_cluster_beat(self, message: ClusterBeat) -> None:
        if message.figure != self.model.cluster:
            self.model.cluster = message.figure
            self.main_screen.show_capacity()

    def _recover_if_needed(self) -> None:
        """An operation killed mid-way leaves its intent record under journal/, which is gone at rest:
        one stat says whether there is anything to recover."""
        if os.path.isdir(self.home.journal_dir):
            self.main_screen.run_recover()

    def _reread_config(self) -> None:
        """The limit and the stall time, from the files as they are now."""
        self._config_stamp = config_stamp(self.home)
        limit = resolve_limit(self.home)
        if limit != self.model.limit:
            self.model.limit = limit
            self.main_screen.show_capacity()
        self._stall_after = _stall_after(self.home)
        self.model.idle_after = _idle_after(self.home)

    def start_work_checks(self) -> None:
        """A check of every dev session's work in the background now, and again every `interval`.

        Started once the sessions are first read, with them: at 10,000 sessions a check beside the first
        read read every file again, both threads holding the GIL the loop needed for its first seconds.
        """
        from kugetsu_tui.work.status import load_work_settings

        try:
            interval = load_work_settings(self.home)[0].interval
        except KugetsuError as exc:
            self.notify(str(exc), title="Work status is off", severity="warning", markup=False)
            return
        self.main_screen.run_check_work(sessions=[v.session for v in self.model.views.values()])
        self.set_interval(interval, self.main_screen.run_check_work)

    async def on_unmount(self) -> None:
        self._stop_watching.set()
        self._stop_following.set()

    # --- the sessions directory -------------------------------------------------------------------

    @work(exclusive=True, group=WATCHER_GROUP, exit_on_error=False)
    async def watch_sessions(self) -> None:
        def mode_changed(mode: str) -> None:
            self.post_message(WatcherModeChanged(mode))

        async for batch in session_batches(
            self.home.sessions_dir, self._stop_watching, on_mode=mode_changed, force_polling=self.force_polling
        ):
            names = None if batch.rescan else set(batch.names)
            fresh, gone = await asyncio.to_thread(read_changes, self.home, list(self.model.views), names)
            self.post_message(SessionsRead(fresh, gone, batch.rescan))
            self._watcher_restarts = 0  # it works again

    def on_sessions_read(self, message: SessionsRead) -> None:
        if not self.is_running:
            return  # shutting down: a late batch has no screen to update
        self.model.merge(message.fresh, message.gone, recount=message.rescan)
        self._show_usage()
        first = not self._frozen
        if first:
            self._frozen = True
            freeze_what_is_loaded()
        self.main_screen.sessions_changed()
        if first and self.check_work:
            self.start_work_checks()
        if message.gone or message.rescan:
            self.drain_queue()  # a slot may have freed

    # --- the queue ---------------------------------------------------------------------------------

    @work(exclusive=True, group=QUEUE_WATCHER_GROUP, exit_on_error=False)
    async def watch_queue(self) -> None:
        from kugetsu_tui.queue.items import list_items

        async for _batch in session_batches(self.home.queue_items_dir, self._stop_watching):
            self.post_message(QueueRead(await asyncio.to_thread(list_items, self.home)))

    def on_queue_read(self, message: QueueRead) -> None:
        if not self.is_running:
            return
        self.model.set_queue(message.items)
        self.main_screen.sessions_changed()
        if self.model.queued:
            self.drain_queue()

    # --- parked sessions ---------------------------------------------------------------------------

    @work(exclusive=True, group=PARKED_WATCHER_GROUP, exit_on_error=False)
    async def watch_parked(self) -> None:
        from kugetsu_tui.sessions.overview import parked_view
        from kugetsu_tui.sessions.parked import list_parked

        def read() -> list[SessionView]:
            return [parked_view(s) for s in list_parked(self.home)]

        async for _batch in session_batches(self.home.parked_dir, self._stop_watching):
            self.post_message(ParkedRead(await asyncio.to_thread(read)))

    def on_parked_read(self, message: ParkedRead) -> None:
        if not self.is_running:
            return
        self.model.set_parked(message.views)
        self.main_screen.sessions_changed()

    @work(thread=True, group="park-policy", exclusive=True, exit_on_error=False)
    def apply_park_policy(self) -> None:
        """`[capacity] park_idle_after`: park the sessions idle longer (the core never parks a busy one)."""
        from kugetsu_tui.queue.parking import apply_policy, describe

        try:
            parked = apply_policy(self.home)
        except KugetsuError as exc:  # a broken setting: said once, until it changes
            if str(exc) != self._policy_error:
                self._policy_error = str(exc)
                self.call_from_thread(self.notify, str(exc), title="Parking off", severity="warning", markup=False)
            return
        self._policy_error = ""
        for outcome in parked:
            text = f"{describe(outcome)}: [capacity] park_idle_after; P resumes it"
            self.call_from_thread(self.notify, text, title="Parked", markup=False)

    @work(thread=True, group="queue-drain", exit_on_error=False)
    def drain_queue(self) -> None:
        """Start queued work while slots are free; any number of drainers never start an item twice."""
        from kugetsu_tui.queue.drain import drain_once
        from kugetsu_tui.queue.settings import console_drains

        if not self.model.queued or not self._drain_lock.acquire(blocking=False):
            return  # nothing waits, or a pass is under way (it looks again before it ends)
        try:
            if console_drains(self.home):
                results = drain_once(self.home, should_stop=lambda: not self.is_running)
                if results:
                    self.post_message(QueueDrained(results))
        finally:
            self._drain_lock.release()

    def on_queue_drained(self, message: QueueDrained) -> None:
        from kugetsu_tui.queue.claims import DrainOutcome
        from kugetsu_tui.queue.drain import describe

        for result in message.results:
            if result.outcome == DrainOutcome.STARTED:  # named as every toast names a session: by its ref
                label = session_label(str(result.item_id), result.issue_ref)
                self.notify(f"started {label} from the queue", title="Queue", markup=False)
            else:
                title = "Queue blocked" if result.outcome == DrainOutcome.BLOCKED else "Queue"
                self.notify(describe(result), title=title, severity="warning", markup=False)

    def on_watcher_mode_changed(self, message: WatcherModeChanged) -> None:
        if is_waiting(message.mode) and not is_waiting(self.model.watcher_mode):
            self.notify(message.mode, title="Sessions directory", severity="warning", markup=False)
        self.model.watcher_mode = message.mode
        self.main_screen.show_capacity()

    # --- once a second: the limit and the agents' processes ----------------------------------------

    def tick(self) -> None:
        """Once a second: the limit if its files changed, then the rows on screen: their agents'
        CPU and memory, and every other tick what their agents are doing. Everything off screen
        (and the coarse ages) only every SAMPLE_ALL_EVERY ticks: that is what keeps an idle console
        near Textual's own cost. On the loop, not in a worker: a sample reads /proc in well under a
        millisecond, less than a thread worker's own messages cost."""
        if config_stamp(self.home) != self._config_stamp:
            self._reread_config()
        self._ticks += 1
        everything = self._ticks % SAMPLE_ALL_EVERY == 0
        if everything:
            self._recover_if_needed()
            if self.model.count_idle(self.clock()):
                self.main_screen.show_capacity()
        if self._ticks % PARK_POLICY_EVERY == 0:
            self.apply_park_policy()
        on_screen = set(self.main_screen.table.visible_keys())
        watched = self.model.watched_processes() if self.sample_processes else {}
        due = None if everything else on_screen & watched.keys()
        if due is None or due:
            try:
                stats = self._sampler.sample(watched, due)
            except Exception as error:  # noqa: BLE001 - the console never dies of it: reported, it goes on
                self._report_once(SAMPLER, error)
                return
            self._failing.pop(SAMPLER, None)
            sampled = watched.keys() if due is None else due
            self.model.apply_samples({name: name in stats for name in sampled}, stats)
            self.main_screen.sessions_changed()
        if everything or due:
            self.main_screen.refresh_live_cells(None if everything else due)
        if self.follow_activity and (everything or self._ticks % ACTIVITY_EVERY == 0):
            self.look_at_activity(None if everything else on_screen)

    # --- notifications beyond the console: the desktop, the terminal, a webhook ----------------------

    def _start_notifying(self) -> None:
        from kugetsu_tui.attention.settings import load_notify_settings

        try:
            settings = load_notify_settings(self.home)
        except KugetsuError as exc:
            self.notify(str(exc), title="Notifications are off", severity="warning", markup=False)
            return
        if settings.by == "console":
            self.notifier = Notifier(
                self.home, settings, write_terminal=self.write_to_terminal, on_error=self._notification_failed
            )

    def write_to_terminal(self, sequence: str) -> None:
        """Write an escape sequence (OSC 777 / OSC 9) to the terminal, as the bell is written."""
        if not self.is_headless and self._driver is not None:
            self._driver.write(sequence)

    def _notification_failed(self, failure: str) -> None:
        """From the notifier's thread: one warning per distinct failure."""
        self.call_from_thread(self.notify, failure, title="Notification failed", severity="warning", markup=False)

    def _notify_changes(self, before: dict[str, ActivityInfo | None], fresh: dict[str, ActivityInfo]) -> None:
        notifier = self.notifier
        if notifier is None:
            return
        selected = self.main_screen.table.selected_name
        for name, info in fresh.items():
            item = self.model.views.get(name)
            old = before.get(name)
            if item is None or old == info:
                continue
            try:
                notifier.changed(name, item.session.issue_ref, old, info, quiet=name == selected)
            except OSError as error:  # the record cannot be written: said once, the console goes on
                self._report_once("notifier", error)

    # --- what the agents are doing: the opencode server, or their own output -------------------------

    def _start_following_the_server(self) -> None:
        from kugetsu_tui.opencode.settings import load_agent_config

        try:
            config = load_agent_config(self.home)
        except KugetsuError:
            return  # the start and continue keys say what is wrong with config.toml
        if config.server and self.follow_activity:
            from kugetsu_tui.opencode.server_activity import ActivityTracker

            self.server_url, self.tracker = config.server, ActivityTracker()
            self.main_screen.server = (config.server, self.tracker)
            self.follow_server(config.server)
            self.call_after_refresh(self.read_usage)
            self.set_interval(USAGE_INTERVAL, self.read_usage)

    @work(thread=True, exclusive=True, group="usage-reader", exit_on_error=False)
    def read_usage(self) -> None:
        """Each session's tokens and cost from the server's session list (one request per directory)."""
        from kugetsu_tui.opencode.activity import SERVER_TIMEOUT, server_directories
        from kugetsu_tui.opencode.server import OpencodeServer, ServerUnavailable
        from kugetsu_tui.opencode.settings import load_agent_config
        from kugetsu_tui.opencode.usage import usages

        if self.server_url is None:
            return
        try:
            directories = server_directories(self.home, list(self.model.views.values()), load_agent_config(self.home))
            found = usages(OpencodeServer(self.server_url, SERVER_TIMEOUT), directories)
        except (ServerUnavailable, KugetsuError):
            return  # the footer says the server is unreachable; the last counts stay
        self.post_message(UsageRead(found))

    def on_usage_read(self, message: UsageRead) -> None:
        if not self.is_running:
            return
        self._counted = message.by_session_id
        self._show_usage()

    def _show_usage(self) -> None:
        """The last counts, by the rows' names (again when rows come: the first read may be before them)."""
        if not self._counted:
            return
        counted = self._counted
        self.model.set_usage(
            {
                name: usage
                for name, item in self.model.views.items()
                if (sid := item.session.opencode_session_id) and (usage := counted.get(sid)) is not None
            }
        )
        self.main_screen.sessions_changed()

    @work(thread=True, group="server-follower", exit_on_error=False)
    def follow_server(self, url: str) -> None:
        """Follow /global/event, reconnecting with backoff; the tracker then knows each session's activity."""
        from kugetsu_tui.opencode.activity import server_directories
        from kugetsu_tui.opencode.server import OpencodeServer
        from kugetsu_tui.opencode.server_activity import follow
        from kugetsu_tui.opencode.settings import load_agent_config

        assert self.tracker is not None
        config = load_agent_config(self.home)

        def changed(_session_id: str | None) -> None:
            self.post_message(ServerFollowed(""))

        def down(reason: str) -> None:
            self.post_message(ServerFollowed(reason))

        follow(
            OpencodeServer(url),
            self.tracker,
            lambda: server_directories(self.home, list(self.model.views.values()), config),
            self._stop_following,
            changed,
            down,
            event_timeout=config.event_timeout,
            resync=self._resync,
        )

    def on_server_followed(self, message: ServerFollowed) -> None:
        if message.trouble != self.model.server_trouble:
            self.model.server_trouble = message.trouble
            self.main_screen.show_capacity()
        self.look_at_activity()

    def look_at_activity(self, names: set[str] | None = None) -> None:
        """What the agents of `names` (all the live ones and those on screen when None) are doing: a
        stat of each one's log, and what the server said."""
        from kugetsu_tui.opencode.activity import busy_contradicted, combine
        from kugetsu_tui.opencode.log_activity import log_activity

        if names is None:
            names = set(self.main_screen.table.visible_keys()) | set(self.model.watched_processes())
        tracker, connected = self.tracker, not self.model.server_trouble
        fresh = {}
        try:
            for name in names:
                item = self.model.views.get(name)
                if item is None:
                    continue
                local = log_activity(self.home, item, self._stall_after)
                sid = item.session.opencode_session_id
                told = tracker.activity(sid) if tracker is not None and connected and sid else None
                fresh[name] = combine(item, told, local)
                if told is not None and busy_contradicted(item, told):
                    if name not in self._contradicted:  # once: a server that stays stale is not asked again
                        self._contradicted.add(name)
                        self._resync.set()  # the tracker may have missed the end: ask the server afresh
                else:
                    self._contradicted.discard(name)
        except Exception as error:  # noqa: BLE001 - as in `tick`
            self._report_once(ACTIVITY_READER, error)
            return
        self._failing.pop(ACTIVITY_READER, None)
        before = {name: self.model.activity.get(name) for name in fresh}
        for name, info in self.model.set_activities(fresh):
            item = self.model.views[name]
            title, text = attention_notice(printable(item.session.issue_ref or name), info)
            self.notify(text, title=title, severity="warning", markup=False)
            if self._bell:
                self.bell()
        if self.model.activity_changes:
            changes, self.model.activity_changes = self.model.activity_changes, []
            self.record_activity(changes)
        self.model.count_idle(self.clock())
        self._notify_changes(before, fresh)
        wanting = self.model.attention
        self.title = f"{TITLE} ({wanting} need{'s' if wanting == 1 else ''} you)" if wanting else TITLE
        self.main_screen.sessions_changed()

    @work(thread=True, group="ledger", exit_on_error=False)
    def record_activity(self, changes: list[tuple[str, Activity]]) -> None:
        """What the console saw the agents start doing (an ask, a stall), into the slot ledger: under the
        sessions lock, as the core writes it, so its counts stay in order with the admissions."""
        from kugetsu_tui.base.locking import sessions_lock
        from kugetsu_tui.sessions.ledger import Event, record_counted

        with sessions_lock(self.home):
            for name, activity in changes:
                if os.path.lexists(self.home.session_path(name)):  # still a slot holder
                    record_counted(self.home, Event.ACTIVITY_CHANGED, name, activity=str(activity))

    # --- errors nobody expected ----------------------------------------------------------------------

    def _report_once(self, where: str, error: Exception) -> None:
        """Report an error of the tick, but not again each second while it stays the same."""
        seen = f"{type(error).__name__}: {error}"
        if self._failing.get(where) != seen:
            self._failing[where] = seen
            self.post_message(UnexpectedError(where, error))

    def on_unexpected_error(self, message: UnexpectedError) -> None:
        error = message.error
        where = self._log_error(message.worker_name, error)
        self.notify(
            f"{type(error).__name__}: {error}{where}. The console keeps running.",
            title=f"Unexpected error in {message.worker_name}",
            severity="error",
            timeout=15,
            markup=False,
        )
        if message.worker_name in (WATCHER_GROUP, QUEUE_WATCHER_GROUP) and self.is_running:
            delay = RESTART_DELAYS[min(self._watcher_restarts, len(RESTART_DELAYS) - 1)]
            self._watcher_restarts += 1
            restart = {WATCHER_GROUP: self.watch_sessions, PARKED_WATCHER_GROUP: self.watch_parked}
            self.set_timer(delay, restart.get(message.worker_name, self.watch_queue))

    def _log_error(self, worker_name: str, error: BaseException) -> str:
        """Append the traceback to logs/console.log in the home; say where, or nothing if it cannot."""
        path = self.home.logs_dir / ERROR_LOG
        try:
            self.home.ensure(self.home.root, self.home.logs_dir)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            text = "".join(traceback.format_exception(error))
            with open(path, "a", encoding="utf-8", opener=_open_private) as log:
                log.write(f"{stamp} unexpected error in {worker_name}:\n{text}\n")
        except OSError:
            return ""
        return f" (details in {path})"

    # --- the command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action bound on the main screen (read from its bindings: none can be left out), then
        Textual's own commands but its Quit (ours quits too, and says the agents keep running)."""
        from kugetsu_tui.console.help_screen import bound_commands

        main = self.main_screen
        for title, help_text, action in bound_commands(main):
            yield SystemCommand(title, help_text, partial(main.run_from_palette, action))
        yield from (command for command in super().get_system_commands(screen) if command.title != "Quit")


def freeze_what_is_loaded() -> None:
    """Leave what the console holds once its sessions are first read out of the garbage collector's
    full collections (gc.freeze): at 10,000 sessions each full collection walked every session's objects
    and held the loop 45-90 ms, every few seconds at rest. Frozen objects are still freed by reference
    counting; only a cycle among them would outlive its use, and the main screen and its rows live as long
    as the console."""
    gc.freeze()


def _stall_after(home: Home) -> float:
    """`[agent] stall_after`, or its default while config.toml is broken (start and continue say why)."""
    from kugetsu_tui.opencode.settings import load_agent_config

    try:
        return load_agent_config(home).stall_after
    except KugetsuError:
        return DEFAULT_STALL_AFTER


def _idle_after(home: Home) -> float:
    """`[capacity] idle_after`, or its default while config.toml is broken (`stats` says why)."""
    try:
        return idle_after(home)
    except KugetsuError:
        return DEFAULT_IDLE_AFTER


def _open_private(path: str, flags: int) -> int:
    return os.open(path, flags, FILE_MODE)
