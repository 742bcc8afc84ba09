"""Python test functions for sluice's end-to-end tests (runtime python3.x).

Handlers (app.<name>):
  context  returns what the function sees: its context, the event, a count of
           invocations of this environment (the module is imported once)
  fail     raises ValueError("bad value")
  stream   returns a generator: {"chunks": N, "pauseMs": M, "fail": bool};
           sluice streams it chunk by chunk (a sluice extension)
"""
import json
import logging
import os
import time

COUNT = 0
logger = logging.getLogger()
logger.setLevel(logging.INFO)


def context(event, ctx):
    global COUNT
    COUNT += 1
    print("hello from python", event.get("msg") if isinstance(event, dict) else None)
    logger.info("logged at %s", "info")
    cc = ctx.client_context
    return {
        "aws_request_id": ctx.aws_request_id,
        "function_name": ctx.function_name,
        "function_version": ctx.function_version,
        "invoked_function_arn": ctx.invoked_function_arn,
        "memory_limit_in_mb": ctx.memory_limit_in_mb,
        "log_group_name": ctx.log_group_name,
        "log_stream_name": ctx.log_stream_name,
        "remaining_ms": ctx.get_remaining_time_in_millis(),
        "client_custom": cc.custom if cc is not None else None,
        "count": COUNT,
        "event": event,
        "cwd": os.getcwd(),
        "runtime_dir": os.environ.get("LAMBDA_RUNTIME_DIR"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
    }


def fail(event, ctx):
    raise ValueError("bad value")


def stream(event, ctx):
    def gen():
        for i in range(event.get("chunks", 3)):
            if i:
                time.sleep(event.get("pauseMs", 0) / 1000)
            yield "chunk-%d\n" % i
        if event.get("fail"):
            raise RuntimeError("generator broke")
    return gen()
