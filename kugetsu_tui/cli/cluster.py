"""`kugetsu-tui cluster status|forget|heartbeat`: the cap shared across hosts ([cluster] in config.toml)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from kugetsu_tui.base.errors import ExitCode, KugetsuError

if TYPE_CHECKING:
    import argparse

    from kugetsu_tui.base.home import Home
    from kugetsu_tui.cluster.settings import ClusterSettings


def add_parsers(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="the cap shared by several hosts on PostgreSQL ([cluster] dsn)")
    commands = cluster.add_subparsers(
        dest="cluster_command", metavar="CLUSTER_COMMAND", required=True, parser_class=type(cluster)
    )
    status = commands.add_parser("status", help="every host's slots and lease, and the cluster's figure")
    status.set_defaults(run=_status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    forget = commands.add_parser("forget", help="drop a host and its slots (a machine gone for good)")
    forget.set_defaults(run=_forget)
    forget.add_argument("host", help="the host's name (see cluster status)")
    heartbeat = commands.add_parser(
        "heartbeat",
        help="keep this host's leases fresh until stopped (a service for a host with no console)",
        description="Keep this host's leases fresh until stopped: renew them every quarter lease, and register "
        "what sessions/ holds. For a host with no console or queue drain --watch (see the README's systemd unit).",
    )
    heartbeat.set_defaults(run=_heartbeat)
    heartbeat.add_argument("--once", action="store_true", help="beat once and exit (2 if the database did not answer)")


def _settings(home: Home) -> ClusterSettings:
    from kugetsu_tui.cluster.settings import load_cluster_settings

    settings = load_cluster_settings(home)
    if settings is None:
        raise KugetsuError(f"no cluster: set [cluster] dsn in {home.config_toml} to share the cap with other hosts")
    return settings


def _status(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.cluster.liveness import beat

    settings = _settings(home)
    figure = beat(home, settings)  # asking is a heartbeat too: this host's slots are what sessions/ holds
    if args.json:
        print(
            json.dumps(
                {
                    "this_host": figure.this_host,
                    "cap": figure.cap,
                    "active": figure.active,
                    "hosts": [host._asdict() for host in figure.hosts],
                },
                indent=2,
            )
        )
        return ExitCode.OK
    over = (
        " (over the cap: no start is admitted until sessions end)" if figure.cap and figure.active > figure.cap else ""
    )
    print(f"cluster: {figure.active}/{figure.cap} active across {figure.live_hosts} live hosts{over}")
    for host in figure.hosts:
        mark = " (this host)" if host.host == figure.this_host else ""
        lease = f"lease until {host.lease_until}" if host.live else f"lease expired {host.lease_until}: not counted"
        print(f"  {printable(host.host)}{mark}: {len(host.slots)} slots, {lease}")
        for name in host.slots:
            print(f"    {printable(name)}")
    return ExitCode.OK


def _forget(home: Home, args: argparse.Namespace) -> int:
    from kugetsu_tui.base.text import printable
    from kugetsu_tui.cluster.slots import forget_host

    settings = _settings(home)
    held = forget_host(settings, args.host)
    again = " (this host: its next heartbeat registers it again)" if args.host == settings.host else ""
    print(f"forgot {printable(args.host)} and its {held} slots{again}")
    return ExitCode.OK


def _heartbeat(home: Home, args: argparse.Namespace) -> int:
    import signal
    import threading
    import time

    from kugetsu_tui.cluster.liveness import beat, beat_until_stopped

    settings = _settings(home)
    if args.once:
        figure = beat(home, settings)
        print(f"{settings.host}: lease renewed; cluster {figure.active}/{figure.cap} across {figure.live_hosts} hosts")
        return ExitCode.OK
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(
        f"{settings.host}: renewing its lease every {settings.lease / 4:g}s (stop with Ctrl+C or SIGTERM)", flush=True
    )
    beat_until_stopped(
        home, settings, stop, lambda line: print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)
    )
    print("stopped", flush=True)
    return ExitCode.OK
