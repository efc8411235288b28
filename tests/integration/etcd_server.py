"""A real single-node etcd (Debian's etcd-server) on loopback for tests and the soak run, and
the worker records Alluxio workers register in it (routing.md, etcd membership).

The ports and the data dir are chosen once, so stop() then start() brings the same etcd back
with its keys (the soak restarts it under a live mount)."""
import base64
import json
import os
import shutil
import subprocess
import urllib.request
import uuid

import harness

ETCD = os.environ.get("AF_ETCD", shutil.which("etcd") or "/usr/bin/etcd")
PREFIX = "/ServiceDiscovery/DefaultAlluxioCluster/"


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def worker_record(host, http_port, ident):
    """(etcd key, JSON value) of a worker with identity `ident` (16 bytes), as the Java worker
    writes it."""
    u = uuid.UUID(bytes=ident)
    value = {"Identity": {"version": 1, "identifier": ident.hex()},
             "WorkerNetAddress": {"Host": host, "ContainerHost": "", "RpcPort": 29999,
                                  "DataPort": 29997, "SecureRpcPort": 0,
                                  "NettyDataPort": 29997, "WebPort": 30000,
                                  "DomainSocketPath": "", "HttpServerPort": http_port},
             "State": "AUTHORIZED", "GenerationNumber": -1,
             "ServiceEntityName": "worker-%s" % u}
    return PREFIX + "worker-%s" % u, json.dumps(value)


class Etcd:
    def __init__(self, workdir, name="it"):
        self.workdir = workdir
        self.name = name
        self.client_port = harness.free_port()
        self.peer_port = harness.free_port()
        self.url = "http://127.0.0.1:%d" % self.client_port
        self.proc = None
        self.start()

    def start(self):
        peer = "http://127.0.0.1:%d" % self.peer_port
        with open(os.path.join(self.workdir, "etcd.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [ETCD, "--name", self.name,
                 "--data-dir", os.path.join(self.workdir, "etcd-data"),
                 "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", "%s=%s" % (self.name, peer)],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            harness.wait_until(self.ready, 30, "etcd to answer")
        except Exception:
            self.stop()
            raise

    def post(self, path, obj):
        req = urllib.request.Request(self.url + path, data=json.dumps(obj).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read() or b"{}")

    def ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("etcd exited with %s" % self.proc.returncode)
        try:
            self.post("/v3/kv/range", {"key": b64("/")})
            return True
        except OSError:
            return False

    def put(self, key, value):
        self.post("/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def delete(self, key):
        self.post("/v3/kv/deleterange", {"key": b64(key)})

    def register(self, host, http_port, ident):
        """Registers a worker; returns its key."""
        key, value = worker_record(host, http_port, ident)
        self.put(key, value)
        return key

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
