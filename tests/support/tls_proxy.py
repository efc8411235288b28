"""A TLS-terminating TCP proxy for tests (issue 11, TLS to workers): accepts TLS connections
with a given certificate and key and forwards the plaintext bytes to an upstream server (a fake
worker), so the daemon's https:// path is tested against the real worker contract.

Use it in-process:

  proxy = TlsProxy(("127.0.0.1", worker_port), certfile, keyfile)
  ... proxy.address ("127.0.0.1:<port>"), proxy.handshakes_failed ...
  proxy.stop()

make_ca() and make_server_cert() make a CA and a server certificate for 127.0.0.1 with
the openssl command-line tool. Standard library only.
"""
import os
import socket
import ssl
import subprocess
import threading


def _run(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(workdir, name):
    """A self-signed CA in workdir: returns (cert path, key path)."""
    key, cert = name + ".key", name + ".pem"
    _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", key, "-out", cert,
          "-days", "2", "-subj", "/CN=" + name], workdir)
    return os.path.join(workdir, cert), os.path.join(workdir, key)


def make_server_cert(workdir, ca_cert, ca_key, name="server", ip="127.0.0.1"):
    """A server certificate for `ip` (subjectAltName) signed by the CA: (cert, key) paths."""
    key, csr, cert, ext = name + ".key", name + ".csr", name + ".pem", name + ".ext"
    with open(os.path.join(workdir, ext), "w") as f:
        f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" % ip)
    _run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", key, "-out", csr,
          "-subj", "/CN=" + ip], workdir)
    _run(["x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
          "-out", cert, "-days", "2", "-extfile", ext], workdir)
    return os.path.join(workdir, cert), os.path.join(workdir, key)


def _shut(sock):
    """Ends a socket's traffic from any thread (blocked recv/accept calls return) without
    closing it: the thread that owns the socket closes it. The plain socket's shutdown, also
    for a TLS socket: SSLSocket.shutdown drops the TLS state under a thread still reading."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class TlsProxy:
    """Listens on 127.0.0.1 (ephemeral port); one thread per direction per connection."""

    def __init__(self, upstream, certfile, keyfile):
        self.upstream = upstream
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.handshakes_ok = 0
        self.handshakes_failed = 0
        self.conns = set()
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def use_cert(self, certfile, keyfile):
        """Serves another certificate from now on (an impostor in the worker's place) and
        closes the open connections, so clients must handshake again."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        with self.lock:
            self.ctx = ctx
            conns = list(self.conns)
        for s in conns:
            _shut(s)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.stopped:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(10)
        with self.lock:
            ctx = self.ctx
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            # The client refused our certificate (or spoke clear text): nothing is forwarded.
            with self.lock:
                self.handshakes_failed += 1
            raw.close()
            return
        tls.settimeout(None)
        with self.lock:
            self.handshakes_ok += 1
        try:
            up = socket.create_connection(self.upstream, timeout=10)
            up.settimeout(None)
        except OSError:
            tls.close()
            return
        with self.lock:
            self.conns.add(tls)
            self.conns.add(up)
        back = threading.Thread(target=self._pump, args=(up, tls), daemon=True)
        back.start()
        self._pump(tls, up)
        back.join()
        # Only this thread closes the pair, once neither direction uses it: a socket closed
        # under a thread still in recv/sendall frees its descriptor number, the next socket
        # the test process opens (say, its own connection to the worker) gets it, and the
        # stale thread then reads or writes that connection's bytes.
        with self.lock:
            self.conns.discard(tls)
            self.conns.discard(up)
        tls.close()
        up.close()

    def _pump(self, src, dst):
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                dst.sendall(chunk)
        except OSError:
            pass
        _shut(src)
        _shut(dst)

    def stop(self):
        self.stopped = True
        _shut(self.sock)  # wakes accept(); close alone does not
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            _shut(s)  # their threads close them
        self.thread.join(timeout=5)
        self.sock.close()
