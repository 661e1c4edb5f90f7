"""``tiergate encoder prepare`` and ``tiergate encoder info``: get the encoder ready before the gateway needs it.

``prepare`` locates the weights and distils the static table if this machine has none yet (the Makefile's
install steps run it, so ``make serve`` and ``make test`` start with the table in place). ``info`` says
where the weights come from and whether the table exists, and changes nothing. Both exit 1 with the
searched places when the weights cannot be used.

    tiergate encoder prepare [--weights-dir DIR] [--cache-dir DIR] [--int8]
    tiergate encoder info
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``encoder`` to the ``tiergate`` command's subparsers; the parsed args carry ``run``."""
    parser = subparsers.add_parser("encoder", help="the learned scorer's sentence encoder: weights and static table")
    commands = parser.add_subparsers(dest="encoder_command", required=True)
    for name, help_text in (
        ("prepare", "locate the weights and distil the static table if it is absent"),
        ("info", "show where the weights and the static table are; change nothing"),
    ):
        p = commands.add_parser(name, help=help_text)
        p.add_argument("--weights-dir", type=Path, default=None, help="a sentence-transformers folder or model.zip")
        p.add_argument("--cache-dir", type=Path, default=None, help="where static tables live (~/.cache/tiergate)")
        p.add_argument("--dims", type=int, default=256, help="the static table's dimensions")
    commands.choices["prepare"].add_argument(
        "--int8", action="store_true", help="also build the transformer-int8 kind's model (needs onnxruntime)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tiergate.errors import WeightsError
    from tiergate.learned.weights import load_weights

    started = time.perf_counter()
    try:
        weights = load_weights(args.weights_dir)
    except WeightsError as exc:
        print(f"tiergate encoder: {exc}", file=sys.stderr)
        return 1
    print(f"weights: {weights.origin} (loaded in {time.perf_counter() - started:.1f} s)")
    print(f"digest: {weights.digest}")
    if args.encoder_command == "info":
        return _info(args, weights)
    return _prepare(args, weights)


def _prepare(args: argparse.Namespace, weights: Any) -> int:
    from tiergate.errors import WeightsError
    from tiergate.learned.tables import prepare_table

    try:
        prepared = prepare_table(weights, dims=args.dims, directory=args.cache_dir)
    except (WeightsError, ValueError) as exc:
        print(f"tiergate encoder prepare: {exc}", file=sys.stderr)
        return 1
    if prepared.seconds is None:
        print(f"static table: {prepared.path} (already there)")
    else:
        print(f"static table: {prepared.path} (distilled in {prepared.seconds:.1f} s)")
    if args.int8:
        return _prepare_int8(args, weights)
    return 0


def _prepare_int8(args: argparse.Namespace, weights: Any) -> int:
    from tiergate.errors import WeightsError
    from tiergate.learned import onnx_encoder

    if not onnx_encoder.available():
        print(
            "tiergate encoder prepare: --int8 needs onnxruntime and onnx: pip install 'tiergate[onnx]'", file=sys.stderr
        )
        return 1
    started = time.perf_counter()
    try:
        path = onnx_encoder.prepare_int8(weights, args.cache_dir)
    except WeightsError as exc:
        print(f"tiergate encoder prepare: {exc}", file=sys.stderr)
        return 1
    print(f"int8 model: {path} (ready in {time.perf_counter() - started:.1f} s)")
    return 0


def _info(args: argparse.Namespace, weights: Any) -> int:
    from tiergate.learned import onnx_encoder
    from tiergate.learned.encoder import MAX_TOKENS
    from tiergate.learned.tables import cache_dir, table_path

    print("searched, in order:")
    for place in weights.searched:
        print(f"  - {place}")
    directory = args.cache_dir if args.cache_dir is not None else cache_dir()
    path = table_path(directory, weights.digest, args.dims)
    print(f"static table: {path} ({'present' if path.exists() else 'absent: run tiergate encoder prepare'})")
    if onnx_encoder.available():
        int8 = onnx_encoder.int8_path(directory, weights.digest)
        print(f"int8 model: {int8} ({'present' if int8.exists() else 'absent: built on first use, or prepare --int8'})")
        print("transformer backend: onnxruntime")
    else:
        print("transformer backend: numpy (onnxruntime not installed; no transformer-int8)")
    for kind, tokens in MAX_TOKENS.items():
        print(f"{kind}: max_tokens {tokens}")
    return 0
