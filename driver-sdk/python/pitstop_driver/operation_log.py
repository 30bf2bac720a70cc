"""OperationLog: idempotency by operation id, exactly as docs/protocol.md
("Operation ids: the contract") states it, kept in the driver's StateDB so
that an operation's effect and its remembered response are one write.

    ops = OperationLog(db)

    def ImplementNetwork(self, request, context):
        def apply(tx, response):             # tx: the transaction's sqlite3 connection
            tx.execute("INSERT INTO networks ...")
            response.details["vlan"] = "100"
        return ops.run(request.context, "ImplementNetwork",
                       pb.ImplementNetworkResponse, apply)

The rule, for every mutating operation:
1. an empty operation id: apply, remember nothing;
2. a new id: apply; if apply returns, remember the id with the method, the
   resource (type and id) and the response in the same transaction as
   apply's changes; if apply raises, the whole transaction is rolled back
   and nothing is remembered, so a retry with that id gets a fresh try;
3. an id remembered for the same method and resource: apply nothing,
   return the remembered response (OK);
4. an id remembered for another method or resource: INVALID_ARGUMENT naming
   both, nothing changed;
5. the last `capacity` (4096) completed operations are remembered; the
   oldest are forgotten first.
"""

import threading

import grpc

from .errors import DriverError, invalid_argument

DEFAULT_CAPACITY = 4096
TABLE = "pitstop_operations"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS %s ("
    " operation_id TEXT PRIMARY KEY,"
    " method TEXT NOT NULL,"
    " resource_type TEXT NOT NULL,"
    " resource_id TEXT NOT NULL,"
    " response BLOB NOT NULL,"
    " sequence INTEGER NOT NULL UNIQUE)" % TABLE,
)

_replayed = threading.local()


def last_call_replayed():
    """Whether the last run() on this thread replayed a remembered response
    (the SDK's call log says so); cleared by take_replayed()."""
    return getattr(_replayed, "value", False)


def take_replayed():
    value = last_call_replayed()
    _replayed.value = False
    return value


def _describe(method, resource_type, resource_id):
    if not resource_type and not resource_id:
        return method
    return "%s on %s/%s" % (method, resource_type, resource_id)


class OperationLog:
    """Thread-safe and safe across processes sharing the database: each
    run() is one StateDB transaction."""

    def __init__(self, db, capacity=DEFAULT_CAPACITY):
        self.db = db
        self.capacity = max(1, int(capacity))
        with db.transaction() as tx:
            for statement in _SCHEMA:
                tx.execute(statement)

    def run(self, context, method, response_type, apply):
        """Runs `apply(tx, response)` at most once per operation id of
        `context` (a CallContext) and returns the response: a new
        `response_type()` filled in by apply, or the remembered one."""
        _replayed.value = False
        operation_id = context.operation_id
        resource = context.resource
        with self.db.transaction() as tx:
            if operation_id:
                row = tx.execute(
                    "SELECT method, resource_type, resource_id, response FROM %s "
                    "WHERE operation_id = ?" % TABLE, (operation_id,)).fetchone()
                if row is not None:
                    return self._replay(row, operation_id, method, resource, response_type)
            response = response_type()
            apply(tx, response)
            if operation_id:
                self._remember(tx, operation_id, method, resource,
                               response.SerializeToString())
            return response

    def _replay(self, row, operation_id, method, resource, response_type):
        done_method, done_type, done_id, blob = row
        if (done_method, done_type, done_id) != (method, resource.type, resource.id):
            raise invalid_argument(
                "operation id '%s' was already used for %s (this call is %s); give "
                "each new operation a new operation id"
                % (operation_id, _describe(done_method, done_type, done_id),
                   _describe(method, resource.type, resource.id)))
        response = response_type()
        try:
            response.ParseFromString(blob)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError and friends
            raise DriverError(grpc.StatusCode.DATA_LOSS,
                              "the remembered result of operation '%s' is corrupt; "
                              "retry with a new operation id" % operation_id) from None
        _replayed.value = True
        return response

    def _remember(self, tx, operation_id, method, resource, blob):
        (newest,) = tx.execute("SELECT COALESCE(MAX(sequence), 0) FROM %s"
                               % TABLE).fetchone()
        tx.execute("INSERT INTO %s (operation_id, method, resource_type, resource_id,"
                   " response, sequence) VALUES (?, ?, ?, ?, ?, ?)" % TABLE,
                   (operation_id, method, resource.type, resource.id, blob, newest + 1))
        tx.execute("DELETE FROM %s WHERE sequence <= ?" % TABLE,
                   (newest + 1 - self.capacity,))

    def find(self, operation_id):
        """(method, resource_type, resource_id) remembered for the id, or None."""
        with self.db.read() as conn:
            row = conn.execute("SELECT method, resource_type, resource_id FROM %s "
                               "WHERE operation_id = ?" % TABLE,
                               (operation_id,)).fetchone()
        return row

    def __len__(self):
        with self.db.read() as conn:
            return conn.execute("SELECT COUNT(*) FROM %s" % TABLE).fetchone()[0]
