"""sluice's Python runtime: a Lambda Runtime API (2018-06-01) client.

Standard library only (Python 3.11+). It behaves like AWS's Python runtime
interface client (awslambdaric): the handler `module.function` (packages and
`dir/module.function` too) is imported once per execution environment, the
event is JSON-decoded, the context object has the same attributes, logging
goes to stdout in the same format, and errors have the same shapes and types
(Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.MarshalError,
...).

SLUICE EXTENSION (not on AWS): a handler that returns a generator or any
other iterator is streamed: every item it yields (bytes as is, str as UTF-8)
is sent to the platform as one chunk as soon as it is yielded. If the first
item is a dict, it is the HTTP integration prelude of a RESPONSE_STREAM
function URL (statusCode, headers, cookies). See docs/decisions.md.
"""

import base64
import collections.abc
import importlib
import json
import logging
import math
import os
import re
import socket
import sys
import time
import traceback

API_VERSION = "/2018-06-01"

# Header names of the Runtime API.
H_REQUEST_ID = "Lambda-Runtime-Aws-Request-Id"
H_DEADLINE_MS = "Lambda-Runtime-Deadline-Ms"
H_FUNCTION_ARN = "Lambda-Runtime-Invoked-Function-Arn"
H_TRACE_ID = "Lambda-Runtime-Trace-Id"
H_CLIENT_CONTEXT = "Lambda-Runtime-Client-Context"
H_COGNITO_IDENTITY = "Lambda-Runtime-Cognito-Identity"
H_TENANT_ID = "Lambda-Runtime-Aws-Tenant-Id"
H_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
H_ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
H_XRAY_CAUSE = "Lambda-Runtime-Function-XRay-Error-Cause"
H_RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as awslambdaric indents traces

LAMBDA_UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this "
    "error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


class FaultException(Exception):
    """An error of the runtime itself, reported with a Runtime.* type."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


class RuntimeAPIError(Exception):
    """The Runtime API refused a request: the environment cannot go on."""

    def __init__(self, endpoint, status, body):
        super().__init__(
            f"Request to Lambda Runtime '{endpoint}' endpoint failed. "
            f"Reason: '{status}'. Response body: '{body!r}'"
        )


# ---------------------------------------------------------------- handler


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME,
            "Bad handler '{}': {}".format(handler, str(e)),
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
        )


# ---------------------------------------------------------------- errors


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def extract_traceback(tb):
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    # Drop the runtime's own frames, as awslambdaric does.
    for i in range(len(frames)):
        if "/bootstrap.py" not in frames[i][0]:
            return frames[i:]
    return frames


def error_from_exception(exc, invoke_id):
    """Returns (error document, X-Ray cause) for the exception being handled."""
    if isinstance(exc, FaultException):
        xray = make_xray_fault("LambdaValidationError", exc.msg, [])
        return make_error(exc.msg, exc.exception_type, exc.trace, invoke_id), xray
    frames = extract_traceback(exc.__traceback__)
    etype = type(exc).__name__
    xray = make_xray_fault(etype, str(exc), frames)
    return make_error(str(exc), etype, traceback.format_list(frames), invoke_id), xray


def make_xray_fault(ex_type, ex_msg, frames):
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    return {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
        "paths": sorted({path for path, _, _, _ in frames}),
    }


def replace_line_indentation(line, indent_char, new_indent_char):
    n = len(line) - len(line.lstrip(indent_char))
    return new_indent_char * n + line[n:]


def log_error(error_result):
    """Writes the error to the log as awslambdaric's text format does."""
    description = "[ERROR]"
    etype = error_result.get("errorType")
    if etype:
        description += " " + etype
    emsg = error_result.get("errorMessage")
    if emsg:
        if etype:
            description += ":"
        description += " " + emsg
    lines = [description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
                continue
            for trace_line in element.splitlines():
                lines.append(replace_line_indentation(trace_line, " ", ERROR_LOG_IDENT))
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


# ---------------------------------------------------------------- JSON


# A per-process marker: Decimals are encoded as their exact text (as
# simplejson, which awslambdaric uses, does), which the stdlib encoder cannot
# do directly, so they go through a marked string that is unquoted afterwards.
# (os.urandom(16).hex() is what secrets.token_hex(16) returns; secrets and
# decimal are not imported at start: they cost the cold start of every
# function, and a Decimal only exists once its module is imported.)
_DECIMAL_MARK = "sluice-decimal-" + os.urandom(16).hex() + ":"
_DECIMAL_RE = re.compile('"' + re.escape(_DECIMAL_MARK) + '([^"]*)"')


def _decimal_class():
    # The Decimal class if a module defining it was imported, else None.
    for name in ("decimal", "_decimal"):
        module = sys.modules.get(name)
        if module is not None:
            return module.Decimal
    return None


class _Encoder(json.JSONEncoder):
    def default(self, obj):
        dec = _decimal_class()
        if dec is not None and isinstance(obj, dec):
            if obj.is_nan():
                return math.nan
            return _DECIMAL_MARK + str(obj)
        return super().default(obj)


def _ensure_ascii():
    # awslambdaric writes non-ASCII characters unescaped only on python3.12.
    return os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"


def to_json(obj):
    text = _Encoder(ensure_ascii=_ensure_ascii()).encode(obj)
    if _DECIMAL_MARK in text:
        text = _DECIMAL_RE.sub(lambda m: m.group(1), text)
    return text


def unmarshal_request(body, content_type):
    # awslambdaric hands anything but application/json to the handler as
    # bytes. sluice always sends application/json; an absent type is JSON too.
    if content_type not in (None, "", "application/json"):
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e))
        )


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e))
        )


# ---------------------------------------------------------------- context


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return "Client([" + ",".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + "])"


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


def make_obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field, None))
    return obj


W3C_ALLOWED_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext(object):
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as in awslambdaric (it is read from the environment).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id

        self._w3c_fields = {}
        if isinstance(client_context, dict) and "w3c" in client_context:
            raw = client_context.pop("w3c")
            if isinstance(raw, dict):
                self._w3c_fields = {
                    k: raw[k] for k in W3C_ALLOWED_FIELDS if isinstance(raw.get(k), str)
                }

        self.client_context = make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = make_obj_from_dict(Client, self.client_context.client)

        self.identity = make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def w3c(self):
        return dict(self._w3c_fields)

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


def parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, str(e)),
        )


# ---------------------------------------------------------------- Runtime API


def _header_value(value):
    """A value that can be sent as one header line."""
    value = str(value).replace("\r", " ").replace("\n", " ")
    return value.encode("ascii", "backslashreplace").decode("ascii")


class Invocation(object):
    def __init__(self, body, headers):
        self.body = body
        self.request_id = headers.get(H_REQUEST_ID)
        self.deadline_ms = int(headers.get(H_DEADLINE_MS) or 0)
        self.function_arn = headers.get(H_FUNCTION_ARN)
        self.trace_id = headers.get(H_TRACE_ID)
        self.client_context = headers.get(H_CLIENT_CONTEXT)
        self.cognito_identity = headers.get(H_COGNITO_IDENTITY)
        self.tenant_id = headers.get(H_TENANT_ID)
        self.content_type = headers.get("Content-Type")


class _Headers(dict):
    """Response headers by lower-case name."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class _Response(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


class _Connection(object):
    """One Runtime API request on a connection of its own: HTTP/1.1 written
    and read here rather than by http.client, whose import (email, ssl and
    more) cost a cold start about 40 ms (docs/performance.md)."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = address
        self.sock = socket.create_connection((host.strip("[]"), int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _head(self, method, path, headers):
        lines = [method + " " + path + " HTTP/1.1", "Host: " + self.address]
        lines.extend(k + ": " + _header_value(v) for k, v in headers.items())
        return ("\r\n".join(lines) + "\r\n").encode("latin-1", "replace")

    def request(self, method, path, headers, body=b""):
        head = self._head(method, path, headers) + b"Content-Length: %d\r\n\r\n" % len(body)
        if len(body) < 64 * 1024:
            self.sock.sendall(head + body)
        else:
            self.sock.sendall(head)
            self.sock.sendall(body)

    def start_chunked(self, method, path, headers):
        headers = dict(headers, **{"Transfer-Encoding": "chunked"})
        self.sock.sendall(self._head(method, path, headers) + b"\r\n")

    def send(self, data):
        self.sock.sendall(data)

    def getresponse(self):
        f = self.sock.makefile("rb")
        try:
            parts = f.readline(65537).split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise OSError("malformed Runtime API response")
            headers = _Headers()
            while True:
                line = f.readline(65537)
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise OSError("Runtime API response ended in its head")
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("Transfer-Encoding", "").lower():
                body = bytearray()
                while True:
                    size = int(f.readline(65537).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while f.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    body += f.read(size)
                    f.readline(65537)
                body = bytes(body)
            elif headers.get("Content-Length") is not None:
                n = int(headers.get("Content-Length"))
                body = f.read(n)
                if len(body) != n:
                    raise OSError("Runtime API response body cut short")
            else:
                body = f.read()
            return _Response(int(parts[1]), headers, body)
        finally:
            f.close()

    def close(self):
        self.sock.close()


class RuntimeClient(object):
    """Talks to the Runtime API, one connection per request."""

    def __init__(self, address):
        self.address = address
        self.user_agent = "sluice-python/%d.%d.%d" % sys.version_info[:3]

    def _connect(self):
        return _Connection(self.address)

    def _finish(self, conn, endpoint, want):
        try:
            resp = conn.getresponse()
        finally:
            conn.close()
        if resp.status != want:
            raise RuntimeAPIError(endpoint, resp.status, resp.body)
        return resp, resp.body

    def next(self):
        endpoint = API_VERSION + "/runtime/invocation/next"
        conn = self._connect()
        conn.request("GET", endpoint, {"User-Agent": self.user_agent})
        resp, body = self._finish(conn, endpoint, 200)
        return Invocation(body, resp.headers)

    def _post(self, endpoint, body, headers):
        conn = self._connect()
        headers = dict(headers, **{"User-Agent": self.user_agent})
        conn.request("POST", endpoint, headers, body)
        self._finish(conn, endpoint, 202)

    def post_response(self, invoke_id, body, content_type):
        self._post(
            API_VERSION + "/runtime/invocation/" + invoke_id + "/response",
            body,
            {"Content-Type": content_type},
        )

    def post_error(self, invoke_id, error_result, xray_fault):
        headers = {
            "Content-Type": "application/json",
            H_ERROR_TYPE: _header_value(error_result["errorType"]),
        }
        cause = json.dumps(xray_fault)
        if len(cause) < 1024 * 1024:
            headers[H_XRAY_CAUSE] = cause
        self._post(
            API_VERSION + "/runtime/invocation/" + invoke_id + "/error",
            to_json(error_result).encode("utf-8"),
            headers,
        )

    def post_init_error(self, error_result):
        self._post(
            API_VERSION + "/runtime/init/error",
            to_json(error_result).encode("utf-8"),
            {"Content-Type": "application/json", H_ERROR_TYPE: _header_value(error_result["errorType"])},
        )

    def open_stream(self, invoke_id, content_type):
        return ResponseStream(self, API_VERSION + "/runtime/invocation/" + invoke_id + "/response", content_type)


class ResponseStream(object):
    """SLUICE EXTENSION: a streaming /response, written chunk by chunk.

    The wire is the one Lambda's Node.js runtime uses for streamifyResponse:
    chunked encoding, response mode "streaming", and two trailers that carry
    an error raised after the stream began.
    """

    def __init__(self, client, endpoint, content_type):
        self.client = client
        self.endpoint = endpoint
        conn = client._connect()
        conn.start_chunked("POST", endpoint, {
            "User-Agent": client.user_agent,
            "Content-Type": content_type,
            H_RESPONSE_MODE: "streaming",
            "Trailer": H_ERROR_TYPE + ", " + H_ERROR_BODY,
        })
        self.conn = conn

    def write(self, data):
        if data:  # an empty chunk would end the body
            self.conn.send(b"%x\r\n%s\r\n" % (len(data), data))

    def close(self, error_result=None):
        trailer = b""
        if error_result is not None:
            body = base64.b64encode(to_json(error_result).encode("utf-8")).decode("ascii")
            trailer = (
                f"{H_ERROR_TYPE}: {_header_value(error_result['errorType'])}\r\n"
                f"{H_ERROR_BODY}: {body}\r\n"
            ).encode("ascii")
        self.conn.send(b"0\r\n" + trailer + b"\r\n")
        self.client._finish(self.conn, self.endpoint, 202)


# ---------------------------------------------------------------- invoking


def is_stream(response):
    """SLUICE EXTENSION: a generator or other iterator is streamed."""
    return isinstance(response, collections.abc.Iterator) and not isinstance(
        response, (str, bytes, bytearray, memoryview, dict, list)
    )


def chunk_bytes(item):
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode("utf-8")
    raise FaultException(
        FaultException.MARSHAL_ERROR,
        "Unable to marshal response: streamed item must be bytes or str, not {}".format(
            type(item).__name__
        ),
    )


def stream_response(client, invoke_id, iterator):
    """SLUICE EXTENSION: sends what iterator yields, one chunk per item.

    An error before the first item is reported on /error like any other; an
    error after it ends the stream with the error trailers. A dict as first
    item is the HTTP integration prelude (JSON, then 8 NUL bytes).
    """
    _END = object()
    try:
        first = next(iterator, _END)
        content_type = "application/octet-stream"
        if isinstance(first, dict):
            content_type = HTTP_INTEGRATION_CONTENT_TYPE
            first = to_json(first).encode("utf-8") + b"\0" * 8
        elif first is not _END:
            first = chunk_bytes(first)
    except Exception as e:
        _close_iterator(iterator)
        error_result, xray = error_from_exception(e, invoke_id)
        log_error(error_result)
        client.post_error(invoke_id, error_result, xray)
        return

    stream = client.open_stream(invoke_id, content_type)
    if first is _END:
        stream.close()
        return
    stream.write(first)
    error_result = None
    while True:
        # Only the iterator's errors are the function's; an error of the
        # Runtime API connection (stream.write) ends the process.
        try:
            item = next(iterator, _END)
            if item is _END:
                break
            data = chunk_bytes(item)
        except Exception as e:
            _close_iterator(iterator)
            error_result, _ = error_from_exception(e, invoke_id)
            log_error(error_result)
            break
        stream.write(data)
    stream.close(error_result)


def _close_iterator(iterator):
    close = getattr(iterator, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            pass


_request_id = None
_tenant_id = None


def handle_invocation(client, request_handler, inv):
    global _request_id, _tenant_id
    _request_id = inv.request_id
    _tenant_id = inv.tenant_id
    if inv.trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = inv.trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error_result = xray = None
    streaming = False
    try:
        client_context = None
        if inv.client_context:
            client_context = parse_json_header(inv.client_context, "Client Context")
        cognito_identity = None
        if inv.cognito_identity:
            cognito_identity = parse_json_header(inv.cognito_identity, "Cognito Identity")
        context = LambdaContext(
            inv.request_id,
            client_context,
            cognito_identity,
            inv.deadline_ms,
            inv.function_arn,
            inv.tenant_id,
        )
        event = unmarshal_request(inv.body, inv.content_type)
        response = request_handler(event, context)
        if is_stream(response):
            streaming = True
        else:
            result, content_type = marshal_response(response)
    except Exception as e:
        error_result, xray = error_from_exception(e, inv.request_id)

    # Errors of the Runtime API itself are not caught: they end the process.
    if error_result is not None:
        log_error(error_result)
        client.post_error(inv.request_id, error_result, xray)
    elif streaming:
        stream_response(client, inv.request_id, response)
    else:
        client.post_response(inv.request_id, result, content_type)


# ---------------------------------------------------------------- logging


class Unbuffered(object):
    """Flushes after every write, so each line reaches the log at once."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        record.tenant_id = _tenant_id
        return True


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(LambdaLoggerFilter())
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    level = {None: "", "TRACE": "DEBUG"}.get(level, level).upper()
    logger = logging.getLogger()
    if level in logging.getLevelNamesMapping():
        logger.setLevel(level)
    logger.addHandler(handler)


# ---------------------------------------------------------------- main


def setup_sys_path(task_root):
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == here:
        del sys.path[0]
    version = "python%d.%d" % sys.version_info[:2]
    # The task root first, then layers, as on Lambda; PYTHONPATH follows.
    sys.path[0:0] = [task_root, "/opt/python/lib/" + version + "/site-packages", "/opt/python"]


def main():
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    setup_logging()

    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    setup_sys_path(os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))

    try:
        request_handler = get_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        error_result, _ = error_from_exception(e, None)
        logging.warning(LAMBDA_UNHANDLED_EXCEPTION_WARNING)
        log_error(error_result)
        client.post_init_error(error_result)
        sys.exit(1)

    while True:
        handle_invocation(client, request_handler, client.next())


if __name__ == "__main__":
    main()
