"""The ``tiergate`` command: serve, route (offline dry run), validate.

tiergate serve --config routes.yaml --host 127.0.0.1 --port 8080
tiergate route --config routes.yaml request.json      # or - for stdin
tiergate validate routes.yaml examples/*.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import msgspec

from tiergate.config.problems import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tiergate", description="A declarative rules-engine LLM gateway.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the gateway")
    p.add_argument("--config", default="routes.yaml", type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", default=8080, type=int)
    p.add_argument("--log-level", default=os.environ.get("TIERGATE_LOG_LEVEL", "info"))
    p.add_argument("--no-watch", action="store_true", help="do not reload when the rule file changes")

    p = sub.add_parser("route", help="print the RoutingDecision for a request, calling no model")
    p.add_argument("--config", default="routes.yaml", type=Path)
    p.add_argument("request", help="a chat request JSON file, or - for stdin")

    p = sub.add_parser("validate", help="check rule files; prints file:line:col: message per problem")
    p.add_argument("paths", nargs="+", type=Path)

    args = parser.parse_args(argv)
    if args.command == "serve":
        from tiergate.server import run

        return run(args.config, args.host, args.port, log_level=args.log_level, watch=not args.no_watch)
    if args.command == "route":
        return _route(args.config, args.request)
    return _validate(args.paths)


def _route(config: Path, source: str) -> int:
    from tiergate.api.bodies import decode_chat
    from tiergate.config.loader import load_file
    from tiergate.engine.graph import compile_graph
    from tiergate.engine.router import Router
    from tiergate.errors import TiergateError

    try:
        graph = compile_graph(load_file(config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    body = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    try:
        request = decode_chat(body)
    except TiergateError as exc:
        print(f"{source}: {exc.message}", file=sys.stderr)
        return 2
    routed = asyncio.run(Router(graph).decide(request, classify=False))
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(routed.decision), indent=2).decode() + "\n")
    return 0


def _validate(paths: list[Path]) -> int:
    from tiergate.config.validate import validate_file

    failed = False
    for path in paths:
        problems = validate_file(path)
        for p in problems:
            print(p.render())
        errors = [p for p in problems if p.severity == "error"]
        failed = failed or bool(errors)
        if not errors:
            print(f"{path}: ok" + (f" ({len(problems)} warning(s))" if problems else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
