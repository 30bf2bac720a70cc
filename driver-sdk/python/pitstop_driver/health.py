"""Readiness, and the services that report it: IdentityService.Probe and
grpc.health.v1.Health.

Debian ships no Python module for grpc.health.v1 with python3-grpcio, and
generated code named grpc.health.v1 would shadow the grpc package, so the
two health messages are declared here from their descriptor (the standard
definition: HealthCheckRequest{string service = 1},
HealthCheckResponse{ServingStatus status = 1}) in a private pool.
"""

import threading

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE = "grpc.health.v1.Health"
UNKNOWN, SERVING, NOT_SERVING, SERVICE_UNKNOWN = 0, 1, 2, 3


def _health_messages():
    f = descriptor_pb2.FileDescriptorProto(name="pitstop_driver/grpc_health_v1.proto",
                                           package="grpc.health.v1", syntax="proto3")
    request = f.message_type.add(name="HealthCheckRequest")
    request.field.add(name="service", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    response = f.message_type.add(name="HealthCheckResponse")
    status = response.enum_type.add(name="ServingStatus")
    for name, number in (("UNKNOWN", UNKNOWN), ("SERVING", SERVING),
                         ("NOT_SERVING", NOT_SERVING), ("SERVICE_UNKNOWN", SERVICE_UNKNOWN)):
        status.value.add(name=name, number=number)
    response.field.add(name="status", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_ENUM,
                       type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
                       label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    classes = []
    for name in ("grpc.health.v1.HealthCheckRequest", "grpc.health.v1.HealthCheckResponse"):
        desc = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            classes.append(message_factory.GetMessageClass(desc))
        else:  # protobuf 4.21 (Debian 12)
            classes.append(message_factory.MessageFactory(pool).GetPrototype(desc))
    return classes


HealthCheckRequest, HealthCheckResponse = _health_messages()


class Readiness:
    """Whether the driver is ready, and why not; whether it is stopping.
    Thread-safe; waiters wake on every change."""

    def __init__(self):
        self._cond = threading.Condition()
        self._ready = True
        self._message = ""
        self._stopping = False
        self._version = 0

    def set(self, ready, message=""):
        with self._cond:
            self._ready = bool(ready)
            self._message = "" if ready else str(message)
            self._version += 1
            self._cond.notify_all()

    def stop(self):
        """Ends every Watch stream: the server is going down."""
        with self._cond:
            self._stopping = True
            self._version += 1
            self._cond.notify_all()

    def get(self):
        """(ready, message)."""
        with self._cond:
            return self._ready, self._message

    def wait_change(self, seen_version, timeout):
        """Waits until the version differs from `seen_version` (or the
        timeout); returns (version, ready, stopping)."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != seen_version or self._stopping,
                                timeout)
            return self._version, self._ready, self._stopping


class HealthService:
    """grpc.health.v1.Health: the empty service name (the whole driver) and
    `names` are SERVING while ready, NOT_SERVING otherwise; other names are
    NOT_FOUND for Check and SERVICE_UNKNOWN for Watch."""

    def __init__(self, readiness, names=()):
        self._readiness = readiness
        self._names = {""} | set(names)

    def _status(self, service, ready):
        if service not in self._names:
            return SERVICE_UNKNOWN
        return SERVING if ready else NOT_SERVING

    def check(self, request, context):
        if request.service not in self._names:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          "unknown service '%s'" % request.service)
        ready, _ = self._readiness.get()
        return HealthCheckResponse(status=self._status(request.service, ready))

    def watch(self, request, context):
        version, ready, stopping = self._readiness.wait_change(-1, 0)
        last = None
        while context.is_active() and not stopping:
            status = self._status(request.service, ready)
            if status != last:
                yield HealthCheckResponse(status=status)
                last = status
            version, ready, stopping = self._readiness.wait_change(version, 1.0)

    def handler(self):
        return grpc.method_handlers_generic_handler(SERVICE, {
            "Check": grpc.unary_unary_rpc_method_handler(
                self.check, request_deserializer=HealthCheckRequest.FromString,
                response_serializer=HealthCheckResponse.SerializeToString),
            "Watch": grpc.unary_stream_rpc_method_handler(
                self.watch, request_deserializer=HealthCheckRequest.FromString,
                response_serializer=HealthCheckResponse.SerializeToString),
        })
