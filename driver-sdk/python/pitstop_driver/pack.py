"""Packs a Python driver into a CAR with `pitstop car pack`.

    /usr/bin/python3 -m pitstop_driver pack --root car --source vlanfabric \\
        --main vlanfabric:main --proto-dir proto -o build/cars/vlanfabric.car

Stages, in a fresh directory:
  ROOT/...               META-INF/driver.yaml, META-INF/LICENSE, resources/
  lib/pitstop_driver/    this SDK
  lib/pitstop/driver/v1/ the protocol code: generated from --proto-dir with
                         protoc and grpc_python_plugin, else copied from the
                         installed package pitstop.driver.v1
  lib/<source>           each --source (a module file or a package folder)
  bin/<entrypoint>       driver.yaml's entrypoint: a #!/usr/bin/python3 script
                         that puts lib/ on sys.path and calls --main
then runs `pitstop car pack STAGE -o OUT`.
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

from . import stubs, yamlish

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")

_LAUNCHER = """#!/usr/bin/python3
# Written by pitstop_driver.pack: runs {module}.{function}() with the CAR's
# lib/ (the driver, the SDK and the protocol code) on sys.path.
import os
import sys

sys.dont_write_bytecode = True  # /driver is read-only.
_root = os.environ.get("PITSTOP_DRIVER_ROOT") or os.path.dirname(
    os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, os.path.join(_root, "lib"))

from {module} import {function}  # noqa: E402

sys.exit({function}())
"""


class PackError(RuntimeError):
    pass


def _entrypoint(root):
    path = os.path.join(root, "META-INF", "driver.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yamlish.loads(f.read(), path)
    except OSError as e:
        raise PackError("cannot read %s: %s" % (path, e.strerror)) from None
    except yamlish.YamlError as e:
        raise PackError(str(e)) from None
    entrypoint = doc.get("entrypoint") if isinstance(doc, dict) else None
    if not isinstance(entrypoint, str) or not entrypoint.startswith("bin/") \
            or ".." in entrypoint.split("/"):
        raise PackError("%s: 'entrypoint' must be a file under bin/, e.g. "
                        "bin/mydriver (got %r)" % (path, entrypoint))
    return entrypoint


def _copy(source, destination_dir):
    target = os.path.join(destination_dir, os.path.basename(os.path.normpath(source)))
    if os.path.isdir(source):
        shutil.copytree(source, target, ignore=_IGNORE)
    elif os.path.isfile(source):
        shutil.copy2(source, target)
    else:
        raise PackError("--source %s: no such file or folder" % source)


def _copy_installed_stubs(lib):
    try:
        package = importlib.import_module("pitstop.driver.v1")
    except ImportError:
        raise PackError("no --proto-dir, and the protocol code pitstop.driver.v1 is not "
                        "installed: pass --proto-dir (the proto/ folder of the Pitstop "
                        "sources, or /usr/include)") from None
    target = os.path.join(lib, "pitstop", "driver", "v1")
    shutil.copytree(os.path.dirname(package.__file__), target, ignore=_IGNORE)
    for part in (os.path.join(lib, "pitstop"), os.path.join(lib, "pitstop", "driver")):
        open(os.path.join(part, "__init__.py"), "a").close()


def stage(root, sources, main, stage_dir, proto_dir=None):
    """Lays the CAR out in `stage_dir` (which must not exist) and returns
    the entrypoint's path in it."""
    module, _, function = main.partition(":")
    if not module or not module.replace(".", "_").isidentifier() or (
            function and not function.isidentifier()):
        raise PackError("--main must be MODULE or MODULE:FUNCTION (got '%s')" % main)
    function = function or "main"
    entrypoint = _entrypoint(root)
    shutil.copytree(root, stage_dir, ignore=_IGNORE)
    lib = os.path.join(stage_dir, "lib")
    os.makedirs(lib, exist_ok=True)
    shutil.copytree(os.path.dirname(os.path.abspath(__file__)),
                    os.path.join(lib, "pitstop_driver"), ignore=_IGNORE)
    if proto_dir:
        try:
            stubs.generate(proto_dir, lib)
        except stubs.StubsError as e:
            raise PackError(str(e)) from None
    else:
        _copy_installed_stubs(lib)
    for source in sources:
        _copy(source, lib)
    launcher = os.path.join(stage_dir, entrypoint)
    os.makedirs(os.path.dirname(launcher), exist_ok=True)
    with open(launcher, "w", encoding="utf-8") as f:
        f.write(_LAUNCHER.format(module=module, function=function))
    os.chmod(launcher, 0o755)
    return launcher


def pack(root, sources, main, output, proto_dir=None, pitstop="pitstop", stage_dir=None):
    """Stages the CAR (in `stage_dir`, replaced, or a temporary directory)
    and packs it into `output`."""
    temporary = stage_dir is None
    if temporary:
        parent = tempfile.mkdtemp(prefix="pitstop-pack-")
        stage_dir = os.path.join(parent, "car")
    elif os.path.exists(stage_dir):
        shutil.rmtree(stage_dir)
    try:
        stage(root, sources, main, stage_dir, proto_dir)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        try:
            result = subprocess.run([pitstop, "car", "pack", stage_dir, "-o", output],
                                    capture_output=True, text=True)
        except OSError as e:
            raise PackError("cannot run %s: %s (install the pitstop package or pass "
                            "--pitstop)" % (pitstop, e.strerror)) from None
        if result.returncode != 0:
            raise PackError("%s car pack failed: %s" % (pitstop, (result.stderr
                                                                   or result.stdout).strip()))
    finally:
        if temporary:
            shutil.rmtree(os.path.dirname(stage_dir), ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m pitstop_driver pack",
                                     description="Packs a Python driver into a CAR.")
    parser.add_argument("--root", required=True,
                        help="the folder holding META-INF/driver.yaml and resources/")
    parser.add_argument("--source", action="append", default=[],
                        help="a module file or package folder of the driver, copied "
                             "into lib/ (repeatable)")
    parser.add_argument("--main", required=True,
                        help="MODULE[:FUNCTION] the entrypoint calls (default FUNCTION main)")
    parser.add_argument("--proto-dir", help="generate the protocol code from this folder "
                        "(holding pitstop/driver/v1/*.proto)")
    parser.add_argument("--pitstop", default="pitstop", help="the pitstop CLI")
    parser.add_argument("--stage", help="stage here (replaced) instead of a temporary folder")
    parser.add_argument("-o", "--output", required=True, help="the CAR to write")
    args = parser.parse_args(argv)
    try:
        pack(args.root, args.source, args.main, args.output, args.proto_dir,
             args.pitstop, args.stage)
    except PackError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
