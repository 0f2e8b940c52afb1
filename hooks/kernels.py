"""The labs' kernels, forked from one warm process instead of started from nothing.

A lab's kernel is a new Python process: before its first cell runs it imports ipykernel, then
the lab imports torch, matplotlib and gdbook, about 3 s of CPU each time, eight times a build
(four labs, two languages), on the core the labs share with the pages run ahead. In a clean
``mkdocs build`` the hook starts one process, the *zygote*, that imports all of this once and
then waits; each kernel is a fork of it that becomes an IPython kernel, with the command line,
environment and working directory jupyter_client gave it (``ZygoteProvisioner``, a
``LocalProvisioner`` that asks the zygote where it would have started a process).

A forked kernel is a fresh kernel that has imported some modules before its first cell: the
zygote sets the Matplotlib backend ipykernel sets (``MPLBACKEND``) and the one torch thread the
labs get (``OMP_NUM_THREADS``) before it imports them, and a kernel turns on gdbook's cache
directory from its own environment as ``gdbook.cache`` does at import. The determinism test
builds the book with zygote kernels and with plain ones (``GDBOOK_ZYGOTE=0``) and requires the
same bytes. Anything that goes wrong with the zygote falls back to a plain kernel.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What every lab imports in its first cell, and what ipykernel imports to start.
PRELOAD = ("ipykernel.kernelapp", "numpy", "torch", "matplotlib.pyplot", "gdbook")
LAUNCHER = ["-m", "ipykernel_launcher"]  # the kernel spec's command after its interpreter


def wanted(command: str) -> bool:
    """Fork the labs' kernels in this command (``mkdocs build``, unless ``GDBOOK_ZYGOTE=0``)?"""
    return command == "build" and os.environ.get("GDBOOK_ZYGOTE", "1") != "0" and hasattr(os, "fork")


class Zygote:
    """The warm process, started by ``open`` and stopped by ``close``."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.socket: Path | None = None
        self.forked = 0  # kernels forked
        self.fallbacks: list[str] = []  # why a kernel was started the plain way

    def open(self, priority: int) -> None:
        if self.process is None:
            self.socket = Path(tempfile.mkdtemp(prefix="gdbook-zygote-")) / "socket"
            code = ("import importlib.util, sys; s = importlib.util.spec_from_file_location('gdbook_hooks_kernels', sys.argv[1]);"
                    " m = importlib.util.module_from_spec(s); s.loader.exec_module(m); m.serve(sys.argv[2], int(sys.argv[3]))")
            self.process = subprocess.Popen([sys.executable, "-c", code, __file__, str(self.socket), str(priority)],
                                            stdin=subprocess.DEVNULL)

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.socket.unlink(missing_ok=True)
            self.socket.parent.rmdir()
        self.process = self.socket = None

    def fork(self, cmd: list[str], env: dict, cwd: str, timeout: float = 60.0) -> int | None:
        """The pid of a kernel forked to run ``cmd`` (a kernel spec's command), or None: then the
        caller starts it the plain way."""
        if self.process is None or cmd[1:3] != LAUNCHER or Path(cmd[0]).resolve() != Path(sys.executable).resolve():
            self.fallbacks.append(f"not a kernel the zygote can fork: {cmd[:3]}")
            return None
        request = json.dumps({"argv": cmd[3:], "env": env, "cwd": str(cwd)}).encode()
        deadline = time.monotonic() + timeout
        while True:  # the zygote listens once its imports are done
            if self.process.poll() is not None:
                self.fallbacks.append(f"the zygote ended (exit code {self.process.returncode})")
                return None
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(str(self.socket))
                    s.sendall(request)
                    s.shutdown(socket.SHUT_WR)
                    pid = int(json.loads(_read_all(s))["pid"])
                self.forked += 1
                return pid
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    self.fallbacks.append(f"the zygote did not answer within {timeout:.0f} s")
                    return None
                time.sleep(0.05)


ZYGOTE = Zygote()


def _read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def serve(path: str, priority: int) -> None:
    """The zygote: import what the kernels need, then fork one kernel per request."""
    os.setpriority(os.PRIO_PROCESS, 0, priority)
    parent = os.getppid()
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # ipykernel's IPKernelApp sets this
    os.environ["OMP_NUM_THREADS"] = "1"  # as the hook gives every lab kernel (hooks/labs.py)
    os.environ.pop("GDBOOK_CACHE_DIR", None)  # each kernel's own, from its environment
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are reaped as they end
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".part")
    os.rename(path + ".part", path)  # the socket appears once it is bound
    server.listen()
    server.settimeout(1.0)
    while os.getppid() == parent:  # the build ended without stopping the zygote: end too
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(None)
            request = json.loads(_read_all(conn))
            pid = os.fork()
            if pid == 0:
                server.close(), conn.close()  # the build reads the answer until the connection closes
                _become_kernel(request)
            conn.sendall(json.dumps({"pid": pid}).encode())


def _become_kernel(request: dict) -> None:
    """In a fork of the zygote: start an IPython kernel as ``python -m ipykernel_launcher`` would."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # its own process group, as jupyter_client starts kernels (it signals the group)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if sys.path[0] == "" or Path(sys.path[0]) == Path.cwd():  # as ipykernel_launcher does
            del sys.path[0]
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        if os.environ.get("GDBOOK_CACHE_DIR"):  # what gdbook.cache does at import
            import gdbook.cache

            gdbook.cache.enable(os.environ["GDBOOK_CACHE_DIR"])
        from ipykernel import kernelapp

        # IPKernelApp reads JPY_PARENT_PID when ipykernel is imported, here before the
        # environment was the kernel's: the kernel is given it as a fresh one would have read it
        # (it then prints no console banner, and ends when the build ends).
        kernelapp.IPKernelApp.launch_instance(parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0))
        code = 0
    finally:
        os._exit(code)


class _Forked:
    """The part of ``subprocess.Popen`` that jupyter_client's provisioner uses, for a kernel that
    is the zygote's child (the zygote reaps it, so its exit code is not known here)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        while self.poll() is None:
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def kernel_manager(kernel_name: str):
    """A jupyter_client ``KernelManager`` whose kernel is forked from the zygote."""
    import uuid

    from jupyter_client.manager import KernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class ZygoteProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd: list[str], **kwargs):
            env = dict(kwargs.get("env") or os.environ, JPY_PARENT_PID=str(os.getpid()))  # as jupyter_client's launcher
            pid = ZYGOTE.fork(cmd, env, kwargs.get("cwd") or os.getcwd())
            if pid is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = _Forked(pid)
            self.pid = self.pgid = pid  # the kernel leads its own process group (os.setsid)
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    km = KernelManager(kernel_name=kernel_name)
    km.kernel_id = str(uuid.uuid4())
    km.provisioner = ZygoteProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    return km
