#!/usr/bin/env python3
"""Inventory of LocalStack's Lambda snapshot tests against sluice's operations.

usage: inventory.py LOCALSTACK_GIT_DIR [COMMIT [OPS_FILE]] > testdata/inventory.tsv

OPS_FILE lists every Lambda operation in snake case, one a line
(testdata/lambda-ops.txt). The operations sluice implements are the rows
"implemented" of docs/operations.md (read beside this script, ../../docs),
the table internal/api's TestOperationsTable checks against the server.

Reads tests/aws/services/lambda_/*.py, *.snapshot.json and *.validation.json
at COMMIT (default HEAD) of a bare or normal git checkout of
localstack/localstack, and prints one line per snapshot test:
    <class>  <file>::<test>  <last_validated_date>  <verdict>  <ops>
verdict is "sluice-only" when every lambda_client call of the test (and of
the fixtures it names that create functions) is an operation sluice
implements and no other AWS service is called, else the missing operations
or services. Heuristic: it reads the test's own body, not helper functions.
"""
import ast
import json
import os
import re
import subprocess
import sys
from collections import Counter

# waiters/paginators resolve to implemented operations; the rest is read
# from docs/operations.md (implemented_operations)
IMPLEMENTED = {"get_waiter", "get_paginator", "exceptions", "meta"}


def implemented_operations():
    """The operations docs/operations.md marks implemented, in snake case."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "operations.md")
    ops = set()
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1] == "implemented":
            ops.add(re.sub(r"(?<!^)(?=[A-Z])", "_", cells[0]).lower())
    if not ops:
        sys.exit(f"{path}: no implemented operations found")
    return ops
# fixtures that only call implemented operations (plus IAM role creation,
# which sluice does not need: any role ARN is accepted)
OK_FIXTURES = {"create_lambda_function", "create_lambda_function_aws", "lambda_su_role",
               "snapshot", "aws_client", "cleanups", "lambda_is_function_active"}
BAD_FIXTURES = {"s3_bucket", "s3_create_bucket", "sqs_create_queue", "sns_create_topic",
                "kinesis_create_stream", "dynamodb_create_table", "create_event_source_mapping",
                "create_lambda_function_aws_with_layers", "dummylayer", "aws_client_factory",
                "secondary_aws_client", "account_id_secondary", "region_name_secondary"}


# every Lambda operation in snake case (from the Go SDK's api_op_*.go names)
ALL_OPS = set()


def git(gitdir, *args):
    return subprocess.run(["git", "-C", gitdir, *args], check=True, capture_output=True, text=True).stdout


def calls(fn):
    lam, other = set(), set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute):
            v = node.value
            # aws_client.lambda_.op / lambda_client.op
            if isinstance(v, ast.Attribute) and v.attr in ("lambda_", "lambda_client"):
                lam.add(node.attr)
            elif isinstance(v, ast.Name) and v.id in ("lambda_client", "primary_client", "secondary_client"):
                lam.add(node.attr)
            elif isinstance(v, ast.Name) and v.id == "aws_client" and node.attr not in ("lambda_", "lambda_client"):
                other.add(node.attr)
    return lam, other


def main():
    gitdir = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    if len(sys.argv) > 3:
        ALL_OPS.update(open(sys.argv[3]).read().split())
    IMPLEMENTED.update(implemented_operations())
    base = "tests/aws/services/lambda_/"
    files = git(gitdir, "ls-tree", "--name-only", commit, base).split()
    total = Counter()
    for snap in sorted(f for f in files if f.endswith(".snapshot.json")):
        py = snap.replace(".snapshot.json", ".py")
        val = snap.replace(".snapshot.json", ".validation.json")
        snapd = json.loads(git(gitdir, "show", f"{commit}:{snap}"))
        vald = json.loads(git(gitdir, "show", f"{commit}:{val}")) if val in files else {}
        src = git(gitdir, "show", f"{commit}:{py}")
        # PEP 695 generics (Python 3.12) in a 3.11 parser: drop the type parameters
        src = re.sub(r"^(\s*def \w+)\[[^\]]*\]\(", r"\1(", src, flags=re.M)
        tree = ast.parse(src)
        funcs = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for m in node.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name.startswith("test"):
                        funcs[(node.name, m.name)] = m
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                funcs[("", node.name)] = node
        for key in snapd:
            m = re.match(r".*\.py::(?:(\w+)::)?(\w+)(\[.*\])?$", key)
            cls, name = m.group(1) or "", m.group(2)
            fn = funcs.get((cls, name))
            date = vald.get(key, {}).get("last_validated_date", "-")
            if fn is None:
                print(f"{cls}\t{key.split('::',1)[1]}\t{date}\tno-source\t-")
                total["no-source"] += 1
                continue
            lam, other = calls(fn)
            args = {a.arg for a in fn.args.args}
            # parametrised tests name the operation they call in their id
            # (getattr(aws_client.lambda_, method)): count those too
            param = m.group(3) or ""
            lam |= {w for w in re.findall(r"[a-z_]+", param) if w in ALL_OPS}
            missing = sorted(lam - IMPLEMENTED)
            bad = sorted(other | (args & BAD_FIXTURES))
            verdict = "sluice-only" if not missing and not bad else "needs:" + ",".join(missing + bad)
            total["sluice-only" if verdict == "sluice-only" else "other"] += 1
            print(f"{cls}\t{key.split('::',1)[1]}\t{date}\t{verdict}\t{','.join(sorted(lam - {'exceptions','meta','get_waiter','get_paginator'}))}")
    print(f"# totals: {dict(total)}", file=sys.stderr)


if __name__ == "__main__":
    main()
