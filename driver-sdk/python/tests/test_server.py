import os
import socket
import unittest

import grpc

import support
from pitstop_driver import DriverError, health, invalid_argument, manifest
from pitstop_driver.server import DriverServer, ServeError
from pitstop.driver.v1 import (identity_pb2, identity_pb2_grpc, network_pb2, network_pb2_grpc,
                               storage_pb2_grpc)


class Service(network_pb2_grpc.NetworkServiceServicer):
    def VerifyServices(self, request, context):
        if request.services == ["boom"]:
            raise RuntimeError("unexpected")
        if request.services == ["set-code"]:
            context.set_code(grpc.StatusCode.NOT_FOUND)
            context.set_details("set by the servicer")
            return network_pb2.VerifyServicesResponse()
        if request.services == ["abort"]:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "aborted by the servicer")
        if request.services:
            raise invalid_argument("services: %s is unknown" % request.services[0])
        return network_pb2.VerifyServicesResponse(supported=True)


class DriverServerTest(unittest.TestCase):

    def setUp(self):
        self.dir = support.temp_dir(self)
        self.path = os.path.join(self.dir, "driver.sock")
        self.info = manifest.parse(support.MANIFEST)
        self.server = DriverServer(self.info, Service())
        self.server.start(self.path)
        self.addCleanup(self.server.stop, 0)
        self.channel = grpc.insecure_channel("unix:" + self.path)
        self.addCleanup(self.channel.close)
        self.identity = identity_pb2_grpc.IdentityServiceStub(self.channel)
        self.network = network_pb2_grpc.NetworkServiceStub(self.channel)

    def health_check(self, service=""):
        check = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString)
        return check(health.HealthCheckRequest(service=service), timeout=5).status

    def assertStatus(self, code, text, call, request):
        with self.assertRaises(grpc.RpcError) as raised:
            call(request, timeout=5)
        self.assertEqual(raised.exception.code(), code)
        self.assertIn(text, raised.exception.details())

    def test_get_info_answers_what_driver_yaml_says(self):
        info = self.identity.GetInfo(identity_pb2.GetInfoRequest(), timeout=5)
        self.assertEqual((info.name, info.version, info.vendor), ("testnet", "1.2.3",
                                                                  "Test Vendor"))
        self.assertEqual(info.category, identity_pb2.CATEGORY_NETWORK)
        self.assertEqual(list(info.protocol_versions), ["v1"])
        self.assertEqual(list(info.capabilities), ["Connectivity"])

    def test_probe_and_health_follow_readiness(self):
        self.assertTrue(self.identity.Probe(identity_pb2.ProbeRequest(), timeout=5).ready)
        self.assertEqual(self.health_check(), health.SERVING)
        self.server.set_ready(False, "connecting to the fabric")
        probe = self.identity.Probe(identity_pb2.ProbeRequest(), timeout=5)
        self.assertEqual((probe.ready, probe.message), (False, "connecting to the fabric"))
        self.assertEqual(self.health_check("pitstop.driver/testnet"), health.NOT_SERVING)
        self.assertStatus(grpc.StatusCode.NOT_FOUND, "unknown service 'other'",
                          lambda r, timeout: self.health_check("other"), None)

    def test_health_watch_streams_each_change_and_ends_when_the_server_stops(self):
        watch = self.channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString)
        stream = watch(health.HealthCheckRequest(), timeout=10)
        self.assertEqual(next(stream).status, health.SERVING)
        self.server.set_ready(False, "busy")
        self.assertEqual(next(stream).status, health.NOT_SERVING)
        self.server.stop(5)
        self.assertEqual(list(stream), [])

    def test_a_driver_error_becomes_the_status(self):
        self.network.VerifyServices(network_pb2.VerifyServicesRequest(), timeout=5)
        self.assertStatus(grpc.StatusCode.INVALID_ARGUMENT, "services: Lb is unknown",
                          self.network.VerifyServices,
                          network_pb2.VerifyServicesRequest(services=["Lb"]))
        self.assertStatus(grpc.StatusCode.ALREADY_EXISTS, "aborted by the servicer",
                          self.network.VerifyServices,
                          network_pb2.VerifyServicesRequest(services=["abort"]))
        self.assertStatus(grpc.StatusCode.NOT_FOUND, "set by the servicer",
                          self.network.VerifyServices,
                          network_pb2.VerifyServicesRequest(services=["set-code"]))

    def test_an_unexpected_exception_is_internal_without_its_message(self):
        self.assertStatus(grpc.StatusCode.INTERNAL, "VerifyServices failed inside the driver "
                          "(RuntimeError)", self.network.VerifyServices,
                          network_pb2.VerifyServicesRequest(services=["boom"]))

    def test_a_method_the_servicer_does_not_override_is_unimplemented(self):
        self.assertStatus(grpc.StatusCode.UNIMPLEMENTED, "ApplyIps is not implemented",
                          self.network.ApplyIps, network_pb2.ApplyIpsRequest())

    def test_the_socket_is_owner_only(self):
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)


class DriverServerStartTest(unittest.TestCase):

    def test_a_servicer_of_another_category_is_refused(self):
        info = manifest.parse(support.MANIFEST)
        with self.assertRaises(ServeError) as raised:
            DriverServer(info, storage_pb2_grpc.StorageServiceServicer())
        self.assertIn("category 'network': the servicer must subclass", str(raised.exception))

    def test_a_stale_socket_is_replaced_but_another_file_is_refused(self):
        directory = support.temp_dir(self)
        stale = os.path.join(directory, "stale.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(stale)
        s.close()
        server = DriverServer(manifest.parse(support.MANIFEST), Service())
        server.start(stale)
        server.stop(0)
        regular = os.path.join(directory, "file")
        open(regular, "w").close()
        with self.assertRaises(ServeError) as raised:
            DriverServer(manifest.parse(support.MANIFEST), Service()).start(regular)
        self.assertIn("exists and is not a socket", str(raised.exception))

    def test_a_socket_path_too_long_is_refused_naming_the_limit(self):
        with self.assertRaises(ServeError) as raised:
            DriverServer(manifest.parse(support.MANIFEST), Service()).start("/tmp/" + "x" * 120)
        self.assertIn("may be at most 107", str(raised.exception))


class ErrorTest(unittest.TestCase):

    def test_a_driver_error_needs_a_status_code(self):
        with self.assertRaises(TypeError):
            DriverError(3, "no")


if __name__ == "__main__":
    unittest.main()
