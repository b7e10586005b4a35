"""Keeping this host's leases fresh: from every command, the console's tick, and `cluster heartbeat`.

A heartbeat renews the host's lease and registers what its sessions/ holds (cluster/slots.py). Commands and the console beat at most every quarter lease
(a stamp file in the home says when the last one was tried), so a command pays a database round trip
only now and then, and an unreachable database costs at most one timeout per quarter lease.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kugetsu_tui.base.errors import KugetsuError
from kugetsu_tui.base.home import Home
from kugetsu_tui.cluster.settings import ClusterSettings, load_cluster_settings

if TYPE_CHECKING:
    from threading import Event

    from kugetsu_tui.cluster.slots import ClusterFigure

STAMP_NAME = ".cluster-heartbeat"


def beat(home: Home, settings: ClusterSettings) -> ClusterFigure:
    """One heartbeat now; raises ClusterUnreachableError (one line) if the database does not answer."""
    from kugetsu_tui.cluster.slots import heartbeat

    _touch(home)
    return heartbeat(home, settings)


def keep_fresh(home: Home) -> None:
    """A heartbeat if [cluster] is set and the last one was tried a quarter lease ago or more; never raises."""
    try:
        settings = load_cluster_settings(home)
        if settings is None or not os.path.isdir(home.root):
            return
        stamp = home.root / STAMP_NAME
        try:
            if time.time() - stamp.stat().st_mtime < settings.lease / 4:
                return
        except FileNotFoundError:
            pass
        beat(home, settings)
    except (KugetsuError, OSError):
        pass  # a command's own work is done: an unreachable cluster is said by starts and `cluster status`


def _touch(home: Home) -> None:
    stamp = home.root / STAMP_NAME
    try:
        stamp.touch(mode=0o600)
        os.utime(stamp)
    except OSError:
        pass


def beat_until_stopped(home: Home, settings: ClusterSettings, stop: Event, report: Callable[[str], None]) -> None:
    """Beat every quarter lease until `stop` is set; `report` gets one line per beat that failed or recovered."""
    failing = False
    while True:
        try:
            figure = beat(home, settings)
            if failing:
                report(f"cluster reachable again: {figure.active}/{figure.cap} across {figure.live_hosts} hosts")
            failing = False
        except KugetsuError as exc:
            report(str(exc))
            failing = True
        if stop.wait(settings.lease / 4):
            return


def beat_in_background(home: Home, report: Callable[[str], None]) -> Event:
    """For a long-lived process (`queue drain --watch`): beat in a daemon thread until the returned event is set."""
    import threading

    stop = threading.Event()
    settings = load_cluster_settings(home)
    if settings is not None:
        threading.Thread(
            target=beat_until_stopped, args=(home, settings, stop, report), name="cluster heartbeat", daemon=True
        ).start()
    return stop
