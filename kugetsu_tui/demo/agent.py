"""A simulated opencode CLI for the demo and the tests: same argv, same JSON event lines.

Implements the subset kugetsu-tui drives: `run [--session ID] [--fork] [--title T]
[--format json] MESSAGE`, `export ID`, `session delete ID`, `session list --format json`
and `import FILE`. Sessions live as JSON files in a store directory, so export, delete and
import round-trip. It "works" for `--seconds` before finishing, like a real agent would.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any


def _new_id() -> str:
    return "ses_" + secrets.token_hex(12)


def _emit(event_type: str, session_id: str, **extra: object) -> None:
    event = {"type": event_type, "timestamp": int(time.time() * 1000), "sessionID": session_id, **extra}
    print(json.dumps(event), flush=True)


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, session_id: str) -> Path:
        if "/" in session_id or session_id.startswith("."):
            raise KeyError(session_id)
        return self.root / f"{session_id}.json"

    def load(self, session_id: str) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(self.path(session_id).read_text())
            return loaded
        except (OSError, ValueError, KeyError):
            raise KeyError(session_id) from None

    def save(self, session: dict[str, Any]) -> None:
        self.path(session["info"]["id"]).write_text(json.dumps(session))

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.root.glob("ses_*.json"))]


def cmd_run(store: Store, args: argparse.Namespace) -> int:
    if args.fork and not args.session:
        print("Error: --fork requires --session or --continue", file=sys.stderr)
        return 1
    if args.fail:
        print("Error: simulated failure (--fail)", file=sys.stderr)
        return 1
    now = int(time.time() * 1000)
    if args.session:
        try:
            session = store.load(args.session)
        except KeyError:
            print("Error: Session not found", file=sys.stderr)
            return 1
        if args.fork:
            parent = session["info"]
            session = {
                "info": {
                    "id": _new_id(),
                    "title": f"{parent['title']} (fork #1)",
                    "parentID": parent["id"],
                    "time": {"created": now, "updated": now},
                },
                "messages": list(session["messages"]),
            }
    else:
        session = {
            "info": {"id": _new_id(), "title": args.title or "demo session", "time": {"created": now, "updated": now}},
            "messages": [],
        }
    sid = session["info"]["id"]
    session["info"].setdefault("directory", os.getcwd())
    text = " ".join(args.message)
    session["messages"].append({"role": "user", "text": text})
    if text.startswith("write ") and ":" in text:
        _write_file(*text[len("write ") :].split(":", 1))
    store.save(session)
    _emit("step_start", sid, part={"type": "step-start"})
    deadline = time.monotonic() + args.seconds
    step = 0
    while time.monotonic() < deadline:
        step += 1
        _emit("text", sid, part={"type": "text", "text": f"working (step {step})"})
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    session["messages"].append({"role": "assistant", "text": f"done: {' '.join(args.message)}"})
    session["info"]["time"]["updated"] = int(time.time() * 1000)
    store.save(session)
    _emit("step_finish", sid, part={"type": "step-finish", "reason": "stop"})
    return 0


def _write_file(path: str, content: str) -> None:
    """The `write` tool: a path relative to the working directory, never outside it."""
    target = os.path.normpath(path.strip())
    if os.path.isabs(target) or target.split(os.sep)[0] == "..":
        print(f"Error: refusing to write outside the working directory: {path}", file=sys.stderr)
        return
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    Path(target).write_text(content.strip() + "\n")


def cmd_export(store: Store, args: argparse.Namespace) -> int:
    try:
        session = store.load(args.id)
    except KeyError:
        print(f"Session not found: {args.id}", file=sys.stderr)
        return 1
    print(f"Exporting session: {args.id}", file=sys.stderr)
    print(json.dumps(session, indent=2))
    return 0


def cmd_import(store: Store, args: argparse.Namespace) -> int:
    try:
        session = json.loads(Path(args.file).read_text())
        session["info"]["id"]
    except (OSError, ValueError, KeyError, TypeError):
        print(f"Error: cannot import {args.file}", file=sys.stderr)
        return 1
    store.save(session)
    print(f"Imported session: {session['info']['id']}")
    return 0


def cmd_session(store: Store, args: argparse.Namespace) -> int:
    if args.action == "list":
        listing = [
            {
                "id": s["info"]["id"],
                "title": s["info"]["title"],
                "updated": s["info"]["time"]["updated"],
                "created": s["info"]["time"]["created"],
            }
            for s in store.all()
        ]
        print(json.dumps(listing, indent=2))
        return 0
    if not args.id:
        print("Error: session delete needs an id", file=sys.stderr)
        return 1
    try:
        store.path(args.id).unlink()
    except (OSError, KeyError):
        print(f"Error: Session not found: {args.id}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demo-agent", description=__doc__)
    parser.add_argument("--store", default=os.environ.get("KUGETSU_DEMO_STORE", ".demo-opencode"))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("KUGETSU_DEMO_SECONDS", "8")))
    parser.add_argument("--fail", action="store_true", help="fail every run, like a broken agent")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("-s", "--session")
    run.add_argument("--fork", action="store_true")
    run.add_argument("--title")
    run.add_argument("--format", default="default")
    run.add_argument("message", nargs="*")
    run.set_defaults(handler=cmd_run)
    export = sub.add_parser("export")
    export.add_argument("id")
    export.set_defaults(handler=cmd_export)
    imp = sub.add_parser("import")
    imp.add_argument("file")
    imp.set_defaults(handler=cmd_import)
    session = sub.add_parser("session")
    session.add_argument("action", choices=["list", "delete"])
    session.add_argument("id", nargs="?")
    session.add_argument("--format", default="json")
    session.set_defaults(handler=cmd_session)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(Store(Path(args.store)), args)
    return code


if __name__ == "__main__":
    sys.exit(main())
