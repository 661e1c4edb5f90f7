"""The table cache: where it lives, built once then loaded, a bad file rebuilt, an unwritable place reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.errors import WeightsBroken
from tiergate.learned.distil import RECIPE
from tiergate.learned.tables import cache_dir, load_table, prepare_table, table_path
from tiergate.learned.weights import Weights, load_weights


@pytest.fixture
def tiny(tmp_path: Path) -> Weights:
    return load_weights(tiny_model(tmp_path / "tiny"), env={})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TIERGATE_CACHE_DIR": "/t", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/t"),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/tiergate"),
        ({"HOME": "/h"}, "/h/.cache/tiergate"),
    ],
)
def test_cache_dir(env: dict[str, str], expected: str) -> None:
    assert cache_dir(env) == Path(expected)


def test_the_file_name_carries_digest_recipe_and_dims(tmp_path: Path) -> None:
    assert table_path(tmp_path, "0123456789abcdef" * 4, 256) == tmp_path / f"static-0123456789abcdef-{RECIPE}-256.npy"


def test_distilled_once_then_loaded(tiny: Weights, tmp_path: Path) -> None:
    first = prepare_table(tiny, dims=8, directory=tmp_path / "cache")
    assert first.seconds is not None and first.path.exists()
    assert first.path == table_path(tmp_path / "cache", tiny.digest, 8)
    stamp = first.path.stat().st_mtime_ns
    second = prepare_table(tiny, dims=8, directory=tmp_path / "cache")
    assert second.seconds is None
    assert second.path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.table, second.table)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.path.name]  # no temporary file left
    assert first.path.stat().st_mode & 0o777 == 0o644


def test_other_dims_get_their_own_file(tiny: Weights, tmp_path: Path) -> None:
    assert prepare_table(tiny, dims=8, directory=tmp_path).path != prepare_table(tiny, dims=4, directory=tmp_path).path


@pytest.mark.parametrize("content", [b"garbage", None])
def test_a_bad_or_wrong_shaped_file_is_distilled_again(tiny: Weights, tmp_path: Path, content: bytes | None) -> None:
    path = table_path(tmp_path, tiny.digest, 8)
    if content is None:
        np.save(path, np.zeros((3, 8), dtype=np.float32))
    else:
        path.write_bytes(content)
    assert load_table(path, (tiny.config.vocab_size, 8)) is None
    rebuilt = prepare_table(tiny, dims=8, directory=tmp_path)
    assert rebuilt.seconds is not None
    assert load_table(path, (tiny.config.vocab_size, 8)) is not None


def test_an_unwritable_cache_is_a_weights_error_naming_it(tiny: Weights, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    with pytest.raises(WeightsBroken) as caught:
        prepare_table(tiny, dims=8, directory=blocker / "cache")
    assert "TIERGATE_CACHE_DIR" in caught.value.message
    assert str(blocker / "cache") in caught.value.message
