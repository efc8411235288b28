"""A TCP proxy that injects faults between the daemon and a server (issue 11, fault injection).

Faults are set at run time and apply to connections accepted afterwards (and, for `stall`,
`slow` and `delay`, also to bytes still to be forwarded on open connections):

  none                 forward both ways
  delay    delay_ms    hold every forwarded chunk for delay_ms (a slow server)
  slow     rate        forward at most `rate` bytes/s (a slow link)
  reset    after       forward `after` bytes, then abort both sides with RST
  cut      after       forward `after` bytes, then close both sides cleanly (truncated body)
  stall    after       forward `after` bytes, then forward nothing more; connections stay open
                       until the client gives up or the fault is cleared
  refuse               accept and reset at once (nothing is forwarded)

`direction` ("down": server to client, the default; "up": client to server) says which byte
stream `after`, `rate` and the stall apply to, so an upload can be cut mid-body too. Clearing a
fault (mode none) releases stalled connections by closing them.

Use it in-process (tests import FaultProxy) or as a program with a control port:

  fault_proxy.py --listen 127.0.0.1:0 --upstream 127.0.0.1:28080 [--control 127.0.0.1:0]

prints "LISTENING <port> CONTROL <port>" and takes `POST /faults` with a JSON object like
{"mode": "cut", "after": 1000} ({} clears), `GET /faults` for the current one, and
`GET /stats` for connection counts. Standard library only.
"""
import argparse
import http.server
import json
import selectors
import socket
import struct
import sys
import threading
import time

MODES = ("none", "delay", "slow", "reset", "cut", "stall", "refuse")


class Fault:
    def __init__(self, mode="none", after=0, delay_ms=0, rate=0, direction="down"):
        if mode not in MODES:
            raise ValueError("unknown mode %r (one of %s)" % (mode, ", ".join(MODES)))
        if direction not in ("up", "down"):
            raise ValueError("direction must be up or down")
        if after < 0 or delay_ms < 0 or rate < 0:
            raise ValueError("after, delay_ms and rate must not be negative")
        if mode == "slow" and rate <= 0:
            raise ValueError("slow needs rate > 0")
        self.mode, self.after, self.delay_ms = mode, int(after), int(delay_ms)
        self.rate, self.direction = int(rate), direction

    @classmethod
    def from_json(cls, obj):
        if not isinstance(obj, dict):
            raise ValueError("expected a JSON object")
        unknown = set(obj) - {"mode", "after", "delay_ms", "rate", "direction"}
        if unknown:
            raise ValueError("unknown field(s): " + ", ".join(sorted(unknown)))
        return cls(**obj)

    def to_json(self):
        return {"mode": self.mode, "after": self.after, "delay_ms": self.delay_ms,
                "rate": self.rate, "direction": self.direction}


def _abort(sock):
    """Close with RST instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock)


def _shut(sock):
    """Ends a socket's traffic from another thread without closing it. Only the thread that
    owns a socket closes it: closing under a thread still in select/recv/send frees the
    descriptor number, the next socket the process opens gets it, and the stale thread then
    reads or writes that other connection's bytes."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    """Listens on `listen` (host, port) and forwards to `upstream` (host, port).

    Thread-safety: set_fault/clear/stats may be called from any thread. Each connection runs in
    its own daemon thread; stop() closes the listener and every open connection.
    """

    def __init__(self, upstream, listen=("127.0.0.1", 0)):
        self.upstream = upstream
        self._lock = threading.Lock()
        self._fault = Fault()
        self._generation = 0  # bumped on every change, so stalled connections notice a clear
        self._conns = set()
        self._stats = {"accepted": 0, "faulted": 0}
        self._stopping = False
        # A small receive window: bytes are acknowledged only as the proxy forwards them, so
        # `slow` behaves like a slow link (the sender sees its send queue drain) rather than a
        # slow program behind megabytes of kernel buffer.
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self._listener.bind(listen)
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def set_fault(self, fault=None, **kw):
        f = fault if fault is not None else Fault(**kw)
        with self._lock:
            self._fault = f
            self._generation += 1
            if f.mode == "none":
                # Release stalled connections: the client sees a closed connection at once.
                for c, s in list(self._conns):
                    _shut(c)
                    _shut(s)

    def clear(self):
        self.set_fault(Fault())

    def fault(self):
        with self._lock:
            return self._fault

    def stats(self):
        with self._lock:
            return dict(self._stats, open=len(self._conns))

    def stop(self):
        with self._lock:
            self._stopping = True
            conns = list(self._conns)
        _shut(self._listener)
        for c, s in conns:
            _shut(c)
            _shut(s)
        self._thread.join(timeout=5)
        _close(self._listener)

    # ---- internals ----

    def _accept_loop(self):
        while True:
            with self._lock:
                if self._stopping:
                    return
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                fault = self._fault
                self._stats["accepted"] += 1
                if fault.mode != "none":
                    self._stats["faulted"] += 1
            if fault.mode == "refuse":
                _abort(client)
                continue
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client, fault):
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _abort(client)
            return
        client.setblocking(False)
        server.setblocking(False)
        pair = (client, server)
        with self._lock:
            self._conns.add(pair)
            generation = self._generation
        try:
            self._pump(client, server, fault, generation)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(pair)
            _close(client)
            _close(server)

    def _pump(self, client, server, fault, generation):
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, "up")
        sel.register(server, selectors.EVENT_READ, "down")
        sent = {"up": 0, "down": 0}
        faulted_dir = fault.direction
        started = time.monotonic()
        while True:
            with self._lock:
                if self._stopping:
                    return
                if self._generation != generation:
                    # A new fault: later chunks follow it; counts restart at this point.
                    fault, generation = self._fault, self._generation
                    faulted_dir = fault.direction
                    sent = {"up": 0, "down": 0}
                    started = time.monotonic()
            events = sel.select(timeout=0.1)
            for key, _ in events:
                direction = key.data
                src, dst = (client, server) if direction == "up" else (server, client)
                try:
                    data = src.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    # Half-close: pass the FIN on, keep the other direction going.
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    sel.unregister(src)
                    if not sel.get_map():
                        return
                    continue
                mode = fault.mode if direction == faulted_dir else "none"
                if mode in ("reset", "cut", "stall"):
                    room = max(0, fault.after - sent[direction])
                    if len(data) > room:
                        self._send_all(dst, data[:room])
                        sent[direction] += room
                        if mode == "reset":
                            _abort(client)
                            _abort(server)
                            return
                        if mode == "cut":
                            return  # the finally clause closes both sides with FIN
                        self._stall(client, server, generation)
                        return
                elif mode == "delay":
                    time.sleep(fault.delay_ms / 1000.0)
                elif mode == "slow":
                    # Hold the chunk until the average rate since the start is within `rate`.
                    due = started + (sent[direction] + len(data)) / float(fault.rate)
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                self._send_all(dst, data)
                sent[direction] += len(data)

    def _stall(self, client, server, generation):
        """Keep both sockets open, forwarding nothing, until the fault changes or the client
        closes."""
        while True:
            with self._lock:
                if self._stopping or self._generation != generation:
                    return
            try:
                # Peek: consuming would let a stalled upload run on into the void.
                r = client.recv(1, socket.MSG_PEEK)
                if r == b"":
                    return  # the client gave up
            except BlockingIOError:
                pass
            except OSError:
                return
            time.sleep(0.05)

    @staticmethod
    def _send_all(sock, data):
        view = memoryview(data)
        deadline = time.monotonic() + 30
        while view:
            try:
                n = sock.send(view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OSError("peer not reading")
                time.sleep(0.001)


def _control_handler(proxy):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/faults":
                self._reply(200, proxy.fault().to_json())
            elif self.path == "/stats":
                self._reply(200, proxy.stats())
            else:
                self._reply(404, {"message": "unknown path"})

        def do_POST(self):
            if self.path != "/faults":
                self._reply(404, {"message": "unknown path"})
                return
            n = int(self.headers.get("Content-Length", "0"))
            try:
                obj = json.loads(self.rfile.read(n) or b"{}")
                proxy.set_fault(Fault.from_json(obj))
            except (ValueError, TypeError) as e:
                self._reply(400, {"message": str(e)})
                return
            self._reply(200, proxy.fault().to_json())

    return Handler


def _hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--control", default="127.0.0.1:0")
    ap.add_argument("--fault", default="{}", help="initial fault as JSON")
    args = ap.parse_args(argv)
    proxy = FaultProxy(_hostport(args.upstream), _hostport(args.listen))
    proxy.set_fault(Fault.from_json(json.loads(args.fault)))
    control = http.server.ThreadingHTTPServer(_hostport(args.control), _control_handler(proxy))
    print("LISTENING %d CONTROL %d" % (proxy.port, control.server_address[1]), flush=True)
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
