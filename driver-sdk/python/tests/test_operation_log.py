import os
import signal
import subprocess
import sys
import textwrap
import unittest

import grpc

import support
from pitstop_driver import DriverError, OperationLog, StateDB, invalid_argument
from pitstop_driver import operation_log
from pitstop.driver.v1 import context_pb2, network_pb2

SCHEMA = ["CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY)"]


def context(operation_id, resource_id="n1", resource_type="network"):
    c = context_pb2.CallContext(operation_id=operation_id)
    c.resource.type, c.resource.id = resource_type, resource_id
    return c


class OperationLogTest(unittest.TestCase):

    def setUp(self):
        self.path = os.path.join(support.temp_dir(self), "state.db")
        self.db = StateDB(self.path, SCHEMA)
        self.ops = OperationLog(self.db)
        self.applied = 0

    def create(self, ctx, method="ImplementNetwork", thing="t1"):
        def apply(tx, response):
            self.applied += 1
            tx.execute("INSERT INTO things VALUES (?)", (thing,))
            response.details["n"] = str(self.applied)
        return self.ops.run(ctx, method, network_pb2.ImplementNetworkResponse, apply)

    def things(self):
        with self.db.read() as conn:
            return [t for (t,) in conn.execute("SELECT id FROM things ORDER BY id")]

    def test_an_empty_id_applies_every_time_and_remembers_nothing(self):
        self.create(context(""), thing="a")
        self.create(context(""), thing="b")
        self.assertEqual(self.applied, 2)
        self.assertEqual(len(self.ops), 0)

    def test_the_same_id_for_the_same_method_and_resource_returns_the_first_answer(self):
        first = self.create(context("op-1"))
        self.assertFalse(operation_log.take_replayed())
        again = self.create(context("op-1"))
        self.assertTrue(operation_log.take_replayed())
        self.assertEqual(self.applied, 1)
        self.assertEqual(again, first)
        self.assertEqual(again.details["n"], "1")
        self.assertEqual(self.things(), ["t1"])

    def test_an_id_reused_for_another_method_or_resource_is_refused_and_changes_nothing(self):
        self.create(context("op-1"))
        for ctx, method, named in ((context("op-1"), "DestroyNetwork", "DestroyNetwork"),
                                   (context("op-1", "n2"), "ImplementNetwork", "network/n2"),
                                   (context("op-1", "n1", "vm"), "ImplementNetwork", "vm/n1")):
            with self.subTest(named=named):
                with self.assertRaises(DriverError) as raised:
                    self.create(ctx, method, thing="other")
                self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn("'op-1' was already used for ImplementNetwork on network/n1",
                              raised.exception.message)
                self.assertIn(named, raised.exception.message)
        self.assertEqual(self.things(), ["t1"])
        self.assertEqual(self.applied, 1)

    def test_a_failed_operation_is_forgotten_and_its_changes_rolled_back(self):
        def fail(tx, response):
            tx.execute("INSERT INTO things VALUES ('half-done')")
            raise invalid_argument("bad request")
        with self.assertRaises(DriverError):
            self.ops.run(context("op-1"), "ImplementNetwork",
                         network_pb2.ImplementNetworkResponse, fail)
        self.assertEqual(self.things(), [])
        self.assertIsNone(self.ops.find("op-1"))
        self.create(context("op-1"))  # A retry gets a fresh try.
        self.assertEqual(self.applied, 1)

    def test_remembers_4096_by_default_and_forgets_the_oldest_first(self):
        self.assertEqual(self.ops.capacity, 4096)
        small = OperationLog(self.db, capacity=3)
        for i in range(5):
            small.run(context("op-%d" % i, "n%d" % i), "ImplementNetwork",
                      network_pb2.ImplementNetworkResponse, lambda tx, r: None)
        self.assertEqual(len(small), 3)
        self.assertIsNone(small.find("op-1"))
        self.assertEqual(small.find("op-2"), ("ImplementNetwork", "network", "n2"))

    def test_remembered_operations_survive_kill_9_of_the_process(self):
        child = textwrap.dedent("""
            import os, signal, sys
            sys.path[:0] = %r
            from pitstop_driver import OperationLog, StateDB
            from pitstop.driver.v1 import context_pb2, network_pb2
            db = StateDB(%r, %r)
            ctx = context_pb2.CallContext(operation_id="op-k")
            ctx.resource.type, ctx.resource.id = "network", "n1"
            def apply(tx, response):
                tx.execute("INSERT INTO things VALUES ('from-child')")
                response.details["by"] = "child"
            OperationLog(db).run(ctx, "ImplementNetwork", network_pb2.ImplementNetworkResponse, apply)
            os.kill(os.getpid(), signal.SIGKILL)
        """) % ([support.SDK_DIR, support.GENERATED], self.path, SCHEMA)
        done = subprocess.run([sys.executable, "-c", child], timeout=30)
        self.assertEqual(done.returncode, -signal.SIGKILL)
        reopened = OperationLog(StateDB(self.path, SCHEMA))
        answer = reopened.run(context("op-k"), "ImplementNetwork",
                              network_pb2.ImplementNetworkResponse,
                              lambda tx, r: self.fail("applied twice"))
        self.assertEqual(answer.details["by"], "child")
        self.assertEqual(self.things(), ["from-child"])

    def test_two_processes_sharing_the_database_lose_no_operation(self):
        # As the old and the new version of a driver do during an upgrade.
        child = textwrap.dedent("""
            import sys
            sys.path[:0] = %r
            from pitstop_driver import OperationLog, StateDB
            from pitstop.driver.v1 import context_pb2, network_pb2
            ops = OperationLog(StateDB(%r, %r))
            for i in range(40):
                ctx = context_pb2.CallContext(operation_id="%%s-%%d" %% (sys.argv[1], i))
                ctx.resource.type, ctx.resource.id = "network", ctx.operation_id
                ops.run(ctx, "ImplementNetwork", network_pb2.ImplementNetworkResponse,
                        lambda tx, r: tx.execute("INSERT INTO things VALUES (?)",
                                                 (ctx.operation_id,)))
        """) % ([support.SDK_DIR, support.GENERATED], self.path, SCHEMA)
        children = [subprocess.Popen([sys.executable, "-c", child, name])
                    for name in ("old", "new")]
        self.assertEqual([c.wait(timeout=60) for c in children], [0, 0])
        self.assertEqual(len(self.things()), 80)
        self.assertEqual(len(self.ops), 80)

    def test_a_corrupt_remembered_answer_is_data_loss(self):
        self.create(context("op-1"))
        with self.db.transaction() as tx:
            tx.execute("UPDATE pitstop_operations SET response = x'ff'")
        with self.assertRaises(DriverError) as raised:
            self.create(context("op-1"))
        self.assertEqual(raised.exception.code, grpc.StatusCode.DATA_LOSS)


class StateDBTest(unittest.TestCase):

    def test_a_file_that_is_not_a_database_is_data_loss_naming_it(self):
        path = os.path.join(support.temp_dir(self), "state.db")
        with open(path, "w") as f:
            f.write("not a database, just text that is long enough" * 20)
        with self.assertRaises(DriverError) as raised:
            StateDB(path, SCHEMA)
        self.assertEqual(raised.exception.code, grpc.StatusCode.DATA_LOSS)
        self.assertIn(path, raised.exception.message)

    def test_a_transaction_that_raises_is_rolled_back(self):
        db = StateDB(os.path.join(support.temp_dir(self), "s.db"), SCHEMA)
        with self.assertRaises(ValueError):
            with db.transaction() as tx:
                tx.execute("INSERT INTO things VALUES ('x')")
                raise ValueError("no")
        with db.read() as conn:
            self.assertEqual(conn.execute("SELECT COUNT(*) FROM things").fetchone()[0], 0)


if __name__ == "__main__":
    unittest.main()
