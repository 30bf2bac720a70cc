"""A driver process for the SDK's process-level tests: the real
DriverRuntime serving a network service whose VerifyServices, for a
resource id NAME, creates $STATE/NAME.entered and waits for $STATE/NAME.go
(at most 30 s). Run with the SDK and the generated code on sys.path (argv
after the two paths are the runtime's flags)."""

import os
import sys
import time

sys.path[:0] = sys.argv[1:3]
del sys.argv[1:3]

from pitstop_driver import DriverRuntime  # noqa: E402


def main():
    runtime = DriverRuntime.from_args()
    from pitstop.driver.v1 import network_pb2, network_pb2_grpc

    class Service(network_pb2_grpc.NetworkServiceServicer):
        def VerifyServices(self, request, context):
            base = os.path.join(runtime.state_dir, request.context.resource.id)
            open(base + ".entered", "w").close()
            deadline = time.monotonic() + 30
            while not os.path.exists(base + ".go") and time.monotonic() < deadline:
                time.sleep(0.01)
            return network_pb2.VerifyServicesResponse(supported=True)

    return runtime.serve(Service())


if __name__ == "__main__":
    sys.exit(main())
