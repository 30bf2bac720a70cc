"""Shared by the SDK's tests: the SDK and freshly generated protocol code on
sys.path, temporary directories, and waiting on a condition with a
deadline (never a fixed sleep)."""

import atexit
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SDK_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(SDK_DIR))
PROTO_DIR = os.environ.get("PITSTOP_PROTO_DIR", os.path.join(REPO, "proto"))

if SDK_DIR not in sys.path:
    sys.path.insert(0, SDK_DIR)

from pitstop_driver import stubs  # noqa: E402

_GENERATED = tempfile.mkdtemp(prefix="pitstop-sdk-test-stubs-")
atexit.register(shutil.rmtree, _GENERATED, True)
stubs.generate(PROTO_DIR, _GENERATED)
sys.path.insert(0, _GENERATED)
GENERATED = _GENERATED


def temp_dir(test):
    """A directory removed when `test` (a TestCase) ends. Short, under
    /tmp, so that socket paths in it fit a sockaddr_un."""
    path = tempfile.mkdtemp(prefix="psdk-", dir="/tmp")
    test.addCleanup(shutil.rmtree, path, True)
    return path


def wait_for(predicate, timeout=10.0, what="the condition"):
    """Polls `predicate` until it returns a true value (returned) or
    `timeout` seconds pass (AssertionError naming `what`)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(0.01)


MANIFEST = """\
name: testnet
version: 1.2.3
category: network
vendor: Test Vendor
protocol: [v1]
entrypoint: bin/testnet
resource_types: [network]
capabilities: [Connectivity]
properties:
  - key: host
    type: string
    required: true
  - key: port
    type: number
    default: 8443
  - key: verbose
    type: boolean
    default: true
  - key: since
    type: date
    default: 2026-01-31
timeouts: {start: 10s, stop: 2s}
"""

# The SDK's log lines would clutter the test report: they go to /dev/null
# unless PITSTOP_TEST_LOG is set. Process-level tests capture the child's.
if not os.environ.get("PITSTOP_TEST_LOG"):
    from pitstop_driver import log as _log
    _log.set_output_fd_for_test(os.open(os.devnull, os.O_WRONLY))
