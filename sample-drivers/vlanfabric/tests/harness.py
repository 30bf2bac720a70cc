"""Vlanfabric's tests: the SDK (from this checkout) and freshly generated
protocol code on sys.path, and a real DriverServer serving the service on a
temporary socket."""

import atexit
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(DRIVER_DIR))
sys.path[:0] = [DRIVER_DIR, os.path.join(REPO, "driver-sdk", "python")]

from pitstop_driver import log, manifest, stubs  # noqa: E402

_generated = tempfile.mkdtemp(prefix="vlanfabric-test-stubs-")
atexit.register(shutil.rmtree, _generated, True)
stubs.generate(os.environ.get("PITSTOP_PROTO_DIR", os.path.join(REPO, "proto")), _generated)
sys.path.insert(0, _generated)
if not os.environ.get("PITSTOP_TEST_LOG"):
    log.set_output_fd_for_test(os.open(os.devnull, os.O_WRONLY))

import grpc  # noqa: E402

from pitstop_driver.server import DriverServer  # noqa: E402
from pitstop.driver.v1 import network_pb2_grpc  # noqa: E402
from vlanfabric.service import VlanFabricService  # noqa: E402

INFO = manifest.load(os.path.join(DRIVER_DIR, "car", "META-INF", "driver.yaml"))


class Fabric:
    """The service behind a real server; `restart()` starts a new service
    and server on the same state directory, as a new process would."""

    def __init__(self, test, clock=None):
        self.dir = tempfile.mkdtemp(prefix="vf-", dir="/tmp")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state)
        self.clock = clock
        self.server = None
        self.channel = None
        test.addCleanup(self.close)
        self.restart()

    def restart(self):
        self.close()
        self.service = VlanFabricService(self.state, INFO.properties, self.clock)
        self.server = DriverServer(INFO, self.service)
        socket_path = os.path.join(self.dir, "driver.sock")
        self.server.start(socket_path)
        self.channel = grpc.insecure_channel("unix:" + socket_path)
        self.stub = network_pb2_grpc.NetworkServiceStub(self.channel)

    def close(self):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.server is not None:
            self.server.stop(0)
            self.server = None
