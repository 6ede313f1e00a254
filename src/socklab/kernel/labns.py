"""The kernel edge of labs: named namespaces made and removed, programs run in them,
the state file.

A named namespace is what ``ip netns add NAME`` makes (ip-netns(8)): a thread
``unshare(CLONE_NEWNET)``s, and its ``/proc/thread-self/ns/net`` is bind-mounted
on an empty file ``/run/netns/NAME``, so the namespace lives on when the thread
ends. Removing it is ``umount2(MNT_DETACH)`` and ``unlink``; the kernel frees the
namespace, and every interface in it (a veth's peer too, wherever it is), once no
process is left inside (namespaces(7)).

Rules:

1. Nothing here changes the namespace of the calling process: namespaces are made
   from a thread of their own, programs are forked from a thread that entered the
   node (:func:`socklab.kernel.netns.entered`).
2. OS refusals become socklab's errors: EPERM is MissingPrivilege naming
   CAP_SYS_ADMIN (namespaces, mounts) or CAP_NET_ADMIN.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import threading

from socklab.errors import BadInput, MissingPrivilege, NetworkError, NotFound
from socklab.kernel import files, scratch
from socklab.kernel import netns as knetns

__all__ = ["STATE_DIR", "alive", "claim_state", "create", "delete", "kill", "labs", "pids_in",
           "read_file", "read_state", "remove_state", "run", "spawn",
           "write_state"]

STATE_DIR = "/run/socklab/labs"
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2
MAX_STATE = 1 << 20
MAX_OUTPUT = 1 << 20


def _mount_bind(source: str, target: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(source.encode(), target.encode(), None, MS_BIND, None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _umount(target: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(target.encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _refused(op: str, exc: OSError, cap: str = "CAP_NET_ADMIN and CAP_SYS_ADMIN") -> Exception:
    if exc.errno in (errno.EPERM, errno.EACCES):
        return MissingPrivilege(op, cap, "run as root")
    return NetworkError(op, exc.errno)


def create(name: str) -> None:
    """``ip netns add NAME``: a new network namespace bound to /run/netns/NAME.
    BadInput when the name is taken."""
    op = f"create network namespace {name}"
    if not name or "/" in name or name in (".", ".."):
        raise BadInput(f"{op}: not a namespace name")
    target = os.path.join(knetns.NETNS_RUN_DIR, name)
    try:
        os.makedirs(knetns.NETNS_RUN_DIR, mode=0o755, exist_ok=True)
        fd = os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0)
    except FileExistsError:
        raise BadInput(f"{op}: a namespace of that name exists already") from None
    except OSError as exc:
        raise _refused(op, exc) from exc
    os.close(fd)
    failure: list[OSError] = []

    def target_thread() -> None:
        try:
            scratch.unshare()
            _mount_bind("/proc/thread-self/ns/net", target)
        except OSError as exc:
            failure.append(exc)

    thread = threading.Thread(target=target_thread, name=f"netns-add-{name}")
    thread.start()
    thread.join()
    if failure:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise _refused(op, failure[0]) from failure[0]


def delete(name: str) -> bool:
    """``ip netns del NAME``: unmount and remove the name; False when there was none."""
    target = os.path.join(knetns.NETNS_RUN_DIR, name)
    if not os.path.exists(target):
        return False
    with contextlib.suppress(OSError):  # an empty file left by a crash is not mounted
        _umount(target)
    try:
        os.unlink(target)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _refused(f"delete network namespace {name}", exc) from exc
    return True


def pids_in(name: str, proc_root: str = "/proc") -> list[int]:
    """``ip netns pids NAME``: the processes living in the namespace."""
    try:
        want = os.stat(os.path.join(knetns.NETNS_RUN_DIR, name))
    except OSError:
        return []
    key = (want.st_dev, want.st_ino)
    out = []
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"{proc_root}/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == key:
            out.append(int(entry))
    return sorted(out)


# the services this process started, kept so that each is waited for (and Python does
# not warn about a child dropped while it runs)
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
KILL_WAIT_TRIES = 400  # x 5 ms: how long a killed process may take to go


def kill(pid: int) -> None:
    """SIGKILL a process and wait until it is gone (reaped when it is our child):
    signal delivery is asynchronous (signal(7)), so it may run a moment after kill(2)."""
    import time

    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.kill()
        child.wait()
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    for _ in range(KILL_WAIT_TRIES):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b") ", 1)[-1][:1] in (b"Z", b"X"):
                    return  # dead; its parent reaps it
        except OSError:
            return
        time.sleep(0.005)


def alive(pid: int) -> bool:
    """False once the process (our child or not) has exited."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def spawn(name: str, argv: list[str], log: str = "/dev/null") -> int:
    """Start ``argv`` in namespace ``name``, detached (its own session), its output to
    ``log``; returns its pid. NotFound when the program is missing."""
    with knetns.entered(name):
        try:
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise NetworkError(f"open {log}", exc.errno) from exc
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, close_fds=True)
        except FileNotFoundError:
            raise NotFound(f"{argv[0]}: no such program") from None
        finally:
            os.close(out)
    _CHILDREN[proc.pid] = proc
    return proc.pid


def run(name: str | None, argv: list[str], timeout: float = 30.0,
        interactive: bool = False, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``argv`` in namespace ``name`` (None: here) and wait: ``(exit status, output)``
    with stdout and stderr together; ``interactive`` keeps the terminal (output "")."""
    ctx = knetns.entered(name) if name else contextlib.nullcontext()
    with ctx:
        try:
            if interactive:
                code = subprocess.run(argv, env=env).returncode
                # killed by a signal: 128 + its number, as a shell reports it
                return (128 - code if code < 0 else code), ""
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, env=env)
        except FileNotFoundError:
            raise NotFound(f"{argv[0]}: no such program") from None
        except subprocess.TimeoutExpired:
            return 124, f"{argv[0]}: no answer within {timeout:g} s"
    text = (done.stdout + done.stderr)[:MAX_OUTPUT].decode(errors="replace")
    return done.returncode, text


def _state_path(lab: str) -> str:
    if not lab or "/" in lab or lab.startswith("."):
        raise BadInput(f"lab {lab!r}: not a lab name")
    return os.path.join(STATE_DIR, f"{lab}.json")


def write_state(lab: str, data: bytes) -> None:
    """Write the lab's state file atomically (a crash leaves the old one or the new)."""
    path = _state_path(lab)
    try:
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        fd, tmp = files.open_temp(path)
    except OSError as exc:
        raise _refused(f"write {path}", exc) from exc
    try:
        os.write(fd, data)
        files.commit(fd, tmp, path)
    except OSError as exc:
        files.discard(-1, tmp)
        raise NetworkError(f"write {path}", exc.errno) from exc


def claim_state(lab: str, data: bytes) -> bool:
    """Create the lab's state file, only if there is none (O_EXCL: of two ``lab up`` of
    one name at once, one wins); False when it exists already."""
    path = _state_path(lab)
    try:
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _refused(f"write {path}", exc) from exc
    try:
        os.write(fd, data)
        os.fsync(fd)
    except OSError as exc:
        raise NetworkError(f"write {path}", exc.errno) from exc
    finally:
        os.close(fd)
    return True


def read_state(lab: str) -> bytes | None:
    """The lab's state file, or None when there is none."""
    path = _state_path(lab)
    try:
        return files.read_bounded(path, MAX_STATE)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refused(f"read {path}", exc) from exc


def remove_state(lab: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_state_path(lab))


def labs() -> list[str]:
    """The labs with a state file."""
    try:
        return sorted(n[:-5] for n in os.listdir(STATE_DIR) if n.endswith(".json"))
    except OSError:
        return []


def read_file(path: str, limit: int = MAX_STATE) -> bytes:
    """A topology file's bytes; NotFound / BadInput as the OS says."""
    try:
        data = files.read_bounded(path, limit)
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror}") from exc
    if len(data) > limit:
        raise BadInput(f"{path}: longer than {limit} bytes")
    return data
