"""The trust-store read started ahead of use is waited for when the process exits.

OpenSSL frees its tables at exit; a thread still reading the store then crashed the
process (SIGSEGV in about one run of thirty of a command failing on a bad argument).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = textwrap.dedent(
    """
    import sys, time
    import smtpprobe.tls as tls

    def slow_load(ca_file, stamp):  # stands in for a store that takes a while to read
        time.sleep(0.5)
        open(sys.argv[1], "w").write("read")

    tls._shared_context = slow_load
    tls.warm_client_context(None)
    sys.exit(3)  # at once, as a command failing on its arguments does
    """
)


def test_exit_waits_for_the_trust_store_read(tmp_path: Path) -> None:
    marker = tmp_path / "done"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(marker)], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 3, child.stderr
    assert marker.read_text() == "read"  # the read finished before the process ended
