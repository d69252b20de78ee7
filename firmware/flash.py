"""Flash back-ends behind `hal.flash`: in memory, or files in a directory.

API (docs/design.md, "HAL"):
    read(name) -> bytes | None          whole file, None if absent
    read_at(name, offset, n) -> bytes | None   up to n bytes (short at end of file)
    write(name, data)                   replace the whole file (NOT atomic: the
                                        A/B store in store.py provides atomicity)
    write_at(name, offset, data)        overwrite in place; extends with zeros
    remove(name)                        no error if absent
    names() -> list of names

Fault injection (emulator and tests), identical on both back-ends:
    fail_writes = N            the next N writes/write_ats raise OSError(EIO)
                               and change nothing
    tear_next_write_after = k  the next write/write_at stores only its first
                               k bytes, then raises PowerLoss (a write of at
                               most k bytes lands whole and raises nothing)
FileFlash uses only open/seek/read/write and os.stat/os.mkdir/os.remove/
os.listdir, which CPython and MicroPython's littlefs VFS both have.
"""

import os

EIO = 5  # errno EIO


class PowerLoss(BaseException):
    """The supply died mid-write (injected). Derives from BaseException, not
    OSError/Exception, so firmware error handlers never swallow it: the
    emulator catches it, drops the runtime and reboots from flash."""


class _Faults:
    def __init__(self):
        self.fail_writes = 0
        self.tear_next_write_after = None
        self.writes = 0  # completed + attempted write calls (statistics for tests)

    def _pre_write(self, data):
        """Returns the bytes actually to store and whether to raise PowerLoss after."""
        self.writes += 1
        if self.fail_writes > 0:
            self.fail_writes -= 1
            raise OSError(EIO)
        k = self.tear_next_write_after
        if k is not None:
            self.tear_next_write_after = None
            if k < len(data):
                return data[:k], True
        return data, False


class MemoryFlash(_Faults):
    def __init__(self):
        _Faults.__init__(self)
        self.files = {}

    def read(self, name):
        f = self.files.get(name)
        return None if f is None else bytes(f)

    def read_at(self, name, offset, n):
        f = self.files.get(name)
        return None if f is None else bytes(f[offset : offset + n])

    def write(self, name, data):
        data, torn = self._pre_write(data)
        self.files[name] = bytearray(data)
        if torn:
            raise PowerLoss()

    def write_at(self, name, offset, data):
        data, torn = self._pre_write(data)
        f = self.files.get(name)
        if f is None:
            f = bytearray()
            self.files[name] = f
        if len(f) < offset:
            f.extend(bytes(offset - len(f)))
        f[offset : offset + len(data)] = data
        if torn:
            raise PowerLoss()

    def remove(self, name):
        self.files.pop(name, None)

    def names(self):
        return sorted(self.files)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class FileFlash(_Faults):
    """One file per name in `root_dir` (created with its parents if missing)."""

    def __init__(self, root_dir):
        _Faults.__init__(self)
        root_dir = root_dir.rstrip("/") or "/"
        # create missing parents too (os.makedirs is not on MicroPython)
        parts = root_dir.split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p and not _exists(p):
                os.mkdir(p)
        self.root = root_dir

    def _path(self, name):
        if "/" in name or not name or name[0] == ".":
            raise ValueError("bad flash name")
        return self.root + "/" + name

    def read(self, name):
        try:
            with open(self._path(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def read_at(self, name, offset, n):
        try:
            with open(self._path(name), "rb") as f:
                f.seek(offset)
                return f.read(n)
        except OSError:
            return None

    def write(self, name, data):
        path = self._path(name)
        data, torn = self._pre_write(data)
        with open(path, "wb") as f:
            f.write(data)
        if torn:
            raise PowerLoss()

    def write_at(self, name, offset, data):
        path = self._path(name)
        data, torn = self._pre_write(data)
        try:
            size = os.stat(path)[6]
        except OSError:
            with open(path, "wb"):
                pass
            size = 0
        with open(path, "r+b") as f:
            if size < offset:
                f.seek(size)
                f.write(bytes(offset - size))
            f.seek(offset)
            f.write(data)
        if torn:
            raise PowerLoss()

    def remove(self, name):
        try:
            os.remove(self._path(name))
        except OSError:
            pass

    def names(self):
        return sorted(n for n in os.listdir(self.root) if n[0] != ".")
