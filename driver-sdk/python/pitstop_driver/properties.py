"""Typed read access to a call's property bag (CallContext.properties), so
that no driver parses number or date text itself.

    props = Properties(request.context, runtime.info.properties)
    vip = props.get_string("management_vip")
    first = props.get_integer("vlan_range_start")   # the schema's default if absent

Under the daemon the bag has been checked against driver.yaml and defaults
filled in, so every declared property with a value or a default is present in
its declared type. Run standalone, a driver may see anything, so every
accessor checks:

- a present value of another type is INVALID_ARGUMENT, e.g. "property 'mtu'
  is a string, not a number"; a fallback never hides a bad bag;
- an absent key takes, in order, the `default` argument, the schema's
  default from driver.yaml, else INVALID_ARGUMENT "property 'k' is not set"
  (the protocol's code for a bad bag; the C++ SDK says NOT_FOUND);
- malformed number or date text is INVALID_ARGUMENT. Messages quote number
  and date text but never a string value, which may be a secret.
"""

import datetime
import decimal
import re

import grpc

from .errors import DriverError, invalid_argument

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_DATE_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|[-+][0-9]{2}:[0-9]{2})\Z")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

_MISSING = object()

# PropertyValue's oneof field -> the schema's type name.
_KINDS = {"string_value": "string", "number_value": "number",
          "bool_value": "boolean", "date_value": "date"}


def parse_number(key, text):
    """The exact decimal.Decimal of number text; INVALID_ARGUMENT naming
    `key` for text that is not a protocol number ("1.5e3", "-2")."""
    if not _NUMBER.match(text):
        raise invalid_argument("property '%s' is not a number: '%s' (write digits, "
                               "an optional fraction and exponent, e.g. 1500 or "
                               "1.5e3)" % (key, text))
    return decimal.Decimal(text)


def parse_date(key, text):
    """An aware UTC datetime: a date is midnight UTC; a date-time needs
    seconds and an offset. INVALID_ARGUMENT naming `key` otherwise."""
    match = _DATE.match(text)
    try:
        if match:
            return datetime.datetime(int(match.group(1)), int(match.group(2)),
                                     int(match.group(3)), tzinfo=datetime.timezone.utc)
        match = _DATE_TIME.match(text)
        if match:
            day, clock, fraction, offset = match.groups()
            fraction = ("." + (fraction + "000000")[:6]) if fraction else ""
            offset = "+00:00" if offset == "Z" else offset
            parsed = datetime.datetime.fromisoformat(day + "T" + clock + fraction + offset)
            return parsed.astimezone(datetime.timezone.utc)
    except ValueError:
        pass
    raise invalid_argument("property '%s' is not a date: '%s' (write 2026-01-31 or "
                           "2026-01-31T12:00:00Z, with an offset)" % (key, text))


class Properties:
    """A read-only view of a property bag. `source` is a CallContext or its
    `properties` map; `schema` the DriverInfo's `properties` (key ->
    PropertySpec), for defaults and declared types, or None."""

    def __init__(self, source, schema=None):
        self._bag = source.properties if hasattr(source, "properties") else source
        self._schema = schema or {}

    def has(self, key):
        """Whether the bag holds a value for `key`, of any type."""
        return key in self._bag and self._bag[key].WhichOneof("value") is not None

    def _raw(self, key, kind, default):
        """The text (or bool) of `key` as a `kind` value."""
        if self.has(key):
            value = self._bag[key]
            field = value.WhichOneof("value")
            if _KINDS[field] != kind:
                raise invalid_argument("property '%s' is a %s, not a %s"
                                       % (key, _KINDS[field], kind))
            return getattr(value, field), False
        if default is not _MISSING:
            return default, True
        spec = self._schema.get(key)
        if spec is not None and spec.default is not None:
            if spec.type != kind:
                raise invalid_argument("property '%s' is declared a %s in driver.yaml, "
                                       "not a %s" % (key, spec.type, kind))
            if kind == "boolean":
                return spec.default == "true", False
            return spec.default, False
        raise invalid_argument("property '%s' is not set: add it to the property bag"
                               % key)

    def get_string(self, key, default=_MISSING):
        value, _ = self._raw(key, "string", default)
        return value

    def get_bool(self, key, default=_MISSING):
        value, _ = self._raw(key, "boolean", default)
        return value

    def get_decimal(self, key, default=_MISSING):
        """The exact decimal.Decimal of a number (for money and such)."""
        value, is_fallback = self._raw(key, "number", default)
        return value if is_fallback else parse_number(key, value)

    def get_number(self, key, default=_MISSING):
        """A number as the nearest float; OUT_OF_RANGE beyond a float's range."""
        value, is_fallback = self._raw(key, "number", default)
        if is_fallback:
            return value
        number = float(parse_number(key, value))
        if number in (float("inf"), float("-inf")):
            raise DriverError(grpc.StatusCode.OUT_OF_RANGE,
                              "property '%s' is out of range: '%s'" % (key, value))
        return number

    def get_integer(self, key, default=_MISSING):
        """A number that is exactly a whole int64: "1e3" and "1.0" are fine,
        "1.5" INVALID_ARGUMENT, "1e30" OUT_OF_RANGE."""
        value, is_fallback = self._raw(key, "number", default)
        if is_fallback:
            return value
        number = parse_number(key, value)
        if number.adjusted() > 18:  # Before int(): "1e999999" stays cheap.
            raise DriverError(grpc.StatusCode.OUT_OF_RANGE,
                              "property '%s' is out of range for an integer: '%s'"
                              % (key, value))
        if number != number.to_integral_value():
            raise invalid_argument("property '%s' must be a whole number (got '%s')"
                                   % (key, value))
        whole = int(number)
        if not _INT64_MIN <= whole <= _INT64_MAX:
            raise DriverError(grpc.StatusCode.OUT_OF_RANGE,
                              "property '%s' is out of range for an integer: '%s'"
                              % (key, value))
        return whole

    def get_date(self, key, default=_MISSING):
        """A date as an aware UTC datetime (a plain date is midnight UTC)."""
        value, is_fallback = self._raw(key, "date", default)
        return value if is_fallback else parse_date(key, value)

    def require_strings(self, keys, why):
        """Checks that every key is a non-empty string: the usual test for
        the properties naming the backend. INVALID_ARGUMENT naming the first
        missing or empty one, with `why` for a missing one."""
        for key in keys:
            if not self.has(key):
                raise invalid_argument("property '%s' is not set: %s" % (key, why))
            if not self.get_string(key):
                raise invalid_argument("property '%s' is empty" % key)
