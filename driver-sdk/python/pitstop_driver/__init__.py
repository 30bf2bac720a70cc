"""pitstop_driver: the Python driver SDK for Pitstop (docs/vendor-guide.md,
"Writing a driver in Python"). Standard library, python3-grpcio and
python3-protobuf only."""

from .errors import (DriverError, already_exists, failed_precondition, invalid_argument,
                     not_found, require_resource, resource_exhausted, unavailable,
                     unimplemented)
from .manifest import DriverInfo, ManifestError, PropertySpec
from .operation_log import OperationLog
from .properties import Properties
from .runtime import DriverRuntime, grace_for_stop_timeout
from .state import StateDB

__all__ = [
    "DriverError", "DriverInfo", "DriverRuntime", "ManifestError", "OperationLog",
    "Properties", "PropertySpec", "StateDB", "already_exists", "failed_precondition",
    "grace_for_stop_timeout", "invalid_argument", "not_found", "require_resource",
    "resource_exhausted", "unavailable", "unimplemented",
]
