"""The part of META-INF/driver.yaml a running driver needs about itself:
what IdentityService.GetInfo answers, how long a graceful stop may take, and
the property schema (types and defaults) for typed property access. The
daemon has validated the whole file before starting the driver; this reader
checks what it uses and names the file and line otherwise."""

import re

from . import yamlish

CATEGORIES = ("network", "storage", "hypervisor")
PROPERTY_TYPES = ("string", "number", "boolean", "date")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ManifestError(ValueError):
    """driver.yaml cannot be read or lacks what the driver needs."""


class PropertySpec:
    """One entry of driver.yaml's `properties`."""

    __slots__ = ("key", "type", "required", "secret", "default")

    def __init__(self, key, type_, required=False, secret=False, default=None):
        self.key = key
        self.type = type_
        self.required = required
        self.secret = secret
        self.default = default  # The default's text, or None.

    def __repr__(self):
        return "PropertySpec(%r, %r)" % (self.key, self.type)


class DriverInfo:
    """Who the driver is, from driver.yaml."""

    def __init__(self, name, version, category, vendor="", protocol_versions=("v1",),
                 capabilities=(), stop_timeout=5.0, properties=()):
        self.name = name
        self.version = version
        self.category = category  # "network", "storage" or "hypervisor".
        self.vendor = vendor
        self.protocol_versions = list(protocol_versions)
        self.capabilities = list(capabilities)
        self.stop_timeout = stop_timeout  # Seconds, from timeouts.stop.
        self.properties = {p.key: p for p in properties}


def parse_duration(text):
    """Seconds in a duration such as "5s", "500ms", "1m30s"; None if bad."""
    text = str(text).strip()
    if not text:
        return None
    total, pos = 0.0, 0
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if not match:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total


def _line_of(text, key):
    """The line on which a top-level `key:` appears, for error messages."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(key + ":"):
            return number
    return 0


def parse(text, source="driver.yaml"):
    """A DriverInfo from driver.yaml text; ManifestError naming `source`
    and the line for what is missing or wrong."""
    try:
        doc = yamlish.loads(text, source)
    except yamlish.YamlError as e:
        raise ManifestError(str(e)) from None
    if not isinstance(doc, dict):
        raise ManifestError("%s: expected a mapping of keys (name:, version:, ...)"
                            % source)

    def where(key):
        line = _line_of(text, key)
        return "%s:%d" % (source, line) if line else source

    def required_string(key):
        value = doc.get(key)
        if not isinstance(value, str) or not value:
            raise ManifestError("%s: '%s' is required and must be a non-empty "
                                "string" % (where(key), key))
        return value

    def string_list(key, default):
        value = doc.get(key, default)
        if isinstance(value, str) and value == "":
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ManifestError("%s: '%s' must be a list, e.g. [v1]" % (where(key), key))
        return value

    name = required_string("name")
    version = required_string("version")
    category = required_string("category")
    if category not in CATEGORIES:
        raise ManifestError("%s: 'category' must be one of %s (got '%s')"
                            % (where("category"), ", ".join(CATEGORIES), category))
    vendor = doc.get("vendor", "")
    if not isinstance(vendor, str):
        raise ManifestError("%s: 'vendor' must be a string" % where("vendor"))
    protocol = string_list("protocol", ["v1"])
    if not protocol:
        raise ManifestError("%s: 'protocol' must list at least v1" % where("protocol"))
    capabilities = string_list("capabilities", [])

    stop_timeout = 5.0
    timeouts = doc.get("timeouts", {})
    if timeouts == "":
        timeouts = {}
    if not isinstance(timeouts, dict):
        raise ManifestError("%s: 'timeouts' must be a map, e.g. {stop: 5s}"
                            % where("timeouts"))
    if "stop" in timeouts:
        stop_timeout = parse_duration(timeouts["stop"])
        if not stop_timeout:
            raise ManifestError("%s: 'timeouts.stop' must be a positive duration "
                                "such as 5s or 500ms (got '%s')"
                                % (where("timeouts"), timeouts["stop"]))

    return DriverInfo(name, version, category, vendor, protocol, capabilities,
                      stop_timeout, _properties(doc.get("properties", []),
                                                where("properties")))


def _properties(entries, where):
    if entries == "":
        return []
    if not isinstance(entries, list):
        raise ManifestError("%s: 'properties' must be a list of properties" % where)
    specs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("key"):
            raise ManifestError("%s: property #%d needs a key" % (where, index + 1))
        key = entry["key"]
        type_ = entry.get("type", "")
        if type_ not in PROPERTY_TYPES:
            raise ManifestError("%s: property '%s': type must be one of %s (got '%s')"
                                % (where, key, ", ".join(PROPERTY_TYPES), type_))
        default = entry.get("default")
        if default is not None and not isinstance(default, str):
            raise ManifestError("%s: property '%s': default must be one value"
                                % (where, key))
        specs.append(PropertySpec(key, type_, entry.get("required") == "true",
                                  entry.get("secret") == "true", default))
    return specs


def load(path):
    """A DriverInfo from the driver.yaml at `path`."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ManifestError("cannot read %s: %s" % (path, e.strerror)) from None
    return parse(text, path)
