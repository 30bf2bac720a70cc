import concurrent.futures
import os
import signal
import subprocess
import sys
import unittest

import grpc

import support
from pitstop_driver import grace_for_stop_timeout
from pitstop.driver.v1 import identity_pb2, identity_pb2_grpc, network_pb2, network_pb2_grpc

FIXTURE = os.path.join(support.HERE, "fixture_driver.py")


class DriverProcess:
    """fixture_driver.py as a child process, with the daemon's environment."""

    def __init__(self, test, *flags, env=None):
        self.dir = support.temp_dir(test)
        self.state = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "driver.sock")
        self.manifest = os.path.join(self.dir, "driver.yaml")
        with open(self.manifest, "w") as f:
            f.write(support.MANIFEST)
        environment = {"PATH": "/usr/bin:/bin", "PITSTOP_SOCKET": self.socket,
                       "PITSTOP_STATE_DIR": self.state}
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, FIXTURE, support.SDK_DIR, support.GENERATED,
             "--manifest", self.manifest] + list(flags),
            env=environment, stderr=subprocess.PIPE, text=True)
        test.addCleanup(self.kill)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stderr.close()

    def channel(self, test):
        support.wait_for(lambda: os.path.exists(self.socket) or self.process.poll() is not None,
                         what="the driver's socket")
        channel = grpc.insecure_channel("unix:" + self.socket)
        test.addCleanup(channel.close)
        return channel


class RuntimeTest(unittest.TestCase):

    def test_serves_on_pitstop_socket_and_answers_ready(self):
        driver = DriverProcess(self)
        identity = identity_pb2_grpc.IdentityServiceStub(driver.channel(self))
        self.assertTrue(identity.Probe(identity_pb2.ProbeRequest(), timeout=10).ready)
        self.assertEqual(identity.GetInfo(identity_pb2.GetInfoRequest(), timeout=5).name,
                         "testnet")

    def test_sigterm_lets_the_call_in_flight_finish_and_exits_0(self):
        driver = DriverProcess(self)
        network = network_pb2_grpc.NetworkServiceStub(driver.channel(self))
        request = network_pb2.VerifyServicesRequest()
        request.context.resource.type, request.context.resource.id = "network", "slow"
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            call = pool.submit(network.VerifyServices, request, timeout=20,
                               wait_for_ready=True)
            entered = os.path.join(driver.state, "slow.entered")
            support.wait_for(lambda: os.path.exists(entered), what="the call to start")
            driver.process.send_signal(signal.SIGTERM)
            support.wait_for(lambda: "stopping" in _peek(driver), timeout=10,
                             what="the driver to log that it is stopping")
            open(os.path.join(driver.state, "slow.go"), "w").close()
            self.assertTrue(call.result(timeout=20).supported)
        self.assertEqual(driver.process.wait(timeout=10), 0)

    def test_a_call_still_running_after_the_grace_period_is_cancelled_and_exit_is_0(self):
        driver = DriverProcess(self)  # timeouts.stop 2s: 1.8s of grace.
        network = network_pb2_grpc.NetworkServiceStub(driver.channel(self))
        request = network_pb2.VerifyServicesRequest()
        request.context.resource.type, request.context.resource.id = "network", "stuck"
        future = network.VerifyServices.future(request, timeout=30, wait_for_ready=True)
        support.wait_for(lambda: os.path.exists(os.path.join(driver.state, "stuck.entered")),
                         what="the call to start")
        driver.process.send_signal(signal.SIGTERM)
        self.assertEqual(driver.process.wait(timeout=2.0 + 1.0), 0)
        with self.assertRaises(grpc.RpcError):
            future.result(timeout=10)

    def test_sigint_stops_like_sigterm(self):
        driver = DriverProcess(self)
        identity = identity_pb2_grpc.IdentityServiceStub(driver.channel(self))
        identity.Probe(identity_pb2.ProbeRequest(), timeout=10, wait_for_ready=True)
        driver.process.send_signal(signal.SIGINT)
        self.assertEqual(driver.process.wait(timeout=10), 0)

    def test_bad_usage_exits_2_naming_the_flag_or_file(self):
        cases = [(["--frobnicate"], {}, "unknown flag '--frobnicate'"),
                 (["--listen", "tcp:1"], {}, "--listen must be unix:PATH"),
                 ([], {"PITSTOP_SOCKET": ""}, "PITSTOP_SOCKET is not set"),
                 (["--manifest", "/nonexistent.yaml"], {}, "cannot read /nonexistent.yaml")]
        for flags, env, message in cases:
            with self.subTest(message=message):
                driver = DriverProcess(self, *flags, env=env)
                self.assertEqual(driver.process.wait(timeout=20), 2)
                self.assertIn(message, driver.process.stderr.read())

    def test_grace_is_the_stop_timeout_minus_a_margin(self):
        self.assertAlmostEqual(grace_for_stop_timeout(5.0), 4.5)
        self.assertAlmostEqual(grace_for_stop_timeout(30.0), 29.0)
        self.assertAlmostEqual(grace_for_stop_timeout(2.0), 1.8)
        self.assertAlmostEqual(grace_for_stop_timeout(0.1), 0.05)


def _peek(driver):
    """The child's log so far (reads what is available without blocking)."""
    import fcntl
    fd = driver.process.stderr.fileno()
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        chunk = os.read(fd, 65536).decode("utf-8", "replace")
    except BlockingIOError:
        chunk = ""
    driver.seen = getattr(driver, "seen", "") + chunk
    return driver.seen


if __name__ == "__main__":
    unittest.main()
