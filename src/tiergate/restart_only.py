"""Settings read once, as the gateway starts: a reload that changes them takes effect on restart.

Shared state (``state:``) is built before the rules are installed, and the decision log is opened (and
budgets' spend restored from it) in the app's lifespan, so a reload cannot swap them under running requests.
A reload that changes one of them still installs the rest of the file; :func:`pending_restart` names the
settings whose running value is not the file's, for the reload's warning, ``/health`` and ``/admin/config``.
(``--host``, ``--port`` and ``--workers`` are command-line flags, not rule-file settings.)

    pending_restart(started.config, loaded.config)   # ['state.redis_url']
"""

from __future__ import annotations

from typing import Any

from tiergate.config.model import RoutesConfig

#: Each setting read only at start-up, by its path in the rule file.
RESTART_ONLY = (
    "state.redis_url",
    "state.prefix",
    "state.timeout",
    "state.retry_interval",
    "state.limits_ahead",
    "server.decision_log.enabled",
    "server.decision_log.path",
    "server.decision_log.url",
    "server.decision_log.max_rows",
    "server.decision_log.max_age_days",
)


def value_at(config: RoutesConfig, setting: str) -> Any:
    """The value of ``setting`` (a dotted path such as ``state.redis_url``) in ``config``."""
    value: Any = config
    for part in setting.split("."):
        value = getattr(value, part)
    return value


def pending_restart(running: RoutesConfig, file: RoutesConfig) -> list[str]:
    """The start-up-only settings whose value in ``file`` differs from the one the gateway runs with."""
    return [setting for setting in RESTART_ONLY if value_at(running, setting) != value_at(file, setting)]
