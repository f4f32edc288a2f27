"""The initramfs of the cgroup v2 VM test bed: a cpio (newc) archive written
here, so no tree of root-owned files or device nodes is ever made on disk.

An archive is described as a list of entries (directories, files copied from
the host, symlinks, character devices); every entry is owned by root inside
the archive whoever builds it. Kernel modules are taken from the unpacked
kernel package with their dependencies, decompressed and listed in load
order for /init.
"""

import lzma
import os
import re
import stat

# Fixed mtime: the same inputs give the same bytes.
MTIME = 0


class Archive:
    """Entries of one initramfs, in the order they are written."""

    def __init__(self):
        self.entries = []  # (path, mode, data, rdev)
        self.paths = set()

    def _add(self, path, mode, data=b"", rdev=(0, 0)):
        path = path.strip("/")
        if not path:
            return
        self.mkdir(os.path.dirname(path))
        if path in self.paths:
            raise ValueError(f"initramfs: entry added twice: /{path}")
        self.paths.add(path)
        self.entries.append((path, mode, data, rdev))

    def mkdir(self, path, mode=0o755):
        """A directory and its parents (existing ones are kept as they are)."""
        path = path.strip("/")
        if not path or path in self.paths:
            return
        self.mkdir(os.path.dirname(path))
        self.paths.add(path)
        self.entries.append((path, stat.S_IFDIR | mode, b"", (0, 0)))

    def file(self, path, source=None, data=None, mode=None):
        """A regular file from a host file (its mode kept) or from bytes."""
        if data is None:
            with open(source, "rb") as f:
                data = f.read()
            if mode is None:
                mode = os.stat(source).st_mode & 0o7777
        self._add(path, stat.S_IFREG | (0o644 if mode is None else mode), data)

    def symlink(self, path, target):
        self._add(path, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path, major, minor, mode=0o600):
        self._add(path, stat.S_IFCHR | mode, b"", (major, minor))

    def tree(self, dest, source):
        """A host directory tree placed at `dest` (files, dirs, symlinks)."""
        self.mkdir(dest, os.stat(source).st_mode & 0o7777)
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames.sort()
            rel = os.path.relpath(dirpath, source)
            base = dest if rel == "." else os.path.join(dest, rel)
            for name in dirnames + sorted(filenames):
                src = os.path.join(dirpath, name)
                st = os.lstat(src)
                path = os.path.join(base, name)
                if stat.S_ISLNK(st.st_mode):
                    self.symlink(path, os.readlink(src))
                elif stat.S_ISDIR(st.st_mode):
                    self.mkdir(path, st.st_mode & 0o7777)
                elif stat.S_ISREG(st.st_mode):
                    self.file(path, source=src)
                else:
                    raise ValueError(f"initramfs: unsupported file type: {src}")

    def write(self, out):
        """The archive as newc bytes into the open binary file `out`."""
        for ino, (path, mode, data, rdev) in enumerate(self.entries, start=1):
            nlink = 2 if stat.S_ISDIR(mode) else 1
            _entry(out, path, ino, mode, nlink, data, rdev)
        _entry(out, "TRAILER!!!", 0, 0, 1, b"", (0, 0))
        # The kernel reads the archive in 512-byte blocks.
        pad = (-out.tell()) % 512
        out.write(b"\0" * pad)


def _entry(out, name, ino, mode, nlink, data, rdev):
    name_bytes = name.encode() + b"\0"
    fields = [
        ino, mode, 0, 0, nlink, MTIME, len(data),
        0, 0, rdev[0], rdev[1], len(name_bytes), 0,
    ]
    header = b"070701" + b"".join(b"%08x" % f for f in fields)
    out.write(header)
    out.write(name_bytes)
    out.write(b"\0" * ((-(len(header) + len(name_bytes))) % 4))
    out.write(data)
    out.write(b"\0" * ((-len(data)) % 4))


def module_closure(modules_dir, names):
    """(name, module bytes) for `names` and everything they depend on,
    dependencies first. Debian's package ships no modules.dep (depmod runs
    at install), so dependencies come from each module's own `depends=`."""
    paths = {}
    for dirpath, _, filenames in os.walk(modules_dir):
        for f in filenames:
            if ".ko" in f:
                paths[_module_name(f)] = os.path.join(dirpath, f)
    order = []

    def visit(name, wanted_by):
        if any(n == name for n, _ in order):
            return
        path = paths.get(name)
        if path is None:
            raise ValueError(f"initramfs: kernel module not found: {name} "
                             f"(wanted by {wanted_by}) under {modules_dir}")
        data = _read_module(path)
        m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
        for dep in (m.group(1).decode().split(",") if m else []):
            if dep:
                visit(dep.replace("-", "_"), name)
        order.append((name, data))

    for name in names:
        visit(name.replace("-", "_"), "--module")
    return order


def _read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".ko"):
        return data
    raise ValueError(f"initramfs: unsupported module compression: {path}")


def _module_name(path):
    base = os.path.basename(path)
    for suffix in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def add_modules(archive, modules_dir, names):
    """Decompressed .ko files under /lib/modules and /lib/modules/load-order
    (one file name per line, dependencies first) for /init to insmod."""
    order = []
    for name, data in module_closure(modules_dir, names):
        archive.file(f"lib/modules/{name}.ko", data=data, mode=0o644)
        order.append(f"{name}.ko")
    archive.file("lib/modules/load-order", data="".join(n + "\n" for n in order).encode())
