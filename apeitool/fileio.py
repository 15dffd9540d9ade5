"""Output that never leaves a partial file: write to a temporary file beside the target, then rename."""
from __future__ import annotations

import os
import sys
import tempfile

from .errors import InputError


def write_output(path: str, data) -> None:
    """Write str or bytes to `path` ('-' is stdout) atomically."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if path == "-":
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".apeitool-", dir=directory)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", source=path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
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
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise InputError(f"cannot write: {e.strerror or e}", source=path)
        raise
