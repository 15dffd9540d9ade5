"""Output that never leaves a partial file: write to a temporary file beside the target, then rename."""
from __future__ import annotations

import os
import sys
import tempfile

from .errors import InputError


class open_output:
    """A binary file to stream output into: stdout for '-', else a temporary file beside `path`
    that replaces it only when the `with` block ends without an exception."""

    def __init__(self, path: str):
        self.path = path
        self.tmp = None

    def __enter__(self):
        if self.path == "-":
            return sys.stdout.buffer
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".apeitool-", dir=directory)
        except OSError as e:
            raise InputError(f"cannot write: {e.strerror or e}", source=self.path)
        self.f = os.fdopen(fd, "wb")
        return self.f

    def __exit__(self, kind, value, tb):
        if self.path == "-":
            sys.stdout.buffer.flush()
            return False
        self.f.close()
        if kind is not None:
            os.unlink(self.tmp)
            return False
        _finish(self.tmp, self.path)
        return False


def _finish(tmp: str, path: str) -> None:
    """Give the temporary file the target's mode (or the umask's) and move it into place."""
    try:
        if os.path.exists(path):
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise InputError(f"cannot write: {e.strerror or e}", source=path)


def write_output(path: str, data) -> None:
    """Write str or bytes to `path` ('-' is stdout) atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        with open_output(path) as f:
            f.write(raw)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", source=path)
