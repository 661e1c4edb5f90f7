"""The on-disk cache of distilled static tables: built once per machine, loaded in milliseconds after that.

A table lives in ``$TIERGATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/tiergate``, else ``~/.cache/tiergate``, as
``static-<weights digest>-<recipe>-<dims>.npy``: new weights or a new recipe get a new file, never a stale
one. It is written to a temporary file and renamed, so a reader never sees half a table; a file that does
not load as the expected shape is distilled again and replaced.

    prepared = prepare_table(weights, dims=256)    # distils only when the file is absent
    prepared.table.shape, prepared.path, prepared.seconds   # (30522, 256), Path(...), None when loaded
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiergate.errors import WeightsBroken
from tiergate.learned.bert import F32, Bert
from tiergate.learned.distil import RECIPE, distil
from tiergate.learned.tokens import Tokenizer
from tiergate.learned.weights import Weights


@dataclass(frozen=True)
class Prepared:
    table: F32
    path: Path
    #: How long distillation took, or None when the table came from the cache.
    seconds: float | None


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("TIERGATE_CACHE_DIR"):
        return Path(env["TIERGATE_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "tiergate"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".cache" / "tiergate"


def table_path(directory: Path, digest: str, dims: int) -> Path:
    return directory / f"static-{digest[:16]}-{RECIPE}-{dims}.npy"


def prepare_table(weights: Weights, *, dims: int = 256, directory: Path | None = None) -> Prepared:
    """Load the table for these weights, or distil and save it. Raises WeightsBroken when it cannot be saved."""
    path = table_path(directory if directory is not None else cache_dir(), weights.digest, dims)
    table = load_table(path, (weights.config.vocab_size, dims))
    if table is not None:
        return Prepared(table, path, None)
    started = time.perf_counter()
    tokenizer = Tokenizer.parse(weights.tokenizer_json, max_tokens=weights.config.max_positions)
    table = distil(Bert(weights), tokenizer, dims=dims)
    seconds = time.perf_counter() - started
    try:
        save_table(path, table)
    except OSError as exc:
        detail = f"the distilled table cannot be saved ({exc}); point TIERGATE_CACHE_DIR at a writable directory"
        raise WeightsBroken(str(path), detail, [*weights.searched, f"static table: {path}"]) from exc
    return Prepared(table, path, seconds)


def load_table(path: Path, shape: tuple[int, int]) -> F32 | None:
    """The table, or None when the file is absent or not a float32 array of ``shape``."""
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(table, np.ndarray) or table.shape != shape or table.dtype != np.float32:
        return None
    return table


def save_table(path: Path, table: F32) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            np.save(out, table, allow_pickle=False)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a gateway running as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
