"""StateDB: a driver's persisted state as one SQLite database (the standard
library's sqlite3) in its state directory.

Every change runs in a transaction that takes SQLite's write lock first
(BEGIN IMMEDIATE), so the old and the new process of a driver sharing the
state directory during an upgrade never lose each other's updates; a
committed transaction survives kill -9 of the process (synchronous=FULL).

    db = StateDB(os.path.join(runtime.state_dir, "mydriver.db"),
                 schema=["CREATE TABLE IF NOT EXISTS volumes (id TEXT PRIMARY KEY, size INTEGER)"])
    with db.transaction() as tx:
        tx.execute("INSERT INTO volumes VALUES (?, ?)", ("v1", 10))
    with db.read() as conn:
        rows = conn.execute("SELECT id FROM volumes").fetchall()
"""

import contextlib
import os
import sqlite3

import grpc

from .errors import DriverError

# How long a transaction waits for the other process's write lock.
BUSY_TIMEOUT_SECONDS = 10.0


class StateDB:
    """Thread-safe: each transaction opens its own connection."""

    def __init__(self, path, schema=()):
        """Opens (creating if missing) the database at `path` and runs each
        statement of `schema` (CREATE TABLE IF NOT EXISTS ...) in one
        transaction. DriverError DATA_LOSS naming the file if it is not a
        database."""
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise DriverError(grpc.StatusCode.FAILED_PRECONDITION,
                              "state directory %s does not exist" % directory)
        try:
            with self.transaction() as tx:
                for statement in schema:
                    tx.execute(statement)
        except sqlite3.DatabaseError as e:
            raise DriverError(grpc.StatusCode.DATA_LOSS,
                              "state database %s is unusable: %s" % (path, e)) from None

    def _connect(self):
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS,
                               isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextlib.contextmanager
    def transaction(self):
        """A connection inside BEGIN IMMEDIATE: committed when the block
        ends, rolled back when it raises (the exception goes on)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextlib.contextmanager
    def read(self):
        """A connection for reads that see one consistent snapshot."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()
