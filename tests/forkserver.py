"""An `azstate` on PATH that starts in milliseconds, for tests that run shell scripts calling it
many times (the GitOps workflow's steps, the README's commands).

A fresh interpreter spends about 0.4 s importing azstate before it does anything. Here one
helper process imports it once and forks a child per command; the `azstate` on PATH is a small
client that hands the child its argv, working directory, environment and its own stdin, stdout
and stderr (the file descriptors themselves), then exits with the child's exit code. What the
command sees is what the installed console script would: the same `azstate.cli.main`, the
same descriptors (so terminal detection is unchanged), the caller's environment. The helper is
single-threaded when it forks, so no lock can be inherited held. Not for tests that signal the
process: signals reach the client, not the child.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLIENT = """\
#!{python} -S
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect({sock!r})
body = json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}).encode()
socket.send_fds(s, [len(body).to_bytes(8, "big") + body], [0, 1, 2])
code = s.makefile("rb").readline()
sys.exit(int(code or b"1"))
"""

SERVER = """\
import json, os, signal, socket, sys
import azstate.cli
import azstate.commands.workspace, azstate.planfile, azstate.refresh, azstate.apply  # noqa
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen(16)
print("ready", flush=True)
signal.signal(signal.SIGCHLD, signal.SIG_DFL)
while True:
    conn, _ = listener.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    size = int.from_bytes(msg[:8], "big")
    body = msg[8:]
    while len(body) < size:
        body += conn.recv(size - len(body))
    if os.fork():  # the helper goes back to listening; it reaps what has ended
        for fd in fds:
            os.close(fd)
        conn.close()
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        continue
    listener.close()
    command = os.fork()
    if command:  # the command's parent reports its exit code to the client
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(command, 0)
        conn.sendall(b"%d\\n" % os.waitstatus_to_exitcode(status))
        os._exit(0)
    conn.close()
    request = json.loads(body)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = ["azstate", *request["argv"]]
    try:
        code = azstate.cli.main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
"""


class ForkServer:
    """The helper process and a directory holding the `azstate` client, to put first on PATH."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        sock = str(root / "azstate.sock")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, sock], stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None and self._proc.stdout.readline() == "ready\n"
        client = self.bin / "azstate"
        client.write_text(CLIENT.format(python=sys.executable, sock=sock))
        client.chmod(0o755)

    def path(self, path: str) -> str:
        return f"{self.bin}{os.pathsep}{path}"

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait()

