"""``tiergate profile``: measure each target of a tier (the local one by default) and write its profile file.

For each target: time it (tiergate.profile.measure), probe tools, vision and JSON mode
(tiergate.profile.probes), and, with ``--judge``, grade a small prompt set by a stronger tier
(tiergate.profile.judge). The file goes to ``profiles/<tier>-<backend>-<model>.json`` beside routes.yaml
(or ``--out``); the command prints the line that makes a target use it. What a backend refuses with is
printed and written there only through the rules' Redactor (tiergate.profile.scrubbed), as dispatch shows it.

    tiergate profile --config routes.yaml                          # every target of band_tiers.local
    tiergate profile --config routes.yaml --judge sonnet --runs 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tiergate.backends.base import Backend, Call
from tiergate.backends.registry import build_backend
from tiergate.config.problems import did_you_mean
from tiergate.engine.graph import EvaluationGraph
from tiergate.engine.targets import Target
from tiergate.errors import ProfileError, UpstreamError
from tiergate.profile.file import Profile, ProfileCapabilities, write_profile
from tiergate.profile.judge import PROMPTS, Prompt, judge_set, load_prompts
from tiergate.profile.measure import series, time_runs
from tiergate.profile.probes import run_probes
from tiergate.profile.scrubbed import Scrubbed
from tiergate.redact import Redactor, redact_url


@dataclass(frozen=True)
class ProfileOptions:
    runs: int = 5
    max_tokens: int = 64
    timeout: float = 120.0
    probes: bool = True
    judge: str | None = None
    prompts: tuple[Prompt, ...] = PROMPTS
    pass_at: int = 4
    context_window: int | None = None


def host() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def file_name(target: Target) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{target.tier}-{target.backend}-{target.model}").strip("-")
    return f"{slug}.json"


def _call(target: Target, timeout: float) -> Call:
    return Call(model=target.model, connect_timeout=target.timeouts.connect, total_timeout=timeout)


async def profile_target(
    graph: EvaluationGraph,
    target: Target,
    backends: Mapping[str, Backend],
    options: ProfileOptions,
) -> Profile:
    """Measure one target; ProfileError when it cannot be reached at all."""
    backend = backends[target.backend]
    call = _call(target, options.timeout)
    try:
        timings = await time_runs(backend, call, runs=options.runs, max_tokens=options.max_tokens)
    except (UpstreamError, TimeoutError) as exc:
        why = getattr(exc, "message", None) or f"no answer within {options.timeout:g}s"
        raise ProfileError(f"cannot profile {target.label} on backend '{target.backend}': {why}") from None
    probes = await run_probes(backend, call) if options.probes else {}
    notes = [f"warm run failed: {e}" for e in timings.errors]
    if not options.probes:
        notes.append("probes skipped (--no-probes): capabilities are not measured")
    quality = None
    if options.judge is not None:
        judges = graph.chains.tiers.get(options.judge)
        if not judges:
            raise ProfileError(f"--judge {options.judge}: no such tier in the rule file")
        judge = judges[0]
        quality = await judge_set(
            backend,
            call,
            backends[judge.backend],
            _call(judge, options.timeout),
            options.prompts,
            f"{judge.tier}/{judge.model}",
            pass_at=options.pass_at,
        )
    capabilities = ProfileCapabilities(
        tools=probes["tools"].ok if "tools" in probes else target.capabilities.tools,
        vision=probes["vision"].ok if "vision" in probes else target.capabilities.vision,
        json_mode=probes["json_mode"].ok if "json_mode" in probes else False,
        context_window=options.context_window,
    )
    kind = graph.config.backends[target.backend].__struct_config__.tag
    return Profile(
        tier=target.tier,
        backend=target.backend,
        kind=str(kind),
        model=target.model,
        url=redact_url(backend.url),
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        host=host(),
        runs=len(timings.warm),
        max_tokens=options.max_tokens,
        load_ms=timings.load_ms,
        ttft_ms=series([r.ttft_ms for r in timings.warm]),
        total_ms=series([r.total_ms for r in timings.warm]),
        tokens_per_s=timings.tokens_per_s,
        capabilities=capabilities,
        probes=probes,
        quality=quality,
        notes=notes,
    )


async def profile_tier(
    graph: EvaluationGraph, tier: str, options: ProfileOptions, environ: Mapping[str, str], out: Path
) -> list[tuple[Path, Profile]]:
    targets = graph.chains.tiers.get(tier)
    if not targets:
        raise ProfileError(f"no tier '{tier}' in the rule file{did_you_mean(tier, graph.chains.tiers)}")
    names = {t.backend for t in targets}
    if options.judge is not None and options.judge in graph.chains.tiers:
        names.add(graph.chains.tiers[options.judge][0].backend)
    redact = Redactor.of(graph.config, environ)  # what a backend refuses with is printed and written to the file
    backends: dict[str, Backend] = {
        name: Scrubbed(build_backend(name, graph.config.backends[name], environ), redact) for name in names
    }
    written: list[tuple[Path, Profile]] = []
    try:
        for target in targets:
            profile = await profile_target(graph, target, backends, options)
            path = out / file_name(target)
            write_profile(path, profile)
            written.append((path, profile))
    finally:
        for backend in backends.values():
            with contextlib.suppress(Exception):
                await backend.aclose()
    return written


def summary(path: Path, profile: Profile, base: Path) -> list[str]:
    def ms(value: float | None) -> str:
        return f"{value:.0f} ms" if value is not None else "-"

    caps = profile.capabilities
    lines = [
        f"{profile.tier}/{profile.model} on {profile.backend} ({profile.url}): {profile.runs} warm runs",
        f"  TTFT p50 {ms(profile.ttft_ms.p50)}, p95 {ms(profile.ttft_ms.p95)}; total p50 {ms(profile.total_ms.p50)};"
        f" {profile.tokens_per_s or '-'} tokens/s; load {ms(profile.load_ms)}",
    ]
    for name, result in profile.probes.items():
        detail = " ".join(result.detail.split())
        detail = detail if len(detail) <= 160 else detail[:157] + "..."
        lines.append(f"  {name}: {'ok' if result.ok else 'no'} ({detail})")
    if profile.quality is not None:
        q = profile.quality
        lines.append(
            f"  judged by {q.judge}: mean {q.mean_score if q.mean_score is not None else '-'} of 5, "
            f"{q.graded}/{q.prompts} graded, pass rate {q.pass_rate if q.pass_rate is not None else '-'}"
        )
    lines.append(f"  tools={caps.tools} vision={caps.vision} json_mode={caps.json_mode}")
    try:
        shown = path.resolve().relative_to(base.resolve())
    except ValueError:
        shown = path
    lines.append(f"  wrote {path}; use it with `profile: {shown}` on the target in routes.yaml")
    return lines


def run(args: argparse.Namespace) -> int:
    from tiergate.config.loader import load_file
    from tiergate.config.problems import ConfigError
    from tiergate.engine.graph import compile_graph

    if args.prompts is not None and args.judge is None:
        # Without a judge nothing reads them: running on would measure the target and say nothing of them.
        print(
            "tiergate profile: --prompts is the prompt set --judge grades: add --judge TIER (e.g. --judge sonnet) "
            "or leave --prompts out",
            file=sys.stderr,
        )
        return 2
    try:
        graph = compile_graph(load_file(args.config))
        prompts = tuple(load_prompts(args.prompts)) if args.prompts is not None else PROMPTS
        options = ProfileOptions(
            runs=args.runs,
            max_tokens=args.max_tokens,
            timeout=args.timeout,
            probes=not args.no_probes,
            judge=args.judge,
            prompts=prompts,
            pass_at=args.pass_at,
            context_window=args.context_window,
        )
        tier = args.tier or graph.config.routing.band_tiers.local
        base = graph.source_dir or Path(".")
        out = args.out if args.out is not None else base / "profiles"
        written = asyncio.run(profile_tier(graph, tier, options, os.environ, out))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ProfileError as exc:
        print(f"tiergate profile: {exc}", file=sys.stderr)
        return 1
    for path, profile in written:
        print("\n".join(summary(path, profile, base)))
    return 0
