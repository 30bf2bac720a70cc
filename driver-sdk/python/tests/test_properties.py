import datetime
import decimal
import unittest

import grpc

import support
from pitstop_driver import DriverError, Properties, manifest
from pitstop.driver.v1 import context_pb2

SCHEMA = manifest.parse(support.MANIFEST).properties
UTC = datetime.timezone.utc


def bag(**values):
    context = context_pb2.CallContext()
    for key, (kind, value) in values.items():
        setattr(context.properties[key], kind, value)
    return context


class PropertiesTest(unittest.TestCase):

    def assertFails(self, code, text, fn, *args):
        with self.assertRaises(DriverError) as raised:
            fn(*args)
        self.assertEqual(raised.exception.code, code)
        self.assertIn(text, raised.exception.message)

    def test_reads_each_type(self):
        p = Properties(bag(host=("string_value", "h1"), port=("number_value", "1.5e3"),
                           verbose=("bool_value", False),
                           since=("date_value", "2026-01-31T14:00:00+02:00")), SCHEMA)
        self.assertEqual(p.get_string("host"), "h1")
        self.assertEqual(p.get_integer("port"), 1500)
        self.assertEqual(p.get_number("port"), 1500.0)
        self.assertEqual(p.get_decimal("port"), decimal.Decimal("1.5e3"))
        self.assertIs(p.get_bool("verbose"), False)
        self.assertEqual(p.get_date("since"), datetime.datetime(2026, 1, 31, 12, tzinfo=UTC))

    def test_an_absent_key_takes_the_argument_then_the_schema_default(self):
        p = Properties(bag(), SCHEMA)
        self.assertEqual(p.get_integer("port", 1), 1)
        self.assertEqual(p.get_integer("port"), 8443)
        self.assertIs(p.get_bool("verbose"), True)
        self.assertEqual(p.get_date("since"), datetime.datetime(2026, 1, 31, tzinfo=UTC))
        self.assertFalse(p.has("port"))

    def test_an_absent_key_without_a_default_is_invalid_argument_naming_it(self):
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT, "property 'host' is not set",
                         Properties(bag(), SCHEMA).get_string, "host")

    def test_a_value_of_another_type_is_refused_even_with_a_fallback(self):
        p = Properties(bag(port=("string_value", "8443")), SCHEMA)
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT,
                         "property 'port' is a string, not a number", p.get_integer, "port", 1)

    def test_an_accessor_of_another_type_than_the_schema_declares_is_refused(self):
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT,
                         "property 'port' is declared a number in driver.yaml, not a string",
                         Properties(bag(), SCHEMA).get_string, "port")

    def test_integers_are_exact(self):
        def value(text):
            return Properties(bag(n=("number_value", text))).get_integer("n")
        self.assertEqual(value("1.0"), 1)
        self.assertEqual(value("-2.50e2"), -250)
        self.assertEqual(value("9223372036854775807"), (1 << 63) - 1)
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT, "must be a whole number", value, "1.5")
        self.assertFails(grpc.StatusCode.OUT_OF_RANGE, "out of range", value, "1e30")
        self.assertFails(grpc.StatusCode.OUT_OF_RANGE, "out of range", value,
                         "9223372036854775808")
        self.assertFails(grpc.StatusCode.OUT_OF_RANGE, "out of range", value, "1e999999999")

    def test_malformed_number_and_date_text_is_quoted_in_the_error(self):
        p = Properties(bag(n=("number_value", "+1"), d=("date_value", "2026-02-29"),
                           t=("date_value", "2026-01-31T12:00:00")))
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT, "property 'n' is not a number: '+1'",
                         p.get_number, "n")
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT, "property 'd' is not a date",
                         p.get_date, "d")
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT, "with an offset", p.get_date, "t")

    def test_nanosecond_fractions_are_read(self):
        p = Properties(bag(t=("date_value", "2026-01-31T12:00:00.123456789Z")))
        self.assertEqual(p.get_date("t").microsecond, 123456)

    def test_require_strings_names_the_missing_or_empty_one_but_never_a_value(self):
        p = Properties(bag(host=("string_value", "h"), token=("string_value", "")))
        p.require_strings(["host"], "needed")
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT,
                         "property 'user' is not set: to log in", p.require_strings,
                         ["host", "user"], "to log in")
        self.assertFails(grpc.StatusCode.INVALID_ARGUMENT, "property 'token' is empty",
                         p.require_strings, ["token"], "x")


if __name__ == "__main__":
    unittest.main()
