"""DriverError: a failed operation with the gRPC status code the protocol
gives it (docs/protocol.md, "Results and errors")."""

import grpc


class DriverError(Exception):
    """Raise from a servicer method to fail the call with `code` and
    `message`; the SDK turns it into the gRPC status and logs the call.
    The message should say what was wrong and what to do, naming the
    resource or property, and never hold a secret."""

    def __init__(self, code, message):
        if not isinstance(code, grpc.StatusCode):
            raise TypeError("DriverError needs a grpc.StatusCode, got %r" % (code,))
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.code.name, self.message)


def invalid_argument(message):
    return DriverError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message):
    return DriverError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message):
    return DriverError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message):
    return DriverError(grpc.StatusCode.FAILED_PRECONDITION, message)


def resource_exhausted(message):
    return DriverError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)


def unavailable(message):
    return DriverError(grpc.StatusCode.UNAVAILABLE, message)


def unimplemented(message):
    return DriverError(grpc.StatusCode.UNIMPLEMENTED, message)


def require_resource(context, resource_type):
    """The id of the call's resource, checking it is of `resource_type` and
    not empty; INVALID_ARGUMENT saying what to set otherwise."""
    resource = context.resource
    if resource.type != resource_type:
        raise invalid_argument(
            "this operation is keyed on a %s: set context.resource.type to "
            "'%s' (got '%s')" % (resource_type, resource_type, resource.type))
    if not resource.id:
        raise invalid_argument(
            "context.resource.id is empty: name the %s this call is about"
            % resource_type)
    return resource.id
