"""Drives sluice's function URL configuration operations with boto3 and prints
one JSON object of what botocore saw; cmd/sluice TestBoto3FunctionURLs runs it.

    usage: python3 urls.py ENDPOINT FUNCTION

FUNCTION must exist and have no URL. Exits 1 if a call raised unexpectedly.
"""

import json
import sys

import boto3
import botocore
from botocore.config import Config


def main(argv):
    endpoint, fn = argv[1], argv[2]
    c = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    out = {}
    r = c.create_function_url_config(FunctionName=fn, AuthType="NONE", InvokeMode="RESPONSE_STREAM",
                                     Cors={"AllowOrigins": ["*"], "MaxAge": 60})
    out["create"] = {"status": r["ResponseMetadata"]["HTTPStatusCode"], "url": r["FunctionUrl"],
                     "arn": r["FunctionArn"], "mode": r.get("InvokeMode"), "cors": r.get("Cors"),
                     "creationTime": r.get("CreationTime")}
    try:
        c.create_function_url_config(FunctionName=fn, AuthType="NONE")
        out["duplicate"] = "no error"
    except c.exceptions.ResourceConflictException as e:
        out["duplicate"] = {"typed": True, "code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                            "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    try:
        c.create_function_url_config(FunctionName=fn, AuthType="BASIC")
        out["badAuth"] = "no error"
    except botocore.exceptions.ClientError as e:
        out["badAuth"] = {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}
    r = c.get_function_url_config(FunctionName=fn)
    out["get"] = {"mode": r.get("InvokeMode"), "auth": r.get("AuthType"), "lastModified": r.get("LastModifiedTime")}
    r = c.update_function_url_config(FunctionName=fn, AuthType="AWS_IAM")
    out["update"] = {"auth": r.get("AuthType"), "mode": r.get("InvokeMode")}
    r = c.list_function_url_configs(FunctionName=fn)
    out["list"] = [{"arn": x["FunctionArn"], "auth": x["AuthType"]} for x in r["FunctionUrlConfigs"]]
    r = c.delete_function_url_config(FunctionName=fn)
    out["delete"] = r["ResponseMetadata"]["HTTPStatusCode"]
    try:
        c.get_function_url_config(FunctionName=fn)
        out["gone"] = "no error"
    except c.exceptions.ResourceNotFoundException as e:
        out["gone"] = {"typed": True, "message": e.response["Error"]["Message"]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
