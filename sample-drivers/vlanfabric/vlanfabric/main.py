"""The vlanfabric driver process: the SDK's runtime serving VlanFabricService."""

import sys

from pitstop_driver import DriverError, DriverRuntime, log


def main():
    runtime = DriverRuntime.from_args()  # First: flags, environment, SIGTERM handling.
    from .service import VlanFabricService  # After: needs the generated protocol code.
    try:
        service = VlanFabricService(runtime.state_dir, runtime.info.properties)
    except DriverError as e:
        log.error("vlanfabric cannot open its state in %s: %s" % (runtime.state_dir, e.message))
        return 1
    return runtime.serve(service)


if __name__ == "__main__":
    sys.exit(main())
