"""The generated protocol code (package pitstop.driver.v1): generating it
with protoc and grpc_python_plugin, and importing it with a clear error.

    /usr/bin/python3 -m pitstop_driver stubs --proto-dir proto --out gen
"""

import glob
import importlib
import os
import subprocess

PROTOC = "protoc"
GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"
# The category of driver.yaml -> (module, service name).
CATEGORY_SERVICES = {
    "network": ("network", "NetworkService"),
    "storage": ("storage", "StorageService"),
    "hypervisor": ("hypervisor", "HypervisorService"),
}


class StubsError(RuntimeError):
    """The generated code is missing or cannot be generated."""


def generate(proto_dir, out_dir, protoc=PROTOC, plugin=GRPC_PYTHON_PLUGIN):
    """Writes pitstop/driver/v1/*_pb2.py and *_pb2_grpc.py for every
    proto_dir/pitstop/driver/v1/*.proto into out_dir, with the __init__.py
    files that make them a package. Returns out_dir."""
    protos = sorted(glob.glob(os.path.join(proto_dir, "pitstop", "driver", "v1", "*.proto")))
    if not protos:
        raise StubsError("no pitstop/driver/v1/*.proto under %s: pass the proto/ "
                         "folder of the Pitstop sources (or /usr/include)" % proto_dir)
    os.makedirs(out_dir, exist_ok=True)
    command = [protoc, "-I", proto_dir, "--python_out", out_dir, "--grpc_python_out",
               out_dir, "--plugin=protoc-gen-grpc_python=" + plugin] + protos
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise StubsError("cannot run %s: %s (install protobuf-compiler and "
                         "protobuf-compiler-grpc)" % (protoc, e.strerror)) from None
    if result.returncode != 0:
        raise StubsError("%s failed (%d): %s" % (" ".join(command[:1] + protos),
                                                 result.returncode, result.stderr.strip()))
    package = out_dir
    for part in ("pitstop", "driver", "v1"):
        package = os.path.join(package, part)
        open(os.path.join(package, "__init__.py"), "a").close()
    return out_dir


def load(module):
    """pitstop.driver.v1.<module>, e.g. load("identity_pb2_grpc")."""
    try:
        return importlib.import_module("pitstop.driver.v1." + module)
    except ImportError as e:
        raise StubsError(
            "the generated protocol code pitstop.driver.v1.%s is not importable (%s): "
            "a CAR packed with pitstop_driver.pack ships it in lib/; elsewhere generate "
            "it with python3 -m pitstop_driver stubs --proto-dir proto --out DIR and put "
            "DIR on sys.path" % (module, e)) from None

