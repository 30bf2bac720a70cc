"""Driver logging in the line format the daemon re-logs with its level and
fields (docs/vendor-guide.md, "Logging, in any language"):

    2026-11-25T08:51:35.904Z level=warning msg="slow disk" volume=v1 took_ms=1200

Standard error is a driver's log. Never log a secret property.
"""

import datetime
import os
import re

_KEY_OK = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_BARE_OK = re.compile(r"[A-Za-z0-9_.:/@+,-]+\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}

# Where lines go: a file descriptor, so that one line is one write(2).
_fd = 2


def quote(text):
    """`text` as a double-quoted logfmt value, on one line."""
    out = []
    for c in str(text):
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _value(value):
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text if _BARE_OK.match(text) else quote(text)


def _key(key):
    key = str(key)
    if _KEY_OK.match(key):
        return key
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:64]
    return cleaned or "field"


def format_line(level, message, fields=None, now=None):
    """The line log() writes, without its newline. Fields keep their order;
    keys are cut to what the daemon accepts (64 of A-Z a-z 0-9 _ . -)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)
    parts = [stamp, "level=" + (level or "info"), "msg=" + quote(message)]
    for key, value in (fields or {}).items():
        if value is None:
            continue
        parts.append("%s=%s" % (_key(key), _value(value)))
    return " ".join(parts)


def log(level, message, **fields):
    """Writes one line on standard error with one write(2), so lines from
    concurrent threads never interleave. `level`: debug, info, warning or
    error."""
    data = (format_line(level, message, fields) + "\n").encode("utf-8", "replace")
    try:
        while data:
            written = os.write(_fd, data)
            data = data[written:]
    except OSError:
        pass  # Nowhere to log to: never fail a call over it.


def debug(message, **fields):
    log("debug", message, **fields)


def info(message, **fields):
    log("info", message, **fields)


def warning(message, **fields):
    log("warning", message, **fields)


def error(message, **fields):
    log("error", message, **fields)


def call_fields(method, context, code=None, replayed=False):
    """The fields log_call() writes for one call: method, resource,
    operation id, caller and outcome; never the property bag."""
    fields = {"method": method}
    if context is not None:
        if context.resource.type or context.resource.id:
            fields["resource"] = "%s/%s" % (context.resource.type,
                                            context.resource.id)
        if context.operation_id:
            fields["operation_id"] = context.operation_id
        if context.caller:
            fields["caller"] = context.caller
    fields["code"] = "OK" if code is None else code.name
    if replayed:
        fields["replayed"] = True
    return fields


def log_call(method, context, code=None, message="", replayed=False):
    """One line per call, at info when it succeeded (code None or OK) and
    warning otherwise, e.g.
    level=info msg="ImplementNetwork: ok" method=ImplementNetwork resource=network/n1 code=OK"""
    ok = code is None or code.name == "OK"
    if ok:
        text = "%s: ok%s" % (method, " (replayed, already done)" if replayed else "")
    else:
        text = "%s: %s: %s" % (method, code.name, message)
    log("info" if ok else "warning", text,
        **call_fields(method, context, None if ok else code, replayed))


def set_output_fd_for_test(fd):
    """Sends lines to `fd` instead of standard error; returns the old one."""
    global _fd
    old, _fd = _fd, fd
    return old

