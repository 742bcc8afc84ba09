"""Drives sluice's authentication and authorization with boto3 and prints one
JSON object: the error code (or "ok") of each step; cmd/sluice
TestAuthFileClients runs it against a server with an auth file.

    usage: python3 auth.py ENDPOINT FUNCTION_ARN KEY_A SECRET_A KEY_B SECRET_B KEY_DENIED SECRET_DENIED ACCOUNT_B

FUNCTION_ARN is a function of account A without a resource policy; B is
another account's administrator; DENIED is a key of A whose policy denies
lambda:InvokeFunction.
"""

import json
import sys

import boto3
import botocore
from botocore.config import Config


def client(endpoint, key, secret):
    return boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def code(call):
    try:
        r = call()
        return "ok %d" % r["ResponseMetadata"]["HTTPStatusCode"]
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]


def main(argv):
    endpoint, arn, ka, sa, kb, sb, kd, sd = argv[1:9]
    a, b, d = client(endpoint, ka, sa), client(endpoint, kb, sb), client(endpoint, kd, sd)
    out = {}
    out["a list"] = code(lambda: a.list_functions())
    out["wrong secret"] = code(lambda: client(endpoint, ka, "wrong").list_functions())
    out["unknown key"] = code(lambda: client(endpoint, "AKIAUNKNOWNUNKNOWN00", "x").list_functions())
    out["b invoke before"] = code(lambda: b.invoke(FunctionName=arn, Payload=b"{}"))
    out["a add permission"] = code(lambda: a.add_permission(
        FunctionName=arn, StatementId="b", Action="lambda:InvokeFunction", Principal=argv[9]))
    out["b invoke granted"] = code(lambda: b.invoke(FunctionName=arn, Payload=b"{}"))
    out["b dry run granted"] = code(lambda: b.invoke(FunctionName=arn, InvocationType="DryRun"))
    out["b stream granted"] = code(lambda: b.invoke_with_response_stream(FunctionName=arn, Payload=b"{}"))
    out["a remove permission"] = code(lambda: a.remove_permission(FunctionName=arn, StatementId="b"))
    out["b invoke removed"] = code(lambda: b.invoke(FunctionName=arn, Payload=b"{}"))
    out["denied invoke"] = code(lambda: d.invoke(FunctionName=arn, Payload=b"{}"))
    out["denied stream"] = code(lambda: d.invoke_with_response_stream(FunctionName=arn, Payload=b"{}"))
    out["denied get"] = code(lambda: d.get_function(FunctionName=arn))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
