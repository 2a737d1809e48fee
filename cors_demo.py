#!/usr/bin/env python3
"""cors_demo: watch Cross-Origin Resource Sharing happen.

usage: python cors_demo.py [--host HOST] [--port PORT] [--playground-port PORT]
                           [--allow-origin ORIGIN]... [--no-default-origins]
                           [--max-age SECONDS] [--max-connections N] [--quiet]
       python cors_demo.py check URL --origin ORIGIN [options]   (check --help)
       python cors_demo.py --version | --help

One process, two origins. The API answers the lesson's endpoints. The
playground, on the next port, serves a page that calls the API cross-origin,
and /log: every API request as the server saw it, preflights included, with a
verdict on what a browser does with the response and why.

  API         http://127.0.0.1:8000
  playground  http://127.0.0.1:8001   open it in a browser: every experiment of the
                                      lesson, run by the browser; the log is at /log.
                                      ?api=URL if the API has another public URL;
                                      ?autorun=1 runs them all and reports here.

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
  /redirect           any method    a redirect: /redirect?to=/allow-cors&status=307,
                                    with the CORS headers allow-origin and
                                    allow-credentials ask for
  Every route ignores a run=TOKEN query parameter: the playground's run token.

options:
  --host HOST             address to listen on (default 127.0.0.1; 0.0.0.0 in a sandbox;
                          :: or [::1] for IPv6)
  --port PORT             API port (default: $PORT if set, else 8000; 0 = any free port)
  --playground-port PORT  playground port (default: API port + 1; 0 = any free port)
  --allow-origin ORIGIN   one more origin /allow-origin, /allow-credentials and /data
                          trust, as a browser writes it (scheme://host[:port]); repeat
                          for more. The default list is the playground's own origin,
                          as http://127.0.0.1:PORT, http://localhost:PORT, http://[::1]:PORT
  --no-default-origins    trust only the --allow-origin ones
  --max-age SECONDS       Access-Control-Max-Age of /data preflights (default 600)
  --max-connections N     open connections at once; more get 503 (default 2048)
  --quiet                 no line per request in the terminal
  --version               print the version and exit
  -h, --help              print this text and exit

check: why is my request blocked? For any http(s) URL, does what a browser does
for fetch(URL, {mode: 'cors', ...}) from a page on ORIGIN, by the Fetch standard,
and says what the browser decides and why. `check --help` lists its options.
Exit status: 0 a browser lets the page read the response, 1 blocked, 2 could not ask.

A teaching server, not a production CORS layer: it reflects, logs and explains
what production code should do quietly.
"""

# How to read this file: Part 1 is the lesson (what the API sends and why, its
# routes, and the playground's experiments as data); Part 2 is what a browser
# does with it (the verdict, and check); Part 3 is the machinery that serves it
# (the log, http.server underneath, the command line); the appendix is the page.

import argparse
import base64
import collections
import errno
import hashlib
import http.client
import http.server
import io
import itertools
import json
import math
import os
import re
import secrets
import shlex
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http import HTTPStatus
from pathlib import Path
from typing import NamedTuple, Optional
from urllib.parse import parse_qsl, urlsplit

__version__ = "1.0.0"
__all__ = [  # the lesson's names; the rest is how it is served
    "ROUTES", "LESSON", "dispatch", "listed_origin_headers", "data_preflight_headers",
    "cors_query_headers", "browser_verdict", "preflight_reason", "check", "Demo", "main"]


##############################################################################
# PART 1. THE LESSON: what the API sends, and why
##############################################################################

# ---------------------------------------------------------------- constants

HOST = "127.0.0.1"     # loopback: a demo is not on the network unless asked to be
PORT = 8000            # the API; the playground listens on PORT + 1, the other origin on PORT + 2
MAX_AGE = 600          # seconds a browser may reuse a /data preflight (Chrome caps at 7200)
MAX_AGE_LIMIT = 86400  # Firefox's cap: a longer Max-Age means nothing to any browser
MESSAGE_PATH = Path(__file__).with_name("message.json")
BUILT_IN_MESSAGE = {"message": "Hello from the cors_demo API (message.json was not found)."}

# /data: the request headers its preflight allows, by lower-case name, spelled as
# its answer spells them. Its methods are the route table's (ROUTES, below).
DATA_HEADERS = {"content-type": "Content-Type", "x-demo": "X-Demo"}
EXPOSED_HEADER = "X-Demo-Count"   # listed in Access-Control-Expose-Headers: script reads it
HIDDEN_HEADER = "X-Demo-Hidden"   # sent but not listed: script cannot read it
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
MAX_NOTES = 100        # the oldest note goes when a new one would pass this
MAX_BODY = 16 * 1024   # request bodies above this get 413 and are never read
COOKIE_NAME = "cors_demo"

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})   # Fetch: never need a preflight
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
RUN_PARAMETER = "run"  # the playground's run token: every route accepts and ignores it
MAX_PARAM = 1024       # a /cors or /redirect query value longer than this is refused

TOKEN_CHARACTERS = r"!#$%&'*+\-.^_`|~0-9A-Za-z"        # RFC 9110: methods, header names
TOKEN = re.compile(f"[{TOKEN_CHARACTERS}]+")
PRINTABLE = re.compile(r"[\x20-\x7e]*")                  # what a query value may hold
VISIBLE = re.compile(r"[\x21-\x7e]+")                    # a request target, a redirect's Location
CONTROL_OR_BREAK = re.compile(r"[\x00\r\n]")            # what fetch() refuses in a header value
ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://"
                    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{1,5})?")
JSON_TYPE = "application/json"


# ---------------------------------------------------------------- what a handler gets and returns

class HTTPError(Exception):
    """A request refused with a status and a message a person can act on."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class Request:
    """What the server understood of one request. Header names are lower case."""
    __slots__ = ("method", "target", "path", "query", "headers", "version", "body", "size",
                 "params")

    def __init__(self, method, target, path, query, headers, version="HTTP/1.1"):
        self.method, self.target, self.path, self.query = method, target, path, query
        self.headers, self.version = headers, version
        self.body = b""
        self.size = 0                 # bytes of its head, as they arrived
        self.params = None            # the /cors or /redirect query, validated once

    @property
    def origin(self):
        return self.headers.get("origin")


class Response(NamedTuple):
    status: int
    headers: dict
    body: object = b""    # bytes, or a function that makes them: only called when a body is sent


class Route(NamedTuple):
    cors: object        # (demo, request) -> the CORS headers of its actual responses
    preflight: object   # (demo, request) -> Response to a preflight, or None: no preflights
    methods: dict       # method -> handler(demo, request) -> (status, headers, body)


ANY = "*"               # a route's method key that takes every method


def json_body(value):
    """JSON as UTF-8, never longer than what was stored (no \\u escapes for text)."""
    return (json.dumps(value, ensure_ascii=False) + "\n").encode()


def error_response(status, message, headers=None):
    """A JSON error, with the headers given (the route's CORS headers, Allow...)."""
    return Response(int(status), {**(headers or {}), "Content-Type": JSON_TYPE},
                    json_body({"error": message}))


# ---------------------------------------------------------------- the CORS policy
# What the API sends. Pure functions of plain values; each returns a fresh dict.

def is_origin(text):
    """A well-formed origin, scheme://host[:port], or the opaque origin null."""
    return text == "null" or ORIGIN.fullmatch(text) is not None


def listed_origin_headers(origin, allow_list, credentials=False, expose=None):
    """The CORS headers of an actual response from a route that trusts only the
    allow-list: the exact origin, or nothing; Vary: Origin either way."""
    if origin is None or origin not in allow_list:
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


def data_preflight_headers(origin, method, requested, allow_list, methods, max_age,
                           private_network=False):
    """The answer to a /data preflight: all of it, or, if anything asked is refused,
    no Access-Control-Allow-* at all, so the browser stops there."""
    refused = {"Vary": PREFLIGHT_VARY}
    names = header_names(requested)
    if origin not in allow_list or method not in methods or names is None:
        return refused
    if any(name not in DATA_HEADERS for name in names):
        return refused
    headers = {"Access-Control-Allow-Origin": origin,
               "Access-Control-Allow-Methods": ", ".join(methods)}
    if names:
        headers["Access-Control-Allow-Headers"] = ", ".join(DATA_HEADERS[n] for n in names)
    headers["Access-Control-Max-Age"] = str(max_age)
    if private_network:
        headers["Access-Control-Allow-Private-Network"] = "true"
    headers["Vary"] = PREFLIGHT_VARY
    return headers


# /cors: query parameter -> the header it sets. A preflight gets those in
# PREFLIGHT_PARAMETERS, an actual response those in ACTUAL_PARAMETERS: a preflight
# has no use for Expose-Headers, an actual response none for Methods, Headers or Max-Age.
CORS_PARAMETERS = {
    "allow-origin": "Access-Control-Allow-Origin",
    "allow-credentials": "Access-Control-Allow-Credentials",
    "allow-methods": "Access-Control-Allow-Methods",
    "allow-headers": "Access-Control-Allow-Headers",
    "max-age": "Access-Control-Max-Age",
    "allow-private-network": "Access-Control-Allow-Private-Network",
    "expose-headers": "Access-Control-Expose-Headers",
}
PREFLIGHT_PARAMETERS = ("allow-origin", "allow-credentials", "allow-methods", "allow-headers",
                        "max-age", "allow-private-network")
ACTUAL_PARAMETERS = ("allow-origin", "allow-credentials", "expose-headers")
STATUS_PARAMETERS = ("status", "preflight-status")
# /redirect: where to, with which status, and the CORS headers of the redirect itself.
REDIRECT_PARAMETERS = ("to", "status", "allow-origin", "allow-credentials")


def parse_query(path, query, names):
    """A /cors or /redirect query, validated: known names, once each, printable
    ASCII of at most MAX_PARAM bytes. HTTPError 400, echoing no value, if not."""
    params = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == RUN_PARAMETER:
            continue
        if name not in names:
            shown = repr(name) if re.fullmatch(r"[a-z-]{1,40}", name) else "a parameter"
            raise HTTPError(HTTPStatus.BAD_REQUEST,
                            f"{path} does not know {shown}; it takes " + ", ".join(names))
        if name in params:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{name} is given twice")
        if len(value) > MAX_PARAM or not PRINTABLE.fullmatch(value):
            raise HTTPError(HTTPStatus.BAD_REQUEST,
                            f"{name} must be printable ASCII of at most {MAX_PARAM} bytes, "
                            "with no control character; nothing of it was sent")
        params[name] = value
    return params


def status_parameter(params, name, allowed):
    """Turn a status given in the query into an int; HTTPError 400 if it is not allowed."""
    value = params.get(name)
    if value is None:
        return
    if not (value.isascii() and value.isdigit() and int(value) in allowed):
        shown = f"{allowed[0]} to {allowed[-1]}" if len(allowed) > 10 else ", ".join(map(str, allowed))
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"{name} must be a status: {shown}")
    params[name] = int(value)


def cors_query_headers(params, origin, preflight):
    """The headers /cors or /redirect sends for its query: exactly those asked for."""
    headers = {}
    for param in PREFLIGHT_PARAMETERS if preflight else ACTUAL_PARAMETERS:
        value = params.get(param)
        if value is None:
            continue
        if param == "allow-origin" and value == "origin":
            # The classic, dangerous set-up: trust whoever asks. Shown, not recommended.
            if origin is not None and is_origin(origin):
                headers["Access-Control-Allow-Origin"] = origin
            continue
        headers[CORS_PARAMETERS[param]] = value
    if params.get("allow-origin") == "origin":
        headers["Vary"] = "Origin"
    return headers


def redirect_target(value):
    """/redirect's to: a path on the API, or an absolute http(s) URL; HTTPError 400 if
    neither, so that nothing else ever reaches the Location header."""
    if value is None:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "say where to: /redirect?to=/allow-cors")
    if not VISIBLE.fullmatch(value) or "\\" in value:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "to must be visible ASCII, with no space "
                        "or backslash")
    if value.startswith("/") and not value.startswith("//"):
        return value
    try:
        parts = urlsplit(value)
        parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "to must be a path such as /allow-cors, "
                        "or an http:// or https:// URL")
    return value


# ---------------------------------------------------------------- the routes
# A route is its CORS policy (the headers of its actual responses), its answer to
# preflights, and a handler per method. Handlers take (demo, request) and return
# (status, headers, body); dispatch() adds the route's CORS headers, so each
# handler is only its own job.

def no_cors_headers(demo, request):
    return {}


def any_origin_headers(demo, request):
    return {"Access-Control-Allow-Origin": "*"}


def listed_origin(demo, request):
    return listed_origin_headers(request.origin, demo.allow_list)


def listed_origin_with_credentials(demo, request):
    return listed_origin_headers(request.origin, demo.allow_list, credentials=True)


def listed_origin_exposing_count(demo, request):
    return listed_origin_headers(request.origin, demo.allow_list, expose=EXPOSED_HEADER)


def is_preflight(request):
    return (request.method == "OPTIONS" and "origin" in request.headers
            and "access-control-request-method" in request.headers)


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


# ---- /data: notes behind a preflight

def data_preflight(demo, request):
    get = request.headers.get
    headers = data_preflight_headers(
        request.origin, get("access-control-request-method"),
        get("access-control-request-headers"), demo.allow_list, preflight_methods(ROUTES["/data"]),
        demo.max_age, private_network=get("access-control-request-private-network") == "true")
    return Response(HTTPStatus.NO_CONTENT, headers)


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
    try:
        data["text"].encode()
    except UnicodeEncodeError:               # "\ud800": JSON allows it, UTF-8 cannot hold it
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the text holds a lone surrogate (\\ud800...)")
    return data["text"]


def list_notes(demo, request):
    notes = demo.notes.all()
    return HTTPStatus.OK, data_headers(len(notes)), lambda: json_body({"notes": notes})


def add_note(demo, request):
    note, count = demo.notes.add(parse_note(request.body))
    return HTTPStatus.CREATED, data_headers(count), json_body({"note": note})


def clear_notes(demo, request):
    deleted = demo.notes.clear()
    return HTTPStatus.OK, data_headers(0), json_body({"deleted": deleted})


def data_options(demo, request):
    """OPTIONS /data that is not a preflight: which methods the route takes."""
    return HTTPStatus.NO_CONTENT, {"Allow": allowed_methods(ROUTES["/data"])}, b""


# ---- /cors and /redirect: CORS headers chosen by the query

def cors_query(request):
    """/cors's query, validated once per request."""
    if request.params is None:
        params = parse_query("/cors", request.query, (*CORS_PARAMETERS, *STATUS_PARAMETERS))
        for name in STATUS_PARAMETERS:
            status_parameter(params, name, range(200, 600))
        request.params = params
    return request.params


def cors_query_actual_headers(demo, request):
    return cors_query_headers(cors_query(request), request.origin, preflight=False)


def cors_query_preflight(demo, request):
    params = cors_query(request)
    status = params.get("preflight-status", HTTPStatus.NO_CONTENT)
    return Response(status, cors_query_headers(params, request.origin, preflight=True))


def cors_query_answer(demo, request):
    status = cors_query(request).get("status", HTTPStatus.OK)
    names = cookie_names(request.headers.get("cookie"))
    body = json_body({**demo.message, "cookies": names})
    return status, data_headers(len(demo.notes)), b"" if status in (204, 205, 304) else body


def redirect_query(request):
    """/redirect's query, validated once per request."""
    if request.params is None:
        params = parse_query("/redirect", request.query, REDIRECT_PARAMETERS)
        status_parameter(params, "status", REDIRECT_STATUSES)
        params["to"] = redirect_target(params.get("to"))
        request.params = params
    return request.params


def redirect_headers(demo, request):
    return cors_query_headers(redirect_query(request), request.origin, preflight=False)


def redirect(demo, request):
    """Every method, OPTIONS included: a preflight answered with a redirect fails."""
    params = redirect_query(request)
    return params.get("status", HTTPStatus.FOUND), {"Location": params["to"]}, b""


def server_options(demo, request):
    """OPTIONS *: what the server as a whole takes."""
    return HTTPStatus.NO_CONTENT, {"Allow": "GET, HEAD, POST, DELETE, OPTIONS"}, b""


ROUTES = {
    # path                CORS headers                     preflight             methods (HEAD follows GET)
    "/":                  Route(no_cors_headers,                None,                 {"GET": send_message}),
    "/allow-cors":        Route(any_origin_headers,             None,                 {"GET": send_message}),
    "/allow-origin":      Route(listed_origin,                  None,                 {"GET": send_message}),
    "/allow-credentials": Route(listed_origin_with_credentials, None,                 {"GET": send_message_and_cookies}),
    "/data":              Route(listed_origin_exposing_count,   data_preflight,       {"GET": list_notes, "POST": add_note,
                                                                                       "DELETE": clear_notes,
                                                                                       "OPTIONS": data_options}),
    "/cors":              Route(cors_query_actual_headers,      cors_query_preflight, {ANY: cors_query_answer}),
    "/redirect":          Route(redirect_headers,               None,                 {ANY: redirect}),
    "*":                  Route(no_cors_headers,                None,                 {"OPTIONS": server_options}),
}


def allowed_methods(route):
    """A route's Allow header: its methods, HEAD after GET."""
    methods = list(route.methods)
    if "GET" in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


def preflight_methods(route):
    """What a route's preflight allows: its methods, then HEAD (which GET brings) and OPTIONS."""
    return [method for method in route.methods if method != "OPTIONS"] + ["HEAD", "OPTIONS"]


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
        return Response(status, {**cors, **headers}, body)
    except HTTPError as error:
        if cors is None:     # the request is too broken for the route's own policy
            cors = listed_origin_headers(request.origin, demo.allow_list)
        return error_response(error.status, str(error), {**cors, **error.headers})


# ---------------------------------------------------------------- the lesson's experiments
# What the playground runs, as data: the page receives LESSON as JSON and the
# tests read it. Each call is a fetch() to the API: its path, its init, where it
# runs (this page; the other origin, on no allow-list; or a sandboxed frame of it,
# whose origin is null), whether script should be able to read the answer (True,
# False, or "opaque": a response nobody can open), and what should arrive at the
# server, in order: "METHOD /path", with "(Origin: null)" or "(no Origin)" where
# the request does not carry the origin it was sent from. In a path, {api2} is the
# API under another host name (another origin), {run} the run's token.
#
# known: outcomes the standard allows or a browser is known for, by condition
# ("Chrome", "Firefox", or "cross-site" when the page and the API are on two
# sites): what else is accepted then, and the note the card shows.

def call(path, *arrives, init=None, runs_in="page", readable=True, **expect):
    """One fetch of an experiment. expect: reads {header: readable?}, cookie (a
    cookie name the server should see), body_has (text the body should hold),
    known."""
    return {"path": path, "init": init or {}, "runs_in": runs_in, "readable": readable,
            "arrives": list(arrives), **expect}


CROSS_SITE_COOKIE = {"cross-site": {
    "accept": [{"cookie": None}],
    "note": "This page and the API are on two different sites (their host names differ), and "
            f"the {COOKIE_NAME} cookie is SameSite=Lax: a browser neither sets nor sends it on a "
            "cross-site fetch. A cookie meant for cross-site requests needs SameSite=None; Secure, "
            "and Secure needs https."}}


LESSON = [
    {"id": "bare", "title": "No CORS headers",
     "tries": "GET / from this page. The API answers 200 with JSON, and no CORS header at all.",
     "why": "The request reaches the server and it answers, but without Access-Control-Allow-Origin "
            "the browser keeps the response from the page: fetch rejects with a TypeError. "
            "CORS guards reading, not sending.",
     "calls": [call("/", "GET /", readable=False)]},
    {"id": "allow-cors", "title": "Access-Control-Allow-Origin: *",
     "tries": "GET /allow-cors. The response says Access-Control-Allow-Origin: *.",
     "why": "* lets a page on any origin read a response to a request sent without credentials.",
     "calls": [call("/allow-cors", "GET /allow-cors")]},
    {"id": "allow-origin", "title": "One origin, and it is this page's",
     "tries": "GET /allow-origin. The API echoes the Origin header when it is on its allow-list.",
     "why": "The browser compares Access-Control-Allow-Origin with this page's origin, byte for "
            "byte; they match, so the page reads the answer. The API also says Vary: Origin, "
            "because its answer depends on who asks.",
     "calls": [call("/allow-origin", "GET /allow-origin")]},
    {"id": "wrong-origin", "title": "One origin, and it is someone else's",
     "tries": "GET /cors?allow-origin=https://google.com: the response allows only https://google.com.",
     "why": "Access-Control-Allow-Origin names another origin, so the browser blocks the read, "
            "though the server answered 200.",
     "calls": [call("/cors?allow-origin=https://google.com", "GET /cors", readable=False)]},
    {"id": "credentials-star", "title": "Credentials with *",
     "tries": "GET /allow-cors with credentials: 'include', so cookies go along.",
     "why": "* never covers a request with credentials: the server must name the origin and add "
            "Access-Control-Allow-Credentials: true. The browser blocks the read.",
     "calls": [call("/allow-cors", "GET /allow-cors", init={"credentials": "include"},
                    readable=False)]},
    {"id": "credentials", "title": "Credentials done right",
     "tries": f"GET /allow-credentials twice, with credentials: 'include'. The answer sets a "
              f"cookie ({COOKIE_NAME}) if none came; the second request carries it.",
     "why": "The response names this origin and says Access-Control-Allow-Credentials: true, so "
            f"the page reads it and the browser keeps the cookie. The second body lists {COOKIE_NAME} "
            "among the cookies that arrived.",
     "calls": [call("/allow-credentials", "GET /allow-credentials", init={"credentials": "include"}),
               call("/allow-credentials", "GET /allow-credentials", init={"credentials": "include"},
                    cookie=COOKIE_NAME, known=CROSS_SITE_COOKIE)]},
    {"id": "delete", "title": "DELETE: a preflight first",
     "tries": "DELETE /data. DELETE is not a simple method, so the browser first asks with OPTIONS.",
     "why": "The preflight's answer allows this origin and DELETE, so the browser then sends the "
            "DELETE and lets the page read the answer.",
     "calls": [call("/data", "OPTIONS /data", "DELETE /data", init={"method": "DELETE"})]},
    {"id": "post-json", "title": "POST with JSON: a preflight too",
     "tries": "POST /data with Content-Type: application/json and a note.",
     "why": "POST is simple, but application/json is not one of the three form content types, so "
            "the browser asks first; the API allows Content-Type, and the note is stored.",
     "calls": [call("/data", "OPTIONS /data", "POST /data",
                    init={"method": "POST", "headers": {"Content-Type": "application/json"},
                          "body": '{"text": "hello from the playground"}'})]},
    {"id": "put", "title": "PUT: refused by the preflight",
     "tries": "PUT /data. The preflight asks for PUT, which the API does not allow.",
     "why": "The preflight's answer has no Access-Control-Allow-* header, so the browser stops "
            "there: the PUT itself never leaves the browser. (curl -X PUT gets a 405: CORS is a "
            "rule browsers follow, not a lock on the server.)",
     "calls": [call("/data", "OPTIONS /data", init={"method": "PUT"}, readable=False)]},
    {"id": "header-allowed", "title": "A custom header the API allows",
     "tries": "GET /data with the header X-Demo: 1.",
     "why": "X-Demo is not a safelisted header, so a preflight asks for it "
            "(Access-Control-Request-Headers: x-demo); the API allows it, then the GET goes.",
     "calls": [call("/data", "OPTIONS /data", "GET /data", init={"headers": {"X-Demo": "1"}})]},
    {"id": "header-refused", "title": "A custom header the API refuses",
     "tries": "GET /data with the header X-Other: 1.",
     "why": "The preflight asks for x-other, which the API does not allow, so the GET is never sent.",
     "calls": [call("/data", "OPTIONS /data", init={"headers": {"X-Other": "1"}}, readable=False)]},
    {"id": "max-age", "title": "Max-Age: ask once, then remember",
     "tries": "DELETE /data twice, on the same URL. The preflight's answer carries "
              "Access-Control-Max-Age: {max_age}.",
     "why": "A browser may keep a preflight's answer for Max-Age seconds (Chromium for at most "
            "7200, Firefox 86400), so the second DELETE can go without asking. May, not must: "
            "the Fetch standard lets a browser drop a cached answer early, and then it asks "
            "again. With --max-age 0 it may not keep it at all.",
     "calls": [call("/data", "OPTIONS /data", "DELETE /data", init={"method": "DELETE"}),
               call("/data", "DELETE /data", init={"method": "DELETE"},
                    without_max_age=["OPTIONS /data", "DELETE /data"],
                    known={"Firefox": {
                        "accept": [{"arrives": ["OPTIONS /data", "DELETE /data"]}],
                        "note": "Firefox 153 was seen to ask again for the first repeated "
                                "requests after it started, on 127.0.0.1; the standard allows it."}})]},
    {"id": "expose", "title": "An exposed and a hidden response header",
     "tries": f"GET /data, then read {EXPOSED_HEADER} and {HIDDEN_HEADER} from response.headers.",
     "why": "Script sees only the safelisted response headers and those listed in "
            f"Access-Control-Expose-Headers. {EXPOSED_HEADER} is listed; {HIDDEN_HEADER} is not, "
            "so it reads as null, though it arrived.",
     "calls": [call("/data", "GET /data", reads={EXPOSED_HEADER: True, HIDDEN_HEADER: False})]},

]


##############################################################################
# PART 2. WHAT A BROWSER DOES: the verdict, and check
##############################################################################

# ---------------------------------------------------------------- the browser's verdict
# What a browser does with a response, by the Fetch standard's CORS check and
# CORS-preflight fetch. Headers are (name, value) pairs, as they arrived.

class Verdict(NamedTuple):
    allowed: Optional[bool]   # None: not a CORS request, so no CORS check applies
    text: str                 # "a browser lets the page read this", or "blocked: why"
    with_credentials: Optional[str] = None   # the verdict with credentials, when unknown and different


def get_header(headers, name):
    """Fetch's 'get': every value of name, joined by ', '; None if absent."""
    name = name.lower()
    values = [value.strip(" \t") for key, value in headers if key.lower() == name]
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
    then the verdict is for a fetch without credentials, and with_credentials
    says what credentials would change. mode and site: Sec-Fetch-Mode and -Site.
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
            return Verdict(True, passed, "blocked: " + reason)
    return Verdict(True, passed)


# ---------------------------------------------------------------- check: any server, as a browser sees it
# `python cors_demo.py check URL --origin ORIGIN ...` does what a page on ORIGIN
# doing fetch(URL, {mode: 'cors', ...}) makes a browser do, by the Fetch
# standard, and says what the browser would decide, with the server log's words.

FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
FORBIDDEN_REQUEST_HEADERS = frozenset({  # script may not set these; fetch() drops them
    "accept-charset", "accept-encoding", "access-control-request-headers",
    "access-control-request-method", "connection", "content-length", "cookie", "cookie2",
    "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
    "trailer", "transfer-encoding", "upgrade", "via"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
UNSAFE_VALUE_BYTES = frozenset('"():<>?@[\\]{}\x7f') | {chr(c) for c in range(0x20) if c != 9}
LANGUAGE_VALUE = re.compile(r"[0-9A-Za-z *,\-.;=]*")
SIMPLE_RANGE = re.compile(r"bytes=[0-9]+-[0-9]*")
SAFELISTED_RESPONSE_HEADERS = ("cache-control", "content-language", "content-length",
                               "content-type", "expires", "last-modified", "pragma")
BODY_HEADERS = ("content-encoding", "content-language", "content-location", "content-type")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20          # as fetch(): the 21st is a network error
CHECK_TIMEOUT = 10.0
CHECK_READ = 1024 * 1024    # body bytes read per answer; the rest is not needed
USER_AGENT = f"cors_demo-check/{__version__}"


class CannotAsk(Exception):
    """The question could not be put: bad input, or no answer. Exit status 2."""


def normalize_method(method):
    """fetch() upper-cases the six methods it knows; any other keeps its case."""
    return method.upper() if method.upper() in NORMALIZED_METHODS else method


def mime_essence(value):
    """type/subtype of a Content-Type, lower case; None if it does not parse."""
    essence = value.split(";", 1)[0].strip(" \t").lower()
    kind, slash, subtype = essence.partition("/")
    if not slash or not TOKEN.fullmatch(kind) or not TOKEN.fullmatch(subtype):
        return None
    return essence


def safelisted(name, value):
    """Fetch's CORS-safelisted request-header: sent without a preflight."""
    if len(value.encode()) > 128:
        return False
    name = name.lower()
    if name == "accept":
        return not UNSAFE_VALUE_BYTES.intersection(value)
    if name in ("accept-language", "content-language"):
        return LANGUAGE_VALUE.fullmatch(value) is not None
    if name == "content-type":
        return not UNSAFE_VALUE_BYTES.intersection(value) and mime_essence(value) in FORM_TYPES
    if name == "range":
        return SIMPLE_RANGE.fullmatch(value) is not None
    return False


def unsafe_header_names(headers):
    """The names a preflight must ask about, lower case and sorted, as a browser
    sends them in Access-Control-Request-Headers."""
    unsafe, safelisted_size = set(), 0
    for name, value in headers:
        if safelisted(name, value):
            safelisted_size += len(value.encode())
        else:
            unsafe.add(name.lower())
    if safelisted_size > 1024:   # safelisted values may total 1 KiB; past that, none are
        unsafe.update(name.lower() for name, _ in headers)
    return sorted(unsafe)


def preflight_reason(method, headers):
    """Why a browser sends a preflight for this request, or None when it does not."""
    if method not in SAFELISTED_METHODS:
        return f"{method} is not GET, HEAD or POST"
    names = unsafe_header_names(headers)
    if names:
        return ("request headers that are not CORS-safelisted: " + ", ".join(names)
                + " (a Content-Type other than the three form types counts)")
    return None


def readable_headers(headers, credentials):
    """The response header names script can read: the safelisted ones and those
    in Access-Control-Expose-Headers (* means all, without credentials)."""
    exposed = allow_list(headers, "Access-Control-Expose-Headers") or []
    exposed = {name.lower() for name in exposed}
    present = []
    for name, _ in headers:
        lower = name.lower()
        if lower not in present and lower not in ("set-cookie", "set-cookie2"):
            present.append(lower)
    if "*" in exposed and not credentials:
        return present
    return [name for name in present if name in SAFELISTED_RESPONSE_HEADERS or name in exposed]


def origin_of(url):
    """The serialized origin of an http(s) URL: scheme://host[:port], default port left out."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    port = parts.port if parts.port not in (None, default) else None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def http_exchange(method, url, headers, body, timeout):
    """One HTTP request; the answer's status, reason and header pairs, as sent."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        port = parts.port
    except ValueError:
        raise CannotAsk(f"{url} has a port that is not a number")
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    where = f"{parts.hostname}:{port or (443 if parts.scheme == 'https' else 80)}"
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        if method != "HEAD":
            response.read(CHECK_READ)
        return response.status, response.reason, response.getheaders()
    except ssl.SSLCertVerificationError as error:
        raise CannotAsk(f"{where}'s certificate is not trusted: {error.verify_message}")
    except ssl.SSLError as error:
        raise CannotAsk(f"no TLS with {where}: {error.reason or error}")
    except socket.gaierror:
        raise CannotAsk(f"cannot find the host {parts.hostname}")
    except ConnectionRefusedError:
        raise CannotAsk(f"nothing listens at {where} (connection refused)")
    except (socket.timeout, TimeoutError):
        raise CannotAsk(f"{where} did not answer within {timeout:g} s")
    except http.client.HTTPException as error:
        raise CannotAsk(f"{where} did not answer in HTTP ({type(error).__name__})")
    except OSError as error:
        raise CannotAsk(f"cannot talk to {where}: {error.strerror or error}")
    finally:
        connection.close()


def check_request(method, headers, credentials, body):
    """What fetch() would send, or CannotAsk for what fetch() itself refuses.
    Returns (method, headers, body, notes)."""
    if not TOKEN.fullmatch(method):
        raise CannotAsk(f"{method!r} is not a method: fetch() throws a TypeError")
    method = normalize_method(method)
    if method.upper() in FORBIDDEN_METHODS:
        raise CannotAsk(f"fetch() refuses the method {method} (a TypeError, nothing is sent)")
    if body is not None and method in ("GET", "HEAD"):
        raise CannotAsk(f"fetch() refuses a body with {method} (a TypeError, nothing is sent)")
    kept, notes = [], []
    for name, value in headers:
        lower = name.lower()
        if not TOKEN.fullmatch(name) or CONTROL_OR_BREAK.search(value):
            raise CannotAsk(f"{name!r}: fetch() refuses this header (a TypeError)")
        if lower == "cookie" and credentials:
            kept.append((name, value))
            notes.append("Cookie stands for the cookies the browser would send with credentials")
        elif lower in FORBIDDEN_REQUEST_HEADERS or lower.startswith(("proxy-", "sec-")):
            notes.append(f"{name} dropped: a page's script may not set it, so fetch() does not send it"
                         + (" (cookies go only with --credentials)" if lower == "cookie" else ""))
        else:
            kept.append((name, value))
    given = list(kept)
    if body is not None and not any(name.lower() == "content-type" for name, _ in kept):
        kept.append(("Content-Type", "text/plain;charset=UTF-8"))    # what fetch() adds to a string
    return method, kept, body, notes, given


def check(url, origin, method="GET", headers=(), credentials=False, body=None,
          timeout=CHECK_TIMEOUT):
    """Ask url what a browser would, for a page on origin: the report as a dict.
    CannotAsk when the question cannot be put or gets no answer."""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise CannotAsk(f"{url!r} is not an http:// or https:// URL")
    if not is_origin(origin):
        raise CannotAsk(f"{origin!r} is not an origin: write scheme://host[:port], or null")
    method, headers, body, notes, given = check_request(method, list(headers), credentials, body)
    report = {"url": url, "origin": origin, "method": method, "headers": given, "body": body,
              "credentials": credentials, "preflight": preflight_reason(method, headers),
              "notes": notes, "exchanges": [], "allowed": False, "verdict": None,
              "readable_headers": None}
    cookies = [pair for pair in headers if pair[0].lower() == "cookie"]
    headers = [pair for pair in headers if pair[0].lower() != "cookie"]
    sender = origin          # the Origin sent: null once a redirect has crossed origins
    for _ in range(MAX_REDIRECTS + 1):
        if preflight_reason(method, headers):
            refused = ask_preflight(report, url, sender, method, headers, credentials, timeout)
            if refused:
                return refused
        sent = ([("Origin", sender)] + headers + (cookies if credentials else [])
                + [("User-Agent", USER_AGENT)])
        if not any(name.lower() == "accept" for name, _ in sent):
            sent.append(("Accept", "*/*"))
        exchange = record_exchange(report, "request", method, url, sent, body, timeout)
        received = exchange["response_headers"]
        location = get_header(received, "Location")
        redirect = exchange["status"] in REDIRECTS and location is not None
        why = cors_check(sender, credentials, received,
                         "the redirect response" if redirect else "the response")
        if why and sender != origin:
            why += " (after a redirect to another origin, a browser sends Origin: null)"
        if why:
            return verdict_of(report, exchange, "blocked: " + why)
        if not redirect:
            report["readable_headers"] = readable_headers(received, credentials)
            report["allowed"] = True
            return verdict_of(report, exchange, "a browser lets the page read this")
        next_url = urllib.parse.urljoin(url, location)
        why = redirect_refused(next_url)
        if why:
            return verdict_of(report, exchange, "blocked: " + why)
        if origin_of(next_url) != origin_of(url) and sender != origin_of(url):
            sender = "null"
        if (exchange["status"] in (301, 302) and method == "POST") or \
                (exchange["status"] == 303 and method not in ("GET", "HEAD")):
            method, body = "GET", None       # as browsers turn these redirects into a GET
            headers = [pair for pair in headers if pair[0].lower() not in BODY_HEADERS]
        exchange["verdict"] = f"redirect passed the CORS check: a browser follows it to {next_url}"
        url = next_url
    return verdict_of(report, report["exchanges"][-1],
                      f"blocked: more than {MAX_REDIRECTS} redirects")


def ask_preflight(report, url, sender, method, headers, credentials, timeout):
    """Send the preflight a browser would; the report if it stops there, else None."""
    names = unsafe_header_names(headers)
    asked = [("Origin", sender), ("Access-Control-Request-Method", method)]
    if names:
        asked.append(("Access-Control-Request-Headers", ",".join(names)))
    exchange = record_exchange(report, "preflight", "OPTIONS", url,
                               asked + [("Accept", "*/*"), ("User-Agent", USER_AGENT)],
                               None, timeout)
    why = preflight_check(sender, method, names, credentials, exchange["status"],
                          exchange["response_headers"])
    if not why:
        exchange["verdict"] = f"preflight passed: a browser now sends the {method} request"
        return None
    if exchange["status"] in REDIRECTS:
        location = get_header(exchange["response_headers"], "Location")
        why += f" (it redirects to {location}, and a browser follows no redirect of a preflight)"
    return verdict_of(report, exchange, f"blocked: {why}; the {method} is never sent")


def redirect_refused(next_url):
    """Why a browser would not follow a CORS request's redirect to next_url, or None."""
    parts = urlsplit(next_url)
    if parts.scheme not in ("http", "https"):
        return f"it redirects to {next_url}, which is not http(s)"
    if parts.username is not None or parts.password is not None:
        return "it redirects to a URL with a user name or password, which a CORS request may not follow"
    return None


def record_exchange(report, kind, method, url, headers, body, timeout):
    if body is not None:
        body = body.encode() if isinstance(body, str) else body
        headers = headers + [("Content-Length", str(len(body)))]    # as a browser adds it
    status, reason, received = http_exchange(method, url, headers, body, timeout)
    exchange = {"kind": kind, "method": method, "url": url, "request_headers": headers,
                "status": status, "reason": reason, "response_headers": received,
                "verdict": None}
    report["exchanges"].append(exchange)
    return exchange


def verdict_of(report, exchange, text):
    if "does not cover Authorization" in text:
        text += " (Chromium, up to 156 at least, still lets * cover it; Firefox and Safari do not)"
    exchange["verdict"] = text
    report["verdict"] = text
    return report


SHOWN_RESPONSE_HEADERS = ("vary", "location")


def js_string(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fetch_call(report):
    """The fetch() a page would make, as JavaScript."""
    options = []
    if report["method"] != "GET":
        options.append(f"method: {js_string(report['method'])}")
    if report["headers"]:
        pairs = ", ".join(f"{js_string(name)}: {js_string(value)}" for name, value in report["headers"])
        options.append(f"headers: {{{pairs}}}")
    if report["credentials"]:
        options.append("credentials: 'include'")
    if report["body"] is not None:
        options.append(f"body: {js_string(report['body'])}")
    init = ", {" + ", ".join(options) + "}" if options else ""
    return f"fetch({js_string(report['url'])}{init})"


def check_text(report):
    """The report as the terminal shows it: each exchange, then the verdict."""
    lines = [f"{fetch_call(report)} from a page on {report['origin']}"]
    lines += [f"  note: {note}" for note in report["notes"]]
    lines.append(f"A preflight first: {report['preflight']}." if report["preflight"]
                 else "No preflight: a safelisted method, and only safelisted headers.")
    for exchange in report["exchanges"]:
        parts = urlsplit(exchange["url"])
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines += ["", f"> {exchange['method']} {target} HTTP/1.1", f"> Host: {parts.netloc}"]
        lines += [f"> {name}: {value}" for name, value in exchange["request_headers"]
                  if name not in ("User-Agent", "Accept")]
        lines.append(f"< HTTP/1.1 {exchange['status']} {exchange['reason']}")
        shown = [(name, value) for name, value in exchange["response_headers"]
                 if name.lower().startswith("access-control-") or name.lower() in SHOWN_RESPONSE_HEADERS]
        lines += [f"< {name}: {value}" for name, value in shown]
        if not any(name.lower().startswith("access-control-") for name, _ in shown):
            lines.append("< (no Access-Control-* header)")
        if exchange is not report["exchanges"][-1] and exchange["verdict"]:
            lines.append(f"  {exchange['verdict']}")
    lines += ["", report["verdict"]]
    if report["readable_headers"] is not None:
        lines.append("script can read the headers: " + (", ".join(report["readable_headers"]) or "none"))
    return "\n".join(lines)


def check_json(report):
    """The report as one JSON object; header lists stay lists of [name, value]."""
    return json.dumps(report, indent=2)


def parse_check_args(argv):
    parser = argparse.ArgumentParser(
        prog="cors_demo.py check", add_help=False,
        usage="python cors_demo.py check URL --origin ORIGIN [--method M] "
              "[--header NAME:VALUE]... [--credentials] [--body DATA] [--timeout S] [--json]")
    parser.add_argument("-h", "--help", action=PrintHelp)
    parser.add_argument("url")
    parser.add_argument("--origin", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], type=header_argument,
                        dest="headers")
    parser.add_argument("--credentials", action="store_true")
    parser.add_argument("--body")
    parser.add_argument("--timeout", type=float, default=CHECK_TIMEOUT)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def header_argument(text):
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write a header as NAME:VALUE")
    return name.strip(), value.strip(" \t")


def check_main(argv):
    """Exit status: 0 a browser lets the page read it, 1 blocked, 2 could not ask."""
    args = parse_check_args(argv)
    try:
        report = check(args.url, args.origin, args.method, args.headers, args.credentials,
                       args.body, args.timeout)
    except CannotAsk as error:
        if args.json:
            print(json.dumps({"url": args.url, "origin": args.origin, "allowed": None,
                              "verdict": f"could not ask: {error}"}, indent=2))
        else:
            print(f"could not ask: {error}", file=sys.stderr)
        return 2
    print(check_json(report) if args.json else check_text(report))
    return 0 if report["allowed"] else 1


##############################################################################
# PART 3. MACHINERY: the log, the other routes, HTTP, the servers, the command line
##############################################################################

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


# ---------------------------------------------------------------- the request log
# Every API request, as the server saw it. An entry keeps what a small request
# holds, and cuts its values to LOG_VALUE characters only when it is shown; a
# large request is judged at once and kept cut. So the log, and each /log
# answer, stay small whatever clients send, and recording costs next to nothing.

LOG_SIZE = 1000       # API requests kept, newest first: a class running the page at once fits
LOG_PAGE = 50         # entries per /log answer at most: under 1 MiB whatever was stored
LOG_WHOLE = 2048      # a request whose head is at most this many bytes is kept whole
LOG_VALUE = 256       # characters shown of a logged value; a longer one is cut and ends in CUT
CUT = "\u2026"        # no header value can hold it: a cut value never equals a whole one
LOGGED_REQUEST_HEADERS = ("Access-Control-Request-Method", "Access-Control-Request-Headers",
                          "Access-Control-Request-Private-Network")
LOGGED = ("origin", "cookie", "sec-fetch-mode", "sec-fetch-site",
          *(name.lower() for name in LOGGED_REQUEST_HEADERS))
RUN_TOKEN = re.compile(r"[?&]run=([A-Za-z0-9_-]{1,64})(?=&|$)")


def cut(value, limit=LOG_VALUE):
    """value, or its first limit characters and CUT; None stays None."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + CUT


def kept_names(names):
    """As many of the names as fit in LOG_VALUE characters."""
    kept, size = [], 0
    for name in names:
        size += len(name)
        if size > LOG_VALUE:
            break
        kept.append(name)
    return kept


def shown_response_headers(headers):
    return {name: cut(value) for name, value in headers.items()
            if name.startswith("Access-Control-") or name in ("Vary", "Location")}


class LogEntry:
    """One API request and its answer, in the words /log and the terminal use."""
    __slots__ = ("id", "time", "method", "target", "headers", "status", "response_headers",
                 "preflight", "_verdict")

    def __init__(self, number, request, response):
        self.id, self.time = number, time.time()
        self.method, self.target, self.headers = request.method, request.target, request.headers
        self.status, self.response_headers = response.status, response.headers
        self.preflight = is_preflight(request)
        self._verdict = None
        if request.size > LOG_WHOLE:     # judged now, on what was really sent; kept cut
            self._verdict = self.verdict()
            self.target = cut(self.target)
            self.headers = {name: cut(value) for name, value in self.headers.items() if name in LOGGED}
            self.response_headers = shown_response_headers(self.response_headers)

    def verdict(self):
        """What a browser does with the answer; worked out when first asked for."""
        if self._verdict is None:
            get = self.headers.get
            preflight = None
            if self.preflight:
                names = header_names(get("access-control-request-headers")) or []
                preflight = (get("access-control-request-method"), names)
            # Cookies cross origins only with credentials: 'include', so a cookie proves
            # them; no cookie proves nothing (there may be none to send).
            credentials = True if get("cookie") and not preflight else None
            self._verdict = browser_verdict(get("origin"), self.status,
                                            list(self.response_headers.items()), credentials,
                                            preflight, get("sec-fetch-mode"), get("sec-fetch-site"))
        return self._verdict

    @property
    def run(self):
        found = RUN_TOKEN.search(self.target)
        return found[1] if found else None

    def json(self):
        get = self.headers.get
        verdict = self.verdict()
        return {"id": self.id, "time": iso_time(self.time), "method": self.method,
                "path": cut(self.target), "origin": cut(get("origin")),
                "preflight": self.preflight,
                "request_headers": {name: cut(get(name.lower())) for name in LOGGED_REQUEST_HEADERS
                                    if name.lower() in self.headers},
                "cookies": kept_names(cookie_names(get("cookie"))),
                "mode": cut(get("sec-fetch-mode")), "run": self.run, "status": self.status,
                "response_headers": shown_response_headers(self.response_headers),
                "allowed": verdict.allowed, "verdict": cut(verdict.text, 4 * LOG_VALUE),
                "with_credentials": cut(verdict.with_credentials, 4 * LOG_VALUE)}

    def terminal_line(self):
        """time, status, request, who asked, verdict; escaped, as header values may hold
        bytes a terminal would obey (C1 controls)."""
        origin = cut(self.headers.get("origin"))
        line = f"{clock(self.time)} {self.status} {self.method} {cut(self.target)}"
        if origin == "null":
            line += " with Origin: null"
        elif origin is not None:
            line += f" from {origin}"
        if self.preflight:
            line += f" (preflight for {cut(self.headers.get('access-control-request-method'))})"
        elif self.headers.get("sec-fetch-mode") == "no-cors":
            line += " (mode no-cors)"
        line += f": {cut(self.verdict().text, 4 * LOG_VALUE)}"
        return line.encode("ascii", "backslashreplace").decode("ascii")


class RequestLog:
    """The last LOG_SIZE API requests."""

    def __init__(self, size=LOG_SIZE):
        self._entries = collections.deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, request, response):
        with self._lock:      # ids in the order the entries go in
            entry = LogEntry(next(self._ids), request, response)
            self._entries.append(entry)
        return entry

    def latest(self):
        entries = self._entries
        return entries[-1].id if entries else 0

    def newest_first(self, after=0, run=None, limit=LOG_PAGE):
        with self._lock:
            entries = list(self._entries)
        found = []
        for entry in reversed(entries):
            if entry.id <= after or len(found) == limit:
                break
            if run is None or entry.run == run:
                found.append(entry)
        return found


def iso_time(when):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"


def clock(when=None):
    return time.strftime("%H:%M:%S", time.localtime(when))


# ---------------------------------------------------------------- the playground's routes

def playground_page(demo, request):
    headers = {"Content-Type": "text/html; charset=utf-8",
               "Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff",
               "Cache-Control": "no-store"}
    return HTTPStatus.OK, headers, demo.page


def show_log(demo, request):
    """The API's requests, newest first, at most LOG_PAGE: ?since=ID gives only newer
    ones, ?run=TOKEN only those of one run of the page."""
    query = dict(parse_qsl(request.query))
    since, run = query.get("since", "0"), query.get("run")
    if not (since.isascii() and since.isdigit() and len(since) <= 18):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "since must be a log entry id")
    if run is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "run must be a run token: letters, digits, - and _")
    latest = demo.log.latest()
    entries = demo.log.newest_first(int(since), run)
    return HTTPStatus.OK, {"Content-Type": JSON_TYPE, "Cache-Control": "no-store"}, \
        lambda: json_body({"latest": latest, "entries": [entry.json() for entry in entries]})


def explain_preflight(demo, request):
    """Why a browser would preflight ?method=M&header=NAME:VALUE..., for the page's form."""
    method, headers = "GET", []
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        if name == "method":
            method = value
        elif name == "header":
            header, _, header_value = value.partition(":")
            headers.append((header.strip(), header_value.strip()))
    return HTTPStatus.OK, {"Content-Type": JSON_TYPE}, \
        json_body({"preflight": preflight_reason(method, headers)})


def parse_results(body):
    """What ?autorun=1 posts: {"browser": "Chrome 150", "experiments": [{"id", "as_expected"}...]}."""
    try:
        data = json.loads(body)
        browser = data["browser"]
        experiments = data["experiments"]
        valid = (isinstance(browser, str) and isinstance(experiments, list)
                 and 0 < len(experiments) <= 100
                 and all(isinstance(item, dict) and isinstance(item.get("id"), str)
                         and isinstance(item.get("as_expected"), bool) for item in experiments))
    except (ValueError, RecursionError, KeyError, TypeError):
        valid = False
    if not valid:
        raise HTTPError(HTTPStatus.BAD_REQUEST, 'send {"browser": "...", "experiments": '
                        '[{"id": "...", "as_expected": true}, ...]}')
    # The browser's name goes to the terminal: keep it to harmless characters.
    data["browser"] = re.sub(r"[^A-Za-z0-9 ._()-]", "", browser)[:60] or "an unnamed browser"
    return data


def summary_line(results):
    experiments = results["experiments"]
    passed = sum(item["as_expected"] for item in experiments)
    line = (f"{passed} of {len(experiments)} experiments behaved as the lesson says, "
            f"in {results['browser']}")
    unexpected = [item["id"] for item in experiments if not item["as_expected"]]
    if unexpected:
        names = ", ".join(re.sub(r"[^a-z0-9-]", "", name.lower())[:40] for name in unexpected)
        line += f"; unexpected: {names}"
    return line


def post_results(demo, request):
    # Only the page itself posts here: demanding JSON makes a cross-origin post
    # need a preflight, which the playground never grants.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON_TYPE:
        raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the results as application/json")
    demo.report(parse_results(request.body))
    return HTTPStatus.NO_CONTENT, {}, b""


def show_results(demo, request):
    return HTTPStatus.OK, {"Content-Type": JSON_TYPE}, json_body(demo.results)


PLAYGROUND_ROUTES = {
    "/":                  Route(no_cors_headers, None, {"GET": playground_page}),
    "/log":               Route(no_cors_headers, None, {"GET": show_log}),
    "/explain-preflight": Route(no_cors_headers, None, {"GET": explain_preflight}),
    "/results":           Route(no_cors_headers, None, {"GET": show_results, "POST": post_results}),
}


# ---------------------------------------------------------------- the other origin's route

def frame_page(demo, request):
    headers = {"Content-Type": "text/html; charset=utf-8",
               "Content-Security-Policy": FRAME_POLICY, "X-Content-Type-Options": "nosniff"}
    return HTTPStatus.OK, headers, FRAME_PAGE


OTHER_ROUTES = {
    "/frame": Route(no_cors_headers, None, {"GET": frame_page}),
}


def lesson_json(max_age):
    """LESSON as the page receives it: with this server's Max-Age, and why each
    call needs a preflight (or null), by the rules check follows."""
    experiments = []
    for experiment in LESSON:
        calls = []
        for call in experiment["calls"]:
            call = dict(call)
            without = call.pop("without_max_age", None)
            if without and not max_age:
                call["arrives"] = without
            init = call["init"]
            call["preflight"] = preflight_reason(init.get("method", "GET").upper(),
                                                 list(init.get("headers", {}).items()))
            calls.append(call)
        tries = experiment["tries"].replace("{max_age}", str(max_age))
        experiments.append({**experiment, "tries": tries, "calls": calls})
    return experiments


# ---------------------------------------------------------------- HTTP, strictly
# http.server reads each request: BaseHTTPRequestHandler.parse_request() parses
# the request line and, through http.client, the headers. It lets through what a
# strict server refuses (a folded line, a bare CR, a NUL, a second Origin, no
# Host...), so the checks below run on the very lines it read, before any route.

MAX_LINE = 8 * 1024    # request line or header line; longer: 414 or 431 (nginx's default)
MAX_HEADERS = 64       # header lines per request; more: 431 (http.client's own cap is 99)
MAX_HEAD = 64 * 1024   # request line and header lines together; more: 431
TIMEOUT = 10.0         # seconds a request has, from when it is awaited (idle time
                       # included) to when its answer is out
LINGER = 1.0           # after a refusal, seconds spent reading what the client still sends,
LINGER_BYTES = 256 * 1024  # ...and at most this much, so it sees our answer, not a reset
MAX_CONNECTIONS = 2048  # open at once, all listeners; more get 503 (a class of 40 uses ~500)
BACKLOG = 128          # handshakes the kernel queues; socketserver's 5 drops them under load
POLL = 0.05            # seconds serve_forever() waits between looks at the stop flag
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
NO_BODY = frozenset({204, 304})   # statuses sent with neither body nor Content-Length
REASONS = {status.value: status.phrase for status in HTTPStatus}
SINGLE_HEADERS = frozenset({"origin", "host", "content-length"})  # a second copy is a 400
# What a request head may hold: tab, CR and LF, visible ASCII and space, and
# obs-text (0x80-0xFF). Any other byte (NUL, an escape...) is a 400; so is a CR
# that does not end a line.
ALLOWED_IN_HEAD = b"\t\n\r" + bytes(range(0x20, 0x7f)) + bytes(range(0x80, 0x100))
# RFC 9112 3.2 and RFC 3986: Host is uri-host [":" port], nothing else.
HOST_VALUE = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?")


def too_large(what, status=HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE):
    return HTTPError(status, f"{what}: this server reads lines of at most {MAX_LINE} bytes, "
                             f"{MAX_HEADERS} header lines, {MAX_HEAD} bytes of head")


class RequestReader:
    """The handler's rfile: http.server reads each request through it. A line is
    read whole, up to MAX_LINE, or refused, whatever pieces TCP cut it into; the
    head's lines are kept as they arrived, for the checks after parse_request()."""

    def __init__(self, stream):
        self.stream = stream      # the socket's buffered reader
        self.lines = []
        self.size = 0             # bytes of the current request read so far

    def start(self):
        self.lines = []
        self.size = 0

    def request_line(self):
        """The request line; blank lines before it are skipped (RFC 9112 2.2)."""
        line = self.readline()
        while line in (b"\r\n", b"\n"):
            line = self.readline()
        del self.lines[:-1]
        return line

    def readline(self, size=-1):
        line = self.stream.readline(MAX_LINE + 3)     # with its CRLF, and a byte to tell
        self.size += len(line)
        self.lines.append(line)
        if len(line) > MAX_LINE or len(self.lines) > MAX_HEADERS + 2 or self.size > MAX_HEAD:
            self.check_limits(line)
        return line

    def check_limits(self, line):
        """Refuse a line past MAX_LINE (its line end not counted), more than
        MAX_HEADERS header lines, or a head past MAX_HEAD."""
        ending = 2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0
        if len(line) - ending > MAX_LINE:
            if len(self.lines) > 1:
                raise too_large("a header line is too long")
            raise too_large("the request line is too long", HTTPStatus.REQUEST_URI_TOO_LONG)
        if len(self.lines) > MAX_HEADERS + 2:     # the request line and the blank line too
            raise too_large("too many header lines")
        if self.size > MAX_HEAD:
            raise too_large("the head is too large")

    def read(self, size):
        data = self.stream.read(size)
        self.size += len(data)
        return data

    def close(self):
        self.stream.close()


def parse_request_line(line):
    """'METHOD target HTTP/1.1' -> (method, target, version); HTTPError if not."""
    parts = line.split(" ")
    if len(parts) != 3:
        raise HTTPError(HTTPStatus.BAD_REQUEST,
                        "a request line is METHOD /path HTTP/1.1, single spaces between")
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the method is not a token")
    if not VISIBLE.fullmatch(target):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the request target holds a character that "
                        "is not visible ASCII")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        match = re.fullmatch(r"HTTP/([0-9])\.[0-9]", version)
        if not match:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the version must be HTTP/1.1 or HTTP/1.0")
        if match[1] != "1":
            raise HTTPError(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                            "this server speaks HTTP/1.1")
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
                    "/allow-cors")


def parse_header_line(line):
    """'Name: value' -> ('name', 'value'); HTTPError 400 if malformed."""
    if line[:1] in (" ", "\t"):
        # obs-fold: http.client glues this line, line break and all, onto the
        # previous header's value. RFC 9112 5.2 lets a server refuse it.
        raise HTTPError(HTTPStatus.BAD_REQUEST, "a header line starts with whitespace "
                        "(a folded header): send each header on one line")
    name, colon, value = line.partition(":")
    if not colon or not TOKEN.fullmatch(name):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "a header line is not 'Name: value'")
    return name.lower(), value.strip(" \t")


# A request head as RFC 9112 has it: "METHOD target HTTP/1.x", then "Name: value"
# lines with no control character but tab, each line ending in CRLF (or LF), and
# a blank line. What does not match is refused, and why_malformed() says why.
WELL_FORMED_HEAD = re.compile(
    rf"([{TOKEN_CHARACTERS}]+) ([\x21-\x7e]+) (HTTP/1\.[0-9])\r?\n"
    rf"((?:[{TOKEN_CHARACTERS}]+:[\t\x20-\x7e\x80-\xff]*\r?\n)*)\r?\n".encode())


def strict_request(lines):
    """The request http.server has just read, from its lines as they arrived: a
    Request, or HTTPError for what a strict server refuses."""
    head = b"".join(lines)
    well_formed = WELL_FORMED_HEAD.fullmatch(head)
    if well_formed is None:
        raise why_malformed(head)
    method, target, version, fields = well_formed.groups()
    method, target = method.decode(), target.decode()
    version = "HTTP/1.0" if version == b"HTTP/1.0" else "HTTP/1.1"  # 1.2 and on: 1.1 (RFC 9110 2.5)
    headers = {}
    for line in fields.decode("latin-1").split("\n")[:-1]:
        name, _, value = line.partition(":")
        name, value = name.lower(), value.strip(" \t\r")
        if name in headers:
            if name in SINGLE_HEADERS:
                spelled = "-".join(part.capitalize() for part in name.split("-"))
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"more than one {spelled} header")
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    path, query = split_target(method, target)
    host = headers.get("host")
    if host is None and version == "HTTP/1.1":
        raise HTTPError(HTTPStatus.BAD_REQUEST, "an HTTP/1.1 request needs a Host header")
    if host is not None and not HOST_VALUE.fullmatch(host):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "the Host header must be host[:port], such as "
                        "127.0.0.1:8000")
    request = Request(method, target, path, query, headers, version)
    request.size = len(head)
    return request


def why_malformed(head):
    """What is wrong with a head WELL_FORMED_HEAD refused, as an HTTPError."""
    if head.translate(None, ALLOWED_IN_HEAD) or head.count(b"\r") != head.count(b"\r\n"):
        return HTTPError(HTTPStatus.BAD_REQUEST, "the request holds a control character "
                         "(NUL, a CR that ends no line, an escape...)")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")[:-2]  # no blank line
    try:
        parse_request_line(lines[0])
        for line in lines[1:]:
            parse_header_line(line)
    except HTTPError as error:
        return error
    return HTTPError(HTTPStatus.BAD_REQUEST, "the request is not well-formed HTTP/1.1")


def body_length(headers, version):
    """How many body bytes follow the head: read whole, so the next request starts
    where it should, or refused."""
    length = headers.get("content-length")
    if "transfer-encoding" in headers:
        if length is not None:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "Transfer-Encoding and Content-Length "
                            "together make the body's end ambiguous")
        raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length; "
                        "chunked bodies are not accepted here")
    expect = headers.get("expect")
    if expect is not None and version == "HTTP/1.1" and expect.lower() != "100-continue":
        raise HTTPError(HTTPStatus.EXPECTATION_FAILED,
                        "the only expectation understood is 100-continue")
    if length is None:
        return 0
    if not (length.isascii() and length.isdigit()):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "Content-Length must be a number")
    if len(length) > 9 or int(length) > MAX_BODY:
        raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"the body is over {MAX_BODY} bytes")
    return int(length)


def wants_keep_alive(version, connection):
    """HTTP/1.1 stays open unless told to close; HTTP/1.0 only if it asks."""
    tokens = {token.strip().lower() for token in connection.split(",")} if connection else ()
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def http_date():
    """Now, as the Date header has it (RFC 9110 5.6.7). Python leaves the C library's
    LC_TIME at "C", so the names are English."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def render(response, date, head_only=False, connection=None):
    """The bytes of one response: status line, headers, Content-Length, body. A
    body that is a function is made only when it is sent; HEAD never makes it."""
    status, headers, body = response
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, '')}", "Date: " + date,
             "Server: cors_demo/" + __version__]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if status not in NO_BODY:
        if callable(body) and not head_only:
            body = body()
        if not callable(body):
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


class Handler(http.server.BaseHTTPRequestHandler):
    """One connection to one listener. http.server reads each request
    (parse_request), strict_request() checks it, dispatch() answers it, and one
    sendall sends the answer. One request at a time: the next is read only once
    this answer is out, so a client that never reads holds one answer, no more."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # TCP_NODELAY: one send per answer, sent at once
    routes = {}                      # each listener's subclass names its own
    records = False                  # and whether its requests go into the log

    def setup(self):
        super().setup()              # the connection, TCP_NODELAY, rfile and wfile
        self.demo = self.server.demo
        self.rfile = RequestReader(self.rfile)

    def handle_one_request(self):
        deadline = self.demo.connections.start(self.connection)
        try:
            request = self.read_request()
        except HTTPError as error:
            return self.refuse(error)
        except OSError as error:               # reset by the client mid-request
            return self.dropped(error)
        if request is None:                    # the client is done, or left, or too slow
            self.close_connection = True
            if self.rfile.size and time.monotonic() >= deadline:
                self.refuse(HTTPError(HTTPStatus.REQUEST_TIMEOUT,
                                      "the request took too long to arrive"))
            return
        try:
            self.answer(request)
        except OSError as error:               # reset, or too slow to read: ended
            self.dropped(error)

    def read_request(self):
        """The next request, checked and with its body; None if it stopped arriving:
        the client left, or the watch shut the reading side when its time was up."""
        self.rfile.start()
        self.raw_requestline = self.rfile.request_line()
        if not self.raw_requestline.endswith(b"\n"):
            return None
        self.parse_request()                   # http.server's own reading of the head
        if self.rfile.lines[-1] not in (b"\r\n", b"\n"):
            return None
        request = strict_request(self.rfile.lines)
        self.close_connection = not wants_keep_alive(request.version, request.headers.get("connection"))
        length = body_length(request.headers, request.version)
        if length:
            if request.version == "HTTP/1.1" and "expect" in request.headers:   # 100-continue
                self.connection.sendall(CONTINUE)
            request.body = self.rfile.read(length)
            if len(request.body) < length:
                return None
        return request

    def handle_expect_100(self):
        """100 Continue goes out from read_request(), once the checks have passed."""
        return True

    def send_error(self, code, message=None, explain=None):
        """parse_request() refuses a bad request line or version through here; raised,
        it is answered as every other refusal is."""
        raise HTTPError(code, f"{message}: {explain}" if explain else message)

    def answer(self, request):
        try:
            response = dispatch(self.routes, self.demo, request)
        except Exception:     # a bug: say so, answer 500, keep serving the others
            traceback.print_exc()
            response = error_response(HTTPStatus.INTERNAL_SERVER_ERROR,
                                      "the server failed; its terminal says why")
            self.close_connection = True
        if self.records:     # before the answer leaves: a page reading /log next finds it
            self.demo.record(request, response)
        connection = None
        if self.close_connection:
            connection = "close"
        elif request.version == "HTTP/1.0":
            connection = "keep-alive"
        self.connection.sendall(render(response, http_date(),
                                       request.method == "HEAD", connection))

    def refuse(self, error):
        """Answer a request that cannot be served, then close, reading what still
        arrives for a moment: closing on unread input sends a reset, and the client
        would lose the answer."""
        self.close_connection = True
        if self.records:
            self.demo.say(f"{clock()} {int(error.status)} unreadable request from "
                          f"{self.client_address[0]}: {error}")
        response = error_response(error.status, str(error))
        try:
            self.connection.sendall(render(response, http_date(), connection="close"))
            self.connection.shutdown(socket.SHUT_WR)
            end, drained = time.monotonic() + LINGER, 0
            while drained < LINGER_BYTES and time.monotonic() < end:
                self.connection.settimeout(end - time.monotonic())
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except (OSError, ValueError):     # ValueError: a negative timeout, at the very end
            pass

    def dropped(self, error):
        self.close_connection = True
        if self.records:
            self.demo.say(f"{clock()} connection from {self.client_address[0]} dropped "
                          f"({type(error).__name__})")

    def log_message(self, format, *args):
        """Silent: the request log says what happened."""


class APIHandler(Handler):
    routes, records = ROUTES, True


class PlaygroundHandler(Handler):
    routes = PLAYGROUND_ROUTES


class OtherHandler(Handler):
    routes = OTHER_ROUTES


class Connections:
    """The open connections of every listener: at most limit at once, each given
    its time by one watch thread. A request has timeout seconds, from when it is
    awaited to when its answer is out. Past that, the watch shuts the connection's
    reading side: a blocked read returns, and the handler answers 408; if the
    handler is still there at the watch's next look (stuck sending an answer the
    client does not read), it shuts both sides. Sockets stay blocking, so serving
    a request costs no system call beyond its recv and its send."""

    def __init__(self, limit, timeout):
        self.limit, self.timeout = limit, timeout
        self.deadlines = {}         # socket -> when its current request's time is up
        self.shut = set()           # sockets whose reading side the watch has shut
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def enter(self, sock):
        with self._lock:
            if len(self.deadlines) >= self.limit:
                return False
            self.deadlines[sock] = time.monotonic() + self.timeout
            return True

    def leave(self, sock):
        with self._lock:
            self.deadlines.pop(sock, None)
            self.shut.discard(sock)

    def start(self, sock):
        """The next request on sock is awaited from now: its deadline."""
        deadline = self.deadlines[sock] = time.monotonic() + self.timeout
        return deadline

    def watch(self):
        while not self._stop.wait(min(0.25, self.timeout / 4)):
            now = time.monotonic()
            for sock, deadline in list(self.deadlines.items()):
                if deadline <= now:
                    try:
                        sock.shutdown(socket.SHUT_RDWR if sock in self.shut else socket.SHUT_RD)
                    except OSError:      # closed meanwhile
                        pass
                    self.shut.add(sock)

    def end_all(self):
        self._stop.set()
        for sock in list(self.deadlines):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __len__(self):
        return len(self.deadlines)


class ListenError(Exception):
    """A listener could not start; the message is the one line the user sees."""


class Server(http.server.ThreadingHTTPServer):
    """One listener: http.server's threading server, a daemon thread per connection,
    within the demo's cap on open connections."""
    daemon_threads = True      # a connection still open never keeps the process alive
    block_on_close = False     # and stopping does not wait for it
    request_queue_size = BACKLOG

    def __init__(self, host, port, handler, demo):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.demo = demo
        try:
            super().__init__((host, port), handler)
        except OSError as error:
            where = f"{host} port {port}"
            if error.errno == errno.EADDRINUSE:
                why = f"{where} is in use; choose other ports with --port (see --help)"
            elif error.errno == errno.EACCES:
                why = f"no permission to listen on {where} (ports below 1024 need root)"
            else:
                why = f"cannot listen on {where}: {error.strerror or error}"
            raise ListenError("cors_demo: " + why) from None

    def process_request(self, request, client_address):
        if self.demo.connections.enter(request):
            return super().process_request(request, client_address)
        # Over the cap: 503 with Retry-After, and close, without a thread. A flood
        # of idle clients then costs a file descriptor each for TIMEOUT seconds.
        response = error_response(HTTPStatus.SERVICE_UNAVAILABLE,
                                  f"more than {self.demo.connections.limit} open connections; "
                                  "try again in a second", {"Retry-After": "1"})
        try:
            request.setblocking(False)
            request.send(render(response, http_date(), connection="close"))
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        request.close()

    def shutdown_request(self, request):
        self.demo.connections.leave(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        traceback.print_exc()     # a bug outside any route: said, and the others go on


# ---------------------------------------------------------------- the demo

def url_host(host):
    """How a listening address appears in a URL a browser can open."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def playground_origins(host, playground_port):
    """The playground's own origin, in each spelling a browser may use for it."""
    origins = [f"http://127.0.0.1:{playground_port}", f"http://localhost:{playground_port}",
               f"http://[::1]:{playground_port}"]
    spelled = f"http://{url_host(host)}:{playground_port}"
    if spelled not in origins:
        origins.append(spelled)
    return origins


class Demo:
    """The three listeners and what they share: settings, notes, the request log.

    The command line and the tests build it the same way; port 0 means any
    free port, and the URLs say which."""

    def __init__(self, host=HOST, port=PORT, playground_port=None, other_port=None,
                 allow_origins=(), default_origins=True, max_age=MAX_AGE, quiet=True,
                 timeout=TIMEOUT, message_path=MESSAGE_PATH, out=None,
                 max_connections=MAX_CONNECTIONS):
        self.message, warning = load_message(message_path)
        self.message_body = json_body(self.message)
        self.warnings = [warning] if warning else []
        self.max_age, self.timeout, self.quiet = max_age, timeout, quiet
        self.out = out or sys.stdout
        self._say_lock = threading.Lock()
        self.notes = Notes()
        self.log = RequestLog()
        self.results = None                        # what ?autorun=1 posted last
        self.results_posted = threading.Event()
        self.connections = Connections(max_connections, timeout)
        if playground_port is None:
            playground_port = port + 1 if port else 0
        if other_port is None:
            other_port = port + 2 if port else 0
        self.servers = []
        try:
            for listen_port, handler in ((port, APIHandler), (playground_port, PlaygroundHandler),
                                         (other_port, OtherHandler)):
                self.servers.append(Server(host, listen_port, handler, self))
        except ListenError:
            self.close()
            raise
        self.api_port, self.playground_port, self.other_port = (
            server.server_port for server in self.servers)
        defaults = playground_origins(host, self.playground_port) if default_origins else []
        self.allow_list = tuple(dict.fromkeys([*defaults, *allow_origins]))
        self.api_url, self.playground_url, self.other_url = (
            f"http://{url_host(host)}:{server.server_port}" for server in self.servers)
        # The command that starts this very demo again, for the page to suggest.
        self.command = ["python", "cors_demo.py"] + (["--host", host] if host != HOST else [])
        self.command += ["--port", str(self.api_port), "--playground-port", str(self.playground_port),
                         "--other-port", str(self.other_port)]
        self.command += [] if default_origins else ["--no-default-origins"]
        for origin in allow_origins:
            self.command += ["--allow-origin", origin]
        self.command += [] if max_age == MAX_AGE else ["--max-age", str(max_age)]
        self.command += [] if max_connections == MAX_CONNECTIONS else ["--max-connections", str(max_connections)]
        self.command += ["--quiet"] if quiet else []
        self.page = render_page(self)
        self._threads = []

    def record(self, request, response):
        entry = self.log.record(request, response)
        if not self.quiet:
            self.say(entry.terminal_line())

    def report(self, results):
        """Outcomes posted by the page's autorun: keep them, and one line in the terminal."""
        self.results = results
        self.say(summary_line(results), always=True)
        self.results_posted.set()

    def say(self, line, always=False):
        """One line in the terminal; if the terminal is gone (| head), go on serving."""
        if self.quiet and not always:
            return
        with self._say_lock:
            if not write_line(self.out, line):
                self.quiet = True

    def start(self):
        threading.Thread(target=self.connections.watch, name="cors_demo:watch", daemon=True).start()
        for server in self.servers:
            thread = threading.Thread(target=server.serve_forever, args=(POLL,),
                                      name=f"cors_demo:{server.server_port}", daemon=True)
            thread.start()
            self._threads.append((server, thread))   # only once started: stop() may wait for it
        return self

    def stop(self):
        """Stop listening and end every open connection; safe at any point of start()."""
        stopping = [threading.Thread(target=server.shutdown) for server, _ in self._threads]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        self._threads = []
        self.close()

    def close(self):
        for server in self.servers:
            server.server_close()
        self.connections.end_all()


def write_line(out, line):
    """Write a line and flush it; False if the reader has gone (a closed pipe). Then
    stdout or stderr points nowhere, so that nothing fails at exit either."""
    try:
        out.write(line + "\n")
        out.flush()
        return True
    except (OSError, ValueError):
        if out in (sys.stdout, sys.stderr):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            except (OSError, ValueError):
                pass
        return False


# ---------------------------------------------------------------- command line

class PrintHelp(argparse.Action):
    """-h/--help prints the module docstring: the usage text lives in one place."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0)

    def __call__(self, parser, namespace, values, option_string=None):
        write_line(sys.stdout, __doc__.strip())
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


def connection_count(text):
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of connections (1 or more)")
    return int(text)


def listen_host(text):
    """An address to listen on; [::1] as in a URL is ::1."""
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text


def browser_origin(text):
    """An allow-list entry as a browser sends it (matching is exact): (origin, note)
    where note says what was corrected, or None. ArgumentTypeError if it is no origin."""
    if text == "null":
        return text, None
    scheme, separator, rest = text.partition("://")
    host, slash, path = rest.partition("/")
    if not separator or path or not is_origin(f"{scheme}://{host}"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an origin: write scheme://host[:port], with no path")
    default_port = {"http": ":80", "https": ":443"}.get(scheme.lower())
    origin = f"{scheme}://{host}".lower()
    if default_port and origin.endswith(default_port):
        origin = origin[:-len(default_port)]
    if origin == text:
        return origin, None
    return origin, f"--allow-origin {text}: a browser sends this origin as {origin}; using that"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="cors_demo.py", add_help=False,
        usage="python cors_demo.py [--host HOST] [--port PORT] [--allow-origin ORIGIN]... "
              "[--quiet] (--help for more)")
    env_port = os.environ.get("PORT")
    default_port = PORT
    if env_port:
        try:
            default_port = port_number(env_port)
        except argparse.ArgumentTypeError:
            parser.error(f"PORT={env_port!r} in the environment is not a port (0-65535)")
    parser.add_argument("-h", "--help", action=PrintHelp)
    parser.add_argument("--version", action="version", version=f"cors_demo {__version__}")
    parser.add_argument("--host", type=listen_host, default=HOST)
    parser.add_argument("--port", type=port_number, default=default_port)
    parser.add_argument("--playground-port", type=port_number)
    parser.add_argument("--other-port", type=port_number)
    parser.add_argument("--allow-origin", type=browser_origin, action="append", default=[],
                        dest="allow_origins")
    parser.add_argument("--no-default-origins", action="store_false", dest="default_origins")
    parser.add_argument("--max-age", type=max_age_seconds, default=MAX_AGE)
    parser.add_argument("--max-connections", type=connection_count, default=MAX_CONNECTIONS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.port > 65533 and (args.playground_port is None or args.other_port is None):
        parser.error("the playground and the other origin need ports too: give "
                     "--playground-port and --other-port")
    ports = [port for port in (args.port, args.playground_port, args.other_port) if port]
    if len(set(ports)) < len(ports):
        parser.error("the API, the playground and the other origin need different ports: "
                     "each port is an origin")
    args.notes = [note for _, note in args.allow_origins if note]
    args.allow_origins = [origin for origin, _ in args.allow_origins]
    if not args.allow_origins and not args.default_origins:
        parser.error("--no-default-origins leaves the allow-list empty: add --allow-origin")
    return args


def banner(demo, host):
    lines = [f"cors_demo {__version__}: watch CORS happen",
             f"  API           {demo.api_url}",
             f"  playground    {demo.playground_url}   <- open this in a browser",
             f"  other origin  {demo.other_url}   (on no allow-list; the playground embeds its /frame)",
             "  allow-list    " + " ".join(demo.allow_list)]
    if host in ("", "0.0.0.0", "::"):
        lines.append(f"  listening on every interface ({host or 'all'}), not only loopback")
    lines.append("Ctrl-C stops." + ("" if demo.quiet else " One line per API request follows."))
    return "\n".join(lines)


def room_for(connections):
    """Raise the open-file limit to fit the connection cap (many systems start at
    1024); if the system will not, lower the cap, and say so."""
    try:
        import resource
    except ImportError:       # not on Windows: nothing to raise
        return connections, None
    needed = connections + 64             # listeners, the terminal, stdio
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return connections, None
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target >= needed:
        return connections, None
    fitted = max(1, target - 64)
    return fitted, f"the system allows {target} open files: at most {fitted} connections"


def serve(args):
    """Run the demo until Ctrl-C or SIGTERM; 0, or 1 if it could not listen."""
    max_connections, warning = room_for(args.max_connections)
    for line in args.notes + ([warning] if warning else []):
        write_line(sys.stderr, f"note: {line}")
    demo = None
    try:
        demo = Demo(host=args.host, port=args.port, playground_port=args.playground_port,
                    other_port=args.other_port, allow_origins=args.allow_origins, default_origins=args.default_origins,
                    max_age=args.max_age, quiet=args.quiet, max_connections=max_connections)
        for line in demo.warnings:
            write_line(sys.stderr, f"warning: {line}")
        demo.start()
        if not write_line(sys.stdout, banner(demo, args.host)):
            demo.quiet = True
        threading.Event().wait()
    except ListenError as error:
        write_line(sys.stderr, str(error))
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not interrupt the stop
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if demo is not None:
            demo.stop()
    write_line(sys.stdout, "\ncors_demo stopped.")
    return 0


def stop_on_signal(signum, frame):
    raise KeyboardInterrupt


##############################################################################
# APPENDIX. THE PLAYGROUND PAGE: its HTML, CSS and JavaScript
##############################################################################

# ---------------------------------------------------------------- playground page

# One page, no external assets: it works offline and the file is the whole demo.
# Its script and style are inline; the Content-Security-Policy names their
# hashes, so nothing else on the page could ever run, whatever the log holds.

PAGE_STYLE = r"""
:root {
  --bg: #f5f6f8; --card: #fff; --text: #1c2230; --muted: #5a6372; --line: #d7dbe2;
  --accent: #2450c0; --accent-text: #fff; --code: #eef1f5;
  --ok: #0a6e30; --ok-bg: #e4f3e8; --bad: #a8231b; --bad-bg: #fbe8e6;
  --warn: #6d4300; --warn-bg: #fff1cc;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --card: #181d24; --text: #e4e8ee; --muted: #9aa4b3; --line: #2c333e;
    --accent: #7aa2ff; --accent-text: #0f1216; --code: #10151b;
    --ok: #6fd694; --ok-bg: #132a1c; --bad: #ff9189; --bad-bg: #341614;
    --warn: #ffd27a; --warn-bg: #33280c;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 16px; }
h1 { font-size: 1.75rem; margin: 28px 0 4px; }
h1 small { font-weight: 400; color: var(--muted); font-size: 1rem; }
h2 { font-size: 1.3rem; margin: 36px 0 8px; }
h3 { font-size: 1.1rem; margin: 0; }
h4 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 14px 0 4px; }
p { margin: 6px 0; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .88em; }
pre { background: var(--code); border-radius: 6px; padding: 10px 12px; margin: 8px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.lead { max-width: 70ch; }
.panel, .experiment { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px; margin: 14px 0; }
.setup { display: grid; gap: 10px; }
.setup > *, .cols > *, .builder > * { min-width: 0; }
.notice, .legend { overflow-wrap: anywhere; }
.setup form { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--text); min-width: 0; }
input[type=text], input[type=url] { flex: 1 1 12em; width: 100%; }
button { font: inherit; font-weight: 600; padding: 6px 16px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .55; cursor: progress; }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
.legend { color: var(--muted); font-size: .9rem; }
.chip { display: inline-block; font-size: .8rem; font-weight: 650; padding: 1px 9px; border-radius: 999px; border: 1px solid currentColor; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .na { color: var(--muted); }
.chip.ok { background: var(--ok-bg); } .chip.bad { background: var(--bad-bg); } .chip.warn { background: var(--warn-bg); }
.notice { border-radius: 8px; padding: 10px 12px; border: 1px solid currentColor; }
.notice.warn { background: var(--warn-bg); } .notice.ok { background: var(--ok-bg); }
.experiment header { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin-bottom: 8px; }
.experiment header h3 { flex: 1 1 16em; }
.experiment.unexpected { border-color: var(--warn); box-shadow: 0 0 0 2px var(--warn-bg); }
.cols { display: grid; grid-template-columns: minmax(0, 1fr); gap: 4px 24px; }
@media (min-width: 880px) { .cols { grid-template-columns: minmax(0, 1fr) minmax(0, 1.1fr); } }
.result[hidden] { display: none; }
.problems { margin: 8px 0; padding: 8px 12px 8px 28px; background: var(--warn-bg); color: var(--warn); border-radius: 6px; }
ul.entries { list-style: none; padding: 0; margin: 0; }
ul.entries li { padding: 4px 0; border-top: 1px solid var(--line); overflow-wrap: anywhere; }
ul.entries li:first-child { border-top: 0; }
.verdict { display: block; font-size: .9rem; }
.body { display: block; color: var(--muted); overflow-wrap: anywhere; }
/* The picture: three lanes, an arrow for each message that really crossed. */
.diagram { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); row-gap: 4px; margin-top: 10px; padding: 4px 0 8px;
  background:
    linear-gradient(var(--line), var(--line)) 16.6% 0 / 2px 100% no-repeat,
    linear-gradient(var(--line), var(--line)) 50% 0 / 2px 100% no-repeat,
    linear-gradient(var(--line), var(--line)) 83.4% 0 / 2px 100% no-repeat; }
.lane { text-align: center; font-weight: 650; font-size: .82rem; }
.lane span { background: var(--card); padding: 0 6px; }
.msg { text-align: center; font-size: .8rem; line-height: 1.35; padding-top: 4px; }
.msg .label { background: var(--card); padding: 0 4px; overflow-wrap: anywhere; }
.msg .sub { display: block; color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .72rem; overflow-wrap: anywhere; }
.msg .sub span { background: var(--card); }
.msg .line { height: 2px; background: currentColor; margin: 3px 25% 0; position: relative; }
.msg .line::after { content: ""; position: absolute; top: -5px; border: 6px solid transparent; }
.msg.right .line::after { right: -3px; border-left: 9px solid currentColor; border-right: 0; }
.msg.left .line::after { left: -3px; border-right: 9px solid currentColor; border-left: 0; }
.msg.request { color: var(--accent); } .msg.response { color: var(--muted); }
.msg.request .label, .msg.response .label { color: var(--text); }
.mark { grid-column: 1 / -1; justify-self: center; text-align: center; font-size: .82rem; font-weight: 600; border-radius: 6px; padding: 3px 10px; max-width: 96%; border: 1px solid currentColor; }
.mark.bad { background: var(--bad-bg); } .mark.ok { background: var(--ok-bg); } .mark.na { background: var(--card); font-weight: 400; }
.builder { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
@media (min-width: 880px) { .builder { grid-template-columns: 1fr 1fr; } }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 0; padding: 8px 12px 12px; display: grid; gap: 8px; }
legend { font-weight: 650; padding: 0 4px; }
fieldset label { display: grid; grid-template-columns: minmax(7.5em, auto) minmax(0, 1fr); gap: 8px; align-items: center; }
fieldset label.check { display: flex; }
.log-rows { display: grid; gap: 0; }
.log-row { display: grid; grid-template-columns: 5.5em minmax(0, 1.2fr) minmax(0, 1fr) 3.6em minmax(0, 2.2fr); gap: 8px; padding: 6px 0; border-top: 1px solid var(--line); font-size: .88rem; overflow-wrap: anywhere; }
.log-row.head { font-weight: 650; color: var(--muted); border-top: 0; }
@media (max-width: 700px) {
  .log-row { grid-template-columns: 4.5em minmax(0, 1fr) 3.6em; }
  .log-row .origin, .log-row .verdict-cell { grid-column: 2 / -1; }
  .log-row.head .origin, .log-row.head .verdict-cell { display: none; }
}
footer { color: var(--muted); font-size: .85rem; padding: 24px 16px 40px; }
@media (max-width: 480px) { .panel, .experiment { padding: 12px; } h1 { font-size: 1.45rem; } }
"""

PAGE_SCRIPT = r"""
"use strict";
// The cors_demo playground: each experiment of the lesson, run by this very
// browser, next to what the server saw. Every value that comes from the server
// or the log goes into the page as text (textContent), never as HTML.

const params = new URLSearchParams(location.search);
const PAGE = location.origin;
// What the server knows and the page needs: its ports, its settings, and the
// lesson's experiments (LESSON in cors_demo.py), each with why it is preflighted.
const SETTINGS = JSON.parse(document.getElementById("settings").textContent);
const EXPERIMENTS = SETTINGS.lesson;
let API = apiFrom(params.get("api")) || `${location.protocol}//${location.hostname}:${SETTINGS.api_port}`;

// Cookies belong to a host, not a port: this one rides along on every fetch
// to the API that uses credentials: 'include', and only on those, so the
// server can tell which requests had credentials.
document.cookie = "cors_demo_page=1; SameSite=Lax; Path=/";

function apiFrom(text) {
  if (!text) return null;
  try { return new URL(text).href.replace(/\/+$/, ""); } catch { return null; }
}

// -- building the page --------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (value === true) node.setAttribute(name, "");
    else if (value != null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) node.append(child);   // a string becomes a text node
  }
  return node;
}

const $ = (selector, root = document) => root.querySelector(selector);
const icon = allowed => allowed === true ? "\u2713" : allowed === false ? "\u2717" : "\u2013";
const tone = allowed => allowed === true ? "ok" : allowed === false ? "bad" : "na";
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function quote(text) {
  return "'" + String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

function literal(value) {          // a JS literal for the code shown: {method: 'PUT'}
  if (typeof value === "string") return quote(value);
  const items = Object.entries(value).map(([key, item]) =>
    `${/^[A-Za-z_]\w*$/.test(key) ? key : quote(key)}: ${literal(item)}`);
  return `{${items.join(", ")}}`;
}

function fetchCode(call, name) {
  const init = call.init && Object.keys(call.init).length ? `, ${literal(call.init)}` : "";
  const lines = [`const ${name} = await fetch(${quote(call.url)}${init});`];
  for (const header of Object.keys(call.reads || {})) lines.push(`${name}.headers.get(${quote(header)});`);
  lines.push(`await ${name}.text();`);
  return lines.join("\n");
}

// -- the server's log ----------------------------------------------------------

async function readLog(query) {
  const response = await fetch(`/log?${query}`, {cache: "no-store"});
  if (!response.ok) throw new Error(`/log answered ${response.status}`);
  return response.json();
}

// -- one fetch, and what the server saw of it -----------------------------------

// Every request of a run carries the run's token in its query, which the API
// ignores: the page finds its own requests in the log by it, whoever else uses
// the server, and each run starts with an empty preflight cache (it is kept per URL).
function runToken() {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), byte => byte.toString(16).padStart(2, "0")).join("");
}

const withRun = (url, run) => url + (url.includes("?") ? "&" : "?") + `run=${run}`;

async function perform(call, run, seen) {
  const outcome = {readable: false, headers: {}};
  try {
    const response = await fetch(withRun(call.url, run), call.init);
    outcome.readable = true;
    outcome.status = response.status;
    for (const header of Object.keys(call.reads || {})) outcome.headers[header] = response.headers.get(header);
    outcome.body = await response.text();
  } catch (error) {
    outcome.error = `${error.name}: ${error.message}`;
  }
  const log = await readLog(`run=${run}&since=${seen.latest}`);
  outcome.entries = log.entries.reverse();
  if (outcome.entries.length) seen.latest = outcome.entries[outcome.entries.length - 1].id;
  return outcome;
}

const arrival = entry => `${entry.method} ${entry.path.split("?")[0]}`;

function judge(call, outcome) {
  const problems = [];
  if (outcome.readable !== call.readable) {
    problems.push(call.readable
      ? `the page could not read the response (${outcome.error})`
      : `the page read the response (status ${outcome.status}), where it should have been blocked`);
  }
  const seen = outcome.entries.map(arrival);
  if (seen.join(", ") !== call.arrives.join(", ")) {
    const said = list => list.length ? list.join(" then ") : "nothing";
    problems.push(`the server saw ${said(seen)}, where the lesson expects ${said(call.arrives)}`);
  }
  if (outcome.readable) {
    for (const [name, readable] of Object.entries(call.reads || {})) {
      if (readable && outcome.headers[name] === null) problems.push(`${name} could not be read`);
      if (!readable && outcome.headers[name] !== null) problems.push(`${name} could be read`);
    }
  }
  if (call.cookie && !outcome.entries.some(entry => entry.cookies.includes(call.cookie))) {
    problems.push(`the ${call.cookie} cookie did not come back`);
  }
  return problems;
}

// -- the experiments -------------------------------------------------------------

function callsOf(experiment) {
  return experiment.calls.map(call => ({...call, url: API + call.path}));
}

function expectation(experiment) {
  const readable = experiment.calls.map(call => call.readable);
  if (readable.every(Boolean)) return ["ok", "\u2713 should be readable"];
  if (!readable.some(Boolean)) return ["bad", "\u2717 should be blocked"];
  return ["ok", "\u2717 then \u2713"];
}

function experimentCard(experiment, number) {
  const calls = callsOf(experiment);
  const [tone, expected] = expectation(experiment);
  const code = el("pre", {}, el("code", {}, calls.map((c, i) =>
    fetchCode(c, calls.length > 1 ? `response${i + 1}` : "response")).join("\n")));
  const card = el("article", {class: "experiment", id: `x-${experiment.id}`},
    el("header", {},
      el("h3", {}, `${number}. ${experiment.title}`),
      el("span", {class: `chip ${tone}`}, expected),
      el("span", {class: "outcome", role: "status"})),
    el("div", {class: "cols"},
      el("div", {},
        el("p", {}, el("b", {}, "Tries: "), experiment.tries),
        code,
        el("p", {class: "why"}, el("b", {}, "Why: "), experiment.why),
        el("div", {class: "actions"}, el("button", {type: "button"}, "Run"))),
      el("div", {class: "result", hidden: true})));
  card.querySelector("button").addEventListener("click", () => runExperiment(experiment, card));
  return card;
}

async function runExperiment(experiment, card) {
  const button = card.querySelector("button");
  button.disabled = true;
  const calls = callsOf(experiment);
  const run = runToken(), seen = {latest: 0};
  const outcomes = [];
  let problems = [];
  try {
    for (const call of calls) {
      const outcome = await perform(call, run, seen);
      outcomes.push(outcome);
      problems = problems.concat(judge(call, outcome));
    }
  } catch (error) {
    problems.push(`the experiment could not run: ${error.message}`);
  }
  showResult(card, calls, outcomes, problems);
  button.disabled = false;
  return {id: experiment.id, title: experiment.title, as_expected: problems.length === 0, problems};
}

function showResult(card, calls, outcomes, problems) {
  const result = card.querySelector(".result");
  result.replaceChildren();
  result.hidden = false;
  const fine = problems.length === 0;
  card.classList.toggle("unexpected", !fine);
  card.querySelector(".outcome").replaceChildren(el("span", {class: `chip ${fine ? "ok" : "warn"}`},
    fine ? "\u2713 as the lesson says" : "\u26a0 unexpected"));
  if (!fine) result.append(el("ul", {class: "problems"}, problems.map(p => el("li", {}, p))));
  outcomes.forEach((outcome, index) => {
    const call = calls[index];
    if (outcomes.length > 1) result.append(el("h4", {}, `Call ${index + 1}`));
    result.append(el("h4", {}, "This browser"), browserSaw(outcome),
                  el("h4", {}, "The server saw"), serverSaw(outcome),
                  picture(call, outcome));
  });
}

function browserSaw(outcome) {
  if (!outcome.readable) {
    return el("p", {class: "bad"}, `\u2717 fetch failed: ${outcome.error || "no answer"}`);
  }
  const read = Object.entries(outcome.headers).map(([name, value]) =>
    el("span", {class: "body mono"}, `headers.get('${name}') = ${value === null ? "null" : JSON.stringify(value)}`));
  const body = outcome.body.length > 240 ? outcome.body.slice(0, 240) + "\u2026" : outcome.body;
  return el("p", {class: "ok"}, `\u2713 read it: status ${outcome.status}`,
            read, body && el("span", {class: "body mono"}, body));
}

function entryLine(entry) {
  const asked = entry.request_headers["Access-Control-Request-Method"];
  const what = entry.preflight ? `OPTIONS ${entry.path} (preflight for ${asked})` : `${entry.method} ${entry.path}`;
  return el("li", {},
    el("span", {class: "mono"}, `${what} \u2192 ${entry.status}`),
    el("span", {class: `verdict ${tone(entry.allowed)}`}, `${icon(entry.allowed)} ${entry.verdict}`));
}

function serverSaw(outcome) {
  if (!outcome.entries.length) return el("p", {class: "na"}, "Nothing: no request from this page reached the server.");
  return el("ul", {class: "entries"}, outcome.entries.map(entryLine));
}

// -- the picture: page, browser and server as lanes; an arrow per message ---------

const LANES = {page: 1, browser: 2, server: 3};
const short = path => path.length > 32 ? path.split("?")[0] + "?\u2026" : path;   // the list above has it whole

function arrow(from, to, label, sub, kind) {
  const [a, b] = [LANES[from], LANES[to]];
  const node = el("div", {class: `msg ${kind} ${a < b ? "right" : "left"}`},
    el("span", {class: "label"}, label),
    (sub || []).map(line => el("span", {class: "sub"}, el("span", {}, line))),
    el("div", {class: "line"}));
  node.style.gridColumn = `${Math.min(a, b)} / span 2`;
  return node;
}

function mark(words, kind) {
  return el("div", {class: `mark ${kind}`}, words);
}

function corsLines(headers) {
  const lines = Object.entries(headers).filter(([name]) => name.startsWith("Access-Control-"))
    .map(([name, value]) => `${name}: ${value}`);
  return lines.length ? lines : ["no Access-Control-* header"];
}

function reasonOf(verdict) {
  return verdict.replace(/^blocked: /, "");
}

function picture(call, outcome) {
  const method = ((call.init && call.init.method) || "GET").toUpperCase();
  const steps = [el("div", {class: "lane"}, el("span", {}, "Page")),
                 el("div", {class: "lane"}, el("span", {}, "Browser")),
                 el("div", {class: "lane"}, el("span", {}, "Server"))];
  steps.push(arrow("page", "browser", `fetch ${method} ${short(call.path)}`, [], "request"));
  const preflighted = outcome.entries.some(entry => entry.preflight);
  if (call.preflight && !preflighted && outcome.entries.length) {
    steps.push(mark(`preflight answer still cached: no OPTIONS sent`, "na"));
  }
  let stopped = false;
  for (const entry of outcome.entries) {
    if (entry.preflight) {
      const asked = [`Access-Control-Request-Method: ${entry.request_headers["Access-Control-Request-Method"]}`];
      const names = entry.request_headers["Access-Control-Request-Headers"];
      if (names) asked.push(`Access-Control-Request-Headers: ${names}`);
      steps.push(arrow("browser", "server", `preflight: OPTIONS ${short(entry.path)}`, asked, "request"));
      steps.push(arrow("server", "browser", `${entry.status}`, corsLines(entry.response_headers), "response"));
      if (entry.allowed === false) {
        steps.push(mark(`\u2717 the browser stops here: ${reasonOf(entry.verdict)}. The ${method} is never sent.`, "bad"));
        stopped = true;
      } else {
        steps.push(mark(`\u2713 preflight passed`, "ok"));
      }
    } else {
      steps.push(arrow("browser", "server", `${entry.method} ${short(entry.path)}`,
                       entry.cookies.length ? [`Cookie: ${entry.cookies.join(", ")}`] : [], "request"));
      steps.push(arrow("server", "browser", `${entry.status}`, corsLines(entry.response_headers), "response"));
      if (!outcome.readable) {
        const why = entry.allowed === false ? reasonOf(entry.verdict) : "see the browser's console";
        steps.push(mark(`\u2717 the browser blocks the read: ${why}`, "bad"));
        stopped = true;
      }
    }
  }
  if (!outcome.entries.length) {
    steps.push(mark("\u2717 nothing reached the server", "bad"));
  }
  if (outcome.readable) {
    steps.push(arrow("browser", "page", `\u2713 response: ${outcome.status}`, [], "response"));
  } else {
    steps.push(arrow("browser", "page", `\u2717 ${outcome.error || "TypeError"}`,
                     stopped ? [] : ["the browser refused"], "response"));
  }
  return el("div", {class: "diagram", role: "img",
                    "aria-label": "Messages between the page, the browser and the server"}, steps);
}

// -- run all, autorun ---------------------------------------------------------------

function browserName() {
  const ua = navigator.userAgent;
  const patterns = [[/Firefox\/(\d+)/, "Firefox"], [/Edg\/(\d+)/, "Edge"],
                    [/(?:Headless)?Chrome\/(\d+)/, "Chrome"], [/Version\/(\d+).*Safari/, "Safari"]];
  for (const [pattern, name] of patterns) {
    const match = ua.match(pattern);
    if (match) return `${name} ${match[1]}`;
  }
  return "an unknown browser";
}

async function runAll() {
  const button = $("#run-all");
  button.disabled = true;
  $("#summary").textContent = "running\u2026";
  const results = [];
  for (const experiment of EXPERIMENTS) {
    results.push(await runExperiment(experiment, $(`#x-${experiment.id}`)));
  }
  const passed = results.filter(r => r.as_expected).length;
  $("#summary").replaceChildren(el("span", {class: `chip ${passed === results.length ? "ok" : "warn"}`},
    `${passed} of ${results.length} experiments behaved as the lesson says, in ${browserName()}`));
  button.disabled = false;
  return results;
}

async function autorun() {
  const results = await runAll();
  await fetch("/results", {method: "POST", headers: {"Content-Type": "application/json"},
                           body: JSON.stringify({browser: browserName(), experiments: results})});
}

// -- the /cors form -------------------------------------------------------------------

function builderCall() {
  const form = $("#builder");
  const query = new URLSearchParams();
  const origin = form.elements["allow-origin"].value;
  if (origin) query.set("allow-origin", origin === "page" ? PAGE : origin);
  for (const name of ["allow-methods", "allow-headers", "expose-headers", "max-age"]) {
    const value = form.elements[name].value.trim();
    if (value) query.set(name, value);
  }
  if (form.elements["allow-credentials"].checked) query.set("allow-credentials", "true");
  const init = {};
  const method = form.elements.method.value;
  if (method !== "GET") init.method = method;
  const header = form.elements["header-name"].value.trim();
  if (header) init.headers = {[header]: form.elements["header-value"].value};
  if (form.elements.credentials.checked) init.credentials = "include";
  const path = "/cors" + (query.toString() ? `?${query}` : "");
  return {path, url: API + path, init, reads: {"X-Demo-Count": true, "X-Demo-Hidden": false}};
}

async function whyPreflight(init) {      // the server's rules, not a copy of them here
  const query = new URLSearchParams({method: init.method || "GET"});
  for (const [name, value] of Object.entries(init.headers || {})) query.append("header", `${name}:${value}`);
  const response = await fetch(`/explain-preflight?${query}`);
  return (await response.json()).preflight;
}

function showBuilderCode() {
  const call = builderCall();
  $("#builder-url").textContent = call.url;
  $("#builder-code").textContent = fetchCode(call, "response");
}

async function runBuilder(event) {
  event.preventDefault();
  const call = builderCall();
  const button = $("#builder button");
  button.disabled = true;
  const outcome = await whyPreflight(call.init).then(reason => {
    call.preflight = reason;
    return perform(call, runToken(), {latest: 0});
  }).catch(error => ({readable: false, error: error.message, entries: [], headers: {}}));
  const result = $("#builder-result");
  result.replaceChildren(el("h4", {}, "Why"), explain(call, outcome),
                         el("h4", {}, "This browser"), browserSaw(outcome),
                         el("h4", {}, "The server saw"), serverSaw(outcome), picture(call, outcome));
  button.disabled = false;
}

function explain(call, outcome) {
  const lines = [];
  const needed = call.preflight;
  const preflight = outcome.entries.find(entry => entry.preflight);
  if (!needed) lines.push("A simple request: a safelisted method and only safelisted headers, so no preflight.");
  else if (preflight) lines.push(`A preflight was needed: ${needed}.`);
  else if (outcome.entries.length) lines.push(`A preflight was needed (${needed}), but the browser still had the answer of an earlier one: Max-Age.`);
  else lines.push(`A preflight was needed: ${needed}.`);
  for (const entry of outcome.entries) {
    lines.push(`${entry.preflight ? "The preflight" : `The ${entry.method}`} got ${entry.status}; ${entry.verdict}.`);
  }
  if (!outcome.entries.length) lines.push("Nothing reached the server: the browser refused before sending (see its console).");
  if (outcome.readable) {
    const hidden = Object.entries(outcome.headers).filter(([, value]) => value === null).map(([name]) => name);
    lines.push("The page read the response." + (hidden.length
      ? ` Script could not read ${hidden.join(" and ")}: not in Access-Control-Expose-Headers.` : ""));
  } else {
    lines.push(`The page got ${outcome.error}: the browser says why in its console, never to the script.`);
  }
  return el("ul", {}, lines.map(line => el("li", {}, line)));
}

// -- the live log -------------------------------------------------------------------------

let logLatest = 0;

function logRow(entry) {
  return el("div", {class: "log-row"},
    el("span", {class: "mono"}, new Date(entry.time).toLocaleTimeString([], {hour12: false})),
    el("span", {class: "mono"}, `${entry.preflight ? "OPTIONS (preflight)" : entry.method} ${entry.path}`),
    el("span", {class: "origin mono"}, entry.origin === null ? "no Origin" : entry.origin),
    el("span", {class: "mono"}, String(entry.status)),
    el("span", {class: `verdict-cell ${tone(entry.allowed)}`}, `${icon(entry.allowed)} ${entry.verdict}`));
}

async function refreshLog() {
  try {
    const log = await readLog(`since=${logLatest}`);
    if (log.entries.length) {
      const rows = $("#log-rows");
      rows.firstElementChild.after(...log.entries.map(logRow));
      while (rows.children.length > 61) rows.lastElementChild.remove();
      logLatest = log.latest;
    }
  } catch (error) {
    $("#log-status").textContent = `The log could not be read: ${error.message}`;
  }
}

// -- start ----------------------------------------------------------------------------------

function showAllowList() {
  const status = $("#allow-status");
  if (SETTINGS.allow_list.includes(PAGE)) {
    status.className = "notice ok";
    status.replaceChildren(`\u2713 This page's origin, ${PAGE}, is on the API's allow-list.`);
  } else {
    status.className = "notice warn";
    status.replaceChildren(`\u26a0 This page's origin, ${PAGE}, is not on the API's allow-list (`,
      SETTINGS.allow_list.join(", ") || "empty",
      "), so the experiments that need it will be blocked. Restart the demo with ",
      el("code", {}, `python cors_demo.py --allow-origin ${PAGE}`), ".");
  }
}

function useApi(event) {
  event.preventDefault();
  const api = apiFrom($("#api").value);
  if (!api) { $("#api").setCustomValidity("a URL such as http://127.0.0.1:8000"); $("#api").reportValidity(); return; }
  $("#api").setCustomValidity("");
  API = api;
  params.set("api", api);
  history.replaceState(null, "", `?${params}`);
  for (const [index, experiment] of EXPERIMENTS.entries()) {
    $(`#x-${experiment.id}`).replaceWith(experimentCard(experiment, index + 1));
  }
  showBuilderCode();
}

async function start() {
  $("#page-origin").textContent = PAGE;
  $("#api").value = API;
  $("#api-form").addEventListener("submit", useApi);
  showAllowList();
  try {
    logLatest = Math.max(0, (await readLog("since=1000000000000000")).latest - 30);
  } catch (error) {
    $("#log-status").textContent = `The playground's /log could not be read: ${error.message}`;
  }
  $("#experiments").append(...EXPERIMENTS.map((experiment, index) => experimentCard(experiment, index + 1)));
  $("#run-all").addEventListener("click", runAll);
  $("#builder").addEventListener("input", showBuilderCode);
  $("#builder").addEventListener("submit", runBuilder);
  showBuilderCode();
  await refreshLog();
  setInterval(refreshLog, 2000);
  if (params.get("autorun") === "1") await autorun();
}

start();
"""

PAGE_BODY = r"""
<header class="wrap">
  <h1>cors_demo <small>playground</small></h1>
  <p class="lead">This page and the API are on different origins: their ports differ. Every
  experiment below is a real cross-origin <code>fetch</code> made by this browser, shown with
  its code, what a browser should do and why, what this browser did, and what the server
  saw, preflights included.</p>
  <div class="panel setup">
    <p>This page: <code id="page-origin"></code></p>
    <form id="api-form">
      <label for="api">API</label>
      <input id="api" type="url" name="api" spellcheck="false" autocomplete="off">
      <button type="submit" class="secondary">Use this API</button>
    </form>
    <p id="allow-status" class="notice" role="status">Reading the API's settings&hellip;</p>
    <div class="actions">
      <button id="run-all" type="button">Run all</button>
      <span id="summary" role="status"></span>
    </div>
    <p class="legend"><span class="ok">&#x2713; readable</span> &middot;
      <span class="bad">&#x2717; blocked</span> &middot;
      <span class="warn">&#x26a0; unexpected: not what the lesson says</span> &middot;
      the API ignores <code>?run=</code>: a fresh one per run keeps cached preflights out of the way.</p>
  </div>
</header>
<main class="wrap">
  <h2>The experiments</h2>
  <section id="experiments" aria-label="Experiments"></section>

  <h2>Build your own: <code>/cors</code></h2>
  <form id="builder" class="panel">
    <p>Choose what the page sends and what the server answers; <code>/cors</code> sends exactly
    the headers its query asks for, on the preflight and on the response.</p>
    <div class="builder">
      <fieldset>
        <legend>The page sends</legend>
        <label>Method <select name="method"><option>GET</option><option>POST</option>
          <option selected>PUT</option><option>DELETE</option><option>PATCH</option></select></label>
        <label>Header name <input type="text" name="header-name" value="X-Demo" spellcheck="false"></label>
        <label>Header value <input type="text" name="header-value" value="1" spellcheck="false"></label>
        <label class="check"><input type="checkbox" name="credentials"> with credentials: 'include'</label>
      </fieldset>
      <fieldset>
        <legend>The server answers</legend>
        <label>Allow-Origin <select name="allow-origin">
          <option value="">(none)</option><option value="*">*</option>
          <option value="page" selected>this page's origin</option>
          <option value="origin">origin: reflect any Origin</option>
          <option value="https://google.com">https://google.com</option></select></label>
        <label>Allow-Methods <input type="text" name="allow-methods" value="PUT" spellcheck="false"></label>
        <label>Allow-Headers <input type="text" name="allow-headers" value="X-Demo" spellcheck="false"></label>
        <label class="check"><input type="checkbox" name="allow-credentials"> Allow-Credentials: true</label>
        <label>Expose-Headers <input type="text" name="expose-headers" value="" placeholder="X-Demo-Count" spellcheck="false"></label>
        <label>Max-Age <input type="text" name="max-age" value="0" inputmode="numeric"></label>
      </fieldset>
    </div>
    <h4>URL</h4>
    <pre><code id="builder-url"></code></pre>
    <h4>Code</h4>
    <pre><code id="builder-code"></code></pre>
    <div class="actions"><button type="submit">Run</button></div>
    <div id="builder-result" aria-live="polite"></div>
  </form>

  <h2>The server's log</h2>
  <div class="panel">
    <p id="log-status">Every request the API received, newest first, from any page or tool; as
    JSON at <a href="/log">/log</a>.</p>
    <div id="log-rows" class="log-rows">
      <div class="log-row head"><span>time</span><span>request</span><span class="origin">Origin</span><span>status</span><span class="verdict-cell">verdict</span></div>
    </div>
  </div>
</main>
<footer class="wrap">cors_demo @VERSION@ &middot; a teaching server, not a production CORS layer.</footer>
"""

PAGE_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cors_demo playground</title>
<link rel="icon" href="data:,">
<style>@STYLE@</style>
</head>
<body>
@BODY@
<script id="settings" type="application/json">@SETTINGS@</script>
<script>@SCRIPT@</script>
</body>
</html>
"""


def csp_hash(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


PAGE_POLICY = ("default-src 'none'; "
               f"script-src {csp_hash(PAGE_SCRIPT)}; style-src {csp_hash(PAGE_STYLE)}; "
               "connect-src 'self' http: https:; frame-src http: https:; img-src data:; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def render_page(demo):
    """The playground page, with what it needs to know of the demo as a JSON data
    block (not run as script, so the Content-Security-Policy stays as it is)."""
    settings = {"version": __version__, "api_port": demo.api_port,
                "playground_port": demo.playground_port, "other_port": demo.other_port,
                "max_age": demo.max_age, "allow_list": list(demo.allow_list),
                "command": " ".join(shlex.quote(word) for word in demo.command),
                "lesson": lesson_json(demo.max_age)}
    # In a <script> element only "</script" or "<!--" could end it early: no "<" at all.
    data = json.dumps(settings).replace("<", "\\u003c")
    page = PAGE_TEMPLATE.replace("@BODY@", PAGE_BODY.replace("@VERSION@", __version__))
    # The script and style last: they must reach the browser byte for byte as
    # hashed, or the Content-Security-Policy blocks them.
    page = page.replace("@SETTINGS@", data)
    return page.replace("@STYLE@", PAGE_STYLE).replace("@SCRIPT@", PAGE_SCRIPT).encode()


# ---------------------------------------------------------------- the other origin's page

# /frame, on the other origin: on no allow-list, and with no lesson of its own.
# Its parent (the playground, whose origin ?parent= names) sends it a fetch to
# make; it makes it and answers with what it could read. A message from anyone
# else is ignored. In a sandboxed frame its origin is opaque: its fetches carry
# Origin: null.
FRAME_SCRIPT = r"""
"use strict";
const parentOrigin = new URLSearchParams(location.search).get("parent");
const READ_LIMIT = 2048;        // body characters sent back

function isOrigin(text) {
  try { return new URL(text).origin === text; } catch { return false; }
}

async function perform({id, url, init, read}) {
  const outcome = {id, readable: false, headers: {}};
  try {
    const response = await fetch(url, init);
    outcome.readable = true;
    outcome.type = response.type;
    outcome.status = response.status;
    for (const name of read || []) outcome.headers[name] = response.headers.get(name);
    outcome.body = (await response.text()).slice(0, READ_LIMIT);
  } catch (error) {
    outcome.error = `${error.name}: ${error.message}`;
  }
  return outcome;
}

document.getElementById("origin").textContent = location.origin;
if (isOrigin(parentOrigin) && window.parent !== window) {
  addEventListener("message", async event => {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    window.parent.postMessage(await perform(event.data), parentOrigin);
  });
  window.parent.postMessage({ready: true, origin: location.origin}, parentOrigin);
}
"""

FRAME_STYLE = "body { font: 14px/1.4 system-ui, sans-serif; margin: 8px; color: #5a6372; }"

FRAME_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cors_demo: another origin</title>
<link rel="icon" href="data:,">
<style>@STYLE@</style>
</head>
<body>
<p>cors_demo's other origin, <code id="origin"></code>: on no allow-list. It makes the
fetches the playground asks for, and tells it what it could read.</p>
<script>@SCRIPT@</script>
</body>
</html>
"""

FRAME_PAGE = FRAME_TEMPLATE.replace("@STYLE@", FRAME_STYLE).replace("@SCRIPT@", FRAME_SCRIPT).encode()
FRAME_POLICY = ("default-src 'none'; "
                f"script-src {csp_hash(FRAME_SCRIPT)}; style-src {csp_hash(FRAME_STYLE)}; "
                "connect-src http: https:; base-uri 'none'; form-action 'none'")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check"]:
        return check_main(argv[1:])
    # Ctrl-C stops the demo wherever it was started: a shell that starts a job in
    # the background ignores SIGINT for it, and the demo would not hear Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        return serve(parse_args(argv))
    except KeyboardInterrupt:     # stopped before it had started: nothing to clean up
        return 0


if __name__ == "__main__":
    sys.exit(main())
