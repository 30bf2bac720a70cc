"""A reader for the subset of YAML that driver.yaml files use.

The standard library has no YAML parser and a driver may rely only on
python3-grpcio and python3-protobuf, so the SDK reads driver.yaml with this:
block mappings and block sequences by indentation, flow sequences
(``[a, b]``) and flow mappings (``{stop: 5s}``) of scalars, plain,
single-quoted and double-quoted scalars, ``#`` comments. Scalars stay text
(the daemon has already validated the file; callers convert what they use).
Anything else (anchors, tags, multi-line scalars, nested flow collections)
is a YamlError naming the file and line.
"""


class YamlError(ValueError):
    """A construct this reader does not understand, with file and line."""


class _Line:
    __slots__ = ("number", "indent", "text")

    def __init__(self, number, indent, text):
        self.number = number
        self.indent = indent
        self.text = text


def _strip_comment(text):
    """Text without a trailing comment (a '#' outside quotes, after a
    space or at the start)."""
    quote = None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"" and (i == 0 or text[i - 1] in " [{,:-"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


class _Reader:
    def __init__(self, text, source):
        self.source = source
        self.lines = []
        for number, raw in enumerate(text.splitlines(), start=1):
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise self.error(number, "tabs are not allowed for indentation")
            body = _strip_comment(raw)
            if not body.strip() or body.strip() in ("---", "..."):
                continue
            indent = len(body) - len(body.lstrip(" "))
            self.lines.append(_Line(number, indent, body.strip()))
        self.pos = 0

    def error(self, number, what):
        return YamlError("%s:%d: %s" % (self.source, number, what))

    def scalar(self, text, number):
        text = text.strip()
        if not text:
            return ""
        if text[0] in "&*!|>%@`":
            raise self.error(number, "unsupported YAML (%r): write a plain "
                             "value, a quoted string or a [list]" % text)
        if text[0] in "'\"":
            quote = text[0]
            if len(text) < 2 or text[-1] != quote:
                raise self.error(number, "unterminated quoted string %s" % text)
            body = text[1:-1]
            if quote == "'":
                return body.replace("''", "'")
            return _unescape_double(body, lambda what: self.error(number, what))
        if text[0] in "[{":
            return self.flow(text, number)
        return text

    def flow(self, text, number):
        opening, closing = text[0], {"[": "]", "{": "}"}[text[0]]
        if text[-1] != closing:
            raise self.error(number, "%s... must end with %s on the same line"
                             % (opening, closing))
        items = _split_flow(text[1:-1], lambda what: self.error(number, what))
        if opening == "[":
            return [self.scalar(item, number) for item in items]
        out = {}
        for item in items:
            key, sep, value = item.partition(":")
            if not sep:
                raise self.error(number, "expected key: value in %s" % text)
            out[self.scalar(key, number)] = self.scalar(value, number)
        return out

    def parse(self):
        if not self.lines:
            return {}
        value = self.block(self.lines[0].indent)
        if self.pos < len(self.lines):
            line = self.lines[self.pos]
            raise self.error(line.number, "unexpected indentation")
        return value

    def block(self, indent):
        line = self.lines[self.pos]
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def nested(self, parent_indent, number, allow_same_indent_sequence):
        """The block value below a 'key:' line, or ''."""
        if self.pos >= len(self.lines):
            return ""
        line = self.lines[self.pos]
        if line.indent > parent_indent:
            return self.block(line.indent)
        if (allow_same_indent_sequence and line.indent == parent_indent
                and (line.text == "-" or line.text.startswith("- "))):
            return self.sequence(line.indent)
        return ""

    def mapping(self, indent):
        out = {}
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise self.error(line.number, "unexpected indentation")
            if line.text.startswith("- "):
                break
            key, value = self.key_value(line)
            self.pos += 1
            if key in out:
                raise self.error(line.number, "'%s' appears twice" % key)
            if value == "":
                value = self.nested(indent, line.number, True)
            else:
                value = self.scalar(value, line.number)
            out[key] = value
        return out

    def sequence(self, indent):
        out = []
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.indent != indent or not (line.text == "-" or
                                             line.text.startswith("- ")):
                if line.indent > indent:
                    raise self.error(line.number, "unexpected indentation")
                break
            rest = line.text[1:].lstrip()
            if not rest:
                self.pos += 1
                out.append(self.nested(indent, line.number, False))
                continue
            if _looks_like_key(rest):
                # "- key: value" starts a mapping indented past the dash.
                item_indent = indent + (len(line.text) - len(rest))
                self.lines[self.pos] = _Line(line.number, item_indent, rest)
                out.append(self.mapping(item_indent))
            else:
                self.pos += 1
                out.append(self.scalar(rest, line.number))
        return out

    def key_value(self, line):
        if not _looks_like_key(line.text):
            raise self.error(line.number, "expected 'key: value' (got %r)"
                             % line.text)
        text = line.text
        if text[0] in "'\"":
            end = text.index(text[0], 1)
            key = self.scalar(text[: end + 1], line.number)
            rest = text[end + 1:].lstrip()[1:]
        else:
            key, _, rest = text.partition(":")
            key = key.strip()
        return key, rest.strip()


def _looks_like_key(text):
    if text[:1] in "'\"":
        end = text.find(text[0], 1)
        return end > 0 and text[end + 1:].lstrip().startswith(":")
    if text[:1] in "[{":
        return False
    colon = text.find(":")
    return colon > 0 and (colon == len(text) - 1 or text[colon + 1] == " ")


def _split_flow(body, error):
    items, current, quote = [], "", None
    for c in body:
        if quote:
            current += c
            if c == quote:
                quote = None
        elif c in "'\"" and not current.strip():
            quote = c
            current += c
        elif c in "[]{}":
            raise error("nested flow collections are not supported")
        elif c == ",":
            items.append(current)
            current = ""
        else:
            current += c
    if quote:
        raise error("unterminated quoted string in a flow collection")
    if current.strip():
        items.append(current)
    return [item.strip() for item in items if item.strip()]


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r",
            "0": "\0", " ": " "}


def _unescape_double(body, error):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise error("a string may not end with a backslash")
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2: i + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise error("bad \\%s escape in a string" % e) from None
            i += 2 + width
        else:
            raise error("unknown escape \\%s in a string" % e)
    return "".join(out)


def loads(text, source="<string>"):
    """The document in `text` as dicts, lists and strings. `source` names
    the file in errors."""
    return _Reader(text, source).parse()
