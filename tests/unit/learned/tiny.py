"""A tiny random BERT in the sentence-transformers layout, for tests that need weights but not real ones.

Two layers of width 16 over a 300-token vocabulary: it loads, distils and encodes in milliseconds, and
``seed`` makes copies with different digests, so a test can tell which place the weights came from. Its
tokenizer.json pads and truncates to 8, as the shipped one does to 128.

    tiny_model(tmp_path / "w", seed=1)      # writes config.json, tokenizer.json, model.safetensors, 1_Pooling/
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

WORDS = [f"w{i}" for i in range(280)] + ["alpha", "beta", "gamma", "delta", "eat", "food", "bread", "stock"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONFIG = {
    "architectures": ["BertModel"],
    "hidden_act": "gelu",
    "hidden_size": 16,
    "intermediate_size": 32,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 64,
    "model_type": "bert",
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
    "vocab_size": len(SPECIAL) + len(WORDS),
}


def tokenizer_json() -> str:
    vocab = {token: i for i, token in enumerate(SPECIAL + WORDS)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tok.enable_padding(length=8)
    tok.enable_truncation(max_length=8)
    return tok.to_str()


def tensors(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, i, v = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["vocab_size"]

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    out = {
        "embeddings.word_embeddings.weight": r(v, h),
        "embeddings.position_embeddings.weight": r(CONFIG["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": r(2, h),
        "embeddings.LayerNorm.weight": np.ones(h, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(h, np.float32),
    }
    for n in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{n}."
        for name in ("self.query", "self.key", "self.value", "output.dense"):
            out[p + "attention." + name + ".weight"] = r(h, h)
            out[p + "attention." + name + ".bias"] = r(h)
        out[p + "intermediate.dense.weight"] = r(i, h)
        out[p + "intermediate.dense.bias"] = r(i)
        out[p + "output.dense.weight"] = r(h, i)
        out[p + "output.dense.bias"] = r(h)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[p + norm + ".weight"] = np.ones(h, np.float32)
            out[p + norm + ".bias"] = np.zeros(h, np.float32)
    return out


def files(seed: int = 0) -> dict[str, bytes]:
    return {
        "config.json": json.dumps(CONFIG).encode(),
        "tokenizer.json": tokenizer_json().encode(),
        "model.safetensors": save(tensors(seed)),
        "1_Pooling/config.json": json.dumps({"pooling_mode_mean_tokens": True}).encode(),
    }


def tiny_model(directory: Path, *, seed: int = 0) -> Path:
    for name, data in files(seed).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    return directory


def tiny_zip(path: Path, *, seed: int = 0, folder: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files(seed).items():
            zf.writestr(folder + name, data)
    return path
