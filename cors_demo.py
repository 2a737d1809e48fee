#!/usr/bin/env python3
"""cors_demo: watch Cross-Origin Resource Sharing happen.

usage: python cors_demo.py [--host HOST] [--port PORT] [--playground-port PORT]
                           [--allow-origin ORIGIN]... [--max-age SECONDS] [--quiet]
       python cors_demo.py --version | --help

One process, two origins. The API answers the lesson's endpoints. The
playground, on the next port, serves a page that calls the API cross-origin,
and /log: every API request as the server saw it, preflights included, with a
verdict on what a browser does with the response and why.

  API         http://127.0.0.1:8000
  playground  http://127.0.0.1:8001   (open it in a browser; the log is /log)

API routes:
  /                   GET HEAD      no CORS headers: a browser blocks the read
  /allow-cors         GET HEAD      Access-Control-Allow-Origin: *
  /allow-origin       GET HEAD      Allow-Origin: the request's Origin if allow-listed
  /allow-credentials  GET HEAD      as /allow-origin, plus Allow-Credentials: true;
                                    sets a cookie and says which cookies arrived
  /data               GET HEAD POST DELETE OPTIONS
                                    notes behind a preflight; POST {"text": "..."}
  /cors               any method    CORS headers chosen by the query, e.g.
                      /cors?allow-origin=*&allow-methods=PUT&allow-headers=x-demo&max-age=0
                      (allow-origin allow-credentials allow-methods allow-headers
                       expose-headers max-age allow-private-network status
                       preflight-status; allow-origin=origin reflects the Origin)

options:
  --host HOST             address to listen on (default 127.0.0.1; 0.0.0.0 in a sandbox)
  --port PORT             API port (default: $PORT if set, else 8000; 0 = any free port)
  --playground-port PORT  playground port (default: API port + 1; 0 = any free port)
  --allow-origin ORIGIN   an origin /allow-origin, /allow-credentials and /data trust,
                          exactly as a browser writes it (scheme://host[:port]);
                          repeat for more (default: the playground, as
                          http://127.0.0.1:PORT and http://localhost:PORT)
  --max-age SECONDS       Access-Control-Max-Age of /data preflights (default 600)
  --quiet                 no line per request in the terminal
  --version               print the version and exit
  -h, --help              print this text and exit

A teaching server, not a production CORS layer: it reflects, logs and explains
what production code should do quietly.
"""

import argparse
import collections
import email.utils
import errno
import functools
import http.server
import itertools
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from http import HTTPStatus
from pathlib import Path
from typing import NamedTuple, Optional
from urllib.parse import parse_qsl, urlsplit

__version__ = "1.0.0"


# ---------------------------------------------------------------- constants

HOST = "127.0.0.1"    # loopback: a demo is not on the network unless asked to be
PORT = 8000
MAX_AGE = 600         # seconds a browser may reuse a /data preflight (Chrome caps at 7200)
MAX_AGE_LIMIT = 86400  # Firefox's cap: a longer Max-Age means nothing to any browser
MESSAGE_PATH = Path(__file__).with_name("message.json")
BUILT_IN_MESSAGE = {"message": "Hello from the cors_demo API (message.json was not found)."}

# /data: what its preflight allows. Methods in the order the answer lists them;
# request headers by their lower-case name, spelled as the answer spells them.
DATA_METHODS = ("GET", "POST", "DELETE", "HEAD", "OPTIONS")
DATA_HEADERS = {"content-type": "Content-Type", "x-demo": "X-Demo"}
DATA_ALLOW = "GET, HEAD, POST, DELETE, OPTIONS"   # its Allow header
EXPOSED_HEADER = "X-Demo-Count"   # listed in Access-Control-Expose-Headers: script reads it
HIDDEN_HEADER = "X-Demo-Hidden"   # sent but not listed: script cannot read it
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
MAX_NOTES = 100       # the oldest note goes when a new one would pass this
MAX_BODY = 16 * 1024  # request bodies above this get 413 and are never read
COOKIE_NAME = "cors_demo"

# HTTP limits: generous for browsers, small enough that no client can make the
# server hold much for long.
MAX_LINE = 8 * 1024   # request line or header line; longer: 414 or 431 (nginx's default)
MAX_HEADERS = 100     # header lines per request; more: 431 (as Python's own parser)
MAX_PARAM = 1024      # a /cors query value longer than this is refused
TIMEOUT = 10.0        # seconds a connection has to deliver each whole request, idle time included
LINGER = 1.0          # after an error, seconds spent reading what the client still sends,
LINGER_BYTES = 256 * 1024  # ...and at most this much, so it sees our answer, not a reset
LOG_SIZE = 200        # API requests the log keeps, newest first
POLL = 0.1            # seconds between the listeners' checks for shutdown

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})   # Fetch: never need a preflight
SINGLE_HEADERS = frozenset({"origin", "host", "content-length"})  # a second copy is a 400
REQUEST_CORS_HEADERS = ("Access-Control-Request-Method", "Access-Control-Request-Headers",
                        "Access-Control-Request-Private-Network")

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")     # RFC 9110: methods, header names
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")       # never in a header value (tab is fine)
TARGET = re.compile(r"[\x21-\x7e]+")                     # a request target: visible ASCII
PRINTABLE = re.compile(r"[\x20-\x7e]*")                  # what a /cors value may hold
ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"
                    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{1,5})?")
JSON_TYPE = "application/json"


# ---------------------------------------------------------------- CORS policy
# What the API sends. Pure functions of plain values; each returns a fresh dict.

def is_origin(text):
    """A well-formed origin, scheme://host[:port], or the opaque origin null."""
    return text == "null" or ORIGIN.fullmatch(text) is not None


def allow_listed(origin, allowed, credentials=False, expose=None):
    """Headers of an actual response whose answer depends on the allow-list."""
    if origin is None or origin not in allowed:
        return {"Vary": "Origin"}
    headers = {"Access-Control-Allow-Origin": origin}
    if credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if expose:
        headers["Access-Control-Expose-Headers"] = expose
    headers["Vary"] = "Origin"
    return headers


def header_names(value):
    """The names in Access-Control-Request-Headers, lower case, or None if malformed."""
    names = []
    for item in (value or "").split(","):
        name = item.strip(" \t").lower()
        if not name:
            continue
        if not TOKEN.fullmatch(name):
            return None
        if name not in names:
            names.append(name)
    return names


def data_preflight_headers(origin, method, requested, allowed, max_age, private_network=False):
    """The answer to a /data preflight: all of it, or, if anything asked is refused,
    no Access-Control-Allow-* at all, so the browser stops there."""
    refused = {"Vary": PREFLIGHT_VARY}
    names = header_names(requested)
    if origin not in allowed or method not in DATA_METHODS or names is None:
        return refused
    if any(name not in DATA_HEADERS for name in names):
        return refused
    headers = {"Access-Control-Allow-Origin": origin,
               "Access-Control-Allow-Methods": ", ".join(DATA_METHODS)}
    if names:
        headers["Access-Control-Allow-Headers"] = ", ".join(DATA_HEADERS[n] for n in names)
    headers["Access-Control-Max-Age"] = str(max_age)
    if private_network:
        headers["Access-Control-Allow-Private-Network"] = "true"
    headers["Vary"] = PREFLIGHT_VARY
    return headers


# /cors: query parameter -> the header it sets. Preflights get the first six,
# actual responses the ones in CORS_ACTUAL: a preflight has no use for Expose,
# an actual response none for Methods, Headers or Max-Age.
CORS_PARAMS = {
    "allow-origin": "Access-Control-Allow-Origin",
    "allow-credentials": "Access-Control-Allow-Credentials",
    "allow-methods": "Access-Control-Allow-Methods",
    "allow-headers": "Access-Control-Allow-Headers",
    "max-age": "Access-Control-Max-Age",
    "allow-private-network": "Access-Control-Allow-Private-Network",
    "expose-headers": "Access-Control-Expose-Headers",
}
CORS_PREFLIGHT = ("allow-origin", "allow-credentials", "allow-methods", "allow-headers",
                  "max-age", "allow-private-network")
CORS_ACTUAL = ("allow-origin", "allow-credentials", "expose-headers")
STATUS_PARAMS = ("status", "preflight-status")


def parse_cors_query(query):
    """The /cors parameters, validated; HTTPError 400 (echoing no value) if not."""
    params = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in CORS_PARAMS and name not in STATUS_PARAMS:
            shown = repr(name) if re.fullmatch(r"[a-z-]{1,40}", name) else "a parameter"
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"/cors does not know {shown}; it takes "
                            + ", ".join([*CORS_PARAMS, *STATUS_PARAMS]))
        if name in params:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{name} is given twice")
        if len(value) > MAX_PARAM or not PRINTABLE.fullmatch(value):
            raise HTTPError(HTTPStatus.BAD_REQUEST,
                            f"{name} must be printable ASCII of at most {MAX_PARAM} bytes, "
                            "with no control character; nothing of it was sent")
        if name in STATUS_PARAMS:
            if not (value.isdigit() and 200 <= int(value) <= 599):
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"{name} must be a status from 200 to 599")
            value = int(value)
        params[name] = value
    return params


def cors_query_headers(params, origin, preflight):
    """The headers /cors sends for its query: exactly those asked for."""
    headers = {}
    for param in CORS_PREFLIGHT if preflight else CORS_ACTUAL:
        value = params.get(param)
        if value is None:
            continue
        if param == "allow-origin" and value == "origin":
            # The classic, dangerous set-up: trust whoever asks. Shown, not recommended.
            if origin is not None and is_origin(origin):
                headers["Access-Control-Allow-Origin"] = origin
            continue
        headers[CORS_PARAMS[param]] = value
    if params.get("allow-origin") == "origin":
        headers["Vary"] = "Origin"
    return headers


# ---------------------------------------------------------------- the browser's verdict
# What a browser does with a response, by the Fetch standard's CORS check and
# CORS-preflight fetch. Headers are (name, value) pairs, as they arrived.

class Verdict(NamedTuple):
    allowed: Optional[bool]   # None: not a CORS request, so no CORS check applies
    text: str                 # "a browser lets the page read this", or "blocked: why"


def get_header(headers, name):
    """Fetch's 'get': every value of name, joined by ', '; None if absent."""
    name = name.lower()
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def allow_list(headers, name):
    """Fetch's 'extract header list values' for an Allow-Methods or Allow-Headers:
    the items, [] if absent, None if an item is not a token (a network error)."""
    value = get_header(headers, name)
    items = [item.strip(" \t") for item in (value or "").split(",")]
    items = [item for item in items if item]
    if not all(TOKEN.fullmatch(item) for item in items):
        return None
    return items


def cors_check(origin, credentials, headers, what="the response"):
    """The Fetch standard's CORS check: None if it passes, else why not."""
    allow_origin = get_header(headers, "Access-Control-Allow-Origin")
    if allow_origin is None:
        return f"{what} has no Access-Control-Allow-Origin header"
    if allow_origin == "*":
        if not credentials:
            return None
        return (f"{what} has Access-Control-Allow-Origin: *, and * does not cover "
                "a request with credentials")
    if allow_origin != origin:
        return origin_mismatch(allow_origin, origin, what)
    if not credentials:
        return None
    allow_credentials = get_header(headers, "Access-Control-Allow-Credentials")
    if allow_credentials == "true":
        return None
    if allow_credentials is None:
        return f"{what} has no Access-Control-Allow-Credentials: true, which credentials need"
    return (f"{what} has Access-Control-Allow-Credentials: {allow_credentials}, "
            "and only the exact value true allows credentials")


def origin_mismatch(allow_origin, origin, what):
    """Why an Allow-Origin that is not '*' fails to match, with the usual cause."""
    text = f"{what} has Access-Control-Allow-Origin: {allow_origin} but the page is {origin}"
    if "," in allow_origin:
        return text + " (it may hold one origin, and here it holds several)"
    if allow_origin.rstrip("/") == origin:
        return text + " (an origin has no trailing slash)"
    if allow_origin.lower() == origin.lower():
        return text + " (origins are compared exactly, case included)"
    return text


def preflight_check(origin, method, names, credentials, status, headers):
    """The checks of a CORS-preflight fetch: None if the browser goes on to send
    the actual request, else why it stops. names: the request's unsafe headers."""
    what = "the preflight response"
    if not 200 <= status <= 299:
        return f"the preflight got status {status}; a preflight needs an ok status (200-299)"
    reason = cors_check(origin, credentials, headers, what)
    if reason:
        return reason
    methods = allow_list(headers, "Access-Control-Allow-Methods")
    if methods is None:
        return "the preflight's Access-Control-Allow-Methods is not a list of methods"
    allowed_names = allow_list(headers, "Access-Control-Allow-Headers")
    if allowed_names is None:
        return "the preflight's Access-Control-Allow-Headers is not a list of header names"
    if method not in methods and method not in SAFELISTED_METHODS:
        if "*" not in methods:
            listed = ", ".join(methods) or "none"
            return f"{method} is not in the preflight's Access-Control-Allow-Methods ({listed})"
        if credentials:
            return ("* in Access-Control-Allow-Methods does not cover a request with "
                    f"credentials; {method} must be listed by name")
    lower = {name.lower() for name in allowed_names}
    wildcard = "*" in lower and not credentials
    for name in sorted(names, key=lambda n: n != "authorization"):   # Fetch checks it first
        if name in lower or (wildcard and name != "authorization"):
            continue
        listed = ", ".join(allowed_names) or "none"
        if "*" in lower and name == "authorization":
            return "* in Access-Control-Allow-Headers does not cover Authorization; list it by name"
        if "*" in lower:
            return ("* in Access-Control-Allow-Headers does not cover a request with "
                    f"credentials; {name} must be listed by name")
        return f"header {name} is not in the preflight's Access-Control-Allow-Headers ({listed})"
    return None


def browser_verdict(origin, status, headers, credentials=None, preflight=None,
                    mode=None, site=None):
    """What a browser does with this response, as a Verdict.

    preflight is None for an actual request, else (method, header names) that
    the preflight asked for. credentials is True or False, or None when unknown:
    then the verdict is for a fetch without credentials, and says if they would
    change it. mode and site are the request's Sec-Fetch-Mode and -Site.
    """
    if origin is None:
        return Verdict(None, "no Origin: not a cross-origin request from a page, "
                             "so CORS does not apply")
    if mode is not None and mode != "cors":
        return Verdict(None, f"Sec-Fetch-Mode: {mode}: not a CORS request, so the browser "
                             "does not check CORS headers"
                       + (" and gives the page an opaque response" if mode == "no-cors" else ""))
    if site == "same-origin":
        return Verdict(None, "a same-origin request: CORS does not apply")
    if preflight:
        method, names = preflight
        passed = f"preflight passed: a browser now sends the {method} request"

        def check(with_credentials):
            return preflight_check(origin, method, names, with_credentials, status, headers)
    else:
        passed = "a browser lets the page read this"

        def check(with_credentials):
            return cors_check(origin, with_credentials, headers)
    reason = check(bool(credentials))
    if reason:
        return Verdict(False, "blocked: " + reason)
    if credentials is None:
        reason = check(True)
        if reason:
            return Verdict(True, f"{passed}, but not with credentials: {reason}")
    return Verdict(True, passed)


# ---------------------------------------------------------------- HTTP pieces

class HTTPError(Exception):
    """A request refused with a status and a message a person can act on."""

    def __init__(self, status, message, close=False, headers=None):
        super().__init__(message)
        self.status = status
        self.close = close            # the framing is broken: nothing after it can be read
        self.headers = headers or {}


class Request:
    """What the server understood of one request."""
    __slots__ = ("method", "target", "path", "query", "headers", "body", "version",
                 "keep_alive", "params")

    def __init__(self, method, target, path, query, headers, body=b"", version="HTTP/1.1",
                 keep_alive=True):
        self.method, self.target, self.path, self.query = method, target, path, query
        self.headers, self.body, self.version = headers, body, version
        self.keep_alive = keep_alive
        self.params = None            # /cors parameters, parsed once

    @property
    def origin(self):
        return self.headers.get("origin")


class Response(NamedTuple):
    status: int
    headers: dict
    body: bytes = b""


class Route(NamedTuple):
    cors: object        # (demo, request) -> the CORS headers of its actual responses
    preflight: object   # (demo, request) -> Response to a preflight, or None: no preflights
    methods: dict       # method -> handler(demo, request) -> (status, headers, body)


ANY = "*"               # a route's method key that takes every method
NO_BODY = frozenset({204, 304})   # statuses sent with neither body nor Content-Length
REASONS = {status.value: status.phrase for status in HTTPStatus}


def json_body(value):
    return (json.dumps(value) + "\n").encode()


def error_response(status, message, headers=None):
    """A JSON error, with the headers given (the route's CORS headers, Allow...)."""
    return Response(int(status), {**(headers or {}), "Content-Type": JSON_TYPE},
                    json_body({"error": message}))


def parse_request_line(line):
    """b'METHOD target HTTP/1.1\\r\\n' -> (method, target, version); HTTPError if not."""
    parts = strip_eol(line).decode("latin-1").split(" ")
    if len(parts) != 3:
        raise HTTPError(HTTPStatus.BAD_REQUEST,
                        "a request line is METHOD /path HTTP/1.1, single spaces between",
                        close=True)
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the method is not a token", close=True)
    if not TARGET.fullmatch(target):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the request target holds a character that "
                        "is not visible ASCII", close=True)
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        match = re.fullmatch(r"HTTP/([0-9])\.[0-9]", version)
        if not match:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the version must be HTTP/1.1 or HTTP/1.0",
                            close=True)
        if match[1] != "1":
            raise HTTPError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                            "this server speaks HTTP/1.1", close=True)
        version = "HTTP/1.1"      # a later 1.x is read as 1.1 (RFC 9110, 2.5)
    return method, target, version


def split_target(method, target):
    """A request target -> (path, query)."""
    if target.startswith("/"):
        path, _, query = target.partition("?")
        return path, query
    if target == "*" and method == "OPTIONS":
        return "*", ""
    if target[:8].lower().startswith(("http://", "https://")):   # absolute form, as proxies send
        try:
            parts = urlsplit(target)
        except ValueError:        # an unclosed [IPv6] host, say
            parts = None
        if parts and parts.netloc:
            return parts.path or "/", parts.query
    raise HTTPError(HTTPStatus.BAD_REQUEST, "the request target must be a path such as "
                    "/allow-cors", close=True)


def strip_eol(line):
    """A line without its CRLF (or bare LF), and nothing more: a stray CR stays, to be refused."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith(b"\n") else line


def parse_header_line(line):
    """b'Name: value\\r\\n' -> ('name', 'value'); HTTPError 400 if malformed."""
    text = strip_eol(line).decode("latin-1")
    if text[:1] in (" ", "\t"):
        # obs-fold: Python's own parser would glue this line, CR LF and all, onto
        # the previous header's value. RFC 9112 5.2 lets a server refuse it.
        raise HTTPError(HTTPStatus.BAD_REQUEST, "a header line starts with whitespace "
                        "(a folded header): send each header on one line", close=True)
    name, colon, value = text.partition(":")
    if not colon or not TOKEN.fullmatch(name):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "a header line is not 'Name: value'", close=True)
    value = value.strip(" \t")
    if CONTROL.search(value):
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"the {name} header holds a control "
                        "character (CR, LF, NUL...)", close=True)
    return name.lower(), value


def wants_keep_alive(version, connection):
    """HTTP/1.1 stays open unless told to close; HTTP/1.0 only if it asks."""
    tokens = {token.strip().lower() for token in connection.split(",")} if connection else ()
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


_date = (0, "")


def http_date():
    """The Date header's value, formatted once a second rather than per response."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, email.utils.formatdate(now, usegmt=True))
    return _date[1]


def render(status, headers, body=b"", head_only=False, connection=None):
    """The bytes of one response: status line, headers, Content-Length, body."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}", "Date: " + http_date(),
             "Server: cors_demo/" + __version__]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if status not in NO_BODY:
        lines.append(f"Content-Length: {len(body)}")
    if connection:
        lines.append("Connection: " + connection)
    head = "\r\n".join(lines)
    # Last line of defence against response splitting: every value was validated
    # on the way in, and this proves no CR or LF slipped into one.
    if head.count("\n") != len(lines) - 1 or head.count("\r") != len(lines) - 1:
        raise ValueError("a response header holds a line break")
    head = (head + "\r\n\r\n").encode("latin-1")
    return head if head_only or status in NO_BODY else head + body


# ---------------------------------------------------------------- state

def load_message(path):
    """message.json as (object, warning or None); the built-in message if unusable."""
    try:
        message = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return BUILT_IN_MESSAGE, f"{path} not found: answering a built-in message"
    except (OSError, ValueError) as error:
        return BUILT_IN_MESSAGE, f"{path} is not readable JSON ({error}): answering a built-in message"
    if not isinstance(message, dict):
        return BUILT_IN_MESSAGE, f"{path} is not a JSON object: answering a built-in message"
    return message, None


class Notes:
    """The /data notes: at most MAX_NOTES, oldest out first, safe across threads."""

    def __init__(self, limit=MAX_NOTES):
        self._notes = collections.deque(maxlen=limit)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, text):
        with self._lock:
            note = {"id": next(self._ids), "text": text}
            self._notes.append(note)
            return note, len(self._notes)

    def all(self):
        with self._lock:
            return list(self._notes)

    def clear(self):
        with self._lock:
            count = len(self._notes)
            self._notes.clear()
            return count

    def __len__(self):
        return len(self._notes)


class RequestLog:
    """The last LOG_SIZE API requests, kept raw; verdicts are worked out when read."""

    def __init__(self, size=LOG_SIZE):
        self._entries = collections.deque(maxlen=size)
        self._ids = itertools.count(1)

    def record(self, request, response):
        entry = (next(self._ids), time.time(), request.method, request.target,
                 request.headers, response.status, response.headers)
        self._entries.append(entry)
        return entry

    def newest_first(self, after=0):
        return [entry for entry in reversed(self._entries) if entry[0] > after]

    def __len__(self):
        return len(self._entries)


def entry_verdict(entry):
    _, _, method, _, request_headers, status, response_headers = entry
    get = request_headers.get
    cors_items = tuple((name, value) for name, value in response_headers.items()
                       if name.startswith("Access-Control-"))
    return _verdict(method, get("origin"), get("access-control-request-method"),
                    get("access-control-request-headers"), "cookie" in request_headers,
                    get("sec-fetch-mode"), get("sec-fetch-site"), status, cors_items)


@functools.lru_cache(maxsize=1024)   # a class of browsers repeats the same few requests
def _verdict(method, origin, request_method, request_headers, cookie, mode, site, status,
             cors_items):
    preflight = None
    if method == "OPTIONS" and request_method is not None:
        preflight = (request_method, header_names(request_headers) or [])
    # Cookies cross origins only with credentials: 'include', so a cookie proves
    # them; no cookie proves nothing (there may be none to send).
    credentials = True if cookie and not preflight else None
    return browser_verdict(origin, status, cors_items, credentials, preflight, mode, site)


def entry_json(entry):
    """One log entry as the playground's /log shows it."""
    number, when, method, target, request_headers, status, response_headers = entry
    verdict = entry_verdict(entry)
    return {
        "id": number,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z",
        "method": method,
        "path": target,
        "origin": request_headers.get("origin"),
        "preflight": method == "OPTIONS" and "access-control-request-method" in request_headers
                     and "origin" in request_headers,
        "request_headers": {name: request_headers[name.lower()] for name in REQUEST_CORS_HEADERS
                            if name.lower() in request_headers},
        "cookie": "cookie" in request_headers,
        "status": status,
        "response_headers": {name: value for name, value in response_headers.items()
                             if name.startswith("Access-Control-") or name == "Vary"},
        "allowed": verdict.allowed,
        "verdict": verdict.text,
    }


def clock(when=None):
    return time.strftime("%H:%M:%S", time.localtime(when))


def terminal_line(entry):
    """One log entry as the terminal shows it: time, status, request, verdict."""
    number, when, method, target, request_headers, status, _ = entry
    origin = request_headers.get("origin")
    asked = request_headers.get("access-control-request-method")
    line = f"{clock(when)} {status} {method} {target}"
    if origin is not None:
        line += f" from {origin}"
    if method == "OPTIONS" and asked is not None:
        line += f" (preflight for {asked})"
    line += f": {entry_verdict(entry).text}"
    # Header values may hold bytes a terminal would obey (C1 controls): show them escaped.
    return line.encode("ascii", "backslashreplace").decode("ascii")


# ---------------------------------------------------------------- routes
# Handlers take (demo, request) and return (status, headers, body); the route's
# CORS headers are added by dispatch(), so each handler is only its own job.

def no_cors(demo, request):
    return {}


def any_origin(demo, request):
    return {"Access-Control-Allow-Origin": "*"}


def listed_origin(demo, request):
    return allow_listed(request.origin, demo.allow_origins)


def listed_origin_with_credentials(demo, request):
    return allow_listed(request.origin, demo.allow_origins, credentials=True)


def data_cors(demo, request):
    return allow_listed(request.origin, demo.allow_origins, expose=EXPOSED_HEADER)


def cors_params(request):
    if request.params is None:
        request.params = parse_cors_query(request.query)
    return request.params


def query_cors(demo, request):
    return cors_query_headers(cors_params(request), request.origin, preflight=False)


def is_preflight(request):
    return (request.method == "OPTIONS" and "origin" in request.headers
            and "access-control-request-method" in request.headers)


def data_preflight(demo, request):
    get = request.headers.get
    headers = data_preflight_headers(
        request.origin, get("access-control-request-method"),
        get("access-control-request-headers"), demo.allow_origins, demo.max_age,
        private_network=get("access-control-request-private-network") == "true")
    return Response(HTTPStatus.NO_CONTENT, headers)


def query_preflight(demo, request):
    params = cors_params(request)
    status = params.get("preflight-status", HTTPStatus.NO_CONTENT)
    return Response(status, cors_query_headers(params, request.origin, preflight=True))


def send_message(demo, request):
    return HTTPStatus.OK, {"Content-Type": JSON_TYPE}, demo.message_body


def cookie_names(header):
    """The names in a Cookie header, in order."""
    names = (part.split("=", 1)[0].strip() for part in (header or "").split(";"))
    return [name for name in names if name]


def send_message_and_cookies(demo, request):
    names = cookie_names(request.headers.get("cookie"))
    headers = {"Content-Type": JSON_TYPE}
    if COOKIE_NAME not in names:
        headers["Set-Cookie"] = (f"{COOKIE_NAME}={secrets.token_hex(8)}; "
                                 "HttpOnly; SameSite=Lax; Path=/")
    return HTTPStatus.OK, headers, json_body({**demo.message, "cookies": names})


def data_headers(count):
    return {"Content-Type": JSON_TYPE, EXPOSED_HEADER: str(count),
            HIDDEN_HEADER: "script cannot read this header"}


def parse_note(body):
    """The text of a POST /data body, {"text": "..."}; HTTPError 400 if not."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):    # bad UTF-8 is a ValueError too
        raise HTTPError(HTTPStatus.BAD_REQUEST, 'the body is not JSON; send {"text": "..."}')
    if not isinstance(data, dict) or set(data) != {"text"} or not isinstance(data["text"], str):
        raise HTTPError(HTTPStatus.BAD_REQUEST,
                        'the body must be a JSON object {"text": "..."} and nothing else')
    return data["text"]


def list_notes(demo, request):
    notes = demo.notes.all()
    return HTTPStatus.OK, data_headers(len(notes)), json_body({"notes": notes})


def add_note(demo, request):
    note, count = demo.notes.add(parse_note(request.body))
    return HTTPStatus.CREATED, data_headers(count), json_body({"note": note})


def clear_notes(demo, request):
    deleted = demo.notes.clear()
    return HTTPStatus.OK, data_headers(0), json_body({"deleted": deleted})


def data_options(demo, request):
    """OPTIONS /data that is not a preflight: which methods the route takes."""
    return HTTPStatus.NO_CONTENT, {"Allow": DATA_ALLOW, **data_headers(len(demo.notes))}, b""


def query_answer(demo, request):
    status = cors_params(request).get("status", HTTPStatus.OK)
    headers = data_headers(len(demo.notes))
    body = b"" if status in (204, 205, 304) else demo.message_body
    return status, headers, body


def server_options(demo, request):
    """OPTIONS *: what the server as a whole takes."""
    return HTTPStatus.NO_CONTENT, {"Allow": "GET, HEAD, POST, DELETE, OPTIONS"}, b""


ROUTES = {
    # path                CORS headers                      preflight        methods (HEAD follows GET)
    "/":                  Route(no_cors,                        None,            {"GET": send_message}),
    "/allow-cors":        Route(any_origin,                     None,            {"GET": send_message}),
    "/allow-origin":      Route(listed_origin,                  None,            {"GET": send_message}),
    "/allow-credentials": Route(listed_origin_with_credentials, None,            {"GET": send_message_and_cookies}),
    "/data":              Route(data_cors,                      data_preflight,  {"GET": list_notes, "POST": add_note,
                                                                                  "DELETE": clear_notes,
                                                                                  "OPTIONS": data_options}),
    "/cors":              Route(query_cors,                     query_preflight, {ANY: query_answer}),
    "*":                  Route(no_cors,                        None,            {"OPTIONS": server_options}),
}


def allowed_methods(route):
    methods = list(route.methods)
    if "GET" in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


def find_handler(route, method):
    methods = route.methods
    handler = methods.get(method) or methods.get(ANY)
    if handler is None and method == "HEAD":
        handler = methods.get("GET")
    return handler


def dispatch(routes, demo, request):
    """Run the request's route; refusals become JSON errors with the route's CORS
    headers, so a page the route trusts can read its own error."""
    route = routes.get(request.path)
    if route is None:
        paths = ", ".join(path for path in routes if path != "*")
        return error_response(HTTPStatus.NOT_FOUND, f"nothing at {request.path}; try {paths}")
    cors = None
    try:
        if route.preflight and is_preflight(request):
            return route.preflight(demo, request)
        cors = route.cors(demo, request)
        handler = find_handler(route, request.method)
        if handler is None:
            allow = allowed_methods(route)
            raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED,
                            f"{request.method} is not allowed on {request.path}; it takes {allow}",
                            headers={"Allow": allow})
        status, headers, body = handler(demo, request)
        return Response(int(status), {**cors, **headers}, body)
    except HTTPError as error:
        if cors is None:     # the request is too broken for the route's own policy
            cors = allow_listed(request.origin, demo.allow_origins)
        return error_response(error.status, str(error), {**cors, **error.headers})


# ---------------------------------------------------------------- HTTP handler

class Handler(http.server.BaseHTTPRequestHandler):
    """One connection: strict reading, one write per response, keep-alive."""
    protocol_version = "HTTP/1.1"
    routes = {}
    records = False       # the API's requests go into the log; the playground's do not

    def setup(self):
        self.timeout = self.server.demo.timeout     # each recv; the watch bounds the whole
        super().setup()
        # One write per response already; without this, Nagle's algorithm would
        # still hold a small response back until the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.deadline = 0.0

    def finish(self):
        self.server.watch.forget(self.connection)
        super().finish()

    def handle_one_request(self):
        self.close_connection = True
        self.deadline = self.server.watch.renew(self.connection)
        try:
            request = self.read_request()
        except HTTPError as error:
            response = error_response(error.status, str(error))
            self.wfile.write(render(response.status, response.headers, response.body,
                                    connection="close"))
            if self.records and not self.server.demo.quiet:
                self.server.demo.say(f"{clock()} {response.status} unreadable request from "
                                     f"{self.client_address[0]}: {error}")
            self.linger()
            return
        if request is None:
            return
        demo = self.server.demo
        try:
            response = dispatch(self.routes, demo, request)
        except Exception:     # a bug: say so once, answer 500, keep serving the others
            traceback.print_exc()
            response = error_response(HTTPStatus.INTERNAL_SERVER_ERROR,
                                      "the server failed; its terminal says why")
            request.keep_alive = False
        connection = None
        if not request.keep_alive:
            connection = "close"
        elif request.version == "HTTP/1.0":
            connection = "keep-alive"
        self.wfile.write(render(response.status, response.headers, response.body,
                                request.method == "HEAD", connection))
        self.close_connection = not request.keep_alive
        if self.records:
            demo.record(request, response)

    # -- reading, strictly: anything doubtful is a 4xx and the connection closes

    def read_request(self):
        """The next request, None if the client is done, HTTPError if it is malformed."""
        line = self.read_first_line()
        if line is None:
            return None
        method, target, version = parse_request_line(line)
        headers = self.read_headers()
        path, query = split_target(method, target)
        if version == "HTTP/1.1" and "host" not in headers:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "an HTTP/1.1 request needs a Host header",
                            close=True)
        keep_alive = wants_keep_alive(version, headers.get("connection"))
        body = self.read_body(headers, version)
        return Request(method, target, path, query, headers, body, version, keep_alive)

    def read_first_line(self):
        line = b"\r\n"
        for _ in range(3):      # RFC 9112 2.2: tolerate a blank line or two before a request
            try:
                line = self.rfile.readline(MAX_LINE + 1)
            except (TimeoutError, ConnectionError):
                return None     # idle past the timeout, or gone
            if line not in (b"\r\n", b"\n"):
                break
        if not line or line in (b"\r\n", b"\n"):
            return None
        return self.checked(line, HTTPStatus.REQUEST_URI_TOO_LONG, "the request line")

    def read_line(self, what):
        try:
            line = self.rfile.readline(MAX_LINE + 1)
        except TimeoutError:
            raise HTTPError(HTTPStatus.REQUEST_TIMEOUT, "the request took too long to arrive",
                            close=True)
        return self.checked(line, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, what)

    def checked(self, line, too_long, what):
        if len(line) > MAX_LINE:
            raise HTTPError(too_long, f"{what} is longer than {MAX_LINE} bytes", close=True)
        if not line.endswith(b"\n"):
            raise self.cut_short()
        return line

    def cut_short(self):
        """The request stopped arriving: too slow (the watch closed it), or the client left."""
        if time.monotonic() >= self.deadline:
            return HTTPError(HTTPStatus.REQUEST_TIMEOUT, "the request took too long to arrive",
                             close=True)
        return HTTPError(HTTPStatus.BAD_REQUEST, "the request ended early", close=True)

    def read_headers(self):
        headers = {}
        for _ in range(MAX_HEADERS + 1):
            line = self.read_line("a header line")
            if line == b"\r\n" or line == b"\n":
                return headers
            name, value = parse_header_line(line)
            if name in headers:
                if name in SINGLE_HEADERS:
                    raise HTTPError(HTTPStatus.BAD_REQUEST, f"more than one {name} header",
                                    close=True)
                value = headers[name] + ("; " if name == "cookie" else ", ") + value
            headers[name] = value
        raise HTTPError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        f"more than {MAX_HEADERS} header lines", close=True)

    def read_body(self, headers, version):
        """The body, read whole so the next request starts where it should."""
        length = headers.get("content-length")
        if "transfer-encoding" in headers:
            if length is not None:
                raise HTTPError(HTTPStatus.BAD_REQUEST, "Transfer-Encoding and Content-Length "
                                "together make the body's end ambiguous", close=True)
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length; "
                            "chunked bodies are not accepted here", close=True)
        if length is None:
            return b""
        if not (length.isascii() and length.isdigit()):
            raise HTTPError(HTTPStatus.BAD_REQUEST, "Content-Length must be a number", close=True)
        if len(length) > 9 or int(length) > MAX_BODY:
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"the body is over {MAX_BODY} bytes", close=True)
        size = int(length)
        expect = headers.get("expect")
        if expect is not None and version == "HTTP/1.1":
            if expect.lower() != "100-continue":
                raise HTTPError(HTTPStatus.EXPECTATION_FAILED,
                                "the only expectation understood is 100-continue", close=True)
            if size:
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            raise HTTPError(HTTPStatus.REQUEST_TIMEOUT, "the body took too long to arrive",
                            close=True)
        if len(body) < size:
            raise self.cut_short()
        return body

    def linger(self):
        """After an error, read (and drop) what the client is still sending, for a
        moment: closing on unread data sends a reset, and the client would lose
        our answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            end = time.monotonic() + LINGER
            received = 0
            while received < LINGER_BYTES and time.monotonic() < end:
                sock.settimeout(max(0.01, end - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += len(chunk)
        except OSError:
            pass

    def log_message(self, format, *args):
        pass      # the request log and the terminal lines say what happened


class ApiHandler(Handler):
    routes = ROUTES
    records = True


# ---------------------------------------------------------------- servers

class ConnectionWatch:
    """Closes the reading side of connections past their deadline.

    A socket timeout bounds each recv, not a request: a client sending a byte
    every few seconds would hold its thread for ever. Every request gets a
    deadline instead; past it, a blocked read returns at once."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.deadlines = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cors_demo watch", daemon=True)
        self._thread.start()

    def renew(self, sock):
        deadline = time.monotonic() + self.timeout
        self.deadlines[sock] = deadline
        return deadline

    def forget(self, sock):
        self.deadlines.pop(sock, None)

    def _run(self):
        while not self._stop.wait(min(1.0, self.timeout / 4)):
            now = time.monotonic()
            for sock, deadline in self.deadlines.copy().items():
                if deadline < now:
                    self.deadlines.pop(sock, None)
                    try:
                        sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass

    def close(self):
        self._stop.set()


class Server(http.server.ThreadingHTTPServer):
    """One listener: a thread per connection, a watch on slow ones."""
    daemon_threads = True       # an open connection never holds up Ctrl-C
    request_queue_size = 128    # socketserver's 5 drops handshakes under load

    def __init__(self, address, handler, demo):
        self.demo = demo
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.watch = ConnectionWatch(demo.timeout)
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's full name, which can take
        # seconds on a machine without DNS; nothing here needs it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        # A client that goes away mid-request is an ordinary event, not a crash:
        # one quiet line, no traceback.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handle_error(request, client_address)
        elif not self.demo.quiet:
            self.demo.say(f"{clock()} connection from {client_address[0]} dropped "
                          f"({type(error).__name__})")

    def server_close(self):
        super().server_close()
        self.watch.close()


def url_host(host):
    """How a listening address appears in a URL a browser can open."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def default_origins(host, playground_port):
    """The playground's own origin, as 127.0.0.1 and as localhost (and its host, if another)."""
    origins = [f"http://127.0.0.1:{playground_port}", f"http://localhost:{playground_port}"]
    spelled = f"http://{url_host(host)}:{playground_port}"
    if spelled not in origins:
        origins.append(spelled)
    return origins


class Demo:
    """Both listeners and what they share: settings, notes, the request log.

    The command line and the tests build it the same way; port 0 means any
    free port, and the URLs say which."""

    def __init__(self, host=HOST, port=PORT, playground_port=None, allow_origins=None,
                 max_age=MAX_AGE, quiet=True, timeout=TIMEOUT, message_path=MESSAGE_PATH,
                 out=None):
        self.message, warning = load_message(message_path)
        self.message_body = json_body(self.message)
        self.warnings = [warning] if warning else []
        self.max_age = max_age
        self.quiet = quiet
        self.timeout = timeout
        self.out = out or sys.stdout
        self.notes = Notes()
        self.log = RequestLog()
        if playground_port is None:
            playground_port = port + 1 if port else 0
        self.api = listen(host, port, ApiHandler, self)
        try:
            self.playground = listen(host, playground_port, PlaygroundHandler, self)
        except ListenError:
            self.api.server_close()
            raise
        self.allow_origins = frozenset(allow_origins or
                                       default_origins(host, self.playground.server_port))
        self.origin_order = list(allow_origins or default_origins(host, self.playground.server_port))
        self.api_url = f"http://{url_host(host)}:{self.api.server_port}"
        self.playground_url = f"http://{url_host(host)}:{self.playground.server_port}"
        self._threads = []

    def record(self, request, response):
        entry = self.log.record(request, response)
        if not self.quiet:
            self.say(terminal_line(entry))

    def say(self, line):
        """One line in the terminal; if the terminal is gone (| head), go on serving."""
        try:
            self.out.write(line + "\n")
            self.out.flush()
        except (OSError, ValueError):
            self.quiet = True

    def start(self):
        for server in (self.api, self.playground):
            thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True,
                                      name=f"cors_demo :{server.server_port}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        servers = (self.api, self.playground)
        if self._threads:
            # Each listener notices a shutdown within POLL seconds: ask both at once.
            stoppers = [threading.Thread(target=server.shutdown) for server in servers]
            for thread in stoppers:
                thread.start()
            for thread in stoppers + self._threads:
                thread.join()
        for server in servers:
            server.server_close()
        self._threads = []


# ---------------------------------------------------------------- playground page

PLACEHOLDER_PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>cors_demo playground</title>
<h1>cors_demo playground</h1>
<p>The experiments page is on its way. Meanwhile, the log of API requests is at
<a href="/log">/log</a>.</p>
</html>
"""


def playground_page(demo, request):
    return HTTPStatus.OK, {"Content-Type": "text/html; charset=utf-8"}, PLACEHOLDER_PAGE.encode()


def show_log(demo, request):
    """The API's requests, newest first; ?since=ID gives only the newer ones."""
    query = dict(parse_qsl(request.query))
    since = query.get("since", "0")
    if not (since.isascii() and since.isdigit()):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "since must be a log entry id")
    body = {
        "api": demo.api_url,
        "playground": demo.playground_url,
        "allow_origins": demo.origin_order,
        "max_age": demo.max_age,
        "entries": [entry_json(entry) for entry in demo.log.newest_first(int(since))],
    }
    return HTTPStatus.OK, {"Content-Type": JSON_TYPE}, json_body(body)


PLAYGROUND_ROUTES = {
    "/":    Route(no_cors, None, {"GET": playground_page}),
    "/log": Route(no_cors, None, {"GET": show_log}),
}


class PlaygroundHandler(Handler):
    routes = PLAYGROUND_ROUTES


# ---------------------------------------------------------------- command line

class PrintHelp(argparse.Action):
    """-h/--help prints the module docstring: the usage text lives in one place."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0)

    def __call__(self, parser, namespace, values, option_string=None):
        print(__doc__.strip())
        parser.exit()


def port_number(text):
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return int(text)


def max_age_seconds(text):
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_AGE_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to "
                                         f"{MAX_AGE_LIMIT} (browsers cap it: Chrome at 7200)")
    return int(text)


def browser_origin(text):
    """An allow-list entry: an origin exactly as a browser sends it, since matching is exact."""
    if text == "null":
        return text
    if not is_origin(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an origin: write scheme://host[:port], with no path or trailing slash")
    scheme, _, rest = text.partition("://")
    default_port = {"http": ":80", "https": ":443"}.get(scheme.lower())
    if text != text.lower() or (default_port and rest.endswith(default_port)):
        plain = text.lower()
        if default_port and plain.endswith(default_port):
            plain = plain[:-len(default_port)]
        raise argparse.ArgumentTypeError(
            f"{text!r} is not how a browser writes that origin; it sends {plain!r}")
    return text


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="cors_demo.py", add_help=False,
        usage="python cors_demo.py [--host HOST] [--port PORT] [--playground-port PORT] "
              "[--allow-origin ORIGIN]... [--max-age SECONDS] [--quiet] (--help for more)")
    env_port = os.environ.get("PORT")
    default_port = PORT
    if env_port:
        try:
            default_port = port_number(env_port)
        except argparse.ArgumentTypeError:
            parser.error(f"PORT={env_port!r} in the environment is not a port (0-65535)")
    parser.add_argument("-h", "--help", action=PrintHelp)
    parser.add_argument("--version", action="version", version=f"cors_demo {__version__}")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=port_number, default=default_port)
    parser.add_argument("--playground-port", type=port_number)
    parser.add_argument("--allow-origin", type=browser_origin, action="append", dest="allow_origins")
    parser.add_argument("--max-age", type=max_age_seconds, default=MAX_AGE)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.playground_port is None and args.port == 65535:
        parser.error("the playground needs a port too: give --playground-port")
    if args.playground_port and args.playground_port == args.port:
        parser.error("the API and the playground need different ports: they are two origins")
    return args


class ListenError(Exception):
    """A listener could not start; the message is the one line the user sees."""


def listen(host, port, handler, demo):
    try:
        return Server((host, port), handler, demo)
    except OSError as error:
        where = f"{host} port {port}"
        if error.errno == errno.EADDRINUSE:
            why = f"{where} is in use; choose another with --port (and --playground-port)"
        elif error.errno == errno.EACCES:
            why = f"no permission to listen on {where} (ports below 1024 need root)"
        else:
            why = f"cannot listen on {where}: {error.strerror or error}"
        raise ListenError("cors_demo: " + why) from None


def banner(demo, host):
    lines = [f"cors_demo {__version__}: watch CORS happen",
             f"  API         {demo.api_url}",
             f"  playground  {demo.playground_url}   <- open this in a browser",
             "  allow-list  " + " ".join(demo.origin_order)]
    if host in ("", "0.0.0.0", "::"):
        lines.append(f"  listening on every interface ({host or 'all'}), not only loopback")
    lines.append("Ctrl-C stops." + ("" if demo.quiet else " One line per API request follows."))
    return "\n".join(lines)


def serve(args):
    try:
        demo = Demo(host=args.host, port=args.port, playground_port=args.playground_port,
                    allow_origins=args.allow_origins, max_age=args.max_age, quiet=args.quiet)
    except ListenError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        for warning in demo.warnings:
            print("warning:", warning, file=sys.stderr)
        demo.start()
        print(banner(demo, args.host), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not interrupt the stop
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.stop()
    print("\ncors_demo stopped.")
    return 0


def stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        return serve(args)
    except KeyboardInterrupt:     # stopped before it had started: nothing to clean up
        return 0


if __name__ == "__main__":
    sys.exit(main())
