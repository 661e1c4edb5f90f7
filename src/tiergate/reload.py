"""Reload triggers: the rule file changing on disk, SIGHUP, and ``POST /admin/reload``.

The watcher watches the file's directory, not the file, because editors save by writing a new
file and renaming it over the old one (the old inode would never change again). It also polls the
learned head the rules name (``tiergate train --write`` may leave the rule file's text as it was).

    app = create_app(gateway, lifespans=[watch_rules(gateway.rules)])
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import watchfiles

from tiergate.runtime import Rules

log = logging.getLogger("tiergate.rules")


def watch_rules(
    rules: Rules, *, watch: bool = True, sighup: bool = True, debounce_ms: int = 50
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        stop = asyncio.Event()
        seen = rules.loaded_stat  # as the rules were read: an edit made since, while starting, is not lost
        task = asyncio.create_task(_watch(rules, stop, debounce_ms, seen)) if watch else None
        loop = asyncio.get_running_loop()
        hooked = False
        if sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_reload(rules, "SIGHUP")))
                hooked = True
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if hooked:
                loop.remove_signal_handler(signal.SIGHUP)

    return lifespan


async def _reload(rules: Rules, why: str) -> None:
    """Reload, never raising: the watcher (and SIGHUP) must outlive any one bad reload."""
    try:
        outcome = await rules.reload()
    except Exception as exc:  # Rules.reload rejects what it cannot load; this is for anything after that
        log.error("reload on %s failed: %s: %s", why, type(exc).__name__, exc)
        return
    if outcome.ok and outcome.changed:
        log.info("reloaded rules on %s: version %s", why, outcome.version)


async def _watch(
    rules: Rules,
    stop: asyncio.Event,
    debounce_ms: int,
    seen: tuple[tuple[int, int, int] | None, ...],
    poll_ms: int = 500,
) -> None:
    """Reload on change events, and also when a watched file's stat changes between events.

    The stat check covers edits made before the watcher was armed, filesystems that deliver no
    events (some container bind mounts), and the learned head in its own directory; it costs a stat()
    per watched file every ``poll_ms``.
    """
    target = await asyncio.to_thread(lambda: Path(rules.path).resolve())

    def is_ours(change: watchfiles.Change, path: str) -> bool:
        return Path(path).resolve() == target

    async for changes in watchfiles.awatch(
        target.parent,
        watch_filter=is_ours,
        stop_event=stop,
        debounce=debounce_ms,
        step=20,
        recursive=False,
        rust_timeout=poll_ms,
        yield_on_timeout=True,
    ):
        now = await asyncio.to_thread(rules.signature)
        if changes or now != seen:
            seen = now  # taken before the reload: a change made during it is seen at the next poll
            paths = rules.watched()
            await _reload(rules, "file change")
            if rules.watched() != paths:  # another head to watch (a reload took or refused it): from here on
                seen = await asyncio.to_thread(rules.signature)
