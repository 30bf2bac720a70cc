#!/usr/bin/python3
"""The Debian packages as an operator meets them, on a throwaway machine.

Installs build/packages/*.deb with dpkg -i, checks what they put where,
verifies the installed units, starts the daemon exactly as the unit's
ExecStart= says, with a real NOTIFY_SOCKET and an inherited listening socket
(LISTEN_FDS, from systemd-socket-activate) as pitstopd.socket would pass it,
installs a sample driver from pitstop-sample-drivers with `pitstop install`,
routes a call to it, stops the daemon, and purges the packages, which must
leave nothing behind but the pitstop group. Exits non-zero on the first
failure, saying what it was.
"""

import argparse
import glob
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SOCKET = "/run/pitstop/pitstopd.sock"
UNIT_DIR = "/lib/systemd/system"
# What the packages own, that a purge must remove.
OWNED = ["/usr/sbin/pitstopd", "/usr/bin/pitstop", "/etc/pitstop",
         UNIT_DIR + "/pitstopd.service", UNIT_DIR + "/pitstopd.socket",
         "/usr/share/doc/pitstop", "/usr/share/pitstop",
         "/usr/share/man/man8/pitstopd.8.gz",
         "/usr/share/bash-completion/completions/pitstop",
         "/var/lib/pitstop", "/run/pitstop", "/usr/include/pitstop",
         "/usr/lib/x86_64-linux-gnu/cmake/PitstopDriverSdk",
         "/usr/lib/x86_64-linux-gnu/libpitstop_driver_sdk.a"]

passes = 0


def check(what, condition, detail=""):
    global passes
    if not condition:
        print("FAILED: %s %s" % (what, detail))
        sys.exit(1)
    passes += 1
    print("ok: %s" % what)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def exec_start():
    """The installed unit's ExecStart= as argv."""
    with open(os.path.join(UNIT_DIR, "pitstopd.service")) as f:
        for line in f:
            if line.startswith("ExecStart="):
                return shlex.split(line[len("ExecStart="):])
    raise AssertionError("pitstopd.service has no ExecStart=")


def unit_value(key):
    """A key of the installed pitstopd.service, as written."""
    with open(os.path.join(UNIT_DIR, "pitstopd.service")) as f:
        for line in f:
            if line.startswith(key + "="):
                return line[len(key) + 1:].strip()
    raise AssertionError("pitstopd.service has no %s=" % key)


def await_notify(sock, wanted, deadline):
    """Datagrams from the daemon until one holds `wanted`; all of them."""
    seen = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            seen.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if any(wanted in d.split("\n") for d in seen[-1:]):
            return seen
    raise AssertionError("no %s from pitstopd; it sent %r" % (wanted, seen))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", required=True)
    parser.add_argument("--sdk-example", required=True,
                        help="a driver's CMake project, built out of tree")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("test-packages installs packages: run it as root")
        return 1
    if run(["dpkg-query", "-W", "pitstop"]).returncode == 0:
        print("pitstop is installed already: purge it first (dpkg --purge "
              "pitstop pitstop-sample-drivers)")
        return 1
    left = [p for p in OWNED if os.path.exists(p)]
    if left:
        print("this machine has %s from an earlier install: run on a fresh "
              "machine, or remove them" % left)
        return 1
    r = run(["systemd-socket-activate", "--help"])
    check("systemd-socket-activate is here (package systemd)",
          r.returncode == 0, r.stderr)

    debs = [d for d in glob.glob(os.path.join(args.packages, "*.deb"))
            if "-dbgsym" not in d]
    r = run(["dpkg", "-i"] + debs)
    check("dpkg -i installs pitstop, pitstop-sample-drivers and "
          "libpitstop-driver-sdk-dev",
          r.returncode == 0, r.stdout + r.stderr)
    check("the pitstop group exists",
          run(["getent", "group", "pitstop"]).returncode == 0)
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "pitstop"]).stdout
    check("/etc/pitstop/pitstopd.yaml is a conffile",
          "/etc/pitstop/pitstopd.yaml" in conffiles, conffiles)
    with open("/etc/pitstop/pitstopd.yaml") as f:
        config = f.read()
    check("the configuration is the daemon's commented defaults",
          config == run(["/usr/sbin/pitstopd", "--print-default-config"]).stdout
          and "# " in config)
    for page in ("/usr/share/man/man8/pitstopd.8.gz",
                 "/usr/share/man/man1/pitstop.1.gz"):
        r = run(["sh", "-c", "zcat %s | grep -c '^\\.SH'" % page])
        check("the man page %s is installed" % os.path.basename(page),
              r.returncode == 0 and int(r.stdout or 0) >= 3, r.stderr)
    r = run(["systemd-analyze", "verify",
             UNIT_DIR + "/pitstopd.socket", UNIT_DIR + "/pitstopd.service"],
            env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
    check("systemd-analyze verify passes for the installed units",
          r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          r.stdout + r.stderr)
    cars = sorted(os.listdir("/usr/share/pitstop/cars"))
    check("the sample CARs are in /usr/share/pitstop/cars",
          "flashpool.car" in cars, str(cars))

    work = tempfile.mkdtemp(prefix="pitstop-packages-")
    notify_path = os.path.join(work, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    argv = exec_start()
    check("ExecStart= runs /usr/sbin/pitstopd with the packaged configuration",
          argv == ["/usr/sbin/pitstopd", "--config",
                   "/etc/pitstop/pitstopd.yaml", "--leave-drivers-on-exit"],
          str(argv))
    os.makedirs("/run/pitstop", exist_ok=True)
    log = open(os.path.join(work, "pitstopd.log"), "w")
    # pitstopd.socket's listening socket, passed as systemd passes it, and
    # of the unit's hardening what applies outside systemd: its capability
    # bounding set, NoNewPrivileges= and UMask=.
    caps = ",".join("+" + c[len("CAP_"):].lower()
                    for c in unit_value("CapabilityBoundingSet").split())
    check("the unit sets NoNewPrivileges=yes and UMask=0077",
          unit_value("NoNewPrivileges") == "yes"
          and unit_value("UMask") == "0077")
    def start():
        """The daemon as the units run it; returns once READY=1."""
        # systemd keeps the socket across restarts; systemd-socket-activate
        # binds it anew each time.
        if os.path.exists(SOCKET):
            os.unlink(SOCKET)
        proc = subprocess.Popen(
            ["setpriv", "--bounding-set", "-all," + caps, "--inh-caps", "-all",
             "--no-new-privs", "--",
             "systemd-socket-activate", "-l", SOCKET,
             "-E", "NOTIFY_SOCKET=" + notify_path] + argv,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            stdout=log, stderr=log, preexec_fn=lambda: os.umask(0o077))
        # systemd-socket-activate starts the service at the first
        # connection, as pitstopd.socket would.
        deadline = time.monotonic() + 10
        while not os.path.exists(SOCKET) and time.monotonic() < deadline:
            time.sleep(0.01)
        first = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        first.connect(SOCKET)
        seen = await_notify(notify, "READY=1", time.monotonic() + 30)
        first.close()
        return proc, seen

    daemon = None
    pid = 0
    try:
        daemon, seen = start()
        check("pitstopd says READY=1 on NOTIFY_SOCKET", True, str(seen))
        with open(os.path.join(work, "pitstopd.log")) as f:
            text = f.read()
        check("it serves on the socket it inherited (LISTEN_FDS)",
              "serving on the socket systemd passed" in text, text)
        check("with only the unit's capabilities the whole driver sandbox "
              "is in force", "mode=strict" in text
              and "sandbox protection unavailable" not in text
              and "no namespaces" not in text, text)

        def pitstop(*words):
            return run(["/usr/bin/pitstop"] + list(words))

        # flashpool needs iscsi-base: installed first.
        for car in ("iscsi-base", "flashpool"):
            r = pitstop("install", "/usr/share/pitstop/cars/%s.car" % car)
            check("pitstop install of the packaged sample %s" % car,
                  r.returncode == 0, r.stdout + r.stderr)
        # A vendor's driver, built out of tree against the installed SDK.
        build = os.path.join(work, "example")
        cxx = shutil.which("clang++") or shutil.which("c++")
        r = run(["cmake", "-S", args.sdk_example, "-B", build, "-G", "Ninja",
                 "-DCMAKE_CXX_COMPILER=" + cxx])
        check("the out-of-tree project finds PitstopDriverSdk",
              r.returncode == 0, r.stdout + r.stderr)
        r = run(["cmake", "--build", build])
        car = os.path.join(build, "cars", "hello-storage.car")
        check("it builds its driver and CAR against the installed SDK",
              r.returncode == 0 and os.path.exists(car), r.stdout + r.stderr)
        r = pitstop("install", car)
        check("the packaged daemon installs the out-of-tree driver",
              r.returncode == 0, r.stdout + r.stderr)
        r = pitstop("call", "hello-storage", "GetCapabilities", "--resource",
                    "volume/v1")
        check("and routes a call to it",
              r.returncode == 0 and "built out of tree" in r.stdout,
              r.stdout + r.stderr)

        r = pitstop("call", "flashpool", "CreateVolume", "--resource",
                    "volume/pkg-vol", "--prop", "management_vip=10.0.0.5",
                    "--prop", "storage_vip=10.0.1.5", "--prop",
                    "admin_username=admin", "--prop", "admin_password=s3cret",
                    "--json", '{"size_bytes": 1073741824, "name": "pkg"}')
        check("a call routed through the packaged daemon to the driver",
              r.returncode == 0 and "pkg-vol" in r.stdout,
              r.stdout + r.stderr)
        def flashpool_pid():
            r = pitstop("describe", "flashpool", "--output", "json")
            return json.loads(r.stdout)["pid"] if r.returncode == 0 else 0

        pid = flashpool_pid()
        daemon.terminate()
        await_notify(notify, "STOPPING=1", time.monotonic() + 30)
        check("SIGTERM: STOPPING=1, and pitstopd exits 0",
              daemon.wait(timeout=60) == 0)
        alive = pid > 0 and os.path.exists("/proc/%d" % pid)
        check("the drivers run on after the daemon's exit (a restart keeps "
              "them)", alive, str(pid))
        daemon, _ = start()
        check("the restarted daemon re-adopts flashpool (same pid)",
              flashpool_pid() == pid)
        daemon.terminate()
        check("and exits 0 again", daemon.wait(timeout=60) == 0)
        daemon = None
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait()
            with open(os.path.join(work, "pitstopd.log")) as f:
                print(f.read())
        shutil.rmtree(work, ignore_errors=True)

    r = run(["dpkg", "--purge", "libpitstop-driver-sdk-dev", "pitstop",
             "pitstop-sample-drivers"])
    check("dpkg --purge", r.returncode == 0, r.stdout + r.stderr)
    deadline = time.monotonic() + 10
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    check("removing the package stopped the drivers (pitstopd "
          "--stop-drivers)", not os.path.exists("/proc/%d" % pid), str(pid))
    left = [p for p in OWNED if os.path.exists(p)]
    check("the purge leaves nothing of pitstop behind", not left, str(left))
    check("the pitstop group stays, as Debian policy keeps system groups",
          run(["getent", "group", "pitstop"]).returncode == 0)
    print("package checks: %d ok" % passes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
