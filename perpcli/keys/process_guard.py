"""Keep a decrypted key out of core dumps and away from same-user debuggers.

A process that crashes with `ulimit -c unlimited` writes its whole memory to a core file, the
decrypted key included; a same-user process can also read a "dumpable" process's memory
through ptrace or /proc/PID/mem. So the first time key material is about to exist in this
process, it sets RLIMIT_CORE to 0 and, on Linux, PR_SET_DUMPABLE to 0 (which also covers
core_pattern pipes such as systemd-coredump, which ignore RLIMIT_CORE). It costs a couple of
milliseconds once, and only in commands that load a key: the read-only commands never call it.
Failures are ignored: this is defence in depth, and a platform without these calls still signs.
"""

from __future__ import annotations

import sys

PR_SET_DUMPABLE = 4  # <linux/prctl.h>
PR_GET_DUMPABLE = 3

_applied = False


def protect_key_material() -> None:
    """Disable core dumps (and, on Linux, ptrace by same-user processes) for this process. Idempotent."""
    global _applied
    if _applied:
        return
    _applied = True
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # no stdlib wrapper for prctl(2)

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        except (ImportError, OSError, AttributeError):
            pass


def is_dumpable() -> bool | None:
    """Whether the kernel would write a core for this process (Linux), or None where it cannot tell."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return bool(ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
