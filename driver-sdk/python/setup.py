"""Builds the package with the protocol code (pitstop.driver.v1) generated
from ../../proto (or $PITSTOP_PROTO_DIR) by protoc and grpc_python_plugin;
the metadata is in pyproject.toml."""

import importlib.util
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithProtocolCode(build_py):
    def run(self):
        super().run()
        spec = importlib.util.spec_from_file_location(
            "pitstop_driver_stubs", os.path.join(HERE, "pitstop_driver", "stubs.py"))
        stubs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(stubs)
        proto_dir = os.environ.get("PITSTOP_PROTO_DIR") or os.path.join(HERE, "..", "..", "proto")
        stubs.generate(proto_dir, self.build_lib)


setup(cmdclass={"build_py": BuildWithProtocolCode})
