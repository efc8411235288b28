"""An s3rver process for integration tests (tests/s3/s3rver_launch.js), plus unsigned object
uploads to fill a bucket. s3rver accepts unsigned requests and checks only the access key id of
signed ones (it knows "S3RVER"), not V4 signatures: the signer is proven by the unit tests
against AWS's published vectors (tests/unit/ufs_s3_signer_test.cc)."""
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "..", "s3", "s3rver_launch.js")
NODE = os.environ.get("AF_NODE", shutil.which("node") or "node")
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"


def installed():
    return os.path.isdir(os.path.join(HERE, "..", "s3", "node_modules", "s3rver"))


class S3rver:
    """s3rver on 127.0.0.1:<free port> with its own temp directory; stop() always cleans up."""

    def __init__(self, buckets, tmp_root="/tmp"):
        self.dir = tempfile.mkdtemp(prefix="af-s3rver-", dir=tmp_root)
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.proc = subprocess.Popen([NODE, LAUNCHER, self.dir, ",".join(buckets), "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env)
        line = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(b"LISTENING") or not line:
                break
        if not line.startswith(b"LISTENING"):
            self.stop()
            raise RuntimeError("s3rver did not start (run scripts/install-deps.sh)")
        self.port = int(line.split()[1])

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def put(self, bucket, key, data):
        url = "%s/%s/%s" % (self.endpoint, bucket, urllib.parse.quote(key, safe="/~"))
        req = urllib.request.Request(url, data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    def put_many(self, bucket, items, workers=8):
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda kv: self.put(bucket, kv[0], kv[1]), items))

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the launcher exits on end of stdin
                self.proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)
