"""Run one phase of a benchmark in a child process (a fresh interpreter, so its memory
figures are its own) and read back the JSON line it prints last.

Kept apart from common.py, which imports the app: the parent process stays light.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_phase(script: str, database_url: str, *extra: str) -> dict[str, Any]:
    """`python script *extra` with DATABASE_URL set; its last stdout line as JSON."""
    cmd = [sys.executable, script, *extra]
    # The URL goes by environment, not argv, so a password does not show in `ps`.
    env = dict(os.environ, DATABASE_URL=database_url)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"child {' '.join(extra[:2])} failed with status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])
