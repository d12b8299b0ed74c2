#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bindery's own Dapr proto subset (core/grpc/proto) against Dapr's official generated code (issue 15).

Compiles Bindery's .proto files to a descriptor set with protoc and compares it with the descriptors
shipped in the `dapr` Python SDK (dapr/proto/runtime/v1/*_pb2.py, common/v1/common_pb2.py):
- every service method: path, request and answer type names, streaming flags. Dapr and
  AppCallbackHealthCheck must declare exactly daprd's methods; AppCallback exactly the two Bindery
  calls;
- every message reachable from the methods whose messages are declared in full (FULL_METHODS):
  full name, and per field number: name, type, label, type name, map key/value shape, json name,
  proto3 `optional`, oneof, deprecation. A field of theirs Bindery leaves out fails the test unless it
  is listed in OMITTED_FIELDS;
- every enum declared: full name and every value's name and number;
- every other message must be an empty placeholder under a name theirs declares, used by a method.

  check_proto_wire.py [--protoc PATH]     (default: grpc_tools' protoc from the venv)

Runs under tests/e2e/.venv (scripts/install-deps); re-executes itself there when started by another
interpreter. Without the venv it skips (exit 77), or fails under CI=true.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "core" / "grpc" / "proto"
VENV = REPO / "tests" / "e2e" / ".venv"

# Methods whose request and answer are declared in full: what Bindery serves (InvokeBinding,
# GetMetadata, GetSecret, GetBulkSecret), SetMetadata (small, and served over HTTP already), and
# the app callbacks Bindery calls.
FULL_METHODS = {
    "dapr.proto.runtime.v1.Dapr": {"InvokeBinding", "GetMetadata", "GetSecret", "GetBulkSecret",
                                   "SetMetadata"},
    "dapr.proto.runtime.v1.AppCallback": {"ListInputBindings", "OnBindingEvent"},
    "dapr.proto.runtime.v1.AppCallbackHealthCheck": {"HealthCheck"},
}
# Services whose every method daprd declares must be declared too (the others answer UNIMPLEMENTED).
COMPLETE_SERVICES = {"dapr.proto.runtime.v1.Dapr", "dapr.proto.runtime.v1.AppCallbackHealthCheck"}
# Fields of theirs left out on purpose (building blocks Bindery does not have).
OMITTED_FIELDS = {
    "dapr.proto.runtime.v1.GetMetadataResponse": {"workflows", "mcp_servers",
                                                  "workflow_access_policies", "resiliencies"},
}
SDK_ROOTS = ["dapr/proto/runtime/v1/dapr.proto", "dapr/proto/runtime/v1/appcallback.proto"]


def missing(what):
    msg = f"{what}: run scripts/install-deps"
    if os.environ.get("CI") == "true":
        print(f"FAIL: {msg}", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {msg}", file=sys.stderr)
    sys.exit(77)


def ensure_sdk():
    try:
        import dapr.proto.runtime.v1.dapr_pb2  # noqa: F401
        return
    except ImportError:
        pass
    venv_python = VENV / "bin" / "python"
    if venv_python.exists() and os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    missing("the dapr Python SDK in tests/e2e/.venv is missing")


def default_json_name(name):
    out, upper = [], False
    for c in name:
        if c == "_":
            upper = True
        else:
            out.append(c.upper() if upper else c)
            upper = False
    return "".join(out)


class Schema:
    """Messages, enums and services of a set of FileDescriptorProtos, by full name."""

    def __init__(self, files):
        self.messages, self.enums, self.services, self.declared_in = {}, {}, {}, {}
        for f in files:
            prefix = f".{f.package}" if f.package else ""
            for m in f.message_type:
                self._add_message(f"{prefix}.{m.name}", m, f.name)
            for e in f.enum_type:
                self.enums[f"{prefix}.{e.name}"] = e
                self.declared_in[f"{prefix}.{e.name}"] = f.name
            for s in f.service:
                self.services[f"{prefix}.{s.name}"] = s
                self.declared_in[f"{prefix}.{s.name}"] = f.name

    def _add_message(self, full, m, file_name):
        self.messages[full] = m
        self.declared_in[full] = file_name
        for n in m.nested_type:
            self._add_message(f"{full}.{n.name}", n, file_name)
        for e in m.enum_type:
            self.enums[f"{full}.{e.name}"] = e
            self.declared_in[f"{full}.{e.name}"] = file_name

    def map_entry(self, field):
        m = self.messages.get(field.type_name)
        return m if m is not None and m.options.map_entry else None

    def type_text(self, field):
        from google.protobuf import descriptor_pb2 as dpb
        entry = self.map_entry(field) if field.label == dpb.FieldDescriptorProto.LABEL_REPEATED else None
        if entry is not None:
            key, value = sorted(entry.field, key=lambda f: f.number)
            return f"map<{self.type_text(key)}, {self.type_text(value)}>"
        if field.type_name:
            base = field.type_name.rsplit(".", 1)[-1]
        else:
            base = dpb.FieldDescriptorProto.Type.Name(field.type)[5:].lower()
        if field.label == dpb.FieldDescriptorProto.LABEL_REPEATED:
            return f"repeated {base}"
        if field.proto3_optional:
            return f"optional {base}"
        return base


def compile_ours(protoc):
    from google.protobuf import descriptor_pb2 as dpb
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    if protoc:
        cmd, includes = [protoc], []
    else:
        import grpc_tools
        cmd = [sys.executable, "-m", "grpc_tools.protoc"]
        includes = ["-I", str(Path(grpc_tools.__file__).parent / "_proto")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bindery.desc"
        run = subprocess.run([*cmd, "-I", str(PROTO_ROOT), *includes, "--include_imports",
                              f"--descriptor_set_out={out}", *protos])
        if run.returncode != 0:
            print(f"FAIL: protoc could not compile {PROTO_ROOT}", file=sys.stderr)
            sys.exit(1)
        files = list(dpb.FileDescriptorSet.FromString(out.read_bytes()).file)
    version = subprocess.run([*cmd, "--version"], capture_output=True, text=True).stdout.strip()
    return files, protos, version


def load_theirs():
    from google.protobuf import descriptor_pb2 as dpb
    from google.protobuf import descriptor_pool
    import dapr.proto.runtime.v1.appcallback_pb2  # noqa: F401  (registers the files)
    import dapr.proto.runtime.v1.dapr_pb2  # noqa: F401
    pool = descriptor_pool.Default()
    files, seen, todo = [], set(), list(SDK_ROOTS)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        fd = pool.FindFileByName(name)
        files.append(dpb.FileDescriptorProto.FromString(fd.serialized_pb))
        todo.extend(d.name for d in fd.dependencies)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protoc", help="protoc to compile Bindery's files with")
    args = parser.parse_args()
    ensure_sdk()
    from google.protobuf import descriptor_pb2 as dpb
    import google.protobuf
    from importlib import metadata

    our_files, our_protos, protoc_version = compile_ours(args.protoc)
    ours = Schema(our_files)
    theirs = Schema(load_theirs())
    print(f"ours:   {len(our_protos)} files under core/grpc/proto, compiled by {protoc_version}")
    print(f"theirs: dapr {metadata.version('dapr')} (Python SDK), protobuf {google.protobuf.__version__}")

    errors = []
    own = {f.name for f in our_files if not f.name.startswith("google/protobuf/")}
    own_messages = {n for n in ours.messages if ours.declared_in[n] in own}
    own_enums = {n for n in ours.enums if ours.declared_in[n] in own}

    # Services and methods.
    print("\n== methods")
    used_types = set()
    full_types = []
    n_methods = 0
    for sname in sorted(n for n in ours.services if ours.declared_in[n] in own):
        svc, their_svc = ours.services[sname], theirs.services.get(sname)
        if their_svc is None:
            errors.append(f"service {sname[1:]}: not declared by Dapr")
            continue
        mine = {m.name: m for m in svc.method}
        theirs_m = {m.name: m for m in their_svc.method}
        full = FULL_METHODS.get(sname[1:], set())
        if sname[1:] in COMPLETE_SERVICES:
            for name in sorted(set(theirs_m) - set(mine)):
                errors.append(f"{sname[1:]}: method {name} of daprd is not declared")
        else:
            for name in sorted(set(theirs_m) - set(mine)):
                print(f"   not declared (Bindery never calls it): /{sname[1:]}/{name}")
            if set(mine) != full:
                errors.append(f"{sname[1:]}: declares {sorted(mine)}, expected {sorted(full)}")
        for name, m in mine.items():
            path = f"/{sname[1:]}/{name}"
            t = theirs_m.get(name)
            n_methods += 1
            kind = {(False, False): "unary", (False, True): "server-stream",
                    (True, False): "client-stream", (True, True): "bidi-stream"}[
                (m.client_streaming, m.server_streaming)]
            if t is None:
                errors.append(f"{path}: not a method of daprd")
                continue
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(m, attr) != getattr(t, attr):
                    errors.append(f"{path}: {attr} {getattr(m, attr)} != daprd's {getattr(t, attr)}")
            if m.options.deprecated != t.options.deprecated:
                errors.append(f"{path}: deprecated {m.options.deprecated} != {t.options.deprecated}")
            used_types.update((m.input_type, m.output_type))
            is_full = name in full
            if is_full:
                full_types.extend((m.input_type, m.output_type))
            print(f"ok {'full' if is_full else 'unimpl'} {path} {kind}"
                  f" {m.input_type[1:]} -> {m.output_type[1:]}")

    # Messages reachable from the full methods are compared field by field.
    reach, todo = [], list(full_types)
    while todo:
        name = todo.pop(0)
        if name in reach or name not in ours.messages:
            continue
        reach.append(name)
        todo.extend(f.type_name for f in ours.messages[name].field
                    if f.type == dpb.FieldDescriptorProto.TYPE_MESSAGE)

    print("\n== messages in full")
    n_fields = 0
    for name in reach:
        mine, t = ours.messages[name], theirs.messages.get(name)
        if t is None:
            errors.append(f"message {name[1:]}: not declared by Dapr")
            continue
        if mine.options.map_entry != t.options.map_entry:
            errors.append(f"message {name[1:]}: map_entry differs")
        their_fields = {f.number: f for f in t.field}
        parts = []
        for f in mine.field:
            tf = their_fields.pop(f.number, None)
            where = f"{name[1:]}.{f.name} = {f.number}"
            if tf is None:
                errors.append(f"{where}: daprd has no field {f.number}")
                continue
            checks = {
                "name": (f.name, tf.name),
                "type": (f.type, tf.type),
                "label": (f.label, tf.label),
                "type name": (f.type_name, tf.type_name),
                "json name": (f.json_name or default_json_name(f.name),
                              tf.json_name or default_json_name(tf.name)),
                "proto3 optional": (f.proto3_optional, tf.proto3_optional),
                "oneof": (mine.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else None,
                          t.oneof_decl[tf.oneof_index].name if tf.HasField("oneof_index") else None),
                "deprecated": (f.options.deprecated, tf.options.deprecated),
            }
            for what, (a, b) in checks.items():
                if a != b:
                    errors.append(f"{where}: {what} {a!r} != daprd's {b!r}")
            n_fields += 1
            parts.append(f"{f.number} {f.name} {ours.type_text(f)}")
        left_out = {f.name for f in their_fields.values()}
        allowed = OMITTED_FIELDS.get(name[1:], set())
        if left_out != allowed:
            errors.append(f"message {name[1:]}: daprd's fields {sorted(left_out)} are left out,"
                          f" expected exactly {sorted(allowed)}")
        kind = "map entry" if mine.options.map_entry else "message"
        print(f"ok {kind} {name[1:]}: {len(mine.field)} field{'' if len(mine.field) == 1 else 's'}"
              + (f" ({'; '.join(parts)})" if parts else "")
              + (f"; left out on purpose: {', '.join(sorted(left_out))}" if left_out else ""))

    print("\n== enums")
    n_values = 0
    for name in sorted(own_enums):
        mine, t = ours.enums[name], theirs.enums.get(name)
        if t is None:
            errors.append(f"enum {name[1:]}: not declared by Dapr")
            continue
        a = [(v.name, v.number) for v in mine.value]
        b = [(v.name, v.number) for v in t.value]
        if a != b:
            errors.append(f"enum {name[1:]}: {a} != daprd's {b}")
        n_values += len(a)
        print(f"ok enum {name[1:]}: {', '.join(f'{n}={v}' for n, v in a)}")

    # Everything else is a placeholder.
    placeholders = sorted(n for n in own_messages if n not in reach)
    for name in placeholders:
        mine, t = ours.messages[name], theirs.messages.get(name)
        if t is None:
            errors.append(f"placeholder {name[1:]}: not a message of Dapr")
        if mine.field or mine.nested_type or mine.enum_type:
            errors.append(f"placeholder {name[1:]}: not used by a full method, so it must be empty")
        if name not in used_types:
            errors.append(f"placeholder {name[1:]}: no method uses it")
    empty_in_theirs = [n for n in placeholders if n in theirs.messages and not theirs.messages[n].field]
    print(f"\n== placeholders: {len(placeholders)} empty messages under daprd's names, used only by"
          f" UNIMPLEMENTED methods ({len(empty_in_theirs)} of them are empty in daprd too:"
          f" {', '.join(n.rsplit('.', 1)[-1] for n in empty_in_theirs)})")

    print(f"\ncompared: {n_methods} methods, {len(reach)} messages in full with {n_fields} fields,"
          f" {len(own_enums)} enums with {n_values} values, {len(placeholders)} placeholders")
    if errors:
        print(f"\nFAIL: {len(errors)} differences from Dapr's descriptors:")
        for e in errors:
            print(f"  {e}")
        return 1
    print("OK: Bindery's subset is wire-compatible with Dapr's descriptors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
