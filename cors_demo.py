#!/usr/bin/env python3
"""cors_demo: watch Cross-Origin Resource Sharing happen.

usage: python cors_demo.py [--host HOST] [--port PORT] [--playground-port PORT]
                           [--other-port PORT] [--allow-origin ORIGIN]...
                           [--no-default-origins] [--max-age SECONDS]
                           [--max-connections N] [--quiet]
       python cors_demo.py check URL --origin ORIGIN [options]   (check --help for them)
       python cors_demo.py --version | --help

One process, three origins. The API answers the lesson's endpoints. The
playground, on the next port, serves a page that calls the API cross-origin,
and /log: every API request as the server saw it, preflights included, with a
verdict on what a browser does with the response and why. The other origin, on
the port after, serves /frame: a page on no allow-list, which the playground
embeds to show what another site can and cannot do.

  API           http://127.0.0.1:8000
  playground    http://127.0.0.1:8001   open it in a browser: every experiment of the
                                        lesson, run by the browser; the log is at /log.
                                        ?api=URL if the API has another public URL;
                                        ?autorun=1 runs them all and reports here.
  other origin  http://127.0.0.1:8002   /frame, driven by the playground

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
  --other-port PORT       the other origin's port (default: API port + 2; 0 = any free port)
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

check: why is my request blocked, and what do I change? For any http(s) URL, does
what a browser does for fetch(URL, {mode: 'cors', ...}) from a page on ORIGIN,
and prints each exchange, every failed check with Chrome's console message, the
headers to change (--framework NAME: in express, fastapi, flask, django, spring,
aspnet or nginx), and dangerous set-ups. Exit status: 0 readable, 1 blocked,
2 could not ask. python cors_demo.py check --help lists its options.

A teaching server, not a production CORS layer: it reflects, logs and explains
what production code should do quietly.
"""

# How to read this file: Part 1 is the lesson (what the API sends and why, its
# routes, and the playground's experiments as data); Part 2 is what a browser
# does with it (the verdict, and check); Part 3 is the machinery that serves it
# (the log, http.server underneath, the command line); the appendix is the page.

if __name__ == "__main__":    # Ctrl-C ends the demo from its first instant, even where
    import signal             # the shell started it with Ctrl-C ignored (main() takes over)
    signal.signal(signal.SIGINT, signal.SIG_DFL)

import argparse
import base64
import collections
import errno
import hashlib
import http.client
import http.server
import io
import ipaddress
import itertools
import json
import math
import os
import re
import secrets
import select
import shlex
import signal
import socket
import ssl
import struct
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
    "ROUTES", "LESSON", "PARTS", "dispatch", "listed_origin_headers", "data_preflight_headers",
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
    """OPTIONS *: the methods the routes name (and /cors and /redirect take any)."""
    methods = {method: None for route in ROUTES.values() for method in allowed_methods(route).split(", ")}
    return HTTPStatus.NO_CONTENT, {"Allow": ", ".join(method for method in methods if method != ANY)}, b""


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
# (an engine, "Chromium" or "Firefox"; "cross-site" when the page's host and the
# API's differ; "shared" when someone else's run emptied /data in between): what
# else is accepted then, and the note the card shows.

PARTS = {"classic": "The classic lesson",
         "real-life": "What goes wrong in real life",
         "other-origin": "What another origin can do"}


def call(path, *arrives, init=None, runs_in="page", readable=True, **expect):
    """One fetch of an experiment. expect: reads {header: readable?}, cookie (a
    cookie name the server should see), body_has (text the body should hold),
    status (what the server answered the last request), known."""
    return {"path": path, "init": init or {}, "runs_in": runs_in, "readable": readable,
            "arrives": list(arrives), **expect}


CROSS_SITE_COOKIE = {"cross-site": {
    "accept": [{"cookie": None}],
    "note": "This page and the API are on two different sites (their host names differ), and "
            f"the {COOKIE_NAME} cookie is SameSite=Lax: a browser neither sets nor sends it on a "
            "cross-site fetch. A cookie meant for cross-site requests needs SameSite=None; Secure, "
            "and Secure needs https."}}

# Seen in both engines, against the standard; check and the log say it too.
ENGINES_ON_AUTHORIZATION = "Chromium 156 and Firefox 153 let * cover it anyway"
AUTHORIZATION_KNOWN = {engine: {
    "accept": [{"readable": True, "arrives": ["OPTIONS /cors", "GET /cors"]}],
    "note": f"The standard says this read is blocked; {ENGINES_ON_AUTHORIZATION} (seen in "
            "both): they send the GET, and the page reads it. Name Authorization in "
            "Access-Control-Allow-Headers, and every browser agrees."}
    for engine in ("Chromium", "Firefox")}

SHARED_NOTES = {"shared": {
    "accept": [{"body_has": None}],
    "note": "Someone else using this server emptied /data between the two calls (the log shows "
            "their DELETE): the 201 the server answered says the note was stored."}}


LESSON = [
    # ---- the classic lesson
    {"id": "bare", "part": "classic", "title": "No CORS headers",
     "tries": "GET / from this page. The API answers 200 with JSON, and no CORS header at all.",
     "why": "The request reaches the server and it answers, but without Access-Control-Allow-Origin "
            "the browser keeps the response from the page: fetch rejects with a TypeError. "
            "CORS guards reading, not sending.",
     "calls": [call("/", "GET /", readable=False)]},
    {"id": "allow-cors", "part": "classic", "title": "Access-Control-Allow-Origin: *",
     "tries": "GET /allow-cors. The response says Access-Control-Allow-Origin: *.",
     "why": "* lets a page on any origin read a response to a request sent without credentials.",
     "calls": [call("/allow-cors", "GET /allow-cors")]},
    {"id": "allow-origin", "part": "classic", "title": "One origin, and it is this page's",
     "tries": "GET /allow-origin. The API echoes the Origin header when it is on its allow-list.",
     "why": "The browser compares Access-Control-Allow-Origin with this page's origin, byte for "
            "byte; they match, so the page reads the answer. The API also says Vary: Origin, "
            "because its answer depends on who asks.",
     "calls": [call("/allow-origin", "GET /allow-origin")]},
    {"id": "wrong-origin", "part": "classic", "title": "One origin, and it is someone else's",
     "tries": "GET /cors?allow-origin=https://google.com: the response allows only https://google.com.",
     "why": "Access-Control-Allow-Origin names another origin, so the browser blocks the read, "
            "though the server answered 200.",
     "calls": [call("/cors?allow-origin=https://google.com", "GET /cors", readable=False)]},
    {"id": "credentials-star", "part": "classic", "title": "Credentials with *",
     "tries": "GET /allow-cors with credentials: 'include', so cookies go along.",
     "why": "* never covers a request with credentials: the server must name the origin and add "
            "Access-Control-Allow-Credentials: true. The browser blocks the read.",
     "calls": [call("/allow-cors", "GET /allow-cors", init={"credentials": "include"},
                    readable=False)]},
    {"id": "credentials", "part": "classic", "title": "Credentials done right",
     "tries": f"GET /allow-credentials twice, with credentials: 'include'. The answer sets a "
              f"cookie ({COOKIE_NAME}) if none came; the second request carries it.",
     "why": "The response names this origin and says Access-Control-Allow-Credentials: true, so "
            f"the page reads it and the browser keeps the cookie. The second body lists {COOKIE_NAME} "
            "among the cookies that arrived.",
     "calls": [call("/allow-credentials", "GET /allow-credentials", init={"credentials": "include"}),
               call("/allow-credentials", "GET /allow-credentials", init={"credentials": "include"},
                    cookie=COOKIE_NAME, known=CROSS_SITE_COOKIE)]},
    {"id": "delete", "part": "classic", "title": "DELETE: a preflight first",
     "tries": "DELETE /data. DELETE is not a simple method, so the browser first asks with OPTIONS.",
     "why": "The preflight's answer allows this origin and DELETE, so the browser then sends the "
            "DELETE and lets the page read the answer.",
     "calls": [call("/data", "OPTIONS /data", "DELETE /data", init={"method": "DELETE"})]},
    {"id": "post-json", "part": "classic", "title": "POST with JSON: a preflight too",
     "tries": "POST /data with Content-Type: application/json and a note.",
     "why": "POST is simple, but application/json is not one of the three form content types, so "
            "the browser asks first; the API allows Content-Type, and the note is stored.",
     "calls": [call("/data", "OPTIONS /data", "POST /data",
                    init={"method": "POST", "headers": {"Content-Type": "application/json"},
                          "body": '{"text": "hello from the playground"}'})]},
    {"id": "put", "part": "classic", "title": "PUT: refused by the preflight",
     "tries": "PUT /data. The preflight asks for PUT, which the API does not allow.",
     "why": "The preflight's answer has no Access-Control-Allow-* header, so the browser stops "
            "there: the PUT itself never leaves the browser. (curl -X PUT gets a 405: CORS is a "
            "rule browsers follow, not a lock on the server.)",
     "calls": [call("/data", "OPTIONS /data", init={"method": "PUT"}, readable=False)]},
    {"id": "header-allowed", "part": "classic", "title": "A custom header the API allows",
     "tries": "GET /data with the header X-Demo: 1.",
     "why": "X-Demo is not a safelisted header, so a preflight asks for it "
            "(Access-Control-Request-Headers: x-demo); the API allows it, then the GET goes.",
     "calls": [call("/data", "OPTIONS /data", "GET /data", init={"headers": {"X-Demo": "1"}})]},
    {"id": "header-refused", "part": "classic", "title": "A custom header the API refuses",
     "tries": "GET /data with the header X-Other: 1.",
     "why": "The preflight asks for x-other, which the API does not allow, so the GET is never sent.",
     "calls": [call("/data", "OPTIONS /data", init={"headers": {"X-Other": "1"}}, readable=False)]},
    {"id": "max-age", "part": "classic", "title": "Max-Age: ask once, then remember",
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
                        "note": "Firefox 153 may ask again: in a fresh profile on 127.0.0.1 it "
                                "was seen to drop the cached answer for the first repeated "
                                "requests after it started (on localhost it reused it). The "
                                "standard allows that."}})]},
    {"id": "expose", "part": "classic", "title": "An exposed and a hidden response header",
     "tries": f"GET /data, then read {EXPOSED_HEADER} and {HIDDEN_HEADER} from response.headers.",
     "why": "Script sees only the safelisted response headers and those listed in "
            f"Access-Control-Expose-Headers. {EXPOSED_HEADER} is listed; {HIDDEN_HEADER} is not, "
            "so it reads as null, though it arrived.",
     "calls": [call("/data", "GET /data", reads={EXPOSED_HEADER: True, HIDDEN_HEADER: False})]},

    # ---- what goes wrong in real life
    {"id": "no-cors", "part": "real-life", "title": "mode: 'no-cors': an answer nobody can open",
     "tries": "GET / with mode: 'no-cors'. The API sends no CORS header, as in the first experiment.",
     "why": "no-cors does not turn CORS off: it asks for an opaque response. fetch resolves, with "
            "no error, to a response of type 'opaque': status 0, no headers, an empty body, "
            "whatever the server sent. It suits what a page shows but never reads (an image, a "
            "cache entry); to read the data, the server must send CORS headers.",
     "calls": [call("/", "GET / (no Origin)", init={"mode": "no-cors"}, readable="opaque")]},
    {"id": "server-error", "part": "real-life", "title": "A server error without CORS headers",
     "tries": "GET /cors?status=500: the API fails with a 500 and, like many real error pages, "
              "sends no CORS header with it.",
     "why": "The CORS check applies to error responses too. With no Access-Control-Allow-Origin "
            "the page gets the same TypeError as for any CORS failure and never learns of the "
            "500; the console says \"blocked by CORS policy\". The real error is in the server's "
            "log (below). When a CORS error appears out of the blue, look at the server first, "
            "and send the CORS headers on error responses too.",
     "calls": [call("/cors?status=500", "GET /cors", readable=False, status=500)]},
    {"id": "lower-case-method", "part": "real-life", "title": "method: 'patch' is not PATCH",
     "tries": "PATCH /cors?allow-origin=*&allow-methods=PATCH twice: written method: 'patch', "
              "then method: 'PATCH'.",
     "why": "fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT. 'patch' is sent "
            "as written, so the preflight asks for patch, and methods are compared case by case: "
            "PATCH in Access-Control-Allow-Methods does not match it, and the browser stops. "
            "Written PATCH, it matches, and the PATCH goes.",
     "calls": [call("/cors?allow-origin=*&allow-methods=PATCH", "OPTIONS /cors",
                    init={"method": "patch"}, readable=False),
               call("/cors?allow-origin=*&allow-methods=PATCH", "OPTIONS /cors", "PATCH /cors",
                    init={"method": "PATCH"})]},
    {"id": "authorization-star", "part": "real-life",
     "title": "Authorization and Access-Control-Allow-Headers: *",
     "tries": "GET /cors?allow-origin=*&allow-headers=* with the header Authorization: Bearer "
              "demo-token.",
     "why": "Authorization is not safelisted, so a preflight asks for it. The Fetch standard says * "
            "in Access-Control-Allow-Headers covers every header name but Authorization, which "
            "must be named: a browser that follows it stops after the preflight. Browsers differ "
            "here; this card says what this one did.",
     "calls": [call("/cors?allow-origin=*&allow-headers=*", "OPTIONS /cors",
                    init={"headers": {"Authorization": "Bearer demo-token"}}, readable=False,
                    known=AUTHORIZATION_KNOWN)]},
    {"id": "redirect", "part": "real-life", "title": "A redirect with CORS headers",
     "tries": "GET /redirect?to=/allow-cors&allow-origin=*: a 302 to /allow-cors, and the redirect "
              "itself says Access-Control-Allow-Origin: *.",
     "why": "A redirect is a response too: the browser applies the CORS check to it before it "
            "follows it, then again to the answer at the end. Both pass, so the page reads "
            "/allow-cors's answer, and the server saw both requests.",
     "calls": [call("/redirect?to=/allow-cors&allow-origin=*", "GET /redirect", "GET /allow-cors")]},
    {"id": "redirect-without-cors", "part": "real-life", "title": "A redirect without CORS headers",
     "tries": "GET /redirect?to=/allow-cors: the same 302, with no CORS header on the redirect.",
     "why": "The browser checks the redirect before following it, finds no "
            "Access-Control-Allow-Origin, and stops: /allow-cors, whose answer the page could "
            "have read, is never asked. A redirect in front of an API (http to https, a missing "
            "trailing slash, a login page) needs CORS headers of its own; better, call the URL "
            "that does not redirect.",
     "calls": [call("/redirect?to=/allow-cors", "GET /redirect", readable=False)]},
    {"id": "redirect-preflight", "part": "real-life", "title": "A preflight answered with a redirect",
     "tries": "DELETE /redirect?to=/data&allow-origin=*. DELETE needs a preflight, and /redirect "
              "answers every method, OPTIONS included, with a 302.",
     "why": "A preflight needs an ok status (200-299); a browser never follows a preflight's "
            "redirect, whatever CORS headers it carries. The browser stops at the preflight, and "
            "the DELETE is never sent.",
     "calls": [call("/redirect?to=/data&allow-origin=*", "OPTIONS /redirect",
                    init={"method": "DELETE"}, readable=False)]},
    {"id": "redirect-other-origin", "part": "real-life",
     "title": "A redirect to another origin: Origin: null",
     "tries": "GET /redirect to the API under another host name (another origin): first to "
              "/allow-cors, which says *, then to /allow-origin, which trusts its allow-list.",
     "why": "After a redirect to another origin, a browser sends Origin: null: the request no "
            "longer comes from the page's origin alone (the Fetch standard's tainted origin). * "
            "still matches, so /allow-cors is readable. /allow-origin trusts listed origins only, "
            "and null is none of them: blocked. Trusting null would not help: any site can send "
            "it from a sandboxed frame (the last experiment).",
     "calls": [call("/redirect?to={api2}/allow-cors&allow-origin=*", "GET /redirect",
                    "GET /allow-cors (Origin: null)"),
               call("/redirect?to={api2}/allow-origin&allow-origin=*", "GET /redirect",
                    "GET /allow-origin (Origin: null)", readable=False)]},

    # ---- what another origin can do
    {"id": "other-origin-reads", "part": "other-origin",
     "title": "Another origin: * is for everyone, the allow-list is not",
     "tries": "From the other origin (the frame above, on no allow-list): GET /allow-cors, then "
              "GET /allow-origin.",
     "why": "* lets any origin read, so the other origin reads /allow-cors as this page does. "
            "/allow-origin answers it without Access-Control-Allow-Origin, and the browser "
            "blocks the read. Same browser, same user: only the page's origin differs.",
     "calls": [call("/allow-cors", "GET /allow-cors", runs_in="other"),
               call("/allow-origin", "GET /allow-origin", runs_in="other", readable=False)]},
    {"id": "other-origin-writes", "part": "other-origin",
     "title": "CORS is not access control: a POST from another origin",
     "tries": "From the other origin: POST /data with Content-Type: text/plain and a note. Then "
              "this page lists /data.",
     "why": "text/plain is one of the three form content types, so no preflight: the POST "
            "reaches the server, which stores the note and answers 201. The browser keeps that "
            "answer from the other origin, but the note is stored, and this page lists it. CORS "
            "decides who may read a response, not who may send a request: protect what changes "
            "state with authentication and CSRF defences, or accept only requests that need a "
            "preflight (application/json).",
     "calls": [call("/data", "POST /data", runs_in="other", readable=False, status=201,
                    init={"method": "POST", "headers": {"Content-Type": "text/plain"},
                          "body": '{"text": "posted from another origin, run {run}"}'}),
               call("/data", "GET /data", body_has="posted from another origin, run {run}",
                    known=SHARED_NOTES)]},
    {"id": "reflected-origin", "part": "other-origin",
     "title": "Reflecting any origin, with credentials: the classic hole",
     "tries": f"This page signs in to the API (GET /allow-credentials sets the {COOKIE_NAME} "
              "cookie); then the other origin fetches /cors?allow-origin=origin&allow-credentials="
              "true with credentials: 'include'.",
     "why": "A server that copies the request's Origin into Access-Control-Allow-Origin and adds "
            "Allow-Credentials: true passes the CORS check for every origin. The browser sends "
            "the visitor's cookie along, so any site the visitor opens can read what the API "
            f"says to them (the body lists {COOKIE_NAME}). Check the Origin against an exact "
            "list, as /allow-credentials does.",
     "calls": [call("/allow-credentials", "GET /allow-credentials", init={"credentials": "include"}),
               call("/cors?allow-origin=origin&allow-credentials=true", "GET /cors",
                    runs_in="other", init={"credentials": "include"}, cookie=COOKIE_NAME,
                    known=CROSS_SITE_COOKIE)]},
    {"id": "null-origin", "part": "other-origin", "title": "Origin: null, from a sandboxed frame",
     "tries": "From a sandboxed frame of the other origin (sandbox=\"allow-scripts\": its origin "
              "is opaque): GET /allow-origin, then GET /cors?allow-origin=null.",
     "why": "A sandboxed frame, a file:// page, and a request redirected to another origin all "
            "send Origin: null. /allow-origin does not trust null, so the read is blocked. A "
            "server that answers Access-Control-Allow-Origin: null lets the frame read, and any "
            "site can make such a frame: trusting null is trusting everyone.",
     "calls": [call("/allow-origin", "GET /allow-origin", runs_in="sandboxed", readable=False),
               call("/cors?allow-origin=null", "GET /cors", runs_in="sandboxed")]},
]


##############################################################################
# PART 2. WHAT A BROWSER DOES: the verdict, and check
##############################################################################
# What a browser does with a page's fetch(), in the Fetch standard's order: the
# request a page may make, the URL it goes to, whether a preflight comes first,
# the checks on each response, redirects, and which headers script may read.
# The log's verdict and `check` share all of it, and every sentence either of
# them says is written once, in "the words".

# ---------------------------------------------------------------- what a page may send

FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})    # fetch() throws a TypeError
NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})  # upper-cased
FORBIDDEN_REQUEST_HEADERS = frozenset({   # the browser's to set: fetch() drops them silently
    "accept-charset", "accept-encoding", "access-control-request-headers",
    "access-control-request-method", "access-control-request-private-network", "connection",
    "content-length", "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive",
    "origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via"})
METHOD_OVERRIDE_HEADERS = frozenset({"x-http-method", "x-http-method-override", "x-method-override"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
UNSAFE_VALUE_BYTES = re.compile(r'[\x00-\x08\x0a-\x1f"():<>?@\[\\\]{}\x7f]')
LANGUAGE_VALUE = re.compile(r"[0-9A-Za-z *,\-.;=]*")
BYTE_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]*)")
SAFELISTED_VALUE_SIZE = 128       # bytes, for each safelisted value...
SAFELISTED_TOTAL_SIZE = 1024      # ...and for all of them together: past that, none is safelisted
# Client hints that Chromium sends without a preflight (seen in Chromium 156), though
# the standard safelists none of them; Firefox 153 preflights them.
CHROMIUM_SAFELISTED_HINTS = {
    "device-memory": r"[0-9]+(\.[0-9]+)?", "dpr": r"[0-9]+(\.[0-9]+)?",
    "downlink": r"[0-9]+(\.[0-9]+)?", "ect": r"slow-2g|2g|3g|4g", "rtt": r"[0-9]+",
    "save-data": r"on", "viewport-width": r"[0-9]+", "width": r"[0-9]+"}


def normalize_method(method):
    """fetch() upper-cases the six methods it knows; any other keeps its case."""
    return method.upper() if method.upper() in NORMALIZED_METHODS else method


def is_forbidden_request_header(name, value):
    """A header script may not set: fetch() drops it without a word."""
    name = name.lower()
    if name in FORBIDDEN_REQUEST_HEADERS or name.startswith(("proxy-", "sec-")):
        return True
    if name in METHOD_OVERRIDE_HEADERS:    # only when it would smuggle a forbidden method
        return any(item.strip(" \t").upper() in FORBIDDEN_METHODS for item in value.split(","))
    return False


def mime_essence(value):
    """type/subtype of a Content-Type, lower case, as the MIME Sniffing standard
    parses it; None if it does not parse."""
    value = value.strip(" \t\r\n")
    kind, slash, rest = value.partition("/")
    subtype = rest.split(";", 1)[0].rstrip(" \t\r\n")
    if not slash or not TOKEN.fullmatch(kind) or not TOKEN.fullmatch(subtype):
        return None
    return f"{kind}/{subtype}".lower()


def is_byte_range(value):
    """Range: bytes=start-[end], one range, start <= end."""
    match = BYTE_RANGE.fullmatch(value)
    return match is not None and (not match.group(2) or int(match.group(1)) <= int(match.group(2)))


def is_safelisted_request_header(name, value):
    """Fetch's CORS-safelisted request-header: sent without a preflight."""
    if len(value.encode("latin-1", "replace")) > SAFELISTED_VALUE_SIZE:
        return False
    name = name.lower()
    if name == "accept":
        return not UNSAFE_VALUE_BYTES.search(value)
    if name in ("accept-language", "content-language"):
        return LANGUAGE_VALUE.fullmatch(value) is not None
    if name == "content-type":
        return not UNSAFE_VALUE_BYTES.search(value) and mime_essence(value) in FORM_TYPES
    if name == "range":
        return is_byte_range(value)
    return False


def unsafe_header_names(headers):
    """The names a preflight must ask about, lower case and sorted, as a browser
    sends them in Access-Control-Request-Headers."""
    unsafe, safelisted, size = set(), set(), 0
    for name, value in headers:
        if is_safelisted_request_header(name, value):
            safelisted.add(name.lower())
            size += len(value.encode("latin-1", "replace"))
        else:
            unsafe.add(name.lower())
    if size > SAFELISTED_TOTAL_SIZE:
        unsafe |= safelisted
    return sorted(unsafe)


def preflight_reason(method, headers):
    """Why a browser sends a preflight for this request, or None when it does not.
    headers: the (name, value) pairs script set."""
    if method not in SAFELISTED_METHODS:
        return f"{method} is not GET, HEAD or POST"
    names = unsafe_header_names(headers)
    if not names:
        return None
    reason = "request headers that are not CORS-safelisted: " + ", ".join(names)
    if "content-type" in names:
        reason += " (a Content-Type other than the three form types counts)"
    return reason


def chromium_skips_preflight_for(name, value):
    pattern = CHROMIUM_SAFELISTED_HINTS.get(name.lower())
    return pattern is not None and re.fullmatch(pattern, value) is not None


# ---------------------------------------------------------------- URLs, as a browser parses them
# The WHATWG URL Standard's parser for http(s) URLs: what fetch() and a redirect's
# Location become. Backslashes count as slashes, extra slashes before the host are
# skipped, dot segments are removed, and anything outside ASCII is percent-encoded.

SPECIAL_PORTS = {"http": 80, "https": 443}
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
C0_OR_SPACE = "".join(map(chr, range(0x21)))
FORBIDDEN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
PATH_ENCODE = frozenset(' "#<>?`{}')
QUERY_ENCODE = frozenset(" \"#<>'")
USERINFO_ENCODE = frozenset(' "#<>?`{}/:;=@[\\]^|')
SINGLE_DOT = frozenset({".", "%2e"})
DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


class URLError(ValueError):
    """A URL a browser's parser refuses; the message says why."""


class URL(NamedTuple):
    scheme: str
    username: str
    password: str
    host: str                # a domain, a dotted IPv4 address, or [IPv6]
    port: Optional[int]      # None: the scheme's default port
    path: str                # percent-encoded, starts with /
    query: Optional[str]     # without its ?; None when there is none

    @property
    def origin(self):
        return f"{self.scheme}://{self.netloc}"

    @property
    def netloc(self):
        """host[:port], as the Host header carries it."""
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def target(self):
        """The request target: path and query."""
        return self.path if self.query is None else f"{self.path}?{self.query}"

    @property
    def includes_credentials(self):
        return bool(self.username or self.password)

    def __str__(self):
        if self.scheme not in SPECIAL_PORTS:
            return f"{self.scheme}:{self.path}"
        userinfo = ""
        if self.includes_credentials:
            userinfo = self.username + (f":{self.password}" if self.password else "") + "@"
        return f"{self.scheme}://{userinfo}{self.netloc}{self.target}"


def percent_encode(text, unsafe):
    """Percent-encode C0 controls, DEL, anything outside ASCII (as UTF-8) and unsafe."""
    out = []
    for char in text:
        if char in unsafe or not " " <= char <= "~":
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        else:
            out.append(char)
    return "".join(out)


def parse_url(text, base=None):
    """text as a browser's URL parser reads it, relative to base (a URL or None).
    A scheme other than http(s) gives a URL with only its scheme and the rest."""
    text = re.sub(r"[\t\n\r]", "", text.strip(C0_OR_SPACE))
    match = SCHEME.match(text)
    if match:
        scheme, rest = match.group(1).lower(), text[match.end():]
        if scheme not in SPECIAL_PORTS:
            return URL(scheme, "", "", "", None, rest, None)
        if base is not None and base.scheme == scheme:
            return parse_relative(rest, base)      # "http:x" is relative to an http page
        return parse_authority(scheme, rest.lstrip("/\\"))
    if base is None:
        raise URLError("it is not an absolute URL")
    return parse_relative(text, base)


def parse_relative(text, base):
    if text[:2] in ("//", "\\\\", "/\\", "\\/"):
        return parse_authority(base.scheme, text.lstrip("/\\"))
    text = text.split("#", 1)[0]
    path, question, query = text.partition("?")
    query = encode_query(query) if question else None
    if not path:
        return base._replace(query=query if question else base.query)
    if path[0] not in "/\\":
        path = base.path.rsplit("/", 1)[0] + "/" + path
    return base._replace(path=normalize_path(path), query=query)


def parse_authority(scheme, text):
    end = len(text)
    for stop in "/\\?#":
        if stop in text:
            end = min(end, text.index(stop))
    authority, rest = text[:end], text[end:]
    username = password = ""
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        username, _, password = userinfo.partition(":")
        username = percent_encode(username, USERINFO_ENCODE)
        password = percent_encode(password, USERINFO_ENCODE)
    host, port = parse_host_port(authority, scheme)
    rest = rest.split("#", 1)[0]
    path, question, query = rest.partition("?")
    return URL(scheme, username, password, host, port, normalize_path(path or "/"),
               encode_query(query) if question else None)


def parse_host_port(text, scheme):
    if text.startswith("["):
        inner, bracket, after = text[1:].partition("]")
        if not bracket:
            raise URLError("its IPv6 address has no closing ]")
        host, port_text = "[" + parse_ipv6(inner) + "]", after
        if port_text and not port_text.startswith(":"):
            raise URLError(f"{text!r} is not host[:port]")
        port_text = port_text[1:]
        has_port = bool(after)
    else:
        name, colon, port_text = text.partition(":")
        host, has_port = parse_host(name), bool(colon)
    return host, parse_port(port_text, scheme) if has_port else None


def parse_port(text, scheme):
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise URLError(f"its port {text!r} is not a number")
    port = int(text)
    if port > 65535:
        raise URLError(f"its port {port} is above 65535")
    return None if port == SPECIAL_PORTS[scheme] else port


def parse_host(text):
    if not text:
        raise URLError("it has no host")
    try:
        name = urllib.parse.unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise URLError(f"its host {text!r} is not UTF-8")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLError(f"its host {text!r} is not a domain name")
    name = name.lower()
    if not name or FORBIDDEN_HOST.search(name):
        raise URLError(f"its host {text!r} holds a character no host may hold")
    labels = name.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if labels[-1] and (labels[-1].isdigit() or re.fullmatch(r"0[xX][0-9A-Fa-f]*", labels[-1])):
        return parse_ipv4(labels)
    return name


def ipv4_number(part):
    if re.fullmatch(r"0[xX][0-9A-Fa-f]*", part):
        return int(part[2:] or "0", 16)
    if re.fullmatch(r"0[0-7]+", part):
        return int(part, 8)
    if re.fullmatch(r"0|[1-9][0-9]*", part):
        return int(part)
    raise URLError(f"{part!r} is not a number in an IPv4 address")


def parse_ipv4(labels):
    """The WHATWG IPv4 parser: 127.1, 0x7f.0.0.1 and 2130706433 are all 127.0.0.1."""
    if len(labels) > 4:
        raise URLError("its IPv4 address has more than four parts")
    numbers = [ipv4_number(part) for part in labels]
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise URLError("its IPv4 address has a part out of range")
    address = numbers[-1] + sum(n * 256 ** (3 - i) for i, n in enumerate(numbers[:-1]))
    return ".".join(str(address >> shift & 255) for shift in (24, 16, 8, 0))


def parse_ipv6(text):
    """An IPv6 address serialized as the URL Standard does (the first longest run of
    zero pieces compressed, no dotted IPv4 tail)."""
    if "%" in text:
        raise URLError("an IPv6 address in a URL may not hold a zone (%)")
    try:
        packed = ipaddress.IPv6Address(text).packed
    except ValueError:
        raise URLError(f"[{text}] is not an IPv6 address")
    pieces = [packed[i] << 8 | packed[i + 1] for i in range(0, 16, 2)]
    best, best_length, start = None, 1, None
    for index, piece in enumerate(pieces + [1]):
        if piece == 0 and start is None:
            start = index
        elif piece != 0 and start is not None:
            if index - start > best_length:
                best, best_length = start, index - start
            start = None
    if best is None:
        return ":".join(f"{piece:x}" for piece in pieces)
    head = ":".join(f"{piece:x}" for piece in pieces[:best])
    tail = ":".join(f"{piece:x}" for piece in pieces[best + best_length:])
    return f"{head}::{tail}"


def normalize_path(path):
    """Split on / and \\, percent-encode, and resolve . and .. as the URL parser does."""
    segments = re.split(r"[/\\]", path)[1:]
    out = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        lower = segment.lower()
        if lower in DOUBLE_DOT:
            if out:
                out.pop()
            if last:
                out.append("")
        elif lower in SINGLE_DOT:
            if last:
                out.append("")
        else:
            out.append(percent_encode(segment, PATH_ENCODE))
    return "/" + "/".join(out)


def encode_query(query):
    return percent_encode(query, QUERY_ENCODE)


def location_url(value, base):
    """A Location header's value (its bytes as Latin-1) resolved against base. Bytes
    that are not UTF-8 are percent-encoded one by one, as Chromium does."""
    raw = value.encode("latin-1")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "".join(chr(byte) if byte < 0x80 else f"%{byte:02X}" for byte in raw)
    return parse_url(text, base)


def host_address(host):
    """An ipaddress object for an IP literal host, else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_potentially_trustworthy(url):
    """https, or a loopback host: what an https page may fetch without mixed content."""
    address = host_address(url.host)
    return (url.scheme == "https" or url.host == "localhost" or url.host.endswith(".localhost")
            or (address is not None and address.is_loopback))


LOCAL_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"))


def address_space(address):
    """Local Network Access's name for where an IP address is: loopback, local or public."""
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if any(address in network for network in LOCAL_NETWORKS if network.version == address.version):
        return "local"
    return "public"


# ---------------------------------------------------------------- the checks
# The checks a browser applies to a response, as functions of plain values. Each
# returns every check that fails, in the order Chrome reports them: Chrome shows
# the first; fix it, and it shows the next. A Failure names its check; its
# sentences are in "the words", below.

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20                # as fetch(): the 21st redirect is a network error
SAFELISTED_RESPONSE_HEADERS = ("cache-control", "content-language", "content-length",
                               "content-type", "expires", "last-modified", "pragma")


class Failure(NamedTuple):
    check: str           # a key of FAILURES
    response: str        # "preflight", "actual" or "redirect": which response must change
    values: dict         # what the sentences (and the fix) need


def get_header(headers, name):
    """Fetch's 'get': every value of name, joined by ', '; None if absent."""
    name = name.lower()
    values = [value.strip(" \t") for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


def header_values(headers, name):
    name = name.lower()
    return [value.strip(" \t") for key, value in headers if key.lower() == name]


def list_items(value):
    """The items of a comma-separated header value; empty items dropped."""
    return [item.strip(" \t") for item in (value or "").split(",") if item.strip(" \t")]


def header_list(headers, name):
    """Fetch's 'extract header list values' for Allow-Methods, Allow-Headers or
    Expose-Headers: the items, [] if absent, None if one is not a token."""
    items = list_items(get_header(headers, name))
    return items if all(TOKEN.fullmatch(item) for item in items) else None


def tokens_of(headers, name):
    """The items of a list header that are tokens (what a fix can keep)."""
    return [item for item in list_items(get_header(headers, name)) if TOKEN.fullmatch(item)]


def cors_failures(origin, credentials, headers, response="actual"):
    """The Fetch standard's CORS check, on one response: [] if it passes."""
    values = header_values(headers, "Access-Control-Allow-Origin")
    allow_origin = ", ".join(values)
    if not values:
        failures = [Failure("no-allow-origin", response, {})]
    elif len(values) > 1 or "," in allow_origin:
        failures = [Failure("several-allow-origins", response, {"value": allow_origin})]
    elif allow_origin == "*":
        if not credentials:
            return []
        failures = [Failure("star-with-credentials", response, {})]
    elif allow_origin != origin:
        failures = [Failure("origin-mismatch", response,
                            {"value": allow_origin, "hint": origin_hint(allow_origin, origin)})]
    else:
        failures = []
    if credentials:
        allow_credentials = get_header(headers, "Access-Control-Allow-Credentials")
        if allow_credentials is None:
            failures.append(Failure("credentials-missing", response, {}))
        elif allow_credentials != "true":
            failures.append(Failure("credentials-not-true", response, {"value": allow_credentials}))
    return failures


def origin_hint(allow_origin, origin):
    """The usual reason an Allow-Origin that is not '*' fails to match."""
    if origin == "null":
        return ""
    if allow_origin.rstrip("/") == origin:
        return " (an origin has no trailing slash)"
    if allow_origin.lower() == origin.lower():
        return " (origins are compared exactly, case included)"
    if allow_origin == "null":
        return " (null is the origin of sandboxed frames and file:// pages, not of this page)"
    try:
        allowed = parse_url(allow_origin)
    except URLError:
        return ""
    page = parse_url(origin)
    if allowed.host == page.host and allowed.scheme != page.scheme:
        return f" ({allowed.scheme} and {page.scheme} are different origins)"
    if allowed.host == page.host and allowed.port != page.port:
        return " (another port is another origin)"
    return ""


def preflight_failures(origin, method, names, credentials, status, headers):
    """The checks of a CORS-preflight fetch: [] if the browser goes on to send the
    actual request. names: the unsafe request header names it asked about."""
    failures = []
    location = get_header(headers, "Location")
    redirect = status in REDIRECTS and location is not None
    if redirect:     # Chrome says this first; the fix (an ok status) covers the status too
        failures.append(Failure("preflight-redirect", "preflight",
                                {"status": status, "location": location}))
    failures += cors_failures(origin, credentials, headers, "preflight")
    if not redirect and not 200 <= status <= 299:
        failures.append(Failure("preflight-status", "preflight", {"status": status}))
    methods_value = get_header(headers, "Access-Control-Allow-Methods")
    headers_value = get_header(headers, "Access-Control-Allow-Headers")
    if header_list(headers, "Access-Control-Allow-Methods") is None:
        failures.append(Failure("methods-unparsable", "preflight", {"value": methods_value}))
    if header_list(headers, "Access-Control-Allow-Headers") is None:
        failures.append(Failure("headers-unparsable", "preflight", {"value": headers_value}))
    methods = tokens_of(headers, "Access-Control-Allow-Methods")
    if method_refused(method, methods, credentials):
        failures.append(Failure("method-not-allowed", "preflight",
                                {"method": method, "listed": ", ".join(methods) or "none",
                                 "hint": method_hint(method, methods, credentials)}))
    allowed = tokens_of(headers, "Access-Control-Allow-Headers")
    for name in refused_header_names(names, allowed, credentials):
        failures.append(Failure("header-not-allowed", "preflight",
                                {"name": name, "listed": ", ".join(allowed) or "none",
                                 "hint": header_hint(name, allowed, credentials)}))
    return failures


def method_refused(method, methods, credentials):
    """Fetch: a method passes if listed (case-sensitively), safelisted, or under *
    without credentials."""
    if method in methods or method in SAFELISTED_METHODS:
        return False
    return credentials or "*" not in methods


def refused_header_names(names, allowed, credentials):
    """The request's unsafe header names the preflight does not allow: listed names
    match case-insensitively; * covers any but Authorization, and only without
    credentials."""
    lower = {name.lower() for name in allowed}
    wildcard = "*" in lower and not credentials
    return [name for name in names
            if name not in lower and not (wildcard and name != "authorization")]


def method_hint(method, methods, credentials):
    if method.upper() in methods and method != method.upper():
        return (f" (fetch() sends {method} as written: it upper-cases only DELETE, GET, HEAD,"
                " OPTIONS, POST and PUT, and methods are compared case by case)")
    if any(item.upper() == method.upper() for item in methods):
        return " (methods are compared case by case)"
    if "*" in methods and credentials:
        return " (* does not cover a request with credentials: name the method)"
    return ""


def header_hint(name, allowed, credentials):
    if "*" not in allowed:
        return ""
    if name == "authorization":
        return f" (* never covers Authorization: name it; {AUTHORIZATION_UNDER_STAR})"
    if credentials:
        return " (* does not cover a request with credentials: name the header)"
    return ""


def readable_headers(headers, credentials):
    """The response header names script can read: the safelisted ones and those in
    Access-Control-Expose-Headers (* means all, but only without credentials)."""
    exposed = {name.lower() for name in header_list(headers, "Access-Control-Expose-Headers") or []}
    everything = "*" in exposed and not credentials
    readable = []
    for name, _ in headers:
        lower = name.lower()
        if lower in readable or lower in ("set-cookie", "set-cookie2"):
            continue
        if everything or lower in SAFELISTED_RESPONSE_HEADERS or lower in exposed:
            readable.append(lower)
    return readable


NOT_FOR_SCRIPT = ("set-cookie", "set-cookie2", "connection", "keep-alive", "transfer-encoding",
                  "trailer", "upgrade", "proxy-connection")


def unreadable_headers(headers, credentials):
    """Header names that arrived but script cannot read, and could if exposed
    (Set-Cookie never can; the connection's own headers and CORS's are left out)."""
    readable = readable_headers(headers, credentials)
    names = []
    for name, _ in headers:
        lower = name.lower()
        if (lower in readable or lower in names or lower in NOT_FOR_SCRIPT
                or lower.startswith("access-control-")):
            continue
        names.append(lower)
    return names


# ---------------------------------------------------------------- the words
# Every sentence the verdict and check say, once. A failed check has two: what
# went wrong in plain words, and what Chrome's console says (captured from
# Chromium 156; None where Chrome logs only a network error).

READABLE = "a browser lets the page read this"
PREFLIGHT_PASSED = "preflight passed: a browser now sends the {method} request"
REDIRECT_FOLLOWED = "the redirect passed the CORS check: a browser follows it to {location}"
SAME_ORIGIN = "a same-origin request: CORS does not apply, and the page reads the response"
SAME_ORIGIN_REDIRECT = "a same-origin redirect: a browser follows it to {location}"
NO_ORIGIN = "no Origin: not a cross-origin request from a page's script, so CORS does not apply"
OPAQUE = ("Sec-Fetch-Mode: no-cors: the page gets an opaque response (status 0, no body, "
          "no headers), whatever the CORS headers say")
NOT_CORS_MODE = "Sec-Fetch-Mode: {mode}: not a fetch() from script, so CORS does not apply"
NULL_ORIGIN = ("Origin: null is sent by a sandboxed frame, a file:// page, or a request that a "
               "redirect took to another origin")
NEVER_SENT = "; the {method} is never sent"
SENT_NULL_HINT = " (after a redirect to another origin, a browser sends Origin: null)"
AUTHORIZATION_UNDER_STAR = ENGINES_ON_AUTHORIZATION + "; the standard, and check, do not"
RESPONSE_NAMES = {"preflight": "the preflight response", "actual": "the response",
                  "redirect": "the redirect response"}

FAILURES = {
    # check: (plain words, Chrome's console message)
    "no-allow-origin": (
        "{response} has no Access-Control-Allow-Origin header",
        "No 'Access-Control-Allow-Origin' header is present on the requested resource."),
    "several-allow-origins": (
        "{response} has Access-Control-Allow-Origin: {value}; it may hold one origin, "
        "and here it holds several",
        "The 'Access-Control-Allow-Origin' header contains multiple values '{value}', but only "
        "one is allowed. Have the server send the header with a valid value."),
    "star-with-credentials": (
        "{response} has Access-Control-Allow-Origin: *, and * does not cover a request with "
        "credentials",
        "The value of the 'Access-Control-Allow-Origin' header in the response must not be the "
        "wildcard '*' when the request's credentials mode is 'include'."),
    "origin-mismatch": (
        "{response} has Access-Control-Allow-Origin: {value} but the page is {origin}{hint}",
        "The 'Access-Control-Allow-Origin' header has a value '{value}' that is not equal to the "
        "supplied origin. Have the server send the header with a valid value."),
    "credentials-missing": (
        "{response} has no Access-Control-Allow-Credentials: true, which credentials need",
        "The value of the 'Access-Control-Allow-Credentials' header in the response is '' which "
        "must be 'true' when the request's credentials mode is 'include'."),
    "credentials-not-true": (
        "{response} has Access-Control-Allow-Credentials: {value}, and only the exact value "
        "true allows credentials",
        "The value of the 'Access-Control-Allow-Credentials' header in the response is '{value}' "
        "which must be 'true' when the request's credentials mode is 'include'."),
    "preflight-redirect": (
        "the preflight was answered with a redirect ({status} to {location}), and a browser "
        "never follows a preflight's redirect",
        "Redirect is not allowed for a preflight request."),
    "preflight-status": (
        "the preflight got status {status}; a preflight needs an ok status (200-299)",
        "It does not have HTTP ok status."),
    "methods-unparsable": (
        "the preflight's Access-Control-Allow-Methods ({value}) is not a list of methods",
        "Cannot parse Access-Control-Allow-Methods response header field in preflight response."),
    "headers-unparsable": (
        "the preflight's Access-Control-Allow-Headers ({value}) is not a list of header names",
        "Cannot parse Access-Control-Allow-Headers response header field in preflight response."),
    "method-not-allowed": (
        "{method} is not in the preflight's Access-Control-Allow-Methods ({listed}){hint}",
        "Method {method} is not allowed by Access-Control-Allow-Methods in preflight response."),
    "header-not-allowed": (
        "header {name} is not in the preflight's Access-Control-Allow-Headers ({listed}){hint}",
        "Request header field {name} is not allowed by Access-Control-Allow-Headers in preflight "
        "response."),
    "redirect-credentials": (
        "it redirects to a URL with a user name or password ({location}), which a CORS request "
        "may not follow",
        "Redirect location '' contains a username and password, which is disallowed for "
        "cross-origin requests."),
    "redirect-scheme": (
        "it redirects to {location}, which is not http(s)",
        "Cross origin requests are only supported for protocol schemes: chrome, "
        "chrome-experimental-site-token-provider, chrome-extension, chrome-untrusted, data, "
        "http, https, isolated-app."),
    "redirect-unparsable": (
        "it redirects to {location}, which a browser cannot parse as a URL: {why}", None),
    "too-many-redirects": (
        f"more than {MAX_REDIRECTS} redirects; a browser stops at the next", None),
    "mixed-content": (
        "an https page may not fetch {url}: plain http to a host that is not loopback is mixed "
        "content, blocked before CORS",
        "Mixed Content: The page at '{page}' was loaded over HTTPS, but requested an insecure "
        "resource '{url}'. This request has been blocked; the content must be served over HTTPS."),
}
ACCESS_CHECKS = frozenset({"no-allow-origin", "several-allow-origins", "star-with-credentials",
                           "origin-mismatch", "credentials-missing", "credentials-not-true"})
CHROME_NETWORK_ERRORS = {"redirect-unparsable": "net::ERR_INVALID_REDIRECT",
                         "too-many-redirects": "net::ERR_TOO_MANY_REDIRECTS"}


def failure_text(failure, origin, note=""):
    """A failed check in plain words; note is added to an Allow-Origin problem."""
    words = FAILURES[failure.check][0].format(response=RESPONSE_NAMES[failure.response],
                                              origin=origin, **failure.values)
    return words + (note if failure.check in ACCESS_CHECKS else "")


def console_text(failure, url, first_url, page):
    """What Chrome's console shows for this failure: the fetch at url, first made
    to first_url, from a page on page."""
    message = FAILURES[failure.check][1]
    if message is None:
        return f"Failed to load resource: {CHROME_NETWORK_ERRORS[failure.check]}"
    message = message.format(**{"url": url, "page": page, **failure.values})
    if failure.check == "mixed-content":
        return message
    if failure.response == "preflight" and (failure.check in ACCESS_CHECKS
                                            or failure.check.startswith("preflight-")):
        message = "Response to preflight request doesn't pass access control check: " + message
    redirected = f" (redirected from '{first_url}')" if url != first_url else ""
    return (f"Access to fetch at '{url}'{redirected} from origin '{page}' has been blocked by "
            f"CORS policy: {message}")


def blocked(failure, origin, never_sent=None, note=""):
    """The verdict for a request that a failed check stops."""
    text = "blocked: " + failure_text(failure, origin, note)
    return text + (NEVER_SENT.format(method=never_sent) if never_sent else "")


# ---------------------------------------------------------------- the verdict on one response
# What the server's log says of each API request it answered: a browser's verdict
# from the request's Origin, Sec-Fetch-* and Cookie, and all the response's headers.

class Verdict(NamedTuple):
    allowed: Optional[bool]   # None: CORS does not apply (no Origin, same-origin, no-cors...)
    text: str                 # READABLE, PREFLIGHT_PASSED, REDIRECT_FOLLOWED, "blocked: why"...
    with_credentials: Optional[str] = None   # the verdict with credentials, when unknown and different


def browser_verdict(origin, status, headers, credentials=None, preflight=None,
                    mode=None, site=None):
    """What a browser does with this response, as a Verdict.

    origin: the request's Origin, or None. headers: all the response's (name,
    value) pairs. preflight: None for an actual request, else (method, header
    names) that the preflight asked for. credentials: True or False, or None when
    unknown: then the verdict is for a fetch without credentials, and
    with_credentials says what credentials would change. mode and site: the
    request's Sec-Fetch-Mode and Sec-Fetch-Site."""
    if mode == "no-cors":
        return Verdict(None, OPAQUE)
    if origin is None:
        return Verdict(None, NO_ORIGIN)
    if mode not in (None, "cors"):
        return Verdict(None, NOT_CORS_MODE.format(mode=mode))
    if site == "same-origin":
        return Verdict(None, SAME_ORIGIN)
    verdict = response_verdict(origin, status, headers, bool(credentials), preflight)
    if credentials is None and verdict.allowed:
        with_credentials = response_verdict(origin, status, headers, True, preflight)
        if not with_credentials.allowed:
            verdict = verdict._replace(with_credentials=with_credentials.text)
    if origin == "null":
        verdict = verdict._replace(text=f"{verdict.text} ({NULL_ORIGIN})")
    return verdict


def response_verdict(origin, status, headers, credentials, preflight):
    if preflight:
        method, names = preflight
        failures = preflight_failures(origin, method, names, credentials, status, headers)
        if failures:
            return Verdict(False, blocked(failures[0], origin, never_sent=method))
        return Verdict(True, PREFLIGHT_PASSED.format(method=method))
    location = get_header(headers, "Location")
    redirect = status in REDIRECTS and location is not None
    failures = cors_failures(origin, credentials, headers, "redirect" if redirect else "actual")
    if failures:
        return Verdict(False, blocked(failures[0], origin))
    if redirect:
        return Verdict(True, REDIRECT_FOLLOWED.format(location=location))
    return Verdict(True, READABLE)


# ---------------------------------------------------------------- check: asking a server
# `python cors_demo.py check URL --origin ORIGIN ...` does what a page on ORIGIN
# doing fetch(URL, {mode: 'cors', ...}) makes a browser do, and says why, and
# what to change. First, the HTTP client: one exchange at a time, each bounded
# as a whole by --timeout, reading responses as Chromium does (any number of
# header lines up to 256 KiB in all, 1xx answers skipped), and reading no more
# of a body than the first bytes it shows.

CHECK_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
MAX_RESPONSE_HEAD = 256 * 1024    # Chromium's limit for a response's status line and headers
BODY_SHOWN = 200                  # bytes of a refused answer's body shown: servers say why there
BODY_WAIT = 1.0                   # seconds, at most, spent waiting for those bytes
USER_AGENT = f"cors_demo-check/{__version__}"


class CannotAsk(Exception):
    """The question could not be put, or got no answer: exit status 2."""


class Answer(NamedTuple):
    status: int
    reason: str
    headers: list            # (name, value) pairs, values as Latin-1 text
    body: Optional[bytes]    # its first bytes, when asked for
    address: object          # the ipaddress the answer came from


class Deadline:
    """The time one exchange has left, as a whole."""

    def __init__(self, seconds, where):
        self.seconds, self.where = seconds, where
        self.end = time.monotonic() + seconds

    def left(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise CannotAsk(f"{self.where} did not answer within {self.seconds:g} s")
        return left


def http_exchange(method, url, headers, body, timeout, tls, want_body=False):
    """One request on a new connection; its answer. CannotAsk if there is none in time."""
    port = url.port or SPECIAL_PORTS[url.scheme]
    host = url.host.strip("[]")
    where = f"{url.host}:{port}"
    deadline = Deadline(timeout, where)
    try:
        sock = socket.create_connection((host, port), timeout=deadline.left())
    except socket.gaierror:
        raise CannotAsk(f"cannot find the host {url.host}")
    except ConnectionRefusedError:
        raise CannotAsk(f"nothing listens at {where} (connection refused)")
    except (socket.timeout, TimeoutError):
        raise CannotAsk(f"{where} did not answer within {timeout:g} s")
    except OSError as error:
        raise CannotAsk(f"cannot connect to {where}: {error.strerror or error}")
    try:
        if url.scheme == "https":
            sock = tls_handshake(sock, host, tls, deadline)
        address = ipaddress.ip_address(sock.getpeername()[0])
        sock.settimeout(deadline.left())
        sock.sendall(request_bytes(method, url, headers, body))
        reader = Reader(sock, deadline)
        status, reason, received = read_response_head(reader, where)
        shown = None      # a body is read only to show why a server refused
        if want_body and not 200 <= status <= 299 and method != "HEAD" and status != 304:
            shown = read_body_start(reader, received)
        return Answer(status, reason, received, shown, address)
    except (socket.timeout, TimeoutError):
        raise CannotAsk(f"{where} did not answer within {timeout:g} s")
    except ssl.SSLCertVerificationError as error:
        raise CannotAsk(f"{where}'s certificate is not trusted: {error.verify_message} (a browser "
                        "refuses it too; --cacert FILE trusts a local CA, --insecure trusts any)")
    except ssl.SSLError as error:
        raise CannotAsk(f"no TLS with {where}: {error.reason or error}")
    except OSError as error:
        raise CannotAsk(f"{where} broke the connection: {error.strerror or error}")
    finally:
        sock.close()


def tls_handshake(sock, host, tls, deadline):
    """The TLS handshake, bounded by the deadline however slowly the server answers."""
    sock = tls.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    sock.setblocking(False)
    try:
        while True:
            try:
                sock.do_handshake()
                return sock
            except ssl.SSLWantReadError:
                select.select([sock], [], [], deadline.left())
            except ssl.SSLWantWriteError:
                select.select([], [sock], [], deadline.left())
    except BaseException:
        sock.close()       # the TLS socket owns the connection now
        raise


def request_bytes(method, url, headers, body):
    lines = [f"{method} {url.target} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


class Reader:
    """Bytes from a socket, each read bounded by what the deadline leaves."""

    def __init__(self, sock, deadline):
        self.sock, self.deadline, self.buffer = sock, deadline, b""

    def more(self, until=None):
        """Add what arrives before the deadline (or until, if sooner); False at the end."""
        end = self.deadline.end if until is None else min(until, self.deadline.end)
        left = end - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def take(self, count):
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data


RESPONSE_HEAD_END = re.compile(rb"\r?\n\r?\n")


def read_response_head(reader, where):
    """The status and headers of the final answer; 1xx answers are skipped."""
    while True:
        match = RESPONSE_HEAD_END.search(reader.buffer)
        while match is None:
            if len(reader.buffer) > MAX_RESPONSE_HEAD:
                raise CannotAsk(f"{where} sent more than {MAX_RESPONSE_HEAD // 1024} KiB of "
                                "headers; Chromium 156 gives up there too (ERR_RESPONSE_HEADERS_TOO_BIG; "
                                "Firefox 153 reads on)")
            if not reader.more():
                raise CannotAsk(f"{where} closed the connection without an answer")
            match = RESPONSE_HEAD_END.search(reader.buffer)
        head = reader.take(match.end())[:match.start()].decode("latin-1")
        status, reason, headers = parse_response_head(head, where)
        if not 100 <= status <= 199:
            return status, reason, headers


def parse_response_head(head, where):
    lines = re.split(r"\r?\n", head)
    match = re.fullmatch(r"HTTP/[0-9]\.[0-9] ([0-9]{3})(?: (.*))?", lines[0])
    if not match:
        raise CannotAsk(f"{where} did not answer in HTTP (its first line is {lines[0][:60]!r})")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:       # an obsolete folded line: one value
            name, value = headers.pop()
            headers.append((name, value + " " + line.strip(" \t")))
            continue
        name, colon, value = line.partition(":")
        if colon and TOKEN.fullmatch(name):
            headers.append((name, value.strip(" \t")))
    return int(match.group(1)), match.group(2) or "", headers


def read_body_start(reader, headers):
    """The first BODY_SHOWN bytes of the body, or what arrived of them within
    BODY_WAIT seconds; never an error: it is only a look at what the server said."""
    chunked = "chunked" in (get_header(headers, "Transfer-Encoding") or "").lower()
    length = get_header(headers, "Content-Length")
    wanted = min(int(length), BODY_SHOWN) if length and length.isdigit() else BODY_SHOWN
    until = time.monotonic() + BODY_WAIT
    try:
        while len(reader.buffer) < (BODY_SHOWN + 64 if chunked else wanted) and reader.more(until):
            pass
    except OSError:        # the time is up, or the server went away: show what came
        pass
    data = reader.buffer
    return dechunk(data)[:BODY_SHOWN] if chunked else data[:wanted]


def dechunk(data):
    """The data of the chunks that arrived whole (or in part) at the start of a chunked body."""
    out = b""
    while True:
        size_line, newline, rest = data.partition(b"\n")
        size = size_line.split(b";")[0].strip()
        if not newline or not re.fullmatch(rb"[0-9A-Fa-f]+", size) or int(size, 16) == 0:
            return out
        size = int(size, 16)
        out += rest[:size]
        if len(rest) <= size:
            return out
        data = rest[size:].lstrip(b"\r\n")


# ---------------------------------------------------------------- check: the request a page makes
# What fetch() itself does with the page's arguments before anything is sent:
# what it refuses (a TypeError: nothing is sent), what it drops without a word,
# and what it adds.

class PageRequest(NamedTuple):
    method: str
    headers: list              # (name, value) pairs script set, as fetch() keeps them
    body: Optional[bytes]
    cookie: Optional[str]      # the cookies that --header Cookie stands for
    notes: list                # what fetch() dropped, and why


def page_request(method, headers, credentials, body):
    """What fetch() keeps of the page's call; CannotAsk for what fetch() refuses."""
    if not TOKEN.fullmatch(method):
        raise CannotAsk(f"{method!r} is not a method: fetch() throws a TypeError")
    method = normalize_method(method)
    if method.upper() in FORBIDDEN_METHODS:
        raise CannotAsk(f"fetch() refuses the method {method} (a TypeError, nothing is sent)")
    if body is not None and method in ("GET", "HEAD"):
        raise CannotAsk(f"fetch() refuses a body with {method} (a TypeError, nothing is sent)")
    kept, notes, cookies = {}, [], []
    for name, value in headers:
        value = value.strip(" \t\r\n")        # fetch() trims a header value
        refusal = header_refusal(name, value)
        if refusal:
            raise CannotAsk(f"fetch() refuses the header {name!r}: {refusal} (a TypeError)")
        lower = name.lower()
        if lower == "cookie":
            cookies.append(value)
        elif is_forbidden_request_header(name, value):
            notes.append(f"{name} dropped: a page's script may not set it, so fetch() does not send it")
        elif lower in kept:                   # Headers.append: one header, values joined
            kept[lower] = (kept[lower][0], f"{kept[lower][1]}, {value}")
        else:
            kept[lower] = (name, value)
    kept = list(kept.values())
    if body is not None and "content-type" not in {name.lower() for name, _ in kept}:
        kept.append(("Content-Type", "text/plain;charset=UTF-8"))   # what fetch() adds to a string
    return PageRequest(method, kept, None if body is None else body.encode("utf-8"),
                       "; ".join(cookies) or None, notes)


def header_refusal(name, value):
    if not TOKEN.fullmatch(name):
        return "not a header name"
    if CONTROL_OR_BREAK.search(value):
        return "its value holds NUL, CR or LF"
    if any(ord(char) > 0xFF for char in value):
        return "its value has a character beyond U+00FF (not a ByteString)"
    return None


def request_notes(request, credentials, url):
    """What the page's request means that a reader might not expect."""
    notes = list(request.notes)
    if request.cookie is not None:
        notes.append(f"Cookie stands for the cookies a browser holds for {url.host}: sent with "
                     "credentials (--credentials, or a same-origin request), and never to "
                     "another host")
    for name, value in request.headers:
        if name.lower() == "user-agent":
            notes.append("User-Agent: the standard lets script set it, so check sends it (and it "
                         "needs a preflight); Chromium 156 ignores it and sends its own, with no "
                         "preflight for it; Firefox 153 sends it, with a preflight")
        elif chromium_skips_preflight_for(name, value):
            notes.append(f"{name}: a client hint; the standard needs a preflight for it, and so "
                         "does Firefox 153, but Chromium 156 sends it without one")
    return notes


# ---------------------------------------------------------------- check: the walk
# Fetch's main fetch, HTTP fetch and HTTP-redirect fetch, with the server's real
# answers: same-origin requests are plain fetches; a cross-origin one gets a
# preflight when it needs one, then the CORS check on every response, redirects
# included. A redirect to another origin taints the Origin to null and drops
# Authorization; cookies go only to the host they belong to.

BODY_HEADERS = ("content-encoding", "content-language", "content-location", "content-type")


class Hop(NamedTuple):
    """One URL of the walk, and what the browser sends there."""
    url: object                # URL
    method: str
    headers: list              # the page's headers still sent
    body: Optional[bytes]
    origin: str                # the Origin sent: the page's, or null once tainted
    cors: bool                 # response tainting "cors": the CORS check applies


def check(url, origin, method="GET", headers=(), credentials=False, body=None,
          timeout=CHECK_TIMEOUT, tls=None, on_exchange=None):
    """Ask url what a browser would, for a page on origin: the report, a dict.
    on_exchange(report, exchange) is called once before anything is sent, with
    exchange None, then as each exchange ends (to print it). CannotAsk when the
    question cannot be put or gets no answer."""
    page = page_origin(origin)
    first = request_url(url)
    request = page_request(method, list(headers), credentials, body)
    report = {"url": str(first), "origin": page, "method": request.method,
              "headers": request.headers, "body": body, "credentials": credentials,
              "same_origin": first.origin == page,
              "preflight": None if first.origin == page else preflight_reason(request.method,
                                                                               request.headers),
              "notes": origin_notes(origin, page) + request_notes(request, credentials, first),
              "exchanges": [],
              "allowed": False, "verdict": None, "failures": [], "fixes": [], "traps": [],
              "warnings": [], "engines": [], "readable_headers": None,
              "unreadable_headers": None, "probe": None}
    ask = Asker(report, page, request.cookie, first.host, credentials, timeout,
                tls or ssl.create_default_context(), on_exchange)
    ask.on_exchange(report, None)         # what is asked, said before the network is
    try:
        walk(ask, Hop(first, request.method, request.headers, request.body, page,
                      first.origin != page))
    except CannotAsk as error:
        report["allowed"], report["verdict"] = None, f"could not ask: {error}"
        return report
    try:
        probe(ask, report)
    except CannotAsk as error:
        report["notes"].append(f"the request with a made-up origin got no answer: {error}")
    report["warnings"] += answer_warnings(report)
    return report


def page_origin(text):
    """The page's origin as a browser serializes it (lower case, no default port)."""
    if text == "null":
        return text
    try:
        url = parse_url(text)
    except URLError as error:
        raise CannotAsk(f"{text!r} is not an origin: {error}")
    if (url.scheme not in SPECIAL_PORTS or url.includes_credentials
            or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/\\?#@]+", text)):
        raise CannotAsk(f"{text!r} is not an origin: write scheme://host[:port], with no path "
                        "(not even a trailing slash), or null")
    return url.origin


def origin_notes(given, page):
    if given == page:
        return []
    return [f"the page's origin is {page}: a browser writes it so, and Access-Control-Allow-Origin "
            "must match it exactly"]


def request_url(text):
    """The URL fetch() would request; CannotAsk for what fetch() refuses."""
    try:
        url = parse_url(text)
    except URLError as error:
        raise CannotAsk(f"{text!r} is not a URL a browser can parse: {error}")
    if url.scheme not in SPECIAL_PORTS:
        raise CannotAsk(f"{text!r} is not an http:// or https:// URL")
    if url.includes_credentials:
        raise CannotAsk("fetch() refuses a URL with a user name or password (a TypeError, "
                        "nothing is sent); send credentials in a header instead")
    return url


class Asker:
    """Sends the walk's requests and keeps the report: each exchange, each failure."""

    def __init__(self, report, page, cookie, cookie_host, credentials, timeout, tls, on_exchange):
        self.report, self.page, self.cookie, self.cookie_host = report, page, cookie, cookie_host
        self.credentials, self.timeout, self.tls = credentials, timeout, tls
        self.on_exchange = on_exchange or (lambda report, exchange: None)
        self.first_url = report["url"]
        self.page_space = origin_space(page)

    def send(self, kind, method, url, headers, body=None, want_body=False):
        """One exchange, recorded in the report (but for the probe)."""
        if body is not None:
            headers = headers + [("Content-Length", str(len(body)))]   # as a browser adds it
        answer = http_exchange(method, url, headers, body, self.timeout, self.tls, want_body)
        exchange = {"kind": kind, "method": method, "url": str(url), "request_headers": headers,
                    "status": answer.status, "reason": answer.reason,
                    "response_headers": answer.headers,
                    "body": None if answer.body is None else answer.body.decode("utf-8", "replace"),
                    "verdict": None}
        self.note_local_network(url, answer.address)
        if kind != "probe":
            self.report["exchanges"].append(exchange)
        return exchange

    def said(self, exchange, verdict):
        """An exchange is over: its verdict, and the report's listener hears of it."""
        exchange["verdict"] = verdict
        self.on_exchange(self.report, exchange)

    def fail(self, exchange, failures, hop, never_sent=None):
        """The walk stops here: every failed check, the verdict, and the fixes."""
        report = self.report
        note = SENT_NULL_HINT if hop.origin == "null" != self.page else ""
        report["verdict"] = blocked(failures[0], hop.origin, never_sent, note)
        for failure in failures:
            text = failure_text(failure, hop.origin, note)
            report["failures"].append({
                "response": failure.response, "check": failure.check, "text": text,
                "console": console_text(failure, str(hop.url), self.first_url, self.page)})
            if AUTHORIZATION_UNDER_STAR in text:
                self.engine("Access-Control-Allow-Headers: * and Authorization: "
                            + AUTHORIZATION_UNDER_STAR)
        received = exchange["response_headers"] if exchange else []
        if hop.origin == "null" and self.credentials and failures[0].check in ACCESS_CHECKS:
            tainted = self.page != "null"
            add_trap(report, "null-with-credentials",
                     why=" (the redirect took the request to another origin)" if tainted else "",
                     instead=f" Call {hop.url} directly, so that the page's own origin arrives."
                     if tainted else "")
            failures = [f for f in failures if f.check not in ACCESS_CHECKS]
        report["fixes"] += fixes_for(failures, hop, self.credentials, received,
                                     lambda failure: failure_text(failure, hop.origin, note))
        if exchange is not None:
            self.said(exchange, report["verdict"])
        return report

    def engine(self, text):
        if text not in self.report["engines"]:
            self.report["engines"].append(text)

    def cookie_for(self, url, credentials):
        """The Cookie header a browser sends to url, if any."""
        if self.cookie is None or not credentials or url.host != self.cookie_host:
            return []
        return [("Cookie", self.cookie)]

    def note_local_network(self, url, address):
        """Chrome's Local Network Access: a page calling a more private address."""
        space = address_space(address)
        if self.page == "null" or ADDRESS_SPACES.index(space) <= ADDRESS_SPACES.index(self.page_space):
            return          # (a null origin's address space is its creator's: unknown here)
        if is_secure_origin(self.page):
            said = f"Permission was denied for this request to access the `{space}` address space."
            how = "asks the user for permission first (Local Network Access); if they refuse"
        else:
            said = (f"The request client is not a secure context and the resource is in "
                    f"more-private address space `{space}`.")
            how = "blocks it outright: a page that is not https may not call a private address"
        self.engine(f"Local Network Access: a page on {self.page} ({self.page_space}) calling "
                    f"{url.host} ({space} address {address}): Chrome {how}, its console says: "
                    f"Access to fetch at '{url}' from origin '{self.page}' has been blocked by "
                    f"CORS policy: {said}")


ADDRESS_SPACES = ("public", "local", "loopback")    # from the least private


def origin_space(origin):
    """Where a page's origin lives, as far as its name says: a name is taken as public."""
    if origin == "null":
        return None
    host = parse_url(origin).host
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    address = host_address(host)
    return "public" if address is None else address_space(address)


def is_secure_origin(origin):
    return origin != "null" and is_potentially_trustworthy(parse_url(origin))


def walk(ask, hop):
    """Follow the fetch from hop to its end: readable, or blocked."""
    redirects = 0
    while True:
        if ask.page.startswith("https:") and not is_potentially_trustworthy(hop.url):
            return ask.fail(None, [Failure("mixed-content", "actual", {"url": str(hop.url)})], hop)
        if hop.cors and needs_preflight(hop):
            if preflight(ask, hop) is not None:
                return ask.report
        exchange = actual_request(ask, hop)
        received = exchange["response_headers"]
        location = get_header(received, "Location")
        redirect = exchange["status"] in REDIRECTS and location is not None
        if hop.cors:
            failures = cors_failures(hop.origin, ask.credentials, received,
                                     "redirect" if redirect else "actual")
            if failures:
                ask.fail(exchange, failures, hop)
                return finish_blocked(ask, hop, exchange, redirect)
        if not redirect:
            return readable(ask, hop, exchange)
        next_hop, failure = follow(ask, hop, exchange, location, redirects)
        if failure:
            return ask.fail(exchange, [failure], hop)
        hop, redirects = next_hop, redirects + 1


def needs_preflight(hop):
    return hop.method not in SAFELISTED_METHODS or bool(unsafe_header_names(hop.headers))


def preflight(ask, hop):
    """The CORS-preflight fetch: None if it passes, else the report, blocked."""
    names = unsafe_header_names(hop.headers)
    headers = [("Origin", hop.origin), ("Access-Control-Request-Method", hop.method)]
    if names:
        headers.append(("Access-Control-Request-Headers", ",".join(names)))
    headers += BROWSER_HEADERS
    exchange = ask.send("preflight", "OPTIONS", hop.url, headers, want_body=True)
    failures = preflight_failures(hop.origin, hop.method, names, ask.credentials,
                                  exchange["status"], exchange["response_headers"])
    if not failures:
        ask.said(exchange, PREFLIGHT_PASSED.format(method=hop.method))
        return None
    ask.fail(exchange, failures, hop, never_sent=hop.method)
    origin_trap(ask.report, exchange, hop.origin)
    ask.report["fixes"] += unseen_fixes(hop, ask.credentials, False,
                                        f"a browser has not sent the {hop.method} yet: once the "
                                        "preflight passes, its response needs this too")
    if exchange["status"] in (401, 403, 407):
        add_trap(ask.report, "auth-before-cors", status=exchange["status"])
    if failures[0].check == "preflight-redirect":
        add_trap(ask.report, "redirect", **redirect_trap(hop.url, failures[0].values["location"]))
    return ask.report


BROWSER_HEADERS = [("Accept", "*/*"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty"),
                   ("User-Agent", USER_AGENT)]


def actual_request(ask, hop):
    """The request itself, with what the browser adds."""
    same_origin = not hop.cors
    headers = []
    if hop.cors or hop.method not in ("GET", "HEAD"):
        headers.append(("Origin", hop.origin))
    headers += hop.headers
    headers += ask.cookie_for(hop.url, ask.credentials or same_origin)
    headers += [pair for pair in BROWSER_HEADERS if not has_header(headers, pair[0])]
    return ask.send("request", hop.method, hop.url, headers, hop.body, want_body=True)


def readable(ask, hop, exchange):
    """The end of the walk: the page reads the response."""
    report = ask.report
    received = exchange["response_headers"]
    if hop.cors:
        report["readable_headers"] = readable_headers(received, ask.credentials)
        report["unreadable_headers"] = unreadable_headers(received, ask.credentials)
        if report["unreadable_headers"]:
            report["fixes"].append(expose_fix(received, report["unreadable_headers"]))
    else:        # a same-origin response: script reads every header but Set-Cookie
        report["readable_headers"] = readable_headers(
            received + [("Access-Control-Expose-Headers", "*")], False)
        report["unreadable_headers"] = []
    report["allowed"] = True
    report["verdict"] = READABLE if hop.cors else SAME_ORIGIN
    ask.said(exchange, report["verdict"])
    return report


def origin_trap(report, exchange, origin):
    """An answer with no Allow-Origin whose body says the origin was refused."""
    body = (exchange["body"] or "").lower()
    if report["failures"][0]["check"] == "no-allow-origin" and "origin" in body:
        add_trap(report, "origin-refused", origin=origin)


def finish_blocked(ask, hop, exchange, redirect):
    """Once the CORS check failed: the trap it shows, and what the responses a
    browser has not reached yet will need."""
    report = ask.report
    received = exchange["response_headers"]
    origin_trap(report, exchange, hop.origin)
    if redirect:
        location = get_header(received, "Location")
        add_trap(report, "redirect", **redirect_trap(hop.url, location))
        after, failure = redirect_hop(ask.page, hop, exchange["status"], location, 0)
        if after is not None:
            report["fixes"] += unseen_fixes(after, ask.credentials, True,
                                            f"once the redirect passes, a browser asks {after.url}; "
                                            "its answer needs this too")
        return report
    if exchange["status"] >= 400 and not header_values(received, "Access-Control-Allow-Origin"):
        add_trap(report, "error-without-cors", status=exchange["status"])
    report["unreadable_headers"] = unreadable_headers(received, ask.credentials)
    if report["unreadable_headers"]:
        report["fixes"].append(expose_fix(received, report["unreadable_headers"]))
    return report


def follow(ask, hop, exchange, location, redirects):
    """Fetch's HTTP-redirect fetch: the next hop, or the failure that stops it."""
    after, failure = redirect_hop(ask.page, hop, exchange["status"], location, redirects)
    if failure:
        return None, failure
    if has_header(hop.headers, "Authorization") and not has_header(after.headers, "Authorization"):
        ask.report["notes"].append(f"Authorization dropped at the redirect to {after.url.origin}: "
                                   "a browser never carries it to another origin")
    followed = REDIRECT_FOLLOWED if hop.cors else SAME_ORIGIN_REDIRECT
    ask.said(exchange, followed.format(location=after.url))
    return after, None


def has_header(headers, name):
    return any(key.lower() == name.lower() for key, _ in headers)


def redirect_hop(page, hop, status, location, redirects):
    """Where a redirect takes the fetch, as (Hop, None), or (None, the Failure)."""
    try:
        url = location_url(location, hop.url)
    except URLError as error:
        return None, Failure("redirect-unparsable", "redirect", {"location": location, "why": error})
    if url.scheme not in SPECIAL_PORTS:
        return None, Failure("redirect-scheme", "redirect", {"location": str(url)})
    if redirects == MAX_REDIRECTS:
        return None, Failure("too-many-redirects", "redirect", {})
    if url.includes_credentials and (hop.cors or url.origin != page):
        return None, Failure("redirect-credentials", "redirect", {"location": str(url)})
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method not in ("GET", "HEAD")) or (status in (301, 302) and method == "POST"):
        method, body = "GET", None            # as browsers turn these redirects into a GET
        headers = [pair for pair in headers if pair[0].lower() not in BODY_HEADERS]
    origin, cors = hop.origin, hop.cors or url.origin != page
    if url.origin != hop.url.origin:
        headers = [pair for pair in headers if pair[0].lower() != "authorization"]
        if hop.url.origin != page:
            origin = "null"                   # the tainted origin flag
    return Hop(url, method, headers, body, origin, cors), None


# ---------------------------------------------------------------- check: what to change
# For each failed check, the header(s) to set or remove, on which response, with
# the value this request needs: made to be applied literally. Values that several
# fixes touch (the method and header lists) are computed once, whole, so that
# applying every fix gives one consistent set of headers.

TRAPS = {
    "auth-before-cors": (
        "Authentication answered the preflight ({status}) before CORS ran. A preflight never "
        "carries credentials (no cookie, no Authorization): let OPTIONS requests through "
        "before authentication, or put the CORS layer in front of it."),
    "error-without-cors": (
        "An error response ({status}) without CORS headers: the page sees only a CORS error, "
        "which hides the real one. Send the CORS headers on error responses too."),
    "origin-refused": (
        "The server says it refused the origin: the list it checks must hold {origin} exactly "
        "as a browser writes it (scheme, host, port; no trailing slash, no path)."),
    "null-with-credentials": (
        "The browser sends Origin: null here{why}, and with credentials only "
        "Access-Control-Allow-Origin: null would pass, which any site can send (from a "
        "sandboxed iframe): no header makes this safe.{instead}"),
    "redirect": (
        "A redirect in front of the API ({what}): every response of the chain needs CORS "
        "headers, a preflight may not be redirected, and a redirect to another origin makes "
        "the browser send Origin: null. Call {target} directly."),
}


def add_trap(report, trap, **values):
    report["traps"].append({"trap": trap, "text": TRAPS[trap].format(**values)})


def redirect_trap(url, location):
    """What kind of redirect stands in front of the API, and where to call instead."""
    try:
        target = location_url(location, url)
    except URLError:
        return {"what": f"to {location}", "target": "the final URL"}
    if url.scheme == "http" and target.scheme == "https" and url.host == target.host:
        what = "http to https"
    elif target.origin == url.origin and target.path.rstrip("/") == url.path.rstrip("/"):
        what = "a trailing slash"
    else:
        what = f"to {target}"
    return {"what": what, "target": str(target)}


def fix(response, why, set_=None, remove=(), status=None):
    entry = {"response": response, "set": dict(set_ or {}), "remove": list(remove)}
    if status is not None:
        entry["status"] = status
    entry["why"] = why
    return entry


def allow_origin_value(origin, credentials):
    """The Access-Control-Allow-Origin that lets this request through, or None when
    the only one would be the dangerous null-with-credentials."""
    if origin != "null":
        return origin
    return None if credentials else "*"


def merged(existing, needed, same=str):
    """A list header's tokens, plus the needed items it lacks; same(item) is what
    two items must share to be one (methods: their exact text; names: lower case)."""
    items = list(dict.fromkeys(existing))
    for item in needed:
        if same(item) not in {same(other) for other in items}:
            items.append(item)
    return ", ".join(items)


def fixes_for(failures, hop, credentials, received, why):
    """The fixes for the failures of one response; why(failure) says why."""
    names = unsafe_header_names(hop.headers)
    allowed = tokens_of(received, "Access-Control-Allow-Headers")
    fixes = []
    for failure in failures:
        check, response = failure.check, failure.response
        if check in ("no-allow-origin", "several-allow-origins", "star-with-credentials",
                     "origin-mismatch"):
            value = allow_origin_value(hop.origin, credentials)
            if value is not None:
                fixes.append(fix(response, why(failure), {"Access-Control-Allow-Origin": value}))
        elif check in ("credentials-missing", "credentials-not-true"):
            fixes.append(fix(response, why(failure), {"Access-Control-Allow-Credentials": "true"}))
        elif check == "preflight-redirect":
            fixes.append(fix(response, why(failure), remove=["Location"], status=204))
        elif check == "preflight-status":
            fixes.append(fix(response, why(failure), status=204))
        elif check in ("methods-unparsable", "method-not-allowed"):
            value = merged(tokens_of(received, "Access-Control-Allow-Methods"), [hop.method])
            fixes.append(fix(response, why(failure), {"Access-Control-Allow-Methods": value}))
        elif check in ("headers-unparsable", "header-not-allowed"):
            refused = refused_header_names(names, allowed, credentials)
            value = merged(allowed, refused, str.lower)
            fixes.append(fix(response, why(failure), {"Access-Control-Allow-Headers": value}))
        elif check == "redirect-credentials":
            url = parse_url(failure.values["location"])
            fixes.append(fix(response, why(failure),
                             {"Location": str(url._replace(username="", password=""))}))
    return unique(fixes)


def unique(fixes):
    seen, kept = set(), []
    for entry in fixes:
        key = json.dumps({k: v for k, v in entry.items() if k != "why"}, sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept


def unseen_fixes(hop, credentials, with_preflight, why):
    """What the responses a browser has not asked for yet will need: the hop's
    preflight (if it needs one and with_preflight) and its actual response."""
    value = allow_origin_value(hop.origin, credentials)
    if value is None or not hop.cors:
        return []
    needs = {"Access-Control-Allow-Origin": value}
    if credentials:
        needs["Access-Control-Allow-Credentials"] = "true"
    fixes = []
    if with_preflight and needs_preflight(hop):
        preflight_needs = dict(needs)
        if hop.method not in SAFELISTED_METHODS:
            preflight_needs["Access-Control-Allow-Methods"] = hop.method
        names = unsafe_header_names(hop.headers)
        if names:
            preflight_needs["Access-Control-Allow-Headers"] = ", ".join(names)
        fixes.append(fix("preflight", why, preflight_needs))
    fixes.append(fix("actual", why, needs))
    return fixes


EXPOSE_WHY = "script cannot read these headers that arrived: "


def is_expose_fix(entry):
    """The fix that only lets script read more headers: it unblocks nothing."""
    return entry["why"].startswith(EXPOSE_WHY)


def expose_fix(received, unreadable):
    exposed = tokens_of(received, "Access-Control-Expose-Headers")
    value = merged([name for name in exposed if name != "*"], unreadable, str.lower)
    return fix("actual", EXPOSE_WHY + ", ".join(unreadable)
               + "; expose the ones the page reads (each one you leave out stays unreadable)",
               {"Access-Control-Expose-Headers": value})


# ---------------------------------------------------------------- check: the same fix, in a framework
# The configuration that sends those headers, in the option names of the server
# people actually run, with the order that matters. Each was tried against a real
# install (Express 5 + cors 2.8, Starlette 1.10, Flask 3.1 + flask-cors 6.0,
# Django 5.2 + django-cors-headers 4.9) with check and Chromium 156; Spring,
# ASP.NET Core and nginx are written from their documentation.

FRAMEWORKS = ("express", "fastapi", "flask", "django", "spring", "aspnet", "nginx")


class Needs(NamedTuple):
    """What the server's CORS configuration must allow for this request."""
    origin: Optional[str]      # None: no safe Allow-Origin exists (null with credentials)
    credentials: bool
    methods: list              # methods beyond GET, HEAD and POST
    headers: list              # request header names that need allowing
    expose: list               # response headers to expose
    errors: bool               # an error response came without CORS headers
    auth_first: bool           # authentication answered the preflight before CORS ran


def needs_of(report):
    """The Needs of a report: its request, and the Origin its fixes answer."""
    origin = report["origin"]
    for entry in report["fixes"]:
        origin = entry["set"].get("Access-Control-Allow-Origin", origin)
    method = report["method"]
    traps = {trap["trap"] for trap in report["traps"]}
    expose = report["unreadable_headers"] or []
    for entry in report["fixes"]:      # the expose fix keeps what the server exposes already
        expose = list_items(entry["set"].get("Access-Control-Expose-Headers")) or expose
    return Needs(allow_origin_value(origin, report["credentials"]) if origin != "*" else "*",
                 report["credentials"], [] if method in SAFELISTED_METHODS else [method],
                 unsafe_header_names(report["headers"]), expose, "error-without-cors" in traps,
                 "auth-before-cors" in traps)


def js_list(items):
    return "[" + ", ".join(js_string(item) for item in items) + "]"


def py_list(items):
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def express_config(needs):
    options = [f"origin: {js_string(needs.origin)},"]
    if needs.credentials:
        options.append("credentials: true,")
    if needs.methods:
        options.append(f"methods: {js_list(['GET', 'HEAD', 'POST', *needs.methods])},")
    if needs.headers:
        options.append(f"allowedHeaders: {js_list(needs.headers)},")
    if needs.expose:
        options.append(f"exposedHeaders: {js_list(needs.expose)},")
    lines = ["// npm install cors", "const cors = require('cors');",
             "app.use(cors({", *(f"  {option}" for option in options), "}));",
             "// Before any other middleware and route: it answers every preflight (OPTIONS)",
             "// itself with 204, before authentication can refuse it, and its headers stay on",
             "// error responses that Express's error handler sends."]
    return lines


def fastapi_config(needs):
    arguments = [f"allow_origins=[{json.dumps(needs.origin)}],"]
    if needs.credentials:
        arguments.append("allow_credentials=True,")
    if needs.methods:
        arguments.append(f"allow_methods={py_list(['GET', 'HEAD', 'POST', *needs.methods])},")
    if needs.headers:
        arguments.append(f"allow_headers={py_list(needs.headers)},")
    if needs.expose:
        arguments.append(f"expose_headers={py_list(needs.expose)},")
    lines = ["from starlette.middleware.cors import CORSMiddleware   # FastAPI: fastapi.middleware.cors"]
    if needs.errors:       # seen: Starlette 1.10 turns an exception into a 500 outside add_middleware
        return lines + ["app = CORSMiddleware(", "    app,", *(f"    {a}" for a in arguments), ")",
                        "# Wrapped around the whole app, so that the 500 of an unhandled",
                        "# exception carries the headers too (with add_middleware it does not:",
                        "# Starlette answers it outside every middleware). Serve this app."]
    return lines + ["app.add_middleware(", "    CORSMiddleware,", *(f"    {a}" for a in arguments), ")",
                    "# Add it last: the last middleware added is the outermost, so CORS answers",
                    "# preflights before any authentication middleware sees them."]


def flask_config(needs):
    arguments = [f"origins=[{json.dumps(needs.origin)}]"]
    if needs.credentials:
        arguments.append("supports_credentials=True")
    if needs.methods:
        arguments.append(f"methods={py_list(['GET', 'HEAD', 'POST', 'OPTIONS', *needs.methods])}")
    if needs.headers:
        arguments.append(f"allow_headers={py_list(needs.headers)}")
    if needs.expose:
        arguments.append(f"expose_headers={py_list(needs.expose)}")
    lines = ["# pip install flask-cors", "from flask_cors import CORS",
             "CORS(app, " + ", ".join(arguments) + ")",
             "# flask-cors answers OPTIONS itself and adds its headers after each request,",
             "# error responses included. Authentication in a before_request hook runs first:",
             "# let OPTIONS through there."]
    if needs.auth_first:
        lines += ["@app.before_request", "def authenticate():              # your hook",
                  "    if request.method == 'OPTIONS':   # a preflight: no credentials, by design",
                  "        return None", "    ...                             # your authentication, as before"]
    return lines


def django_config(needs):
    lines = ["# pip install django-cors-headers; in settings.py, in place of any CORS_* settings:",
             'if "corsheaders" not in INSTALLED_APPS:',
             '    INSTALLED_APPS += ["corsheaders"]',
             'MIDDLEWARE = ["corsheaders.middleware.CorsMiddleware",   # first: before CommonMiddleware',
             '              *(m for m in MIDDLEWARE if m != "corsheaders.middleware.CorsMiddleware")]',
             "#   (its trailing-slash redirects) and any authentication",
             f"CORS_ALLOWED_ORIGINS = [{json.dumps(needs.origin)}]"]
    if needs.credentials:
        lines.append("CORS_ALLOW_CREDENTIALS = True")
    if needs.methods:
        lines += ["from corsheaders.defaults import default_methods",
                  f"CORS_ALLOW_METHODS = (*default_methods, {', '.join(map(json.dumps, needs.methods))})"]
    if needs.headers:
        lines += ["from corsheaders.defaults import default_headers",
                  f"CORS_ALLOW_HEADERS = (*default_headers, {', '.join(map(json.dumps, needs.headers))})"]
    if needs.expose:
        lines.append(f"CORS_EXPOSE_HEADERS = {py_list(needs.expose)}")
    return lines


def java_list(items):
    return "List.of(" + ", ".join(json.dumps(item) for item in items) + ")"


def spring_config(needs):
    lines = ["// Spring: one CorsConfigurationSource bean; Spring Security's http.cors(...) uses it",
             "// and its CorsFilter runs before authentication, so preflights get through.",
             "@Bean", "UrlBasedCorsConfigurationSource corsConfigurationSource() {",
             "    CorsConfiguration config = new CorsConfiguration();",
             f"    config.setAllowedOrigins({java_list([needs.origin])});",
             f"    config.setAllowedMethods({java_list(['GET', 'HEAD', 'POST', *needs.methods])});"]
    if needs.headers:
        lines.append(f"    config.setAllowedHeaders({java_list(needs.headers)});")
    if needs.expose:
        lines.append(f"    config.setExposedHeaders({java_list(needs.expose)});")
    if needs.credentials:
        lines.append("    config.setAllowCredentials(true);")
    lines += ["    UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();",
              '    source.registerCorsConfiguration("/**", config);', "    return source;", "}",
              "// with Spring Security: http.cors(Customizer.withDefaults())"]
    return lines


def aspnet_config(needs):
    calls = [f"policy.WithOrigins({json.dumps(needs.origin)})"]
    if needs.methods:
        calls.append("WithMethods(" + ", ".join(map(json.dumps, ["GET", "HEAD", "POST", *needs.methods])) + ")")
    if needs.headers:
        calls.append("WithHeaders(" + ", ".join(map(json.dumps, needs.headers)) + ")")
    if needs.expose:
        calls.append("WithExposedHeaders(" + ", ".join(map(json.dumps, needs.expose)) + ")")
    if needs.credentials:
        calls.append("AllowCredentials()")
    return ['builder.Services.AddCors(options => options.AddPolicy("page", policy =>',
            "    " + "\n          .".join(calls) + "));",
            "// ...",
            "app.UseRouting();",
            'app.UseCors("page");        // after UseRouting, before UseAuthentication and',
            "app.UseAuthentication();    // UseAuthorization, so preflights are answered first",
            "app.UseAuthorization();"]


def nginx_config(needs):
    preflight = [f'add_header Access-Control-Allow-Origin "{needs.origin}" always;']
    if needs.credentials:
        preflight.append('add_header Access-Control-Allow-Credentials "true" always;')
    actual = list(preflight)
    if needs.methods:
        preflight.append(f'add_header Access-Control-Allow-Methods "{", ".join(needs.methods)}" always;')
    if needs.headers:
        preflight.append(f'add_header Access-Control-Allow-Headers "{", ".join(needs.headers)}" always;')
    preflight.append("add_header Vary Origin always;")
    if needs.expose:
        actual.append(f'add_header Access-Control-Expose-Headers "{", ".join(needs.expose)}" always;')
    actual.append("add_header Vary Origin always;")
    return (["location /api/ {   # your API's location",
             "    if ($request_method = OPTIONS) {   # answer preflights here, before the app",
             *(f"        {line}" for line in preflight),
             "        return 204;", "    }",
             *(f"    {line}" for line in actual),
             "    proxy_hide_header Access-Control-Allow-Origin;   # or the app's copy makes two",
             "    proxy_pass http://your_app;", "}",
             "# 'always' adds them to 4xx and 5xx answers too; an add_header inside a block",
             "# replaces every add_header inherited from outside it."])


FRAMEWORK_CONFIGS = {"express": express_config, "fastapi": fastapi_config, "flask": flask_config,
                     "django": django_config, "spring": spring_config, "aspnet": aspnet_config,
                     "nginx": nginx_config}


FRAMEWORK_MERGE = ("What this request needs: merge it into your CORS settings, and keep what "
                   "other requests need.")
FRAMEWORK_REDIRECT = "This leaves the redirect in place (see the trap above): better, call the URL it points to."
COMMENT = {"express": "//", "fastapi": "#", "flask": "#", "django": "#", "spring": "//",
           "aspnet": "//", "nginx": "#"}


def framework_config(name, report):
    """The configuration that makes the fixes, as lines; None when nothing is to change
    or no safe configuration exists."""
    if not report["fixes"]:
        return None
    if report["failures"] and all(map(is_expose_fix, report["fixes"])):
        return None        # blocked, and no header unblocks it: a configuration would mislead
    needs = needs_of(report)
    if needs.origin is None:
        return None
    lines = [f"{COMMENT[name]} {FRAMEWORK_MERGE}"] + FRAMEWORK_CONFIGS[name](needs)
    if any(trap["trap"] == "redirect" for trap in report["traps"]):
        lines.append(f"{COMMENT[name]} {FRAMEWORK_REDIRECT}")
    return lines


# ---------------------------------------------------------------- check: dangerous set-ups
# A server that trusts whoever asks is readable from every site. check asks once
# more with a made-up origin (one extra request, said in the output), and looks
# at what the answers it already has say.

MADE_UP_ORIGIN = "https://made-up-origin.invalid"
WARNINGS = {
    "reflects": ("the server reflects any origin: asked with Origin: {made_up}, it answered "
                 "Access-Control-Allow-Origin: {made_up}. Every site can read these responses"),
    "reflects-end": ".",
    "reflects-credentials": (" and, with Access-Control-Allow-Credentials: true, read them with the "
                             "visitor's cookies: any page a logged-in user opens can read their "
                             "data here. Allow a fixed list of origins instead"),
    "null": ("the server answers Access-Control-Allow-Origin: null, and any site can make a "
             "request with Origin: null (a sandboxed iframe, a redirect), so this trusts every "
             "site{credentials}."),
    "null-credentials": ", with the visitor's cookies",
    "private-network": ("the server answers Access-Control-Allow-Private-Network: true to a "
                        "made-up origin: any public site may reach this private-network server "
                        "through its visitors' browsers."),
    "vary": ("the response names one origin in Access-Control-Allow-Origin but has no Vary: "
             "Origin: a shared cache may hand it to a page on another origin (send Vary: Origin)."),
}


def probe(ask, report):
    """Ask the first cross-origin URL once more, as a page on a made-up origin would
    (as a preflight, unless the request is a GET or HEAD): a warning if it is trusted."""
    asked = [exchange for exchange in report["exchanges"] if has_origin(exchange)]
    if not asked:
        return
    url = parse_url(asked[0]["url"])
    method = report["method"]
    names = unsafe_header_names(report["headers"])
    if asked[0]["kind"] == "preflight" or method not in ("GET", "HEAD"):
        headers = [("Origin", MADE_UP_ORIGIN), ("Access-Control-Request-Method", method)]
        if names:
            headers.append(("Access-Control-Request-Headers", ",".join(names)))
        headers += [("Access-Control-Request-Private-Network", "true"), *BROWSER_HEADERS]
        exchange = ask.send("probe", "OPTIONS", url, headers)
    else:
        kept = [pair for pair in report["headers"] if pair[0].lower() != "authorization"]
        exchange = ask.send("probe", method, url, [("Origin", MADE_UP_ORIGIN), *kept, *BROWSER_HEADERS])
    received = exchange["response_headers"]
    allow_origin = get_header(received, "Access-Control-Allow-Origin")
    if allow_origin == MADE_UP_ORIGIN:
        warning = WARNINGS["reflects"].format(made_up=MADE_UP_ORIGIN)
        if get_header(received, "Access-Control-Allow-Credentials") == "true":
            warning += WARNINGS["reflects-credentials"]
        report["warnings"].append(warning + WARNINGS["reflects-end"])
    if get_header(received, "Access-Control-Allow-Private-Network") == "true":
        report["warnings"].append(WARNINGS["private-network"])
    report["probe"] = exchange
    ask.said(exchange, PROBE_SAID[allow_origin == MADE_UP_ORIGIN].format(value=allow_origin or "none"))


PROBE_SAID = {True: "the made-up origin is trusted: Access-Control-Allow-Origin: {value}",
              False: "the made-up origin is not trusted: Access-Control-Allow-Origin: {value}"}


def has_origin(exchange):
    return any(name == "Origin" for name, _ in exchange["request_headers"]) and \
        exchange["kind"] in ("preflight", "request")


def answer_warnings(report):
    """Warnings from the answers already in the report."""
    warnings = []
    for exchange in report["exchanges"]:
        received = exchange["response_headers"]
        allow_origin = get_header(received, "Access-Control-Allow-Origin")
        credentials = get_header(received, "Access-Control-Allow-Credentials") == "true"
        if allow_origin == "null":
            warnings.append(WARNINGS["null"].format(
                credentials=WARNINGS["null-credentials"] if credentials else ""))
        vary = [item.lower() for item in list_items(get_header(received, "Vary"))]
        if (allow_origin not in (None, "*", "null") and "origin" not in vary and "*" not in vary
                and exchange["kind"] == "request"):
            warnings.append(WARNINGS["vary"])
    return list(dict.fromkeys(warnings))


# ---------------------------------------------------------------- check: the report
# The terminal shows each exchange as it ends, then the verdict, every failed
# check with Chrome's words, the traps, what to change, and the warnings. Text
# that came from the server is shown with its control characters escaped, so
# no server can clear the screen, retitle the window or hide the verdict.

SHOWN_RESPONSE_HEADERS = ("vary", "location")
HIDDEN_REQUEST_HEADERS = frozenset(name.lower() for name, _ in BROWSER_HEADERS)
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def shown(text):
    """Server text made safe for a terminal: controls (C0, DEL, C1) and invisible
    or reordering characters escaped as \\xNN or \\uNNNN."""
    return UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                           else f"\\u{ord(m.group()):04x}", text)


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


def opening_lines(report):
    lines = [f"{fetch_call(report)} from a page on {report['origin']}"]
    lines += [f"  note: {note}" for note in report["notes"]]
    if report["same_origin"]:
        lines.append("Same origin: a plain fetch, with no CORS (no preflight, no CORS check).")
    elif report["preflight"]:
        lines.append(f"A preflight first: {report['preflight']}.")
    else:
        lines.append("No preflight: a safelisted method, and only safelisted headers.")
    return lines


def exchange_lines(exchange):
    url = parse_url(exchange["url"])
    label = {"probe": "  (the made-up origin, asked once more)"}.get(exchange["kind"])
    lines = [""] + ([label] if label else [])
    lines += [f"> {exchange['method']} {url.target} HTTP/1.1", f"> Host: {url.netloc}"]
    lines += [f"> {name}: {value}" for name, value in exchange["request_headers"]
              if name.lower() not in HIDDEN_REQUEST_HEADERS]
    lines.append(f"< HTTP/1.1 {exchange['status']} {exchange['reason']}")
    cors = [(name, value) for name, value in exchange["response_headers"]
            if name.lower().startswith("access-control-")]
    other = [(name, value) for name, value in exchange["response_headers"]
             if name.lower() in SHOWN_RESPONSE_HEADERS]
    lines += [f"< {name}: {value}" for name, value in cors + other]
    if not cors:
        lines.append("< (no Access-Control-* header)")
    if exchange["body"] and not 200 <= exchange["status"] <= 299:
        lines.append(f"< body: {exchange['body'].strip()}")
    if exchange["verdict"]:
        lines.append(f"  {exchange['verdict']}")
    return lines


FIX_PLACES = {"preflight": "on the preflight response (OPTIONS)",
              "actual": "on the actual response", "redirect": "on the redirect response"}


def fix_lines(fixes):
    """The fixes, grouped by the response they change: its status, what goes, what is set."""
    lines = []
    for place in ("preflight", "redirect", "actual"):
        entries = [entry for entry in fixes if entry["response"] == place]
        if not entries:
            continue
        items = [f"answer with status {entry['status']} (any 2xx will do)"
                 for entry in entries if "status" in entry]
        items += [f"remove {name}" for entry in entries for name in entry["remove"]]
        items += [f"{name}: {value}" for entry in entries for name, value in entry["set"].items()]
        lines.append(f"  {FIX_PLACES[place]}:")
        lines += [f"    {item}" for item in dict.fromkeys(items)]
    return lines


def closing_lines(report, framework=None):
    lines = ["", report["verdict"]]
    failures = report["failures"]
    if failures:
        lines += ["", "Every check that fails, in the order Chrome reports them (it shows the "
                      "first; fix it and it shows the next):"]
        for number, failure in enumerate(failures, 1):
            lines += [f"  {number}. {failure['text']}",
                      f"     Chrome: {failure['console']}"]
    lines += [f"Trap: {trap['text']}" for trap in report["traps"]]
    if report["readable_headers"] is not None:
        lines.append("script can read the headers: " + (", ".join(report["readable_headers"])
                                                         or "none"))
    if report["unreadable_headers"]:
        lines.append("arrived, but script cannot read: "
                     + ", ".join(report["unreadable_headers"]))
    exposing = [entry for entry in report["fixes"] if is_expose_fix(entry)]
    fixes = [entry for entry in report["fixes"] if entry not in exposing]
    if fixes:
        lines += ["", "What to change:"] + fix_lines(fixes)
    elif failures:
        lines += ["", "What to change: no response header can fix this; see above."]
    if exposing:
        lines += ["", "To let script read those headers too:"] + fix_lines(exposing)
    if framework:
        config = framework_config(framework, report)
        lines += ["", f"In {framework}:" if config else f"In {framework}: nothing to configure."]
        lines += [f"  {line}" for line in config or []]
    lines += [f"Warning: {warning}" for warning in report["warnings"]]
    lines += [f"Engines: {text}" for text in report["engines"]]
    return lines


def check_json(report, framework=None):
    """The report as one JSON object; header lists stay lists of [name, value]."""
    if framework:
        report = {**report, "framework": {"name": framework,
                                          "config": framework_config(framework, report)}}
    return json.dumps(report, indent=2)


# ---------------------------------------------------------------- check: the command line

CHECK_USAGE = """python cors_demo.py check URL --origin ORIGIN [--method M] [--header NAME:VALUE]...
             [--credentials] [--body DATA] [--timeout S] [--json] [--framework NAME]
             [--cacert FILE | --insecure]"""
CHECK_HELP = """\
Why is my request blocked, and what do I change? Does what a browser does for
fetch(URL, {mode: 'cors', ...}) from a page on ORIGIN, by the Fetch standard:
the preflight if one is needed (never with cookies), its checks, the request,
the CORS check, redirects, and which response headers script can read. It
prints each exchange as it happens, every failed check with the message
Chrome's console shows, the headers to change, and dangerous set-ups (it asks
once more with a made-up origin to see whether the server trusts anyone)."""
CHECK_EPILOG = """\
exit status: 0 a browser lets the page read the response, 1 blocked, 2 could not ask"""


class CheckArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise CannotAsk(f"{message} (python cors_demo.py check --help)")


def parse_check_args(argv):
    parser = CheckArgumentParser(prog="python cors_demo.py check", usage=CHECK_USAGE,
                                 description=CHECK_HELP, epilog=CHECK_EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="an http:// or https:// URL")
    parser.add_argument("--origin", required=True,
                        help="the page's origin, as scheme://host[:port] (or null)")
    parser.add_argument("--method", default="GET", metavar="M", help="the fetch's method (default GET)")
    parser.add_argument("--header", action="append", default=[], type=header_argument,
                        dest="headers", metavar="NAME:VALUE",
                        help="a request header the page sets; repeat for more. Headers a page "
                             "cannot set are dropped; Cookie stands for the browser's cookies")
    parser.add_argument("--credentials", action="store_true", help="credentials: 'include'")
    parser.add_argument("--body", metavar="DATA", help="a body (a string, as fetch() sends it)")
    parser.add_argument("--timeout", type=timeout_seconds, default=CHECK_TIMEOUT, metavar="S",
                        help=f"seconds each exchange may take, all of it (default {CHECK_TIMEOUT:g})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--framework", choices=FRAMEWORKS, metavar="NAME",
                        help="also the configuration that makes the fix, in: " + ", ".join(FRAMEWORKS))
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--cacert", metavar="FILE",
                       help="also trust the CA certificates in FILE (a local https API)")
    trust.add_argument("--insecure", action="store_true",
                       help="do not verify the certificate (a browser would)")
    return parser.parse_args(argv)


def header_argument(text):
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write a header as NAME:VALUE")
    return name.strip(), value.strip(" \t")


def timeout_seconds(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is None or not 0 < seconds <= MAX_TIMEOUT:      # nan fails this too
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 and at "
                                         f"most {MAX_TIMEOUT:g}")
    return seconds


def tls_context(cacert, insecure):
    context = ssl.create_default_context()
    if cacert:
        try:
            context.load_verify_locations(cacert)
        except (OSError, ssl.SSLError) as error:
            raise CannotAsk(f"cannot read certificates from {cacert}: {error}")
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Terminal:
    """stdout that a closed pipe (| head) silences instead of breaking."""

    def __init__(self, stream):
        self.stream, self.closed = stream, False

    def say(self, lines, safe=False):
        """Print lines, each made safe for a terminal (see shown) unless it is already."""
        if self.closed:
            return
        try:
            self.stream.write("\n".join(lines if safe else map(shown, lines)) + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
            devnull = os.open(os.devnull, os.O_WRONLY)   # so Python's own final flush is quiet
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except ValueError:
            self.closed = True


def check_main(argv):
    """python cors_demo.py check ...: exit status 0 a browser lets the page read it,
    1 blocked, 2 could not ask. Never raises."""
    out = Terminal(sys.stdout)
    try:
        return run_check(argv, out)
    except CannotAsk as error:
        print(shown(f"could not ask: {error}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("could not ask: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:      # from argparse's --help
        Terminal(sys.stdout).say([""])
        return 0
    except SystemExit as done:   # --help
        return done.code or 0
    except Exception as error:   # a bug in check: one line, not a traceback
        print(shown(f"could not ask: check itself failed ({type(error).__name__}: {error}); "
                    "please report it"), file=sys.stderr)
        return 2


def run_check(argv, out):
    args = parse_check_args(argv)
    tls = tls_context(args.cacert, args.insecure)
    streaming = not args.json

    def print_exchange(report, exchange):
        if streaming:
            out.say(opening_lines(report) if exchange is None else exchange_lines(exchange))

    report = check(args.url, args.origin, args.method, args.headers, args.credentials,
                   args.body, args.timeout, tls, print_exchange)
    if args.insecure:
        report["notes"].append("the certificate was not verified (--insecure); a browser refuses "
                               "one it does not trust")
    if args.json:
        out.say([check_json(report, args.framework)], safe=True)   # JSON escapes its own
    elif report["allowed"] is not None:
        out.say(closing_lines(report, args.framework))
    if report["allowed"] is None:          # said once, where errors go
        print(shown(report["verdict"]), file=sys.stderr)
        return 2
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
RUN_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")
RUN_TOKEN = re.compile(rf"[?&]{RUN_PARAMETER}=({RUN_VALUE.pattern})(?=&|$)")


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

    def __init__(self, request, response):
        self.id, self.time = None, time.time()      # the log numbers it as it takes it
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

    @property
    def path(self):
        return self.target.split("?", 1)[0]

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
        entry = LogEntry(request, response)
        with self._lock:      # ids in the order the entries go in
            entry.id = next(self._ids)
            self._entries.append(entry)
        return entry

    def latest(self):
        entries = self._entries
        return entries[-1].id if entries else 0

    def newest_first(self, after=0, run=None, path=None, limit=LOG_PAGE):
        with self._lock:
            entries = list(self._entries)
        found = []
        for entry in reversed(entries):
            if entry.id <= after or len(found) == limit:
                break
            if (run is None or entry.run == run) and (path is None or entry.path == path):
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
    ones, ?run=TOKEN only those of one run of the page, ?path=/data only those to
    one path."""
    query = dict(parse_qsl(request.query))
    since, run, path = query.get("since", "0"), query.get("run"), query.get("path")
    if not (since.isascii() and since.isdigit() and len(since) <= 18):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "since must be a log entry id")
    if run is not None and not RUN_VALUE.fullmatch(run):
        raise HTTPError(HTTPStatus.BAD_REQUEST, "run must be a run token: letters, digits, - and _")
    if path is not None and path not in ROUTES:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "path must be one of the API's: "
                        + ", ".join(name for name in ROUTES if name != "*"))
    latest = demo.log.latest()
    entries = demo.log.newest_first(int(since), run, path)
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
    """What ?autorun=1 posts: {"browser": "Chrome 150", "experiments": [{"id", "as_expected"}
    or {"id", "skipped": why}...]}."""
    try:
        data = json.loads(body)
        browser = data["browser"]
        experiments = data["experiments"]
        valid = (isinstance(browser, str) and isinstance(experiments, list)
                 and 0 < len(experiments) <= 100
                 and all(isinstance(item, dict) and isinstance(item.get("id"), str)
                         and (isinstance(item.get("as_expected"), bool)
                              or isinstance(item.get("skipped"), str)) for item in experiments))
    except (ValueError, RecursionError, KeyError, TypeError):
        valid = False
    if not valid:
        raise HTTPError(HTTPStatus.BAD_REQUEST, 'send {"browser": "...", "experiments": '
                        '[{"id": "...", "as_expected": true}, ...]}')
    # The browser's name goes to the terminal: keep it to harmless characters.
    data["browser"] = re.sub(r"[^A-Za-z0-9 ._()-]", "", browser)[:60] or "an unnamed browser"
    return data


def summary_line(results):
    """N of M experiments behaved as the lesson says, in this browser; which did not,
    and which were skipped."""
    def names(items):
        return ", ".join(re.sub(r"[^a-z0-9-]", "", item["id"].lower())[:40] for item in items)
    experiments = [item for item in results["experiments"] if not isinstance(item.get("skipped"), str)]
    skipped = [item for item in results["experiments"] if item not in experiments]
    passed = sum(item["as_expected"] for item in experiments)
    line = (f"{passed} of {len(experiments)} experiments behaved as the lesson says, "
            f"in {results['browser']}")
    unexpected = [item for item in experiments if not item["as_expected"]]
    if unexpected:
        line += f"; unexpected: {names(unexpected)}"
    if skipped:
        line += f"; skipped: {names(skipped)}"
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
            call["preflight"] = None if init.get("mode") == "no-cors" else preflight_reason(
                normalize_method(init.get("method", "GET")), list(init.get("headers", {}).items()))
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
SEND_BUFFER = 64 * 1024  # bytes of an answer the kernel may hold for a client (it doubles it)
ABORT = struct.pack("ii", 1, 0)   # SO_LINGER on, 0 s: close() resets, dropping what is unsent
MAX_CONNECTIONS = 2048  # open at once, all listeners; more get 503 (a class of 40 uses ~500)
BACKLOG = 128          # handshakes the kernel queues; socketserver's 5 drops them under load
POLL = 0.05            # seconds serve_forever() waits between looks at the stop flag
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
NO_BODY = frozenset({204, 304})   # statuses sent with neither body nor Content-Length
STATUS_LINES = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n" for status in HTTPStatus}
SERVER_LINE = f"Server: cors_demo/{__version__}\r\n"
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


def strict_request(lines, message):
    """The request http.server has just read: its lines as they arrived, and the
    header fields http.client parsed from them (an email.message.Message). A
    Request, or HTTPError for what a strict server refuses."""
    head = b"".join(lines)
    well_formed = WELL_FORMED_HEAD.fullmatch(head)
    if well_formed is None:
        raise why_malformed(head)
    method, target, version, _ = well_formed.groups()
    method, target = method.decode(), target.decode()
    version = "HTTP/1.0" if version == b"HTTP/1.0" else "HTTP/1.1"  # 1.2 and on: 1.1 (RFC 9110 2.5)
    # Well-formed, so one field per line and none folded: http.client's fields are the lines.
    headers = by_name(message.raw_items())
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


def by_name(fields):
    """Header fields as {lower-case name: value}. A repeated name is refused for the
    headers that may come once; else its values are joined (RFC 9110 5.3)."""
    headers = {}
    for name, value in fields:
        name, value = name.lower(), value.strip(" \t")
        if name in headers:
            if name in SINGLE_HEADERS:
                spelled = "-".join(part.capitalize() for part in name.split("-"))
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"more than one {spelled} header")
            value = headers[name] + ("; " if name == "cookie" else ", ") + value
        headers[name] = value
    return headers


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
    fields = ""
    for name, value in headers.items():
        fields += f"{name}: {value}\r\n"
    lines = len(headers)
    if status in NO_BODY:
        body = b""
    else:
        if callable(body) and not head_only:
            body = body()
        if not callable(body):
            fields += f"Content-Length: {len(body)}\r\n"
            lines += 1
    if connection:
        fields += f"Connection: {connection}\r\n"
        lines += 1
    # Last line of defence against response splitting: every value was validated
    # on the way in, and this proves no CR or LF slipped into one. (The status
    # line, Date and Server are the server's own.)
    if fields.count("\n") != lines or fields.count("\r") != lines:
        raise ValueError("a response header holds a line break")
    status_line = STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n"
    head = f"{status_line}Date: {date}\r\n{SERVER_LINE}{fields}\r\n".encode("latin-1")
    return head if head_only or callable(body) else head + body


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
        # A client that never reads leaves at most SEND_BUFFER of its answer in the kernel.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
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
        request = strict_request(self.rfile.lines, self.headers)
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
    client does not read), it shuts both sides, and the close that follows resets
    the connection, so the kernel drops the unsent rest instead of keeping it for
    a client that will never read it. Sockets stay blocking, so serving a request
    costs no system call beyond its recv and its send."""

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
                        if sock in self.shut:
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORT)
                            sock.shutdown(socket.SHUT_RDWR)
                        else:
                            sock.shutdown(socket.SHUT_RD)
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
.mark.bad { background: var(--bad-bg); } .mark.warn { background: var(--warn-bg); } .mark.ok { background: var(--ok-bg); } .mark.na { background: var(--card); font-weight: 400; }
.builder { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
@media (min-width: 880px) { .builder { grid-template-columns: 1fr 1fr; } }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 0; padding: 8px 12px 12px; display: grid; gap: 8px; }
legend { font-weight: 650; padding: 0 4px; }
fieldset label { display: grid; grid-template-columns: minmax(7.5em, auto) minmax(0, 1fr); gap: 8px; align-items: center; }
fieldset label.check { display: flex; }
.log-rows { display: grid; gap: 0; max-height: 32rem; overflow: auto; overscroll-behavior: contain; }
.log-rows:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.part-title { font-size: 1.15rem; margin: 28px 0 0; }
.placeholder { color: var(--muted); font-style: italic; }
.known { background: var(--code); border-left: 3px solid var(--accent); padding: 6px 10px; border-radius: 4px; }
.from { display: block; color: var(--muted); font-size: .85rem; }
.frames { display: grid; grid-template-columns: minmax(0, 1fr); gap: 8px; }
@media (min-width: 880px) { .frames { grid-template-columns: minmax(0, 2fr) minmax(0, 1fr) minmax(0, 1fr); align-items: center; } }
.frame iframe { width: 100%; height: 84px; border: 1px dashed var(--line); border-radius: 6px; background: var(--card); }
.msg.opaque .line { background: repeating-linear-gradient(90deg, currentColor 0 6px, transparent 6px 10px); }
.log-row { display: grid; grid-template-columns: 5.5em minmax(0, 1.2fr) minmax(0, 1fr) 3.6em minmax(0, 2.2fr); gap: 8px; padding: 6px 0; border-top: 1px solid var(--line); font-size: .88rem; overflow-wrap: anywhere; }
.log-row.head { font-weight: 650; color: var(--muted); border-top: 0; }
@media (max-width: 700px) {
  .log-row { grid-template-columns: 4.5em minmax(0, 1fr) 3.6em; }
  .log-row .status { grid-row: 1; grid-column: 3; }
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
const ENGINE = engineName();
let API = originFrom(params.get("api")) || guessOrigin(SETTINGS.api_port);
const OTHER = originFrom(params.get("other")) || guessOrigin(SETTINGS.other_port);

// Cookies belong to a host, not a port: this one rides along on every fetch
// to the API that uses credentials: 'include', and only on those, so the
// server can tell which requests had credentials.
document.cookie = "cors_demo_page=1; SameSite=Lax; Path=/";

// -- where the API and the other origin are ---------------------------------------

function originFrom(text) {
  if (!text) return null;
  try { return new URL(text).href.replace(/\/+$/, ""); } catch { return null; }
}

// The page's host on another port. A sandbox that forwards ports gives each its own
// host name with the port in it (8001-name.example, name-8001.example): then the
// same name with the other port.
function guessOrigin(port) {
  const here = String(SETTINGS.playground_port);
  const [first, ...rest] = location.hostname.split(".");
  let swapped = null;
  if (first.startsWith(here + "-")) swapped = port + first.slice(here.length);
  else if (first.endsWith("-" + here)) swapped = first.slice(0, -here.length) + port;
  if (swapped && rest.length) {
    return `${location.protocol}//${[swapped, ...rest].join(".")}${location.port ? ":" + location.port : ""}`;
  }
  return `${location.protocol}//${location.hostname}:${port}`;
}

// The API under a second host name, another origin for the same server; null
// when its host has none (a sandbox forwards one name per port).
function secondSpelling(origin) {
  const url = new URL(origin);
  const other = {"127.0.0.1": "localhost", "localhost": "127.0.0.1", "[::1]": "localhost"}[url.hostname];
  if (!other) return null;
  url.hostname = other;
  return url.origin;
}

const hostOf = origin => new URL(origin).hostname;

function engineName() {          // whose behaviour the lesson's known outcomes name
  const ua = navigator.userAgent;
  if (/Firefox\//.test(ua)) return "Firefox";
  if (/Chrom(e|ium)\//.test(ua)) return "Chromium";
  return null;
}

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
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
const icon = allowed => allowed === true ? "\u2713" : allowed === false ? "\u2717" : "\u2013";
const tone = allowed => allowed === true ? "ok" : allowed === false ? "bad" : "na";

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
  const init = Object.keys(call.init).length ? `, ${literal(call.init).replace(/\{run\}/g, "\u2026")}` : "";
  const lines = call.runs_in in FRAMES ? [`// in ${FRAMES[call.runs_in].where}`] : [];
  lines.push(`const ${name} = await fetch(${quote(call.url)}${init});`);
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

// -- the other origin: two frames that make the fetches this page asks for ---------

// "other" is a plain frame of the other origin; "sandboxed" the same page in a
// sandboxed frame, whose origin is opaque: its fetches say Origin: null. Each
// with how a card names it, and its lane in the picture.
const FRAMES = {
  other: {sandbox: null, origin: new URL(OTHER).origin, where: "the other origin", lane: "Other origin"},
  sandboxed: {sandbox: "allow-scripts", origin: "null", lane: "Sandboxed frame",
              where: "a sandboxed frame of the other origin (Origin: null)"}};
const FRAME_WAIT = 10000;         // ms a frame has to load before its experiments are skipped
const pending = new Map();        // message id -> the function that takes the outcome
let messages = 0;

addEventListener("message", event => {
  const frame = Object.values(FRAMES).find(frame => frame.element && frame.element.contentWindow === event.source);
  if (!frame || event.origin !== frame.origin || !event.data) return;
  if (event.data.ready) frame.loaded();
  else if (pending.has(event.data.id)) pending.get(event.data.id)(event.data);
});

function startFrames() {
  for (const [kind, frame] of Object.entries(FRAMES)) {
    const src = `${OTHER}/frame?parent=${encodeURIComponent(PAGE)}`;
    frame.element = el("iframe", {src, sandbox: frame.sandbox, title: `${frame.where}: ${src}`});
    frame.ready = new Promise((resolve, reject) => {
      frame.loaded = resolve;
      setTimeout(() => reject(new Error(`the other origin, ${OTHER}, did not load within ${FRAME_WAIT / 1000} s: ` +
        `is it running, and in a sandbox, is port ${SETTINGS.other_port} forwarded and public too?`)), FRAME_WAIT);
    });
    frame.ready.catch(() => {});
    $(`#frame-${kind}`).append(frame.element);
  }
}

function fetchInFrame(kind, url, init, read) {
  const frame = FRAMES[kind];
  return frame.ready.then(() => new Promise(resolve => {
    const id = ++messages;
    const timer = setTimeout(() => finish({readable: false, error: "the frame did not answer within 30 s"}), 30000);
    function finish(outcome) { clearTimeout(timer); pending.delete(id); resolve(outcome); }
    pending.set(id, finish);
    // "*": a sandboxed frame's origin is opaque, so no origin names it; nothing sent is secret.
    frame.element.contentWindow.postMessage({id, url, init, read}, "*");
  }));
}

async function fetchHere(url, init, read) {
  const outcome = {readable: false, headers: {}};
  try {
    const response = await fetch(url, init);
    outcome.readable = true;
    outcome.type = response.type;
    outcome.status = response.status;
    for (const header of read) outcome.headers[header] = response.headers.get(header);
    outcome.body = await response.text();
  } catch (error) {
    outcome.error = `${error.name}: ${error.message}`;
  }
  return outcome;
}

// -- one fetch, and what the server saw of it -----------------------------------

// Every request of a run carries the run's token in its query, which the API
// ignores: the page finds its own requests in the log by it, whoever else uses
// the server, and each run starts with an empty preflight cache (it is kept per
// URL). A redirect's to= gets it too, so that the next hop is found as well.
function runToken() {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), byte => byte.toString(16).padStart(2, "0")).join("");
}

const withToken = (url, run) => url + (url.includes("?") ? "&" : "?") + `run=${run}`;

function withRun(url, run) {
  const [base, query] = url.split(/\?(.*)/s);
  if (query === undefined) return withToken(url, run);
  const parts = query.split("&").map(part => part.startsWith("to=")
    ? "to=" + encodeURIComponent(withToken(decodeURIComponent(part.slice(3)), run)).replace(/%2F/g, "/").replace(/%3A/g, ":")
    : part);
  return withToken(`${base}?${parts.join("&")}`, run);
}

function fill(text, run) {
  return text.replace(/\{run\}/g, run);
}

function callsOf(experiment) {
  const api2 = secondSpelling(API);
  return experiment.calls.map(call =>
    ({...call, url: API + call.path.replace(/\{api2\}/g, api2 || "http://ANOTHER-NAME:PORT")}));
}

// What the page sent a call from, and the Origin its requests should carry.
function senderOf(call) {
  return call.runs_in in FRAMES ? FRAMES[call.runs_in].origin : PAGE;
}

async function perform(call, run, seen) {
  const url = withRun(call.url, run);
  const init = {...call.init};
  if (typeof init.body === "string") init.body = fill(init.body, run);
  const read = Object.keys(call.reads || {});
  const outcome = call.runs_in in FRAMES ? await fetchInFrame(call.runs_in, url, init, read)
                                          : await fetchHere(url, init, read);
  outcome.headers = outcome.headers || {};
  outcome.read = !outcome.readable ? false : outcome.type === "opaque" ? "opaque" : true;
  const log = await readLog(`run=${run}&since=${seen.latest}`);
  outcome.entries = log.entries.reverse();
  if (outcome.entries.length) seen.latest = outcome.entries[outcome.entries.length - 1].id;
  if (call.known && call.known.shared) outcome.shared = await emptiedMeanwhile(run, seen.before, outcome.entries);
  seen.before = seen.latest;
  return outcome;
}

// Did someone else's run empty /data between this run's previous request and this one?
async function emptiedMeanwhile(run, since, entries) {
  if (!entries.length) return false;
  const log = await readLog(`path=/data&since=${since}`);
  return log.entries.some(entry => entry.method === "DELETE" && !entry.preflight && entry.run !== run
                                   && entry.id < entries[0].id);
}

function arrival(entry, sender) {
  const origin = entry.origin === null ? " (no Origin)" : entry.origin === sender ? ""
    : entry.origin === "null" ? " (Origin: null)" : ` (Origin: ${entry.origin})`;
  return `${entry.method} ${entry.path.split("?")[0]}${origin}`;
}

const GOT = {true: "read the response", false: "could not read the response", opaque: "got an opaque response"};
const WANTED = {true: "to read it", false: "to be blocked", opaque: "to get an opaque response"};

// What differs from what the lesson expects of this call; [] if nothing.
function problemsOf(call, outcome, run) {
  const problems = [];
  if (outcome.read !== call.readable) {
    const got = outcome.read === false ? ` (${outcome.error})` : outcome.read === true ? ` (status ${outcome.status})` : "";
    problems.push(`the page ${GOT[outcome.read]}${got}, where the lesson expects it ${WANTED[call.readable]}`);
  }
  const sender = senderOf(call);
  const seen = outcome.entries.map(entry => arrival(entry, sender));
  if (seen.join(", ") !== call.arrives.join(", ")) {
    const list = items => items.length ? items.join(" then ") : "nothing";
    problems.push(`the server saw ${list(seen)}, where the lesson expects ${list(call.arrives)}`);
  }
  if (outcome.read === true) {
    for (const [name, readable] of Object.entries(call.reads || {})) {
      if (readable && outcome.headers[name] === null) problems.push(`${name} could not be read`);
      if (!readable && outcome.headers[name] !== null) problems.push(`${name} could be read`);
    }
    if (call.body_has && !outcome.body.includes(fill(call.body_has, run))) {
      problems.push(`the answer did not hold \u201c${fill(call.body_has, run)}\u201d`);
    }
  }
  if (call.cookie && !outcome.entries.some(entry => entry.cookies.includes(call.cookie))) {
    problems.push(`the ${call.cookie} cookie did not arrive`);
  }
  const last = outcome.entries.filter(entry => !entry.preflight).pop();
  if (call.status && last && last.status !== call.status) {
    problems.push(`the server answered ${last.status}, where the lesson expects ${call.status}`);
  }
  return problems;
}

// Conditions under which a known outcome is accepted (LESSON's known).
function holds(condition, call, outcome) {
  if (condition === "cross-site") return hostOf(call.runs_in in FRAMES ? OTHER : PAGE) !== hostOf(API);
  if (condition === "shared") return Boolean(outcome && outcome.shared);
  return condition === ENGINE;
}

// The problems, or none and the note of the known outcome this one is.
function judge(call, outcome, run) {
  const problems = problemsOf(call, outcome, run);
  if (problems.length) {
    for (const [condition, known] of Object.entries(call.known || {})) {
      if (!holds(condition, call, outcome)) continue;
      if (known.accept.some(accept => !problemsOf({...call, ...accept}, outcome, run).length)) {
        return {problems: [], note: [condition, known.note]};
      }
    }
  }
  return {problems, note: null};
}

// -- the experiments -------------------------------------------------------------

function expectation(experiment) {
  const readable = experiment.calls.map(call => call.readable);
  if (readable.every(value => value === true)) return ["ok", "\u2713 should be readable"];
  if (readable.every(value => value === false)) return ["bad", "\u2717 should be blocked"];
  if (readable.every(value => value === "opaque")) return ["na", "\u2013 should be opaque"];
  return ["ok", readable.map(icon).join(" then ")];
}

// Why an experiment cannot run here, or null.
function skipReason(experiment) {
  if (experiment.calls.some(call => call.path.includes("{api2}")) && !secondSpelling(API)) {
    return `it needs the API under a second host name (127.0.0.1 and localhost are two names for ` +
           `one machine), and ${hostOf(API)} has none here: a sandbox forwards one name per port.`;
  }
  return null;
}

// How a card names each condition of LESSON's known outcomes, and its chip once one happened.
const CONDITIONS = {
  Chromium: {label: "In Chromium", chip: "as Chromium is known to do"},
  Firefox: {label: "In Firefox", chip: "as Firefox is known to do"},
  "cross-site": {label: "Two hosts", chip: "as expected on two hosts"},
  shared: {label: "A shared server", chip: "as expected on a shared server"}};

// The [condition, note] pairs that hold here before anything runs: an engine, two hosts.
function notesBefore(experiment) {
  const notes = [];
  for (const call of experiment.calls) {
    for (const [condition, known] of Object.entries(call.known || {})) {
      if (condition !== "shared" && holds(condition, call, null)
          && !notes.some(([, note]) => note === known.note)) notes.push([condition, known.note]);
    }
  }
  return notes;
}

function experimentCard(experiment, number) {
  const calls = callsOf(experiment);
  const [chipTone, expected] = expectation(experiment);
  const code = el("pre", {}, el("code", {}, calls.map((c, i) =>
    fetchCode(c, calls.length > 1 ? `response${i + 1}` : "response")).join("\n")));
  const notes = notesBefore(experiment);
  const skip = skipReason(experiment);
  const card = el("article", {class: "experiment", id: `x-${experiment.id}`, "aria-labelledby": `t-${experiment.id}`},
    el("header", {},
      el("h3", {id: `t-${experiment.id}`}, `${number}. ${experiment.title}`),
      el("span", {class: `chip ${chipTone}`}, expected),
      el("span", {class: "outcome", role: "status"})),
    el("div", {class: "cols"},
      el("div", {},
        el("p", {}, el("b", {}, "Tries: "), experiment.tries),
        code,
        el("p", {class: "why"}, el("b", {}, "Why: "), experiment.why),
        notes.map(([condition, note]) => el("p", {class: "known"}, el("b", {}, `${CONDITIONS[condition].label}: `), note)),
        el("div", {class: "actions"},
          el("button", {type: "button", class: "run", "aria-label": `Run experiment ${number}: ${experiment.title}`}, "Run"))),
      el("div", {class: "result"},
        el("p", {class: "placeholder"}, skip ? `Skipped here: ${skip}`
          : "Not run yet. Run it, and this browser's outcome, the requests the server saw " +
            "(preflights included) and a picture of the messages appear here."))));
  const button = card.querySelector("button");
  if (skip) button.disabled = true;
  button.addEventListener("click", () => exclusive(() => runExperiment(experiment, card)));
  return card;
}

// One run at a time: a Run pressed during Run all waits for it, and the other way round.
let queue = Promise.resolve();
function exclusive(task) {
  const done = queue.then(task);
  queue = done.catch(() => {});
  return done;
}

async function runExperiment(experiment, card) {
  const skip = skipReason(experiment) || await framesMissing(experiment);
  if (skip) {
    showSkipped(card, skip);
    return {id: experiment.id, title: experiment.title, skipped: skip};
  }
  const button = card.querySelector("button");
  button.disabled = true;
  const calls = callsOf(experiment);
  const run = runToken(), seen = {latest: 0, before: 0};
  const outcomes = [], notes = [];
  let problems = [];
  try {
    for (const call of calls) {
      const outcome = await perform(call, run, seen);
      const verdict = judge(call, outcome, run);
      outcomes.push(outcome);
      problems = problems.concat(verdict.problems);
      if (verdict.note) notes.push(verdict.note);
    }
  } catch (error) {
    problems.push(`the experiment could not run: ${error.message}`);
  }
  showResult(card, experiment, calls, outcomes, problems, notes);
  button.disabled = false;
  return {id: experiment.id, title: experiment.title, as_expected: problems.length === 0, problems};
}

// Why the frames an experiment runs in are not there, or null once they are.
async function framesMissing(experiment) {
  for (const call of experiment.calls) {
    if (!(call.runs_in in FRAMES)) continue;
    try { await FRAMES[call.runs_in].ready; } catch (error) { return error.message; }
  }
  return null;
}

function showSkipped(card, why) {
  card.querySelector(".result").replaceChildren(el("p", {class: "placeholder"}, `Skipped: ${why}`));
  card.querySelector(".outcome").replaceChildren(el("span", {class: "chip na"}, "skipped"));
}

function showResult(card, experiment, calls, outcomes, problems, notes) {
  const result = card.querySelector(".result");
  result.replaceChildren();
  const fine = problems.length === 0;
  card.classList.toggle("unexpected", !fine);
  card.querySelector(".outcome").replaceChildren(el("span", {class: `chip ${fine ? "ok" : "warn"}`},
    !fine ? "\u26a0 unexpected" : notes.length ? `\u2713 ${CONDITIONS[notes[0][0]].chip}` : "\u2713 as the lesson says"));
  if (!fine) result.append(el("ul", {class: "problems"}, problems.map(p => el("li", {}, p))));
  const before = notesBefore(experiment).map(([, note]) => note);
  for (const [condition, note] of notes) {
    if (!before.includes(note)) result.append(el("p", {class: "known"}, el("b", {}, `${CONDITIONS[condition].label}: `), note));
  }
  outcomes.forEach((outcome, index) => {
    const call = calls[index];
    if (outcomes.length > 1) result.append(el("h4", {class: "call"}, `Call ${index + 1}`));
    result.append(el("h4", {}, call.runs_in in FRAMES ? `In ${FRAMES[call.runs_in].where}` : "This browser"),
                  browserSaw(outcome),
                  el("h4", {}, "The server saw"), serverSaw(outcome),
                  picture(call, outcome));
  });
}

function browserSaw(outcome) {
  if (outcome.read === false) {
    return el("p", {class: "bad"}, `\u2717 fetch failed: ${outcome.error || "no answer"}`);
  }
  if (outcome.read === "opaque") {
    return el("p", {class: "na"}, `\u2013 fetch resolved with an opaque response: type '${outcome.type}', ` +
      `status ${outcome.status}, body ${JSON.stringify(outcome.body)}: nothing to read, and no error`);
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
  const from = entry.origin === null ? "no Origin" : `Origin: ${entry.origin}`;
  return el("li", {},
    el("span", {class: "mono"}, `${what} \u2192 ${entry.status}`),
    el("span", {class: "from mono"}, from),
    el("span", {class: `verdict ${tone(entry.allowed)}`}, `${icon(entry.allowed)} ${entry.verdict}`));
}

function serverSaw(outcome) {
  if (!outcome.entries.length) return el("p", {class: "na"}, "Nothing: no request of this call reached the server.");
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

function answerLines(entry) {
  const lines = Object.entries(entry.response_headers).filter(([name]) => name.startsWith("Access-Control-"))
    .map(([name, value]) => `${name}: ${value}`);
  if (!lines.length) lines.push("no Access-Control-* header");
  if (entry.response_headers.Location) lines.push(`Location: ${entry.response_headers.Location}`);
  return lines;
}

const reasonOf = entry => (entry.with_credentials || entry.verdict).replace(/^blocked: /, "");
const originLine = entry => entry.origin === null ? "no Origin" : `Origin: ${entry.origin}`;

function picture(call, outcome) {
  const method = ((call.init && call.init.method) || "GET");
  const lane = call.runs_in in FRAMES ? FRAMES[call.runs_in].lane : "Page";
  const steps = [el("div", {class: "lane"}, el("span", {}, lane)),
                 el("div", {class: "lane"}, el("span", {}, "Browser")),
                 el("div", {class: "lane"}, el("span", {}, "Server"))];
  steps.push(arrow("page", "browser", `fetch ${method} ${short(call.path)}`,
                   call.init.mode ? [`mode: '${call.init.mode}'`] : [], "request"));
  const entries = outcome.entries;
  if (call.preflight && !entries.some(entry => entry.preflight) && entries.length) {
    steps.push(mark("preflight answer still cached: no OPTIONS sent", "na"));
  }
  let stopped = false;
  entries.forEach((entry, index) => {
    const next = entries[index + 1];
    if (entry.preflight) {
      const asked = [originLine(entry), `Access-Control-Request-Method: ${entry.request_headers["Access-Control-Request-Method"]}`];
      const names = entry.request_headers["Access-Control-Request-Headers"];
      if (names) asked.push(`Access-Control-Request-Headers: ${names}`);
      steps.push(arrow("browser", "server", `preflight: OPTIONS ${short(entry.path)}`, asked, "request"));
      steps.push(arrow("server", "browser", `${entry.status}`, answerLines(entry), "response"));
      if (entry.allowed === false && next) {       // the standard says stop; this browser did not
        steps.push(mark(`\u26a0 the standard says: ${reasonOf(entry)}. This browser sent the ${method} anyway.`, "warn"));
      } else if (entry.allowed === false) {
        steps.push(mark(`\u2717 the browser stops here: ${reasonOf(entry)}`, "bad"));
        stopped = true;
      } else {
        steps.push(mark("\u2713 preflight passed", "ok"));
      }
      return;
    }
    const sent = [originLine(entry)];
    if (entry.cookies.length) sent.push(`Cookie: ${entry.cookies.join(", ")}`);
    steps.push(arrow("browser", "server", `${entry.method} ${short(entry.path)}`, sent, "request"));
    steps.push(arrow("server", "browser", `${entry.status}`, answerLines(entry), "response"));
    const location = entry.response_headers.Location;
    if (location && next) {
      const tainted = next.origin === "null" && entry.origin !== "null" ? "; from here on Origin: null (another origin)" : "";
      steps.push(mark(`\u21aa the redirect passed the CORS check: the browser follows it${tainted}`, "ok"));
    } else if (location && outcome.read === false) {
      steps.push(mark(`\u2717 the browser does not follow the redirect: ${reasonOf(entry)}`, "bad"));
      stopped = true;
    } else if (outcome.read === false && !next) {
      const why = entry.allowed === false || entry.with_credentials ? reasonOf(entry) : "see the browser's console";
      steps.push(mark(`\u2717 the browser blocks the read: ${why}`, "bad"));
      stopped = true;
    }
  });
  if (!entries.length) steps.push(mark("\u2717 nothing reached the server", "bad"));
  if (outcome.read === true) {
    steps.push(arrow("browser", "page", `\u2713 response: ${outcome.status}`, [], "response"));
  } else if (outcome.read === "opaque") {
    steps.push(arrow("browser", "page", "opaque response: status 0, no headers, no body",
                     ["the page has it, and cannot open it"], "response opaque"));
  } else {
    steps.push(arrow("browser", "page", `\u2717 ${outcome.error || "TypeError"}`,
                     stopped ? [] : ["the browser refused"], "response"));
  }
  return el("div", {class: "diagram", role: "img",
                    "aria-label": `Messages between the ${lane.toLowerCase()}, the browser and the server`}, steps);
}

// -- run all, autorun ---------------------------------------------------------------

async function runAll() {
  const buttons = $$("button.run");
  for (const button of buttons) { button.disabled = true; button.title = "waits for Run all"; }
  $("#summary").textContent = "running\u2026";
  const results = [];
  for (const experiment of EXPERIMENTS) {
    const card = $(`#x-${experiment.id}`);
    results.push(await runExperiment(experiment, card));
    card.querySelector("button").disabled = true;      // until Run all is over
  }
  const ran = results.filter(r => !r.skipped);
  const passed = ran.filter(r => r.as_expected).length;
  const skipped = results.length - ran.length;
  $("#summary").replaceChildren(el("span", {class: `chip ${passed === ran.length ? "ok" : "warn"}`},
    `${passed} of ${ran.length} experiments behaved as the lesson says, in ${browserName()}` +
    (skipped ? `; ${skipped} skipped (each card says why)` : "")));
  for (const [index, button] of buttons.entries()) {
    button.disabled = Boolean(skipReason(EXPERIMENTS[index]));
    button.removeAttribute("title");
  }
  return results;
}

async function autorun() {
  const results = await exclusive(runAll);
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
  return {path, url: API + path, init, runs_in: "page", reads: {"X-Demo-Count": true, "X-Demo-Hidden": false}};
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
  const outcome = await exclusive(async () => {
    call.preflight = await whyPreflight(call.init);
    return perform(call, runToken(), {latest: 0, before: 0});
  }).catch(error => ({read: false, error: error.message, entries: [], headers: {}}));
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
  if (outcome.read === true) {
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
  return el("div", {class: "log-row", role: "row"},
    el("span", {class: "mono", role: "cell"}, new Date(entry.time).toLocaleTimeString([], {hour12: false})),
    el("span", {class: "mono", role: "cell"}, `${entry.preflight ? "OPTIONS (preflight)" : entry.method} ${entry.path}`),
    el("span", {class: "origin mono", role: "cell"}, entry.origin === null ? "no Origin" : entry.origin),
    el("span", {class: "status mono", role: "cell"}, String(entry.status)),
    el("span", {class: `verdict-cell ${tone(entry.allowed)}`, role: "cell"}, `${icon(entry.allowed)} ${entry.verdict}`));
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

// Can this page reach the API, and read what it sends to allow-listed origins?
// One request; a second, opaque one only when the first fails, to tell an API
// that does not answer from one that does not trust this page.
async function checkApi() {
  const status = $("#allow-status");
  const run = "setup-" + runToken();
  status.className = "notice";
  status.textContent = `Asking the API at ${API}\u2026`;
  try {
    await fetch(withRun(`${API}/allow-origin`, run), {cache: "no-store"});
    status.className = "notice ok";
    status.replaceChildren(`\u2713 The API at ${API} answers, and this page's origin, ${PAGE}, is on its allow-list.`);
    return;
  } catch {}
  try {
    await fetch(withRun(`${API}/`, run), {mode: "no-cors", cache: "no-store"});
  } catch {
    status.className = "notice bad";
    status.replaceChildren(`\u2717 No answer from the API at ${API}/, so every experiment will fail. Is `,
      el("code", {}, "python cors_demo.py"), " running? If the API has another URL, give it in the API field above or as ",
      el("code", {}, "?api=URL"), `. In a sandbox that forwards ports, the API's port ` +
      `(${new URL(API).port || SETTINGS.api_port}) must be forwarded, and public, for this browser to reach it.`);
    return;
  }
  const command = `${SETTINGS.command} --allow-origin ${PAGE}`;
  status.className = "notice warn";
  status.replaceChildren(`\u26a0 The API at ${API} answers, but this page's origin, ${PAGE}, is not on its ` +
    "allow-list, so the experiments that need it will be blocked. Restart the demo with ",
    el("code", {}, command), ".");
}

function useApi(event) {
  event.preventDefault();
  const api = originFrom($("#api").value);
  if (!api) { $("#api").setCustomValidity("a URL such as http://127.0.0.1:8000"); $("#api").reportValidity(); return; }
  $("#api").setCustomValidity("");
  API = api;
  params.set("api", api);
  history.replaceState(null, "", `?${params}`);
  showExperiments();
  showBuilderCode();
  checkApi();
}

function showExperiments() {
  const parts = [];
  EXPERIMENTS.forEach((experiment, index) => {
    if (!parts.length || parts[parts.length - 1].id !== experiment.part) {
      parts.push({id: experiment.part, cards: []});
    }
    parts[parts.length - 1].cards.push(experimentCard(experiment, index + 1));
  });
  $("#experiments").replaceChildren(...parts.map(part =>
    el("section", {class: "part", "aria-labelledby": `part-${part.id}`},
      el("h3", {class: "part-title", id: `part-${part.id}`}, SETTINGS.parts[part.id]),
      part.cards)));
}

async function start() {
  $("#page-origin").textContent = PAGE;
  $("#other-origin").textContent = OTHER;
  $("#api").value = API;
  $("#api-form").addEventListener("submit", useApi);
  startFrames();
  showExperiments();
  $("#run-all").addEventListener("click", () => exclusive(runAll));
  $("#builder").addEventListener("input", showBuilderCode);
  $("#builder").addEventListener("submit", runBuilder);
  showBuilderCode();
  const api = checkApi();
  try {
    logLatest = Math.max(0, (await readLog("since=1000000000000000")).latest - 30);
  } catch (error) {
    $("#log-status").textContent = `The playground's /log could not be read: ${error.message}`;
  }
  await refreshLog();
  setInterval(refreshLog, 2000);
  await api;
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
    <p id="allow-status" class="notice" role="status">Asking the API&hellip;</p>
    <div id="frames" class="frames">
      <p>The other origin, <code id="other-origin"></code>, on no allow-list: the last
      experiments run their fetches in these two frames of it, the second sandboxed (its
      origin is <code>null</code>).</p>
      <div id="frame-other" class="frame"></div>
      <div id="frame-sandboxed" class="frame"></div>
    </div>
    <div class="actions">
      <button id="run-all" type="button">Run all</button>
      <span id="summary" role="status"></span>
    </div>
    <p class="legend"><span class="ok">&#x2713; readable</span> &middot;
      <span class="bad">&#x2717; blocked</span> &middot;
      <span class="na">&ndash; opaque</span> &middot;
      <span class="warn">&#x26a0; unexpected: not what the lesson says</span>.
      The page adds a run token, <code>run=&hellip;</code>, to every URL it fetches (and to a
      redirect's <code>to=</code>); the API ignores it. It finds this page's requests in the
      log, whoever else uses the server, and gives each run its own preflight cache. The code
      shown leaves it out.</p>
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
    <div id="log-rows" class="log-rows" role="table" tabindex="0" aria-label="The server's log, newest first">
      <div class="log-row head" role="row"><span role="columnheader">time</span><span role="columnheader">request</span><span class="origin" role="columnheader">Origin</span><span class="status" role="columnheader">status</span><span class="verdict-cell" role="columnheader">verdict</span></div>
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
                "parts": PARTS, "lesson": lesson_json(demo.max_age)}
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

document.getElementById("origin").textContent = self.origin;    // "null" when sandboxed
if (isOrigin(parentOrigin) && window.parent !== window) {
  addEventListener("message", async event => {
    if (event.source !== window.parent || event.origin !== parentOrigin) return;
    const outcome = await perform(event.data);
    const {method = "GET"} = event.data.init || {};
    document.getElementById("last").textContent = `Last: ${method} ${new URL(event.data.url).pathname}: ` +
      (outcome.readable ? `read, status ${outcome.status}` : "blocked");
    window.parent.postMessage(outcome, parentOrigin);
  });
  window.parent.postMessage({ready: true, origin: location.origin}, parentOrigin);
}
"""

FRAME_STYLE = ("body { font: 13px/1.4 system-ui, sans-serif; margin: 6px 8px; color: #5a6372; } "
               "p { margin: 0; } code { overflow-wrap: anywhere; }")

FRAME_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cors_demo: another origin</title>
<link rel="icon" href="data:,">
<style>@STYLE@</style>
</head>
<body>
<p><b>Another origin</b>, <code id="origin"></code>, on no allow-list.
<span id="last">It makes the fetches the playground asks for.</span></p>
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
    # Ctrl-C stops the demo, or check, wherever it was started: a shell that starts
    # a job in the background ignores SIGINT for it, and it would not hear Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if argv[:1] == ["check"]:
        return check_main(argv[1:])
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        return serve(parse_args(argv))
    except KeyboardInterrupt:     # stopped before it had started: nothing to clean up
        return 0


if __name__ == "__main__":
    sys.exit(main())
