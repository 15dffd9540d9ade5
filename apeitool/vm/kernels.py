"""Distribution kernels for `apeitool vm`: which Debian suite carries each version, fetching them
into a cache without touching the system's apt configuration, and finding a cached one.

A private apt state (own sources list, lists and cache folders under the cache dir) names the
suites on the archive the machine's apt already uses; `apt-get download` takes the meta package's
versioned image package and only the kernel image is extracted from it (never installed).
Debian builds GHES in (CONFIG_ACPI_APEI_GHES=y). Up to 6.12 the image is boot/vmlinuz-* inside
linux-image-*; from 7.x linux-image-* is a small meta package and the kernel is
usr/lib/modules/*/vmlinuz inside linux-binary-*.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..errors import InputError

# version word -> Debian suite whose linux-image-ARCH meta package carries that kernel series
SUITES = {"5.10": "bullseye", "6.1": "bookworm", "6.12": "trixie", "7.2": "sid"}
DEFAULT_KERNELS = ("5.10", "6.1", "6.12", "7.2")
ARCHES = {"x86_64": "amd64", "arm64": "arm64"}
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def cache_dir() -> str:
    base = os.environ.get("APEITOOL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "apeitool")
    return os.path.join(base, "kernels")


@dataclass
class Kernel:
    version: str          # the exact Debian package version, e.g. 6.1.176-1
    series: str           # 6.1
    arch: str             # x86_64 | arm64
    path: str             # the bzImage / Image

    def as_dict(self) -> dict:
        return {"version": self.version, "series": self.series, "arch": self.arch, "path": self.path}


def cached(arch: Optional[str] = None) -> List[Kernel]:
    """Kernels in the cache, newest series last."""
    out = []
    root = cache_dir()
    if not os.path.isdir(root):
        return out
    for name in sorted(os.listdir(root)):
        meta = os.path.join(root, name, "kernel.json")
        if not os.path.isfile(meta):
            continue
        with open(meta) as f:
            info = json.load(f)
        k = Kernel(info["version"], info["series"], info["arch"], os.path.join(root, name, info["image"]))
        if os.path.isfile(k.path) and (arch is None or k.arch == arch):
            out.append(k)
    return sorted(out, key=lambda k: _series_key(k.series))


def _series_key(series: str):
    return tuple(int(x) for x in re.findall(r"\d+", series))


def find(spec: Optional[str], arch: str) -> Kernel:
    """--kernel: a path to any kernel image, a series in the cache ("6.1"), or None for the newest
    cached one."""
    if spec and (os.sep in spec or os.path.isfile(spec)):
        if not os.path.isfile(spec):
            raise InputError("no such kernel image", source=spec)
        return Kernel(_version_of_image(spec) or "unknown", "", arch, spec)
    kernels = cached(arch)
    if spec:
        picked = [k for k in kernels if k.series == spec or k.version == spec or
                  k.version.startswith(spec + ".") or k.version.startswith(spec + "-")]
        if not picked:
            raise InputError(f"kernel {spec} ({arch}) is not in the cache {cache_dir()}: run "
                             f"`apeitool vm kernels --fetch {spec}{' --arch arm64' if arch == 'arm64' else ''}`")
        return picked[-1]
    if not kernels:
        raise InputError(f"no {arch} kernel in the cache {cache_dir()}: run `apeitool vm kernels --fetch "
                         f"{DEFAULT_KERNELS[-1]}` or give --kernel PATH")
    return kernels[-1]


def _version_of_image(path: str) -> Optional[str]:
    """The version string a bzImage carries in its header (x86 boot protocol), if any."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    if head[0x202:0x206] == b"HdrS":
        off = int.from_bytes(head[0x20E:0x210], "little") + 0x200
        raw = head[off:off + 128].split(b"\0")[0]
        return raw.split(b" ")[0].decode("ascii", "replace") or None
    m = re.search(rb"Linux version (\S+)", head)
    return m.group(1).decode("ascii", "replace") if m else None


def is_kernel_image(path: str, arch: str) -> bool:
    """A bzImage (x86 boot protocol header) or an arm64 Image (its magic), possibly compressed
    (vmlinuz.efi: an EFI zboot image with the MZ/zimg header)."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x240)
    except OSError:
        return False
    if arch == "x86_64":
        return head[0x202:0x206] == b"HdrS"
    return head[0x38:0x3C] == b"ARM\x64" or head[:2] == b"MZ"


# -- fetching -------------------------------------------------------------------------------------

def _apt_opts(state: str) -> List[str]:
    return ["-o", f"Dir::Etc::sourcelist={state}/sources.list", "-o", f"Dir::Etc::sourceparts={state}/parts",
            "-o", f"Dir::Etc::preferencesparts={state}/prefs", "-o", f"Dir::State::Lists={state}/lists",
            "-o", f"Dir::Cache={state}/cache", "-o", "APT::Architectures::=amd64",
            "-o", "APT::Architectures::=arm64", "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1",
            "-o", "Acquire::Retries=3", "-q"]


def _mirror() -> str:
    """The Debian archive the machine's apt uses (the same host, other suites)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            text = open(path).read()
        except OSError:
            continue
        m = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or \
            re.search(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian)/?\s", text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def _run(cmd: List[str], what: str, cwd: Optional[str] = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=1800)
    except FileNotFoundError:
        raise InputError(f"{cmd[0]} is not installed (Debian package apt / dpkg)") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]
        raise InputError(f"{what}: {tail[0]}")
    return proc.stdout


def fetch(series: str, arch: str = "x86_64", progress=None) -> Kernel:
    """Download the newest Debian kernel of `series` for `arch` into the cache."""
    if series not in SUITES:
        raise InputError(f"unknown kernel series {series!r} (known: {', '.join(SUITES)})")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise InputError("fetching kernels needs apt-get and dpkg-deb (a Debian or Ubuntu host)")
    deb_arch = ARCHES[arch]
    root = cache_dir()
    os.makedirs(root, exist_ok=True)
    state = _state(SUITES[series])   # one state per suite: fetches may run side by side
    opts = _apt_opts(state)
    if progress:
        progress(f"{series}/{arch}: apt-get update ({SUITES[series]})")
    _run(["apt-get", *opts, "update"], f"apt-get update for {SUITES[series]}")
    meta = f"linux-image-{deb_arch}"
    shown = _run(["apt-cache", *opts, "show", f"{meta}:{deb_arch}"], f"apt-cache show {meta}")
    version, image_pkg = _newest_depends(shown, deb_arch)
    if image_pkg is None:
        raise InputError(f"{SUITES[series]} has no {meta} depending on a kernel image")
    have = [k for k in cached(arch) if k.version == version]
    if have:
        if progress:
            progress(f"{series}/{arch}: {version} is already cached")
        return have[0]
    # 7.x: the kernel is in linux-binary-*; before: linux-image-*-unsigned (or the signed one)
    candidates = [image_pkg.replace("linux-image-", "linux-binary-"), image_pkg + "-unsigned", image_pkg]
    work = tempfile.mkdtemp(prefix="apeitool-fetch-", dir=root)
    try:
        deb = None
        for pkg in candidates:
            if progress:
                progress(f"{series}/{arch}: apt-get download {pkg}")
            try:
                _run(["apt-get", *opts, "download", f"{pkg}:{deb_arch}"], f"apt-get download {pkg}", cwd=work)
            except InputError:
                continue
            debs = [n for n in os.listdir(work) if n.endswith(".deb")]
            if debs:
                deb = os.path.join(work, debs[0])
                break
        if deb is None:
            raise InputError(f"could not download any of {', '.join(candidates)}")
        target = os.path.join(root, f"{version}-{arch}")
        os.makedirs(target, exist_ok=True)
        image = _extract_image(deb, target)
        with open(os.path.join(target, "kernel.json"), "w") as f:
            json.dump({"version": version, "series": series, "arch": arch, "image": image,
                       "package": os.path.basename(deb)}, f)
        return Kernel(version, series, arch, os.path.join(target, image))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _newest_depends(apt_show: str, deb_arch: str):
    """(version, image package) of the newest linux-image-ARCH stanza."""
    best = (None, None)
    for stanza in apt_show.split("\n\n"):
        v = re.search(r"^Version: (\S+)", stanza, re.M)
        d = re.search(r"^Depends: (.*)$", stanza, re.M)
        if not v or not d:
            continue
        pkgs = [p.strip().split(" ")[0] for p in d.group(1).split(",")]
        image = next((p for p in pkgs if re.match(r"linux-(image|binary)-\d", p)), None)
        if image and (best[0] is None or _debian_newer(v.group(1), best[0])):
            best = (v.group(1), image)
    return best


def _debian_newer(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def _extract_image(deb: str, target: str) -> str:
    """Only the kernel image out of the package's data (boot/vmlinuz-* or usr/lib/modules/*/vmlinuz)."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)   # it complains of the pipe closed early
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                if member.isfile() and (re.fullmatch(r"boot/vmlinuz-[^/]+", name) or
                                        re.fullmatch(r"usr/lib/modules/[^/]+/vmlinuz", name)):
                    src = tar.extractfile(member)
                    with open(os.path.join(target, "vmlinuz"), "wb") as out:
                        shutil.copyfileobj(src, out)
                    return "vmlinuz"
    finally:
        proc.stdout.close()
        proc.wait()
    raise InputError(f"{os.path.basename(deb)} holds no kernel image (boot/vmlinuz-*)")


def busybox(arch: str, progress=None) -> str:
    """A static busybox for the guest: the host's for its own architecture (Debian's
    busybox-static), else Debian bookworm's busybox-static for `arch`, fetched into the cache."""
    from .initramfs import busybox_path
    import platform
    if ARCHES.get(platform.machine().replace("aarch64", "arm64"), None) == ARCHES[arch]:
        return busybox_path()
    target = os.path.join(os.path.dirname(cache_dir()), "busybox", arch, "busybox")
    if os.path.isfile(target):
        return target
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise InputError(f"a static {arch} busybox is needed: fetching it needs apt-get and dpkg-deb")
    state = _state("bookworm")
    opts = _apt_opts(state)
    if progress:
        progress(f"busybox-static:{ARCHES[arch]}: apt-get update (bookworm)")
    _run(["apt-get", *opts, "update"], "apt-get update for bookworm")
    work = tempfile.mkdtemp(prefix="apeitool-fetch-", dir=cache_dir())
    try:
        _run(["apt-get", *opts, "download", f"busybox-static:{ARCHES[arch]}"], "apt-get download busybox-static",
             cwd=work)
        deb = os.path.join(work, next(n for n in os.listdir(work) if n.endswith(".deb")))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not _extract_member(deb, r"bin/busybox", target):
            raise InputError("busybox-static holds no bin/busybox")
        os.chmod(target, 0o755)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _state(suite: str) -> str:
    state = os.path.join(cache_dir(), ".apt", suite)
    for d in ("parts", "prefs", "lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(state, d), exist_ok=True)
    signed = f"[signed-by={KEYRING}] " if os.path.exists(KEYRING) else "[trusted=yes] "
    with open(os.path.join(state, "sources.list"), "w") as f:
        f.write(f"deb {signed}{_mirror()} {suite} main\n")
    return state


def _extract_member(deb: str, pattern: str, dest: str) -> bool:
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if member.isfile() and re.fullmatch(pattern, member.name.lstrip("./")):
                    with open(dest, "wb") as out:
                        shutil.copyfileobj(tar.extractfile(member), out)
                    return True
    finally:
        proc.stdout.close()
        proc.wait()
    return False


def known() -> Dict[str, str]:
    return dict(SUITES)
