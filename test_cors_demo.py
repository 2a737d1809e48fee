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

    def test_a_client_that_never_reads_is_reset_at_its_deadline(self):
        # The kernel then drops the rest of its answer, instead of keeping it for a
        # client that acknowledges nothing, after the server has let it go.
        demo = self.start(timeout=0.5)
        note = json.dumps({"text": "x" * 16000}).encode()
        for _ in range(cors_demo.MAX_NOTES):
            fetch(demo.api_url, "/data", "POST", data=note)
        greedy = socket.socket()
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        greedy.connect(("127.0.0.1", demo.api_port))
        self.addCleanup(greedy.close)
        greedy.sendall(b"GET /data HTTP/1.1\r\nHost: x\r\n\r\n")
        self.wait_for(lambda: len(demo.connections) == 1, "the server to take the client")
        self.wait_for(lambda: len(demo.connections) == 0, "the server to let the client go")
        greedy.settimeout(5)
        with self.assertRaises(ConnectionResetError):
            while greedy.recv(65536):
                pass

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

    def test_path_gives_the_entries_of_one_route_only(self):
        first = fetch(self.playground, "/log").json()["latest"]
        self.get("/data?run=x", PAGE)
        self.get("/allow-cors")
        self.get("/data", PAGE, "DELETE")
        entries = fetch(self.playground, f"/log?path=/data&since={first}").json()["entries"]
        self.assertEqual([(e["method"], e["path"]) for e in entries], [("DELETE", "/data"), ("GET", "/data?run=x")])
        self.assertEqual(fetch(self.playground, "/log?path=/nowhere").status, 400)

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

import copy   # (this section's own imports)
import ipaddress
from typing import NamedTuple

ALLOWED = "a browser lets the page read this"


def ok_preflight(origin=PAGE, **extra):
    headers = [("Access-Control-Allow-Origin", origin)]
    return headers + [(name.replace("_", "-"), value) for name, value in extra.items()]


class TestVerdict(unittest.TestCase):
    """The log's verdict on one response: the Fetch standard's checks, no sockets."""

    def verdict(self, headers, status=200, origin=PAGE, **options):
        return cors_demo.browser_verdict(origin, status, list(headers), **options)

    def test_actual_responses_one_row_per_reason(self):
        cases = [  # credentials, response headers, allowed, words in the verdict
            (False, [], False, "no Access-Control-Allow-Origin"),
            (False, [("Access-Control-Allow-Origin", "*")], True, ALLOWED),
            (True, [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")],
             False, "* does not cover a request with credentials"),
            (False, [("Access-Control-Allow-Origin", PAGE)], True, ALLOWED),
            (False, [("Access-Control-Allow-Origin", " \t" + PAGE + " ")], True, ALLOWED),
            (False, [("Access-Control-Allow-Origin", "http://x")], False,
             f"Access-Control-Allow-Origin: http://x but the page is {PAGE}"),
            (False, [("Access-Control-Allow-Origin", PAGE + "/")], False, "no trailing slash"),
            (False, [("Access-Control-Allow-Origin", PAGE.upper())], False, "case included"),
            (False, [("Access-Control-Allow-Origin", PAGE.replace("http:", "https:"))], False,
             "https and http are different origins"),
            (False, [("Access-Control-Allow-Origin", "http://127.0.0.1:9")], False,
             "another port is another origin"),
            (False, [("Access-Control-Allow-Origin", "null")], False, "null is the origin of sandboxed"),
            (False, [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Origin", PAGE)],
             False, "here it holds several"),
            (False, [("Access-Control-Allow-Origin", "*, *")], False, "here it holds several"),
            (True, [("Access-Control-Allow-Origin", PAGE)], False, "no Access-Control-Allow-Credentials"),
            (True, [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "TRUE")],
             False, "only the exact value true"),
            (True, [("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")],
             True, ALLOWED),
        ]
        for credentials, headers, allowed, words in cases:
            with self.subTest(credentials=credentials, headers=headers):
                verdict = self.verdict(headers, credentials=credentials)
                self.assertIs(verdict.allowed, allowed)
                self.assertIn(words, verdict.text)
                self.assertEqual(verdict.text.startswith("blocked: "), not allowed)

    def test_error_status_with_cors_headers_is_readable(self):
        self.assertTrue(self.verdict([("Access-Control-Allow-Origin", "*")], status=500).allowed)

    def test_unknown_credentials_says_what_credentials_would_change(self):
        verdict = self.verdict([("Access-Control-Allow-Origin", "*")])
        self.assertEqual(verdict.text, ALLOWED)
        self.assertIn("* does not cover a request with credentials", verdict.with_credentials)
        both = self.verdict([("Access-Control-Allow-Origin", PAGE), ("Access-Control-Allow-Credentials", "true")])
        self.assertEqual(both, cors_demo.Verdict(True, ALLOWED))

    def test_requests_cors_does_not_apply_to_say_why(self):
        cases = [  # origin, options, words
            (None, {}, "no Origin"),
            (PAGE, {"mode": "no-cors"}, "opaque response (status 0, no body, no headers)"),
            (None, {"mode": "no-cors"}, "opaque"),
            (PAGE, {"mode": "navigate"}, "Sec-Fetch-Mode: navigate"),
            (PAGE, {"site": "same-origin"}, "a same-origin request"),
        ]
        for origin, options, words in cases:
            with self.subTest(origin=origin, **options):
                verdict = self.verdict([("Access-Control-Allow-Origin", "*")], origin=origin, **options)
                self.assertIsNone(verdict.allowed)
                self.assertIn(words, verdict.text)

    def test_null_origin_is_said_plainly(self):
        verdict = self.verdict([], origin="null")
        self.assertFalse(verdict.allowed)
        self.assertIn("sandboxed frame, a file:// page, or a request that a redirect took", verdict.text)

    def test_redirect_passing_the_cors_check_is_followed(self):
        headers = [("Access-Control-Allow-Origin", PAGE), ("Location", "/next")]
        verdict = self.verdict(headers, status=302)
        self.assertTrue(verdict.allowed)
        self.assertIn("a browser follows it to /next", verdict.text)

    def test_redirect_without_cors_headers_is_blocked(self):
        verdict = self.verdict([("Location", "/next")], status=307)
        self.assertFalse(verdict.allowed)
        self.assertIn("the redirect response has no Access-Control-Allow-Origin", verdict.text)

    def test_preflight_answered_with_a_redirect_is_blocked(self):
        headers = ok_preflight(Access_Control_Allow_Methods="PUT") + [("Location", "/elsewhere")]
        verdict = self.verdict(headers, status=301, preflight=("PUT", []))
        self.assertFalse(verdict.allowed)
        self.assertIn("never follows a preflight's redirect", verdict.text)

    def test_preflights_one_row_per_reason(self):
        cases = [  # method, names, credentials, status, extra headers, allowed, words
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "PUT")], True,
             "preflight passed: a browser now sends the PUT request"),
            ("PUT", [], False, 404, [("Access-Control-Allow-Methods", "PUT")], False,
             "status 404; a preflight needs an ok status"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "GET, POST")], False,
             "PUT is not in the preflight's Access-Control-Allow-Methods (GET, POST)"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "put")], False,
             "methods are compared case by case"),
            ("patch", [], False, 204, [("Access-Control-Allow-Methods", "PATCH")], False,
             "fetch() sends patch as written"),
            ("PUT", [], False, 204, [], False, "Access-Control-Allow-Methods (none)"),
            ("POST", ["x-demo"], False, 204, [], False, "header x-demo is not in"),
            ("POST", [], False, 204, [], True, "preflight passed"),
            ("GET", [], False, 204, [("Access-Control-Allow-Methods", "get")], True, "preflight passed"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "*")], True, "passed"),
            ("PUT", [], True, 204, [("Access-Control-Allow-Methods", "*"),
                                    ("Access-Control-Allow-Credentials", "true")], False,
             "* does not cover a request with credentials: name the method"),
            ("*", [], True, 204, [("Access-Control-Allow-Methods", "*"),
                                  ("Access-Control-Allow-Credentials", "true")], True, "passed"),
            ("GET", ["x-demo"], False, 204, [("Access-Control-Allow-Headers", "X-DEMO")], True, "passed"),
            ("GET", ["x-demo"], False, 204, [("Access-Control-Allow-Headers", ",y, x-Demo,,")], True, "passed"),
            ("GET", ["x-demo"], False, 204, [("Access-Control-Allow-Headers", "*")], True, "passed"),
            ("GET", ["x-demo"], True, 204, [("Access-Control-Allow-Headers", "*"),
                                            ("Access-Control-Allow-Credentials", "true")], False,
             "* does not cover a request with credentials: name the header"),
            ("GET", ["authorization"], False, 204, [("Access-Control-Allow-Headers", "*")], False,
             "* never covers Authorization"),
            ("GET", ["authorization"], False, 204,
             [("Access-Control-Allow-Headers", "authorization")], True, "passed"),
            ("GET", ["x-a", "x-b"], False, 204, [("Access-Control-Allow-Headers", "x-a")], False,
             "header x-b is not in the preflight's Access-Control-Allow-Headers (x-a)"),
            ("PUT", [], False, 204, [("Access-Control-Allow-Methods", "PUT, bad method")], False,
             "is not a list of methods"),
            ("GET", ["x-a"], False, 204, [("Access-Control-Allow-Headers", "x-a, (bad)")], False,
             "is not a list of header names"),
            ("PUT", [], True, 204, [("Access-Control-Allow-Methods", "PUT")], False,
             "no Access-Control-Allow-Credentials"),
        ]
        for method, names, credentials, status, extra, allowed, words in cases:
            with self.subTest(method=method, names=names, credentials=credentials, extra=extra):
                verdict = self.verdict(ok_preflight() + extra, status=status, credentials=credentials,
                                       preflight=(method, names))
                self.assertIs(verdict.allowed, allowed, verdict.text)
                self.assertIn(words, verdict.text)

    def test_blocked_preflight_says_the_request_is_never_sent(self):
        verdict = self.verdict([], status=204, credentials=False, preflight=("PUT", []))
        self.assertEqual(verdict, cors_demo.Verdict(False, "blocked: the preflight response has no "
                                                           "Access-Control-Allow-Origin header; the "
                                                           "PUT is never sent"))


class TestFailureOrder(unittest.TestCase):
    """Every failed check of one response, in the order Chrome reports them (seen
    in Chromium 156: it shows the first, and the next once that is fixed)."""

    def checks(self, failures):
        return [failure.check for failure in failures]

    def test_preflight_401_without_cors_headers_reports_allow_origin_first(self):
        failures = cors_demo.preflight_failures(PAGE, "PUT", [], False, 401, [])
        self.assertEqual(self.checks(failures),
                         ["no-allow-origin", "preflight-status", "method-not-allowed"])

    def test_preflight_redirect_comes_before_everything(self):
        failures = cors_demo.preflight_failures(PAGE, "PUT", ["x-a"], True, 302,
                                                [("Location", "/x")])
        self.assertEqual(self.checks(failures),
                         ["preflight-redirect", "no-allow-origin", "credentials-missing",
                          "method-not-allowed", "header-not-allowed"])

    def test_list_parse_errors_come_before_method_and_headers(self):
        headers = ok_preflight(Access_Control_Allow_Methods="GET, (x)",
                               Access_Control_Allow_Headers="a b")
        failures = cors_demo.preflight_failures(PAGE, "PUT", ["x-a", "x-b"], False, 200, headers)
        self.assertEqual(self.checks(failures),
                         ["methods-unparsable", "headers-unparsable", "method-not-allowed",
                          "header-not-allowed", "header-not-allowed"])

    def test_each_failure_has_chromes_console_message(self):
        url = "http://api.example/x"
        cases = [  # failure, response kind, Chrome's words after "blocked by CORS policy: "
            (cors_demo.Failure("no-allow-origin", "actual", {}),
             "No 'Access-Control-Allow-Origin' header is present on the requested resource."),
            (cors_demo.Failure("no-allow-origin", "preflight", {}),
             "Response to preflight request doesn't pass access control check: No "
             "'Access-Control-Allow-Origin' header is present on the requested resource."),
            (cors_demo.Failure("preflight-status", "preflight", {"status": 401}),
             "Response to preflight request doesn't pass access control check: It does not have "
             "HTTP ok status."),
            (cors_demo.Failure("method-not-allowed", "preflight",
                               {"method": "patch", "listed": "PATCH", "hint": ""}),
             "Method patch is not allowed by Access-Control-Allow-Methods in preflight response."),
            (cors_demo.Failure("credentials-not-true", "actual", {"value": "TRUE"}),
             "The value of the 'Access-Control-Allow-Credentials' header in the response is 'TRUE' "
             "which must be 'true' when the request's credentials mode is 'include'."),
        ]
        for failure, words in cases:
            with self.subTest(check=failure.check, response=failure.response):
                said = cors_demo.console_text(failure, url, url, PAGE)
                self.assertEqual(said, f"Access to fetch at '{url}' from origin '{PAGE}' has been "
                                       f"blocked by CORS policy: {words}")

    def test_console_message_names_the_first_url_after_a_redirect(self):
        failure = cors_demo.Failure("no-allow-origin", "actual", {})
        said = cors_demo.console_text(failure, "http://b.example/2", "http://a.example/1", PAGE)
        self.assertIn("Access to fetch at 'http://b.example/2' (redirected from "
                      "'http://a.example/1') from origin", said)


class TestRequestRules(unittest.TestCase):
    """What fetch() sends, and when a preflight comes first, no sockets."""

    def test_safelisted_request_headers(self):
        cases = [("Accept", "*/*", True), ("Accept", "a" * 128, True), ("Accept", "a" * 129, False),
                 ("Accept", "x(y)", False), ("Accept", '"', False),
                 ("Accept-Language", "en-US,en;q=0.9", True), ("Accept-Language", "@", False),
                 ("Content-Language", "de", True), ("Content-Language", "\x01", False),
                 ("Content-Type", "text/plain;charset=UTF-8", True),
                 ("Content-Type", "Text/Plain;charset=utf-8", True),
                 ("Content-Type", "text/plain;", True), ("Content-Type", "text/plain;garbage", True),
                 ("Content-Type", "multipart/form-data; boundary=x", True),
                 ("Content-Type", "application/x-www-form-urlencoded", True),
                 ("Content-Type", "application/json", False), ("Content-Type", "text /plain", False),
                 ("Content-Type", "text/plain,", False), ("Content-Type", "text/plain\x0b", False),
                 ("Content-Type", "text/plain, application/json", False),
                 ("Content-Type", 'multipart/form-data;"', False),
                 ("Content-Type", "application/www-form-urlencoded", False),
                 ("Range", "bytes=0-10", True), ("Range", "bytes=200-", True),
                 ("Range", "bytes=200-100", False), ("Range", "bytes=-200", False),
                 ("Range", "bytes=0-1,3-4", False), ("Range", "bytes =0-1", False),
                 ("Range", f"bytes=1{'0' * 60}-2{'0' * 60}", False),
                 ("Last-Event-ID", "abc", False), ("X-Demo", "1", False),
                 ("Authorization", "Bearer x", False), ("DPR", "2", False)]
        for name, value, expected in cases:
            with self.subTest(name=name, value=value[:30]):
                self.assertIs(cors_demo.is_safelisted_request_header(name, value), expected)

    def test_unsafe_names_are_lower_case_sorted_and_unique(self):
        names = cors_demo.unsafe_header_names([("X-B", "1"), ("Accept", "*/*"), ("x-a", "1"),
                                               ("X-A", "2"), ("Content-Type", "application/json")])
        self.assertEqual(names, ["content-type", "x-a", "x-b"])

    def test_safelisted_values_over_one_kib_together_all_need_a_preflight(self):
        headers = [("Accept", "a" * 128)] * 8 + [("Accept-Language", "b" * 100)]
        self.assertEqual(cors_demo.unsafe_header_names(headers), ["accept", "accept-language"])

    def test_preflight_reasons(self):
        self.assertIsNone(cors_demo.preflight_reason("GET", []))
        self.assertIsNone(cors_demo.preflight_reason("POST", [("Content-Type", "text/plain")]))
        self.assertEqual(cors_demo.preflight_reason("PUT", []), "PUT is not GET, HEAD or POST")
        self.assertIn("x-demo", cors_demo.preflight_reason("GET", [("X-Demo", "1")]))
        self.assertIn("three form types", cors_demo.preflight_reason(
            "POST", [("Content-Type", "application/json")]))

    def test_forbidden_request_headers_are_the_browsers(self):
        cases = [("Cookie", "a=b", True), ("Sec-Fetch-Mode", "cors", True), ("Proxy-X", "1", True),
                 ("Origin", "x", True), ("Keep-Alive", "1", True), ("X-HTTP-Method-Override", "TRACE", True),
                 ("X-HTTP-Method-Override", "PUT", False), ("User-Agent", "me", False),
                 ("Authorization", "x", False)]
        for name, value, forbidden in cases:
            with self.subTest(name=name, value=value):
                self.assertIs(cors_demo.is_forbidden_request_header(name, value), forbidden)

    def test_methods_are_normalized_as_fetch_does(self):
        self.assertEqual(cors_demo.normalize_method("delete"), "DELETE")
        self.assertEqual(cors_demo.normalize_method("patch"), "patch")

    def test_readable_and_unreadable_headers(self):
        headers = [("Content-Type", "text/plain"), ("X-A", "1"), ("X-B", "2"), ("Set-Cookie", "a=b"),
                   ("Connection", "close"), ("Access-Control-Expose-Headers", "X-A")]
        self.assertEqual(cors_demo.readable_headers(headers, False), ["content-type", "x-a"])
        self.assertEqual(cors_demo.unreadable_headers(headers, False), ["x-b"])
        star = headers[:-1] + [("Access-Control-Expose-Headers", "*")]
        self.assertEqual(cors_demo.readable_headers(star, False),
                         ["content-type", "x-a", "x-b", "connection", "access-control-expose-headers"])
        self.assertEqual(cors_demo.readable_headers(star, True), ["content-type"])
        literal = [("*", "whoa"), ("Access-Control-Expose-Headers", "*")]
        self.assertEqual(cors_demo.readable_headers(literal, True), ["*"])


class TestURLParser(unittest.TestCase):
    """URLs as a browser's parser reads them (each row agrees with Node's WHATWG URL)."""

    BASE = "http://127.0.0.1:9002/dir/page?q"

    def test_resolution(self):
        cases = [  # input, resolved
            ("/\\127.0.0.1:9003/x", "http://127.0.0.1:9003/x"),
            ("http:///127.0.0.1:9003/x", "http://127.0.0.1:9003/x"),
            ("\\\\host\\a\\b", "http://host/a/b"),
            ("http:next", "http://127.0.0.1:9002/dir/next"),
            ("https:\\\\h/x", "https://h/x"),
            ("http://@h/x", "http://h/x"),
            ("http://:@h/x", "http://h/x"),
            ("http://u:p@h/x", "http://u:p@h/x"),
            ("../a/./b/../c", "http://127.0.0.1:9002/a/c"),
            ("/a/%2e%2E/b", "http://127.0.0.1:9002/b"),
            ("/café x?q=é y#frag", "http://127.0.0.1:9002/caf%C3%A9%20x?q=%C3%A9%20y"),
            ("?other", "http://127.0.0.1:9002/dir/page?other"),
            ("", "http://127.0.0.1:9002/dir/page?q"),
            ("HTTP://EXAMPLE.com:80/", "http://example.com/"),
            ("http://0x7f.1:8/", "http://127.0.0.1:8/"),
            ("http://2130706433/", "http://127.0.0.1/"),
            ("http://[0:0::1]:8/", "http://[::1]:8/"),
            ("http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/"),
            ("http://café.fr/", "http://xn--caf-dma.fr/"),
            (" \thttp://h/a\tb\n ", "http://h/ab"),
        ]
        base = cors_demo.parse_url(self.BASE)
        for text, resolved in cases:
            with self.subTest(text=text):
                self.assertEqual(str(cors_demo.parse_url(text, base)), resolved)

    def test_what_a_browser_refuses(self):
        cases = ["http://[::1/x", "http://h:99999/", "http://h:abc/", "http://h: 1/", "http://09.1/",
                 "http://1.2.3.4.5/", "http://256.0.0.1/", "http://a b/", "http://%zz/", "http:///",
                 "http://[fe80::1%25eth0]/", "http://u@/x"]
        base = cors_demo.parse_url(self.BASE)
        for text in cases:
            with self.subTest(text=text):
                with self.assertRaises(cors_demo.URLError):
                    cors_demo.parse_url(text, base)

    def test_other_schemes_keep_only_their_scheme(self):
        self.assertEqual(cors_demo.parse_url("ftp://h/x").scheme, "ftp")
        self.assertEqual(cors_demo.parse_url("data:,x").scheme, "data")

    def test_location_bytes_that_are_not_utf8_are_percent_encoded_one_by_one(self):
        base = cors_demo.parse_url(self.BASE)
        self.assertEqual(str(cors_demo.location_url("/caf\xe9", base)), "http://127.0.0.1:9002/caf%E9")
        self.assertEqual(str(cors_demo.location_url("/caf\xc3\xa9", base)),
                         "http://127.0.0.1:9002/caf%C3%A9")

    def test_origins_and_credentials(self):
        url = cors_demo.parse_url("HTTPS://User@Example.COM:443/a?b")
        self.assertEqual(url.origin, "https://example.com")
        self.assertTrue(url.includes_credentials)
        self.assertEqual(cors_demo.parse_url("http://[::1]:8000/").origin, "http://[::1]:8000")

    def test_mixed_content_spares_loopback(self):
        cases = [("http://127.0.0.5/", True), ("http://[::1]/", True), ("http://localhost/", True),
                 ("http://a.localhost/", True), ("https://a.example/", True),
                 ("http://a.example/", False), ("http://10.0.0.1/", False)]
        for text, trustworthy in cases:
            with self.subTest(text=text):
                self.assertIs(cors_demo.is_potentially_trustworthy(cors_demo.parse_url(text)), trustworthy)

    def test_address_spaces(self):
        cases = [("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "local"),
                 ("192.168.0.1", "local"), ("172.20.0.1", "local"), ("fd00::1", "local"),
                 ("::ffff:192.168.1.1", "local"), ("8.8.8.8", "public")]
        for text, space in cases:
            with self.subTest(text=text):
                self.assertEqual(cors_demo.address_space(ipaddress.ip_address(text)), space)


# Small servers that answer as told: each path has a script for its preflight and
# for its other requests, "{origin}" in a value is the request's Origin, and every
# request is remembered.

class Scripted(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        path, _, query = self.path.partition("?")
        if path == "/make":
            return self.made(dict(urllib.parse.parse_qsl(query)))
        kind = "preflight" if ("Access-Control-Request-Method" in self.headers
                               and self.command == "OPTIONS") else "actual"
        with server.lock:
            server.seen.append((self.command, path, list(self.headers.items())))
            script = server.scripts.get(path, {}).get(kind, {"status": 404})
        body = script.get("body", "").encode()
        self.send_response_only(script.get("status", 200), script.get("reason"))
        for name, value in script.get("headers", []):
            self.send_header(name, value.replace("{origin}", self.headers.get("Origin", "")))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def made(self, query):
        """/make?origin=O&location=L, as wpt's cors-makeheader.py: Allow-Origin O, a 302 to L."""
        self.send_response_only(302 if "location" in query else 200)
        if query.get("origin", "none") != "none":
            self.send_header("Access-Control-Allow-Origin", query["origin"])
        if "location" in query:
            self.send_header("Location", query["location"])
        origin = self.headers.get("Origin")
        self.send_header("X-Origin", "absent" if origin is None else origin)
        self.send_header("Access-Control-Expose-Headers", "X-Origin")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = answer

    def do_patch(self):
        self.answer()

    def log_message(self, format, *args):
        pass


class ScriptedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Scripted)
        self.scripts, self.seen, self.lock = {}, [], threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_port}"
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def requests_to(self, path):
        with self.lock:
            return [(method, headers) for method, seen_path, headers in self.seen if seen_path == path]

    def close(self):
        self.shutdown()
        self.server_close()
        self.thread.join()

    def handle_error(self, request, client_address):
        pass      # a TLS handshake that fails on purpose, a client that went away


def answer(status=200, headers=(), body=""):
    return {"status": status, "headers": list(headers), "body": body}


class ScriptedTestCase(unittest.TestCase):
    """Two scripted servers: two origins, and both cross-origin to PAGE."""
    scripts = {}
    other_scripts = {}

    @classmethod
    def setUpClass(cls):
        cls.server, cls.other = ScriptedServer(), ScriptedServer()
        cls.server.scripts = cls.expand(cls.scripts)
        cls.other.scripts = cls.expand(cls.other_scripts)

    @classmethod
    def expand(cls, scripts):
        text = json.dumps(scripts).replace("{other}", cls.other.url).replace("{server}", cls.server.url)
        return json.loads(text)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.other.close()

    def check(self, path, origin=PAGE, server=None, **options):
        options.setdefault("timeout", 5)
        return cors_demo.check((server or self.server).url + path, origin, **options)

    def sent(self, report, index=-1):
        return dict(report["exchanges"][index]["request_headers"])


STAR = [("Access-Control-Allow-Origin", "*")]
REFLECT = [("Access-Control-Allow-Origin", "{origin}"), ("Access-Control-Allow-Credentials", "true")]


class TestCheckAsABrowser(ScriptedTestCase):
    """check sends what a browser sends, where it sends it, and stops where it stops."""
    scripts = {
        "/plain": {"actual": answer(200, [("X-Secret", "1")])},
        "/to-other": {"actual": answer(302, [("Location", "{other}/star")])},
        "/to-other-preflighted": {"actual": answer(307, [("Location", "{other}/preflighted")])},
        "/backslash": {"actual": answer(302, STAR + [("Location", "/\\{other_host}/star")])},
        "/slashes": {"actual": answer(302, STAR + [("Location", "http:///{other_host}/star")])},
        "/empty-user": {"actual": answer(302, STAR + [("Location", "http://@{other_host}/star")])},
        "/user-pass": {"actual": answer(302, STAR + [("Location", "http://u:p@{other_host}/star")])},
        "/bad-port": {"actual": answer(302, STAR + [("Location", "http://127.0.0.1:99999/x")])},
        "/bad-host": {"actual": answer(302, STAR + [("Location", "http://[::1/x")])},
        "/to-ftp": {"actual": answer(302, STAR + [("Location", "ftp://127.0.0.1/x")])},
        "/non-ascii": {"actual": answer(302, STAR + [("Location", "/caf\u00e9 x")])},
        "/caf%E9%20x": {"actual": answer(200, STAR)},
        "/loop": {"actual": answer(302, STAR + [("Location", "/loop")])},
        "/leak": {"preflight": answer(204, REFLECT + [("Access-Control-Allow-Headers", "authorization")]),
                  "actual": answer(307, REFLECT + [("Location", "{other_by_name}/reflect")])},
        "/post-303": {"actual": answer(303, STAR + [("Location", "/star")])},
        "/to-plain-elsewhere": {"actual": answer(307, REFLECT + [("Location", "{other_by_name}/plain")])},
        "/star": {"actual": answer(200, STAR)},
        "/preflight-401": {"preflight": answer(401, [("WWW-Authenticate", "Bearer")],
                                               '{"detail":"Not authenticated"}')},
        "/starlette-origin": {"preflight": answer(400, [("Access-Control-Allow-Methods", "GET")],
                                                  "Disallowed CORS origin")},
        "/starlette-method": {"preflight": answer(400, [("Access-Control-Allow-Origin", PAGE),
                                                        ("Access-Control-Allow-Methods", "GET")],
                                                  "Disallowed CORS method")},
        "/starlette-headers": {"preflight": answer(400, [("Access-Control-Allow-Origin", PAGE),
                                                         ("Access-Control-Allow-Methods", "GET")],
                                                   "Disallowed CORS headers")},
        "/error": {"actual": answer(500, [], '{"error": "database down"}')},
        "/auth-star": {"preflight": answer(204, STAR + [("Access-Control-Allow-Headers", "*")]),
                       "actual": answer(200, STAR)},
        "/expose": {"actual": answer(200, STAR + [("X-Total", "3"), ("X-Hidden", "1"),
                                                  ("Access-Control-Expose-Headers", "X-Total")])},
    }
    other_scripts = {
        "/star": {"actual": answer(200, STAR)},
        "/reflect": {"actual": answer(200, REFLECT)},
        "/plain": {"actual": answer(200)},
        "/preflighted": {"preflight": answer(204, [("Access-Control-Allow-Origin", "{origin}"),
                                                   ("Access-Control-Allow-Headers", "x-a")]),
                         "actual": answer(200, [("Access-Control-Allow-Origin", "{origin}")])},
    }

    @classmethod
    def expand(cls, scripts):
        host = cls.other.url.split("//")[1]
        text = json.dumps(super().expand(scripts)).replace("{other_host}", host)
        return json.loads(text.replace("{other_by_name}", cls.other.url.replace("127.0.0.1", "localhost")))

    def test_same_origin_get_is_a_plain_fetch(self):
        report = self.check("/plain", origin=self.server.url)
        self.assertTrue(report["allowed"])
        self.assertEqual([e["method"] for e in report["exchanges"]], ["GET"])
        self.assertNotIn("Origin", self.sent(report))
        self.assertIn("x-secret", report["readable_headers"])
        self.assertIsNone(report["probe"])

    def test_same_origin_put_sends_origin_and_no_preflight(self):
        report = self.check("/plain", origin=self.server.url, method="PUT", headers=[("X-A", "1")])
        self.assertEqual([e["method"] for e in report["exchanges"]], ["PUT"])
        self.assertEqual(self.sent(report)["Origin"], self.server.url)
        self.assertTrue(report["allowed"])

    def test_same_origin_redirected_cross_origin_is_cors_from_that_hop(self):
        report = self.check("/to-other", origin=self.server.url)
        first, second = report["exchanges"]
        self.assertNotIn("Origin", dict(first["request_headers"]))
        self.assertEqual(dict(second["request_headers"])["Origin"], self.server.url)
        self.assertTrue(report["allowed"])

    def test_same_origin_redirected_cross_origin_preflights_there(self):
        report = self.check("/to-other-preflighted", origin=self.server.url, headers=[("X-A", "1")])
        self.assertEqual([e["kind"] for e in report["exchanges"]], ["request", "preflight", "request"])
        self.assertTrue(report["allowed"])

    def test_redirects_taint_the_origin_as_wpts_redirect_origin_cases_say(self):
        local, remote = self.server.url + "/make", self.other.url + "/make"
        remote2 = remote.replace("127.0.0.1", "localhost")
        cases = [  # first (url, its Allow-Origin), second, the Origin the second gets (None: blocked)
            ((local, "none"), (remote, "*"), "page"), ((local, "null"), (remote, "page"), "page"),
            ((remote, "*"), (local, "*"), "null"), ((remote, "*"), (local, "page"), None),
            ((remote, "page"), (local, "null"), "null"), ((remote, "*"), (remote, "null"), None),
            ((remote, "*"), (remote, "*"), "page"), ((remote, "*"), (remote2, "*"), "null"),
            ((remote, "page"), (remote2, "page"), None), ((remote, "none"), (remote2, "*"), None),
        ]
        page = self.server.url
        for (first, first_allows), (second, second_allows), origin in cases:
            with self.subTest(first=first[-12:], first_allows=first_allows, second=second[-12:],
                              second_allows=second_allows):
                value = {"page": page}.get(second_allows, second_allows)
                target = second + "?origin=" + urllib.parse.quote(value, safe="")
                value = {"page": page}.get(first_allows, first_allows)
                url = (first + "?origin=" + urllib.parse.quote(value, safe="")
                       + "&location=" + urllib.parse.quote(target, safe=""))
                report = cors_demo.check(url, page, timeout=5)
                self.assertIs(report["allowed"], origin is not None, report["verdict"])
                if origin:
                    self.assertEqual(self.sent(report)["Origin"], {"page": page}.get(origin, origin))

    def test_redirect_urls_resolve_as_a_browser_resolves_them(self):
        for path in ("/backslash", "/slashes", "/empty-user"):
            with self.subTest(path=path):
                report = self.check(path)
                self.assertEqual(report["exchanges"][-1]["url"], self.other.url + "/star")
                self.assertTrue(report["allowed"])

    def test_redirect_to_a_url_with_credentials_is_blocked(self):
        report = self.check("/user-pass")
        self.assertFalse(report["allowed"])
        self.assertIn("user name or password", report["verdict"])
        self.assertEqual(len(report["exchanges"]), 1)

    def test_unusable_locations_are_blocked_in_one_line(self):
        cases = [("/bad-port", "port 99999 is above 65535"), ("/bad-host", "no closing ]"),
                 ("/to-ftp", "which is not http(s)")]
        for path, words in cases:
            with self.subTest(path=path):
                report = self.check(path)
                self.assertIs(report["allowed"], False)
                self.assertIn(words, report["verdict"])

    def test_non_ascii_location_is_percent_encoded(self):
        report = self.check("/non-ascii")
        self.assertEqual(report["exchanges"][-1]["url"], self.server.url + "/caf%E9%20x")
        self.assertTrue(report["allowed"])

    def test_more_than_twenty_redirects_are_blocked(self):
        report = self.check("/loop")
        self.assertEqual(len(report["exchanges"]), 21)
        self.assertIn("more than 20 redirects", report["verdict"])

    def test_cross_origin_redirect_leaks_no_credentials(self):
        report = self.check("/leak", credentials=True,
                            headers=[("Authorization", "Bearer secret"), ("Cookie", "session=1")])
        self.assertTrue(report["allowed"])
        first, last = self.sent(report, 1), self.sent(report, -1)
        self.assertEqual((first["Authorization"], first["Cookie"]), ("Bearer secret", "session=1"))
        self.assertEqual(last["Origin"], "null")
        self.assertNotIn("Authorization", last)
        self.assertNotIn("Cookie", last)
        self.assertTrue(any("Authorization dropped" in note for note in report["notes"]))

    def test_null_after_a_redirect_with_credentials_gets_no_header_fix(self):
        report = self.check("/to-plain-elsewhere", credentials=True)
        self.assertFalse(report["allowed"])
        self.assertIn("a browser sends Origin: null", report["verdict"])
        self.assertEqual([trap["trap"] for trap in report["traps"]], ["null-with-credentials"])
        allow_origins = [entry["set"].get("Access-Control-Allow-Origin") for entry in report["fixes"]]
        self.assertEqual([value for value in allow_origins if value], [])

    def test_null_after_a_redirect_without_credentials_is_fixed_by_star(self):
        report = self.check("/to-plain-elsewhere")
        self.assertIn({"Access-Control-Allow-Origin": "*"}, [entry["set"] for entry in report["fixes"]])

    def test_preflight_carries_no_cookie_and_no_authorization(self):
        report = self.check("/leak", credentials=True,
                            headers=[("Authorization", "Bearer secret"), ("Cookie", "session=1")])
        preflight = self.sent(report, 0)
        self.assertEqual(preflight["Access-Control-Request-Headers"], "authorization")
        self.assertNotIn("Cookie", preflight)
        self.assertNotIn("Authorization", preflight)

    def test_303_turns_a_post_into_a_get_without_body_headers(self):
        report = self.check("/post-303", method="POST", body="x", headers=[("Content-Language", "en")])
        last = report["exchanges"][-1]
        self.assertEqual(last["method"], "GET")
        self.assertNotIn("Content-Language", dict(last["request_headers"]))

    def test_preflight_401_lists_every_failure_in_chromes_order_and_its_body(self):
        report = self.check("/preflight-401", method="PUT")
        self.assertEqual([f["check"] for f in report["failures"]],
                         ["no-allow-origin", "preflight-status", "method-not-allowed"])
        self.assertIn("No 'Access-Control-Allow-Origin' header", report["failures"][0]["console"])
        self.assertEqual(report["exchanges"][0]["body"], '{"detail":"Not authenticated"}')
        self.assertEqual([trap["trap"] for trap in report["traps"]], ["auth-before-cors"])

    def test_three_starlette_refusals_say_three_things(self):
        cases = [("/starlette-origin", "has no Access-Control-Allow-Origin", "Disallowed CORS origin"),
                 ("/starlette-method", "PUT is not in", "Disallowed CORS method"),
                 ("/starlette-headers", "header authorization is not in", "Disallowed CORS headers")]
        for path, words, body in cases:
            with self.subTest(path=path):
                method = "GET" if path == "/starlette-headers" else "PUT"
                headers = [("Authorization", "x")] if path == "/starlette-headers" else []
                report = self.check(path, method=method, headers=headers)
                self.assertIn(words, " ".join(f["text"] for f in report["failures"]))
                self.assertEqual(report["exchanges"][0]["body"], body)

    def test_error_without_cors_headers_is_a_named_trap_with_its_body(self):
        report = self.check("/error")
        self.assertFalse(report["allowed"])
        self.assertIn("hides the real one", report["traps"][0]["text"])
        self.assertEqual(report["exchanges"][0]["body"], '{"error": "database down"}')

    def test_authorization_under_star_follows_the_standard_and_says_what_engines_do(self):
        report = self.check("/auth-star", headers=[("Authorization", "Bearer x")])
        self.assertFalse(report["allowed"])
        self.assertIn("Chromium 156 and Firefox 153 let * cover it anyway", report["verdict"])
        self.assertTrue(report["engines"])

    def test_headers_that_arrived_unreadable_are_listed_with_an_expose_fix(self):
        report = self.check("/expose")
        self.assertIn("x-total", report["readable_headers"])
        self.assertIn("x-hidden", report["unreadable_headers"])
        exposed = report["fixes"][-1]["set"]["Access-Control-Expose-Headers"]
        self.assertIn("X-Total", exposed)
        self.assertIn("x-hidden", exposed)

    def test_cookie_claims_match_what_is_sent(self):
        report = self.check("/star", headers=[("Cookie", "a=b")])
        self.assertNotIn("Cookie", self.sent(report))
        self.assertTrue(any("sent with credentials" in note for note in report["notes"]))

    def test_script_user_agent_follows_the_standard_and_says_what_chromium_does(self):
        report = self.check("/auth-star", headers=[("User-Agent", "mine")])
        self.assertEqual(report["exchanges"][0]["kind"], "preflight")
        self.assertTrue(any("Chromium 156 ignores it" in note for note in report["notes"]))

    def test_mixed_content_is_blocked_before_anything_is_sent(self):
        report = cors_demo.check("http://api.invalid/star", "https://app.example")
        self.assertFalse(report["allowed"])
        self.assertEqual(report["exchanges"], [])
        self.assertIn("Mixed Content: The page at 'https://app.example'", report["failures"][0]["console"])

    def test_https_page_may_call_loopback_over_http(self):
        report = self.check("/star", origin="https://app.example")
        self.assertTrue(report["allowed"])

    def test_public_page_calling_loopback_gets_chromes_local_network_note(self):
        cases = [("https://app.example", "Permission was denied"),
                 ("http://app.example", "The request client is not a secure context")]
        for origin, words in cases:
            with self.subTest(origin=origin):
                report = self.check("/star", origin=origin)
                self.assertIn(words, " ".join(report["engines"]))


class SilentServer:
    """A raw socket server that runs behave(connection) for each connection."""

    def __init__(self, behave):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.behave, self.done = behave, threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.done.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.run, args=(connection,), daemon=True).start()

    def run(self, connection):
        with connection:
            try:
                connection.recv(65536)
                self.behave(connection, self.done)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.sock.shutdown(socket.SHUT_RDWR)     # wakes the accept() in serve()
        self.sock.close()
        self.thread.join()


def dribble(data, head=b""):
    def behave(connection, done):
        connection.sendall(head)
        for byte in data:
            if done.wait(0.05):
                return
            connection.sendall(bytes([byte]))
    return behave


def endless(head, line):
    def behave(connection, done):
        connection.sendall(head)
        while not done.wait(0.01):
            connection.sendall(line)
    return behave


def canned(raw):
    def behave(connection, done):
        connection.sendall(raw)
        done.wait(5)
    return behave


class TestCheckAgainstHostileServers(unittest.TestCase):
    """--timeout bounds each whole exchange, whatever the server does."""

    def test_slow_or_endless_answers_end_within_the_timeout(self):
        star = b"Access-Control-Allow-Origin: *\r\n"
        cases = [
            ("a head at 20 bytes/s", dribble(b"HTTP/1.1 200 OK\r\n" + star * 20 + b"\r\n")),
            ("endless 100 Continue", endless(b"", b"HTTP/1.1 100 Continue\r\n\r\n")),
            ("endless header lines", endless(b"HTTP/1.1 200 OK\r\n", b"X-A: 1\r\n")),
        ]
        for name, behave in cases:
            with self.subTest(name):
                with SilentServer(behave) as server:
                    started = time.monotonic()
                    report = cors_demo.check(server.url + "/", PAGE, timeout=0.2)
                    self.assertLess(time.monotonic() - started, 3)
                    self.assertIsNone(report["allowed"])

    def test_body_and_trailers_never_hold_the_verdict(self):
        head = b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n"
        cases = [("an error body at 20 bytes/s", dribble(b"5\r\nhello\r\n" * 40,
                                                          head.replace(b"200 OK", b"500 Oops"))),
                 ("endless trailers", endless(head + b"5\r\nhello\r\n0\r\n", b"X-Trailer: 1\r\n"))]
        for name, behave in cases:
            with self.subTest(name):
                with SilentServer(behave) as server:
                    started = time.monotonic()
                    report = cors_demo.check(server.url + "/", PAGE, timeout=0.2)
                    self.assertLess(time.monotonic() - started, 3)
                    self.assertTrue(report["allowed"])

    def test_preflight_whose_body_never_ends_does_not_stall(self):
        head = (b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n"
                b"Access-Control-Allow-Methods: PUT\r\nContent-Length: 100000000\r\n\r\n")

        def behave(connection, done):
            connection.sendall(head)
            connection.recv(65536)      # the PUT comes on a new connection; this one idles
            done.wait(5)
        with SilentServer(behave) as server:
            started = time.monotonic()
            report = cors_demo.check(server.url + "/", PAGE, method="PUT", timeout=2)
            self.assertLess(time.monotonic() - started, 1.5)
            self.assertEqual(report["exchanges"][0]["verdict"],
                             "preflight passed: a browser now sends the PUT request")

    def test_a_head_of_120_lines_is_read_as_chromium_reads_it(self):
        raw = (b"HTTP/1.1 200 OK\r\n" + b"X-Filler: 1\r\n" * 119
               + b"Access-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n")
        with SilentServer(canned(raw)) as server:
            report = cors_demo.check(server.url + "/", PAGE, timeout=2)
        self.assertTrue(report["allowed"])

    def test_obsolete_folded_header_lines_are_one_value(self):
        raw = b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin:\r\n *\r\nContent-Length: 0\r\n\r\n"
        with SilentServer(canned(raw)) as server:
            report = cors_demo.check(server.url + "/", PAGE, timeout=2)
        self.assertTrue(report["allowed"])

    def test_an_answer_that_is_not_http_cannot_be_asked(self):
        with SilentServer(canned(b"SSH-2.0-OpenSSH\r\n\r\n")) as server:
            report = cors_demo.check(server.url + "/", PAGE, timeout=2)
        self.assertIsNone(report["allowed"])
        self.assertIn("did not answer in HTTP", report["verdict"])


WRONG_SERVERS = {
    # name: (the page's request, the server's scripts by path)
    "no allow-origin": ({}, {"/api": {"actual": answer(200)}}),
    "a trailing slash": ({}, {"/api": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE + "/")])}}),
    "another scheme": ({}, {"/api": {"actual": answer(200, [("Access-Control-Allow-Origin",
                                                              PAGE.replace("http", "https"))])}}),
    "* with credentials": ({"credentials": True},
                           {"/api": {"actual": answer(200, STAR + [("Access-Control-Allow-Credentials", "true")])}}),
    "credentials missing": ({"credentials": True},
                            {"/api": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "credentials True": ({"credentials": True},
                         {"/api": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE),
                                                          ("Access-Control-Allow-Credentials", "True")])}}),
    "two allow-origins": ({}, {"/api": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE)] * 2)}}),
    "method missing": ({"method": "PUT"},
                       {"/api": {"preflight": answer(204, ok_preflight(Access_Control_Allow_Methods="GET, POST")),
                                 "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "patch in lower case": ({"method": "patch"},
                            {"/api": {"preflight": answer(204, ok_preflight(Access_Control_Allow_Methods="PATCH")),
                                      "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "header missing": ({"headers": [("X-Token", "1"), ("Content-Type", "application/json")],
                        "method": "POST", "body": "{}"},
                       {"/api": {"preflight": answer(204, ok_preflight(Access_Control_Allow_Headers="content-type")),
                                 "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "authorization under *": ({"headers": [("Authorization", "Bearer x")]},
                              {"/api": {"preflight": answer(204, ok_preflight(Access_Control_Allow_Headers="*")),
                                        "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "auth answers the preflight 401": ({"method": "DELETE"},
                                       {"/api": {"preflight": answer(401, [("WWW-Authenticate", "Bearer")]),
                                                 "actual": answer(200)}}),
    "preflight 403 with cors headers": ({"method": "PUT"},
                                        {"/api": {"preflight": answer(403, ok_preflight(Access_Control_Allow_Methods="PUT")),
                                                  "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "preflight redirected": ({"method": "PUT"},
                             {"/api": {"preflight": answer(301, [("Location", "/api/")]),
                                       "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "redirect without cors headers": ({}, {"/api": {"actual": answer(308, [("Location", "/api/")])},
                                           "/api/": {"actual": answer(200)}}),
    "error without cors headers": ({}, {"/api": {"actual": answer(500, [], "boom")}}),
    "methods not a list": ({"method": "PUT"},
                           {"/api": {"preflight": answer(204, ok_preflight(Access_Control_Allow_Methods="GET;PUT")),
                                     "actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])}}),
    "header read but not exposed": ({}, {"/api": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE),
                                                                        ("X-Total-Count", "7")])}}),
}


def apply_fixes(scripts, fixes):
    """The fixes, applied literally: each set header replaces its every copy, each
    removed header goes, each status is the new status, on the responses named."""
    scripts = copy.deepcopy(scripts)
    for entry in fixes:
        for kinds in scripts.values():
            for kind, script in kinds.items():
                redirect = any(name == "Location" for name, _ in script["headers"])
                role = "preflight" if kind == "preflight" else "redirect" if redirect else "actual"
                if role != entry["response"]:
                    continue
                gone = {name.lower() for name in [*entry["set"], *entry["remove"]]}
                script["headers"] = [pair for pair in script["headers"] if pair[0].lower() not in gone]
                script["headers"] += list(entry["set"].items())
                script["status"] = entry.get("status", script["status"])
    return scripts


class TestCheckFixesWrongServers(ScriptedTestCase):
    """A server wrong in many ways: check's fixes, applied literally, make it readable."""

    def test_applying_the_fixes_makes_the_response_readable(self):
        for name, (request, scripts) in WRONG_SERVERS.items():
            with self.subTest(name):
                self.server.scripts = json.loads(json.dumps(scripts))
                before = self.check("/api", **request)
                self.assertTrue(before["fixes"], before["verdict"])
                self.server.scripts = apply_fixes(scripts, before["fixes"])
                after = self.check("/api", **request)
                self.assertTrue(after["allowed"], after["verdict"])
                self.assertEqual(after["failures"], [])

    def test_fixes_have_the_specs_shape(self):
        self.server.scripts = WRONG_SERVERS["auth answers the preflight 401"][1]
        report = self.check("/api", method="DELETE")
        self.assertIn({"response": "preflight", "set": {}, "remove": [], "status": 204,
                       "why": "the preflight got status 401; a preflight needs an ok status (200-299)"},
                      report["fixes"])
        for entry in report["fixes"]:
            self.assertEqual(set(entry) - {"status"}, {"response", "set", "remove", "why"})
            self.assertIn(entry["response"], ("preflight", "actual", "redirect"))

    def test_fixes_carry_this_requests_exact_values(self):
        cases = [("patch in lower case", "Access-Control-Allow-Methods", "PATCH, patch"),
                 ("header missing", "Access-Control-Allow-Headers", "content-type, x-token"),
                 ("authorization under *", "Access-Control-Allow-Headers", "*, authorization"),
                 ("credentials True", "Access-Control-Allow-Credentials", "true"),
                 ("a trailing slash", "Access-Control-Allow-Origin", PAGE)]
        for name, header, value in cases:
            with self.subTest(name):
                request, scripts = WRONG_SERVERS[name]
                self.server.scripts = scripts
                report = self.check("/api", **request)
                values = [entry["set"].get(header) for entry in report["fixes"]]
                self.assertIn(value, values)

    def test_nothing_a_header_can_fix_gets_no_fix(self):
        report = cors_demo.check("http://api.invalid/api", "https://app.example")
        self.assertEqual(report["fixes"], [])

    def framework(self, name, report):
        return json.loads(cors_demo.check_json(report, name))["framework"]["config"]

    def test_a_framework_config_keeps_the_headers_already_exposed(self):
        self.server.scripts = {"/api": {"actual": answer(200, [
            ("Access-Control-Allow-Origin", PAGE), ("Access-Control-Expose-Headers", "X-Total-Count"),
            ("X-Total-Count", "3"), ("X-Page", "1")])}}
        report = self.check("/api")
        self.assertTrue(report["allowed"])
        config = "\n".join(self.framework("express", report))
        self.assertIn("exposedHeaders: ['X-Total-Count', 'x-page']", config)
        self.assertIn("merge it into your CORS settings", config)

    def test_no_framework_config_where_no_header_unblocks(self):
        self.server.scripts = self.expand({"/to-plain-elsewhere": {"actual": answer(307, REFLECT + [
            ("Location", "{other}/plain")])}})
        self.other.scripts = {"/plain": {"actual": answer(200, [("X-Total-Count", "3")])}}
        report = self.check("/to-plain-elsewhere", credentials=True)
        self.assertFalse(report["allowed"])
        for name in cors_demo.FRAMEWORKS:
            with self.subTest(name):
                self.assertIsNone(self.framework(name, report))

    def test_flask_lets_preflights_past_authentication_in_code(self):
        self.server.scripts = WRONG_SERVERS["auth answers the preflight 401"][1]
        config = self.framework("flask", self.check("/api", method="DELETE"))
        self.assertIn("    if request.method == 'OPTIONS':   # a preflight: no credentials, by design", config)

    def test_django_config_can_go_into_settings_that_have_corsheaders(self):
        self.server.scripts = WRONG_SERVERS["credentials True"][1]
        lines = self.framework("django", self.check("/api", **WRONG_SERVERS["credentials True"][0]))
        settings = {"INSTALLED_APPS": ["django.contrib.auth", "corsheaders"],
                    "MIDDLEWARE": ["django.middleware.common.CommonMiddleware",
                                   "corsheaders.middleware.CorsMiddleware"]}
        exec("\n".join(line for line in lines if "import" not in line), {}, settings)
        self.assertEqual(settings["INSTALLED_APPS"].count("corsheaders"), 1)
        self.assertEqual(settings["MIDDLEWARE"][0], "corsheaders.middleware.CorsMiddleware")
        self.assertEqual(settings["MIDDLEWARE"].count("corsheaders.middleware.CorsMiddleware"), 1)
        self.assertTrue(settings["CORS_ALLOW_CREDENTIALS"])


class TestCheckWarnings(ScriptedTestCase):
    """Dangerous set-ups, said out loud, from one extra request with a made-up origin."""
    scripts = {
        "/reflects": {"actual": answer(200, REFLECT)},
        "/listed": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE), ("Vary", "Origin")])},
        "/null": {"actual": answer(200, [("Access-Control-Allow-Origin", "null"),
                                         ("Access-Control-Allow-Credentials", "true")])},
        "/private": {"preflight": answer(204, REFLECT + [("Access-Control-Allow-Methods", "PUT"),
                                                          ("Access-Control-Allow-Private-Network", "true")]),
                     "actual": answer(200, REFLECT)},
        "/no-vary": {"actual": answer(200, [("Access-Control-Allow-Origin", PAGE)])},
    }

    def test_reflecting_any_origin_with_credentials_is_a_warning(self):
        report = self.check("/reflects", credentials=True)
        self.assertTrue(report["allowed"])
        self.assertEqual(dict(report["probe"]["request_headers"])["Origin"], cors_demo.MADE_UP_ORIGIN)
        self.assertIn("reflects any origin", report["warnings"][0])
        self.assertIn("with the visitor's cookies", report["warnings"][0])

    def test_a_listed_origin_gives_no_warning(self):
        report = self.check("/listed")
        self.assertEqual(report["warnings"], [])
        self.assertIn("not trusted", report["probe"]["verdict"])

    def test_honouring_null_is_a_warning(self):
        report = self.check("/null", origin="null", credentials=True)
        self.assertTrue(any("Access-Control-Allow-Origin: null" in w for w in report["warnings"]))

    def test_private_network_access_for_a_made_up_origin_is_a_warning(self):
        report = self.check("/private", method="PUT")
        probe = dict(report["probe"]["request_headers"])
        self.assertEqual(probe["Access-Control-Request-Private-Network"], "true")
        self.assertTrue(any("Private-Network: true to a made-up origin" in w for w in report["warnings"]))

    def test_one_origin_without_vary_is_a_warning(self):
        self.assertTrue(any("Vary: Origin" in w for w in self.check("/no-vary")["warnings"]))

    def test_the_probe_is_one_request(self):
        before = len(self.server.requests_to("/listed"))
        self.check("/listed")
        self.assertEqual(len(self.server.requests_to("/listed")) - before, 2)


class TestCheckAgainstTheDemo(ServerTestCase):
    """check against every route of the demo: one row per verdict reason."""

    def check(self, path, origin=PAGE, **options):
        return cors_demo.check(self.api + path, origin, timeout=5, **options)

    def test_each_route_and_reason(self):
        cases = [  # path, options, allowed, words in the verdict, methods sent
            ("/", {}, False, "no Access-Control-Allow-Origin header", ["GET"]),
            ("/allow-cors", {}, True, ALLOWED, ["GET"]),
            ("/allow-cors", {"credentials": True}, False, "* does not cover a request with credentials", ["GET"]),
            ("/allow-origin", {}, True, ALLOWED, ["GET"]),
            ("/allow-credentials", {"credentials": True}, True, ALLOWED, ["GET"]),
            ("/allow-origin", {"credentials": True}, False, "no Access-Control-Allow-Credentials: true", ["GET"]),
            ("/cors?allow-origin=https://google.com", {}, False,
             f"Access-Control-Allow-Origin: https://google.com but the page is {PAGE}", ["GET"]),
            ("/cors?allow-origin=origin&allow-credentials=TRUE", {"credentials": True}, False,
             "only the exact value true", ["GET"]),
            ("/data", {"method": "DELETE"}, True, ALLOWED, ["OPTIONS", "DELETE"]),
            ("/data", {"method": "POST", "headers": [("Content-Type", "application/json")],
                       "body": '{"text": "from check"}'}, True, ALLOWED, ["OPTIONS", "POST"]),
            ("/data", {"method": "PUT"}, False, "preflight response has no Access-Control-Allow-Origin",
             ["OPTIONS"]),
            ("/data", {"headers": [("X-Other", "1")]}, False, "the GET is never sent", ["OPTIONS"]),
            ("/cors?allow-origin=*&allow-methods=GET", {"method": "PUT"}, False,
             "PUT is not in the preflight's Access-Control-Allow-Methods (GET)", ["OPTIONS"]),
            ("/cors?allow-origin=*&allow-methods=PUT&preflight-status=500", {"method": "PUT"}, False,
             "the preflight got status 500", ["OPTIONS"]),
            ("/allow-origin", {"origin": OTHER}, False, "no Access-Control-Allow-Origin", ["GET"]),
        ]
        for path, options, allowed, words, methods in cases:
            origin = options.pop("origin", PAGE)
            with self.subTest(path=path, **{k: str(v) for k, v in options.items()}):
                report = self.check(path, origin, **options)
                self.assertIs(report["allowed"], allowed)
                self.assertIn(words, report["verdict"])
                self.assertEqual([e["method"] for e in report["exchanges"]], methods)

    def test_readable_headers_follow_expose_headers(self):
        report = self.check("/data")
        self.assertIn("x-demo-count", report["readable_headers"])
        self.assertIn("x-demo-hidden", report["unreadable_headers"])

    def test_headers_a_page_cannot_set_are_dropped_and_said(self):
        report = self.check("/allow-cors", headers=[("Keep-Alive", "1"), ("Origin", "http://x")])
        sent = [name for name, _ in report["exchanges"][0]["request_headers"]]
        self.assertNotIn("Keep-Alive", sent)
        self.assertEqual(sent.count("Origin"), 1)
        self.assertEqual(len(report["notes"]), 2)

    def test_what_fetch_refuses_cannot_be_asked(self):
        cases = [{"method": "TRACE"}, {"method": "GET", "body": "x"}, {"method": "bad method"},
                 {"headers": [("X-A", "a\r\nb")]}, {"headers": [("X-A", "\u20ac")]},
                 {"headers": [("Bad Name", "1")]}]
        for options in cases:
            with self.subTest(**{k: str(v) for k, v in options.items()}):
                with self.assertRaises(cors_demo.CannotAsk):
                    self.check("/allow-cors", **options)

    def test_a_url_with_credentials_cannot_be_asked(self):
        with self.assertRaisesRegex(cors_demo.CannotAsk, "user name or password"):
            cors_demo.check(self.api.replace("://", "://u:p@") + "/", PAGE)

    def test_an_origin_a_browser_would_not_send_cannot_be_asked(self):
        for origin in ("http://a.example/", "http://a.example/path", "a.example", "ftp://a.example"):
            with self.subTest(origin=origin):
                with self.assertRaises(cors_demo.CannotAsk):
                    cors_demo.check(self.api + "/", origin)


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


class TestCheckOverTLS(unittest.TestCase):
    """A self-signed local https API: refused as a browser refuses it, unless trusted."""

    @classmethod
    def setUpClass(cls):
        cls.pem = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
        cls.pem.write(TEST_CERTIFICATE)
        cls.pem.close()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cls.pem.name)
        cls.server = ScriptedServer()
        cls.server.socket = context.wrap_socket(cls.server.socket, server_side=True)
        cls.server.scripts = {"/star": {"actual": answer(200, STAR)}}
        cls.url = cls.server.url.replace("http:", "https:") + "/star"

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        os.unlink(cls.pem.name)

    def test_untrusted_certificate_cannot_be_asked(self):
        report = cors_demo.check(self.url, PAGE, timeout=5)
        self.assertIsNone(report["allowed"])
        self.assertIn("certificate is not trusted", report["verdict"])
        self.assertIn("--cacert FILE", report["verdict"])

    def test_cacert_and_insecure_let_check_ask(self):
        for tls in (cors_demo.tls_context(self.pem.name, False), cors_demo.tls_context(None, True)):
            with self.subTest(verify=tls.verify_mode):
                self.assertTrue(cors_demo.check(self.url, PAGE, timeout=5, tls=tls)["allowed"])


class CheckRun(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run_check_main(*args):
    """check_main in this process, as `python cors_demo.py check ARGS` runs it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cors_demo.check_main(list(args))
    return CheckRun(status, out.getvalue(), err.getvalue())


class TestCheckCommand(ServerTestCase):
    """python cors_demo.py check: what it prints and its exit status."""

    def run_check(self, *args):
        return run_check_main(*args)

    def test_allowed_prints_the_exchange_and_exits_0(self):
        result = self.run_check(self.api + "/allow-origin", "--origin", PAGE)
        self.assertEqual(result.returncode, 0, result.stderr)
        for line in ("> GET /allow-origin HTTP/1.1", f"> Origin: {PAGE}",
                     f"< Access-Control-Allow-Origin: {PAGE}", ALLOWED,
                     "script can read the headers: content-type, content-length",
                     "(the made-up origin, asked once more)"):
            self.assertIn(line, result.stdout)

    def test_blocked_lists_failures_with_chromes_words_and_what_to_change(self):
        result = self.run_check(self.api + "/data", "--origin", PAGE, "--method", "PUT",
                                "--framework", "express")
        self.assertEqual(result.returncode, 1)
        for line in ("A preflight first: PUT is not GET, HEAD or POST.",
                     "> Access-Control-Request-Method: PUT",
                     "blocked: the preflight response has no Access-Control-Allow-Origin header; "
                     "the PUT is never sent",
                     "  1. the preflight response has no Access-Control-Allow-Origin header",
                     "     Chrome: Access to fetch at", "What to change:",
                     "  on the preflight response (OPTIONS):", "    Access-Control-Allow-Methods: PUT",
                     "In express:", "app.use(cors({"):
            self.assertIn(line, result.stdout)

    def test_json_is_one_object_with_fixes_and_warnings(self):
        result = self.run_check(self.api + "/data", "--origin", PAGE, "--method", "DELETE",
                                "--header", "X-Demo: 1", "--json", "--framework", "flask")
        self.assertEqual(result.returncode, 0)
        report = json.loads(result.stdout)
        self.assertTrue(report["allowed"])
        self.assertEqual([e["kind"] for e in report["exchanges"]], ["preflight", "request"])
        self.assertEqual(report["verdict"], ALLOWED)
        self.assertEqual(report["warnings"], [])
        self.assertIsInstance(report["fixes"], list)
        self.assertEqual(report["framework"]["name"], "flask")

    def test_help_prints_checks_own_options(self):
        result = run_cli("check", "--help")
        self.assertEqual(result.returncode, 0)
        self.assertTrue(result.stdout.startswith("usage: python cors_demo.py check URL --origin"))
        for option in ("--framework NAME", "--cacert FILE", "--insecure", "--timeout S"):
            self.assertIn(option, result.stdout)
        self.assertNotIn("--playground-port", result.stdout)

    def test_bad_input_is_one_line_and_exits_2(self):
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        cases = [["ftp://example.com/", "--origin", PAGE], ["not a url", "--origin", PAGE],
                 [f"http://127.0.0.1:{port}/", "--origin", PAGE], ["http://[::1", "--origin", PAGE],
                 ["http://127.0.0.1:99999/", "--origin", PAGE], ["http://127.0.0.1:abc/", "--origin", PAGE],
                 [self.api + "/", "--origin", "http://a.example/"], [self.api + "/"],
                 [self.api + "/", "--origin", PAGE, "--header", "X-A: \u20ac"],
                 [self.api + "/", "--origin", PAGE, "--header", "nocolon"],
                 [self.api + "/", "--origin", PAGE, "--framework", "rails"],
                 [self.api + "/", "--origin", PAGE, "--cacert", "/nonexistent.pem"]]
        cases += [[self.api + "/", "--origin", PAGE, "--timeout", value]
                  for value in ("-1", "nan", "inf", "0", "abc")]
        for args in cases:
            with self.subTest(args=args[1:] if args[0] == self.api + "/" else args[:1]):
                result = self.run_check(*args)
                self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                self.assertNotIn("Traceback", result.stderr)

    def test_non_ascii_url_path_is_percent_encoded(self):
        result = self.run_check(self.api + "/caf\u00e9", "--origin", PAGE)
        self.assertIn("> GET /caf%C3%A9 HTTP/1.1", result.stdout)
        self.assertEqual(result.returncode, 1)

    def test_could_not_ask_in_json_has_no_verdict(self):
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        result = self.run_check(f"http://127.0.0.1:{port}/", "--origin", PAGE, "--json")
        self.assertEqual(result.returncode, 2)
        self.assertIsNone(json.loads(result.stdout)["allowed"])

    def test_a_closed_pipe_ends_quietly(self):
        for args in (["--help"], [self.api + "/allow-cors", "--origin", PAGE]):
            with self.subTest(args=args):
                command = [sys.executable, str(HERE / "cors_demo.py"), "check", *args]
                reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                reader.stdout.close()           # as `| head -0` would
                _, errors = reader.communicate(timeout=10)
                self.assertNotIn(b"Traceback", errors)
                self.assertNotIn(b"BrokenPipe", errors)


class TestCheckOnATerminal(unittest.TestCase):
    """What check prints, with a server that misbehaves in what it says."""

    def test_server_text_is_escaped_on_the_terminal(self):
        raw = (b"HTTP/1.1 404 \x1b[2J\x1b]0;owned\x07\r\nX-A: \xc2\x9b8m\r\n"
               b"Access-Control-Allow-Origin: \x1b[8mhidden\r\nContent-Length: 9\r\n\r\n\x1b[2Jbody!")
        with SilentServer(canned(raw)) as server:
            result = run_check_main(server.url + "/", "--origin", PAGE, "--timeout", "2")
        self.assertNotIn("\x1b", result.stdout)
        self.assertNotIn("\x07", result.stdout)
        self.assertNotIn("\x9b", result.stdout)
        self.assertIn("\\x1b[2J\\x1b]0;owned\\x07", result.stdout)
        self.assertIn("Access-Control-Allow-Origin: \\x1b[8mhidden", result.stdout)

    def test_each_exchange_is_printed_as_it_happens(self):
        first_printed = threading.Event()
        head = b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: PUT\r\n\r\n"
        answers = iter([head, b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n"])

        def behave(connection, done):
            reply = next(answers, head)
            if reply is not head:
                first_printed.wait(5)       # the PUT waits until the preflight is on screen
            connection.sendall(reply)
            done.wait(5)
        with SilentServer(behave) as server:
            command = [sys.executable, str(HERE / "cors_demo.py"), "check", server.url + "/",
                       "--origin", PAGE, "--method", "PUT", "--timeout", "5"]
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
                lines = []
                for line in process.stdout:
                    lines.append(line)
                    if "preflight passed" in line:
                        first_printed.set()
                process.wait(10)
        self.assertTrue(first_printed.is_set())
        self.assertEqual(process.returncode, 0)

    def test_what_is_asked_is_printed_before_the_server_answers(self):
        opening_printed = threading.Event()

        def behave(connection, done):
            opening_printed.wait(5)         # no answer until the opening is on screen
            connection.sendall(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n")
            done.wait(5)
        with SilentServer(behave) as server:
            command = [sys.executable, str(HERE / "cors_demo.py"), "check", server.url + "/",
                       "--origin", PAGE, "--timeout", "5"]
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
                first = process.stdout.readline()
                opening_printed.set()
                rest = process.stdout.read()
                process.wait(10)
        self.assertTrue(first.startswith(f"fetch('{server.url}/')"), first)
        self.assertIn("a browser lets the page read this", rest)
        self.assertEqual(process.returncode, 0)

    def test_ctrl_c_during_a_slow_exchange_ends_quietly(self):
        accepted = threading.Event()

        def behave(connection, done):
            accepted.set()
            done.wait(10)
        with SilentServer(behave) as server:
            command = [sys.executable, str(HERE / "cors_demo.py"), "check", server.url + "/",
                       "--origin", PAGE, "--timeout", "20"]
            with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) as process:
                self.assertTrue(accepted.wait(10))
                process.send_signal(signal.SIGINT)
                _, errors = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 2)
        self.assertEqual(errors.strip(), "could not ask: interrupted")


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

    def test_ipv6_hosts_as_a_url_or_bare(self):
        try:
            socket.create_server(("::1", 0), family=socket.AF_INET6).close()
        except OSError:
            self.skipTest("no IPv6 loopback here")
        for host in ("[::1]", "::"):
            with self.subTest(host=host):
                process, banner = self.start("--host", host, "--port", "0", "--quiet")
                port = banner["API"].rsplit(":", 1)[1]
                self.assertEqual(fetch(f"http://[::1]:{port}", "/allow-cors").status, 200)
                self.stop(process)

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


class TestLesson(unittest.TestCase):
    """LESSON is data the page and the tests read: its shape is part of the contract."""

    def test_every_experiment_is_complete_and_in_a_part(self):
        ids = [experiment["id"] for experiment in cors_demo.LESSON]
        self.assertEqual(len(ids), len(set(ids)))
        for experiment in cors_demo.LESSON:
            with self.subTest(experiment["id"]):
                self.assertIn(experiment["part"], cors_demo.PARTS)
                self.assertTrue(experiment["title"] and experiment["tries"] and experiment["why"])
                for call in experiment["calls"]:
                    self.assertIn(call["runs_in"], ("page", "other", "sandboxed"))
                    self.assertIn(call["readable"], (True, False, "opaque"))
                    for arrival in call["arrives"]:
                        self.assertRegex(arrival, r"^[A-Za-z]+ /[a-z-]*( \((Origin: null|no Origin)\))?$")
                    for condition, known in call.get("known", {}).items():
                        self.assertIn(condition, ("Chromium", "Firefox", "cross-site", "shared"))
                        self.assertTrue(known["note"] and known["accept"])

    def test_parts_come_in_order(self):
        parts = [experiment["part"] for experiment in cors_demo.LESSON]
        self.assertEqual(list(dict.fromkeys(parts)), list(cors_demo.PARTS))

    def test_the_paths_it_calls_are_the_apis(self):
        for experiment in cors_demo.LESSON:
            for call in experiment["calls"]:
                path = call["path"].split("?")[0]
                self.assertIn(path, cors_demo.ROUTES, experiment["id"])


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
        self.assertEqual(settings["parts"], cors_demo.PARTS)
        calls = {e["id"]: e["calls"] for e in settings["lesson"]}
        self.assertEqual(calls["delete"][0]["preflight"], "DELETE is not GET, HEAD or POST")
        self.assertIsNone(calls["bare"][0]["preflight"])
        self.assertEqual(calls["lower-case-method"][0]["preflight"], "patch is not GET, HEAD or POST")
        self.assertIsNone(calls["no-cors"][0]["preflight"], "no-cors never preflights")
        self.assertEqual(calls["authorization-star"][0]["preflight"],
                         "request headers that are not CORS-safelisted: authorization")

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

    def test_skipped_experiments_are_named_apart(self):
        out = io.StringIO()
        demo = cors_demo.Demo(port=0, quiet=True, out=out).start()
        self.addCleanup(demo.stop)
        body = {"browser": "Firefox 153", "experiments": [
            {"id": "bare", "as_expected": True}, {"id": "redirect-other-origin", "skipped": "no second host name"}]}
        reply = fetch(demo.playground_url, "/results", "POST", {"Content-Type": "application/json"},
                      json.dumps(body).encode())
        self.assertEqual(reply.status, 204)
        self.assertEqual(out.getvalue(), "1 of 1 experiments behaved as the lesson says, in Firefox 153; "
                                         "skipped: redirect-other-origin\n")

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

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A fresh Firefox profile that asks nothing of the network at start-up (the test
# machine has none) and shows no first-run page.
FIREFOX_PREFS = {"browser.shell.checkDefaultBrowser": False, "browser.aboutwelcome.enabled": False,
                 "datareporting.policy.dataSubmissionEnabled": False, "app.update.disabledForTesting": True,
                 "network.captive-portal-service.enabled": False, "network.connectivity-service.enabled": False,
                 "browser.safebrowsing.update.enabled": False, "toolkit.telemetry.reportingpolicy.firstRun": False}
ENGINES = {"Chromium": ("chromium", "chromium-browser", "google-chrome"), "Firefox": ("firefox-esr", "firefox")}
EXPERIMENT_IDS = [experiment["id"] for experiment in cors_demo.LESSON]


def find_browser(engine):
    """The engine's browser: $CORS_DEMO_BROWSER if it is one of this engine (then
    only that engine runs), else the first of its usual commands on the PATH."""
    given = os.environ.get("CORS_DEMO_BROWSER")
    if given:
        is_firefox = "firefox" in Path(given).name.lower()
        return (shutil.which(given) or given) if is_firefox == (engine == "Firefox") else None
    for name in ENGINES[engine]:
        if shutil.which(name):
            return shutil.which(name)
    return None


class BrowserTests:
    """The playground, run by a real browser of one engine: the page must tell the truth.
    Each engine's TestCase mixes this in."""
    engine = None

    def setUp(self):
        self.browser = find_browser(self.engine)
        if self.browser is not None and not shutil.which(self.browser):
            self.fail(f"CORS_DEMO_BROWSER={self.browser} is not a program this machine can run")
        if self.browser is None:
            if os.environ.get("CORS_DEMO_BROWSER"):
                self.skipTest(f"CORS_DEMO_BROWSER names a browser of another engine than {self.engine}")
            reason = (f"no {self.engine}: install {' or '.join(ENGINES[self.engine][:2])}, or set "
                      f"CORS_DEMO_BROWSER to its command")
            if os.environ.get("CI"):
                self.fail(reason + " (CI must run the browser tests)")
            self.skipTest(reason)
        self.out = io.StringIO()
        self.demo = cors_demo.Demo(port=0, quiet=True, out=self.out).start()
        self.addCleanup(self.demo.stop)

    def open(self, url, *args):
        """The browser, in a profile of its own, opening url; killed at the test's end."""
        profile = tempfile.mkdtemp(prefix="cors-demo-browser-")
        self.addCleanup(shutil.rmtree, profile, True)
        if self.engine == "Firefox":
            prefs = "".join(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n"
                            for name, value in FIREFOX_PREFS.items())
            Path(profile, "user.js").write_text(prefs)
            command = [self.browser, "--headless", "--no-remote", "--profile", profile, *args, url]
        else:
            command = [self.browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        return process

    def summaries(self, count, timeout=60):
        """Wait until the page's autorun has posted count summaries; the lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.out.getvalue().splitlines()
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            self.demo.results_posted.wait(0.5)
            self.demo.results_posted.clear()

    def assertAutorunAsTheLessonSays(self, lines, count=1):
        self.assertEqual(len(lines), count, f"{len(lines)} of {count} pages posted results in time")
        name = {"Chromium": "Chrome", "Firefox": "Firefox"}[self.engine]
        total = len(EXPERIMENT_IDS)
        for line in lines:
            self.assertRegex(line, rf"^{total} of {total} experiments behaved as the lesson says, "
                                   rf"in {name} \d+$")

    def log_entries(self):
        """Every API request, oldest first, as the server's log has them."""
        entries, since = [], 0
        while True:
            page = fetch(self.demo.playground_url, f"/log?since={since}").json()["entries"][::-1]
            if not page:
                return entries
            entries += page
            since = page[-1]["id"]

    def test_every_experiment_behaves_as_the_lesson_says(self):
        self.open(self.demo.playground_url + "/?autorun=1")
        self.assertAutorunAsTheLessonSays(self.summaries(1))
        results = self.demo.results
        self.assertEqual([item["id"] for item in results["experiments"]], EXPERIMENT_IDS)
        for item in results["experiments"]:
            with self.subTest(item["id"]):
                self.assertTrue(item["as_expected"], item.get("problems"))
        self.assertWhatCrossedTheWire(self.log_entries())

    def assertWhatCrossedTheWire(self, entries):
        """The page judged itself; the server's log says, independently, what really
        crossed the wire, and from which origin."""
        page, other = self.demo.playground_url, self.demo.other_url
        self.assertNotIn(None, [entry["run"] for entry in entries], "a request without a run token")
        runs = {}
        for entry in entries:
            runs.setdefault(entry["run"], []).append(entry)

        def arrivals(run):
            return [(e["method"], e["path"].split("?")[0], e["origin"]) for e in runs[run]]

        def run_of(method, path, origin, **where):
            found = [e["run"] for e in entries if (e["method"], e["path"].split("?")[0], e["origin"])
                     == (method, path, origin) and all(e[k] == v for k, v in where.items())]
            self.assertTrue(found, f"no {method} {path} from {origin} with {where}")
            return found[0]

        self.assertLessEqual({e["origin"] for e in entries}, {page, other, "null", None})
        methods = [e["method"] for e in entries]
        self.assertNotIn("PUT", methods, "the preflight refused PUT: it never arrives")
        self.assertNotIn("patch", methods, "the preflight refused patch: it never arrives")
        asked = [e["request_headers"].get("Access-Control-Request-Method") for e in entries if e["preflight"]]
        self.assertIn("PUT", asked)
        self.assertIn("patch", asked, "fetch() sends a lower-case patch as written")
        star = [e for e in entries if e["path"].startswith("/allow-cors?") and e["cookies"] and e["origin"] == page]
        self.assertEqual(len(star), 1, "one credentialed request to /allow-cors, with its cookie")
        self.assertFalse(star[0]["allowed"])
        max_age = [arrivals(run) for run in runs
                   if [e["method"] for e in runs[run] if not e["preflight"]] == ["DELETE", "DELETE"]]
        self.assertEqual(len(max_age), 1, "Max-Age: two DELETEs in one run")
        if self.engine == "Chromium":
            self.assertEqual([a[0] for a in max_age[0]], ["OPTIONS", "DELETE", "DELETE"], "Chromium reused the preflight")
        # no-cors: a GET with no Origin, judged opaque
        opaque = run_of("GET", "/", None, mode="no-cors")
        self.assertEqual(len(runs[opaque]), 1)
        # a preflight answered with a redirect: the DELETE never arrives
        self.assertNotIn(("DELETE", "/redirect"), [(e["method"], e["path"].split("?")[0]) for e in entries])
        # a redirect to another origin: the next hop says Origin: null
        tainted = run_of("GET", "/allow-cors", "null")
        self.assertEqual(arrivals(tainted)[0], ("GET", "/redirect", page))
        # the other origin: reads *, is refused the allow-list, stores a note, reads a reflected
        # answer made with the visitor's cookie; the sandboxed frame sends Origin: null
        self.assertTrue(run_of("GET", "/allow-cors", other, allowed=True))
        self.assertTrue(run_of("GET", "/allow-origin", other, allowed=False))
        self.assertTrue(run_of("POST", "/data", other, status=201))
        reflected = run_of("GET", "/cors", other, allowed=True)
        self.assertIn(cors_demo.COOKIE_NAME, [c for e in runs[reflected] for c in e["cookies"]])
        self.assertTrue(run_of("GET", "/cors", "null", allowed=True))
        self.assertTrue(run_of("GET", "/allow-origin", "null", allowed=False))


class TestInChromium(BrowserTests, unittest.TestCase):
    engine = "Chromium"

    def test_pages_run_at_once_on_one_server_each_see_only_their_own(self):
        for _ in range(3):
            self.open(self.demo.playground_url + "/?autorun=1")
        self.assertAutorunAsTheLessonSays(self.summaries(3), count=3)

    def test_log_values_show_as_text_and_run_nothing(self):
        attack = f"<img src=x onerror=\"fetch('{self.demo.api_url}/pwned')\">"
        reply = fetch(self.demo.api_url, "/allow-origin", headers={"Origin": attack})
        self.assertEqual(reply.status, 200)
        profile = tempfile.mkdtemp(prefix="cors-demo-browser-")
        self.addCleanup(shutil.rmtree, profile, True)
        result = subprocess.run([self.browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 "--virtual-time-budget=3000", "--dump-dom", self.demo.playground_url + "/"],
                                capture_output=True, text=True, timeout=60)
        body = result.stdout.split("<body>")[-1].split("<script>")[0]   # the page, not its code
        self.assertTrue('id="log-rows"' in body, "the page did not render")
        self.assertTrue("&lt;img src=x onerror=" in body, "the Origin is not shown as characters")
        self.assertFalse("<img" in body, "the Origin became an element")
        paths = [entry["path"] for entry in fetch(self.demo.playground_url, "/log").json()["entries"]]
        self.assertNotIn("/pwned", paths)


class TestInFirefox(BrowserTests, unittest.TestCase):
    engine = "Firefox"


if __name__ == "__main__":
    unittest.main()
