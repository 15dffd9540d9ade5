"""Output that never leaves a partial file, and never replaces what is not a file.

A regular file (or a new path) is written to a temporary file beside it, then renamed over it, so
a failure part way leaves the old file as it was and no temporary file behind. Anything else,
device nodes (/dev/null, /dev/full, a tty), FIFOs, sockets, /dev/stdout and /proc/self/fd/N, is
opened and written in place, as a shell redirection would: renaming over /dev/null as root would
replace the device with a regular file. Every write error (ENOSPC, EIO, EPIPE on a FIFO) is one
InputError naming the output.
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile

from .errors import InputError

# paths that stand for descriptors or devices even when they resolve to a regular file
_IN_PLACE_PREFIXES = ("/dev/", "/proc/")


def _write_error(e: OSError, path: str) -> InputError:
    return InputError(f"cannot write: {e.strerror or e}", source="<stdout>" if path == "-" else path)


def _in_place(path: str) -> bool:
    """True when `path` must be written where it is, not replaced."""
    real = os.path.realpath(path)
    if path.startswith(_IN_PLACE_PREFIXES) or real.startswith(_IN_PLACE_PREFIXES):
        return True
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", source=path) from None
    return not stat.S_ISREG(mode)


class open_output:
    """A binary file to stream output into: stdout for '-'; a device, FIFO or descriptor path
    written in place; else a temporary file beside the (symlink-resolved) target that replaces it
    only when the `with` block ends without an exception. OSErrors from writing, flushing or
    closing become one-line InputErrors, and the temporary file is always removed on failure."""

    def __init__(self, path: str):
        self.path = path
        self.tmp = None
        self.f = None
        self.target = None

    def __enter__(self):
        if self.path == "-":
            return sys.stdout.buffer
        if os.path.isdir(self.path):
            raise InputError("is a directory, not a file to write", source=self.path)
        if _in_place(self.path):
            try:
                self.f = open(self.path, "wb")
            except OSError as e:
                raise _write_error(e, self.path) from None
            return self.f
        self.target = os.path.realpath(self.path)   # a symlink keeps pointing at the new file
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".apeitool-", dir=os.path.dirname(self.target))
        except OSError as e:
            raise _write_error(e, self.path) from None
        self.f = os.fdopen(fd, "wb")
        return self.f

    def __exit__(self, kind, value, tb):
        if self.path == "-":
            try:
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                raise
            except OSError as e:
                if kind is None:
                    raise _write_error(e, self.path) from None
            if isinstance(value, OSError) and not isinstance(value, BrokenPipeError):
                raise _write_error(value, self.path) from None
            return False
        try:
            self.f.close()
        except OSError as e:
            if kind is None:
                kind, value = type(e), e
        if kind is not None:
            if self.tmp is not None:
                _unlink(self.tmp)
            if isinstance(value, OSError):
                raise _write_error(value, self.path) from None
            return False
        if self.tmp is not None:
            _finish(self.tmp, self.target, self.path)
        return False


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _finish(tmp: str, target: str, shown: str) -> None:
    """Give the temporary file the target's mode (or the umask's) and move it into place."""
    try:
        if os.path.exists(target):
            try:
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as e:
        _unlink(tmp)
        raise _write_error(e, shown) from None


def write_output(path: str, data) -> None:
    """Write str or bytes to `path` ('-' is stdout) atomically where it is a file."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with open_output(path) as f:
        f.write(raw)
