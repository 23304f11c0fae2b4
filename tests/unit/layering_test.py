#!/usr/bin/env python3
"""The layer check: no library links, and no source file includes, a layer above its own.

Usage: layering_test.py BUILD_DIR/target_deps.txt SOURCE_DIR

The rules are the table in ARCHITECTURE.md: each folder may use the folders listed for it (and
itself). target_deps.txt is written by the top-level CMakeLists.txt (target, folder, direct
bdcoord_* dependencies). Before checking the tree, the checker proves on made-up input that it
does catch an upward link and an upward include, so this test cannot pass by checking nothing.
"""
import os
import re
import sys

# policy/ is pure too, and shared with the agent.
PURE_CORE = ["policy", "coordinator/spec", "coordinator/placement", "coordinator/render", "coordinator/plan"]
# folder -> the folders it may depend on (besides itself). Keep in step with ARCHITECTURE.md.
RULES = {
    "proto": [],
    "proto/rpc": ["proto"],
    "net": ["proto"],
    "policy": ["proto"],
    "coordinator/spec": ["proto", "net", "policy"],
    "coordinator/placement/filters": ["proto", "net", "coordinator/spec"],
    "coordinator/placement": ["proto", "net", "coordinator/spec", "coordinator/placement/filters"],
    "coordinator/render": ["proto", "net", "coordinator/spec", "coordinator/placement"],
    "coordinator/plan": ["proto", "net"] + PURE_CORE[:4],
    "coordinator/state": ["proto", "net"] + PURE_CORE,
    "coordinator/ops": ["proto", "net", "coordinator/state"] + PURE_CORE,
    "coordinator/grpc": ["proto", "proto/rpc", "net", "coordinator/state", "coordinator/ops"]
    + PURE_CORE,
    # The status page is a client of ClusterService, like the CLI: nothing of bdcoordd below it.
    "coordinator/web": ["proto", "proto/rpc"],
    "coordinator": ["proto", "proto/rpc", "net", "coordinator/state", "coordinator/ops",
                    "coordinator/grpc", "coordinator/web"] + PURE_CORE,
    "cli": ["proto", "proto/rpc", "net"] + PURE_CORE,
    "agent/docker": ["proto/rpc"],
    "agent/probes": ["proto", "proto/rpc", "agent/docker"],
    "agent/reconcile": ["proto", "proto/rpc", "net", "policy", "agent/docker", "agent/probes"],
    "agent": ["proto", "proto/rpc", "net", "policy", "agent/docker", "agent/probes",
              "agent/reconcile"],
}
OUR_ROOTS = ("proto", "net", "policy", "coordinator", "cli", "agent", "bdcoord")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    """The rule folder a source path or folder belongs to (longest matching prefix)."""
    if path == "bdcoord/v1" or path.startswith("bdcoord/v1/"):  # generated from proto/bdcoord/v1
        return "proto"
    best = None
    for folder in RULES:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def allowed(user, used):
    return used == user or used in RULES[user]


def check_links(lines):
    """lines: 'target folder dep...' -> violations."""
    folder_of = {}
    deps_of = {}
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        folder_of[fields[0]] = fields[1]
        deps_of[fields[0]] = fields[2:]
    errors = []
    for target, deps in deps_of.items():
        user = layer_of(folder_of[target])
        if user is None:
            errors.append(f"{target}: folder {folder_of[target]} has no layer in the rules")
            continue
        for dep in deps:
            if dep not in folder_of:
                continue
            used = layer_of(folder_of[dep])
            if not allowed(user, used):
                errors.append(f"{target} ({user}) links {dep} ({used}): a layer it may not use")
    return errors


def check_includes(files):
    """files: {path: text} -> violations."""
    errors = []
    for path, text in sorted(files.items()):
        user = layer_of(os.path.dirname(path))
        if user is None:
            continue
        for match in INCLUDE.finditer(text):
            included = match.group(1)
            if not included.startswith(tuple(r + "/" for r in OUR_ROOTS)):
                continue
            used = layer_of(os.path.dirname(included))
            if used is None:
                errors.append(f"{path}: includes {included}, which is in no layer")
            elif not allowed(user, used):
                errors.append(f"{path} ({user}) includes {included} ({used}): a layer it may not use")
    return errors


def self_test():
    links = ["bdcoord_spec coordinator/spec bdcoord_ops", "bdcoord_ops coordinator/ops bdcoord_spec"]
    assert check_links(links) == [
        "bdcoord_spec (coordinator/spec) links bdcoord_ops (coordinator/ops): a layer it may not use"
    ], check_links(links)
    files = {
        "cli/x.cc": '#include "coordinator/state/store.h"\n#include "coordinator/plan/planner.h"\n',
        "agent/docker/y.h": '#include "agent/hosts_writer.h"\n',
        "coordinator/ops/z.cc": '#include "absl/status/status.h"\n#include "bdcoord/v1/spec.pb.h"\n',
    }
    assert check_includes(files) == [
        "agent/docker/y.h (agent/docker) includes agent/hosts_writer.h (agent): "
        "a layer it may not use",
        "cli/x.cc (cli) includes coordinator/state/store.h (coordinator/state): "
        "a layer it may not use",
    ], check_includes(files)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: layering_test.py BUILD_DIR/target_deps.txt SOURCE_DIR")
    self_test()
    deps_file, source_dir = sys.argv[1], sys.argv[2]
    with open(deps_file) as f:
        lines = f.read().splitlines()
    errors = check_links(lines)
    files = {}
    for root in ("proto", "net", "policy", "coordinator", "cli", "agent"):
        for dirpath, _, names in os.walk(os.path.join(source_dir, root)):
            for name in names:
                if name.endswith((".h", ".cc")):
                    full = os.path.join(dirpath, name)
                    with open(full, encoding="utf-8") as f:
                        files[os.path.relpath(full, source_dir)] = f.read()
    errors += check_includes(files)
    for error in errors:
        print(error)
    print(f"layering: {len(lines)} targets and {len(files)} files checked, {len(errors)} violations")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
