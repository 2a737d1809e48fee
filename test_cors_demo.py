"""The behaviour cors_demo's users rely on, checked from the outside.

Servers start in-process on free ports; requests go through urllib as a
client library would, and through http.client or a raw socket where urllib
cannot say what we need to send (folded headers, broken request lines,
slow clients). Run: python -m unittest -v
"""

import contextlib
import http.client
import http.server
import io
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from unittest import mock

import cors_demo

HERE = Path(__file__).resolve().parent
PAGE = "http://127.0.0.1:8001"          # an origin the test servers allow-list
OTHER = "http://evil.example"           # one they do not
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy


class Reply:
    """What came back: status, headers, body (JSON decoded when it is JSON)."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.raw = status, headers, body

    def json(self):
        return json.loads(self.raw)


def fetch(base, path, method="GET", headers=None, data=None):
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers=headers or {})
    try:
        with OPENER.open(request, timeout=5) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def raw_exchange(port, data, timeout=5.0):
    """Send bytes on a new connection; return everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_all(sock)


def read_all(sock):
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def split_responses(raw):
    """Consecutive responses on one connection, framed by their Content-Length."""
    responses = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        responses.append(head + b"\r\n\r\n" + rest[:length])
        raw = rest[length:]
    return responses


def status_of(raw):
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


def header_lines(raw):
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head.split("\r\n")[1:]


class ServerTestCase(unittest.TestCase):
    """Starts one demo per class, on free ports, quiet."""
    demo_options = {}

    @classmethod
    def setUpClass(cls):
        options = {"port": 0, "allow_origins": [PAGE, "http://localhost:8001"], "quiet": True}
        options.update(cls.demo_options)
        cls.demo = cors_demo.Demo(**options).start()
        cls.api = cls.demo.api_url
        cls.api_port = cls.demo.api_port
        cls.playground = cls.demo.playground_url

    @classmethod
    def tearDownClass(cls):
        cls.demo.stop()

    def get(self, path, origin=None, method="GET", headers=None, data=None):
        headers = dict(headers or {})
        if origin:
            headers["Origin"] = origin
        return fetch(self.api, path, method, headers, data)

    def preflight(self, path, method, origin=PAGE, request_headers=None, extra=None):
        headers = {"Access-Control-Request-Method": method, **(extra or {})}
        if request_headers:
            headers["Access-Control-Request-Headers"] = request_headers
        return self.get(path, origin, "OPTIONS", headers)

    def assertNoCors(self, reply):
        cors = [name for name in reply.headers if name.lower().startswith("access-control-")]
        self.assertEqual(cors, [])


# ---------------------------------------------------------------- the routes

class TestLessonRoutes(ServerTestCase):

    def test_bare_route_sends_no_cors_headers(self):
        for origin in (None, PAGE, OTHER):
            with self.subTest(origin=origin):
                reply = self.get("/", origin)
                self.assertEqual(reply.status, 200)
                self.assertNoCors(reply)
                self.assertIsNone(reply.headers.get("Vary"))
                self.assertEqual(reply.json(), json.loads((HERE / "message.json").read_text()))

    def test_routes_answer_json_with_content_length(self):
        for path in ("/", "/allow-cors", "/allow-origin", "/allow-credentials", "/data", "/cors"):
            with self.subTest(path=path):
                reply = self.get(path, PAGE)
                self.assertEqual(reply.headers["Content-Type"], "application/json")
                self.assertEqual(int(reply.headers["Content-Length"]), len(reply.raw))
                reply.json()

    def test_allow_cors_sends_star_to_everyone(self):
        for origin in (None, PAGE, OTHER, "null"):
            with self.subTest(origin=origin):
                reply = self.get("/allow-cors", origin)
                self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
                self.assertIsNone(reply.headers.get("Access-Control-Allow-Credentials"))
                self.assertIsNone(reply.headers.get("Vary"))

    def test_allow_origin_echoes_only_allow_listed_origins(self):
        reply = self.get("/allow-origin", PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        self.assertEqual(reply.headers["Vary"], "Origin")
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Credentials"))

    def test_allow_origin_refuses_near_misses_and_null(self):
        near_misses = [OTHER, "null", PAGE + "/", PAGE.upper(), "http://127.0.0.1:80011",
                       "http://127.0.0.1:800", "https://127.0.0.1:8001",
                       "http://127.0.0.1:8001.evil.example", "http://x.127.0.0.1:8001"]
        for path in ("/allow-origin", "/allow-credentials", "/data"):
            for origin in near_misses:
                with self.subTest(path=path, origin=origin):
                    reply = self.get(path, origin)
                    self.assertEqual(reply.status, 200)
                    self.assertNoCors(reply)
                    self.assertEqual(reply.headers["Vary"], "Origin")

    def test_allow_origin_without_origin_still_varies(self):
        reply = self.get("/allow-origin")
        self.assertNoCors(reply)
        self.assertEqual(reply.headers["Vary"], "Origin")

    def test_allow_credentials_sends_origin_and_true_never_star(self):
        reply = self.get("/allow-credentials", PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Credentials"], "true")
        self.assertEqual(reply.headers["Vary"], "Origin")

    def test_allow_credentials_sets_cookie_when_none_arrived(self):
        reply = self.get("/allow-credentials", PAGE)
        cookie = reply.headers["Set-Cookie"]
        self.assertRegex(cookie, r"^cors_demo=[0-9a-f]{16}; HttpOnly; SameSite=Lax; Path=/$")
        self.assertEqual(reply.json()["cookies"], [])

    def test_allow_credentials_reports_cookies_and_sets_none_when_present(self):
        reply = self.get("/allow-credentials", PAGE, headers={"Cookie": "cors_demo=abc; theme=dark"})
        self.assertIsNone(reply.headers.get("Set-Cookie"))
        self.assertEqual(reply.json()["cookies"], ["cors_demo", "theme"])
        self.assertEqual(reply.json()["message"], self.demo.message["message"])

    def test_head_has_get_headers_and_no_body(self):
        for path in ("/", "/allow-cors", "/allow-origin", "/data", "/cors?allow-origin=*"):
            with self.subTest(path=path):
                got, head = self.get(path, PAGE), self.get(path, PAGE, "HEAD")
                self.assertEqual(head.status, 200)
                self.assertEqual(head.raw, b"")
                for name in ("Access-Control-Allow-Origin", "Vary", "Content-Type"):
                    self.assertEqual(head.headers.get(name), got.headers.get(name))

    def test_head_of_a_fixed_answer_says_its_length(self):
        got, head = self.get("/allow-cors", PAGE), self.get("/allow-cors", PAGE, "HEAD")
        self.assertEqual(head.headers["Content-Length"], str(len(got.raw)))

    def test_head_of_a_listing_builds_no_body_so_says_no_length(self):
        # RFC 9110 9.3.2: a HEAD answer may leave Content-Length out; /data and /log
        # would have to build their whole listing to know it.
        self.assertIsNone(self.get("/data", PAGE, "HEAD").headers.get("Content-Length"))
        self.assertIsNone(fetch(self.playground, "/log", "HEAD").headers.get("Content-Length"))

    def test_unknown_path_is_404_json(self):
        for path in ("/nope", "/allow-cors/", "/ALLOW-CORS", "/allow%2Dcors"):
            with self.subTest(path=path):
                reply = self.get(path, PAGE)
                self.assertEqual(reply.status, 404)
                self.assertIn("/allow-cors", reply.json()["error"])
                self.assertNoCors(reply)

    def test_missing_method_is_405_with_allow(self):
        cases = [("/", "POST", "GET, HEAD"), ("/allow-cors", "PUT", "GET, HEAD"),
                 ("/allow-origin", "DELETE", "GET, HEAD"),
                 ("/allow-credentials", "OPTIONS", "GET, HEAD"),
                 ("/data", "PUT", "GET, HEAD, POST, DELETE, OPTIONS"),
                 ("/data", "PATCH", "GET, HEAD, POST, DELETE, OPTIONS")]
        for path, method, allow in cases:
            with self.subTest(path=path, method=method):
                reply = self.get(path, PAGE, method)
                self.assertEqual(reply.status, 405)
                self.assertEqual(reply.headers["Allow"], allow)
                self.assertIn(method, reply.json()["error"])

    def test_error_carries_the_routes_cors_headers(self):
        reply = self.get("/allow-cors", PAGE, "PUT")
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
        reply = self.get("/allow-origin", PAGE, "PUT")
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        reply = self.get("/allow-origin", OTHER, "PUT")
        self.assertNoCors(reply)

    def test_preflight_to_a_route_without_preflights_is_405(self):
        reply = self.preflight("/allow-cors", "PUT")
        self.assertEqual(reply.status, 405)
        self.assertEqual(reply.headers["Allow"], "GET, HEAD")
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Methods"))

    def test_server_wide_options_lists_methods(self):
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            sock.sendall(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw = read_all(sock)
        self.assertEqual(status_of(raw), 204)
        self.assertIn("Allow: GET, HEAD, POST, DELETE, OPTIONS", header_lines(raw))


class TestMessageFile(unittest.TestCase):

    def test_missing_message_file_answers_built_in_message_with_a_warning(self):
        demo = cors_demo.Demo(port=0, message_path=HERE / "no-such-message.json")
        try:
            demo.start()
            self.assertEqual(len(demo.warnings), 1)
            self.assertIn("no-such-message.json", demo.warnings[0])
            reply = fetch(demo.api_url, "/")
            self.assertEqual(reply.json(), cors_demo.BUILT_IN_MESSAGE)
        finally:
            demo.stop()

    def test_message_file_is_served_as_read(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "message.json"
            path.write_text('{"message": "custom"}')
            demo = cors_demo.Demo(port=0, message_path=path).start()
            try:
                self.assertEqual(demo.warnings, [])
                self.assertEqual(fetch(demo.api_url, "/allow-cors").json(), {"message": "custom"})
            finally:
                demo.stop()


# ---------------------------------------------------------------- /data

class TestData(ServerTestCase):

    def setUp(self):
        self.get("/data", method="DELETE")

    def post(self, body, origin=PAGE, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.get("/data", origin, "POST", {"Content-Type": content_type}, data)

    def test_post_adds_a_note_and_get_lists_it(self):
        reply = self.post({"text": "hello"})
        self.assertEqual(reply.status, 201)
        self.assertEqual(reply.json()["note"]["text"], "hello")
        notes = self.get("/data", PAGE).json()["notes"]
        self.assertEqual([note["text"] for note in notes], ["hello"])

    def test_delete_empties_the_list(self):
        self.post({"text": "a"})
        self.post({"text": "b"})
        reply = self.get("/data", PAGE, "DELETE")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json(), {"deleted": 2})
        self.assertEqual(self.get("/data").json(), {"notes": []})

    def test_bad_bodies_are_400_and_store_nothing(self):
        bodies = [b"", b"not json", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b'{"txt": "x"}',
                  b'{"text": 5}', b'{"text": "x", "more": 1}', b"[" * 5000]
        for body in bodies:
            with self.subTest(body=body[:20]):
                reply = self.post(body)
                self.assertEqual(reply.status, 400)
                self.assertIn("text", reply.json()["error"])
                self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        self.assertEqual(self.get("/data").json(), {"notes": []})

    def test_body_over_16_kib_is_413_and_stores_nothing(self):
        text = "x" * (16 * 1024)
        reply = self.post({"text": text})
        self.assertEqual(reply.status, 413)
        self.assertIn("16384", reply.json()["error"])
        self.assertEqual(self.get("/data").json(), {"notes": []})

    def test_body_of_exactly_16_kib_is_accepted(self):
        body = json.dumps({"text": ""}).encode()
        body = body[:-2] + b"x" * (16 * 1024 - len(body)) + b'"}'
        self.assertEqual(len(body), 16 * 1024)
        self.assertEqual(self.post(body).status, 201)

    def test_listing_stays_under_2_mib_whatever_was_stored(self):
        notes = [{"text": "\U0001f600" * 4000}, {"text": '"\\' * 2700}, {"text": "\u2028" * 5400}]
        for number in range(cors_demo.MAX_NOTES):
            body = json.dumps(notes[number % 3], ensure_ascii=False).encode()
            self.assertLessEqual(len(body), cors_demo.MAX_BODY)
            self.assertEqual(self.get("/data", PAGE, "POST", data=body).status, 201)
        listing = self.get("/data", PAGE)
        self.assertLess(len(listing.raw), 2 * 1024 * 1024)
        self.assertEqual(listing.json()["notes"][0]["text"], notes[0]["text"])

    def test_a_lone_surrogate_is_400_and_stores_nothing(self):
        reply = self.get("/data", PAGE, "POST", data=b'{"text": "\\ud800"}')
        self.assertEqual(reply.status, 400)
        self.assertEqual(self.get("/data", PAGE).json()["notes"], [])

    def test_at_most_100_notes_oldest_goes(self):
        for number in range(105):
            self.post({"text": str(number)})
        notes = self.get("/data").json()["notes"]
        self.assertEqual(len(notes), 100)
        self.assertEqual(notes[0]["text"], "5")
        self.assertEqual(notes[-1]["text"], "104")

    def test_concurrent_posts_lose_and_duplicate_nothing(self):
        def post_many(worker):
            connection = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=10)
            for number in range(10):
                body = json.dumps({"text": f"{worker}-{number}"})
                connection.request("POST", "/data", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                self.assertEqual(response.status, 201)
            connection.close()
        threads = [threading.Thread(target=post_many, args=(worker,)) for worker in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        notes = self.get("/data").json()["notes"]
        texts = sorted(note["text"] for note in notes)
        self.assertEqual(texts, sorted(f"{w}-{n}" for w in range(8) for n in range(10)))
        self.assertEqual(len({note["id"] for note in notes}), 80)

    def test_actual_responses_expose_count_but_not_hidden(self):
        self.post({"text": "one"})
        for method in ("GET", "HEAD", "DELETE"):
            with self.subTest(method=method):
                reply = self.get("/data", PAGE, method)
                self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
                self.assertEqual(reply.headers["Access-Control-Expose-Headers"], "X-Demo-Count")
                self.assertEqual(reply.headers["Vary"], "Origin")
                self.assertIn("X-Demo-Count", reply.headers)
                self.assertIn("X-Demo-Hidden", reply.headers)

    def test_count_header_counts_notes(self):
        self.assertEqual(self.post({"text": "a"}).headers["X-Demo-Count"], "1")
        self.assertEqual(self.post({"text": "b"}).headers["X-Demo-Count"], "2")
        self.assertEqual(self.get("/data", PAGE, "DELETE").headers["X-Demo-Count"], "0")

    def test_actual_response_to_refused_origin_has_no_cors_headers(self):
        reply = self.get("/data", OTHER)
        self.assertNoCors(reply)
        self.assertEqual(reply.headers["Vary"], "Origin")

    def test_preflight_from_allowed_origin_is_204_with_every_allow_header(self):
        reply = self.preflight("/data", "DELETE", request_headers="content-type,x-demo")
        self.assertEqual(reply.status, 204)
        self.assertEqual(reply.raw, b"")
        self.assertIsNone(reply.headers.get("Content-Length"))
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Methods"],
                         "GET, POST, DELETE, HEAD, OPTIONS")
        self.assertEqual(reply.headers["Access-Control-Allow-Headers"], "Content-Type, X-Demo")
        self.assertEqual(reply.headers["Access-Control-Max-Age"], "600")
        self.assertEqual(reply.headers["Vary"], "Origin, Access-Control-Request-Method, "
                                                "Access-Control-Request-Headers")
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Credentials"))
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Private-Network"))

    def test_preflight_allows_only_the_requested_headers(self):
        reply = self.preflight("/data", "POST", request_headers="content-type")
        self.assertEqual(reply.headers["Access-Control-Allow-Headers"], "Content-Type")
        reply = self.preflight("/data", "DELETE")
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Headers"))
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)

    def test_refused_preflights_are_204_without_allow_headers(self):
        cases = {"other origin": (OTHER, "DELETE", None),
                 "null origin": ("null", "DELETE", None),
                 "other method": (PAGE, "PUT", None),
                 "lower-case method": (PAGE, "delete", None),
                 "other header": (PAGE, "POST", "content-type,x-other"),
                 "authorization": (PAGE, "GET", "authorization"),
                 "malformed header list": (PAGE, "POST", "x-demo,bad name")}
        for case, (origin, method, request_headers) in cases.items():
            with self.subTest(case):
                reply = self.preflight("/data", method, origin, request_headers)
                self.assertEqual(reply.status, 204)
                self.assertNoCors(reply)
                self.assertEqual(reply.headers["Vary"], "Origin, Access-Control-Request-Method, "
                                                        "Access-Control-Request-Headers")

    def test_refused_preflight_means_the_actual_request_never_arrives(self):
        newest = fetch(self.playground, "/log").json()["entries"][0]["id"]
        self.preflight("/data", "PUT")
        entries = fetch(self.playground, f"/log?since={newest}").json()["entries"]
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]["method"], "OPTIONS")
        self.assertFalse(entries[0]["allowed"])
        self.assertIn("no Access-Control-Allow-Origin", entries[0]["verdict"])

    def test_private_network_preflight_is_answered_for_allowed_origins(self):
        extra = {"Access-Control-Request-Private-Network": "true"}
        reply = self.preflight("/data", "DELETE", extra=extra)
        self.assertEqual(reply.headers["Access-Control-Allow-Private-Network"], "true")
        reply = self.preflight("/data", "DELETE", OTHER, extra=extra)
        self.assertNoCors(reply)

    def test_options_without_preflight_headers_lists_methods(self):
        reply = self.get("/data", PAGE, "OPTIONS")
        self.assertEqual(reply.status, 204)
        self.assertEqual(reply.headers["Allow"], "GET, HEAD, POST, DELETE, OPTIONS")
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Methods"))

    def test_preflight_without_origin_is_not_answered_as_one(self):
        reply = self.get("/data", None, "OPTIONS", {"Access-Control-Request-Method": "DELETE"})
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Methods"))

    def test_max_age_follows_the_setting(self):
        demo = cors_demo.Demo(port=0, allow_origins=[PAGE], max_age=0).start()
        try:
            reply = fetch(demo.api_url, "/data", "OPTIONS",
                          {"Origin": PAGE, "Access-Control-Request-Method": "DELETE"})
            self.assertEqual(reply.headers["Access-Control-Max-Age"], "0")
        finally:
            demo.stop()


# ---------------------------------------------------------------- /cors

class TestCorsQuery(ServerTestCase):

    def test_no_parameters_no_cors_headers(self):
        reply = self.get("/cors", PAGE)
        self.assertEqual(reply.status, 200)
        self.assertNoCors(reply)
        self.assertEqual(reply.json(), {**self.demo.message, "cookies": []})

    def test_body_lists_the_cookies_that_arrived(self):
        reply = self.get("/cors?allow-origin=*", PAGE, headers={"Cookie": "a=1; b=2"})
        self.assertEqual(reply.json()["cookies"], ["a", "b"])

    def test_run_token_is_accepted_and_ignored(self):
        reply = self.get("/cors?allow-origin=*&run=abc123", PAGE)
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")

    def test_each_parameter_sets_its_header_on_the_right_response(self):
        cases = [  # parameter, value, header, on preflight, on actual
            ("allow-origin", "https://google.com", "Access-Control-Allow-Origin", True, True),
            ("allow-credentials", "true", "Access-Control-Allow-Credentials", True, True),
            ("allow-methods", "PUT, PATCH", "Access-Control-Allow-Methods", True, False),
            ("allow-headers", "x-demo", "Access-Control-Allow-Headers", True, False),
            ("max-age", "0", "Access-Control-Max-Age", True, False),
            ("allow-private-network", "true", "Access-Control-Allow-Private-Network", True, False),
            ("expose-headers", "x-demo-count", "Access-Control-Expose-Headers", False, True),
        ]
        for param, value, header, on_preflight, on_actual in cases:
            query = urllib.parse.urlencode({param: value})
            with self.subTest(param=param):
                actual = self.get(f"/cors?{query}", PAGE, "PUT")
                preflight = self.preflight(f"/cors?{query}", "PUT")
                self.assertEqual(actual.headers.get(header), value if on_actual else None)
                self.assertEqual(preflight.headers.get(header), value if on_preflight else None)

    def test_example_from_the_spec(self):
        query = ("allow-origin=*&allow-methods=PUT&allow-headers=x-demo"
                 "&expose-headers=x-demo-count&max-age=0&allow-credentials=true")
        reply = self.preflight("/cors?" + query, "PUT", request_headers="x-demo")
        self.assertEqual(reply.status, 204)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
        self.assertEqual(reply.headers["Access-Control-Allow-Methods"], "PUT")
        self.assertEqual(reply.headers["Access-Control-Allow-Headers"], "x-demo")
        self.assertEqual(reply.headers["Access-Control-Max-Age"], "0")
        self.assertEqual(reply.headers["Access-Control-Allow-Credentials"], "true")
        reply = self.get("/cors?" + query, PAGE, "PUT")
        self.assertEqual(reply.headers["Access-Control-Expose-Headers"], "x-demo-count")
        self.assertIn("X-Demo-Count", reply.headers)

    def test_any_method_answers(self):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"):
            with self.subTest(method=method):
                reply = self.get("/cors?allow-origin=*", PAGE, method, data=b"{}" if method == "POST" else None)
                self.assertEqual(reply.status, 200)
                self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")

    def test_allow_origin_origin_reflects_a_well_formed_origin(self):
        for origin in ("http://evil.example", "null", "https://a.b.example:8443",
                       "http://[::1]:8000"):
            with self.subTest(origin=origin):
                reply = self.get("/cors?allow-origin=origin", origin)
                self.assertEqual(reply.headers["Access-Control-Allow-Origin"], origin)
                self.assertEqual(reply.headers["Vary"], "Origin")

    def test_allow_origin_origin_reflects_nothing_malformed(self):
        for origin in ("http://a.example/path", "evil", "http://a b", "http://a.example:99999999",
                       "javascript:alert(1)", "http://a.example/"):
            with self.subTest(origin=origin):
                reply = self.get("/cors?allow-origin=origin", origin)
                self.assertIsNone(reply.headers.get("Access-Control-Allow-Origin"))
                self.assertEqual(reply.headers["Vary"], "Origin")

    def test_fixed_allow_origin_does_not_vary(self):
        reply = self.get("/cors?allow-origin=*", PAGE)
        self.assertIsNone(reply.headers.get("Vary"))

    def test_status_and_preflight_status(self):
        reply = self.get("/cors?allow-origin=*&status=404", PAGE)
        self.assertEqual(reply.status, 404)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
        reply = self.preflight("/cors?allow-origin=*&preflight-status=500", "PUT")
        self.assertEqual(reply.status, 500)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
        reply = self.preflight("/cors?allow-origin=*&preflight-status=200", "PUT")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers["Content-Length"], "0")
        reply = self.preflight("/cors?allow-origin=*", "PUT")
        self.assertEqual(reply.status, 204)

    def test_status_without_a_body(self):
        for status in ("204", "304"):
            with self.subTest(status=status):
                reply = self.get(f"/cors?status={status}", PAGE)
                self.assertEqual(reply.status, int(status))
                self.assertEqual(reply.raw, b"")
                self.assertIsNone(reply.headers.get("Content-Length"))

    def test_bad_status_is_400(self):
        for status in ("199", "600", "abc", "", "2OO", "١٢٣"):
            with self.subTest(status=status):
                reply = self.get("/cors?status=" + urllib.parse.quote(status), PAGE)
                self.assertEqual(reply.status, 400)

    def test_control_characters_and_long_values_are_400_and_not_echoed(self):
        values = ["http://a%0d%0aSet-Cookie:%20x=1", "a%00b", "a%0ab", "a%09b", "a%7fb",
                  "%C3%A9", "x" * 1025]
        for param in ("allow-origin", "allow-methods", "allow-headers", "expose-headers",
                      "max-age", "allow-credentials", "allow-private-network"):
            for value in values:
                with self.subTest(param=param, value=value[:30]):
                    reply = self.get(f"/cors?{param}={value}", PAGE)
                    self.assertEqual(reply.status, 400)
                    self.assertIsNone(reply.headers.get("Set-Cookie"))
                    self.assertNotIn(b"x=1", reply.raw)
                    self.assertNotIn(b"xxxx", reply.raw)
                    for name, header_value in reply.headers.items():
                        self.assertNotIn("x=1", header_value)

    def test_a_value_of_exactly_1_kib_is_sent(self):
        value = "x" * 1024
        reply = self.get(f"/cors?expose-headers={value}", PAGE)
        self.assertEqual(reply.headers["Access-Control-Expose-Headers"], value)

    def test_unknown_or_repeated_parameters_are_400(self):
        for query in ("allow-orgin=*", "allow-origin=*&allow-origin=*", "x"):
            with self.subTest(query=query):
                reply = self.get("/cors?" + query, PAGE)
                self.assertEqual(reply.status, 400)
                self.assertIn("error", reply.json())

    def test_bad_query_error_is_readable_by_allow_listed_pages_only(self):
        reply = self.get("/cors?allow-orgin=*", PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        self.assertIn("'allow-orgin'", reply.json()["error"])
        reply = self.get("/cors?allow-orgin=*", OTHER)
        self.assertNoCors(reply)


# ---------------------------------------------------------------- /redirect

class NotFollowing(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None          # the 3xx comes back as it is


NOT_FOLLOWING = urllib.request.build_opener(urllib.request.ProxyHandler({}), NotFollowing())


class TestRedirect(ServerTestCase):

    def get(self, path, origin=None, method="GET", headers=None, data=None):
        headers = {**(headers or {}), **({"Origin": origin} if origin else {})}
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        try:
            with NOT_FOLLOWING.open(request, timeout=5) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())

    def test_each_redirect_status_with_its_location(self):
        for status in (301, 302, 303, 307, 308):
            with self.subTest(status=status):
                reply = self.get(f"/redirect?to=/allow-cors&status={status}", PAGE)
                self.assertEqual(reply.status, status)
                self.assertEqual(reply.headers["Location"], "/allow-cors")
                self.assertEqual(reply.raw, b"")

    def test_302_by_default_and_no_cors_headers_unless_asked(self):
        reply = self.get("/redirect?to=/allow-cors", PAGE)
        self.assertEqual(reply.status, 302)
        self.assertNoCors(reply)

    def test_allow_origin_and_allow_credentials_go_on_the_redirect(self):
        reply = self.get("/redirect?to=/allow-cors&allow-origin=*", PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")
        reply = self.get("/redirect?to=/allow-credentials&allow-origin=origin&allow-credentials=true", PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], PAGE)
        self.assertEqual(reply.headers["Access-Control-Allow-Credentials"], "true")
        self.assertEqual(reply.headers["Vary"], "Origin")

    def test_absolute_http_and_https_targets(self):
        for target in ("http://localhost:8000/allow-cors?run=x", "https://api.example/data"):
            with self.subTest(target=target):
                reply = self.get("/redirect?to=" + urllib.parse.quote(target, safe=""), PAGE)
                self.assertEqual(reply.headers["Location"], target)

    def test_every_method_is_redirected_and_a_preflight_too(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                self.assertEqual(self.get("/redirect?to=/data", PAGE, method).status, 302)
        reply = self.preflight("/redirect?to=/data&allow-origin=*&status=307", "DELETE")
        self.assertEqual(reply.status, 307)
        self.assertEqual(reply.headers["Location"], "/data")
        self.assertEqual(reply.headers["Access-Control-Allow-Origin"], "*")

    def test_anything_but_a_path_or_an_http_url_is_400_and_not_echoed(self):
        for target in ("", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                       "ftp://a.example/", "http://", "/a b", "http://[::1/", "/x\r\nSet-Cookie: a=b",
                       "/" + "a" * 1024):
            with self.subTest(target=target):
                reply = self.get("/redirect?to=" + urllib.parse.quote(target, safe=""), PAGE)
                self.assertEqual(reply.status, 400)
                self.assertIsNone(reply.headers.get("Location"))
                self.assertNotIn("Set-Cookie", reply.headers)
        self.assertEqual(self.get("/redirect", PAGE).status, 400)

    def test_bad_status_or_unknown_parameter_is_400(self):
        for query in ("to=/&status=200", "to=/&status=300", "to=/&status=abc", "to=/&expose-headers=x",
                      "to=/&to=/data"):
            with self.subTest(query=query):
                self.assertEqual(self.get("/redirect?" + query, PAGE).status, 400)


# ---------------------------------------------------------------- the other origin

class TestOtherOrigin(ServerTestCase):

    def test_frame_is_a_page_with_only_its_own_script(self):
        reply = fetch(self.demo.other_url, "/frame?parent=" + urllib.parse.quote(PAGE, safe=""))
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers["Content-Type"], "text/html; charset=utf-8")
        page = reply.raw.decode()
        script = page.split("<script>")[1].split("</script>")[0]
        policy = reply.headers["Content-Security-Policy"]
        self.assertIn(f"script-src {cors_demo.csp_hash(script)};", policy)
        self.assertIn("default-src 'none'", policy)
        self.assertNotIn("unsafe-inline", policy)
        self.assertIn("event.origin !== parentOrigin", script)

    def test_other_origin_serves_nothing_else(self):
        self.assertEqual(fetch(self.demo.other_url, "/").status, 404)
        self.assertEqual(fetch(self.demo.other_url, "/allow-cors").status, 404)

    def test_other_origin_is_on_no_allow_list(self):
        self.assertNotIn(self.demo.other_url, self.demo.allow_list)
        reply = self.get("/allow-origin", self.demo.other_url)
        self.assertIsNone(reply.headers.get("Access-Control-Allow-Origin"))

    def test_ports_follow_the_api_port_unless_given(self):
        port = free_port_triple()
        try:
            demo = cors_demo.Demo(port=port)
        except cors_demo.ListenError:
            self.skipTest("the free ports were taken in between")
        self.addCleanup(demo.stop)
        self.assertEqual((demo.playground_port, demo.other_port), (port + 1, port + 2))

    def test_the_restart_command_keeps_every_flag(self):
        demo = cors_demo.Demo(host="127.0.0.1", port=0, allow_origins=["https://a.example"],
                              default_origins=False, max_age=5, max_connections=600)
        self.addCleanup(demo.stop)
        self.assertEqual(demo.command, [
            "python", "cors_demo.py", "--port", str(demo.api_port), "--playground-port",
            str(demo.playground_port), "--other-port", str(demo.other_port), "--no-default-origins",
            "--allow-origin", "https://a.example", "--max-age", "5", "--max-connections", "600",
            "--quiet"])


# ---------------------------------------------------------------- HTTP, strictly

class TestHttp(ServerTestCase):

    def exchange(self, data):
        return raw_exchange(self.api_port, data)

    def assertServing(self):
        self.assertEqual(self.get("/allow-cors").status, 200)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=5)
        connection.request("GET", "/allow-cors")
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        connection.request("GET", "/allow-origin", headers={"Origin": PAGE})
        second = connection.getresponse()
        second.read()
        self.assertIs(connection.sock, sock)
        self.assertEqual(second.getheader("Access-Control-Allow-Origin"), PAGE)
        self.assertIsNone(second.getheader("Connection"))
        connection.close()

    def test_pipelined_requests_are_answered_in_order(self):
        request = b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n"
        last = b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        raw = self.exchange(request * 3 + last)
        self.assertEqual([status_of(r) for r in split_responses(raw)], [200, 200, 200, 404])

    def test_post_body_is_read_so_the_next_request_is_parsed_right(self):
        body = b'{"text": "GET /allow-cors HTTP/1.1"}'
        raw = self.exchange(b"POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                            b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            % (len(body), body))
        self.assertEqual([status_of(r) for r in split_responses(raw)], [201, 404])

    def test_http_1_0_closes_unless_asked_to_keep_alive(self):
        raw = self.exchange(b"GET /allow-cors HTTP/1.0\r\n\r\n")
        self.assertEqual(status_of(raw), 200)
        self.assertIn("Connection: close", header_lines(raw))
        connection = socket.create_connection(("127.0.0.1", self.api_port), timeout=5)
        with connection:
            connection.sendall(b"GET /allow-cors HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            first = connection.recv(65536)
            self.assertIn("Connection: keep-alive", header_lines(first))
            connection.sendall(b"GET /allow-cors HTTP/1.0\r\n\r\n")
            self.assertEqual(status_of(read_all(connection)), 200)

    def test_connection_close_is_honoured(self):
        raw = self.exchange(b"GET /allow-cors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(raw), 200)
        self.assertIn("Connection: close", header_lines(raw))

    def test_expect_100_continue_gets_an_interim_answer(self):
        body = b'{"text": "after continue"}'
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            sock.sendall(b"POST /data HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            self.assertEqual(sock.recv(25), b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
            self.assertEqual(status_of(read_all(sock)), 201)

    def test_responses_carry_date_and_content_length(self):
        raw = self.exchange(b"GET /allow-cors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        lines = header_lines(raw)
        self.assertTrue(any(line.startswith("Date: ") for line in lines))
        body = raw.split(b"\r\n\r\n", 1)[1]
        self.assertIn(f"Content-Length: {len(body)}", lines)

    def test_bad_requests_get_a_status_line_and_a_closed_connection(self):
        cases = {  # what is wrong: (bytes sent, status expected)
            "HTTP/0.9 request": (b"GET /\r\n\r\n", 400),
            "no version": (b"GET /allow-cors\r\nHost: x\r\n\r\n", 400),
            "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
            "extra space": (b"GET  /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "lower-case version": (b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
            "HTTP/2 version": (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            "bad method": (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "relative target": (b"GET allow-cors HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "unclosed IPv6 target": (b"GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "NUL in target": (b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "non-ASCII target": (b"GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
            "header line too long": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000
                                     + b"\r\n\r\n", 431),
            "too many headers": (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 101
                                 + b"\r\n", 431),
            "head too large": (b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"X-A: " + b"a" * 8000
                                                                     + b"\r\n") * 15 + b"\r\n", 431),
            "no colon": (b"GET / HTTP/1.1\r\nHost: x\r\nOrigin http://a\r\n\r\n", 400),
            "space before colon": (b"GET / HTTP/1.1\r\nHost: x\r\nOrigin : http://a\r\n\r\n", 400),
            "empty header name": (b"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400),
            "folded Origin": (b"GET /cors?allow-origin=origin HTTP/1.1\r\nHost: x\r\n"
                              b"Origin: http://a.example\r\n Set-Cookie: x=1\r\n\r\n", 400),
            "folded with a tab": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tmore\r\n\r\n", 400),
            "duplicate Origin": (b"GET /allow-origin HTTP/1.1\r\nHost: x\r\nOrigin: " + PAGE.encode()
                                 + b"\r\nOrigin: http://evil.example\r\n\r\n", 400),
            "bare CR in Origin": (b"GET /cors?allow-origin=origin HTTP/1.1\r\nHost: x\r\n"
                                  b"Origin: http://a\rSet-Cookie: x=1\r\n\r\n", 400),
            "NUL in a header": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
            "escape in a header": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1b[31m\r\n\r\n", 400),
            "no Host": (b"GET /allow-cors HTTP/1.1\r\n\r\n", 400),
            "empty Host": (b"GET /allow-cors HTTP/1.1\r\nHost: \r\n\r\n", 400),
            "Host with a space": (b"GET /allow-cors HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            "Host with markup": (b"GET /allow-cors HTTP/1.1\r\nHost: <script>@evil\r\n\r\n", 400),
            "Host with a path": (b"GET /allow-cors HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
            "two Hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            "bad Content-Length": (b"POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n"
                                   b"hello", 400),
            "two Content-Lengths": (b"POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                    b"Content-Length: 2\r\n\r\n{}", 400),
            "chunked body": (b"POST /data HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nhello\r\n0\r\n\r\n", 411),
            "chunked and length": (b"POST /data HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                                   b"\r\nContent-Length: 5\r\n\r\nhello", 400),
            "huge Content-Length": (b"POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                    b"99999999999999999999\r\n\r\n", 413),
            "unknown expectation": (b"POST /data HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n"
                                    b"Content-Length: 2\r\n\r\n{}", 417),
        }
        for case, (data, status) in cases.items():
            with self.subTest(case):
                raw = self.exchange(data + b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(status_of(raw), status, raw[:200])
                self.assertEqual(len(split_responses(raw)), 1, "leftover bytes were read as a request")
                self.assertIn("Connection: close", header_lines(raw))
                self.assertIn("Content-Type: application/json", header_lines(raw))
                self.assertNotIn("Set-Cookie: x=1", header_lines(raw))
                self.assertTrue(json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"])
        self.assertServing()

    def test_valid_hosts_are_served(self):
        for host in (b"127.0.0.1:8000", b"[::1]:8000", b"localhost", b"a.example:", b"xn--bcher-kva.example"):
            with self.subTest(host=host):
                raw = self.exchange(b"GET /allow-cors HTTP/1.1\r\nHost: " + host
                                    + b"\r\nConnection: close\r\n\r\n")
                self.assertEqual(status_of(raw), 200)

    def test_limits_do_not_depend_on_how_tcp_cuts_the_bytes(self):
        def request(lines, line=b"X-A: 1"):
            return b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n" + (line + b"\r\n") * lines + \
                b"Connection: close\r\n\r\n"
        longest = b"X-A: " + b"a" * (cors_demo.MAX_LINE - 5)
        cases = {  # what: (bytes, status)
            "the most header lines": (request(cors_demo.MAX_HEADERS - 2), 200),   # with Host and
            "one header line too many": (request(cors_demo.MAX_HEADERS - 1), 431),  # Connection
            "the longest header line": (request(1, longest), 200),
            "a header line a byte too long": (request(1, longest + b"a"), 431),
        }
        for case, (data, status) in cases.items():
            for pieces in (1, 3, 17):
                with self.subTest(case, pieces=pieces):
                    with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        size = len(data) // pieces + 1
                        for start in range(0, len(data), size):
                            sock.sendall(data[start:start + size])
                            time.sleep(0.002)     # so that the server may see each piece alone
                        self.assertEqual(status_of(read_all(sock)), status)

    def test_100_continue_waits_for_the_answer_ahead_of_it(self):
        body = b'{"text": "after continue"}'
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            sock.sendall(b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"POST /data HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            received = b""
            while b"100 Continue" not in received:
                chunk = sock.recv(65536)
                self.assertTrue(chunk, "the server closed before 100 Continue")
                received += chunk
            first, interim = received.split(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.assertEqual(status_of(first), 200)
            self.assertTrue(first.endswith(self.demo.message_body))
            sock.sendall(body)
            self.assertEqual(status_of(interim + read_all(sock)), 201)

    def test_blank_lines_before_a_request_are_tolerated(self):
        raw = self.exchange(b"\r\nGET /allow-cors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(raw), 200)

    def test_bare_lf_line_ends_are_accepted(self):
        raw = self.exchange(b"GET /allow-cors HTTP/1.1\nHost: x\nConnection: close\n\n")
        self.assertEqual(status_of(raw), 200)

    def test_absolute_form_target_is_understood(self):
        raw = self.exchange(b"GET http://127.0.0.1/allow-cors HTTP/1.1\r\nHost: x\r\n"
                            b"Connection: close\r\n\r\n")
        self.assertEqual(status_of(raw), 200)
        self.assertIn("Access-Control-Allow-Origin: *", header_lines(raw))

    def test_body_over_limit_is_answered_not_reset(self):
        body = b"x" * (200 * 1024)
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            sock.sendall(b"POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                         % len(body))
            try:
                sock.sendall(body)
            except OSError:
                pass        # the server may stop reading: what matters is what it said
            raw = read_all(sock)
        self.assertEqual(status_of(raw), 413)

    def test_client_that_leaves_mid_request_does_not_disturb_others(self):
        for data in (b"GET /allow-cors HT", b"POST /data HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100\r\n\r\n{\"te"):
            with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
                sock.sendall(data)
        self.assertServing()

    def test_reset_connections_do_not_disturb_others(self):
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", self.api_port), timeout=5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.sendall(b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.close()     # with SO_LINGER 0: a reset, while the answer is on its way
        self.assertServing()


class TestTimeouts(ServerTestCase):
    demo_options = {"timeout": 0.3}

    def test_idle_connection_is_closed_after_the_timeout(self):
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            started = time.monotonic()
            self.assertEqual(sock.recv(1024), b"")
            self.assertLess(time.monotonic() - started, 4)

    def test_idle_keep_alive_connection_is_closed_after_the_timeout(self):
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            sock.sendall(b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = read_all(sock)
        self.assertEqual(status_of(raw), 200)

    def test_slow_trickle_gets_408_and_a_closed_connection(self):
        request = b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: 1\r\n" * 100
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            started = time.monotonic()
            for byte in request:      # a byte every 50 ms, until the server answers
                sock.sendall(bytes([byte]))
                if select.select([sock], [], [], 0.05)[0]:
                    break
            raw = read_all(sock)
        self.assertEqual(status_of(raw), 408)
        self.assertLess(time.monotonic() - started, 3)

    def test_body_that_never_arrives_gets_408(self):
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5) as sock:
            sock.sendall(b"POST /data HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}")
            raw = read_all(sock)
        self.assertEqual(status_of(raw), 408)

    def test_others_are_served_while_a_client_idles(self):
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=5):
            self.assertEqual(fetch(self.api, "/allow-cors").status, 200)


class TestConnections(unittest.TestCase):
    """The mechanisms that keep the server steady whatever clients do; timings
    belong to the benchmark."""

    def start(self, **options):
        demo = cors_demo.Demo(port=0, quiet=True, **options).start()
        self.addCleanup(demo.stop)
        return demo

    def wait_for(self, condition, what):
        deadline = time.monotonic() + 5      # a bounded poll, not a sleep
        while not condition():
            if time.monotonic() > deadline:
                self.fail(f"waited 5 s for {what}")
            time.sleep(0.01)

    @contextlib.contextmanager
    def sends_from(self, port):
        """Every sendall the server makes from port while the block runs."""
        sends, original = [], socket.socket.sendall

        def recording(sock, data, *args):
            if sock.getsockname()[1] == port:
                sends.append(bytes(data))
            return original(sock, data, *args)

        with mock.patch.object(socket.socket, "sendall", recording):
            yield sends

    def test_each_answer_is_one_send_with_headers_and_body(self):
        demo = self.start()
        with self.sends_from(demo.api_port) as sends:
            raw = raw_exchange(demo.api_port, b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n"
                                              b"Connection: close\r\n\r\n")
        self.assertEqual(sends, [raw])
        self.assertTrue(raw.endswith(demo.message_body))

    def test_pipelined_requests_get_one_send_each_in_order(self):
        demo = self.start()
        with self.sends_from(demo.api_port) as sends:
            raw = raw_exchange(demo.api_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual([status_of(send) for send in sends], [200, 404, 200])
        self.assertEqual(b"".join(sends), raw)

    def test_accepted_connections_have_nagle_off(self):
        demo = self.start()
        with socket.create_connection(("127.0.0.1", demo.api_port)) as client:
            port = client.getsockname()[1]
            client.sendall(b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(status_of(client.recv(65536)), 200)     # served: set up
            server_side = next(sock for sock in list(demo.connections.deadlines)
                               if sock.getpeername()[1] == port)
            self.assertTrue(server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def test_listeners_queue_128_handshakes(self):
        backlogs, original = [], socket.socket.listen

        def recording(sock, *args):
            backlogs.extend(args)
            return original(sock, *args)

        with mock.patch.object(socket.socket, "listen", recording):
            cors_demo.Demo(port=0).stop()
        self.assertEqual(backlogs, [128, 128, 128])

    def test_connections_over_the_cap_get_503_with_retry_after(self):
        demo = self.start(max_connections=3)
        idle = [socket.create_connection(("127.0.0.1", demo.api_port)) for _ in range(3)]
        self.wait_for(lambda: len(demo.connections) == 3, "three connections")
        raw = raw_exchange(demo.api_port, b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_of(raw), 503)
        self.assertIn("Retry-After: 1", header_lines(raw))
        self.assertIn("Connection: close", header_lines(raw))
        idle.pop().close()
        self.wait_for(lambda: len(demo.connections) == 2, "a connection to close")
        self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)
        for sock in idle:
            sock.close()

    def test_the_cap_is_at_least_512_by_default(self):
        self.assertGreaterEqual(cors_demo.MAX_CONNECTIONS, 512)   # a class of 40 browsers

    def test_idle_connections_do_not_keep_others_waiting(self):
        demo = self.start()
        idle = [socket.create_connection(("127.0.0.1", demo.api_port)) for _ in range(200)]
        try:
            self.wait_for(lambda: len(demo.connections) == 200, "200 idle connections")
            self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)
        finally:
            for sock in idle:
                sock.close()

    def test_a_client_that_pipelines_and_never_reads_holds_no_one_up(self):
        demo = self.start()
        note = json.dumps({"text": "\U0001f600" * 4000}, ensure_ascii=False).encode()  # 16 KB
        for _ in range(cors_demo.MAX_NOTES):
            self.assertEqual(fetch(demo.api_url, "/data", "POST", data=note).status, 201)
        greedy = socket.create_connection(("127.0.0.1", demo.api_port))
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.addCleanup(greedy.close)
        greedy.sendall(b"GET /data HTTP/1.1\r\nHost: x\r\n\r\n" * 100)    # and never reads
        for _ in range(5):
            self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)

    def test_a_bug_in_a_route_is_a_500_said_once_and_the_server_goes_on(self):
        demo = self.start()

        def failing(demo, request):
            raise RuntimeError("a bug in a handler")

        err = io.StringIO()
        broken = cors_demo.Route(cors_demo.no_cors_headers, None, {"GET": failing})
        with contextlib.redirect_stderr(err), mock.patch.dict(cors_demo.ROUTES, {"/broken": broken}):
            reply = fetch(demo.api_url, "/broken")
            self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)
        self.assertEqual(reply.status, 500)
        self.assertIn("its terminal says why", reply.json()["error"])
        self.assertEqual(err.getvalue().count("Traceback"), 1)
        self.assertIn("RuntimeError: a bug in a handler", err.getvalue())

    def test_clients_that_vanish_get_a_quiet_line_and_no_traceback(self):
        out, err = io.StringIO(), io.StringIO()
        demo = self.start(out=out)
        demo.quiet = False
        with contextlib.redirect_stderr(err):
            for data in (b"GET /allow-cors HTTP/1.1\r\nHo", b"POST /data HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 9\r\n\r\n{\"te"):
                sock = socket.create_connection(("127.0.0.1", demo.api_port))
                sock.sendall(data)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.close()      # a reset, mid-request
            self.wait_for(lambda: out.getvalue().count("dropped") == 2, "two lines about dropped clients")
            self.wait_for(lambda: not len(demo.connections), "the connections to go")
            self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)
        self.assertEqual(err.getvalue(), "")
        lines = out.getvalue().splitlines()
        self.assertEqual(sum("dropped (ConnectionResetError)" in line for line in lines), 2, lines)

    def test_stop_ends_open_connections(self):
        demo = cors_demo.Demo(port=0, quiet=True).start()
        client = socket.create_connection(("127.0.0.1", demo.api_port), timeout=5)
        self.addCleanup(client.close)
        self.wait_for(lambda: len(demo.connections) == 1, "the connection")
        demo.stop()
        self.assertEqual(client.recv(1024), b"")


# ---------------------------------------------------------------- the log, and the policy functions

class TestLog(ServerTestCase):

    def entries(self, since=0):
        return fetch(self.playground, f"/log?since={since}").json()["entries"]

    def test_log_records_request_response_and_verdict_newest_first(self):
        newest = self.entries()[0]["id"] if self.entries() else 0
        self.get("/allow-origin", PAGE)
        self.get("/allow-origin", OTHER, headers={"Cookie": "a=1"})
        first, second = self.entries(newest)[::-1]
        self.assertEqual((first["method"], first["path"], first["origin"], first["status"]),
                         ("GET", "/allow-origin", PAGE, 200))
        self.assertTrue(first["allowed"])
        self.assertTrue(first["verdict"].startswith("a browser lets the page read this"))
        self.assertEqual(first["response_headers"],
                         {"Access-Control-Allow-Origin": PAGE, "Vary": "Origin"})
        self.assertEqual(first["cookies"], [])
        self.assertEqual(second["cookies"], ["a"])
        self.assertFalse(second["allowed"])
        self.assertEqual(second["verdict"], "blocked: the response has no "
                                            "Access-Control-Allow-Origin header")
        self.assertGreater(second["id"], first["id"])
        self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_log_records_preflights_with_what_they_asked(self):
        newest = self.entries()[0]["id"] if self.entries() else 0
        self.preflight("/data", "DELETE", request_headers="x-demo")
        entry = self.entries(newest)[0]
        self.assertTrue(entry["preflight"])
        self.assertEqual(entry["request_headers"], {"Access-Control-Request-Method": "DELETE",
                                                    "Access-Control-Request-Headers": "x-demo"})
        self.assertTrue(entry["allowed"])
        self.assertTrue(entry["verdict"].startswith("preflight passed"))

    def test_log_keeps_only_the_newest_entries(self):
        def requests(run, count):
            return b"GET /allow-cors?run=%s HTTP/1.1\r\nHost: x\r\n\r\n" % run * count
        raw = raw_exchange(self.api_port, requests(b"oldest", 1) + requests(b"kept", 1)
                           + requests(b"filler", cors_demo.LOG_SIZE - 3)
                           + requests(b"newest", 1) + b"GET /nope HTTP/1.1\r\nHost: x\r\n"
                           b"Connection: close\r\n\r\n")
        self.assertEqual(len(split_responses(raw)), cors_demo.LOG_SIZE + 1)
        self.assertEqual(fetch(self.playground, "/log?run=oldest").json()["entries"], [])
        self.assertEqual(len(fetch(self.playground, "/log?run=kept").json()["entries"]), 1)

    def test_an_answer_holds_at_most_a_page_of_entries_newest_first(self):
        raw_exchange(self.api_port, b"GET /allow-cors HTTP/1.1\r\nHost: x\r\n\r\n"
                     * (cors_demo.LOG_PAGE + 5) + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        entries = self.entries()
        self.assertEqual(len(entries), cors_demo.LOG_PAGE)
        self.assertEqual([e["id"] for e in entries], sorted((e["id"] for e in entries), reverse=True))

    def test_run_gives_the_entries_of_one_run_only(self):
        self.get("/allow-cors?run=one")
        self.get("/cors?allow-origin=*&run=two")
        self.get("/redirect?to=/allow-cors&run=two")
        entries = fetch(self.playground, "/log?run=two").json()["entries"]
        self.assertEqual([entry["path"] for entry in entries],
                         ["/redirect?to=/allow-cors&run=two", "/cors?allow-origin=*&run=two"])
        self.assertEqual({entry["run"] for entry in entries}, {"two"})
        self.assertEqual(fetch(self.playground, "/log?run=a%20b").status, 400)

    def test_long_values_are_cut_and_the_answer_stays_under_1_mib(self):
        value = '"' * 1024                               # doubles when JSON-escaped
        query = "&".join(f"{name}={urllib.parse.quote(value)}" for name in
                         ("allow-methods", "allow-headers"))
        origin = "http://" + "a" * 8000
        request = (f"OPTIONS /cors?allow-origin=origin&{query} HTTP/1.1\r\nHost: x\r\n"
                   f"Origin: {origin}\r\nAccess-Control-Request-Method: {value}\r\n"
                   f"Access-Control-Request-Headers: {'x,' * 4000}\r\n"
                   f"Access-Control-Request-Private-Network: {value * 7}\r\n"
                   f"Cookie: {'; '.join('c%d=1' % n for n in range(900))}\r\n"
                   f"Sec-Fetch-Site: {value * 7}\r\n\r\n").encode()
        raw = raw_exchange(self.api_port, request * cors_demo.LOG_PAGE
                           + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual([status_of(r) for r in split_responses(raw)][:2], [204, 204])
        answer = fetch(self.playground, "/log")
        self.assertLess(len(answer.raw), 1024 * 1024)
        entry = answer.json()["entries"][1]
        self.assertEqual(entry["origin"], origin[:cors_demo.LOG_VALUE] + "\u2026")
        self.assertIs(entry["allowed"], False)     # Allow-Methods holds no method

    def test_a_cut_origin_is_judged_on_what_was_sent(self):
        origin = "http://" + "a" * 300
        entry = self.log_of("/cors?allow-origin=" + origin[:-1] + "b", origin)
        self.assertFalse(entry["allowed"])
        entry = self.log_of("/cors?allow-origin=origin", origin)
        self.assertTrue(entry["allowed"])

    def log_of(self, path, origin):
        self.get(path, origin)
        return self.entries()[0]

    def test_log_values_are_data_not_markup(self):
        origin = "http://x<img src=x onerror=alert(1)>"
        self.get("/allow-origin", origin)
        raw = fetch(self.playground, "/log").raw
        entry = json.loads(raw)["entries"][0]
        self.assertEqual(entry["origin"], origin)
        self.assertEqual(fetch(self.playground, "/log").headers["Content-Type"], "application/json")

    def test_bad_since_is_400(self):
        self.assertEqual(fetch(self.playground, "/log?since=x").status, 400)

    def test_terminal_prints_one_line_per_request_with_the_verdict(self):
        out = io.StringIO()
        demo = cors_demo.Demo(port=0, allow_origins=[PAGE], quiet=False, out=out).start()
        try:
            fetch(demo.api_url, "/allow-origin", headers={"Origin": OTHER})
            fetch(demo.api_url, "/cors?allow-origin=*", headers={"Origin": "http://a\x85b"})
        finally:
            demo.stop()
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r"^\d\d:\d\d:\d\d 200 GET /allow-origin from http://evil.example"
                                   r": blocked: the response has no Access-Control-Allow-Origin")
        self.assertIn(r"http://a\x85b", lines[1])

    def test_terminal_names_unreadable_requests_without_a_traceback(self):
        out = io.StringIO()
        demo = cors_demo.Demo(port=0, quiet=False, out=out).start()
        try:
            raw_exchange(demo.api_port, b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n")
        finally:
            demo.stop()
        self.assertRegex(out.getvalue(), r"^\d\d:\d\d:\d\d 400 unreadable request from 127.0.0.1: "
                                         r"a header line starts with whitespace")

    def test_a_closed_terminal_does_not_stop_the_server(self):
        out = io.StringIO()
        demo = cors_demo.Demo(port=0, quiet=False, out=out).start()
        try:
            out.close()       # as when the output was piped to `head`, which has exited
            self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)
            self.assertEqual(fetch(demo.api_url, "/allow-cors").status, 200)
        finally:
            demo.stop()

    def test_quiet_prints_nothing(self):
        out = io.StringIO()
        demo = cors_demo.Demo(port=0, quiet=True, out=out).start()
        try:
            fetch(demo.api_url, "/allow-cors")
        finally:
            demo.stop()
        self.assertEqual(out.getvalue(), "")
        self.assertEqual(demo.log.latest(), 1)


class TestPolicy(unittest.TestCase):
    """What the API sends, as pure functions: no sockets."""

    allowed = frozenset({PAGE})

    def test_listed_origin_headers_match_exactly(self):
        self.assertEqual(cors_demo.listed_origin_headers(PAGE, self.allowed),
                         {"Access-Control-Allow-Origin": PAGE, "Vary": "Origin"})
        for origin in (None, "null", PAGE + "/", PAGE.upper(), PAGE[:-1]):
            with self.subTest(origin=origin):
                self.assertEqual(cors_demo.listed_origin_headers(origin, self.allowed), {"Vary": "Origin"})

    def test_listed_origin_headers_are_a_fresh_dict(self):
        first = cors_demo.listed_origin_headers(PAGE, self.allowed)
        first["X"] = "y"
        self.assertNotIn("X", cors_demo.listed_origin_headers(PAGE, self.allowed))

    def test_data_preflight_answers_all_or_nothing(self):
        methods = ["GET", "POST"]
        headers = cors_demo.data_preflight_headers(PAGE, "POST", "content-type", self.allowed,
                                                   methods, 5)
        self.assertEqual(headers["Access-Control-Allow-Headers"], "Content-Type")
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET, POST")
        self.assertEqual(headers["Access-Control-Max-Age"], "5")
        refused = cors_demo.data_preflight_headers(PAGE, "POST", "content-type, x-nope",
                                                   self.allowed, methods, 5)
        self.assertEqual(refused, {"Vary": cors_demo.PREFLIGHT_VARY})

    def test_the_methods_of_data_come_from_the_route_table(self):
        route = cors_demo.ROUTES["/data"]
        self.assertEqual(cors_demo.allowed_methods(route), "GET, HEAD, POST, DELETE, OPTIONS")
        self.assertEqual(cors_demo.preflight_methods(route), ["GET", "POST", "DELETE", "HEAD", "OPTIONS"])

    def test_is_origin(self):
        for text in ("http://a", "https://a.b:1", "null", "http://[::1]:80", "chrome-extension://abc"):
            self.assertTrue(cors_demo.is_origin(text), text)
        for text in ("", "a", "http://", "http://a/", "http://a:123456", "http://a b", "*", "NULL"):
            self.assertFalse(cors_demo.is_origin(text), text)

    def test_render_refuses_a_header_with_a_line_break(self):
        for value in ("a\r\nSet-Cookie: x=1", "a\nb"):
            with self.subTest(value=value), self.assertRaises(ValueError):
                cors_demo.render(cors_demo.Response(200, {"X": value}, b""), "date")

    def test_render_sends_no_content_length_with_204(self):
        raw = cors_demo.render(cors_demo.Response(204, {"Vary": "Origin"}, b""), "date")
        self.assertNotIn(b"Content-Length", raw)
        self.assertTrue(raw.endswith(b"Vary: Origin\r\n\r\n"))


# ---------------------------------------------------------------- what a browser does: the verdict and check

ALLOWED = "a browser lets the page read this"


class TestVerdict(unittest.TestCase):
    """The Fetch standard's checks, one row per reason, no sockets."""

    def test_actual_responses(self):
        page = PAGE
        cases = [  # credentials, response headers, allowed, words in the verdict
            (False, {}, False, "no Access-Control-Allow-Origin"),
            (False, {"Access-Control-Allow-Origin": "*"}, True, ALLOWED),
            (True, {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"},
             False, "* does not cover a request with credentials"),
            (False, {"Access-Control-Allow-Origin": page}, True, ALLOWED),
            (False, {"Access-Control-Allow-Origin": "http://x"}, False,
             f"Access-Control-Allow-Origin: http://x but the page is {page}"),
            (False, {"Access-Control-Allow-Origin": page + "/"}, False, "no trailing slash"),
            (False, {"Access-Control-Allow-Origin": page.upper()}, False, "case included"),
            (False, {"Access-Control-Allow-Origin": "null"}, False, "but the page is"),
            (True, {"Access-Control-Allow-Origin": page}, False,
             "no Access-Control-Allow-Credentials"),
            (True, {"Access-Control-Allow-Origin": page, "Access-Control-Allow-Credentials": "TRUE"},
             False, "only the exact value true"),
            (True, {"Access-Control-Allow-Origin": page, "Access-Control-Allow-Credentials": "true"},
             True, ALLOWED),
        ]
        for credentials, headers, allowed, words in cases:
            with self.subTest(credentials=credentials, headers=headers):
                verdict = cors_demo.browser_verdict(page, 200, list(headers.items()), credentials)
                self.assertEqual(verdict.allowed, allowed)
                self.assertIn(words, verdict.text)
                self.assertEqual(verdict.text.startswith("blocked: "), not allowed)

    def test_two_allow_origin_values_fail(self):
        headers = [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Origin", PAGE)]
        verdict = cors_demo.browser_verdict(PAGE, 200, headers, False)
        self.assertFalse(verdict.allowed)
        self.assertIn("several", verdict.text)

    def test_error_statuses_are_readable_when_cors_passes(self):
        verdict = cors_demo.browser_verdict(PAGE, 500, [("Access-Control-Allow-Origin", "*")], False)
        self.assertTrue(verdict.allowed)

    def test_unknown_credentials_mentions_what_credentials_would_change(self):
        verdict = cors_demo.browser_verdict(PAGE, 200, [("Access-Control-Allow-Origin", "*")])
        self.assertEqual(verdict.text, ALLOWED)
        self.assertIn("blocked: the response has Access-Control-Allow-Origin: *",
                      verdict.with_credentials)
        verdict = cors_demo.browser_verdict(PAGE, 200, [("Access-Control-Allow-Origin", PAGE),
                                              ("Access-Control-Allow-Credentials", "true")])
        self.assertEqual(verdict, cors_demo.Verdict(True, ALLOWED))

    def test_not_cors_requests(self):
        self.assertIsNone(cors_demo.browser_verdict(None, 200, []).allowed)
        self.assertIn("no Origin", cors_demo.browser_verdict(None, 200, []).text)
        self.assertIn("opaque", cors_demo.browser_verdict(PAGE, 200, [], mode="no-cors").text)
        self.assertIsNone(cors_demo.browser_verdict(PAGE, 200, [], mode="navigate").allowed)
        self.assertIn("same-origin", cors_demo.browser_verdict(PAGE, 200, [], site="same-origin").text)

    def test_preflights(self):
        ok = [("Access-Control-Allow-Origin", PAGE)]
        cases = [  # method, names, credentials, status, extra headers, allowed, words
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "PUT")], True,
             "preflight passed: a browser now sends the PUT request"),
            ("PUT", [], False, 404, [("Access-Control-Allow-Methods", "PUT")], False,
             "status 404; a preflight needs an ok status"),
            ("PUT", [], False, 302, [("Access-Control-Allow-Methods", "PUT")], False, "status 302"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "GET, POST")], False,
             "PUT is not in the preflight's Access-Control-Allow-Methods (GET, POST)"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "put")], False, "not in"),
            ("PUT", [], False, 204, [], False, "Access-Control-Allow-Methods (none)"),
            ("POST", ["x-demo"], False, 204, [], False, "header x-demo is not in"),
            ("POST", [], False, 204, [], True, "preflight passed"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "*")], True, "passed"),
            ("PUT", [], True, 204, [("Access-Control-Allow-Methods", "*"),
                                    ("Access-Control-Allow-Credentials", "true")], False,
             "* in Access-Control-Allow-Methods does not cover a request with credentials"),
            ("GET", ["x-demo"], False, 204, [("Access-Control-Allow-Headers", "X-DEMO")], True,
             "passed"),
            ("GET", ["x-demo"], False, 204, [("Access-Control-Allow-Headers", "*")], True, "passed"),
            ("GET", ["x-demo"], True, 204, [("Access-Control-Allow-Headers", "*"),
                                            ("Access-Control-Allow-Credentials", "true")], False,
             "* in Access-Control-Allow-Headers does not cover a request with credentials"),
            ("GET", ["authorization"], False, 204, [("Access-Control-Allow-Headers", "*")], False,
             "does not cover Authorization"),
            ("GET", ["authorization"], False, 204,
             [("Access-Control-Allow-Headers", "authorization")], True, "passed"),
            ("GET", ["x-a", "x-b"], False, 204, [("Access-Control-Allow-Headers", "x-a")], False,
             "header x-b is not in the preflight's Access-Control-Allow-Headers (x-a)"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "PUT, bad method")], False,
             "not a list of methods"),
            ("GET", ["x-a"], False, 204, [("Access-Control-Allow-Headers", "x-a, (bad)")], False,
             "not a list of header names"),
            ("PUT", [], True, 204, [("Access-Control-Allow-Methods", "PUT")], False,
             "no Access-Control-Allow-Credentials"),
        ]
        for method, names, credentials, status, extra, allowed, words in cases:
            with self.subTest(method=method, names=names, credentials=credentials, extra=extra):
                verdict = cors_demo.browser_verdict(PAGE, status, ok + extra, credentials, (method, names))
                self.assertEqual(verdict.allowed, allowed, verdict.text)
                self.assertIn(words, verdict.text)

    def test_preflight_without_allow_origin(self):
        verdict = cors_demo.browser_verdict(PAGE, 204, [], False, ("PUT", []))
        self.assertEqual(verdict, cors_demo.Verdict(False, "blocked: the preflight response has no "
                                                 "Access-Control-Allow-Origin header"))

    def test_check_functions_return_none_when_they_pass(self):
        self.assertIsNone(cors_demo.cors_check(PAGE, False, [("access-control-allow-origin", "*")]))
        self.assertIsNone(cors_demo.preflight_check(PAGE, "DELETE", ["x-demo"], False, 200,
                                          [("Access-Control-Allow-Origin", PAGE),
                                           ("Access-Control-Allow-Methods", "DELETE"),
                                           ("Access-Control-Allow-Headers", "X-Demo")]))



class TestCheckRules(unittest.TestCase):
    """The Fetch standard's request-side rules, no sockets."""

    def test_safelisted_request_headers(self):
        cases = [("Accept", "*/*", True), ("Accept", "a" * 128, True), ("Accept", "a" * 129, False),
                 ("Accept", "x(y)", False), ("Accept-Language", "en-US,en;q=0.9", True),
                 ("Accept-Language", "en(us)", False), ("Content-Language", "de", True),
                 ("Content-Type", "text/plain;charset=UTF-8", True),
                 ("Content-Type", "multipart/form-data; boundary=x", True),
                 ("Content-Type", "application/x-www-form-urlencoded", True),
                 ("Content-Type", "application/json", False),
                 ("Content-Type", "text/plain, application/json", False),
                 ("Range", "bytes=0-10", True), ("Range", "bytes=0-1,3-4", False),
                 ("X-Demo", "1", False), ("Authorization", "Bearer x", False)]
        for name, value, expected in cases:
            with self.subTest(name=name, value=value[:30]):
                self.assertIs(cors_demo.safelisted(name, value), expected)

    def test_unsafe_names_are_lower_case_sorted_and_unique(self):
        names = cors_demo.unsafe_header_names([("X-B", "1"), ("Accept", "*/*"), ("x-a", "1"),
                                               ("X-A", "2"), ("Content-Type", "application/json")])
        self.assertEqual(names, ["content-type", "x-a", "x-b"])

    def test_preflight_reasons(self):
        self.assertIsNone(cors_demo.preflight_reason("GET", []))
        self.assertIsNone(cors_demo.preflight_reason("POST", [("Content-Type", "text/plain")]))
        self.assertIn("PUT is not GET, HEAD or POST", cors_demo.preflight_reason("PUT", []))
        self.assertIn("x-demo", cors_demo.preflight_reason("GET", [("X-Demo", "1")]))

    def test_methods_are_normalized_as_fetch_does(self):
        self.assertEqual(cors_demo.normalize_method("delete"), "DELETE")
        self.assertEqual(cors_demo.normalize_method("patch"), "patch")

    def test_readable_headers(self):
        headers = [("Content-Type", "text/plain"), ("X-A", "1"), ("X-B", "2"), ("Set-Cookie", "a=b"),
                   ("Access-Control-Expose-Headers", "X-A")]
        self.assertEqual(cors_demo.readable_headers(headers, False), ["content-type", "x-a"])
        star = headers[:-1] + [("Access-Control-Expose-Headers", "*")]
        self.assertEqual(cors_demo.readable_headers(star, False),
                         ["content-type", "x-a", "x-b", "access-control-expose-headers"])
        self.assertEqual(cors_demo.readable_headers(star, True), ["content-type"])

    def test_origin_of_a_url(self):
        self.assertEqual(cors_demo.origin_of("HTTP://Example.COM:80/a?b"), "http://example.com")
        self.assertEqual(cors_demo.origin_of("https://a.example:8443/"), "https://a.example:8443")
        self.assertEqual(cors_demo.origin_of("http://[::1]:8000/"), "http://[::1]:8000")


class TestCheckAgainstTheDemo(ServerTestCase):
    """check against every route of the demo: one row per verdict reason."""

    def check(self, path, origin=PAGE, **options):
        return cors_demo.check(self.api + path, origin, timeout=5, **options)

    def test_each_route_and_reason(self):
        cases = [  # path, options, allowed, words in the verdict, methods sent
            ("/", {}, False, "no Access-Control-Allow-Origin header", ["GET"]),
            ("/allow-cors", {}, True, "a browser lets the page read this", ["GET"]),
            ("/allow-cors", {"credentials": True}, False, "* does not cover a request with credentials", ["GET"]),
            ("/allow-origin", {}, True, "a browser lets the page read this", ["GET"]),
            ("/allow-credentials", {"credentials": True}, True, "a browser lets the page read this", ["GET"]),
            ("/allow-origin", {"credentials": True}, False, "no Access-Control-Allow-Credentials: true", ["GET"]),
            ("/cors?allow-origin=https://google.com", {}, False,
             f"Access-Control-Allow-Origin: https://google.com but the page is {PAGE}", ["GET"]),
            ("/cors?allow-origin=origin&allow-credentials=TRUE", {"credentials": True}, False,
             "only the exact value true", ["GET"]),
            ("/data", {"method": "DELETE"}, True, "a browser lets the page read this", ["OPTIONS", "DELETE"]),
            ("/data", {"method": "POST", "headers": [("Content-Type", "application/json")],
                       "body": '{"text": "from check"}'}, True, "read this", ["OPTIONS", "POST"]),
            ("/data", {"method": "PUT"}, False, "preflight response has no Access-Control-Allow-Origin",
             ["OPTIONS"]),
            ("/data", {"headers": [("X-Other", "1")]}, False, "the GET is never sent", ["OPTIONS"]),
            ("/cors?allow-origin=*&allow-methods=GET", {"method": "PUT"}, False,
             "PUT is not in the preflight's Access-Control-Allow-Methods (GET)", ["OPTIONS"]),
            ("/cors?allow-origin=*&allow-methods=PUT", {"method": "PUT", "headers": [("X-A", "1")]},
             False, "header x-a is not in the preflight's Access-Control-Allow-Headers (none)", ["OPTIONS"]),
            ("/cors?allow-origin=*&allow-methods=PUT&preflight-status=500", {"method": "PUT"}, False,
             "the preflight got status 500", ["OPTIONS"]),
            ("/cors?allow-origin=*&allow-headers=*", {"headers": [("Authorization", "x")]}, False,
             "does not cover Authorization", ["OPTIONS"]),
            ("/allow-origin", {"origin": OTHER}, False, "no Access-Control-Allow-Origin", ["GET"]),
        ]
        for path, options, allowed, words, methods in cases:
            origin = options.pop("origin", PAGE)
            with self.subTest(path=path, **{k: str(v) for k, v in options.items()}):
                report = self.check(path, origin, **options)
                self.assertIs(report["allowed"], allowed)
                self.assertIn(words, report["verdict"])
                self.assertEqual([e["method"] for e in report["exchanges"]], methods)

    def test_preflight_asks_as_a_browser_does_without_cookies(self):
        report = self.check("/cors?allow-origin=origin&allow-credentials=true&allow-methods=DELETE"
                            "&allow-headers=content-type,x-demo", method="DELETE", credentials=True,
                            headers=[("X-Demo", "1"), ("Content-Type", "application/json"),
                                     ("Cookie", "cors_demo=1")])
        preflight, actual = report["exchanges"]
        sent = dict(preflight["request_headers"])
        self.assertEqual(sent["Access-Control-Request-Method"], "DELETE")
        self.assertEqual(sent["Access-Control-Request-Headers"], "content-type,x-demo")
        self.assertNotIn("Cookie", sent)
        self.assertEqual(dict(actual["request_headers"])["Cookie"], "cors_demo=1")

    def test_readable_headers_follow_expose_headers(self):
        report = self.check("/data")
        self.assertIn("x-demo-count", report["readable_headers"])
        self.assertNotIn("x-demo-hidden", report["readable_headers"])

    def test_headers_a_page_cannot_set_are_dropped_and_said(self):
        report = self.check("/allow-cors", headers=[("Cookie", "a=b"), ("Origin", "http://x")])
        sent = [name for name, _ in report["exchanges"][0]["request_headers"]]
        self.assertNotIn("Cookie", sent)
        self.assertEqual(sent.count("Origin"), 1)
        self.assertEqual(len(report["notes"]), 2)

    def test_what_fetch_refuses_cannot_be_asked(self):
        for options in ({"method": "TRACE"}, {"method": "GET", "body": "x"}, {"method": "bad method"},
                        {"headers": [("X-A", "a\r\nb")]}):
            with self.subTest(**{k: str(v) for k, v in options.items()}):
                with self.assertRaises(cors_demo.CannotAsk):
                    self.check("/allow-cors", **options)


TEST_CERTIFICATE = """\
-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUEEdrLauBYgKyIJcD9f81+r0mejYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNDE2MTg0MloYDzIxMjYxMDMx
MTYxODQyWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ14sqlfo1GYCI9RoKePq72atmTyNSsKjc2QPQnUkIpT4iainPFhDXF
cByhf7C9SrXVSr718K7c5dt+lpFnhpioo2QwYjAdBgNVHQ4EFgQUlYDaMysOIzfJ
tA203PhkyzcBHVowHwYDVR0jBBgwFoAUlYDaMysOIzfJtA203PhkyzcBHVowDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IBUPtNiGXKUY1Efi4qOTzZ7mUVLZQONlwywWL4/JG80SAiAVyz22Uc5ljc8oXvpE
43zyJ9+SEIE+FoS6CmZRHJfcOg==
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgk0Fo9ez5IJTp61cj
DzHFQy6RlFz04EPIqA6jtPdY73ehRANCAAQ14sqlfo1GYCI9RoKePq72atmTyNSs
Kjc2QPQnUkIpT4iainPFhDXFcByhf7C9SrXVSr718K7c5dt+lpFnhpio
-----END PRIVATE KEY-----
"""


class Canned(http.server.BaseHTTPRequestHandler):
    """Answers the preflight and the request with fixed, deliberately wrong, headers."""
    protocol_version = "HTTP/1.1"
    answers = {}     # (method or "preflight", path) -> (status, [(name, value)])

    def answer(self):
        kind = "preflight" if "Access-Control-Request-Method" in self.headers else self.command
        status, headers = self.answers.get((kind, self.path.split("?")[0]), (404, []))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(status)
        for name, value in headers:
            value = value.replace("{origin}", self.headers.get("Origin", ""))
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_OPTIONS = answer

    def log_message(self, format, *args):
        pass


class CannedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass      # the TLS test's handshake fails on purpose


class TestCheckAgainstWrongServers(unittest.TestCase):
    """check against small servers that get CORS wrong in the ways people do."""

    @classmethod
    def setUpClass(cls):
        ok = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "PUT")]
        Canned.answers = {
            ("GET", "/two-origins"): (200, [("Access-Control-Allow-Origin", PAGE),
                                            ("Access-Control-Allow-Origin", "http://other.example")]),
            ("GET", "/star-with-credentials"): (200, [("Access-Control-Allow-Origin", "*"),
                                                      ("Access-Control-Allow-Credentials", "true")]),
            ("GET", "/trailing-slash"): (200, [("Access-Control-Allow-Origin", PAGE + "/")]),
            ("preflight", "/preflight-redirect"): (302, ok + [("Location", "/elsewhere")]),
            ("preflight", "/preflight-403"): (403, ok),
            ("GET", "/credentials-upper"): (200, [("Access-Control-Allow-Origin", "{origin}"),
                                                  ("Access-Control-Allow-Credentials", "TRUE")]),
            ("GET", "/redirect"): (307, [("Access-Control-Allow-Origin", "*"), ("Location", "/final")]),
            ("GET", "/final"): (200, [("Access-Control-Allow-Origin", "*")]),
            ("GET", "/redirect-bare"): (302, [("Location", "/final")]),
            ("GET", "/hang"): (200, []),
        }
        cls.server = CannedServer(("127.0.0.1", 0), Canned)
        cls.url = f"http://127.0.0.1:{cls.server.server_port}"
        cls.thread = threading.Thread(target=cls.server.serve_forever, args=(0.05,), daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join()

    def test_wrong_headers_give_the_browsers_reason(self):
        cases = [  # path, options, words in the verdict
            ("/two-origins", {}, "it may hold one origin, and here it holds several"),
            ("/star-with-credentials", {"credentials": True}, "* does not cover a request with credentials"),
            ("/trailing-slash", {}, "an origin has no trailing slash"),
            ("/preflight-redirect", {"method": "PUT"}, "status 302; a preflight needs an ok status"),
            ("/preflight-403", {"method": "PUT"}, "the preflight got status 403"),
            ("/credentials-upper", {"credentials": True}, "Access-Control-Allow-Credentials: TRUE"),
            ("/redirect-bare", {}, "the redirect response has no Access-Control-Allow-Origin"),
        ]
        for path, options, words in cases:
            with self.subTest(path=path):
                report = cors_demo.check(self.url + path, PAGE, timeout=5, **options)
                self.assertFalse(report["allowed"])
                self.assertTrue(report["verdict"].startswith("blocked: "))
                self.assertIn(words, report["verdict"])

    def test_preflight_redirect_is_not_followed(self):
        report = cors_demo.check(self.url + "/preflight-redirect", PAGE, "PUT", timeout=5)
        self.assertEqual([e["method"] for e in report["exchanges"]], ["OPTIONS"])
        self.assertIn("redirects to /elsewhere", report["verdict"])

    def test_redirects_of_the_request_are_followed_and_shown(self):
        report = cors_demo.check(self.url + "/redirect", PAGE, timeout=5)
        self.assertTrue(report["allowed"])
        self.assertEqual([e["url"] for e in report["exchanges"]],
                         [self.url + "/redirect", self.url + "/final"])
        self.assertIn("a browser follows it", report["exchanges"][0]["verdict"])

    def test_no_answer_in_time_cannot_be_asked(self):
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            with self.assertRaisesRegex(cors_demo.CannotAsk, "did not answer within 0.3 s"):
                cors_demo.check(f"http://127.0.0.1:{silent.getsockname()[1]}/", PAGE, timeout=0.3)

    def test_untrusted_certificate_cannot_be_asked(self):
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
            pem.write(TEST_CERTIFICATE)
            pem.flush()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pem.name)
        server = CannedServer(("127.0.0.1", 0), Canned)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            with self.assertRaisesRegex(cors_demo.CannotAsk, "certificate is not trusted"):
                cors_demo.check(f"https://127.0.0.1:{server.server_port}/final", PAGE, timeout=5)
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


class TestCheckCommand(ServerTestCase):
    """python cors_demo.py check: what it prints and its exit status."""

    def run_check(self, *args):
        return run_cli("check", *args)

    def test_allowed_prints_the_exchange_and_exits_0(self):
        result = self.run_check(self.api + "/allow-origin", "--origin", PAGE)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("> GET /allow-origin HTTP/1.1", result.stdout)
        self.assertIn(f"> Origin: {PAGE}", result.stdout)
        self.assertIn(f"< Access-Control-Allow-Origin: {PAGE}", result.stdout)
        self.assertIn("a browser lets the page read this", result.stdout)
        self.assertIn("script can read the headers: content-type, content-length", result.stdout)

    def test_blocked_by_the_preflight_exits_1(self):
        result = self.run_check(self.api + "/data", "--origin", PAGE, "--method", "PUT")
        self.assertEqual(result.returncode, 1)
        self.assertIn("A preflight first: PUT is not GET, HEAD or POST.", result.stdout)
        self.assertIn("> Access-Control-Request-Method: PUT", result.stdout)
        self.assertIn("blocked: the preflight response has no Access-Control-Allow-Origin header; "
                      "the PUT is never sent", result.stdout)

    def test_json_is_one_object_with_the_same_verdict(self):
        result = self.run_check(self.api + "/data", "--origin", PAGE, "--method", "DELETE",
                                "--header", "X-Demo: 1", "--json")
        self.assertEqual(result.returncode, 0)
        report = json.loads(result.stdout)
        self.assertTrue(report["allowed"])
        self.assertEqual([e["kind"] for e in report["exchanges"]], ["preflight", "request"])
        self.assertEqual(report["verdict"], "a browser lets the page read this")

    def test_could_not_ask_is_one_line_and_exits_2(self):
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        for args in (["ftp://example.com/", "--origin", PAGE], ["not a url", "--origin", PAGE],
                     [f"http://127.0.0.1:{port}/", "--origin", PAGE],
                     [self.api + "/", "--origin", "http://a.example/"]):
            with self.subTest(args=args):
                result = self.run_check(*args)
                self.assertEqual(result.returncode, 2)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                self.assertTrue(result.stderr.startswith("could not ask: "))
                self.assertNotIn("Traceback", result.stderr)
        result = self.run_check(f"http://127.0.0.1:{port}/", "--origin", PAGE, "--json")
        self.assertEqual(result.returncode, 2)
        self.assertIsNone(json.loads(result.stdout)["allowed"])


# ---------------------------------------------------------------- the command line

def run_cli(*args, env=None, timeout=10):
    return subprocess.run([sys.executable, str(HERE / "cors_demo.py"), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def free_port_triple():
    """A port p with p + 1 and p + 2 free too, as the demo's defaults need."""
    for _ in range(50):
        with socket.socket() as first, socket.socket() as second, socket.socket() as third:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            try:
                second.bind(("127.0.0.1", port + 1))
                third.bind(("127.0.0.1", port + 2))
            except OSError:
                continue
            return port
    raise RuntimeError("no three free ports in a row")


class TestCommandLine(unittest.TestCase):

    def start(self, *args, env=None):
        process = subprocess.Popen([sys.executable, "-u", str(HERE / "cors_demo.py"), *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, **(env or {})})
        self.addCleanup(self.stop, process)
        lines = [process.stdout.readline() for _ in range(6)]
        banner = {}       # label -> what follows it: "API" -> "http://127.0.0.1:8000"
        for line in lines[1:5]:
            label, _, value = line.strip().partition("  ")
            banner[label] = value.strip()
        return process, banner

    @staticmethod
    def stop(process):
        if process.poll() is None:
            process.kill()
        process.communicate()

    def test_version(self):
        result = run_cli("--version")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout.strip(), f"cors_demo {cors_demo.__version__}")

    def test_help_is_the_usage_text(self):
        result = run_cli("--help")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout.strip(), cors_demo.__doc__.strip())
        for flag in ("--host", "--port", "--playground-port", "--allow-origin", "--max-age",
                     "--quiet", "--version"):
            self.assertIn(flag, result.stdout)

    def test_bad_flags_are_refused_with_a_reason(self):
        cases = [(["--port", "70000"], "not a port"), (["--max-age", "-1"], "seconds"),
                 (["--allow-origin", "http://a.example/path"], "no path"),
                 (["--allow-origin", "*"], "not an origin"),
                 (["--no-default-origins"], "allow-list empty")]
        for args, words in cases:
            with self.subTest(args=args):
                result = run_cli(*args)
                self.assertEqual(result.returncode, 2)
                self.assertIn(words, result.stderr)
                self.assertNotIn("Traceback", result.stderr)

    def test_starts_prints_both_urls_and_stops_cleanly_on_ctrl_c(self):
        process, banner = self.start("--port", "0", "--quiet")
        self.assertRegex(banner["API"], r"^http://127\.0\.0\.1:\d+$")
        self.assertRegex(banner["playground"], r"^http://127\.0\.0\.1:\d+ ")
        self.assertRegex(banner["other origin"], r"^http://127\.0\.0\.1:\d+ ")
        api = banner["API"]
        self.assertEqual(fetch(api, "/allow-cors").status, 200)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 0)
        self.assertNotIn("Traceback", err)
        self.assertIn("stopped", out)

    def test_port_from_the_environment_and_the_next_two_ports(self):
        port = free_port_triple()
        process, banner = self.start("--quiet", env={"PORT": str(port)})
        if not banner.get("API"):
            self.skipTest("the free ports were taken in between: " + process.stderr.read())
        self.assertEqual(banner["API"], f"http://127.0.0.1:{port}")
        self.assertTrue(banner["playground"].startswith(f"http://127.0.0.1:{port + 1} "))
        self.assertTrue(banner["other origin"].startswith(f"http://127.0.0.1:{port + 2} "))
        self.assertTrue(banner["allow-list"].startswith(f"http://127.0.0.1:{port + 1} "
                                                        f"http://localhost:{port + 1}"))
        process.terminate()
        process.communicate(timeout=10)
        self.assertEqual(process.returncode, 0)

    def test_port_in_use_is_one_line_and_status_1(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = run_cli("--port", str(port))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)
        self.assertIn(f"port {port} is in use", result.stderr)

    def test_allow_origin_adds_to_the_playgrounds_own_origins(self):
        process, banner = self.start("--port", "0", "--quiet", "--allow-origin", "https://a.example",
                                     "--allow-origin", "null")
        playground = banner["playground"].split()[0]
        port = playground.rsplit(":", 1)[1]
        self.assertEqual(banner["allow-list"], f"http://127.0.0.1:{port} http://localhost:{port} "
                                               f"http://[::1]:{port} https://a.example null")
        api = banner["API"]
        for origin in ("null", "https://a.example", playground):
            with self.subTest(origin=origin):
                self.assertEqual(fetch(api, "/allow-origin", headers={"Origin": origin})
                                 .headers["Access-Control-Allow-Origin"], origin)

    def test_no_default_origins_keeps_only_those_given(self):
        process, banner = self.start("--port", "0", "--quiet", "--no-default-origins",
                                     "--allow-origin", "https://a.example")
        self.assertEqual(banner["allow-list"], "https://a.example")

    def test_an_origin_as_people_paste_it_is_corrected_with_a_note(self):
        process, banner = self.start("--port", "0", "--quiet", "--allow-origin", "HTTPS://A.example:443/")
        self.assertTrue(banner["allow-list"].endswith(" https://a.example"))
        process.terminate()
        _, err = process.communicate(timeout=10)
        self.assertIn("note: --allow-origin HTTPS://A.example:443/: a browser sends this origin as "
                      "https://a.example; using that", err)

    def test_sigterm_with_its_reader_gone_stops_quietly(self):
        process = subprocess.Popen([sys.executable, str(HERE / "cors_demo.py"), "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.stop, process)
        process.stdout.readline()
        process.stdout.close()          # as `| head -1` does once it has its line
        process.terminate()
        err = process.stderr.read().decode()
        self.assertEqual(process.wait(timeout=10), 0)
        self.assertEqual(err, "")

    def test_a_signal_during_start_up_stops_quietly(self):
        for delay in (0.0, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3):
            with self.subTest(delay=delay):
                process = subprocess.Popen([sys.executable, str(HERE / "cors_demo.py"), "--port", "0"],
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                threading.Timer(delay, process.terminate).start()
                out, err = process.communicate(timeout=10)
                self.assertEqual(err, "")
                self.assertIn(process.returncode, (0, -signal.SIGTERM))

    def test_ctrl_c_works_where_the_shell_ignored_it(self):
        # A job started in the background of a script inherits SIGINT ignored.
        process = subprocess.Popen([sys.executable, str(HERE / "cors_demo.py"), "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        self.addCleanup(self.stop, process)
        self.assertIn("cors_demo", process.stdout.readline())
        process.stdout.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 0)
        self.assertIn("stopped", out)
        self.assertEqual(err, "")


class TestPlayground(ServerTestCase):

    def post_results(self, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return fetch(self.playground, "/results", "POST", {"Content-Type": content_type}, data)

    def test_page_is_one_file_with_no_external_assets(self):
        reply = fetch(self.playground, "/")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers["Content-Type"], "text/html; charset=utf-8")
        page = reply.raw.decode()
        self.assertNotRegex(page, r'(src|href)="(https?:)?//')

    def test_page_gets_the_lesson_and_the_settings_as_json(self):
        page = fetch(self.playground, "/").raw.decode()
        data = page.split('<script id="settings" type="application/json">')[1].split("</script>")[0]
        self.assertNotIn("<", data)
        settings = json.loads(data)
        self.assertEqual(settings["api_port"], self.api_port)
        self.assertEqual(settings["max_age"], cors_demo.MAX_AGE)
        self.assertEqual([e["id"] for e in settings["lesson"]], [e["id"] for e in cors_demo.LESSON])
        calls = {e["id"]: e["calls"] for e in settings["lesson"]}
        self.assertEqual(calls["delete"][0]["preflight"], "DELETE is not GET, HEAD or POST")
        self.assertIsNone(calls["bare"][0]["preflight"])

    def test_without_max_age_the_lesson_expects_a_second_preflight(self):
        demo = cors_demo.Demo(port=0, max_age=0)
        self.addCleanup(demo.stop)
        second = {e["id"]: e for e in cors_demo.lesson_json(0)}["max-age"]["calls"][1]
        self.assertEqual(second["arrives"], ["OPTIONS /data", "DELETE /data"])

    def test_page_policy_allows_exactly_its_own_script_and_style(self):
        reply = fetch(self.playground, "/")
        policy = reply.headers["Content-Security-Policy"]
        page = reply.raw.decode()
        script = page.split("<script>")[1].split("</script>")[0]
        style = page.split("<style>")[1].split("</style>")[0]
        self.assertIn(f"script-src {cors_demo.csp_hash(script)};", policy)
        self.assertIn(f"style-src {cors_demo.csp_hash(style)};", policy)
        self.assertNotIn("unsafe-inline", policy)
        self.assertIn("default-src 'none'", policy)

    def test_results_are_kept_and_summed_up_in_one_line(self):
        out = io.StringIO()
        demo = cors_demo.Demo(port=0, quiet=True, out=out).start()
        try:
            body = {"browser": "Chrome 150\x1b[31m", "experiments": [
                {"id": "bare", "as_expected": True}, {"id": "put", "as_expected": False}]}
            reply = fetch(demo.playground_url, "/results", "POST",
                          {"Content-Type": "application/json"}, json.dumps(body).encode())
            self.assertEqual(reply.status, 204)
            self.assertTrue(demo.results_posted.is_set())
            self.assertEqual(fetch(demo.playground_url, "/results").json()["browser"], "Chrome 15031m")
        finally:
            demo.stop()
        self.assertEqual(out.getvalue(), "1 of 2 experiments behaved as the lesson says, "
                                         "in Chrome 15031m; unexpected: put\n")

    def test_results_must_be_json_of_the_right_shape(self):
        self.assertEqual(self.post_results({"browser": "x", "experiments": [{"id": "a", "as_expected": True}]},
                                           "text/plain").status, 415)
        for body in (b"nope", {"browser": "x"}, {"browser": "x", "experiments": []},
                     {"browser": 1, "experiments": [{"id": "a", "as_expected": True}]},
                     {"browser": "x", "experiments": [{"id": "a", "as_expected": "yes"}]}):
            with self.subTest(body=body):
                self.assertEqual(self.post_results(body).status, 400)

    def test_log_reports_its_latest_id(self):
        self.get("/allow-cors")
        log = fetch(self.playground, "/log?since=999999999999999").json()
        self.assertEqual(log["entries"], [])
        self.assertEqual(log["latest"], fetch(self.playground, "/log").json()["entries"][0]["id"])
        self.assertGreater(log["latest"], 0)
        self.assertEqual(fetch(self.playground, "/log?since=" + "9" * 19).status, 400)


# ---------------------------------------------------------------- in a real browser

BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXPERIMENT_IDS = [experiment["id"] for experiment in cors_demo.LESSON]


def find_browser():
    """Headless Chromium: $CORS_DEMO_BROWSER, or chromium, chromium-browser, google-chrome."""
    given = os.environ.get("CORS_DEMO_BROWSER")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class TestInBrowser(unittest.TestCase):
    """The playground, run by a real Chromium: the page must tell the truth."""

    def setUp(self):
        self.browser = find_browser()
        if self.browser is None:
            reason = ("no browser: install chromium, or set CORS_DEMO_BROWSER to Chrome or "
                      "Chromium")
            if os.environ.get("CI"):
                self.fail(reason + " (CI must run the browser tests)")
            self.skipTest(reason)
        self.out = io.StringIO()
        self.demo = cors_demo.Demo(port=0, quiet=True, out=self.out).start()
        self.addCleanup(self.demo.stop)
        self.profile = tempfile.mkdtemp(prefix="cors-demo-browser-")
        self.addCleanup(shutil.rmtree, self.profile, True)

    def browser_command(self, *args):
        return [self.browser, *BROWSER_FLAGS, f"--user-data-dir={self.profile}", *args]

    def test_every_experiment_behaves_as_the_lesson_says(self):
        process = subprocess.Popen(self.browser_command(self.demo.playground_url + "/?autorun=1"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            posted = self.demo.results_posted.wait(timeout=60)
        finally:
            process.kill()
            process.wait()
        self.assertTrue(posted, "the page posted no results within 60 s")
        results = self.demo.results
        self.assertRegex(results["browser"], r"^Chrome \d+$")
        count = len(EXPERIMENT_IDS)
        self.assertEqual(self.out.getvalue(), f"{count} of {count} experiments behaved as the lesson "
                                              f"says, in {results['browser']}\n")
        self.assertEqual([item["id"] for item in results["experiments"]], EXPERIMENT_IDS)
        for item in results["experiments"]:
            with self.subTest(item["id"]):
                self.assertTrue(item["as_expected"], item.get("problems"))
        # The page judged itself; the server's log says what really crossed the wire.
        entries = fetch(self.demo.playground_url, "/log").json()["entries"][::-1]
        page = self.demo.playground_url
        self.assertTrue(all(entry["origin"] == page for entry in entries))
        self.assertNotIn("PUT", [entry["method"] for entry in entries])
        asked = [entry["request_headers"].get("Access-Control-Request-Method")
                 for entry in entries if entry["preflight"]]
        self.assertIn("PUT", asked)
        star = [e for e in entries if e["path"].startswith("/allow-cors?") and e["cookies"]]
        self.assertEqual(len(star), 1, "one credentialed request to /allow-cors, with its cookie")
        self.assertFalse(star[0]["allowed"])
        runs = {}
        for entry in entries:
            runs.setdefault(entry["run"], []).append(entry["method"])
        self.assertIn(["OPTIONS", "DELETE", "DELETE"], runs.values(), "Max-Age: one preflight, two DELETEs")
        self.assertNotIn(None, runs, "a request without a run token")

    def test_log_values_show_as_text_and_run_nothing(self):
        attack = f"<img src=x onerror=\"fetch('{self.demo.api_url}/pwned')\">"
        reply = fetch(self.demo.api_url, "/allow-origin", headers={"Origin": attack})
        self.assertEqual(reply.status, 200)
        result = subprocess.run(self.browser_command("--virtual-time-budget=3000", "--dump-dom",
                                                     self.demo.playground_url + "/"),
                                capture_output=True, text=True, timeout=60)
        body = result.stdout.split("<body>")[-1].split("<script>")[0]   # the page, not its code
        self.assertTrue('id="log-rows"' in body, "the page did not render")
        self.assertTrue("&lt;img src=x onerror=" in body, "the Origin is not shown as characters")
        self.assertFalse("<img" in body, "the Origin became an element")
        paths = [entry["path"] for entry in fetch(self.demo.playground_url, "/log").json()["entries"]]
        self.assertNotIn("/pwned", paths)


if __name__ == "__main__":
    unittest.main()
