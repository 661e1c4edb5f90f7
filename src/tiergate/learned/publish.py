"""``tiergate train --write``: a new head file and routes.yaml's new cut-offs replace the old ones together.

The cut-offs are chosen for one head's probabilities: a new head with the old cut-offs (or the old head with
the new ones) routes by thresholds meant for another. So nothing is replaced until both new files are written
in full, each to a temporary file of its own beside its target (two runs at once never share one), together
with a copy of the old head to put back. Then the head is renamed over the old one, then routes.yaml; when
routes.yaml cannot be replaced, the old head is put back and the error says nothing was written.

The head goes first because of how a running gateway learns of each: routes.yaml by a file event, acted on
within tens of milliseconds, the head by a stat poll every half second (``tiergate.reload``). The rule file's
event, the one a reload nearly always comes from, then finds the new head already in place, and a reload
reads both files. A lock on routes.yaml's folder keeps two runs from interleaving their pairs.

    version = publish(Path("heads/default.json"), head_text(result.head), Path("routes.yaml"), new_rules)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tiergate.errors import OperatorError
from tiergate.learned.head import head_version


def publish(head: Path, head_text: str, config: Path, config_text: Callable[[], str]) -> str:
    """Replace ``head`` with ``head_text`` and ``config`` with what ``config_text`` makes of it (read under the
    lock, so a second run's cut-offs go into the first run's file); the new head's version.

    Raises ``OSError`` or ``ValueError`` with nothing replaced, and :class:`OperatorError` in the one case
    where the new head stays without its cut-offs (routes.yaml could not be replaced, nor the old head put back).
    """
    head.parent.mkdir(parents=True, exist_ok=True)
    staged: list[Path] = []
    with _locked(config.parent):
        text = config_text()
        try:
            new_head = _stage(head, head_text.encode(), 0o644, staged)  # 0o644: mkstemp's 0600 would hide it
            old_head = _stage(head, head.read_bytes(), _mode(head), staged) if head.exists() else None
            new_config = _stage(config, text.encode(), _mode(config), staged)
            os.replace(new_head, head)
            try:
                os.replace(new_config, config)
            except OSError as exc:
                _put_back(head, old_head, config, exc)
                raise
        finally:
            for part in staged:
                part.unlink(missing_ok=True)
    return head_version(head_text)


def _stage(target: Path, data: bytes, mode: int, staged: list[Path]) -> Path:
    """``data`` written in full (and synced) to a new file beside ``target``, listed in ``staged``."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tiergate-train", dir=target.parent)
    part = Path(name)
    staged.append(part)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(part, mode)
    return part


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _put_back(head: Path, old: Path | None, config: Path, failed: OSError) -> None:
    try:
        if old is not None:
            os.replace(old, head)
        else:
            head.unlink()
    except OSError as exc:
        raise OperatorError(
            f"{config} could not be replaced ({failed}), and the old head could not be put back ({exc}): "
            f"{head} is the new head with the old cut-offs; run tiergate train --write again, or restore the head"
        ) from None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder``, held until the block ends (closing the descriptor releases it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
