#!/usr/bin/env python3
"""Load benchmark for cors_demo, against the ceiling of Python's http.server.

usage: python benchmarks/load.py [--seconds S] [--rounds N] [--quick] [--wrk]
                                 [--peer NAME=COMMAND ...]
       python benchmarks/load.py --soak SECONDS
       python benchmarks/load.py --flood N

Starts the demo (--quiet: request log and verdicts kept, no terminal lines) and
a ceiling handler in subprocesses on free ports, the servers pinned to one core
and the load to the other, and drives each with the same requests over
keep-alive connections: a raw-socket client of this file, or wrk with --wrk.
Each scenario runs the ceiling and the demo in turn, --rounds times (3 by
default), so that a shared machine's drift falls on both alike, and prints the
medians of requests/s, p50 and p99, the socket errors, the server's peak RSS,
and the demo's ratio to the ceiling, with the lowest and highest ratio of a
round.

The ceiling is the fastest a plain http.server handler gets here: HTTP/1.1
keep-alive, stdlib request parsing, a pre-built response sent in one write,
TCP_NODELAY, a listen backlog of 128, no terminal line per request.

--peer NAME=COMMAND adds a server a user might pick instead (Express + cors, say)
to the GET /allow-cors scenarios, in the same rounds: COMMAND is started on core 0
with {port} in it, and the PORT environment variable, set to a free port, and must
answer GET /allow-cors there.

--soak runs a mixed load (every route, POST and DELETE on /data, clients that
drop mid-request) and reports server errors, the log's size and RSS drift.
--flood holds N idle connections open and times a normal request next to them.
Standard library only; not part of the unit tests.
"""

import argparse
import http.server
import os
import random
import re
import selectors
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "cors_demo.py"
SECONDS = 5.0


# ---------------------------------------------------------------- the ceiling

CEILING_BODY = b'{"message": "Hello from the cors_demo API."}\n'
CEILING_RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: ceiling\r\nAccess-Control-Allow-Origin: *\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(CEILING_BODY), CEILING_BODY))


class CeilingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.wfile.write(CEILING_RESPONSE)

    do_OPTIONS = do_HEAD = do_POST = do_DELETE = do_GET

    def log_message(self, format, *args):
        pass


class CeilingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass      # wrk resets its connections at the end of a run


def serve_ceiling(port):
    server = CeilingServer(("127.0.0.1", port), CeilingHandler)
    print(f"ceiling http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------- servers under test

class Subject:
    """A server in a subprocess, pinned to core 0, with its URL and memory. It says
    its port on stdout, or, given a port, is waited for until it listens there."""

    def __init__(self, name, command, port=None):
        self.name = name
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, preexec_fn=lambda: pin(0),
                                        env=dict(os.environ, PORT=str(port)) if port else None)
        self.lines, self.stderr = [], []
        self.origin = "http://127.0.0.1:8001"
        threading.Thread(target=self._drain, daemon=True).start()
        if port:
            self.port = port
            self.drain_stdout()
            self.wait_listening()
            return
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise self.did_not_start()
            self.lines.append(line)
            match = re.search(r"(?:API|ceiling)\s+http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match[1])
            if line.startswith(("Ctrl-C", "ceiling")):
                break
        found = re.search(r"allow-list\s+(\S+)", "".join(self.lines))
        self.origin = found[1] if found else self.origin

    def wait_listening(self, seconds=30):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise self.did_not_start()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} is not listening on port {self.port}")

    def did_not_start(self):
        self.process.wait()
        time.sleep(0.2)      # the drain's last lines
        return RuntimeError(f"{self.name} did not start: {''.join(self.stderr).strip()}")

    def _drain(self):
        # Errors must flow, or the server would block on a full pipe; kept for the report.
        for line in self.process.stderr:
            self.stderr.append(line)

    def drain_stdout(self):
        threading.Thread(target=lambda: self.process.stdout.read(), daemon=True).start()

    def rss_kib(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def pin(core):
    """This process, and the threads it will start, on one core: servers on one, the
    load on the other, as the issue's measurements were made."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {core})


def start_demo(quiet=True):
    command = [sys.executable, str(DEMO), "--port", "0", "--playground-port", "0"]
    subject = Subject("cors_demo" if quiet else "cors_demo, lines on",
                      command + (["--quiet"] if quiet else []))
    subject.drain_stdout()
    return subject


def start_ceiling():
    return Subject("ceiling", [sys.executable, __file__, "--serve-ceiling", "0"])


def start_peer(spec):
    """--peer NAME=COMMAND, started on a free port."""
    name, _, command = spec.partition("=")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Subject(name, shlex.split(command.replace("{port}", str(port))), port)


# ---------------------------------------------------------------- the load

class Sampler:
    """Samples a server's RSS while the load runs; keeps the peak."""

    def __init__(self, subject, interval=0.05):
        self.subject, self.interval, self.peak = subject, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.subject.rss_kib())
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


class Connection:
    __slots__ = ("sock", "buffer", "sent", "request")


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def response_end(buffer, head_only=False):
    """Where the first complete response in buffer ends, and its status; None if
    incomplete. head_only: the answer to a HEAD, which has no body."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    status = int(buffer[9:12])
    length = 0
    if status not in (204, 304) and not head_only:
        at = buffer.find(b"Content-Length: ", 0, head_end)
        if at < 0:
            at = buffer.lower().find(b"content-length: ", 0, head_end)
        if at >= 0:
            length = int(buffer[at + 16:buffer.find(b"\r\n", at)])
    end = head_end + 4 + length
    return (end, status) if len(buffer) >= end else None


def drive(port, requests, connections, seconds, close=False):
    """Keep `connections` busy with `requests` (bytes, round-robin) for `seconds`.

    Each connection has one request in flight; latency is send to full response.
    With close, every request goes on a new connection (Connection: close)."""
    selector = selectors.DefaultSelector()
    latencies, statuses, errors = [], {}, 0
    turn = 0

    def open_one():
        nonlocal turn
        conn = Connection()
        conn.sock, conn.buffer = connect(port), b""
        conn.request = requests[turn % len(requests)]
        turn += 1
        conn.sent = time.perf_counter()
        conn.sock.send(conn.request)
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    def reopen(conn):
        selector.unregister(conn.sock)
        conn.sock.close()
        open_one()

    for _ in range(connections):
        open_one()
    start = time.perf_counter()
    end = start + seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for key, _ in selector.select(timeout=0.5):
            conn = key.data
            try:
                chunk = conn.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                if not close or conn.buffer:
                    errors += 1
                reopen(conn)
                continue
            conn.buffer += chunk
            found = response_end(conn.buffer, conn.request.startswith(b"HEAD "))
            if found is None:
                continue
            done, status = found
            latencies.append(time.perf_counter() - conn.sent)
            statuses[status] = statuses.get(status, 0) + 1
            conn.buffer = conn.buffer[done:]
            if close:
                reopen(conn)
                continue
            conn.request = requests[turn % len(requests)]
            turn += 1
            conn.sent = time.perf_counter()
            try:
                conn.sock.send(conn.request)
            except OSError:
                errors += 1
                reopen(conn)
    elapsed = time.perf_counter() - start
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    selector.close()
    return summarise(latencies, statuses, errors, elapsed)


def summarise(latencies, statuses, errors, elapsed):
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0

    return {"rps": len(latencies) / elapsed, "p50": percentile(0.50), "p99": percentile(0.99),
            "errors": errors, "statuses": statuses}


def drive_wrk(port, request, connections, seconds, close=False):
    """The same load with wrk, pinned to the other core."""
    method, target = request.split(b" ", 2)[:2]
    headers = [line.decode() for line in request.split(b"\r\n")[1:] if b":" in line]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "1"] + command
    script = f'wrk.method = "{method.decode()}"\n'
    for header in headers:
        name, _, value = header.partition(":")
        if name.lower() != "host":
            script += f'wrk.headers["{name}"] = "{value.strip()}"\n'
    url = f"http://127.0.0.1:{port}{target.decode()}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        out = subprocess.run(command + ["-s", lua.name, url], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])

    def millis(label):
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(match[1]), match[2]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": millis("50"), "p99": millis("99"), "errors": errors,
            "statuses": {"non-2xx": int(non2xx[1])} if non2xx else {}}


# ---------------------------------------------------------------- scenarios

def requests_for(route, subject):
    origin = subject.origin.encode()
    host = b"Host: 127.0.0.1\r\n"
    if route == "allow-cors":
        return b"GET /allow-cors HTTP/1.1\r\n" + host + b"\r\n"
    if route == "allow-credentials":
        return (b"GET /allow-credentials HTTP/1.1\r\n" + host + b"Origin: " + origin
                + b"\r\nCookie: cors_demo=benchmark\r\n\r\n")
    if route == "allow-origin":
        return b"GET /allow-origin HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\n\r\n"
    if route == "preflight":
        return (b"OPTIONS /data HTTP/1.1\r\n" + host + b"Origin: " + origin
                + b"\r\nAccess-Control-Request-Method: DELETE"
                + b"\r\nAccess-Control-Request-Headers: x-demo\r\n\r\n")
    if route == "close":
        return b"GET /allow-cors HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n"
    raise ValueError(route)


SCENARIOS = [  # title, route, connections
    ("GET /allow-cors, 16 keep-alive connections", "allow-cors", 16),
    ("GET /allow-cors, 64 keep-alive connections", "allow-cors", 64),
    ("GET /allow-credentials, 16 keep-alive connections", "allow-credentials", 16),
    ("GET /allow-credentials, 64 keep-alive connections", "allow-credentials", 64),
    ("OPTIONS /data preflight, 16 keep-alive connections", "preflight", 16),
    ("OPTIONS /data preflight, 64 keep-alive connections", "preflight", 64),
    ("GET /allow-cors, Connection: close, 16 at a time", "close", 16),
]


def run(subject, route, connections, seconds, use_wrk):
    request = requests_for(route, subject)
    close = route == "close"
    sampler = Sampler(subject)
    if use_wrk:
        result = drive_wrk(subject.port, request, connections, seconds, close)
    else:
        result = drive(subject.port, [request], connections, seconds, close)
    result["rss"] = sampler.stop() / 1024
    return result


def row(name, result, ceiling=None):
    ratio = f"{result['rps'] / ceiling['rps']:.2f}x" if ceiling else "1.00x"
    odd = {status: n for status, n in result["statuses"].items() if status not in (200, 204)}
    return (f"  {name:<22}{result['rps']:>10,.0f}{result['p50']:>9.2f}{result['p99']:>9.2f}"
            f"{result['errors']:>8}{result['rss']:>10.1f}{ratio:>9}" + (f"  {odd}" if odd else ""))


HEADER = f"  {'server':<22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'RSS MiB':>10}{'ratio':>9}"


def median_of(results):
    """One result for several rounds: the medians, all errors, the highest RSS."""
    statuses = {}
    for result in results:
        for status, n in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {"rps": statistics.median(r["rps"] for r in results),
            "p50": statistics.median(r["p50"] for r in results),
            "p99": statistics.median(r["p99"] for r in results),
            "errors": sum(r["errors"] for r in results), "rss": max(r["rss"] for r in results),
            "statuses": statuses}


def benchmark(seconds, use_wrk, rounds, peer_specs=()):
    load = "wrk -t1" if use_wrk else "this file's raw-socket client"
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; servers pinned to core 0, "
          f"load ({load}) on core 1; {rounds} rounds of {seconds:g} s per server, in turn; "
          "medians.\n")
    ceiling, demo = start_ceiling(), start_demo()
    peers = []
    try:
        for spec in peer_specs:
            peers.append(start_peer(spec))
        for title, route, connections in SCENARIOS:
            print(title)
            print(HEADER)
            others = peers if route == "allow-cors" else []
            bases, results, peer_results = [], [], {peer.name: [] for peer in others}
            for _ in range(rounds):
                bases.append(run(ceiling, route, connections, seconds, use_wrk))
                results.append(run(demo, route, connections, seconds, use_wrk))
                for peer in others:
                    peer_results[peer.name].append(run(peer, route, connections, seconds, use_wrk))
            ratios = sorted(r["rps"] / b["rps"] for r, b in zip(results, bases))
            base = median_of(bases)
            print(row("ceiling http.server", base), flush=True)
            print(row("cors_demo --quiet", median_of(results), base)
                  + f"   rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x", flush=True)
            for name, runs in peer_results.items():
                print(row(name, median_of(runs), base), flush=True)
            print()
        print("Terminal lines: GET /allow-origin, 16 keep-alive connections")
        print(HEADER)
        quiet = run(demo, "allow-origin", 16, seconds, use_wrk)
        print(row("cors_demo --quiet", quiet), flush=True)
        loud = start_demo(quiet=False)
        try:
            result = run(loud, "allow-origin", 16, seconds, use_wrk)
            print(row("lines on (to a pipe)", result, quiet))
        finally:
            loud.stop()
        if "Traceback" in "".join(demo.stderr):
            print("\nthe demo printed a traceback:\n" + "".join(demo.stderr))
    finally:
        for subject in [ceiling, demo, *peers]:
            subject.stop()


# ---------------------------------------------------------------- soak and flood

def mixed_requests(origin):
    origin = origin.encode()
    host = b"Host: 127.0.0.1\r\n"
    note = b'{"text": "soak"}'
    return [
        b"GET / HTTP/1.1\r\n" + host + b"\r\n",
        b"GET /allow-cors HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\n\r\n",
        b"GET /allow-origin HTTP/1.1\r\n" + host + b"Origin: http://evil.example\r\n\r\n",
        b"GET /allow-credentials HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\n\r\n",
        b"HEAD /allow-origin HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\n\r\n",
        b"OPTIONS /data HTTP/1.1\r\n" + host + b"Origin: " + origin
        + b"\r\nAccess-Control-Request-Method: PUT\r\n\r\n",
        b"POST /data HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\nContent-Type: "
        b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(note), note),
        b"GET /data HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\n\r\n",
        b"DELETE /data HTTP/1.1\r\n" + host + b"Origin: " + origin + b"\r\n\r\n",
        b"GET /cors?allow-origin=origin&expose-headers=x-demo-count&status=201 HTTP/1.1\r\n"
        + host + b"Origin: " + origin + b"\r\n\r\n",
        b"PUT /cors?allow-origin=*&status=599 HTTP/1.1\r\n" + host + b"Content-Length: 2\r\n\r\n{}",
        b"GET /nope HTTP/1.1\r\n" + host + b"\r\n",
    ]


def droppers(port, stop, counts):
    """Clients that leave mid-request, or before reading their answer."""
    rng = random.Random(7)
    partial = [b"GET /allow-cors HTTP/1.1\r\nHo", b"POST /data HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 50\r\n\r\n{\"te", b"GET /allow-origin HTTP/1.1\r\nHost: x\r\n\r\n"]
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(rng.choice(partial))
                if rng.random() < 0.5:     # a reset rather than a polite close
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            counts["dropped"] += 1
        except OSError:
            counts["refused"] += 1
        stop.wait(0.01)


def soak(seconds):
    demo = start_demo()
    try:
        print(f"Soak: {seconds:g} s of every route on 32 keep-alive connections, plus clients "
              "that drop mid-request.")
        stop, counts = threading.Event(), {"dropped": 0, "refused": 0}
        dropper = threading.Thread(target=droppers, args=(demo.port, stop, counts), daemon=True)
        dropper.start()
        requests = mixed_requests(demo.origin)
        first = drive(demo.port, requests, 32, min(10.0, seconds))
        rss_at_10 = demo.rss_kib() / 1024
        rest = drive(demo.port, requests, 32, max(0.0, seconds - 10)) if seconds > 10 else first
        rss_end = demo.rss_kib() / 1024
        stop.set()
        dropper.join()
        statuses = dict(first["statuses"])
        if rest is not first:
            for status, n in rest["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        playground = int(re.search(r"playground\s+http://127\.0\.0\.1:(\d+)",
                                   "".join(demo.lines))[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{playground}/log") as reply:
            log_size = reply.read().count(b'"id": ')
        server_errors = sum(n for status, n in statuses.items() if status >= 500 and status != 599)
        tracebacks = "".join(demo.stderr).count("Traceback")
        print(f"  requests answered   {sum(statuses.values()):,} "
              f"({(first['rps'] + rest['rps']) / (2 if rest is not first else 1):,.0f}/s)")
        print(f"  statuses            {dict(sorted(statuses.items()))}  (599 is asked for by /cors)")
        print(f"  dropped clients     {counts['dropped']:,}")
        print(f"  server errors       {server_errors} (5xx not asked for), tracebacks: {tracebacks}")
        print(f"  client errors       {first['errors'] + (rest['errors'] if rest is not first else 0)}")
        print(f"  log entries         {log_size}")
        print(f"  RSS                 {rss_at_10:.1f} MiB after 10 s, {rss_end:.1f} MiB at the end "
              f"({rss_end - rss_at_10:+.2f} MiB)")
    finally:
        demo.stop()


def flood(count):
    demo = start_demo()
    try:
        idle = []
        for _ in range(count):
            try:
                idle.append(socket.create_connection(("127.0.0.1", demo.port), timeout=5))
            except OSError:
                break
        time.sleep(0.5)      # let the server accept them all
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}/allow-cors", timeout=5) as reply:
                status = reply.status
        except urllib.error.HTTPError as error:      # 503: over the connection cap
            status = error.code
        took = time.perf_counter() - started
        answered = closed = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
                if data.startswith(b"HTTP/1.1 503"):
                    answered += 1
                elif not data:
                    closed += 1
            except (BlockingIOError, OSError):
                pass
        print(f"Flood: {len(idle)} idle connections held open")
        print(f"  a normal GET /allow-cors next to them: {status} in {took * 1000:.1f} ms")
        print(f"  idle connections answered 503: {answered}, closed by the server: {closed}, "
              f"still open: {len(idle) - answered - closed}")
        print(f"  server RSS: {demo.rss_kib() / 1024:.1f} MiB, threads: {threads_of(demo)}")
        for sock in idle:
            sock.close()
    finally:
        demo.stop()


def threads_of(subject):
    try:
        return len(os.listdir(f"/proc/{subject.process.pid}/task"))
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser(description="cors_demo load benchmark (see the docstring)")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each server, in turn")
    parser.add_argument("--quick", action="store_true", help="1 s per run")
    parser.add_argument("--wrk", action="store_true", help="drive the load with wrk")
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="run the mixed soak instead")
    parser.add_argument("--flood", type=int, metavar="N", help="hold N idle connections instead")
    parser.add_argument("--peer", action="append", default=[], metavar="NAME=COMMAND",
                        help="another server to measure on GET /allow-cors; {port} or $PORT is its port")
    parser.add_argument("--serve-ceiling", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling is not None:
        return serve_ceiling(args.serve_ceiling)
    if args.wrk and not shutil.which("wrk"):
        parser.error("--wrk needs wrk on the PATH (Debian: apt-get install wrk)")
    if args.soak:
        return soak(args.soak)
    if args.flood:
        return flood(args.flood)
    for spec in args.peer:
        name, equals, command = spec.partition("=")
        if not (name and equals and command.strip()):
            parser.error(f"--peer {spec!r}: write NAME=COMMAND")
    pin(1)
    try:
        benchmark(1.0 if args.quick else args.seconds, args.wrk, max(1, args.rounds), args.peer)
    except (RuntimeError, OSError) as error:     # a server that would not start
        sys.exit(f"load.py: {error}")


if __name__ == "__main__":
    main()
