"""The peer for `ls --json` at scale: read every session file and print them as JSON, nothing else."""

import json
import os
import sys


def main() -> None:
    sessions_dir = os.path.join(os.environ["KUGETSU_HOME"], "sessions")
    sessions = []
    for name in os.listdir(sessions_dir):
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(sessions_dir, name), "rb") as handle:
                sessions.append({"name": name[:-5], **json.loads(handle.read())})
    json.dump({"sessions": sessions}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
