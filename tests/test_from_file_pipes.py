"""`recreate_dataset --from-file` on a pipe: read as it is written, and a pipe with no writer is an error.

Opening a named pipe (FIFO) for reading waits until a program opens it for writing: the
command waited forever for one that never came.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_server import PROJECT_ROOT, server_environment


def recreate_dry_run(names: str, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        [sys.executable, "manage.py", "recreate_dataset", "--from-file", names, "--dry-run"],
        cwd=PROJECT_ROOT,
        # nothing answers there: the Hub and the database fail at once (a dry run writes nothing anyway)
        env=server_environment(
            COMMON_HF_ENDPOINT="http://127.0.0.1:1",
            CACHE_MONGO_URL="mongodb://127.0.0.1:1",
            QUEUE_MONGO_URL="mongodb://127.0.0.1:1",
            ADMIN_MONGO_TIMEOUT_SECONDS="0.2",
        ),
        capture_output=True,
        text=True,
        timeout=30,  # the previous code never returned: this is the test's own bound
        check=False,
        **popen,
    )


def test_a_named_pipe_that_no_program_writes_to_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "names"
    os.mkfifo(fifo)
    done = recreate_dry_run(str(fifo))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"CommandError: {fifo} is a pipe that no program writes to: nothing to read"
    ]


def test_a_pipe_with_its_writer_is_read_like_a_file() -> None:
    """`--from-file <(grep ...)`: the names come through a pipe the shell hands over."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"# two names\norg/a\n\norg/b\n")
    os.close(write_end)
    try:
        done = recreate_dry_run(f"/dev/fd/{read_end}", pass_fds=(read_end,))
    finally:
        os.close(read_end)
    # both names read, in order: each then fails on the Hub, which does not answer here
    assert [line.split(":")[0] for line in done.stdout.splitlines()[:2]] == ["org/a", "org/b"]
