"""Issue 9: static checks of conf/kubernetes/*.yaml and the Dockerfile.

No cluster and no Docker engine are available to the tests, so this checks what can be checked
without one: every YAML document parses; kinds and names are present; every volumeMount names a
volume of its pod; mountPropagation values are valid and used as FUSE needs (Bidirectional on
the privileged daemon, HostToContainer on consumers); probes hit /healthz on a declared port
that metrics.listen serves on 0.0.0.0; the sidecar is a native sidecar (init container with
restartPolicy Always) with a startupProbe and a preStop unmount; ConfigMap and Secret
references resolve; the embedded conf.yaml passes `alluxio-fuse check-config`; the Dockerfile is
multi-stage on Debian 12 with build packages from scripts/install-deps.sh and no -dev package
in the runtime stage. Needs python3-yaml (scripts/install-deps.sh).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(ROOT, "conf", "kubernetes")
BINARY = os.environ.get("AF_BINARY", "alluxio-fuse")
PROPAGATION = {"None", "HostToContainer", "Bidirectional"}
METRICS_PORT = 49999


def manifests():
    out = {}
    for name in sorted(os.listdir(K8S)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(K8S, name)) as f:
                out[name] = [d for d in yaml.safe_load_all(f) if d is not None]
    return out


def pod_spec(doc):
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] in ("Deployment", "DaemonSet", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def all_containers(spec):
    return [("init", c) for c in spec.get("initContainers", [])] + \
        [("main", c) for c in spec.get("containers", [])]


def is_fuse_daemon(container):
    args = container.get("args", []) + container.get("command", [])
    return "mount" in args and any("alluxio-fuse" in str(x) for x in
                                   [container.get("image", "")] + args)


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.files = manifests()
        self.assertIn("sidecar.yaml", self.files)
        self.assertIn("daemonset.yaml", self.files)

    def test_documents_have_kind_and_name(self):
        for name, docs in self.files.items():
            self.assertTrue(docs, name)
            for d in docs:
                self.assertIn(d.get("apiVersion"), ("v1", "apps/v1", "batch/v1"), (name, d))
                self.assertTrue(d.get("kind"), name)
                self.assertTrue(d.get("metadata", {}).get("name"), (name, d["kind"]))
        kinds = {n: [d["kind"] for d in docs] for n, docs in self.files.items()}
        self.assertEqual(kinds["sidecar.yaml"], ["ConfigMap", "Secret", "Deployment"])
        self.assertEqual(kinds["daemonset.yaml"], ["ConfigMap", "Secret", "DaemonSet"])

    def test_pod_specs(self):
        for name, docs in self.files.items():
            by_kind = {}
            for d in docs:
                by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
            for d in docs:
                spec = pod_spec(d)
                if spec is None:
                    continue
                with self.subTest(file=name, kind=d["kind"]):
                    self.check_pod(spec, by_kind, name)
                    if d["kind"] != "Pod":
                        labels = d["spec"]["template"]["metadata"]["labels"]
                        for k, v in d["spec"]["selector"]["matchLabels"].items():
                            self.assertEqual(labels.get(k), v)

    def check_pod(self, spec, by_kind, fname):
        volumes = {v["name"]: v for v in spec["volumes"]}
        self.assertEqual(len(volumes), len(spec["volumes"]), "duplicate volume names")
        containers = all_containers(spec)
        names = [c["name"] for _, c in containers]
        self.assertEqual(len(names), len(set(names)), names)
        for v in volumes.values():
            if "configMap" in v:
                self.assertIn(v["configMap"]["name"], by_kind.get("ConfigMap", {}))
            if "secret" in v:
                self.assertIn(v["secret"]["secretName"], by_kind.get("Secret", {}))
        daemons = [(where, c) for where, c in containers if is_fuse_daemon(c)]
        self.assertEqual(len(daemons), 1, names)
        where, daemon = daemons[0]
        fuse_mount_path = daemon["args"][daemon["args"].index("mount") + 1]
        fuse_volume = None
        for _, c in containers:
            self.assertTrue(c.get("name") and c.get("image"), c)
            for m in c.get("volumeMounts", []):
                self.assertIn(m["name"], volumes, (c["name"], m))
                self.assertIn(m.get("mountPropagation", "None"), PROPAGATION, m)
                if m.get("mountPropagation") == "Bidirectional":
                    self.assertTrue(c.get("securityContext", {}).get("privileged"),
                                    "Bidirectional needs a privileged container: " + c["name"])
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    self.assertIn(e["secretRef"]["name"], by_kind.get("Secret", {}))
                if "configMapRef" in e:
                    self.assertIn(e["configMapRef"]["name"], by_kind.get("ConfigMap", {}))
        mounts = {m["mountPath"]: m for m in daemon["volumeMounts"]}
        self.assertIn(fuse_mount_path, mounts)
        self.assertEqual(mounts[fuse_mount_path].get("mountPropagation"), "Bidirectional")
        fuse_volume = mounts[fuse_mount_path]["name"]
        self.assertIn("/dev/fuse", mounts, "the daemon needs /dev/fuse")
        dev = volumes[mounts["/dev/fuse"]["name"]]
        self.assertEqual(dev["hostPath"], {"path": "/dev/fuse", "type": "CharDevice"})
        # Every other container that sees the mount gets it with HostToContainer.
        for _, c in containers:
            if c is daemon:
                continue
            for m in c.get("volumeMounts", []):
                if m["name"] == fuse_volume:
                    self.assertEqual(m.get("mountPropagation"), "HostToContainer", c["name"])
        # Probes: /healthz on a declared port; that port is what metrics.listen serves.
        ports = {p.get("name"): p["containerPort"] for p in daemon.get("ports", [])}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertIn(probe, daemon)
            get = daemon[probe]["httpGet"]
            self.assertEqual(get["path"], "/healthz")
            port = ports.get(get["port"], get["port"])
            self.assertIn(port, ports.values(), (probe, get))
            self.assertEqual(port, METRICS_PORT)
        cfg_path = daemon["args"][daemon["args"].index("--config") + 1]
        cfg = self.embedded_config(spec, by_kind, daemon, cfg_path)
        self.assertEqual(cfg["metrics"]["listen"], "0.0.0.0:%d" % METRICS_PORT)
        # preStop unmounts the mount point.
        cmd = daemon["lifecycle"]["preStop"]["exec"]["command"]
        self.assertIn("unmount", cmd)
        self.assertIn(fuse_mount_path, cmd)
        if fname == "sidecar.yaml":
            self.assertEqual(where, "init", "the sidecar must be a native sidecar")
            self.assertEqual(daemon.get("restartPolicy"), "Always")
            self.assertTrue(spec.get("containers"), "an application container")

    def embedded_config(self, spec, by_kind, daemon, cfg_path):
        """The conf.yaml the daemon reads: the ConfigMap key behind --config's directory."""
        volumes = {v["name"]: v for v in spec["volumes"]}
        for m in daemon["volumeMounts"]:
            if cfg_path.startswith(m["mountPath"].rstrip("/") + "/"):
                key = cfg_path[len(m["mountPath"].rstrip("/")) + 1:]
                cm = by_kind["ConfigMap"][volumes[m["name"]]["configMap"]["name"]]
                self.assertIn(key, cm["data"])
                text = cm["data"][key]
                self.check_config_text(text)
                return yaml.safe_load(text)
        self.fail("--config %s is not inside a mounted ConfigMap" % cfg_path)

    def check_config_text(self, text):
        binary = shutil.which(BINARY) or (BINARY if os.path.isfile(BINARY) else None)
        if binary is None:
            return  # the YAML checks above still ran
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            r = subprocess.run([binary, "check-config", "--config", f.name], capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_secrets_are_placeholders(self):
        for name, docs in self.files.items():
            for d in docs:
                if d["kind"] == "Secret":
                    for k, v in d.get("stringData", {}).items():
                        self.assertEqual(v, "REPLACE_ME", (name, k))


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            self.text = f.read()
        joined = re.sub(r"\\\n", " ", self.text)
        self.stages = []
        for line in joined.splitlines():
            line = line.strip()
            if line.startswith("FROM "):
                self.stages.append({"from": line.split()[1], "packages": set(), "lines": []})
            elif self.stages:
                self.stages[-1]["lines"].append(line)
                m = re.search(r"apt-get install ([^&]*)", line)
                if m:
                    self.stages[-1]["packages"] |= {w for w in m.group(1).split()
                                                    if not w.startswith("-")}

    def test_multi_stage_debian12(self):
        self.assertEqual(len(self.stages), 2)
        for s in self.stages:
            self.assertRegex(s["from"], r"^debian:(12|bookworm)(-slim)?$")
        self.assertTrue(any("COPY --from=build" in l for l in self.stages[1]["lines"]))
        self.assertTrue(any(l.startswith("ENTRYPOINT") and "alluxio-fuse" in l
                            for l in self.stages[1]["lines"]))

    def test_packages(self):
        with open(os.path.join(ROOT, "scripts", "install-deps.sh")) as f:
            deps = f.read()
        pkgs = re.search(r"PKGS=\((.*?)\)", deps, re.S).group(1)
        deps_pkgs = {w for line in pkgs.splitlines() for w in line.split("#")[0].split()}
        build, runtime = self.stages[0]["packages"], self.stages[1]["packages"]
        self.assertTrue(build, "build stage installs packages")
        self.assertLessEqual(build, deps_pkgs, build - deps_pkgs)
        for p in ("libfuse3-dev", "libcurl4-openssl-dev", "libssl-dev", "cmake", "ninja-build"):
            self.assertIn(p, build)
        self.assertFalse([p for p in runtime if p.endswith("-dev")], runtime)
        self.assertFalse({"build-essential", "cmake", "git"} & runtime, runtime)
        self.assertIn("fuse3", runtime)  # fusermount3 for unmount

    def test_runtime_stage_has_every_linked_library(self):
        # Each library the built binary links directly comes from a runtime-stage package (or
        # from the base image: libc, libgcc, libstdc++). Caught liburing2 missing.
        binary = shutil.which(BINARY) or (BINARY if os.path.isfile(BINARY) else None)
        if binary is None:
            self.skipTest("no alluxio-fuse binary to inspect")
        elf = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]", elf)
        self.assertIn("libfuse3.so.3", needed)
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30,
                             check=True).stdout
        where = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
        base = {"libc6", "libgcc-s1", "libstdc++6"}
        runtime = self.stages[1]["packages"]
        for lib in needed:
            path = where.get(lib)
            self.assertIsNotNone(path, "%s not resolved by ldd" % lib)
            owners = set()
            for candidate in {path, os.path.realpath(path),
                              re.sub(r"^/usr(?=/lib)", "", os.path.realpath(path))}:
                r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                   timeout=30)
                if r.returncode == 0:
                    owners |= {line.split(":")[0] for line in r.stdout.splitlines()}
            self.assertTrue(owners, "no package owns %s (%s)" % (lib, path))
            self.assertTrue(owners & (runtime | base),
                            "%s comes from %s, not installed by the runtime stage %s"
                            % (lib, sorted(owners), sorted(runtime)))

    def test_dockerignore_keeps_build_dirs_out(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            lines = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        self.assertIn(".git", lines)
        self.assertIn("build-*", lines)


if __name__ == "__main__":
    unittest.main()
