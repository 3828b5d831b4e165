#!/usr/bin/env python3
"""OpenAPI documents -> the per-kind JSON schemas kubeconform reads, offline.

  openapi2jsonschema.py swagger SWAGGER.json OUT_DIR   Kubernetes' api/openapi-spec/swagger.json
  openapi2jsonschema.py crd OUT_DIR CRD.yaml...         openAPIV3Schema of CustomResourceDefinitions

Files are named as kubeconform looks them up: `{kind}-{group}-{version}.json` in lower case, where
group is the first label of the API group and is left out for the core group
(`deployment-apps-v1.json`, `service-v1.json`, `servicemonitor-monitoring-v1.json`).

Each schema is "standalone" (every $ref inlined, so a file is complete on its own) and "strict"
(an object with declared properties allows no others, as the API server's strict field validation
does), the layout kubeconform calls `<version>-standalone-strict`. Two Kubernetes types are
widened to what the API server accepts: IntOrString (string or integer) and Quantity (string or
number, e.g. `cpu: 1`). A recursive type (JSONSchemaProps) is cut at its first repetition.

Written for this repository after reading the approach of kubeconform's
scripts/openapi2jsonschema.py; it uses only the standard library and PyYAML when converting CRDs.
"""
import json
import os
import sys

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}
WIDENED = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": INT_OR_STRING,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": QUANTITY,
}


def file_name(kind, group, version):
    parts = [kind.lower()]
    if group:
        parts.append(group.split(".")[0].lower())
    parts.append(version.lower())
    return "-".join(parts) + ".json"


def strict(node):
    """additionalProperties: false wherever properties are declared and nothing else is said."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node and \
                not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
    return node


def widen_formats(node):
    """format: int-or-string (CRDs) -> string or integer."""
    if isinstance(node, dict):
        if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
            rest = {k: v for k, v in node.items()
                    if k not in ("type", "format", "anyOf", "x-kubernetes-int-or-string")}
            return {**rest, **INT_OR_STRING}
        return {k: widen_formats(v) for k, v in node.items()}
    if isinstance(node, list):
        return [widen_formats(v) for v in node]
    return node


class Inliner:
    def __init__(self, definitions):
        self.definitions = definitions

    def inline(self, node, stack=()):
        if isinstance(node, list):
            return [self.inline(v, stack) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in WIDENED:
                return dict(WIDENED[name])
            if name in stack:
                return {}  # recursive type: anything at the second level
            target = self.definitions[name]
            resolved = self.inline(target, stack + (name,))
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return {**resolved, **extra}
        out = {}
        for key, value in node.items():
            if key == "properties":
                out[key] = {k: self.inline(v, stack) for k, v in value.items()}
            elif key.startswith("x-kubernetes-") and key != "x-kubernetes-preserve-unknown-fields":
                continue  # annotations for clients, not validation
            else:
                out[key] = self.inline(value, stack)
        return out


def from_swagger(swagger_path, out_dir):
    with open(swagger_path, encoding="utf-8") as f:
        definitions = json.load(f)["definitions"]
    inliner = Inliner(definitions)
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for name, definition in sorted(definitions.items()):
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            schema = inliner.inline(definition, (name,))
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            props = schema.get("properties", {})
            # A manifest names exactly this kind and apiVersion (a List type may be any of its
            # group-version-kinds, so only the one of this file).
            if "kind" in props:
                props["kind"] = {**props["kind"], "enum": [gvk["kind"]]}
            if "apiVersion" in props:
                props["apiVersion"] = {**props["apiVersion"], "enum": [api_version]}
            schema["$schema"] = "http://json-schema.org/schema#"
            path = os.path.join(out_dir, file_name(gvk["kind"], gvk["group"], gvk["version"]))
            with open(path, "w", encoding="utf-8") as f:
                json.dump(strict(schema), f, separators=(",", ":"))
            written += 1
    if written < 100:
        sys.exit(f"only {written} schemas from {swagger_path}: not a Kubernetes swagger.json?")
    print(f"{written} schemas in {out_dir}", file=sys.stderr)


def from_crds(out_dir, crd_paths):
    import yaml  # only the CRD conversion needs PyYAML

    os.makedirs(out_dir, exist_ok=True)
    for crd_path in crd_paths:
        with open(crd_path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d]
        for crd in documents:
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema is None:
                    continue
                schema = strict(widen_formats(schema))
                props = schema.setdefault("properties", {})
                props["kind"] = {"type": "string", "enum": [spec["names"]["kind"]]}
                props["apiVersion"] = {"type": "string",
                                       "enum": [f"{spec['group']}/{version['name']}"]}
                props.setdefault("metadata", {"type": "object"})
                schema["$schema"] = "http://json-schema.org/schema#"
                path = os.path.join(out_dir,
                                    file_name(spec["names"]["kind"], spec["group"], version["name"]))
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(schema, f, separators=(",", ":"))
                print(f"{path}", file=sys.stderr)


def main(argv):
    if len(argv) >= 4 and argv[1] == "swagger":
        return from_swagger(argv[2], argv[3])
    if len(argv) >= 4 and argv[1] == "crd":
        return from_crds(argv[2], argv[3:])
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
