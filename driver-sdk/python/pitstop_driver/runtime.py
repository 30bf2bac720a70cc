"""DriverRuntime: the driver process contract (docs/protocol.md) for a
driver's main():

    def main():
        runtime = DriverRuntime.from_args()        # first thing: flags, env, signals
        servicer = MyNetworkService(runtime)
        return runtime.serve(servicer)

    if __name__ == "__main__":
        sys.exit(main())

Flags (``--flag value`` or ``--flag=value``), for running a driver yourself:
  --listen unix:PATH  serve on PATH (default: $PITSTOP_SOCKET)
  --manifest PATH     driver.yaml (default: $PITSTOP_DRIVER_ROOT/META-INF/driver.yaml,
                      else <dir of the program>/../META-INF/driver.yaml)
  --state-dir DIR     driver state, created if missing (default: $PITSTOP_STATE_DIR,
                      else a new directory under /tmp)
Bad usage prints an error naming the flag or file and exits with status 2.
"""

import os
import signal
import sys
import tempfile
import threading

from . import health, log, manifest
from .server import DriverServer, ServeError

_USAGE = ("usage: %s [--listen unix:PATH] [--manifest PATH] [--state-dir DIR]\n"
          + __doc__[__doc__.index("  --listen"):__doc__.index("Bad usage")])


def grace_for_stop_timeout(stop_timeout):
    """How long in-flight calls may run after SIGTERM, for driver.yaml's
    stop timeout (seconds): the timeout minus a margin of a tenth, at least
    0.1 s and at most 1 s, so the process exits before the daemon's SIGKILL."""
    margin = min(max(stop_timeout / 10.0, 0.1), 1.0)
    return stop_timeout - margin if stop_timeout > 2 * margin else stop_timeout / 2.0


class UsageError(Exception):
    pass


def _parse_flags(argv):
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--help", "-h"):
            flags["help"] = True
            i += 1
            continue
        name, sep, value = arg.partition("=")
        if name not in ("--listen", "--manifest", "--state-dir"):
            raise UsageError("unknown flag '%s'" % arg)
        if not sep:
            if i + 1 >= len(argv):
                raise UsageError("flag %s needs a value" % name)
            i += 1
            value = argv[i]
        if not value:
            raise UsageError("flag %s needs a non-empty value" % name)
        flags[name[2:]] = value
        i += 1
    return flags


def _default_manifest(program):
    root = os.environ.get("PITSTOP_DRIVER_ROOT")
    if root:
        return os.path.join(root, "META-INF", "driver.yaml")
    here = os.path.dirname(os.path.realpath(program or "."))
    return os.path.join(here, "..", "META-INF", "driver.yaml")


class DriverRuntime:
    """One per process."""

    def __init__(self, info, socket_path, state_dir):
        self.info = info
        self.socket_path = socket_path
        self.state_dir = state_dir
        self.readiness = health.Readiness()
        self._stop = threading.Event()
        self._signal_name = None

    @classmethod
    def from_args(cls, argv=None):
        """Reads flags, the environment and driver.yaml, and installs the
        SIGTERM and SIGINT handlers (call it from the main thread, first:
        a signal arriving before serve() makes serve() stop at once).
        Exits 2 on bad usage, 0 after --help."""
        argv = sys.argv if argv is None else argv
        program = argv[0] if argv else "driver"
        try:
            runtime = cls._from_flags(program, _parse_flags(argv[1:]))
        except UsageError as e:
            log.error(str(e))
            sys.stderr.write(_USAGE % program)
            sys.exit(2)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, runtime._on_signal)
        return runtime

    @classmethod
    def _from_flags(cls, program, flags):
        if flags.get("help"):
            sys.stdout.write(_USAGE % program)
            sys.exit(0)
        if "listen" in flags:
            listen = flags["listen"]
            path = listen[len("unix://"):] if listen.startswith("unix://") else (
                listen[len("unix:"):] if listen.startswith("unix:") else None)
            if path is None:
                raise UsageError("--listen must be unix:PATH (got '%s')" % listen)
            if not path:
                raise UsageError("--listen unix:PATH needs a socket path")
        else:
            path = os.environ.get("PITSTOP_SOCKET", "")
            if not path:
                raise UsageError("no socket to serve on: PITSTOP_SOCKET is not set (the "
                                 "daemon sets it); to run standalone pass --listen unix:PATH")
        manifest_path = flags.get("manifest") or _default_manifest(program)
        try:
            info = manifest.load(manifest_path)
        except manifest.ManifestError as e:
            raise UsageError("--manifest: %s" % e) from None
        state_dir = flags.get("state-dir")
        source = "--state-dir"
        if not state_dir:
            state_dir, source = os.environ.get("PITSTOP_STATE_DIR", ""), "PITSTOP_STATE_DIR"
        if state_dir:
            try:
                os.makedirs(state_dir, mode=0o700, exist_ok=True)
            except OSError as e:
                raise UsageError("%s: cannot create %s: %s" % (source, state_dir,
                                                              e.strerror)) from None
            if not os.path.isdir(state_dir):
                raise UsageError("%s: %s is not a directory" % (source, state_dir))
        else:
            state_dir = tempfile.mkdtemp(prefix="pitstop-%s-" % info.name)
            log.info("no --state-dir or PITSTOP_STATE_DIR: keeping state in %s" % state_dir)
        return cls(info, path, state_dir)

    def _on_signal(self, signum, frame):
        self._signal_name = signal.Signals(signum).name
        self._stop.set()

    def set_ready(self, ready, message=""):
        """Readiness for Probe and health (default: ready once serving).
        Thread-safe; call before or during serve()."""
        self.readiness.set(ready, message)

    def request_stop(self):
        """What SIGTERM does, for tests and for a driver that wants to end."""
        self._stop.set()

    def serve(self, servicer):
        """Serves identity, health and `servicer` until SIGTERM or SIGINT,
        then stops gracefully (in-flight calls get the stop timeout minus a
        margin) and returns 0. If calls were still running when the grace
        ran out, they are cancelled and the process exits 0 at once (their
        threads cannot be stopped). Returns 1, after logging why, if it
        cannot serve."""
        info = self.info
        try:
            server = DriverServer(info, servicer, self.readiness)
            server.start(self.socket_path)
        except ServeError as e:
            log.error("driver %s %s cannot serve: %s" % (info.name, info.version, e))
            return 1
        log.info("driver %s %s serving on unix:%s" % (info.name, info.version,
                                                      self.socket_path))
        # wait() with a timeout, so that the signal handler runs promptly.
        while not self._stop.wait(0.5):
            pass
        grace = grace_for_stop_timeout(info.stop_timeout)
        log.info("received %s: stopping; in-flight calls have %.2fs to finish"
                 % (self._signal_name or "a stop request", grace))
        server.stop(grace)
        stuck = server.calls_in_flight()
        if stuck:
            # Their threads would hold the interpreter's exit past the
            # daemon's SIGKILL: end the process now, as a stop must.
            log.warning("driver %s stopped; %d call(s) did not finish within %.2fs and "
                        "were cancelled" % (info.name, stuck, grace))
            _exit_now(0)
        log.info("driver %s stopped" % info.name)
        return 0


def _exit_now(status):
    """Exits at once, without waiting for threads; flushes stdio first."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)
