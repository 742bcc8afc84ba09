"""Drives sluice's resource-based policy operations (AddPermission, GetPolicy,
RemovePermission) with boto3 and prints one JSON object of what botocore saw;
cmd/sluice TestBoto3ResourcePolicies runs it.

    usage: python3 policy.py ENDPOINT FUNCTION

FUNCTION must exist and have no policy. Exits 1 if a call raised unexpectedly.
"""

import json
import sys

import boto3
import botocore
from botocore.config import Config


def error(e):
    return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}


def main(argv):
    endpoint, fn = argv[1], argv[2]
    c = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    out = {}
    try:
        c.get_policy(FunctionName=fn)
        out["none"] = "no error"
    except c.exceptions.ResourceNotFoundException as e:
        out["none"] = dict(error(e), typed=True)

    r = c.add_permission(FunctionName=fn, StatementId="s3", Action="lambda:InvokeFunction",
                         Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::test-bucket",
                         SourceAccount="000000000000")
    out["add"] = {"status": r["ResponseMetadata"]["HTTPStatusCode"], "statement": r["Statement"]}
    r = c.add_permission(FunctionName=fn, StatementId="url", Action="lambda:InvokeFunctionUrl",
                         Principal="*", FunctionUrlAuthType="NONE")
    out["addURL"] = r["Statement"]
    try:
        c.add_permission(FunctionName=fn, StatementId="s3", Action="lambda:InvokeFunction", Principal="111122223333")
        out["duplicate"] = "no error"
    except c.exceptions.ResourceConflictException as e:
        out["duplicate"] = dict(error(e), typed=True)
    try:
        c.add_permission(FunctionName=fn, StatementId="org", Action="lambda:InvokeFunction", Principal="*",
                         PrincipalOrgID="o-abcdefghij")
        out["org"] = "no error"
    except c.exceptions.InvalidParameterValueException as e:
        out["org"] = dict(error(e), typed=True)
    try:
        c.add_permission(FunctionName=fn, StatementId="bad.sid", Action="lambda:InvokeFunction", Principal="*")
        out["badSid"] = "no error"
    except botocore.exceptions.ClientError as e:
        out["badSid"] = error(e)

    r = c.get_policy(FunctionName=fn)
    out["get"] = {"policy": r["Policy"], "revision": r["RevisionId"]}
    try:
        c.remove_permission(FunctionName=fn, StatementId="s3", RevisionId="stale")
        out["stale"] = "no error"
    except c.exceptions.PreconditionFailedException as e:
        out["stale"] = dict(error(e), typed=True)
    r = c.remove_permission(FunctionName=fn, StatementId="s3", RevisionId=out["get"]["revision"])
    out["remove"] = r["ResponseMetadata"]["HTTPStatusCode"]
    try:
        c.remove_permission(FunctionName=fn, StatementId="s3")
        out["removeAgain"] = "no error"
    except c.exceptions.ResourceNotFoundException as e:
        out["removeAgain"] = dict(error(e), typed=True)
    r = c.get_policy(FunctionName=fn)
    out["after"] = r["Policy"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
