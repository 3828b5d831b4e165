#!/usr/bin/env python3
"""Generates Switchyard's typed OCPP messages and schema tables from the OCA JSON schemas.

Reads ../shared/ocpp/schemas/{v16,v201,v21}/*.json and ../shared/ocpp/messages.csv and writes,
per version, services/common/ocpp/generated/<v>/messages.h (enums and plain structs) and
schema.cpp (constexpr tables that the decoder and encoder interpret). The output is committed:
the build never needs ../shared.

    ocpp_codegen.py --shared ../shared/ocpp --out services/common/ocpp/generated
"""
import argparse
import csv
import json
import keyword
import os
import re
import sys

VERSIONS = [("1.6", "v16"), ("2.0.1", "v201"), ("2.1", "v21")]
CPP_KEYWORDS = {
    "default", "delete", "new", "class", "template", "operator", "namespace", "union", "private",
    "public", "protected", "struct", "register", "signed", "unsigned", "int", "float", "double",
    "char", "bool", "long", "short", "return", "switch", "case", "continue", "break", "export",
    "module", "import", "this", "throw", "try", "catch", "auto", "schema",
}
DIRECTIONS = {"CS->CSMS": "kChargerToCsms", "CSMS->CS": "kCsmsToCharger", "both": "kBoth"}


def snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    s = re.sub(r"[^a-z0-9_]", "_", s)
    if s in CPP_KEYWORDS or keyword.iskeyword(s):
        s += "_"
    return s


def pascal(name):
    parts = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def enumerator(value):
    name = "k" + pascal(value)
    return name if re.match(r"^k[A-Za-z0-9]", name) else "kValue" + pascal(value)


def strip_suffix(name, kind):
    # IdTokenType -> IdToken (struct), IdTokenEnumType -> IdTokenEnum (enum): never the same name.
    if name.endswith("Type") and len(name) > 4:
        return name[:-4]
    return name


def index_hash(b, seed, positions):
    """schema.h's NameIndex::hash, on UTF-8 bytes."""
    m = 0xFFFFFFFF
    h = ((seed ^ len(b)) * 0x01000193) & m
    n = len(b)
    if n > 0:
        for p in positions:
            i = (p if p < n else n - 1) if p >= 0 else (n + p if n + p >= 0 else 0)
            h = ((h ^ b[i]) * 0x01000193) & m
    return h ^ (h >> 15)


def choose_positions(names):
    """Greedily picks character positions that, with the length, tell every name apart."""
    keys = [n.encode("utf-8") for n in names]
    longest = max((len(k) for k in keys), default=0)
    candidates = list(range(min(longest, 64))) + [-i for i in range(1, min(longest, 64) + 1)]

    def signature(k, positions):
        n = len(k)
        out = [n]
        for p in positions:
            if n:
                out.append(k[(p if p < n else n - 1) if p >= 0 else max(n + p, 0)])
        return tuple(out)

    def clashes(positions):
        seen = {}
        for k in keys:
            sig = signature(k, positions)
            seen[sig] = seen.get(sig, 0) + 1
        return sum(c * (c - 1) for c in seen.values())

    chosen = []
    while clashes(chosen) and len(chosen) < 4:
        best = min(candidates, key=lambda p: (clashes(chosen + [p]), abs(p)))
        chosen.append(best)
    return chosen if not clashes(chosen) else None


def perfect_index(names):
    """(size, seed, positions, slots) with no collision, or None."""
    positions = choose_positions(names)
    if positions is None:
        return None
    keys = [n.encode("utf-8") for n in names]
    size = 1
    while size < 2 * max(1, len(names)):
        size *= 2
    for _ in range(4):
        for seed in range(1, 4000):
            slots = [0xFFFF] * size
            for i, k in enumerate(keys):
                j = index_hash(k, seed, positions) & (size - 1)
                if slots[j] != 0xFFFF:
                    break
                slots[j] = i
            else:
                return size, seed, positions, slots
        size *= 2
    return None


def emit_index(out, symbol, names):
    """Emits the slots array; returns the NameIndex initializer."""
    found = perfect_index(names)
    if found is None:
        return "ocpp::NameIndex{nullptr, 0, 0, {0, 0, 0, 0}, 0}"
    size, seed, positions, slots = found
    out.append(f"constexpr std::uint16_t {symbol}[] = {{{', '.join(str(x) for x in slots)}}};\n")
    pos = ", ".join(str(p) for p in (positions + [0, 0, 0, 0])[:4])
    return f"ocpp::NameIndex{{{symbol}, {size - 1}, {seed}u, {{{pos}}}, {len(positions)}}}"


def cpp_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cpp_double(v):
    r = repr(float(v))
    return r if ("." in r or "e" in r or "inf" in r) else r + ".0"


class Enum:
    def __init__(self, name, values):
        self.name = name
        self.values = values
        names, seen = [], set()
        for v in values:
            n = enumerator(v)
            while n in seen:
                n += "_"
            seen.add(n)
            names.append(n)
        self.enumerators = names


class Field:
    def __init__(self, json_name, value, required):
        self.json_name = json_name
        self.member = snake(json_name)
        self.value = value
        self.required = required


class Value:
    """A value slot: kind + constraints + nested type."""

    def __init__(self, kind, **kw):
        self.kind = kind  # string, uri, integer, number, boolean, enum, datetime, object, array
        self.max_length = kw.get("max_length", 0)
        self.minimum = kw.get("minimum")
        self.maximum = kw.get("maximum")
        self.multiple_of = kw.get("multiple_of")
        self.min_items = kw.get("min_items", 0)
        self.max_items = kw.get("max_items", 0)
        self.enum = kw.get("enum")
        self.struct = kw.get("struct")
        self.item = kw.get("item")
        self.draft4 = kw.get("draft4", False)

    def cpp_type(self):
        k = self.kind
        if k in ("string", "uri"):
            return f"ocpp::CiString<{self.max_length}>" if self.max_length else "ocpp::String"
        if k == "integer":
            return "std::int64_t"
        if k == "number":
            return "double"
        if k == "boolean":
            return "bool"
        if k == "enum":
            return self.enum.name
        if k == "datetime":
            return "ocpp::DateTime"
        if k == "object":
            return self.struct.name
        if k == "array":
            return f"ocpp::List<{self.item.cpp_type()}>"
        if k == "any":
            return "ocpp::RawJson"
        raise ValueError(k)

    def key(self):
        """Structural identity, for de-duplicating inline types."""
        return json.dumps([self.kind, self.max_length, self.minimum, self.maximum, self.multiple_of,
                           self.min_items, self.max_items,
                           self.enum.values if self.enum else None,
                           self.struct.key if self.struct else None,
                           self.item.key() if self.item else None, self.draft4])


class Struct:
    def __init__(self, name, fields, extra, key, draft4):
        self.name = name
        self.fields = fields
        self.extra = extra  # additionalProperties allowed: keep unknown members
        self.key = key
        self.draft4 = draft4
        self.action = None  # set on message roots


class Version:
    def __init__(self, label, short):
        self.label = label
        self.short = short
        self.structs = []  # in dependency order
        self.struct_by_key = {}
        self.struct_names = {}
        self.enums = []
        self.enum_by_key = {}
        self.enum_names = {}
        self.messages = []

    # -- types ---------------------------------------------------------------------------
    def enum_for(self, name, values, context):
        key = json.dumps(values)
        if key in self.enum_by_key:
            return self.enum_by_key[key]
        final = name
        if final in self.enum_names or final in self.struct_names:
            final = context + name
        i = 2
        while final in self.enum_names or final in self.struct_names:
            final = f"{name}{i}"
            i += 1
        e = Enum(final, values)
        self.enum_by_key[key] = e
        self.enum_names[final] = e
        self.enums.append(e)
        return e

    def struct_for(self, name, fields, extra, draft4, context, root=False):
        key = json.dumps([[f.json_name, f.required, f.value.key()] for f in fields] + [extra, draft4])
        if root:  # every message gets its own root struct, even when two look alike
            key = "root:" + name
        if key in self.struct_by_key:
            return self.struct_by_key[key]
        final = name
        if final in self.struct_names or final in self.enum_names:
            final = re.sub(r"(Request|Response)$", "", context) + name
        i = 2
        while final in self.struct_names or final in self.enum_names:
            final = f"{context}{name}{i}"
            i += 1
        s = Struct(final, fields, extra, key, draft4)
        self.struct_by_key[key] = s
        self.struct_names[final] = s
        self.structs.append(s)
        return s


class SchemaFile:
    def __init__(self, version, path, root_name):
        self.version = version
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.draft4 = "draft-04" in self.doc.get("$schema", "")
        self.root_name = root_name
        self.def_cache = {}

    def resolve(self, node):
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/definitions/"):
                raise ValueError(f"{self.path}: unsupported $ref {ref}")
            node = self.doc["definitions"][ref[len("#/definitions/"):]]
        return node

    def ref_name(self, node):
        if "$ref" in node:
            return node["$ref"].split("/")[-1]
        return None

    def value(self, node, hint, container):
        """Builds the Value for a schema node; hint names inline types."""
        ref = self.ref_name(node)
        node = self.resolve(node)
        t = node.get("type")
        if isinstance(t, list):
            raise ValueError(f"{self.path}: type lists are not supported")
        v = self.version
        if "enum" in node:
            if t != "string":
                raise ValueError(f"{self.path}: non-string enum")
            name = strip_suffix(ref, "enum") if ref else ENUM_NAMES.get((container, hint), container + pascal(hint))
            action = re.sub(r"(Request|Response)$", "", self.root_name)
            return Value("enum", enum=v.enum_for(name, node["enum"], action), draft4=self.draft4)
        if t == "string":
            fmt = node.get("format")
            if fmt == "date-time":
                return Value("datetime", draft4=self.draft4)
            return Value("uri" if fmt == "uri" else "string", max_length=node.get("maxLength", 0),
                         draft4=self.draft4)
        if t in ("integer", "number"):
            return Value(t, minimum=node.get("minimum"), maximum=node.get("maximum"),
                         multiple_of=node.get("multipleOf"), draft4=self.draft4)
        if t == "boolean":
            return Value("boolean", draft4=self.draft4)
        if t == "array":
            items = node.get("items", {})
            if isinstance(items, list):
                raise ValueError(f"{self.path}: tuple arrays are not supported")
            return Value("array", min_items=node.get("minItems", 0), max_items=node.get("maxItems", 0),
                         item=self.value(items, hint, container), draft4=self.draft4)
        if t == "object" or "properties" in node:
            name = strip_suffix(ref, "object") if ref else pascal(hint)
            return Value("object", struct=self.struct(node, name, container), draft4=self.draft4)
        if t is None and not ({"properties", "items", "enum", "format"} & set(node)):
            return Value("any", draft4=self.draft4)  # e.g. DataTransfer.data: any JSON value
        raise ValueError(f"{self.path}: cannot type node {node}")

    def struct(self, node, name, context, root=False):
        required = set(node.get("required", []))
        fields = []
        for prop, sub in node.get("properties", {}).items():
            fields.append(Field(prop, self.value(sub, prop, name), prop in required))
        missing = required - set(node.get("properties", {}))
        if missing:
            raise ValueError(f"{self.path}: required but undefined {missing}")
        extra = node.get("additionalProperties", True) is not False
        return self.version.struct_for(name, fields, extra, self.draft4, context, root)

    def root(self):
        return self.struct(self.doc, self.root_name, self.root_name, root=True)


# Names from the OCPP 1.6 specification for its inline enums (1.6 schemas have no definitions).
ENUM_NAMES = {
    ("IdTagInfo", "status"): "AuthorizationStatus",
    ("BootNotificationResponse", "status"): "RegistrationStatus",
    ("StatusNotificationRequest", "errorCode"): "ChargePointErrorCode",
    ("StatusNotificationRequest", "status"): "ChargePointStatus",
    ("SampledValue", "context"): "ReadingContext",
    ("SampledValue", "format"): "ValueFormat",
    ("SampledValue", "measurand"): "Measurand",
    ("SampledValue", "phase"): "Phase",
    ("SampledValue", "location"): "Location",
    ("SampledValue", "unit"): "UnitOfMeasure",
    ("StopTransactionRequest", "reason"): "Reason",
    ("ChargingProfile", "chargingProfilePurpose"): "ChargingProfilePurposeType",
    ("ChargingProfile", "chargingProfileKind"): "ChargingProfileKindType",
    ("ChargingProfile", "recurrencyKind"): "RecurrencyKindType",
    ("ChargingSchedule", "chargingRateUnit"): "ChargingRateUnitType",
    ("CsChargingProfiles", "chargingProfilePurpose"): "ChargingProfilePurposeType",
    ("CsChargingProfiles", "chargingProfileKind"): "ChargingProfileKindType",
    ("CsChargingProfiles", "recurrencyKind"): "RecurrencyKindType",
    ("ChangeAvailabilityRequest", "type"): "AvailabilityType",
    ("ChangeAvailabilityResponse", "status"): "AvailabilityStatus",
    ("ChangeConfigurationResponse", "status"): "ConfigurationStatus",
    ("ResetRequest", "type"): "ResetType",
    ("UnlockConnectorResponse", "status"): "UnlockStatus",
    ("TriggerMessageRequest", "requestedMessage"): "MessageTrigger",
    ("DiagnosticsStatusNotificationRequest", "status"): "DiagnosticsStatus",
    ("FirmwareStatusNotificationRequest", "status"): "FirmwareStatus",
}


# -- emitters --------------------------------------------------------------------------------
HEADER = """// Generated by services/common/ocpp/codegen/ocpp_codegen.py from the OCA JSON schemas of
// OCPP {label}. Do not edit: run the generator (see services/common/ocpp/README.md).
"""


def emit_header(v):
    out = [HEADER.format(label=v.label), "#pragma once\n\n#include <cstdint>\n#include <optional>\n#include <span>\n#include <string_view>\n\n",
           '#include "common/ocpp/types.h"\n\n', f"namespace switchyard::ocpp::{v.short} {{\n\n"]
    for e in v.enums:
        out.append(f"enum class {e.name} : std::uint16_t {{\n")
        for n, val in zip(e.enumerators, e.values):
            out.append(f"  {n},  // {val}\n" if n[1:] != val else f"  {n},\n")
        out.append("};\n")
        out.append(f"std::string_view to_string({e.name} value);\n")
        out.append(f"bool from_string(std::string_view text, {e.name}& value);\n\n")
    for s in v.structs:
        out.append(f"struct {s.name} {{\n")
        if s.action:
            out.append(f"  static constexpr std::string_view kAction = {cpp_string(s.action)};\n")
        for f in s.fields:
            t = f.value.cpp_type()
            out.append(f"  {t if f.required else f'std::optional<{t}>'} {f.member}{{}};\n")
        if s.extra:
            out.append("  ocpp::ExtraMembers extra{};  // members the schema allows beyond those above\n")
        out.append("\n  static const ocpp::TypeInfo& schema();\n")
        out.append(f"  bool operator==(const {s.name}&) const = default;\n}};\n\n")
    out.append("// Every action of this version, sorted by name.\n")
    out.append("std::span<const ocpp::MessageInfo> messages();\n\n")
    out.append(f"}}  // namespace switchyard::ocpp::{v.short}\n")
    return "".join(out)


def value_info(v, val, name_hint, defs):
    """Emits constexpr ValueInfo definitions (items first) and returns the expression."""
    item_ref = "nullptr"
    if val.kind == "array":
        item_name = name_hint + "Item"
        defs.append(f"constexpr ocpp::ValueInfo {item_name} = {value_info(v, val.item, item_name, defs)};\n")
        item_ref = "&" + item_name
    kind = {"string": "kString", "uri": "kUri", "integer": "kInteger", "number": "kNumber",
            "boolean": "kBoolean", "enum": "kEnum", "datetime": "kDateTime", "object": "kObject",
            "array": "kArray", "any": "kAny"}[val.kind]
    flags = []
    if val.minimum is not None:
        flags.append("kHasMinimum")
    if val.maximum is not None:
        flags.append("kHasMaximum")
    if val.draft4:
        flags.append("kDraft4")
    flag_expr = " | ".join(f"ocpp::ValueInfo::{f}" for f in flags) or "0"
    enum_ref = f"&k{val.enum.name}Info" if val.enum else "nullptr"
    struct_ref = f"&k{val.struct.name}Type" if val.struct else "nullptr"
    mult = cpp_string(repr(val.multiple_of)) if val.multiple_of is not None else '""'
    return (f"ocpp::ValueInfo{{ocpp::Kind::{kind}, static_cast<std::uint8_t>({flag_expr}), {val.max_length}, "
            f"{val.min_items}, {val.max_items}, {cpp_double(val.minimum or 0)}, "
            f"{cpp_double(val.maximum or 0)}, {mult}, {enum_ref}, {struct_ref}, {item_ref}}}")


def emit_source(v):
    out = [HEADER.format(label=v.label),
           f'#include "common/ocpp/generated/{v.short}/messages.h"\n\n#include <new>\n\n',
           '#include "common/ocpp/schema.h"\n\n', f"namespace switchyard::ocpp::{v.short} {{\n",
           "namespace {\n\n"]
    for e in v.enums:
        out.append(f"constexpr std::string_view k{e.name}Values[] = {{\n")
        for val in e.values:
            out.append(f"    {cpp_string(val)},\n")
        out.append("};\n")
        index = emit_index(out, f"k{e.name}Slots", e.values)
        out.append(f"constexpr ocpp::EnumInfo k{e.name}Info{{{cpp_string(e.name)}, k{e.name}Values, "
                   f"{len(e.values)}, {index}}};\n\n")
    for s in v.structs:
        defs = []
        fields = []
        for f in s.fields:
            vi = value_info(v, f.value, f"k{s.name}_{f.member}", defs)
            m = f.member
            if f.required:
                emplace = f"[](void* o) -> void* {{ return &static_cast<{s.name}*>(o)->{m}; }}"
                get = f"[](const void* o) -> const void* {{ return &static_cast<const {s.name}*>(o)->{m}; }}"
                reset = f"[](void* o) {{ static_cast<{s.name}*>(o)->{m} = {{}}; }}"
            else:
                emplace = f"[](void* o) -> void* {{ return &static_cast<{s.name}*>(o)->{m}.emplace(); }}"
                get = (f"[](const void* o) -> const void* {{ const auto& f = static_cast<const {s.name}*>(o)->{m}; "
                       f"return f ? &*f : nullptr; }}")
                reset = f"[](void* o) {{ static_cast<{s.name}*>(o)->{m}.reset(); }}"
            fields.append(f"    ocpp::FieldInfo{{{cpp_string(f.json_name)}, {cpp_string(json.dumps(f.json_name) + ':')}, {vi}, {'true' if f.required else 'false'},\n"
                          f"              {emplace},\n              {get},\n              {reset}}},\n")
        out.extend(defs)
        if fields:
            out.append(f"constexpr ocpp::FieldInfo k{s.name}Fields[] = {{\n")
            out.extend(fields)
            out.append("};\n")
        fields_ref = f"k{s.name}Fields" if fields else "nullptr"
        extra = (f"[](void* o) -> ocpp::ExtraMembers* {{ return &static_cast<{s.name}*>(o)->extra; }}"
                 if s.extra else "nullptr")
        mask = sum(1 << i for i, f in enumerate(s.fields) if f.required)
        if len(s.fields) > 64:
            raise ValueError(f"{s.name}: more than 64 fields")
        index = emit_index(out, f"k{s.name}Slots", [f.json_name for f in s.fields])
        out.append(f"constexpr ocpp::TypeInfo k{s.name}Type{{{cpp_string(s.name)}, {fields_ref}, {len(s.fields)}, "
                   f"sizeof({s.name}), alignof({s.name}), {mask:#x}u,\n"
                   f"    [](void* m) {{ ::new (m) {s.name}{{}}; }},\n    {extra}, {index}}};\n\n")
    out.append("constexpr ocpp::MessageInfo kMessages[] = {\n")
    for m in sorted(v.messages, key=lambda m: m["action"]):
        resp = f"&k{m['response'].name}Type" if m["response"] else "nullptr"
        out.append(f"    ocpp::MessageInfo{{{cpp_string(m['action'])}, ocpp::Direction::{m['direction']}, "
                   f"&k{m['request'].name}Type, {resp}, {cpp_string(m['profile'])}}},\n")
    out.append("};\n\n}  // namespace\n\n")
    for e in v.enums:
        out.append(f"std::string_view to_string({e.name} value) {{ return k{e.name}Values[static_cast<std::size_t>(value)]; }}\n")
        out.append(f"bool from_string(std::string_view text, {e.name}& value) {{\n"
                   f"  const int i = k{e.name}Info.find(text);\n"
                   f"  if (i < 0) return false;\n  value = static_cast<{e.name}>(i);\n  return true;\n}}\n")
    out.append("\n")
    for s in v.structs:
        out.append(f"const ocpp::TypeInfo& {s.name}::schema() {{ return k{s.name}Type; }}\n")
    out.append("\nstd::span<const ocpp::MessageInfo> messages() { return kMessages; }\n\n")
    out.append(f"}}  // namespace switchyard::ocpp::{v.short}\n")
    return "".join(out)


def build_version(shared, label, short):
    v = Version(label, short)
    with open(os.path.join(shared, "messages.csv"), encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["version"] == label]
    for row in sorted(rows, key=lambda r: r["action"]):
        action = row["action"]
        req = SchemaFile(v, os.path.join(shared, row["request_schema"]), action + "Request").root()
        req.action = action
        resp = None
        if row["response_schema"]:
            resp = SchemaFile(v, os.path.join(shared, row["response_schema"]), action + "Response").root()
        v.messages.append({"action": action, "direction": DIRECTIONS[row["direction"]],
                           "request": req, "response": resp, "profile": row["feature_profile"]})
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", required=True, help="path of shared/ocpp (schemas/ and messages.csv)")
    p.add_argument("--out", required=True, help="output folder (services/common/ocpp/generated)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the committed output differs from what the schemas give")
    args = p.parse_args()
    stale = []
    for label, short in VERSIONS:
        v = build_version(args.shared, label, short)
        folder = os.path.join(args.out, short)
        os.makedirs(folder, exist_ok=True)
        for name, text in (("messages.h", emit_header(v)), ("schema.cpp", emit_source(v))):
            path = os.path.join(folder, name)
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if old != text:
                stale.append(path)
                if not args.check:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text)
        print(f"{label}: {len(v.messages)} actions, {len(v.structs)} structs, {len(v.enums)} enums",
              file=sys.stderr)
    if args.check and stale:
        print("generated code is out of date; run the generator (cmake --build build -t ocpp_codegen):",
              *stale, sep="\n  ", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
