"""The profile file ``tiergate profile`` writes: one local target measured on this machine.

A target in routes.yaml names it (``profile: profiles/local-qwen.json``, relative to routes.yaml). Without
its own ``capabilities`` the target then takes the profile's (tools, vision, context window), and its
``target.<tier>.*`` latency features start from the profile's samples until real requests replace them.
The file is JSON, versioned, and holds what was measured and how, so a reader can judge the numbers:

    {"version": 1, "backend": "llama", "model": "smollm2", "measured_at": "2025-06-01T10:00:00Z",
     "ttft_ms": {"samples": [...], "p50": 180.2, "p95": 240.0, "mean": 190.1},
     "tokens_per_s": 41.3, "load_ms": 812.0,
     "capabilities": {"tools": false, "vision": false, "json_mode": true, "context_window": 2048},
     "probes": {"tools": {"ok": false, "detail": "answered with text, no tool call"}, ...}}

    profile = load_profile(Path("profiles/local-smollm2.json"))
    profile.capabilities.tools
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec

from tiergate.config.model import Capabilities
from tiergate.errors import ProfileError

VERSION = 1


class Series(msgspec.Struct, omit_defaults=True):
    """Repeated timings in milliseconds (warm runs: the first, cold run is ``load_ms``'s)."""

    samples: list[float] = []
    p50: float | None = None
    p95: float | None = None
    mean: float | None = None


class Probe(msgspec.Struct, omit_defaults=True):
    """One small real request testing one capability: did the answer show it, and why not."""

    ok: bool
    detail: str
    elapsed_ms: float = 0.0


class ProfileCapabilities(msgspec.Struct):
    tools: bool = False
    vision: bool = False
    json_mode: bool = False
    #: The server's context window when it says (llama.cpp's ``/props``, Ollama's ``/api/show``); else None.
    #: Positive: a file with 0 or less is refused, since every request would skip the target.
    context_window: Annotated[int, msgspec.Meta(ge=1)] | None = None

    def as_capabilities(self) -> Capabilities:
        if self.context_window is None:
            return Capabilities(tools=self.tools, vision=self.vision)
        return Capabilities(tools=self.tools, vision=self.vision, context_window=self.context_window)


class JudgedCase(msgspec.Struct, omit_defaults=True):
    id: str
    score: float | None
    reason: str = ""
    latency_ms: float = 0.0


class QualityReport(msgspec.Struct, omit_defaults=True):
    """A prompt set answered by the target and graded by a stronger tier (``--judge``), 1 to 5."""

    judge: str
    prompts: int
    graded: int
    mean_score: float | None
    pass_rate: float | None
    pass_at: int
    cases: list[JudgedCase] = []


class Profile(msgspec.Struct, kw_only=True):
    version: int = VERSION
    tier: str
    backend: str
    kind: str
    model: str
    url: str
    measured_at: str
    host: dict[str, Any] = {}
    runs: int
    max_tokens: int
    load_ms: float | None = None
    ttft_ms: Series = msgspec.field(default_factory=Series)
    total_ms: Series = msgspec.field(default_factory=Series)
    tokens_per_s: float | None = None
    capabilities: ProfileCapabilities = msgspec.field(default_factory=ProfileCapabilities)
    probes: dict[str, Probe] = {}
    quality: QualityReport | None = None
    notes: list[str] = []


def load_profile(path: Path) -> Profile:
    """Read a profile file; ProfileError names the file and what is wrong with it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read it ({exc.strerror})") from None
    try:
        profile = msgspec.json.decode(raw, type=Profile)
    except msgspec.DecodeError as exc:
        raise ProfileError(f"profile {path}: not a tiergate profile ({exc})") from None
    if profile.version != VERSION:
        raise ProfileError(f"profile {path}: version {profile.version}, this tiergate reads version {VERSION}")
    return profile


def write_profile(path: Path, profile: Profile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(profile), indent=2) + b"\n")
