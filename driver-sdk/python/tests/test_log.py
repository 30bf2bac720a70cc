import datetime
import os
import unittest

import grpc

import support  # noqa: F401
from pitstop_driver import log
from pitstop.driver.v1 import context_pb2

NOW = datetime.datetime(2026, 11, 25, 8, 51, 35, 904000, tzinfo=datetime.timezone.utc)


class LogTest(unittest.TestCase):

    def test_a_line_has_timestamp_level_quoted_msg_and_fields(self):
        self.assertEqual(
            log.format_line("warning", 'slow "disk"\nnow', {"volume": "v1", "took_ms": 1200,
                                                            "ok": False, "path": "a b"}, NOW),
            '2026-11-25T08:51:35.904Z level=warning msg="slow \\"disk\\"\\nnow" volume=v1 '
            'took_ms=1200 ok=false path="a b"')

    def test_field_keys_are_cut_to_what_the_daemon_accepts(self):
        line = log.format_line("info", "m", {"bad key!": 1, "k" * 80: 2}, NOW)
        self.assertIn(" bad_key_=1 ", line)
        self.assertIn(" " + "k" * 64 + "=2", line)

    def test_control_characters_never_split_a_line(self):
        self.assertEqual(log.quote("a\x01b\tc\\"), '"a\\x01b\\tc\\\\"')

    def test_log_call_writes_one_line_with_the_call_but_not_the_bag(self):
        read, write = os.pipe()
        old = log.set_output_fd_for_test(write)
        try:
            context = context_pb2.CallContext(operation_id="op-7", caller="mgmt")
            context.resource.type, context.resource.id = "network", "n1"
            context.properties["api_token"].string_value = "s3cret"
            log.log_call("ImplementNetwork", context, replayed=True)
            log.log_call("DestroyNetwork", context, grpc.StatusCode.NOT_FOUND, "no n1")
        finally:
            log.set_output_fd_for_test(old)
            os.close(write)
        with os.fdopen(read) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn('level=info msg="ImplementNetwork: ok (replayed, already done)" '
                      'method=ImplementNetwork resource=network/n1 operation_id=op-7 '
                      'caller=mgmt code=OK replayed=true', lines[0])
        self.assertIn('level=warning msg="DestroyNetwork: NOT_FOUND: no n1"', lines[1])
        self.assertIn("code=NOT_FOUND", lines[1])
        self.assertNotIn("s3cret", "".join(lines))


if __name__ == "__main__":
    unittest.main()
