#!/usr/bin/env python3
"""Schema conformance test for the C++ OCPP payload validator (build/bin/ocpp_validate).

What a passing run proves, for every JSON schema of OCPP 1.6, 2.0.1 and 2.1 listed in
messages.csv (request and response of every action, NotifyPeriodicEventStream included):

1. Minimal and maximal payloads built from the schema itself are accepted by the reference
   validator and by the tool, and survive parse -> serialize -> parse: the tool's re-encoded
   JSON equals the input (semantically, with booleans and numbers kept apart), and feeding the
   re-encoded text back yields exactly the same text.
2. Single-point mutations of the maximal payload at every schema location, nested objects
   and array items included (missing required member, bad enum value, string one character
   too long, wrong JSON type, array too short / too long, unknown member, bad date-time, bad
   URI, number just outside its bounds or not a multiple) are rejected by the reference
   validator and by the tool with exactly the RPC error code the version spells for that kind
   of violation, and the description names the member. Items of one array share a schema
   location and are mutated at one (varying) index; --every-item mutates every item.
3. On a seeded random corpus (half valid, half mutated) the tool's verdict (valid/invalid)
   agrees with Python jsonschema on every payload; valid payloads round-trip, and payloads
   with a single catalogue mutation get that mutation's code. Near-valid URIs, date-times
   and decimal numbers (for multipleOf) are fuzzed against the reference in the same way.
4. Edge cases the schemas imply (duplicate members, non-object payloads, 64-bit integer
   limits, decimal multipleOf, code-point string lengths, date-time corner cases) behave as
   specified.
5. Lenient mode accepts exactly the four documented quirks (and reports their bits) that
   strict mode rejects.
6. Whole OCPP-J frames: valid CALL/SEND, malformed JSON, unknown action, unknown message
   type and over-long message ids get the per-version code, message id and reply kind.

The reference is jsonschema 4.23 (Draft4Validator / Draft6Validator chosen by `$schema`) with
the date-time (rfc3339-validator) and uri (rfc3987) format checkers and an exact decimal
multipleOf (see `exact_multiple_of`).

Run from the repository root:
    python3 tests/conformance/ocpp_conformance.py --tool build/bin/ocpp_validate \
        --shared ../shared/ocpp [--seed N] [--corpus 12000] [--every-item]
Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Iterator

try:
    import jsonschema
    from jsonschema import validators
except ImportError:  # pragma: no cover - environment problem, not a test failure
    sys.exit("ocpp_conformance.py needs the packages in tests/requirements.txt "
             "(pip install -r tests/requirements.txt)")

DEFAULT_SEED = 20261201
DEFAULT_CORPUS = 12000
MAX_PRINTED_FAILURES = 20
FORMAT_FUZZ_ROUNDS = 3000  # each: one URI, one date-time, one multipleOf number
SAFE_INT = 2**53 - 1  # generated integers stay within +-2^53 (exact in a double)
INT64_MAX = 2**63 - 1

# Violation categories and how each version spells them.
TYPE, PROPERTY, OCCURRENCE, FORMAT = "type", "property", "occurrence", "format"
ERROR_CODES = {
    "1.6": {
        TYPE: "TypeConstraintViolation",
        PROPERTY: "PropertyConstraintViolation",
        OCCURRENCE: "OccurenceConstraintViolation",  # sic: the 1.6 spelling
        FORMAT: "FormationViolation",
    },
    "2.0.1": {
        TYPE: "TypeConstraintViolation",
        PROPERTY: "PropertyConstraintViolation",
        OCCURRENCE: "OccurrenceConstraintViolation",
        FORMAT: "FormatViolation",
    },
}
ERROR_CODES["2.1"] = ERROR_CODES["2.0.1"]
FRAME_ERROR = {"1.6": "FormationViolation", "2.0.1": "RpcFrameworkError", "2.1": "RpcFrameworkError"}

# Quirk bits of lenient mode (decoder.h).
QUIRK_ENUM_CASE, QUIRK_NUMBER_AS_STRING, QUIRK_DATETIME_NO_ZONE, QUIRK_UNKNOWN_MEMBER = 1, 2, 4, 8

EXTRA_MEMBER = "unexpectedMember"  # the member the "unknown member" mutation adds
VENDOR_MEMBER = "vendorExtra"  # what maximal payloads add to open objects (customData)
MAX_DATETIME = "2025-03-01T10:00:00.123+02:00"
MAX_DATETIME_ALT = "2024-02-29T23:59:59.999999Z"
MAX_URI = "ftp://user@example.com:21/path/file.tar.gz?x=1#frag"
ANY_VALUE = {"list": [1, -2.5, "é€😀", None, True, {"deep": [[], {}]}], "text": "x\"y\\z"}
# Characters for generated strings: ASCII, 2/3/4-byte UTF-8, JSON escapes, control characters.
STRING_PATTERN = "Aé€😀\"\\/\tz\u0001ß"
RANDOM_CHARS = "abcXYZ019 -_.:/éüß€ΩЖ中😀🚗\"\\\t\n\r\b\f\u0000\u001f\u007f\u2028\ufeff"
VALID_URIS = [
    MAX_URI, "http://example.com", "https://example.com:8443/a/b?c=d&e=f#g", "urn:isbn:0451450523",
    "mailto:ops@example.com", "http://[2001:db8::1]:8080/x", "ftp://ftp.example.org/pub/%41%42",
    "file:///var/log/charger.log", "https://user:pw@host.example/p;x=1/q", "a:b",
]
INVALID_URIS = ["not a uri", "//example.com/no-scheme", "http://exa mple.com", "http://example.com/%zz",
                "1http://x", "http://example.com/é", ":nothing", "http://user@host@example.com/",
                "http://[2001:db8:1]/x", "http://[1::2::3]/x"]


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------

@dataclass
class MessageSchema:
    """One JSON schema: the request or response of one action of one version."""

    version: str
    action: str
    kind: str  # "request" | "response"
    path: Path
    root: dict
    draft4: bool
    validator: Any = None  # the reference validator, set by load_schemas

    @property
    def label(self) -> str:
        return f"{self.version} {self.action} {self.kind}"


def load_schemas(shared: Path) -> list[MessageSchema]:
    schemas = []
    with open(shared / "messages.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for kind, column in (("request", "request_schema"), ("response", "response_schema")):
                if not row[column]:
                    continue
                path = shared / row[column]
                root = json.loads(path.read_text(encoding="utf-8"))
                draft4 = draft_of(root) == 4
                schema = MessageSchema(row["version"], row["action"], kind, path, root, draft4)
                schema.validator = reference_validator(root, draft4)
                schemas.append(schema)
    return schemas


def draft_of(root: dict) -> int:
    dialect = root.get("$schema", "")
    for draft in (4, 6):
        if f"draft-0{draft}/" in dialect:
            return draft
    raise ValueError(f"unexpected $schema {dialect!r}")


def resolve(node: dict, root: dict) -> dict:
    """Follows local `#/definitions/...` references."""
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/definitions/"), ref
        node = root["definitions"][ref[len("#/definitions/"):]]
    return node


def kind_of(node: dict) -> str:
    """object, array, enum, date-time, uri, string, integer, number, boolean or any."""
    t = node.get("type")
    if t is None:
        return "any"
    if t == "string":
        if "enum" in node:
            return "enum"
        if node.get("format") in ("date-time", "uri"):
            return node["format"]
    return t


def is_closed(node: dict) -> bool:
    return node.get("additionalProperties", True) is False


def array_size_range(node: dict) -> tuple[int, int | None]:
    return node.get("minItems", 0), node.get("maxItems")


# --------------------------------------------------------------------------------------------
# Reference validator
# --------------------------------------------------------------------------------------------

def exact_multiple_of(validator, multiple, instance, schema):
    """multipleOf in exact decimal arithmetic.

    jsonschema divides floats (21.4 / 0.1 = 213.99999999999997) and so wrongly rejects 21.4
    for `multipleOf: 0.1`, which three OCPP 1.6 schemas use for charging limits. The JSON text
    of the value is decimal, so compare the decimal values exactly: str(float) is the shortest
    text that reads back as the same double, i.e. the text the generator wrote.
    """
    if not validator.is_type(instance, "number"):
        return
    if Fraction(str(instance)) % Fraction(str(multiple)) != 0:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {multiple}")


ReferenceDraft4 = validators.extend(jsonschema.Draft4Validator, {"multipleOf": exact_multiple_of})
ReferenceDraft6 = validators.extend(jsonschema.Draft6Validator, {"multipleOf": exact_multiple_of})
FORMAT_CHECKER = jsonschema.FormatChecker(formats=["date-time", "uri"])


def reference_validator(root: dict, draft4: bool):
    cls = ReferenceDraft4 if draft4 else ReferenceDraft6
    cls.check_schema(root)
    return cls(root, format_checker=FORMAT_CHECKER)


def verify_reference_setup() -> list[str]:
    """The format checkers are only active when their optional packages are installed."""
    problems = []
    for name, good, bad in (("date-time", "2025-03-01T10:00:00Z", "2025-13-01T00:00:00Z"),
                            ("uri", MAX_URI, "not a uri")):
        if name not in FORMAT_CHECKER.checkers:
            problems.append(f"format checker '{name}' is not available")
        elif not FORMAT_CHECKER.conforms(good, name) or FORMAT_CHECKER.conforms(bad, name):
            problems.append(f"format checker '{name}' is not effective (missing package?)")
    probe = ReferenceDraft4({"type": "number", "multipleOf": 0.1})
    if not probe.is_valid(21.4) or probe.is_valid(21.45):
        problems.append("exact multipleOf is not in effect")
    return problems


def reference_error(schema: MessageSchema, payload: Any) -> str | None:
    """None when valid, else the first error as text."""
    error = next(schema.validator.iter_errors(payload), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where or '<root>'}: {error.message[:200]}"


# --------------------------------------------------------------------------------------------
# The tool
# --------------------------------------------------------------------------------------------

def dumps(value: Any) -> str:
    """One-line JSON text (strings keep their UTF-8; control characters are escaped)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def payload_line(schema: MessageSchema, text: str, mode: str = "strict") -> str:
    return f"payload\t{schema.version}\t{schema.action}\t{schema.kind}\t{mode}\t{text}"


def payload_prefix(schema: MessageSchema, mode: str = "strict") -> bytes:
    """payload_line() as bytes, without the payload: for payload texts already in UTF-8."""
    return payload_line(schema, "", mode).encode()


def frame_line(version: str, role: str, text: str) -> str:
    return f"frame\t{version}\t{role}\t{text}"


class Tool:
    """Runs ocpp_validate once per batch: all lines in, one JSON verdict per line out.

    The input goes through a temporary file rather than a pipe: no pipe deadlock, and the
    mutation phase sends about 1.5 GB, which subprocess.run(input=...) would push through the
    pipe in 4 KiB writes (several times slower)."""

    def __init__(self, path: Path):
        self.path = path
        self.lines = 0

    def run(self, lines: Iterable[str | bytes]) -> list[dict]:
        """Lines are str or already UTF-8 encoded bytes; they may be generated lazily."""
        count = 0
        with tempfile.TemporaryFile() as stdin:
            for line in lines:
                data = line.encode("utf-8") if isinstance(line, str) else line
                assert data and b"\n" not in data, "tool input lines must be single, non-empty lines"
                stdin.write(data + b"\n")
                count += 1
            stdin.seek(0)
            proc = subprocess.run([str(self.path)], stdin=stdin, capture_output=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{self.path} exited with {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')[:2000]}")
        # Split on '\n' only: str.splitlines() would also split at U+2028 inside strings.
        out = proc.stdout.decode("utf-8").split("\n")
        if out and out[-1] == "":
            out.pop()
        if len(out) != count:
            raise RuntimeError(f"{self.path} answered {len(out)} lines for {count}")
        self.lines += count
        return [json.loads(o) for o in out]


# --------------------------------------------------------------------------------------------
# Comparing JSON values
# --------------------------------------------------------------------------------------------

def same_json(a: Any, b: Any) -> bool:
    """Semantic JSON equality: member order ignored, 5 == 5.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (by same_json), for failure messages."""
    if same_json(a, b):
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}.{key}: only in the {'input' if key in a else 'output'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
    return f"{path or '<payload>'}: {value_text(a)} became {value_text(b)}"


def value_text(value: Any) -> str:
    """A short JSON rendering for messages (Infinity allowed)."""
    return short(json.dumps(value, ensure_ascii=False), 80)


def short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


# --------------------------------------------------------------------------------------------
# Minimal and maximal payloads
# --------------------------------------------------------------------------------------------

def minimal_value(node: dict, root: dict) -> Any:
    """Required members only, arrays at minItems, one-character strings, first enum value."""
    node = resolve(node, root)
    kind = kind_of(node)
    if kind == "object":
        props = node.get("properties", {})
        return {name: minimal_value(props[name], root) for name in node.get("required", [])}
    if kind == "array":
        return [minimal_value(node["items"], root) for _ in range(node.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = node.get("minimum", 0)
        return int(low) if kind == "integer" else low
    return {
        "enum": lambda: node["enum"][0], "date-time": lambda: "2025-03-01T10:00:00Z",
        "uri": lambda: "http://x", "string": lambda: "x", "boolean": lambda: False,
        "any": lambda: {},
    }[kind]()


def text_of_length(length: int, variant: int) -> str:
    """A string of exactly `length` code points mixing ASCII, non-ASCII and escapes."""
    pattern = STRING_PATTERN[variant % len(STRING_PATTERN):] + STRING_PATTERN[:variant % len(STRING_PATTERN)]
    return (pattern * (length // len(pattern) + 1))[:length]


def bound_value(node: dict, variant: int) -> int | float:
    """A number at a bound of the node: the upper bound for variant 0, the lower for 1."""
    kind = kind_of(node)
    low, high = node.get("minimum"), node.get("maximum")
    first, second = (high, low) if variant % 2 == 0 else (low, high)
    bound = first if first is not None else second
    if bound is not None:
        return int(bound) if kind == "integer" else bound
    if kind == "integer":
        return SAFE_INT if variant % 2 == 0 else -SAFE_INT
    if "multipleOf" in node:
        return 21.4 if variant % 2 == 0 else 7.0
    return 123456.789 if variant % 2 == 0 else -0.015625


def maximal_value(node: dict, root: dict, variant: int = 0) -> Any:
    """Every property, arrays of max(minItems, 2) items (<= maxItems), strings at maxLength.

    `variant` (the index of the enclosing array item) makes sibling items differ: other
    bound, other enum value, other date-time.
    """
    node = resolve(node, root)
    kind = kind_of(node)
    if kind == "object":
        value = {name: maximal_value(sub, root, variant) for name, sub in node.get("properties", {}).items()}
        if not is_closed(node):
            value[VENDOR_MEMBER] = {"note": "é€😀", "n": [1, 2.5, None, True]}
        return value
    if kind == "array":
        low, high = array_size_range(node)
        count = max(low, 2) if high is None else min(max(low, 2), high)
        return [maximal_value(node["items"], root, i) for i in range(count)]
    if kind in ("integer", "number"):
        return bound_value(node, variant)
    if kind == "enum":
        return node["enum"][-1 - variant % len(node["enum"])]
    if kind == "date-time":
        return MAX_DATETIME if variant % 2 == 0 else MAX_DATETIME_ALT
    if kind == "uri":
        return MAX_URI
    if kind == "string":
        return text_of_length(node.get("maxLength", 64), variant)
    if kind == "boolean":
        return variant % 2 == 0
    return ANY_VALUE


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutation:
    """One change to a payload that makes it invalid in one way."""

    what: str  # e.g. "required", "enum", "maxLength", "wrong type"
    path: tuple  # the changed value; for "required" the deleted member
    value: Any = None
    delete: bool = False
    expect: str = TYPE  # violation category
    copies_items: bool = False  # value is an array of copies of a valid item of the payload

    @property
    def member(self) -> str | None:
        """The member name the description must mention (nearest name on the path)."""
        names = [p for p in self.path if isinstance(p, str)]
        return names[-1] if names else None

    def where(self) -> str:
        return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path) or "<root>"


def apply_mutation(payload: Any, m: Mutation) -> Any:
    """A copy of `payload` with the mutation applied (containers off the path are shared)."""
    if not m.path:
        return m.value

    def rebuild(container: Any, depth: int) -> Any:
        copy = dict(container) if isinstance(container, dict) else list(container)
        key = m.path[depth]
        if depth + 1 < len(m.path):
            copy[key] = rebuild(container[key], depth + 1)
        elif m.delete:
            del copy[key]
        else:
            copy[key] = m.value
        return copy

    return rebuild(payload, 0)


def path_exists(payload: Any, path: tuple) -> bool:
    node = payload
    for key in path:
        if isinstance(node, dict) and isinstance(key, str) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return False
    return True


def locations(value: Any, node: dict, root: dict, path: tuple = ()) -> Iterator[tuple[tuple, Any, dict]]:
    """Every (path, value, schema node) of a payload, containers before their contents."""
    node = resolve(node, root)
    yield path, value, node
    kind = kind_of(node)
    if kind == "object" and isinstance(value, dict):
        props = node.get("properties", {})
        for name, sub in value.items():
            if name in props:
                yield from locations(sub, props[name], root, path + (name,))
    elif kind == "array" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from locations(item, node["items"], root, path + (i,))


def wrong_case(text: str) -> str:
    swapped = text.swapcase()
    return swapped if swapped != text else text + "x"


def mutations_at(path: tuple, value: Any, node: dict, draft4: bool) -> Iterator[Mutation]:
    """The invalidating mutations of one location (expected category in each)."""
    kind = kind_of(node)
    if kind == "any":
        return
    if not path:  # the payload itself must be a JSON object
        yield Mutation("payload not an object", path, [], expect=FORMAT)
        yield Mutation("payload not an object", path, None, expect=FORMAT)
    else:
        yield Mutation("null", path, None, expect=TYPE)
    if kind == "object":
        if path:
            yield Mutation("wrong type", path, "object", expect=TYPE)
            yield Mutation("wrong type", path, [value], expect=TYPE)
        for name in node.get("required", []):
            if name in value:
                yield Mutation("required", path + (name,), delete=True, expect=OCCURRENCE)
        if is_closed(node):
            yield Mutation("unknown member", path + (EXTRA_MEMBER,), 1, expect=FORMAT)
    elif kind == "array":
        low, high = array_size_range(node)
        if low >= 1:
            yield Mutation("minItems", path, [], expect=OCCURRENCE)
        if high is not None and value:
            yield Mutation("maxItems", path, [value[0]] * (high + 1), expect=OCCURRENCE, copies_items=True)
        yield Mutation("wrong type", path, {}, expect=TYPE)
        if value:
            yield Mutation("wrong type", path, value[0], expect=TYPE)
    elif kind == "enum":
        yield Mutation("enum", path, "NotAValue", expect=PROPERTY)
        yield Mutation("enum case", path, wrong_case(value), expect=PROPERTY)
        yield Mutation("wrong type", path, 1, expect=TYPE)
    elif kind == "date-time":
        for bad in ("2025-13-01T00:00:00Z", "yesterday", "2025-02-29T10:00:00Z", "2025-03-01T10:00:00",
                    "2025-03-01 10:00:00Z", "2025-03-01T24:00:00Z"):
            yield Mutation("date-time", path, bad, expect=TYPE)
        yield Mutation("wrong type", path, 20250301, expect=TYPE)
    elif kind == "uri":
        yield Mutation("uri", path, "not a uri", expect=PROPERTY)
        yield Mutation("wrong type", path, 1, expect=TYPE)
    elif kind == "string":
        if "maxLength" in node:
            yield Mutation("maxLength", path, text_of_length(node["maxLength"] + 1, len(path)), expect=PROPERTY)
        yield Mutation("wrong type", path, 12, expect=TYPE)
        yield Mutation("wrong type", path, ["x"], expect=TYPE)
    elif kind in ("integer", "number"):
        yield from number_mutations(path, node, draft4)
    elif kind == "boolean":
        yield Mutation("wrong type", path, "true", expect=TYPE)
        yield Mutation("wrong type", path, 0, expect=TYPE)


def number_mutations(path: tuple, node: dict, draft4: bool) -> Iterator[Mutation]:
    integer = kind_of(node) == "integer"
    step = 1 if integer else 0.1
    yield Mutation("wrong type", path, "1", expect=TYPE)
    yield Mutation("wrong type", path, True, expect=TYPE)
    if integer:
        yield Mutation("fraction", path, 1.5, expect=TYPE)
        if draft4:
            yield Mutation("draft-04 1.0", path, 1.0, expect=TYPE)
    if "minimum" in node:
        low = node["minimum"]
        yield Mutation("minimum", path, int(low) - 1 if integer else round(low - step, 10), expect=PROPERTY)
    if "maximum" in node:
        high = node["maximum"]
        yield Mutation("maximum", path, int(high) + 1 if integer else round(high + step, 10), expect=PROPERTY)
    if "multipleOf" in node:
        yield Mutation("multipleOf", path, node.get("minimum", 0) + 21.45, expect=PROPERTY)


def all_mutations(schema: MessageSchema, payload: Any) -> list[Mutation]:
    return [m for path, value, node in locations(payload, schema.root, schema.root)
            for m in mutations_at(path, value, node, schema.draft4)]


# --------------------------------------------------------------------------------------------
# Random payloads
# --------------------------------------------------------------------------------------------

def random_text(rng: random.Random, max_length: int | None) -> str:
    cap = max_length if max_length is not None else 200
    roll = rng.random()
    if roll < 0.1:
        length = cap
    elif roll < 0.15:
        length = 0
    elif roll < 0.3:
        length = rng.randint(0, cap)
    else:
        length = rng.randint(1, min(cap, 12))
    if rng.random() < 0.4:
        return "".join(rng.choice("abcdefXYZ0123456789") for _ in range(length))
    return "".join(rng.choice(RANDOM_CHARS) for _ in range(length))


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def random_datetime(rng: random.Random) -> str:
    """A date-time valid per RFC 3339 (as rfc3339-validator reads it)."""
    year = rng.choice([rng.randint(1, 9999), rng.randint(1990, 2040), 2000, 2024, 1900])
    month = rng.randint(1, 12)
    day = rng.choice([rng.randint(1, days_in_month(year, month)), days_in_month(year, month)])
    text = f"{year:04d}-{month:02d}-{day:02d}{rng.choice('TTTt')}" \
           f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if rng.random() < 0.5:
        digits = rng.choice([rng.randint(1, 3), rng.randint(1, 9), rng.randint(1, 12)])
        text += "." + "".join(rng.choice("0123456789") for _ in range(digits))
    roll = rng.random()
    if roll < 0.5:
        text += rng.choice("ZZZz")
    else:
        text += f"{rng.choice('+-')}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    return text


def random_number(rng: random.Random, node: dict, draft4: bool) -> int | float:
    integer = kind_of(node) == "integer"
    low = node.get("minimum", -SAFE_INT if integer else -1e9)
    high = node.get("maximum", SAFE_INT if integer else 1e9)
    if integer:
        low, high = int(low), int(high)
        roll = rng.random()
        value = rng.choice([low, high]) if roll < 0.15 else (
            rng.randint(low, high) if roll < 0.35 else rng.randint(max(low, -1000), min(high, 1000)))
        if not draft4 and rng.random() < 0.1:
            return float(value)  # draft-06: 7.0 is an integer
        return value
    if "multipleOf" in node:  # 0.1 in the OCPP 1.6 schemas
        low_tenths, high_tenths = int(Fraction(str(low)) * 10), int(Fraction(str(high)) * 10)
        tenths = rng.randint(max(low_tenths, -100000), min(high_tenths, 100000))
        return float(f"{tenths / 10:.1f}")  # e.g. 21.4 or 7.0
    roll = rng.random()
    if roll < 0.15:
        return rng.choice([low, high])
    if roll < 0.4:
        return rng.randint(int(max(low, -1000)), int(min(high, 1000)))
    value = rng.uniform(max(low, -1e6), min(high, 1e6))  # 17 significant digits
    return value if roll < 0.6 else round(value, rng.randint(0, 6))


def random_any(rng: random.Random, depth: int = 0) -> Any:
    choices = ["int", "float", "str", "bool", "null"] + (["list", "dict"] if depth < 4 else [])
    pick = rng.choice(choices)
    if pick == "list":
        return [random_any(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if pick == "dict":
        return {random_text(rng, 8): random_any(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return {"int": lambda: rng.randint(-SAFE_INT, SAFE_INT),
            "float": lambda: round(rng.uniform(-1e3, 1e3), 3),
            "str": lambda: random_text(rng, 20),
            "bool": lambda: rng.random() < 0.5,
            "null": lambda: None}[pick]()


def random_value(rng: random.Random, node: dict, root: dict, draft4: bool, depth: int = 0) -> Any:
    """A random valid value; optional members and array sizes thin out with depth."""
    node = resolve(node, root)
    kind = kind_of(node)
    if kind == "object":
        required = set(node.get("required", []))
        keep = 0.6 / (1 + depth * 0.5)
        value = {name: random_value(rng, sub, root, draft4, depth + 1)
                 for name, sub in node.get("properties", {}).items()
                 if name in required or rng.random() < keep}
        if not is_closed(node) and rng.random() < 0.5:
            value[random_text(rng, 10) or "v"] = random_any(rng)
        return value
    if kind == "array":
        low, high = array_size_range(node)
        top = low + (3 if depth < 3 else 1)
        count = rng.randint(low, top if high is None else min(high, top))
        if high is not None and high <= 24 and rng.random() < 0.1:
            count = high
        return [random_value(rng, node["items"], root, draft4, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return random_number(rng, node, draft4)
    if kind == "enum":
        return rng.choice(node["enum"])
    if kind == "date-time":
        return random_datetime(rng)
    if kind == "uri":
        return rng.choice(VALID_URIS)
    if kind == "string":
        return random_text(rng, node.get("maxLength"))
    if kind == "boolean":
        return rng.random() < 0.5
    return random_any(rng)


def random_wrong_type(rng: random.Random, payload: Any, schema: MessageSchema) -> Mutation | None:
    """A random JSON value of a random type at a random location (may happen to be valid)."""
    spots = [(path, node) for path, _, node in locations(payload, schema.root, schema.root) if path]
    if not spots:
        return None
    path, node = rng.choice(spots)
    value = rng.choice([None, True, 0, -3, 2.5, 7.0, "", "text", "12", [], [1], {}, {"a": 1},
                        "2025-03-01T10:00:00Z"])
    return Mutation("random type", path, value, expect=TYPE)


def random_invalid(rng: random.Random, schema: MessageSchema, payload: Any) -> tuple[Any, list[Mutation]]:
    """`payload` with one or two random mutations (from the catalogue or random wrong types)."""
    catalogue = all_mutations(schema, payload)
    applied = []
    for _ in range(rng.choice([1, 1, 2])):
        m = random_wrong_type(rng, payload, schema) if rng.random() < 0.25 else rng.choice(catalogue)
        if m is None or not path_exists(payload, m.path[:-1] if m.path else ()):
            continue
        if m.path and any(m.path[:len(p.path)] == p.path for p in applied):
            continue  # inside something already replaced
        payload = apply_mutation(payload, m)
        applied.append(m)
    if not applied:
        m = rng.choice(catalogue)
        payload, applied = apply_mutation(payload, m), [m]
    return payload, applied


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

@dataclass
class Results:
    counts: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)  # phase -> messages

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def fail(self, phase: str, message: str) -> None:
        self.failures.setdefault(phase, []).append(message)

    @property
    def failed(self) -> bool:
        return bool(self.failures)


def expected_code(version: str, category: str) -> str:
    return ERROR_CODES[version][category]


def describe(out: dict) -> str:
    return short(json.dumps(out, ensure_ascii=False), 500)


# --------------------------------------------------------------------------------------------
# Phase 1: minimal and maximal payloads, round trip
# --------------------------------------------------------------------------------------------

def check_round_trip(tool: Tool, results: Results, phase: str,
                     cases: list[tuple[MessageSchema, str, Any]]) -> None:
    """Each (schema, label, payload) must be accepted, re-encode to an equal value, and the
    re-encoded text must be accepted and re-encode to itself."""
    first = tool.run([payload_line(s, dumps(p)) for s, _, p in cases])
    second_cases, second_lines, passed = [], [], 0
    for (schema, label, payload), out in zip(cases, first):
        where = f"{schema.label} {label}"
        if not out.get("ok"):
            results.fail(phase, f"{where}: rejected: {describe(out)}\n    payload: {short(dumps(payload))}")
            continue
        difference = first_difference(payload, json.loads(out["json"]))
        if difference:
            results.fail(phase, f"{where}: re-encoded value differs at {difference}\n"
                                f"    in:  {short(dumps(payload))}\n    out: {short(out['json'])}")
            continue
        second_cases.append((where, out["json"]))
        second_lines.append(payload_line(schema, out["json"]))
    for (where, text), out in zip(second_cases, tool.run(second_lines)):
        if not out.get("ok") or out["json"] != text:
            results.fail(phase, f"{where}: re-encoded text does not re-encode to itself: {describe(out)}")
        else:
            passed += 1
    results.count(f"{phase} round trips", passed)


def phase_min_max(tool: Tool, schemas: list[MessageSchema], results: Results) -> dict:
    maximal = {}
    cases = []
    for schema in schemas:
        for label, payload in (("minimal", minimal_value(schema.root, schema.root)),
                               ("maximal", maximal_value(schema.root, schema.root))):
            error = reference_error(schema, payload)
            if error is not None:
                results.fail("min/max", f"{schema.label} {label}: reference rejects the generated "
                                        f"payload ({error}) - generator bug")
                continue
            cases.append((schema, label, payload))
            if label == "maximal":
                maximal[schema.label] = payload
    results.count("minimal+maximal payloads", len(cases))
    check_round_trip(tool, results, "min/max", cases)
    return maximal


# --------------------------------------------------------------------------------------------
# Phase 2: mutations of the maximal payloads
# --------------------------------------------------------------------------------------------

@dataclass
class Serialized:
    """A payload's JSON text (UTF-8) and where each value sits in it.

    spans[path] = (member_start, value_start, value_end): member_start is where the member
    (its key) begins, or value_start for array items and the payload itself."""

    text: bytes
    spans: dict


def serialize_with_spans(payload: Any) -> Serialized:
    chunks: list[bytes] = []
    spans: dict = {}
    pos = 0

    def put(b: bytes) -> None:
        nonlocal pos
        chunks.append(b)
        pos += len(b)

    def walk(value: Any, path: tuple, member_start: int) -> None:
        start = pos
        if isinstance(value, dict):
            put(b"{")
            for i, (key, sub) in enumerate(value.items()):
                if i:
                    put(b",")
                key_start = pos
                put(dumps(key).encode() + b":")
                walk(sub, path + (key,), key_start)
            put(b"}")
        elif isinstance(value, list):
            put(b"[")
            for i, sub in enumerate(value):
                if i:
                    put(b",")
                walk(sub, path + (i,), pos)
            put(b"]")
        else:
            put(dumps(value).encode())
        spans[path] = (member_start, start, pos)

    walk(payload, (), 0)
    return Serialized(b"".join(chunks), spans)


def mutation_text(ser: Serialized, m: Mutation) -> bytes:
    """The JSON text of the mutated payload, spliced from the original text (re-serializing
    large maximal payloads tens of thousands of times would take minutes)."""
    text = ser.text
    if not m.path:
        return dumps(m.value).encode()
    if m.delete:
        member_start, _, end = ser.spans[m.path]
        if text[member_start - 1] in b"{[":  # first member: drop the comma after it
            return text[:member_start] + text[end + 1 if text[end:end + 1] == b"," else end:]
        return text[:member_start - 1] + text[end:]
    if m.path not in ser.spans:  # a new member: insert before the closing brace
        _, start, end = ser.spans[m.path[:-1]]
        comma = b"," if end - start > 2 else b""  # "{}" is 2 bytes
        member = comma + dumps(m.path[-1]).encode() + b":" + dumps(m.value).encode()
        return text[:end - 1] + member + text[end - 1:]
    _, start, end = ser.spans[m.path]
    if m.copies_items:  # reuse the item's text rather than re-serializing a long array
        _, item_start, item_end = ser.spans[m.path + (0,)]
        value = b"[" + b",".join([text[item_start:item_end]] * len(m.value)) + b"]"
    else:
        value = dumps(m.value).encode()
    return text[:start] + value + text[end:]


def abstract_path(path: tuple) -> tuple:
    return tuple("[]" if isinstance(p, int) else p for p in path)


def representative_locations(schema: MessageSchema, payload: Any,
                             every_item: bool) -> list[tuple[tuple, Any, dict]]:
    """One location per schema location: the items of one array are the same schema location,
    so only one of them is mutated, at an index that varies from one location to the next.
    (Every item of every nested array doubles the work per nesting level without reaching
    new schema locations: about 3.7 GB of payload text instead of 1.5 GB.)"""
    all_locations = list(locations(payload, schema.root, schema.root))
    if every_item:
        return all_locations
    groups: dict[tuple, list] = {}
    for loc in all_locations:
        groups.setdefault(abstract_path(loc[0]), []).append(loc)
    return [occurrences[i % len(occurrences)] for i, occurrences in enumerate(groups.values())]


def value_at(payload: Any, path: tuple) -> Any:
    for key in path:
        payload = payload[key]
    return payload


def container_level(node: dict) -> dict:
    """The object or array schema `node` without the subschemas of its members or items:
    checks only type, required, additionalProperties, minItems and maxItems."""
    if "properties" in node:
        return {**node, "properties": {name: {} for name in node["properties"]}}
    if "items" in node:
        return {**node, "items": {}}
    return node


def reference_rejects(schema: MessageSchema, nodes: dict, payload: Any, m: Mutation) -> bool:
    """Whether the reference rejects the mutated payload.

    The rest of the payload is valid (the maximal payload passed the reference) and none of
    the keywords used relates different parts of a payload, so it is enough to validate what
    changed: a replaced value against its own subschema; when a member was removed or added,
    or an array was filled with copies of one of its valid items, only the level of the
    container (its members and items did not change). Validating the whole maximal payload
    for each of ~30000 mutations would take minutes."""
    if not m.path:
        return not schema.validator.is_valid(m.value)
    if m.delete or m.path not in nodes:
        container = m.path[:-1]
        local = Mutation(m.what, m.path[-1:], m.value, m.delete, m.expect)
        sub_schema = container_level(nodes[container])
        value = apply_mutation(value_at(payload, container), local)
    elif m.copies_items:
        sub_schema, value = container_level(nodes[m.path]), m.value
    else:
        sub_schema, value = nodes[m.path], m.value
    return not schema.validator.evolve(schema=sub_schema).is_valid(value)


def phase_mutations(tool: Tool, schemas: list[MessageSchema], maximal: dict, results: Results,
                    every_item: bool = False) -> None:
    cases = []  # (schema, serialized maximal payload, mutation)
    for schema in schemas:
        payload = maximal.get(schema.label)
        if payload is None:
            continue
        ser = serialize_with_spans(payload)
        nodes = {path: node for path, _, node in locations(payload, schema.root, schema.root)}
        mutations = [m for path, value, node in representative_locations(schema, payload, every_item)
                     for m in mutations_at(path, value, node, schema.draft4)]
        spot_checked: set[str] = set()
        for i, m in enumerate(mutations):
            where = f"{schema.label} {m.what} at {m.where()}"
            if m.what not in spot_checked or i % 20 == 0:  # the splicing is right (sampled)
                spot_checked.add(m.what)
                if json.loads(mutation_text(ser, m)) != apply_mutation(payload, m):
                    results.fail("mutations", f"{where}: spliced text differs from the mutation - test bug")
            if not reference_rejects(schema, nodes, payload, m):
                results.fail("mutations", f"{where}: the reference accepts the mutated payload - test bug")
                continue
            cases.append((schema, ser, m))
    outputs = tool.run(payload_prefix(schema) + mutation_text(ser, m) for schema, ser, m in cases)
    by_what: dict[str, int] = {}
    for (schema, ser, m), out in zip(cases, outputs):
        by_what[m.what] = by_what.get(m.what, 0) + 1
        problem = mutation_problem(schema, m, out)
        if problem:
            text = mutation_text(ser, m).decode("utf-8", "replace")
            results.fail("mutations", f"{schema.label} {m.what} at {m.where()}: {problem}\n"
                                      f"    tool: {describe(out)}\n    payload: {short(text, 300)}")
    results.count("mutations checked", len(cases))
    results.counts["mutations by kind"] = by_what


def mutation_problem(schema: MessageSchema, m: Mutation, out: dict) -> str | None:
    want = expected_code(schema.version, m.expect)
    if out.get("ok"):
        return f"accepted, expected {want}"
    if out.get("code") != want:
        return f"code {out.get('code')}, expected {want}"
    if m.member is not None and m.member not in out.get("description", ""):
        return f"description does not name '{m.member}'"
    return None


# --------------------------------------------------------------------------------------------
# Phase 3: random corpus against the reference
# --------------------------------------------------------------------------------------------

@dataclass
class CorpusItem:
    schema: MessageSchema
    text: str
    payload: Any
    reference: str | None  # None = valid, else the reference's first error
    mutations: list


def build_corpus(rng: random.Random, schemas: list[MessageSchema], size: int,
                 results: Results) -> list[CorpusItem]:
    """Even items are valid payloads, odd items mutated ones. The first 2 * len(schemas) items
    give every schema one of each; the rest pick schemas at random."""
    items = []
    for i in range(size):
        schema = schemas[i // 2] if i < 2 * len(schemas) else rng.choice(schemas)
        payload = random_value(rng, schema.root, schema.root, schema.draft4)
        applied = []
        if i % 2 == 1:
            payload, applied = random_invalid(rng, schema, payload)
        reference = reference_error(schema, payload)
        if not applied and reference is not None:
            results.fail("corpus", f"{schema.label}: generated 'valid' payload rejected by the reference "
                                   f"({reference}) - generator bug")
        items.append(CorpusItem(schema, dumps(payload), payload, reference, applied))
    return items


def phase_corpus(tool: Tool, rng: random.Random, schemas: list[MessageSchema], size: int,
                 results: Results) -> None:
    """Verdicts must agree with the reference; besides, valid payloads must round-trip and a
    payload with a single catalogue mutation must get that mutation's code."""
    items = build_corpus(rng, schemas, size, results)
    outputs = tool.run(payload_line(item.schema, item.text) for item in items)
    valid = sum(item.reference is None for item in items)
    results.count("corpus valid", valid)
    results.count("corpus invalid", len(items) - valid)
    disagreements, round_trip, wrong_code = [], [], []
    for item, out in zip(items, outputs):
        if bool(out.get("ok")) != (item.reference is None):
            disagreements.append((item, out))
        elif out.get("ok"):
            difference = first_difference(item.payload, json.loads(out["json"]))
            if difference:
                round_trip.append(f"{item.schema.label}: valid payload re-encodes differently at {difference}")
        elif len(item.mutations) == 1 and item.mutations[0].what != "random type":
            m = item.mutations[0]
            problem = mutation_problem(item.schema, m, out)
            if problem:
                wrong_code.append(f"{item.schema.label} {m.what} at {m.where()}: {problem}\n"
                                  f"    tool: {describe(out)}\n    payload: {short(item.text, 300)}")
    results.count("corpus disagreements", len(disagreements))
    results.count("corpus round-trip differences", len(round_trip))
    results.count("corpus wrong codes", len(wrong_code))
    for item, out in disagreements:
        results.fail("corpus", disagreement_text(item, out))
    for message in round_trip:
        results.fail("corpus round trip", message)
    for message in wrong_code:
        results.fail("corpus codes", message)


def disagreement_text(item: CorpusItem, out: dict) -> str:
    mutations = ", ".join(f"{m.what} at {m.where()}" for m in item.mutations) or "none"
    return (f"{item.schema.label}: tool says {'valid' if out.get('ok') else 'invalid'}, reference says "
            f"{item.reference or 'valid'}\n    mutations: {mutations}\n    tool: {describe(out)}\n"
            f"    payload: {short(item.text, 600)}")


# --------------------------------------------------------------------------------------------
# Phase 3b: format fuzzing against the reference
# --------------------------------------------------------------------------------------------

URI_ALPHABET = "ab:/?#[]@!$&'()*+,;=%-._~0F9 éxhtp"
DATETIME_ALPHABET = "0123456789-:T tZz+.x\u0661"
LIMIT_16 = ('{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,'
            '"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Absolute","chargingSchedule":'
            '{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":%s}]}}}')


def perturb(rng: random.Random, text: str, alphabet: str) -> str:
    """`text` with 0-3 random one-character insertions, deletions or replacements."""
    chars = list(text)
    for _ in range(rng.randint(0, 3)):
        pos = rng.randrange(len(chars) + 1)
        roll = rng.random()
        if roll < 0.4 or not chars:
            chars.insert(pos, rng.choice(alphabet))
        elif roll < 0.7:
            del chars[min(pos, len(chars) - 1)]
        else:
            chars[min(pos, len(chars) - 1)] = rng.choice(alphabet)
    return "".join(chars)


def fuzz_uri(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "".join(rng.choice(URI_ALPHABET) for _ in range(rng.randint(0, 12)))
    return perturb(rng, rng.choice(VALID_URIS), URI_ALPHABET)


def fuzz_decimal(rng: random.Random) -> str:
    """JSON number text of a decimal with few digits, plain or with an exponent."""
    digits = str(rng.randint(0, 10 ** rng.randint(1, 8)))
    scale = rng.choice([0, 1, 1, 2, 3])
    if rng.random() < 0.5:
        padded = digits.rjust(scale + 1, "0")
        text = padded if scale == 0 else f"{padded[:-scale]}.{padded[-scale:]}"
        if scale and rng.random() < 0.3:
            text += "0" * rng.randint(1, 3)
    else:
        exponent = -scale + rng.randint(-2, 2)
        text = f"{digits}{rng.choice('eE')}{exponent}"
    return "-" + text if rng.random() < 0.3 else text


def format_fuzz_cases(rng: random.Random, by_key: dict, count: int) -> list[tuple[MessageSchema, str]]:
    """(schema, payload text) pairs probing the uri, date-time and multipleOf checks."""
    cases = []
    for i in range(count):
        cases.append((by_key[("1.6", "GetDiagnostics", "request")], dumps({"location": fuzz_uri(rng)})))
        version = "1.6" if i % 2 else "2.0.1"
        moment = perturb(rng, random_datetime(rng), DATETIME_ALPHABET)
        cases.append((by_key[(version, "Heartbeat", "response")], dumps({"currentTime": moment})))
        cases.append((by_key[("1.6", "SetChargingProfile", "request")], LIMIT_16 % fuzz_decimal(rng)))
    return cases


def phase_formats(tool: Tool, rng: random.Random, schemas: list[MessageSchema], count: int,
                  results: Results) -> None:
    """Near-valid URIs, date-times and decimals: the tool's verdict must match the reference."""
    by_key = {(s.version, s.action, s.kind): s for s in schemas}
    cases = format_fuzz_cases(rng, by_key, count)
    outputs = tool.run(payload_line(schema, text) for schema, text in cases)
    disagreements = []
    for (schema, text), out in zip(cases, outputs):
        reference = reference_error(schema, json.loads(text))
        if bool(out.get("ok")) != (reference is None):
            disagreements.append(f"{schema.label}: tool says {'valid' if out.get('ok') else 'invalid'}, "
                                 f"reference says {reference or 'valid'}\n    payload: {short(text, 300)}\n"
                                 f"    tool: {describe(out)}")
    results.count("format fuzz payloads", len(cases))
    results.count("format fuzz disagreements", len(disagreements))
    for message in disagreements:
        results.fail("format fuzz", message)


# --------------------------------------------------------------------------------------------
# Phase 4: edge cases with fixed expectations
# --------------------------------------------------------------------------------------------

@dataclass
class Edge:
    """A literal payload and what must happen to it.

    `expect` is None for "accepted" (then the re-encoded value must equal the input unless
    `round_trip` is False) or a violation category; `reference` says whether the
    reference must agree (False for cases it cannot express, such as duplicate members, or
    where the tool deliberately differs, such as integers beyond 64 bits)."""

    version: str
    action: str
    kind: str
    text: str
    expect: str | None
    note: str
    reference: bool = True
    round_trip: bool = True


def edge_cases() -> list[Edge]:
    status16 = '{"connectorId":%s,"errorCode":"NoError","status":"Available"%s}'
    status201 = '{"timestamp":%s,"connectorStatus":"Available","evseId":%s,"connectorId":1}'
    limit16 = ('{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,'
               '"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Absolute","chargingSchedule":'
               '{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":%s}]}}}')
    auth16 = '{"idTag":"%s"}'
    heartbeat = '{"currentTime":"%s"}'
    dt = "2025-03-01T10:00:00Z"
    cases = [
        Edge("1.6", "StatusNotification", "request", status16 % ("1", ',"status":"Faulted"'), FORMAT,
             "duplicate member", reference=False),
        Edge("2.0.1", "Heartbeat", "response", '{"currentTime":"%s","currentTime":"%s"}' % (dt, dt), FORMAT,
             "duplicate member", reference=False),
        Edge("2.0.1", "DataTransfer", "request",
             '{"vendorId":"v","customData":{"vendorId":"a","x":1,"x":2}}', FORMAT,
             "duplicate vendor member inside customData", reference=False),
        Edge("2.0.1", "DataTransfer", "request", '{"vendorId":"v","vendorId":"w"}', FORMAT,
             "duplicate member", reference=False),
        Edge("2.0.1", "DataTransfer", "request", '{"vendorId":"v","data":{"a":1,"a":2}}', FORMAT,
             "duplicate member inside DataTransfer data", reference=False),
        Edge("1.6", "StatusNotification", "request",
             '{"connector\\u0049d":1,"errorCode":"NoError","status":"Available"}', None, "escaped member name"),
        Edge("2.0.1", "DataTransfer", "request", '{"vendorId":"\\ud800"}', FORMAT,
             "lone surrogate escape (not Unicode text)", reference=False),
        Edge("2.0.1", "DataTransfer", "request", '{"vendorId":"v","data":%s}' % ("[" * 28 + "]" * 28), None,
             "data nested 28 deep"),
        Edge("2.0.1", "DataTransfer", "request", '{"vendorId":"v","data":%s}' % ("[" * 40 + "]" * 40), FORMAT,
             "data nested 40 deep (deliberate limit: 32 levels)", reference=False),
        Edge("1.6", "Heartbeat", "request", "[]", FORMAT, "payload is an array"),
        Edge("2.1", "Heartbeat", "request", '"x"', FORMAT, "payload is a string"),
        Edge("2.0.1", "Heartbeat", "request", "null", FORMAT, "payload is null"),
        Edge("1.6", "Heartbeat", "request", '{"a":', FORMAT, "broken JSON", reference=False),
        Edge("2.1", "Heartbeat", "request", "{} {}", FORMAT, "trailing data", reference=False),
        Edge("1.6", "StatusNotification", "request", status16 % ("1.0", ""), TYPE,
             "draft-04: 1.0 is not an integer"),
        Edge("2.0.1", "StatusNotification", "request", status201 % ('"%s"' % dt, "1.0"), None,
             "draft-06: 1.0 is an integer"),
        Edge("2.0.1", "StatusNotification", "request", status201 % ('"%s"' % dt, "1e0"), None,
             "draft-06: 1e0 is an integer"),
        Edge("1.6", "StatusNotification", "request", status16 % (str(INT64_MAX), ""), None, "int64 max"),
        Edge("1.6", "StatusNotification", "request", status16 % (str(-INT64_MAX - 1), ""), None, "int64 min"),
        Edge("1.6", "StatusNotification", "request", status16 % (str(INT64_MAX + 1), ""), PROPERTY,
             "int64 max + 1 (deliberate: integers are 64-bit)", reference=False),
        Edge("1.6", "StatusNotification", "request", status16 % (str(-INT64_MAX - 2), ""), PROPERTY,
             "int64 min - 1 (deliberate: integers are 64-bit)", reference=False),
        Edge("1.6", "StatusNotification", "request", status16 % (str(2**64), ""), PROPERTY,
             "2^64 (deliberate: integers are 64-bit)", reference=False),
        Edge("2.0.1", "StatusNotification", "request", status201 % ('"%s"' % dt, str(2**64)), PROPERTY,
             "2^64 (deliberate: integers are 64-bit)", reference=False),
        Edge("2.0.1", "StatusNotification", "request", status201 % ('"%s"' % dt, str(INT64_MAX + 1)), PROPERTY,
             "int64 max + 1 (deliberate: integers are 64-bit)", reference=False),
        Edge("2.0.1", "StatusNotification", "request", status201 % ('"%s"' % dt, str(-INT64_MAX - 2)), PROPERTY,
             "int64 min - 1 (deliberate: integers are 64-bit)", reference=False),
    ]
    for text, expect in (("21.4", None), ("2.14e1", None), ("7.0", None), ("0", None), ("1e-1", None),
                         ("0.30000000000000004", PROPERTY), ("21.45", PROPERTY), ("1e-2", PROPERTY)):
        cases.append(Edge("1.6", "SetChargingProfile", "request", limit16 % text, expect,
                          f"multipleOf 0.1: {text}"))
    for text, expect in (("é" * 20, None), ("😀" * 20, None), ("😀" * 21, PROPERTY),
                         ("\\u00e9" * 20, None),
                         ("\\ud83d\\ude00" * 20, None), ("\\ud83d\\ude00" * 21, PROPERTY)):
        cases.append(Edge("1.6", "Authorize", "request", auth16 % text, expect,
                          f"maxLength 20 in code points: {text[:14]}..."))
    for text, expect in (("2025-03-01t10:00:00z", None), ("2024-02-29T00:00:00Z", None),
                         ("2000-02-29T00:00:00Z", None), ("1900-02-29T00:00:00Z", TYPE),
                         ("0000-01-01T00:00:00Z", TYPE), ("2025-03-01T10:00:60Z", TYPE),
                         ("2025-03-01T10:00:00+24:00", TYPE), ("2025-03-01T10:00:00+23:59", None),
                         ("2025-03-01T10:00:00.Z", TYPE), ("2025-03-01T10:00:00.123456789012Z", None),
                         ("2025-03-01T10:00:00.123456789012+01:00", None),
                         ("2025-03-01T10:00:00+0100", TYPE), ("2025-3-01T10:00:00Z", TYPE),
                         ("2025-04-31T10:00:00Z", TYPE), ("2025-03-01T10:00:00ZZ", TYPE),
                         ("２025-03-01T10:00:00Z", TYPE)):
        cases.append(Edge("2.0.1", "Heartbeat", "response", heartbeat % text, expect, f"date-time {text}"))
    # Longer than the 40 characters DateTime keeps: accepted, re-encoded with 9 fraction
    # digits (a documented normalization in types.cpp, so no round-trip check).
    for text in ("2025-03-01T10:00:00.12345678901234567890Z", "2025-03-01T10:00:00.12345678901234567890+01:00"):
        cases.append(Edge("2.0.1", "Heartbeat", "response", heartbeat % text, None,
                          "date-time with 20 fraction digits", round_trip=False))
    # Numbers must be read exactly: 1877653048309065.0 is an integer (draft-06), and a
    # re-encoded number must be the double the text denotes.
    meter = ('{"evseId":1,"meterValue":[{"timestamp":"2025-03-01T10:00:00Z","sampledValue":'
             '[{"value":%s}]}]}')
    for text in ("1877653048309065.0", "9007199254740991.0", "-7538297416014180.0"):
        cases.append(Edge("2.0.1", "ClearDisplayMessage", "request", '{"id":%s}' % text, None,
                          f"draft-06 integer {text}"))
    for text in ("380893.69151667156", "-941989.5434327705", "0.1", "5e-324", "1.7976931348623157e308"):
        cases.append(Edge("2.0.1", "MeterValues", "request", meter % text, None, f"number {text}"))
    # Beyond the double range: Python reads infinity and jsonschema accepts it, but infinity has
    # no JSON form to re-encode, so the validator refuses it (an intentional deviation).
    cases.append(Edge("2.0.1", "MeterValues", "request", meter % "1e400", PROPERTY, "number 1e400",
                      reference=False))
    for uri, expect in [(uri, None) for uri in VALID_URIS] + [(uri, PROPERTY) for uri in INVALID_URIS]:
        cases.append(Edge("1.6", "GetDiagnostics", "request", dumps({"location": uri}), expect, f"uri {uri}"))
    return cases


def phase_edges(tool: Tool, schemas: list[MessageSchema], results: Results) -> None:
    by_key = {(s.version, s.action, s.kind): s for s in schemas}
    cases = [(e, by_key[(e.version, e.action, e.kind)]) for e in edge_cases()]
    for (edge, schema), out in zip(cases, tool.run([payload_line(s, e.text) for e, s in cases])):
        where = f"{schema.label} [{edge.note}] {short(edge.text, 120)}"
        want = "ok" if edge.expect is None else expected_code(schema.version, edge.expect)
        got = "ok" if out.get("ok") else out.get("code")
        if got != want:
            results.fail("edge cases", f"{where}: got {got}, expected {want}\n    tool: {describe(out)}")
        elif got == "ok" and edge.round_trip:
            difference = first_difference(json.loads(edge.text), json.loads(out["json"]))
            if difference:
                results.fail("edge cases", f"{where}: re-encoded value differs at {difference}")
        if edge.reference:
            ref = reference_error(schema, json.loads(edge.text))
            if (ref is None) != (edge.expect is None):
                results.fail("edge cases", f"{where}: reference says {ref or 'valid'} - test expectation bug")
    results.count("edge cases", len(cases))


# --------------------------------------------------------------------------------------------
# Phase 5: lenient mode
# --------------------------------------------------------------------------------------------

@dataclass
class LenientCase:
    version: str
    action: str
    kind: str
    payload: str
    strict: str | None  # violation category in strict mode
    lenient_quirks: int | None  # None: rejected in lenient mode too
    expect_json: dict | None = None  # re-encoded value in lenient mode


def lenient_cases() -> list[LenientCase]:
    dt = "2025-03-01T10:00:00Z"
    status = '{"connectorId":%s,"errorCode":"%s","status":"%s"}'
    meter16 = '{"connectorId":1,"meterValue":[{"timestamp":"%s","sampledValue":[{"value":"1"}]}]}'
    meter21 = ('{"evseId":"1","meterValue":[{"timestamp":"2025-03-01T10:00:00","sampledValue":'
               '[{"value":"230.5","measurand":"voltage","x":0}]}]}')
    boot = '{"reason":"powerup","chargingStation":{"model":"M","vendorName":"V","serial":"x"}}'
    all_quirks = QUIRK_ENUM_CASE | QUIRK_NUMBER_AS_STRING | QUIRK_DATETIME_NO_ZONE | QUIRK_UNKNOWN_MEMBER
    return [
        LenientCase("1.6", "StatusNotification", "request", status % ("1", "noerror", "AVAILABLE"), PROPERTY,
                    QUIRK_ENUM_CASE, json.loads(status % ("1", "NoError", "Available"))),
        LenientCase("1.6", "StatusNotification", "request", status % ('"2"', "NoError", "Available"), TYPE,
                    QUIRK_NUMBER_AS_STRING, json.loads(status % ("2", "NoError", "Available"))),
        LenientCase("1.6", "MeterValues", "request", meter16 % "2025-03-01T10:00:00.5", TYPE,
                    QUIRK_DATETIME_NO_ZONE, json.loads(meter16 % "2025-03-01T10:00:00.5Z")),
        LenientCase("1.6", "Heartbeat", "request", '{"vendorThing":{"a":[1,2]}}', FORMAT,
                    QUIRK_UNKNOWN_MEMBER, {}),
        LenientCase("2.0.1", "BootNotification", "request", boot, PROPERTY,
                    QUIRK_ENUM_CASE | QUIRK_UNKNOWN_MEMBER,
                    {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}),
        LenientCase("2.0.1", "Heartbeat", "response", '{"currentTime":"2025-03-01T10:00:00"}', TYPE,
                    QUIRK_DATETIME_NO_ZONE, {"currentTime": dt}),
        LenientCase("2.1", "SetChargingProfile", "response", '{"status":"accepted","statusInfo":{"reasonCode":"x"}}',
                    PROPERTY, QUIRK_ENUM_CASE, {"status": "Accepted", "statusInfo": {"reasonCode": "x"}}),
        LenientCase("2.1", "MeterValues", "request", meter21, TYPE, all_quirks,
                    {"evseId": 1, "meterValue": [{"timestamp": dt, "sampledValue": [
                        {"value": 230.5, "measurand": "Voltage"}]}]}),
        # Quirks do not stretch beyond their definition: still rejected in lenient mode.
        LenientCase("1.6", "StatusNotification", "request", status % ('"1.5"', "NoError", "Available"), TYPE, None),
        LenientCase("1.6", "StatusNotification", "request", status % ('"one"', "NoError", "Available"), TYPE, None),
        LenientCase("1.6", "StatusNotification", "request", status % ("1", "NoError", "Availablex"), PROPERTY, None),
        LenientCase("2.0.1", "Heartbeat", "response", '{"currentTime":"2025-03-01"}', TYPE, None),
        LenientCase("2.0.1", "Heartbeat", "response", '{"currentTime":"%s","currentTime":"%s"}' % (dt, dt),
                    FORMAT, None),
        LenientCase("2.0.1", "Heartbeat", "response", '{}', OCCURRENCE, None),
        # A clean payload reports no quirk in lenient mode.
        LenientCase("2.0.1", "Heartbeat", "response", '{"currentTime":"%s"}' % dt, None, 0, {"currentTime": dt}),
    ]


def phase_lenient(tool: Tool, schemas: list[MessageSchema], results: Results) -> None:
    by_key = {(s.version, s.action, s.kind): s for s in schemas}
    cases = [(c, by_key[(c.version, c.action, c.kind)]) for c in lenient_cases()]
    lines = [payload_line(s, c.payload, mode) for c, s in cases for mode in ("strict", "lenient")]
    outputs = tool.run(lines)
    for i, (case, schema) in enumerate(cases):
        strict, lenient = outputs[2 * i], outputs[2 * i + 1]
        where = f"{schema.label} {case.payload}"
        want_strict = "ok" if case.strict is None else expected_code(schema.version, case.strict)
        got_strict = "ok" if strict.get("ok") else strict.get("code")
        if got_strict != want_strict:
            results.fail("lenient", f"{where}: strict gives {got_strict}, expected {want_strict}")
        if case.lenient_quirks is None:
            if lenient.get("ok"):
                results.fail("lenient", f"{where}: lenient mode accepts it: {describe(lenient)}")
        elif not lenient.get("ok") or lenient.get("quirks") != case.lenient_quirks:
            results.fail("lenient", f"{where}: lenient gives {describe(lenient)}, expected ok with quirks "
                                    f"{case.lenient_quirks}")
        elif not same_json(json.loads(lenient["json"]), case.expect_json):
            results.fail("lenient", f"{where}: lenient re-encodes to {lenient['json']}, expected "
                                    f"{dumps(case.expect_json)}")
    results.count("lenient checks", len(cases) * 2)


# --------------------------------------------------------------------------------------------
# Phase 6: frames
# --------------------------------------------------------------------------------------------

@dataclass
class FrameCase:
    version: str
    role: str
    frame: str
    expect: dict  # members the tool's answer must have
    note: str


def frame_cases(maximal: dict) -> list[FrameCase]:
    boot = {"1.6": {"chargePointVendor": "V", "chargePointModel": "M"},
            "2.0.1": {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}}
    boot["2.1"] = boot["2.0.1"]
    reset = {"1.6": {"type": "Hard"}, "2.0.1": {"type": "Immediate"}, "2.1": {"type": "Immediate"}}
    id36, id37 = "i" * 36, "i" * 37
    cases = []
    for v in ("1.6", "2.0.1", "2.1"):
        frame_error = FRAME_ERROR[v]
        cases += [
            FrameCase(v, "csms", dumps([2, "m1", "BootNotification", boot[v]]),
                      {"ok": True, "type": 2, "message_id": "m1", "action": "BootNotification"}, "valid CALL"),
            FrameCase(v, "csms", dumps([2, "m2", "BootNotification", maximal[f"{v} BootNotification request"]]),
                      {"ok": True, "type": 2, "message_id": "m2"}, "valid CALL, maximal payload"),
            FrameCase(v, "charger", dumps([2, id36, "Reset", reset[v]]),
                      {"ok": True, "type": 2, "message_id": id36, "action": "Reset"}, "36-character id"),
            FrameCase(v, "csms", '[2,"m3","Heartbeat",{]', {"ok": False, "message_id": "m3",
                      "code": ERROR_CODES[v][FORMAT]}, "broken payload JSON"),
            FrameCase(v, "csms", '[2,"m4', {"ok": False, "code": frame_error, "message_id": "-1",
                      "reply": "callerror"}, "malformed JSON, id unreadable"),
            FrameCase(v, "csms", 'not json', {"ok": False, "code": frame_error, "message_id": "-1",
                      "reply": "callerror"}, "not JSON"),
            FrameCase(v, "csms", '{"a":1}', {"ok": False, "code": frame_error, "message_id": "-1"},
                      "not an array"),
            FrameCase(v, "csms", dumps([2, "m5", "FooBar", {}]), {"ok": False, "code": "NotImplemented",
                      "message_id": "m5", "reply": "callerror"}, "unknown action"),
            FrameCase(v, "csms", dumps([2, "m6", "BootNotification", {}]),
                      {"ok": False, "code": ERROR_CODES[v][OCCURRENCE], "message_id": "m6",
                       "reply": "callerror"},
                      "invalid payload in a CALL"),
            FrameCase(v, "csms", dumps([7, "m7", "Heartbeat", {}]),
                      {"ok": False, "reply": "callerror" if v == "2.0.1" else "none"}
                      | ({"code": "MessageTypeNotSupported", "message_id": "m7"} if v == "2.0.1" else {}),
                      "message type 7"),
            FrameCase(v, "csms", dumps([2, id37, "Heartbeat", {}]), {"ok": False, "code": frame_error},
                      "37-character message id"),
            FrameCase(v, "csms", dumps([2, "m8", "Heartbeat"]), {"ok": False, "code": frame_error},
                      "CALL with 3 elements"),
        ]
    stream = {"id": 3, "pending": 0, "basetime": "2025-03-01T10:00:00Z", "data": [{"t": 0, "v": "230.1"}]}
    cases += [
        FrameCase("2.1", "csms", dumps([6, "s-17", "NotifyPeriodicEventStream", stream]),
                  {"ok": True, "type": 6, "message_id": "s-17", "action": "NotifyPeriodicEventStream"}, "SEND"),
        FrameCase("2.1", "csms", dumps([6, "s-18", "NotifyPeriodicEventStream",
                                        maximal["2.1 NotifyPeriodicEventStream request"]]),
                  {"ok": True, "type": 6}, "SEND, maximal payload"),
        FrameCase("2.1", "csms", dumps([2, "s-20", "NotifyPeriodicEventStream", stream]),
                  {"ok": False, "code": "NotSupported", "message_id": "s-20", "reply": "callerror"},
                  "SEND-only action as a CALL"),
        FrameCase("2.0.1", "csms", dumps([6, "s-19", "Heartbeat", {}]),
                  {"ok": False, "code": "MessageTypeNotSupported", "reply": "callerror"}, "SEND in 2.0.1"),
    ]
    return cases


def phase_frames(tool: Tool, maximal: dict, results: Results) -> None:
    cases = frame_cases(maximal)
    outputs = tool.run([frame_line(c.version, c.role, c.frame) for c in cases])
    for case, out in zip(cases, outputs):
        wrong = {k: out.get(k) for k, v in case.expect.items() if out.get(k) != v}
        if wrong:
            results.fail("frames", f"{case.version} {case.note}: {short(case.frame, 120)}\n"
                                   f"    expected {case.expect}\n    tool: {describe(out)}")
    results.count("frame checks", len(cases))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def print_summary(results: Results, schemas: list[MessageSchema], seed: int, elapsed: float) -> None:
    c = results.counts
    print(f"OCPP schema conformance (seed {seed})")
    print(f"  schemas:                   {len(schemas)} "
          f"({', '.join(f'{v}: {sum(s.version == v for s in schemas)}' for v in ('1.6', '2.0.1', '2.1'))})")
    print(f"  minimal+maximal payloads:  {c.get('minimal+maximal payloads', 0)} "
          f"(round trips ok: {c.get('min/max round trips', 0)})")
    print(f"  mutations checked:         {c.get('mutations checked', 0)}")
    kinds = c.get("mutations by kind", {})
    print("    " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"  corpus:                    {c.get('corpus valid', 0) + c.get('corpus invalid', 0)} "
          f"({c.get('corpus valid', 0)} valid, {c.get('corpus invalid', 0)} invalid)")
    print(f"  corpus disagreements:      {c.get('corpus disagreements', 0)} "
          f"(round-trip differences: {c.get('corpus round-trip differences', 0)}, "
          f"wrong codes: {c.get('corpus wrong codes', 0)})")
    print(f"  format fuzz:               {c.get('format fuzz payloads', 0)} "
          f"(disagreements: {c.get('format fuzz disagreements', 0)})")
    print(f"  edge cases:                {c.get('edge cases', 0)}")
    print(f"  lenient checks:            {c.get('lenient checks', 0)}")
    print(f"  frame checks:              {c.get('frame checks', 0)}")
    print(f"  tool lines:                {c.get('tool lines', 0)}")
    print(f"  elapsed:                   {elapsed:.1f} s")
    if not results.failed:
        print("PASSED")
        return
    total = sum(len(messages) for messages in results.failures.values())
    print(f"FAILED: {total} failures ({', '.join(f'{k}: {len(v)}' for k, v in results.failures.items())})")
    for phase, messages in results.failures.items():
        for message in messages[:MAX_PRINTED_FAILURES]:
            print(f"  - [{phase}] {message}")
        if len(messages) > MAX_PRINTED_FAILURES:
            print(f"  - [{phase}] ... and {len(messages) - MAX_PRINTED_FAILURES} more")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tool", type=Path, default=Path("build/bin/ocpp_validate"))
    parser.add_argument("--shared", type=Path, default=Path("../shared/ocpp"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--corpus", type=int, default=DEFAULT_CORPUS, help="random payloads (default 12000)")
    parser.add_argument("--every-item", action="store_true",
                        help="mutate inside every array item, not one item per array (slow)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    results = Results()
    for problem in verify_reference_setup():
        results.fail("setup", problem)
    schemas = load_schemas(args.shared)
    tool = Tool(args.tool)
    rng = random.Random(args.seed)

    maximal = phase_min_max(tool, schemas, results)
    phase_mutations(tool, schemas, maximal, results, args.every_item)
    phase_corpus(tool, rng, schemas, args.corpus, results)
    phase_formats(tool, rng, schemas, FORMAT_FUZZ_ROUNDS, results)
    phase_edges(tool, schemas, results)
    phase_lenient(tool, schemas, results)
    phase_frames(tool, maximal, results)
    results.count("tool lines", tool.lines)
    print_summary(results, schemas, args.seed, time.monotonic() - started)
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
