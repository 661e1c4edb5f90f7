"""``serve --workers`` claims its address with a guard another supervisor cannot take at the same time: two
supervisors that probe the port in the same instant (both find it free) cannot both go on to share it."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from tests.engines import free_port
from tiergate import workers

HOLDER = """
import sys
from tiergate.workers import guard
held = guard("127.0.0.1", int(sys.argv[1]))
print("held" if held is not None else "none", flush=True)
sys.stdin.read()
"""


def test_a_port_whose_guard_another_process_holds_is_refused_until_it_ends() -> None:
    """The other supervisor has probed and taken the guard, but bound nothing yet: the port looks free."""
    port = free_port()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OSError) as refused:
            workers.claim("127.0.0.1", port)
        assert refused.value.errno == errno.EADDRINUSE
        assert ("127.0.0.1", port) not in workers._GUARDS
    finally:
        holder.communicate("", timeout=10)
    hold = workers.claim("127.0.0.1", port)  # the kernel let the guard go with its process
    try:
        assert hold.getsockname()[1] == port
        with pytest.raises(OSError) as again:  # and now this process holds it
            workers.guard("127.0.0.1", port)
        assert again.value.errno == errno.EADDRINUSE
    finally:
        hold.close()
        workers._GUARDS.pop(("127.0.0.1", port)).close()


def test_guards_of_other_addresses_do_not_collide() -> None:
    one, two = free_port(), free_port()
    held = [workers.guard("127.0.0.1", one), workers.guard("127.0.0.1", two), workers.guard("0.0.0.0", one)]
    try:
        assert all(sock is not None for sock in held)
    finally:
        for sock in held:
            if sock is not None:
                sock.close()
