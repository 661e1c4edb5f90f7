"""Find and run the real coding clients, Claude Code and the Codex CLI, against a gateway on loopback.

The clients are the npm packages pinned in ``package.json`` (and its lockfile) beside this file.
``make clients`` installs them into ``.cache/clients``; ``TIERGATE_TEST_CLIENTS`` names another
directory. A missing or different client fails the test with the command that installs it: never a skip.

Each run is offline and throwaway: a fresh HOME (and CODEX_HOME), an environment holding only what the
client needs, its non-essential traffic (telemetry, updates, plugins) off, and its own retries off so an
error surfaces at once instead of after minutes of backoff.

    claude = locate(CLAUDE_CODE)
    run = run_claude(claude, gateway_url, "team-key", "Write the proof file", cwd=tmp_path / "work",
                     home=tmp_path / "home", args=["--allowedTools", "Bash"])
    assert run.result["is_error"] is False
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PINS: dict[str, str] = json.loads((HERE / "package.json").read_text())["dependencies"]
CLAUDE_CODE = ("@anthropic-ai/claude-code", "claude")
CODEX = ("@openai/codex", "codex")
#: Seconds one client run may take; a tool turn takes 1 to 3 s on a loopback fake.
RUN_TIMEOUT = 60.0
#: Claude Code's native binary is hundreds of MB; below this, npm left the postinstall's stub in place.
_NATIVE_MIN_BYTES = 1_000_000


def clients_dir() -> Path:
    return Path(os.environ.get("TIERGATE_TEST_CLIENTS") or ROOT / ".cache" / "clients")


def install_command(directory: Path) -> str:
    packages = " ".join(f"{name}@{version}" for name, version in PINS.items())
    return (
        f"run `make clients` in {ROOT} (it runs `npm ci` on tests/integration/clients/package-lock.json), or: "
        f"npm install --prefix {directory} --no-audit --no-fund {packages}"
    )


def locate(client: tuple[str, str], directory: Path | None = None) -> Path:
    """The client's executable, installed at its pinned version; else the test fails saying how to install it."""
    package, command = client
    directory = directory or clients_dir()
    pin = PINS[package]
    manifest = directory / "node_modules" / package / "package.json"
    executable = directory / "node_modules" / ".bin" / command
    if not manifest.is_file() or not executable.exists():
        pytest.fail(f"{package}@{pin} is not installed in {directory}: {install_command(directory)}", pytrace=False)
    installed = json.loads(manifest.read_text()).get("version")
    if installed != pin:
        pytest.fail(
            f"{package} {installed} is installed in {directory}, the tests pin {pin}: {install_command(directory)}",
            pytrace=False,
        )
    if shutil.which("node") is None:
        pytest.fail(f"{package} needs Node.js (`node` is not on PATH): install Node.js 20 or later", pytrace=False)
    if client == CLAUDE_CODE and executable.resolve().stat().st_size < _NATIVE_MIN_BYTES:
        pytest.fail(
            f"{executable} is npm's placeholder: Claude Code's postinstall did not run (was npm given "
            f"--ignore-scripts?). Reinstall: {install_command(directory)}",
            pytrace=False,
        )
    return executable


@dataclass
class Run:
    """What one client run did: exit code and both output streams."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        """For assertion messages: everything the client said."""
        return (
            f"$ {' '.join(self.command)}\nexit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )

    @property
    def result(self) -> dict[str, Any]:
        """Claude Code's ``--output-format json`` object (its last stdout line)."""
        lines = self.stdout.strip().splitlines()
        assert lines, self.describe()
        parsed: dict[str, Any] = json.loads(lines[-1])
        return parsed


def run(command: Sequence[str], environ: Mapping[str, str], cwd: Path, timeout: float = RUN_TIMEOUT) -> Run:
    """Run a client in its own process group (the npm launchers start a native child), stdin closed.

    Past ``timeout`` the whole group is killed and the test fails with what the client had printed."""
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        done = Run(list(command), -9, stdout, stderr)
        pytest.fail(f"the client ran past {timeout} s and was killed\n{done.describe()}", pytrace=False)
    return Run(list(command), process.returncode, stdout, stderr)


def base_environ(home: Path) -> dict[str, str]:
    """A clean environment: nothing of the test process's own (no real keys, no proxies), node on PATH."""
    node = shutil.which("node")
    path = os.pathsep.join(
        dict.fromkeys([*([str(Path(node).parent)] if node else []), "/usr/local/bin", "/usr/bin", "/bin"])
    )
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": path, "HOME": str(home), "TERM": "dumb", "LANG": "C.UTF-8"}


# --- Claude Code ---------------------------------------------------------------------------------

#: Claude Code off the network but for its base URL, and failing at once: no retries, and no silent
#: ``stream: false`` re-ask after a broken stream (which would hide a stream the client could not read).
CLAUDE_OFFLINE = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "DISABLE_COST_WARNINGS": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",
    "CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK": "1",
}


def run_claude(
    executable: Path,
    gateway: str,
    key: str,
    prompt: str,
    *,
    cwd: Path,
    home: Path,
    args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> Run:
    """``claude -p PROMPT --output-format json ARGS`` with ``ANTHROPIC_BASE_URL`` at the gateway."""
    environ = {
        **base_environ(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": gateway,
        "ANTHROPIC_API_KEY": key,
        **CLAUDE_OFFLINE,
        **(extra_env or {}),
    }
    cwd.mkdir(parents=True, exist_ok=True)
    return run([str(executable), "-p", prompt, "--output-format", "json", *args], environ, cwd)


# --- Codex ---------------------------------------------------------------------------------------


def codex_config(gateway: str, model: str, top: str = "") -> str:
    """config.toml with tiergate as a custom Responses provider (the setup docs/clients.md gives), plus
    what keeps a test offline and quick: no plugins, analytics or update check; no retries. ``top``: more
    top-level settings (``model_reasoning_effort = "medium"``)."""
    return f"""\
model = "{model}"
model_provider = "tiergate"
check_for_update_on_startup = false
{top}

[features]
plugins = false

[analytics]
enabled = false

[model_providers.tiergate]
name = "tiergate"
base_url = "{gateway}/v1"
wire_api = "responses"
env_key = "TIERGATE_API_KEY"
request_max_retries = 0
stream_max_retries = 0
"""


@contextmanager
def codex_home() -> Iterator[Path]:
    """A throwaway CODEX_HOME outside /tmp: Codex will not put its helper binaries under a temp dir."""
    parent = ROOT / ".cache" / "codex-homes"
    parent.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="codex-", dir=parent))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_codex(
    executable: Path,
    gateway: str,
    key: str,
    model: str,
    prompt: str,
    *,
    cwd: Path,
    home: Path,
    codex_home: Path,
    config: str = "",
) -> Run:
    """``codex exec --skip-git-repo-check -s workspace-write PROMPT``: the final message on stdout.
    ``config``: more top-level settings for its config.toml."""
    (codex_home / "config.toml").write_text(codex_config(gateway, model, config))
    environ = {**base_environ(home), "CODEX_HOME": str(codex_home), "TIERGATE_API_KEY": key}
    cwd.mkdir(parents=True, exist_ok=True)
    command = [str(executable), "exec", "--skip-git-repo-check", "-s", "workspace-write", prompt]
    return run(command, environ, cwd)
