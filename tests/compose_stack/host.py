"""The Docker side of `make compose-test` on a machine that has no Docker engine and reaches
no image registry: Debian's packages, a daemon of its own, and the images that would
otherwise be pulled, made locally.

- `ensure_packages()` installs Debian's docker.io, docker-compose and debootstrap when
  their commands are missing (as root, with apt-get: what CI's fresh machine needs).
- `Daemon` uses a running Docker engine, or starts `dockerd` (overlay2, else vfs; no
  iptables and no default bridge, which this machine does not allow) and stops it again.
- `base_image()` is the stand-in for `python:3.10-slim-bookworm`: a Debian bookworm root
  file system made by debootstrap, with this machine's CPython 3.10 in /usr/local (as the
  official image has it) and this machine's certificate authorities (pip inside the
  builds must trust the same proxy the machine does), imported with `docker import`.
- `standin_images()` builds the stand-ins for postgres:15 and redis:7 from it
  (docker/local/).

Every image is tagged with a digest of what it was made from, so a second run finds them
and builds nothing, and a change of input makes a new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.infra.settings import PROJECT_ROOT

LOCAL_DIR = PROJECT_ROOT / "docker" / "local"
SUITE = "bookworm"
# The run-time libraries of CPython's extension modules, and what python:3.10-slim adds.
BASE_PACKAGES = (
    "ca-certificates,netbase,tzdata,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,"
    "libreadline8,libncursesw6,zlib1g,libuuid1,libexpat1,libnsl2,libtirpc3,libgdbm6"
)
# Parts of the standard library that python:3.10-slim leaves out too.
STDLIB_LEFT_OUT = ("test", "idlelib", "tkinter", "turtledemo", "lib2to3/tests")
SITE_PACKAGES_KEPT = ("pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-")
# What debian:bookworm-slim (under python:3.10-slim) configures: apt keeps no package files
# or caches, and dpkg leaves out documentation, manuals and translations.
_APT_REMOVE = (
    "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb"
    " /var/cache/apt/*.bin || true"
)
APT_CLEAN = (
    f'DPkg::Post-Invoke {{ "{_APT_REMOVE}"; }};\n'
    f'APT::Update::Post-Invoke {{ "{_APT_REMOVE}"; }};\n'
    'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
)
SLIM_EXCLUDES = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/groff",
    "usr/share/info",
    "usr/share/linda",
    "usr/share/lintian",
    "usr/share/locale",
)
HOST_LOCAL_CAS = Path("/usr/local/share/ca-certificates")


class HostError(RuntimeError):
    """The machine cannot run the stack; the message says why."""


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    log: Path | None = None,
    input_bytes: bytes | None = None,
    cwd: Path | None = None,
) -> str:
    """Run a command; its output goes to `log` (or is returned), a failure raises with its tail."""
    if log is not None:
        with log.open("ab") as out:
            out.write(f"\n$ {' '.join(map(str, command))}\n".encode())
            out.flush()
            result = subprocess.run(
                list(command), stdout=out, stderr=subprocess.STDOUT, input=input_bytes, cwd=cwd
            )
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-4000:]
            raise HostError(f"{' '.join(map(str, command[:3]))} failed:\n{tail}")
        return ""
    done = subprocess.run(list(command), capture_output=True, input=input_bytes, cwd=cwd)
    if done.returncode != 0:
        raise HostError(
            f"{' '.join(map(str, command))} failed: {done.stderr.decode(errors='replace')[-4000:]}"
        )
    return done.stdout.decode(errors="replace")


def succeeds(command: Sequence[str]) -> bool:
    try:
        return subprocess.run(list(command), capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose_command() -> list[str]:
    """`docker compose` (v2) where the plugin is installed, else `docker-compose` (v1)."""
    if succeeds(["docker", "compose", "version"]):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise HostError("neither `docker compose` nor `docker-compose` is installed")


def ensure_packages(log: Path) -> list[str]:
    """Install what is missing of docker.io, docker-compose and debootstrap; their names."""
    missing = []
    if not (shutil.which("dockerd") or succeeds(["docker", "info"])):
        missing.append("docker.io")
    if not (succeeds(["docker", "compose", "version"]) or shutil.which("docker-compose")):
        missing.append("docker-compose")
    if not shutil.which("debootstrap"):
        missing.append("debootstrap")
    if not missing:
        return []
    if os.geteuid() != 0:
        raise HostError(f"install {' '.join(missing)} (Debian packages), or run as root")
    env_prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
    run([*env_prefix, "apt-get", "update", "-qq"], log=log)
    run([*env_prefix, "apt-get", "install", "-y", "--no-install-recommends", *missing], log=log)
    return missing


class Daemon:
    """A Docker engine to talk to: the one running, or one started here and stopped by `stop`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.leftover: int | None = None  # a dockerd an interrupted run started
        self.storage_driver = ""

    def start(self, timeout: float = 60) -> str:
        """Make sure a daemon answers; say which one."""
        if succeeds(["docker", "info"]):
            self.storage_driver = self._driver()
            self.leftover = self._leftover_pid()
            if self.leftover is not None:
                return (
                    f"the dockerd an earlier run left ({self.storage_driver}), stopped at the end"
                )
            return f"the running Docker engine ({self.storage_driver})"
        if os.geteuid() != 0:
            raise HostError("no Docker engine is running and only root may start dockerd")
        for driver in ("overlay2", "vfs"):
            if self._start_with(driver, timeout) and self._runs_a_container():
                self.storage_driver = driver
                return f"dockerd started here, storage driver {driver}"
            self.stop()
        raise HostError(f"dockerd did not start: see {self.workdir / 'dockerd.log'}")

    def _start_with(self, driver: str, timeout: float) -> bool:
        log = (self.workdir / "dockerd.log").open("ab")
        self.process = subprocess.Popen(
            [
                "dockerd",
                "--iptables=false",
                "--bridge=none",
                f"--storage-driver={driver}",
                "--pidfile",
                str(self.workdir / "dockerd.pid"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if succeeds(["docker", "info"]):
                return True
            time.sleep(0.5)
        return False

    def _runs_a_container(self) -> bool:
        """Whether this storage driver can run a container (overlay2 may start, then fail)."""
        probe = self.workdir / "probe"
        shutil.rmtree(probe, ignore_errors=True)
        (probe / "bin").mkdir(parents=True)
        shutil.copy2("/bin/true", probe / "bin" / "true")
        for library in ("lib/x86_64-linux-gnu/libc.so.6", "lib64/ld-linux-x86-64.so.2"):
            if Path("/", library).exists():
                (probe / library).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path("/", library), probe / library)
        try:
            archive = subprocess.run(["tar", "-C", str(probe), "-c", "."], capture_output=True)
            run(
                ["docker", "import", "-", "service-assistant-local/probe:1"],
                input_bytes=archive.stdout,
            )
            run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "service-assistant-local/probe:1",
                    "/bin/true",
                ]
            )
            run(["docker", "rmi", "service-assistant-local/probe:1"])
            return True
        except HostError:
            return False
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    def _leftover_pid(self) -> int | None:
        """The dockerd of this folder's pid file, if it still runs."""
        try:
            pid = int((self.workdir / "dockerd.pid").read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except (OSError, ValueError):
            return None
        return pid if command.endswith(b"dockerd") else None

    def _driver(self) -> str:
        return run(["docker", "info", "--format", "{{.Driver}}"]).strip()

    @property
    def started_here(self) -> bool:
        return self.process is not None or self.leftover is not None

    def stop(self) -> None:
        """Stop the daemon if this run (or an interrupted one) started it."""
        if self.leftover is not None:
            os.kill(self.leftover, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while Path(f"/proc/{self.leftover}").exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            self.leftover = None
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def image_exists(tag: str) -> bool:
    return succeeds(["docker", "image", "inspect", tag])


def _python_home() -> Path:
    """This machine's CPython 3.10 installation (the one running `make compose-test`)."""
    if sys.version_info[:2] != (3, 10):
        raise HostError(f"the base image needs CPython 3.10, this is {sys.version}")
    return Path(sys.base_prefix)


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:12]


def _host_cas() -> list[Path]:
    return sorted(HOST_LOCAL_CAS.glob("*.crt")) if HOST_LOCAL_CAS.is_dir() else []


def base_tag() -> str:
    """The base image's tag: its Debian suite and packages, Python and trusted authorities."""
    python = _python_home()
    digest = _digest(
        Path(__file__).read_bytes(),  # the recipe
        SUITE.encode(),
        BASE_PACKAGES.encode(),
        ",".join(STDLIB_LEFT_OUT).encode(),
        sys.version.encode(),
        (python / "lib" / "libpython3.10.so.1.0").read_bytes()
        if (python / "lib" / "libpython3.10.so.1.0").exists()
        else (python / "bin" / "python3.10").read_bytes(),
        *(path.read_bytes() for path in _host_cas()),
    )
    return f"service-assistant-local/python:3.10-{SUITE}-{digest}"


def _copy_python(python: Path, usr_local: Path) -> None:
    """Copy CPython into /usr/local and trim it as python:3.10-slim is trimmed (no tests,
    no tkinter, no byte code, no static library; only pip and setuptools installed)."""
    copied_scripts = {path.name for path in (python / "bin").iterdir()}
    shutil.copytree(
        python,
        usr_local,
        symlinks=True,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "libpython*.a", "_tkinter*"),
    )
    stdlib = usr_local / "lib" / "python3.10"
    for part in STDLIB_LEFT_OUT:
        shutil.rmtree(stdlib / part, ignore_errors=True)
    for item in (stdlib / "site-packages").iterdir():
        if not item.name.startswith(SITE_PACKAGES_KEPT):
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    for name in copied_scripts:  # pip's scripts name this machine's path: python -m pip
        if not name.startswith("python"):
            (usr_local / "bin" / name).unlink()
    for name in ("python", "python3"):
        link = usr_local / "bin" / name
        if not link.is_symlink() and not link.exists():
            link.symlink_to("python3.10")


def base_image(log: Path) -> tuple[str, bool]:
    """The local stand-in for python:3.10-slim-bookworm; whether it had to be built."""
    tag = base_tag()
    if image_exists(tag):
        return tag, False
    if not shutil.which("debootstrap"):
        raise HostError("debootstrap is missing (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="sa-base-", dir="/var/tmp") as work:
        rootfs = Path(work) / "rootfs"
        run(
            ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", SUITE, rootfs],
            log=log,
        )
        _copy_python(_python_home(), rootfs / "usr" / "local")
        # This machine's own authorities (a TLS-inspecting proxy's, say) next to Debian's.
        for certificate in _host_cas():
            shutil.copy2(certificate, rootfs / "usr/local/share/ca-certificates" / certificate.name)
        (rootfs / "etc" / "pip.conf").write_text(
            "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n", encoding="utf-8"
        )
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN, encoding="utf-8")
        (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(
            "".join(f"path-exclude /{path}/*\n" for path in SLIM_EXCLUDES)
            + "path-include /usr/share/doc/*/copyright\n",
            encoding="utf-8",
        )
        for path in SLIM_EXCLUDES:
            for item in (rootfs / path).glob("*"):
                if path == "usr/share/doc" and (item / "copyright").is_file():
                    for extra in item.iterdir():
                        if extra.name != "copyright":
                            shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
                    continue
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
        run(["chroot", rootfs, "update-ca-certificates"], log=log)
        run(["chroot", rootfs, "ldconfig"], log=log)
        run(["chroot", rootfs, "apt-get", "clean"], log=log)
        for cache in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for item in (rootfs / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        run(
            [
                "chroot",
                rootfs,
                "/usr/local/bin/python3.10",
                "-c",
                "import ssl, sqlite3, ctypes, zoneinfo",
            ],
            log=log,
        )
        archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        assert archive.stdout is not None
        imported = subprocess.run(
            [
                "docker",
                "import",
                "--change",
                "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["python3"]',
                "-",
                tag,
            ],
            stdin=archive.stdout,
            capture_output=True,
        )
        archive.stdout.close()
        if archive.wait() != 0 or imported.returncode != 0:
            raise HostError(f"docker import failed: {imported.stderr.decode(errors='replace')}")
    return tag, True


STANDINS = {
    "POSTGRES_IMAGE": ("postgres.Dockerfile", "postgres"),
    "REDIS_IMAGE": ("redis.Dockerfile", "redis"),
}


def standin_images(base: str, log: Path) -> dict[str, str]:
    """Build (or find) the postgres and redis stand-ins: {compose variable: tag}."""
    images = {}
    for variable, (dockerfile, name) in STANDINS.items():
        inputs = [
            (LOCAL_DIR / dockerfile).read_bytes(),
            (LOCAL_DIR / "postgres-entrypoint.sh").read_bytes() if name == "postgres" else b"",
            base.encode(),
        ]
        tag = f"service-assistant-local/{name}:{_digest(*inputs)}"
        if not image_exists(tag):
            run(
                [
                    "docker",
                    "build",
                    "--network",
                    "host",
                    "--build-arg",
                    f"BASE_IMAGE={base}",
                    "-f",
                    LOCAL_DIR / dockerfile,
                    "-t",
                    tag,
                    LOCAL_DIR,
                ],
                log=log,
            )
        images[variable] = tag
    return images
