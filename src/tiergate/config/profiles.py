"""Targets that name a ``tiergate profile`` file: read it at load, and fill in the capabilities it measured.

After this step every target of the loaded config has concrete ``capabilities`` (what routing uses, and
what ``GET /admin/config`` shows): the target's own when the file gives them, else its profile's (tools,
vision, the context window it recorded), else the defaults; ``documents`` left unsaid is true on an
``anthropic`` backend and false on others. A profile that is missing or unreadable is a
problem at the target's ``profile`` line. The profiles themselves go on to the graph, whose latency
features start from their timings.

    config, profiles = apply_profiles(config, source, problems)
"""

from __future__ import annotations

from pathlib import Path as FsPath

import msgspec

from tiergate.config.model import AnthropicBackendConfig, Capabilities, RoutesConfig, TierConfig
from tiergate.config.problems import Problem
from tiergate.config.source import YamlSource
from tiergate.errors import ProfileError
from tiergate.profile.file import Profile, load_profile


def apply_profiles(
    config: RoutesConfig, source: YamlSource, problems: list[Problem]
) -> tuple[RoutesConfig, dict[tuple[str, int], Profile]]:
    base = FsPath(source.file).resolve().parent
    found: dict[tuple[str, int], Profile] = {}
    tiers: dict[str, TierConfig] = {}
    for name, tier in config.tiers.items():
        targets = []
        for i, target in enumerate(tier.targets):
            measured: Capabilities | None = None
            if target.profile is not None:
                path = FsPath(target.profile)
                try:
                    found[(name, i)] = profile = load_profile(path if path.is_absolute() else base / path)
                    measured = profile.capabilities.as_capabilities()
                except ProfileError as exc:
                    problems.append(source.problem(("tiers", name, "targets", i, "profile"), str(exc)))
            caps = target.capabilities or measured or Capabilities()
            if caps.documents is None:
                reads = isinstance(config.backends.get(target.backend), AnthropicBackendConfig)
                caps = msgspec.structs.replace(caps, documents=reads)
            targets.append(msgspec.structs.replace(target, capabilities=caps))
        tiers[name] = msgspec.structs.replace(tier, targets=targets)
    return msgspec.structs.replace(config, tiers=tiers), found
