"""The sandbox a submission runs in, and the grader's session with it.

The boundary. A submission's code runs in a process that

- has **no network** (a network namespace of its own with only a loopback, on which no grader
  listens);
- runs as the unprivileged user ``nobody`` (65534), with no capabilities and ``no_new_privs``;
- sees only the system's ``/usr``, a few files of ``/etc`` (not ``/etc/shadow``), the Python
  installation and ``lessons_src``, all read-only, plus its own empty ``/tmp`` and work folder
  on a tmpfs of :attr:`Limits.disk` bytes; not the repository, the hidden tests, the reference
  solutions, the other submissions or the gradebook;
- has its own process, IPC and hostname namespaces (it sees only its own processes, and an
  environment of a few variables);
- lives in a control group of its own with :attr:`Limits.memory` bytes of memory (its tmpfs
  files included), :attr:`Limits.processes` processes and :attr:`Limits.cpus` cores' worth of CPU
  time, and under rlimits on CPU time, file size and open files.

Only two pipes cross it: the grader's requests go in (the names to look up, the inputs of the
hidden tests), and frames of plain data come out (``wire``). Its printed output is read by the
grader up to :attr:`Limits.output` bytes and the rest is thrown away. The grader kills the whole
sandbox (its process namespace dies with it) when a cell or a call runs past its time.

Building the sandbox needs root: the launcher (``python -I -S sandbox.py launch``, run by the grader
under ``unshare --mount``) makes the control group and the size-limited tmpfs, bind-mounts the
Python installation where ``nobody`` can read it, then drops to ``nobody`` and runs bubblewrap.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# the launcher (``python -I -S sandbox.py launch``, once per run of a notebook) needs only the
# standard library: wire's NumPy would cost it 0.2 s
if __name__ != "__main__":
    import wire

NOBODY = 65534
SANDBOX_CODE = ("in_sandbox.py", "wire.py")
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
    "mime.types",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    memory: int = 2 << 30  # bytes, its tmpfs included (control group)
    processes: int = 64  # tasks in its control group
    cpus: float = 1.0  # CPU cores' worth of time (control group)
    disk: int = 256 << 20  # bytes of its tmpfs (/tmp and the work folder)
    file_size: int = 64 << 20  # bytes, the largest file it may write
    open_files: int = 256
    output: int = 4 << 20  # bytes of printed output kept; the rest is discarded
    cell_timeout: float = 60.0  # seconds for one cell, and for one call from a test
    total_timeout: float = 600.0  # seconds of wall time for the whole submission
    cpu_time: int = 900  # seconds of CPU time per process (rlimit)


class SandboxUnavailableError(RuntimeError):
    """The machine cannot build the sandbox (no bubblewrap, not root, no control groups)."""


class SessionDiedError(RuntimeError):
    """The student's process ended, or was killed, before answering."""


# --------------------------------------------------------------------------------------------
# control groups (v1 or v2), made by the launcher as root
# --------------------------------------------------------------------------------------------


def _cgroup_mounts() -> dict[str, Path]:
    """Controller name ('memory', 'pids', or 'unified' for v2) -> its mount point."""
    found: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if not extra:
            continue
        mount = Path(fields[4])
        if extra[0] == "cgroup2":
            found.setdefault("unified", mount)
        elif extra[0] == "cgroup":
            for option in extra[-1].split(","):
                if option in ("memory", "pids", "cpu"):
                    found[option] = mount
    return found


def make_cgroups(name: str, limits: Limits) -> list[Path]:
    """Control groups named ``name`` with the memory and process limits; their directories."""
    mounts = _cgroup_mounts()
    made = []
    if "memory" in mounts and "pids" in mounts:  # v1
        memory = mounts["memory"] / "descent-grader" / name
        memory.mkdir(parents=True)
        made.append(memory)
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory))
        swap = memory / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(limits.memory))
        pids = mounts["pids"] / "descent-grader" / name
        pids.mkdir(parents=True)
        made.append(pids)
        (pids / "pids.max").write_text(str(limits.processes))
        if "cpu" in mounts:  # one core at most, so that a submission cannot slow down another
            cpu = mounts["cpu"] / "descent-grader" / name
            cpu.mkdir(parents=True)
            made.append(cpu)
            (cpu / "cpu.cfs_period_us").write_text("100000")
            (cpu / "cpu.cfs_quota_us").write_text(str(int(100000 * limits.cpus)))
        return made
    if "unified" in mounts:  # v2: needs memory and pids enabled below the mount point
        parent = mounts["unified"] / "descent-grader"
        parent.mkdir(exist_ok=True)
        controllers = (mounts["unified"] / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(controllers):
            raise SandboxUnavailableError("cgroup v2 without the memory and pids controllers enabled")
        wanted = " ".join(f"+{c}" for c in ("memory", "pids", "cpu") if c in controllers)
        (parent / "cgroup.subtree_control").write_text(wanted)
        group = parent / name
        group.mkdir()
        (group / "memory.max").write_text(str(limits.memory))
        swap = group / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        (group / "pids.max").write_text(str(limits.processes))
        if (group / "cpu.max").exists():
            (group / "cpu.max").write_text(f"{int(100000 * limits.cpus)} 100000")
        return [group]
    raise SandboxUnavailableError("no memory and pids control groups on this machine")


def cgroup_events(groups: list[Path]) -> dict[str, int]:
    """How often the groups hit their memory and process limits so far."""
    events = {"oom": 0, "pids": 0}
    for group in groups:
        for file, key, words in (
            ("memory.oom_control", "oom", ("oom_kill",)),
            ("memory.events", "oom", ("oom_kill",)),
            ("pids.events", "pids", ("max",)),
        ):
            path = group / file
            if path.exists():
                for line in path.read_text().splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[0] in words:
                        events[key] += int(parts[1])
    return events


def remove_cgroups(groups: list[Path]) -> None:
    """Kill whatever is left in the groups, then remove them."""
    for group in groups:
        for _ in range(50):
            procs = group / "cgroup.procs"
            pids = [int(p) for p in procs.read_text().split()] if procs.exists() else []
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        try:
            group.rmdir()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# the launcher: root, in a mount namespace of its own, then nobody under bubblewrap
# --------------------------------------------------------------------------------------------


def readable_paths() -> list[Path]:
    """What the sandbox may read besides ``/usr``: the Python installation and lessons_src."""
    import importlib.util

    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    spec = importlib.util.find_spec("lessons_src")
    if spec and spec.submodule_search_locations:
        paths |= {Path(p).resolve() for p in spec.submodule_search_locations}
    return sorted(paths)


def lessons_src_parents() -> list[Path]:
    """The folders the grader imports ``lessons_src`` from, put on the sandbox's ``PYTHONPATH`` so
    that the student imports the same copy (an editable install may point elsewhere, unmounted)."""
    import importlib.util

    spec = importlib.util.find_spec("lessons_src")
    if not spec or not spec.submodule_search_locations:
        return []
    return sorted({Path(p).resolve().parent for p in spec.submodule_search_locations})


def sandbox_python() -> Path:
    """The grader's Python as the sandbox sees it: below the real folder of the installation.

    The folder is resolved (a ``.venv`` may be a symbolic link to a shared one, and only the real
    path is mounted) but not the file itself, so that a virtual environment stays one.
    """
    executable = Path(os.path.abspath(sys.executable))
    return executable.parent.resolve() / executable.name


def launch(config_path: Path) -> None:
    """Build the sandbox described by ``config_path`` and exec bubblewrap in it (never returns)."""
    config = json.loads(config_path.read_text())
    limits = Limits(**config["limits"])
    stage = Path(config["stage"])
    for group in config["cgroups"]:
        (Path(group) / "cgroup.procs").write_text(str(os.getpid()))
    rw = stage / "rw"
    subprocess.run(
        [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            f"size={limits.disk},nr_inodes=16384,mode=0755,uid={NOBODY},gid={NOBODY},nosuid,nodev",
            "descent-sandbox",
            str(rw),
        ],
        check=True,
    )
    for sub in ("tmp", "work"):
        (rw / sub).mkdir()
        os.chown(rw / sub, NOBODY, NOBODY)
    shutil.copy(config["notebook"], rw / "work" / "submission.ipynb")
    os.chown(rw / "work" / "submission.ipynb", NOBODY, NOBODY)
    binds = []
    for i, path in enumerate(config["readable"]):
        mount_point = stage / f"ro{i}"
        mount_point.mkdir()
        subprocess.run(["mount", "--bind", "-o", "ro", path, str(mount_point)], check=True)
        binds += ["--ro-bind", str(mount_point), path]
    import resource

    for limit, value in (
        (resource.RLIMIT_CPU, limits.cpu_time),
        (resource.RLIMIT_FSIZE, limits.file_size),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, limits.processes * 4),
    ):
        resource.setrlimit(limit, (value, value))
    argv = [
        shutil.which("setpriv") or "/usr/bin/setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
        config["bwrap"],
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/sbin",
        "/sbin",
        "--symlink",
        "usr/lib",
        "/lib",
    ]
    for name in ("lib64", "lib32"):
        if Path("/usr", name).exists():
            argv += ["--symlink", f"usr/{name}", f"/{name}"]
    for name in ETC_FILES:
        if Path("/etc", name).exists():
            argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    # the student's own /tmp and work folder first, then the read-only Python installation and
    # lessons_src, which may live below /tmp (a clone there) and must not be hidden by it
    argv += ["--bind", str(rw / "tmp"), "/tmp", "--bind", str(rw / "work"), "/submission"]
    argv += binds
    argv += [
        "--ro-bind",
        str(stage / "code"),
        "/grader",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        "/submission",
    ]
    env = {
        "PATH": f"{Path(config['python']).parent}:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": ":".join(["/grader", *config.get("import_from", [])]),
        "PYTHONUNBUFFERED": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **config.get("extra_env", {}),
    }
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += [
        "--remount-ro",
        "/",
        "--",
        config["python"],
        "/grader/in_sandbox.py",
        str(config["requests"]),
        str(config["replies"]),
        "/submission/submission.ipynb",
        json.dumps(config["skip"]),
    ]
    os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin"})


def check_available() -> None:
    """Raise :class:`SandboxUnavailableError` saying why, if this machine cannot build the sandbox."""
    missing = [tool for tool in ("bwrap", "unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        raise SandboxUnavailableError(
            f"missing {', '.join(missing)}: install bubblewrap and util-linux "
            "(apt-get install bubblewrap util-linux mount)"
        )
    if os.geteuid() != 0:
        raise SandboxUnavailableError(
            "the grader builds its sandbox as root (control groups, a size-limited tmpfs, then it "
            "drops to the user nobody): run it with sudo, or in a container or VM where you are root"
        )
    name = f"probe-{uuid.uuid4().hex[:8]}"
    remove_cgroups(make_cgroups(name, Limits()))


# --------------------------------------------------------------------------------------------
# the grader's session with one submission
# --------------------------------------------------------------------------------------------


class _OutputSink(threading.Thread):
    """Reads the sandbox's printed output, keeps the first ``limit`` bytes, counts the rest."""

    def __init__(self, stream: Any, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.limit = stream, limit
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
        while chunk := self.stream.read1(1 << 16):
            self.total += len(chunk)
            room = self.limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]


@dataclass
class SessionLog:
    """What happened in a session, for the grader's notes."""

    skipped: dict[int, str] = field(default_factory=dict)  # cell -> why it was left out
    cell_errors: dict[int, str] = field(default_factory=dict)  # cell -> the exception it raised
    output_bytes: int = 0
    output_kept: bytes = b""
    starts: int = 0
    oom_kills: int = 0
    pids_limited: int = 0
    out_of_time: bool = False


class Session:
    """A submission's notebook running in the sandbox, and the grader's requests to it.

    ``start()`` runs the notebook's cells; a cell that runs past the cell timeout, or during
    which the process dies, is left out and the notebook is run again without it, until every
    remaining cell ends or the total time runs out. Then :meth:`lookup` and :meth:`call` ask
    the student's process for values; a call that runs too long kills the process, and the next
    request runs the notebook again (without the cells already left out).
    """

    def __init__(self, notebook: Path, limits: Limits, sandbox: bool = True) -> None:
        self.notebook, self.limits, self.sandbox = notebook, limits, sandbox
        self.deadline = time.monotonic() + limits.total_timeout
        self.log = SessionLog()
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="descent-session-"))
        self.tmp.chmod(0o711)  # nobody may pass through to the stage, not list it
        self.groups: list[Path] = []
        self.name = f"s-{uuid.uuid4().hex[:12]}"
        self.ready = False

    # -- the process ------------------------------------------------------------------------

    def _spawn(self) -> None:
        request_r, self.request_w = os.pipe()
        self.reply_r, reply_w = os.pipe()
        skip = sorted(self.log.skipped)
        if self.sandbox:
            if not self.groups:
                self.groups = make_cgroups(self.name, self.limits)
            stage = Path(tempfile.mkdtemp(prefix="stage-", dir=self.tmp))
            stage.chmod(0o755)
            (stage / "rw").mkdir()
            (stage / "code").mkdir()
            for name in SANDBOX_CODE:
                shutil.copy(HERE / name, stage / "code" / name)
            (stage / "code").chmod(0o755)
            config = {
                "limits": asdict(self.limits),
                "stage": str(stage),
                "cgroups": [str(g) for g in self.groups],
                "notebook": str(self.notebook),
                "readable": [str(p) for p in readable_paths()],
                "import_from": [str(p) for p in lessons_src_parents()],
                "bwrap": shutil.which("bwrap"),
                "python": str(sandbox_python()),
                "requests": request_r,
                "replies": reply_w,
                "skip": skip,
                "extra_env": {
                    k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
                },
            }
            config_path = stage / "config.json"
            config_path.write_text(json.dumps(config))
            argv = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                sys.executable,
                "-I",
                "-S",
                str(HERE / "sandbox.py"),
                "launch",
                str(config_path),
            ]
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            cwd = "/"
        else:  # trusted notebooks only (the reference solutions): same protocol, no isolation
            argv = [
                sys.executable,
                str(HERE / "in_sandbox.py"),
                str(request_r),
                str(reply_w),
                str(self.notebook),
                json.dumps(skip),
            ]
            env = {**os.environ, "PYTHONPATH": str(HERE), "MPLBACKEND": "Agg"}
            cwd = str(self.tmp)
        self.proc = subprocess.Popen(
            argv,
            pass_fds=(request_r, reply_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(request_r)
        os.close(reply_w)
        self.reader = wire.FrameReader(self.reply_r)
        self.sink = _OutputSink(self.proc.stdout, self.limits.output - len(self.log.output_kept))
        self.sink.start()
        self.log.starts += 1

    def _kill(self) -> None:
        """Stop the student's process and everything it started."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.sink.join(timeout=5)
            self.log.output_bytes += self.sink.total
            self.log.output_kept += bytes(self.sink.kept)
            for fd in (self.request_w, self.reply_r):
                os.close(fd)
            self.proc = None
        if self.groups:
            for group in self.groups:  # a process that left the namespace's tree
                procs = group / "cgroup.procs"
                for pid in procs.read_text().split() if procs.exists() else []:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            events = cgroup_events(self.groups)
            self.log.oom_kills, self.log.pids_limited = events["oom"], events["pids"]
        self.ready = False

    def close(self) -> None:
        """End the session and remove everything it made."""
        self._kill()
        remove_cgroups(self.groups)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running the notebook ---------------------------------------------------------------

    def _time_left(self) -> float:
        return self.deadline - time.monotonic()

    def start(self) -> None:
        """Run the notebook's cells until every remaining cell has ended (see the class)."""
        while not self.ready:
            if self._time_left() <= 0:
                self.log.out_of_time = True
                raise SessionDiedError(f"the notebook used its {self.limits.total_timeout:g} s")
            self._spawn()
            current = None
            try:
                while True:
                    timeout = min(self.limits.cell_timeout, self._time_left())
                    message = self.reader.read(time.monotonic() + max(timeout, 0.0))
                    event = message.get("event")
                    if event == "start" and isinstance(message.get("cell"), int):
                        current = message["cell"]
                    elif event == "end":
                        if isinstance(message.get("error"), str) and current is not None:
                            self.log.cell_errors[current] = message["error"][:300]
                        current = None
                    elif event == "ready":
                        self.ready = True
                        break
            except TimeoutError:
                self._kill()
                if current is None or self._time_left() <= 0:
                    self.log.out_of_time = True
                    raise SessionDiedError(f"the notebook used its {self.limits.total_timeout:g} s") from None
                self.log.skipped[current] = f"ran past {self.limits.cell_timeout:g} s"
            except (EOFError, wire.WireError, OSError) as error:
                oom_before = self.log.oom_kills
                self._kill()
                if current is None:
                    raise SessionDiedError(
                        f"the process ended before its first cell ({type(error).__name__})"
                    ) from None
                if isinstance(error, wire.WireError):
                    self.log.skipped[current] = f"broke the grader's protocol ({error})"
                elif self.log.oom_kills > oom_before:
                    self.log.skipped[current] = f"ran out of its {self.limits.memory >> 20} MiB of memory"
                else:
                    self.log.skipped[current] = "ended the process"

    # -- requests ---------------------------------------------------------------------------

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        if not self.ready:
            self.start()
        try:
            wire.write_frame(self.request_w, message)
            timeout = min(self.limits.cell_timeout, self._time_left())
            reply = self.reader.read(time.monotonic() + max(timeout, 0.0))
        except TimeoutError:
            self._kill()
            raise SessionDiedError(
                f"the call ran past {self.limits.cell_timeout:g} s and was stopped"
            ) from None
        except wire.WireError as error:
            self._kill()
            raise SessionDiedError(
                f"the student's process broke the grader's protocol ({error}) and was stopped"
            ) from None
        except (EOFError, BrokenPipeError, OSError) as error:
            oom_before = self.log.oom_kills
            self._kill()
            if self.log.oom_kills > oom_before:
                raise SessionDiedError(
                    f"the call ran out of its {self.limits.memory >> 20} MiB of memory"
                ) from None
            raise SessionDiedError(
                f"the student's process ended during the call ({type(error).__name__})"
            ) from None
        return reply

    def lookup(self, name: str) -> dict[str, Any]:
        """``{"kind": "missing" | "callable" | "value" | "unsendable", ...}`` for ``name``."""
        return self._request({"op": "lookup", "name": name})

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The reply to calling ``name(*args, **kwargs)`` in the student's process."""
        import dill

        payload = base64.b64encode(dill.dumps((args, kwargs), recurse=True)).decode("ascii")
        return self._request({"op": "call", "name": name, "args": payload})


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "launch":
    launch(Path(sys.argv[2]))
