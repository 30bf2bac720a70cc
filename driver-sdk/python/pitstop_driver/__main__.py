"""python3 -m pitstop_driver stubs|pack ...: the SDK's build-time tools."""

import argparse
import sys

from . import pack, stubs


def _stubs(argv):
    parser = argparse.ArgumentParser(prog="python3 -m pitstop_driver stubs",
                                     description="Generates pitstop/driver/v1/*_pb2*.py "
                                     "with protoc and grpc_python_plugin.")
    parser.add_argument("--proto-dir", required=True, help="the folder holding pitstop/driver/v1/")
    parser.add_argument("--out", required=True, help="where pitstop/driver/v1/ is written")
    parser.add_argument("--protoc", default=stubs.PROTOC)
    parser.add_argument("--plugin", default=stubs.GRPC_PYTHON_PLUGIN)
    args = parser.parse_args(argv)
    try:
        stubs.generate(args.proto_dir, args.out, args.protoc, args.plugin)
    except stubs.StubsError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


def main(argv):
    commands = {"stubs": _stubs, "pack": pack.main}
    if not argv or argv[0] not in commands:
        print("usage: python3 -m pitstop_driver {stubs|pack} [--help]", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
