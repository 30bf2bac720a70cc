#!/usr/bin/python3
"""pitstop-sanity against every sample driver (all checks pass) and against
deliberately broken drivers (the expected checks fail, by name), reading
its JUnit output with a real XML parser."""

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def run(sanity, car, *extra):
    junit = tempfile.mktemp(suffix=".xml", prefix="pitstop-sanity-")
    out = subprocess.run([sanity, "--car", car, "--junit", junit] + list(extra),
                         capture_output=True, text=True, timeout=300)
    try:
        suite = ET.parse(junit).getroot()
    finally:
        if os.path.exists(junit):
            os.unlink(junit)
    cases = {c.get("name"): ("failed" if c.find("failure") is not None else
                             "skipped" if c.find("skipped") is not None else
                             "passed") for c in suite.iter("testcase")}
    return out, suite, cases


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanity", required=True)
    parser.add_argument("--cars-dir", required=True)
    parser.add_argument("--test-cars-dir", required=True)
    args = parser.parse_args()
    failures = 0

    def check(name, ok, detail=""):
        nonlocal failures
        print("%s: %s %s" % ("ok" if ok else "FAILED", name, detail))
        failures += 0 if ok else 1

    listed = subprocess.run([args.sanity, "--list"], capture_output=True,
                            text=True, check=True).stdout
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    check("--list names the checks", "lifecycle.sigterm" in names, listed)

    cars = os.path.join(args.cars_dir, "%s.car")
    samples = [("nvpnet", []), ("iscsi-base", []), ("proxkvm", []),
               ("flashpool", ["--with", cars % "iscsi-base"]),
               ("vlanfabric", [])]  # Written in Python (driver-sdk/python).
    for name, extra in samples:
        out, suite, cases = run(args.sanity, cars % name, *extra)
        check("%s passes every check" % name,
              out.returncode == 0 and set(cases.values()) == {"passed"}
              and sorted(cases) == sorted(names),
              out.stdout[-2000:] + out.stderr)
        check("%s's JUnit counts them" % name,
              suite.get("tests") == str(len(names))
              and suite.get("failures") == "0", str(suite.attrib))

    broken = os.path.join(args.test_cars_dir, "%s", "%s.car")
    out, suite, cases = run(args.sanity, broken % (("fault-badexit",) * 2))
    failed = sorted(n for n, r in cases.items() if r == "failed")
    check("a driver that exits 1 on SIGTERM fails lifecycle.sigterm only",
          out.returncode == 1 and failed == ["lifecycle.sigterm"],
          str(failed) + out.stdout[-1500:])
    check("and its failure says why",
          "exit 0" in out.stdout and "status 1" in out.stdout, out.stdout[-800:])
    out, suite, cases = run(args.sanity, broken % (("fault-sloppy",) * 2))
    failed = sorted(n for n, r in cases.items() if r == "failed")
    check("a driver that ignores operation ids and lacks a declared "
          "capability fails calls.operation-id, calls.every-method and "
          "lifecycle.kill-9-keeps-operations only",
          out.returncode == 1
          and failed == ["calls.every-method", "calls.operation-id",
                         "lifecycle.kill-9-keeps-operations"],
          str(failed) + out.stdout[-1500:])
    check("and its failures say why",
          "answered differently" in out.stdout
          and "TakeSnapshot is UNIMPLEMENTED although driver.yaml declares "
              "the capability STORAGE_SYSTEM_SNAPSHOT" in out.stdout,
          out.stdout[-1500:])
    out, suite, cases = run(args.sanity, broken % (("fault-neverready",) * 2))
    failed = sorted(n for n, r in cases.items() if r == "failed")
    skipped = sorted(n for n, r in cases.items() if r == "skipped")
    check("a driver that never becomes ready fails start.ready",
          out.returncode == 1 and "start.ready" in failed, str(failed))
    check("and skips what needs it READY", "lifecycle.sigterm" in skipped,
          str(skipped))
    print("sanity checks: %d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
