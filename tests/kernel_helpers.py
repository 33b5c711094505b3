"""A Jupyter kernel started as `latentlab dashboard` starts one: its command line
(`kernel_argv`) and environment (`KERNEL_ENV`). Used by tests/test_kernel_memory.py and
benchmarks/bench_serving.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.manager import KernelManager

from latentlab.dashboard import KERNEL_ENV, kernel_argv


@contextmanager
def dashboard_kernel(cwd: Path, startup_s: float) -> Iterator[tuple[object, int]]:
    """A dashboard kernel in `cwd`, ready: yields (client, pid); shuts it down after."""
    manager = KernelManager(kernel_name="python3")
    manager.kernel_spec.argv = kernel_argv(manager.kernel_spec.argv)
    manager.start_kernel(env={**os.environ, **KERNEL_ENV}, cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=startup_s)
        yield client, manager.provisioner.process.pid
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client, code: str, timeout_s: float) -> str:
    """Run code in the kernel; what it printed, or an AssertionError naming its error."""
    printed: list[str] = []

    def output(message: dict) -> None:
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = client.execute_interactive(code, timeout=timeout_s, output_hook=output)["content"]
    assert reply["status"] == "ok", f"{code!r} failed: {reply.get('ename')}: {reply.get('evalue')}"
    return "".join(printed)
