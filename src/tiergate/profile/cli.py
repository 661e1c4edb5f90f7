"""The ``tiergate profile`` command line; the work is in :mod:`tiergate.profile.run`, imported when it runs.

tiergate profile --config routes.yaml [--tier local] [--runs 5] [--judge sonnet] [--out profiles/]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tiergate.arguments import GRADE, POSITIVE, SECONDS


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("profile", help="measure local targets on this machine and write profile files")
    p.add_argument("--config", default=Path("routes.yaml"), type=Path)
    p.add_argument("--tier", default=None, help="the tier whose targets to profile (default: band_tiers.local)")
    p.add_argument("--out", type=Path, default=None, help="directory for the files (default: profiles/ by --config)")
    p.add_argument("--runs", type=POSITIVE, default=5, help="warm timing runs after the cold one (1 or more)")
    p.add_argument("--max-tokens", type=POSITIVE, default=64, help="output tokens per timing run (1 or more)")
    p.add_argument("--timeout", type=SECONDS, default=120.0, help="seconds allowed for each request")
    p.add_argument("--no-probes", action="store_true", help="skip the tools, vision and JSON-mode probes")
    p.add_argument("--judge", default=None, help="a stronger tier to grade a small prompt set (e.g. sonnet)")
    p.add_argument("--prompts", type=Path, default=None, help="JSONL {id, prompt, reference?} for --judge to grade")
    p.add_argument("--pass-at", type=GRADE, default=4, help="a grade at or above this passes (1 to 5)")
    p.add_argument(
        "--context-window", type=POSITIVE, default=None, help="the server's context window in tokens, to record"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tiergate.profile.run import run as run_profile

    return run_profile(args)
