"""DriverServer: the gRPC half of a driver, without process concerns (flags,
signals): DriverRuntime uses it, tests start and stop it directly.

On one Unix socket it serves IdentityService (GetInfo from driver.yaml,
Probe from the readiness), grpc.health.v1.Health, and the driver's category
service. Every call of the category service is logged on one line, and a
DriverError raised by the servicer becomes the call's status; a method the
servicer leaves to the generated base class answers UNIMPLEMENTED.
"""

import concurrent.futures
import os
import stat
import threading
import traceback

import grpc

from . import health, log, operation_log, stubs
from .errors import DriverError

# Python's sockaddr_un holds 108 bytes with the terminating NUL.
MAX_SOCKET_PATH = 107
_CATEGORY_CODES = {"network": 1, "storage": 2, "hypervisor": 3}


class ServeError(RuntimeError):
    """The server cannot start: the message says why and what to do."""


def category_servicer_base(category):
    """The generated Servicer base class of `category`'s service."""
    module, service = stubs.CATEGORY_SERVICES[category]
    return getattr(stubs.load(module + "_pb2_grpc"), service + "Servicer")


def _add_function(category):
    module, service = stubs.CATEGORY_SERVICES[category]
    return getattr(stubs.load(module + "_pb2_grpc"), "add_%sServicer_to_server" % service)


class _Identity:
    def __init__(self, info, readiness):
        self._pb = stubs.load("identity_pb2")
        self._info = info
        self._readiness = readiness

    def GetInfo(self, request, context):
        i = self._info
        return self._pb.GetInfoResponse(
            name=i.name, version=i.version, category=_CATEGORY_CODES[i.category],
            protocol_versions=i.protocol_versions, capabilities=i.capabilities,
            vendor=i.vendor)

    def Probe(self, request, context):
        ready, message = self._readiness.get()
        return self._pb.ProbeResponse(ready=ready, message=message)


class _CallLogger(grpc.ServerInterceptor):
    """Wraps the unary calls of the category service: logs each, turns a
    DriverError into its status and an unexpected exception into INTERNAL."""

    def __init__(self, service_prefix):
        self._prefix = service_prefix  # e.g. "/pitstop.driver.v1.NetworkService/"
        self._lock = threading.Lock()
        self._in_flight = 0

    def in_flight(self):
        with self._lock:
            return self._in_flight

    def _count(self, delta):
        with self._lock:
            self._in_flight += delta

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(self._prefix) or not handler.unary_unary:
            return handler
        name = method[len(self._prefix):]
        inner = handler.unary_unary

        def behaviour(request, context):
            self._count(1)
            try:
                return run(request, context)
            finally:
                self._count(-1)

        def run(request, context):
            call_context = getattr(request, "context", None)
            operation_log.take_replayed()
            try:
                response = inner(request, context)
            except DriverError as e:
                log.log_call(name, call_context, e.code, e.message)
                context.abort(e.code, e.message)
            except NotImplementedError:
                message = "%s is not implemented by this driver" % name
                log.log_call(name, call_context, grpc.StatusCode.UNIMPLEMENTED, message)
                context.abort(grpc.StatusCode.UNIMPLEMENTED, message)
            except Exception as e:  # noqa: BLE001 - reported as INTERNAL, logged
                aborted = _aborted_code(context)
                if aborted is not None:  # The servicer called context.abort().
                    log.log_call(name, call_context, aborted, _details(context))
                    raise
                log.error("%s failed: %s: %s" % (name, type(e).__name__, e),
                          method=name, traceback=traceback.format_exc())
                context.abort(grpc.StatusCode.INTERNAL,
                              "%s failed inside the driver (%s); the driver's log has "
                              "the details" % (name, type(e).__name__))
            set_code = _aborted_code(context)  # context.set_code() without abort()
            if set_code is not None:
                log.log_call(name, call_context, set_code, _details(context))
            else:
                log.log_call(name, call_context, replayed=operation_log.take_replayed())
            return response

        return grpc.unary_unary_rpc_method_handler(
            behaviour, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


def _aborted_code(context):
    """The code the servicer set (e.g. with context.abort()), or None."""
    code = context.code() if hasattr(context, "code") else None
    return None if code in (None, grpc.StatusCode.OK) else code


def _details(context):
    details = context.details() if hasattr(context, "details") else ""
    return details.decode("utf-8", "replace") if isinstance(details, bytes) else details or ""


def _prepare_socket_path(path):
    if not path or not os.path.isabs(path):
        raise ServeError("the socket path must be absolute (got '%s')" % path)
    if len(path.encode()) > MAX_SOCKET_PATH:
        raise ServeError("socket path %s is %d bytes long; a Unix socket path may be "
                         "at most %d: use a shorter path"
                         % (path, len(path.encode()), MAX_SOCKET_PATH))
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ServeError("%s exists and is not a socket: remove it or pick another path"
                         % path)
    os.unlink(path)  # A stale socket of an earlier run.


class DriverServer:
    """Start and stop once each, in that order. set_ready is thread-safe."""

    def __init__(self, info, servicer, readiness=None, max_workers=16):
        """`servicer`: an instance of the generated Servicer class of
        info.category's service (e.g. NetworkServiceServicer); `readiness`
        a health.Readiness to share (default: a new one, ready)."""
        base = category_servicer_base(info.category)
        if not isinstance(servicer, base):
            raise ServeError("driver.yaml says category '%s': the servicer must subclass "
                             "%s.%s (got %s)" % (info.category, base.__module__,
                                                 base.__name__, type(servicer).__name__))
        self.info = info
        self.readiness = readiness or health.Readiness()
        self._servicer = servicer
        self._max_workers = max_workers
        self._server = None
        self._calls = None
        self.socket_path = None

    def set_ready(self, ready, message=""):
        """Readiness for Probe and health; `message` says why not ready."""
        self.readiness.set(ready, message)

    def start(self, socket_path):
        """Serves on unix:socket_path and returns at once. A stale socket
        file there is removed first; the socket is made owner-only."""
        _prepare_socket_path(socket_path)
        _, service = stubs.CATEGORY_SERVICES[self.info.category]
        self._calls = _CallLogger("/pitstop.driver.v1.%s/" % service)
        server = grpc.server(
            concurrent.futures.ThreadPoolExecutor(max_workers=self._max_workers,
                                                  thread_name_prefix="pitstop-call"),
            interceptors=[self._calls],
            options=[("grpc.so_reuseport", 0)])
        stubs.load("identity_pb2_grpc").add_IdentityServiceServicer_to_server(
            _Identity(self.info, self.readiness), server)
        server.add_generic_rpc_handlers(
            (health.HealthService(self.readiness, ["pitstop.driver/" + self.info.name]).handler(),))
        _add_function(self.info.category)(self._servicer, server)
        try:
            bound = server.add_insecure_port("unix:" + socket_path)
        except RuntimeError as e:
            raise ServeError("cannot listen on unix:%s: %s" % (socket_path, e)) from None
        if not bound:
            raise ServeError("cannot listen on unix:%s (is its directory writable?)"
                             % socket_path)
        server.start()
        try:
            os.chmod(socket_path, 0o600)
        except OSError as e:
            server.stop(None)
            raise ServeError("cannot make %s owner-only: %s" % (socket_path, e.strerror)) from None
        self._server = server
        self.socket_path = socket_path

    def calls_in_flight(self):
        """Category-service calls whose servicer method has not returned."""
        return self._calls.in_flight() if self._calls else 0

    def stop(self, grace):
        """Stops accepting calls, lets calls in flight finish for up to
        `grace` seconds, cancels the rest, and returns once stopped; removes
        the socket file when it can. A cancelled call's servicer method
        may still be running (Python cannot stop a thread): see
        calls_in_flight()."""
        if self._server is None:
            return
        self.readiness.stop()  # Ends health Watch streams, which never finish on their own.
        self._server.stop(grace).wait()
        self._server = None
        try:
            os.unlink(self.socket_path)
        except OSError:
            pass  # The daemon's socket directory is not ours to change.
