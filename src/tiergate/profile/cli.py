"""The ``tiergate profile`` command line; the work is in :mod:`tiergate.profile.run`, imported when it runs.

tiergate profile --config routes.yaml [--tier local] [--runs 5] [--judge sonnet] [--out profiles/]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("profile", help="measure local targets on this machine and write profile files")
    p.add_argument("--config", default=Path("routes.yaml"), type=Path)
    p.add_argument("--tier", default=None, help="the tier whose targets to profile (default: band_tiers.local)")
    p.add_argument("--out", type=Path, default=None, help="directory for the files (default: profiles/ by --config)")
    p.add_argument("--runs", type=_positive, default=5, help="warm timing runs after the cold one (1 or more)")
    p.add_argument("--max-tokens", type=_positive, default=64, help="output tokens per timing run (1 or more)")
    p.add_argument("--timeout", type=_seconds, default=120.0, help="seconds allowed for each request")
    p.add_argument("--no-probes", action="store_true", help="skip the tools, vision and JSON-mode probes")
    p.add_argument("--judge", default=None, help="a stronger tier to grade a small prompt set (e.g. sonnet)")
    p.add_argument("--prompts", type=Path, default=None, help="JSONL {id, prompt, reference?} for --judge")
    p.add_argument("--pass-at", type=_grade, default=4, help="a grade at or above this passes (1 to 5)")
    p.add_argument(
        "--context-window", type=_positive, default=None, help="the server's context window in tokens, to record"
    )
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number 1 or more, got {text}")
    return value


def _grade(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 5:
        raise argparse.ArgumentTypeError(f"must be a grade from 1 to 5, got {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from tiergate.profile.run import run as run_profile

    return run_profile(args)
