"""The processes of `make run` die with the one that started them, even when it is killed outright.

`scripts/run.py` stops its children (the engine, the server and with it its workers, the
commands) when it is told to stop (SIGTERM, Ctrl-C). Killed with SIGKILL it cannot: they were
left serving on the port. Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG)`) has the kernel
send a process SIGTERM when its parent dies, however it dies, and it survives `exec`: each child
is started through this module, which asks for it and then becomes the command.

    python demo/parent_death.py --parent PID -- COMMAND [ARGUMENTS...]

(`command_dying_with_parent` builds that line; run as a file, it imports nothing of ours).
`die_with_parent()` asks for it in the calling process (run.py, so that it stops when `make`
is killed). Elsewhere than on Linux both only run the command: there is no such signal.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>."""


def die_with_parent(*, parent: int | None = None) -> None:
    """SIGTERM to this process when its parent dies (Linux only); at once if `parent` is already gone."""
    if not sys.platform.startswith("linux"):
        return
    expected = os.getppid() if parent is None else parent
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    if os.getppid() != expected:  # the parent died before the request: no signal would ever come
        os.kill(os.getpid(), signal.SIGTERM)


def command_dying_with_parent(command: list[str]) -> list[str]:
    """`command`, started so that it receives SIGTERM when the calling process dies."""
    return [sys.executable, str(Path(__file__).resolve()), "--parent", str(os.getpid()), "--", *command]


def main(arguments: list[str]) -> None:
    if len(arguments) < 4 or arguments[0] != "--parent" or arguments[2] != "--":
        sys.exit("usage: parent_death.py --parent PID -- COMMAND [ARGUMENTS...]")
    die_with_parent(parent=int(arguments[1]))
    command = arguments[3:]
    os.execvp(command[0], command)  # noqa: S606 (the command run.py gave, as a list: no shell)


if __name__ == "__main__":
    main(sys.argv[1:])
