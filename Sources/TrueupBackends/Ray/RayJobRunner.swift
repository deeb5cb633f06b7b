import Foundation
import TrueupCore

/// The runner trueup ships inside every Ray job's code package (`_trueup_runner.py`, the job's
/// entrypoint). It gives the job the same contract as the local backend (DESIGN §2, Job) on a
/// machine that does not share trueup's disk; Python standard library only, since nothing else
/// can be assumed on a cluster's nodes.
///
/// It reads its job spec (`RayJobRunner.Spec`) from `$TRUEUP_RUNNER_SPEC`, fetches every artifact
/// named in `artifacts` from the artifact store and sets its variable to a local path, runs the
/// command in the package folder with `TRUEUP_OUTPUT_DIR` a fresh local folder, then puts
/// `model/`, `data/` and `metrics.json` (a folder holding it) into the store and prints, as its
/// last line, `TRUEUP_RUNNER_RESULT {"exitCode": N, "outputs": {part: {digest, uri}}, "error": ...}`.
/// It exits with the command's exit code.
///
/// Stores are classes with `fetch(uri)` and `put(folder, role)`, chosen by `store.type`; the
/// `path` store reads and writes the shared folder directly, in `FolderArtifactStore`'s layout and
/// with `ArtifactDigest`'s rules (tested against the Swift side). Another store (MLflow's artifact
/// proxy) is one more class and one more `store.type`.
public enum RayJobRunner {
    /// The file name inside the package; a code tree that has one is refused.
    public static let fileName = "_trueup_runner.py"
    /// The variable holding the spec.
    public static let specVariable = "TRUEUP_RUNNER_SPEC"
    /// The marker of the result line in the job's log.
    public static let resultMarker = "TRUEUP_RUNNER_RESULT "

    public struct Spec: Codable, Sendable, Equatable {
        public struct Store: Codable, Sendable, Equatable {
            public var type: String
            /// The shared folder of a `path` store.
            public var root: String?
            /// The tracking server of an `mlflow` store, as the nodes reach it.
            public var url: String? = nil
        }

        public struct Lineage: Codable, Sendable, Equatable {
            public var run: String
            public var environment: String
            public var job: String
            public var commit: String
        }

        public var version = 1
        public var command: [String]
        /// The job's variables (the spec's `env` and the job contract's), artifacts excepted.
        public var env: [String: String]
        /// Variables whose value is an artifact URI of `store`: fetched, then set to a local path.
        public var artifacts: [String: String]
        /// For some of `artifacts`: the file inside the fetched folder the variable names.
        public var artifactFiles: [String: String] = [:]
        public var runId: String
        public var lineage: Lineage
        public var store: Store
    }

    /// What the runner printed on its result line.
    public struct Result: Codable, Sendable, Equatable {
        public var exitCode: Int?
        public var outputs: [String: ArtifactReference]?
        public var error: String?
    }

    /// The last result line in a log, if the runner got that far.
    public static func result(inLog log: String) -> Result? {
        guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix(resultMarker) }) else { return nil }
        return try? JSONDecoder().decode(Result.self, from: Data(line.dropFirst(resultMarker.count).utf8))
    }

    public static let source = #"""
        """trueup's job runner: shipped by trueup inside the job's code package, run as its entrypoint.

        Standard library only. See RayJobRunner.swift in trueup for the contract.
        """
        import hashlib
        import json
        import os
        import shutil
        import signal
        import subprocess
        import sys
        import tempfile
        import time
        import urllib.error
        import urllib.parse
        import urllib.request
        import uuid

        PREFIX = "sha256:"
        RESULT = "TRUEUP_RUNNER_RESULT "


        class RunnerError(Exception):
            pass


        def file_hex(path):
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            return h.hexdigest()


        def entries(root):
            """Files and empty folders below root, by relative path in byte order (as ArtifactDigest)."""
            found = []
            for folder, dirs, files in os.walk(root):
                relative = os.path.relpath(folder, root)
                for name in files:
                    found.append((name if relative == "." else relative + "/" + name, False))
                if folder != root and not dirs and not files:
                    found.append((relative, True))
            return sorted(found, key=lambda e: e[0].encode("utf-8", "surrogateescape"))


        def digest(path):
            """sha256:<hex>: of a file's bytes, or of a folder's manifest (ArtifactDigest's rules)."""
            if not os.path.isdir(path):
                return PREFIX + file_hex(path)
            manifest = b""
            for relative, empty_folder in entries(path):
                name = relative.encode("utf-8", "surrogateescape")
                if empty_folder:
                    manifest += name + b"/\0dir\n"
                else:
                    manifest += name + b"\0" + file_hex(os.path.join(path, relative)).encode() + b"\n"
            return PREFIX + hashlib.sha256(manifest).hexdigest()


        class PathStore:
            """A folder shared by trueup and every node: sha256/<hex>/ and lineage/<hex>/<key>.json."""

            def __init__(self, spec, scratch):
                self.root = os.path.normpath(spec["root"])
                if not os.path.isdir(self.root):
                    raise RunnerError(
                        "the shared artifact store %s is not mounted on this node: mount the shared "
                        "filesystem at the same path as on trueup's machine (spec.artifacts.path)" % self.root)

            def folder(self, hexdigest):
                return os.path.join(self.root, "sha256", hexdigest)

            def fetch(self, uri):
                prefix = "file://" + os.path.join(self.root, "sha256") + "/"
                if not uri.startswith(prefix):
                    return uri
                hexdigest = uri[len(prefix):]
                path = self.folder(hexdigest)
                if not os.path.isdir(path):
                    raise RunnerError(
                        "the artifact %s%s is not in the shared artifact store %s: it was never stored "
                        "here or was deleted; run the job that produces it again" % (PREFIX, hexdigest, self.root))
                actual = digest(path)
                if actual != PREFIX + hexdigest:
                    raise RunnerError(
                        "the artifact %s%s at %s was modified: its content now has the digest %s; delete "
                        "the folder and run the job that produces it again" % (PREFIX, hexdigest, path, actual))
                return path

            def put(self, source, lineage):
                wanted = digest(source)
                hexdigest = wanted[len(PREFIX):]
                destination = self.folder(hexdigest)
                if os.path.isdir(destination) and digest(destination) != wanted:
                    shutil.rmtree(destination, ignore_errors=True)
                if not os.path.isdir(destination):
                    os.makedirs(os.path.dirname(destination), exist_ok=True)
                    temporary = "%s.partial-%d-%s" % (destination, os.getpid(), uuid.uuid4().hex[:8])
                    try:
                        shutil.copytree(source, temporary)
                        copied = digest(temporary)
                        if copied != wanted:
                            raise RunnerError("%s changed while it was being stored (%s before, %s after)" % (source, wanted, copied))
                        for folder, _, files in os.walk(temporary):
                            for name in files:
                                os.chmod(os.path.join(folder, name), 0o444)
                        os.rename(temporary, destination)
                    except OSError:
                        shutil.rmtree(temporary, ignore_errors=True)
                        if not os.path.isdir(destination):
                            raise
                self.record(hexdigest, lineage)
                return {"digest": wanted, "uri": "file://" + destination}

            def record(self, hexdigest, lineage):
                folder = os.path.join(self.root, "lineage", hexdigest)
                key = hashlib.sha256(("%s\0%s" % (lineage["run"], lineage["role"])).encode()).hexdigest()[:32]
                path = os.path.join(folder, key + ".json")
                if os.path.exists(path):
                    return
                os.makedirs(folder, exist_ok=True)
                temporary = "%s.partial-%d" % (path, os.getpid())
                with open(temporary, "w") as f:
                    json.dump({"lineage": lineage, "recordedAt": time.time()}, f, sort_keys=True)
                os.replace(temporary, path)


        class MLflowStore:
            """MLflow's artifact proxy, in MLflowArtifactStore's layout below trueup-artifacts/:
            sha256/<hex>/files/<path>, sha256/<hex>/manifest.json (written last), lineage/<hex>/<key>.json.
            A server that needs a token gets the node's own MLFLOW_TRACKING_TOKEN: trueup never
            sends a token to the cluster."""

            ROOT = "trueup-artifacts"

            def __init__(self, spec, scratch):
                self.url = spec["url"].rstrip("/")
                self.scratch = scratch

            def call(self, method, path, body=None):
                """The answer's bytes; None for a 404. Transient failures are tried again for about a minute."""
                url = "%s/api/2.0/mlflow-artifacts/artifacts/%s" % (self.url, urllib.parse.quote(path))
                failure = None
                for attempt in range(7):
                    request = urllib.request.Request(url, data=body, method=method)
                    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
                    if token:
                        request.add_header("Authorization", "Bearer " + token)
                    if body is not None:
                        request.add_header("Content-Type", "application/octet-stream")
                    try:
                        with urllib.request.urlopen(request, timeout=60) as answer:
                            return answer.read()
                    except urllib.error.HTTPError as error:
                        if error.code == 404 and method == "GET":
                            return None
                        failure = "%s %s answered %d" % (method, path, error.code)
                        if error.code < 500 and error.code != 429:
                            break
                    except (urllib.error.URLError, OSError) as error:
                        failure = "%s %s failed: %s" % (method, path, error)
                    time.sleep(min(2 ** attempt, 15))
                raise RunnerError("the MLflow artifact store at %s: %s" % (self.url, failure))

            def fetch(self, uri):
                prefix = "mlflow-artifacts:/%s/sha256/" % self.ROOT
                if not uri.startswith(prefix):
                    return uri
                hexdigest = uri[len(prefix):]
                manifest = self.call("GET", "%s/sha256/%s/manifest.json" % (self.ROOT, hexdigest))
                if manifest is None:
                    raise RunnerError(
                        "the artifact %s%s is not in the MLflow artifact store at %s: it was never stored "
                        "there or was deleted; run the job that produces it again" % (PREFIX, hexdigest, self.url))
                folder = os.path.join(self.scratch, "fetched", hexdigest)
                if not os.path.isdir(folder):
                    for entry in json.loads(manifest)["entries"]:
                        if ".." in entry["path"].split("/"):
                            raise RunnerError("the manifest of %s%s names %s, outside the artifact" % (PREFIX, hexdigest, entry["path"]))
                        target = os.path.join(folder, entry["path"])
                        if entry.get("sha256") is None:
                            os.makedirs(target, exist_ok=True)
                            continue
                        data = self.call("GET", "%s/sha256/%s/files/%s" % (self.ROOT, hexdigest, entry["path"]))
                        if data is None:
                            raise RunnerError("the artifact %s%s lost its file %s in the MLflow artifact store at %s; run the job that produces it again" % (PREFIX, hexdigest, entry["path"], self.url))
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        with open(target, "wb") as f:
                            f.write(data)
                actual = digest(folder)
                if actual != PREFIX + hexdigest:
                    raise RunnerError(
                        "the artifact %s%s in the MLflow artifact store at %s was modified: its files now have "
                        "the digest %s; run the job that produces it again" % (PREFIX, hexdigest, self.url, actual))
                return folder

            def put(self, source, lineage):
                wanted = digest(source)
                hexdigest = wanted[len(PREFIX):]
                listed = []
                for relative, empty_folder in entries(source):
                    if empty_folder:
                        listed.append({"path": relative})
                        continue
                    with open(os.path.join(source, relative), "rb") as f:
                        data = f.read()
                    listed.append({"path": relative, "sha256": hashlib.sha256(data).hexdigest()})
                    self.call("PUT", "%s/sha256/%s/files/%s" % (self.ROOT, hexdigest, relative), data)
                manifest = json.dumps({"digest": wanted, "entries": listed}, sort_keys=True).encode()
                self.call("PUT", "%s/sha256/%s/manifest.json" % (self.ROOT, hexdigest), manifest)
                key = hashlib.sha256(("%s\0%s" % (lineage["run"], lineage["role"])).encode()).hexdigest()[:32]
                path = "%s/lineage/%s/%s.json" % (self.ROOT, hexdigest, key)
                if self.call("GET", path) is None:
                    record = json.dumps({"lineage": lineage, "recordedAt": time.time()}, sort_keys=True).encode()
                    self.call("PUT", path, record)
                return {"digest": wanted, "uri": "mlflow-artifacts:/%s/sha256/%s" % (self.ROOT, hexdigest)}


        STORES = {"path": PathStore, "mlflow": MLflowStore}


        def store_outputs(store, output, spec, scratch):
            outputs = {}
            lineage = dict(spec["lineage"])
            for part in ("model", "data"):
                folder = os.path.join(output, part)
                if os.path.isdir(folder):
                    outputs[part] = store.put(folder, dict(lineage, role=part))
            metrics = os.path.join(output, "metrics.json")
            if os.path.isfile(metrics):
                holder = os.path.join(scratch, "metrics-artifact")
                os.makedirs(holder)
                shutil.copyfile(metrics, os.path.join(holder, "metrics.json"))
                outputs["metrics"] = store.put(holder, dict(lineage, role="metrics"))
            return outputs


        def report(exit_code, outputs=None, error=None):
            sys.stdout.flush()
            sys.stderr.flush()
            print("\n" + RESULT + json.dumps({"exitCode": exit_code, "outputs": outputs or {}, "error": error}, sort_keys=True), flush=True)


        def main():
            spec = json.loads(os.environ.pop("TRUEUP_RUNNER_SPEC"))
            scratch = tempfile.mkdtemp(prefix="trueup-run-")
            try:
                store_type = spec["store"]["type"]
                if store_type not in STORES:
                    raise RunnerError("this runner cannot use a %r artifact store (it knows %s)" % (store_type, ", ".join(sorted(STORES))))
                store = STORES[store_type](spec["store"], scratch)
                env = dict(os.environ)
                env.update(spec["env"])
                for variable, uri in sorted(spec["artifacts"].items()):
                    env[variable] = store.fetch(uri)
                    if variable in spec.get("artifactFiles", {}):
                        env[variable] = os.path.join(env[variable], spec["artifactFiles"][variable])
                output = os.path.join(scratch, "output")
                os.makedirs(output)
                env["TRUEUP_OUTPUT_DIR"] = output
                env["TRUEUP_RUN_ID"] = spec["runId"]
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            except (RunnerError, OSError, KeyError) as error:
                print("trueup runner: %s" % error, file=sys.stderr)
                report(None, error="the runner could not prepare the job: %s" % error)
                shutil.rmtree(scratch, ignore_errors=True)
                return 97
            sys.stdout.flush()
            try:
                child = subprocess.Popen(spec["command"], env=env)
            except OSError as error:
                print("trueup runner: cannot run %s: %s" % (" ".join(spec["command"]), error), file=sys.stderr)
                report(127, error="cannot run %s: %s" % (spec["command"][0] if spec["command"] else "(no command)", error))
                shutil.rmtree(scratch, ignore_errors=True)
                return 127
            # A stop (SIGTERM, SIGINT) reaches the command too; Ray also signals the whole tree.
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, lambda received, _: child.send_signal(received))
            code = child.wait()
            code = 128 - code if code < 0 else code
            if code != 0:
                report(code)
                shutil.rmtree(scratch, ignore_errors=True)
                return code
            try:
                outputs = store_outputs(store, output, spec, scratch)
            except (RunnerError, OSError) as error:
                print("trueup runner: the job's output could not be stored: %s" % error, file=sys.stderr)
                report(0, error="its output could not be put into the artifact store: %s" % error)
                shutil.rmtree(scratch, ignore_errors=True)
                return 98
            report(0, outputs)
            shutil.rmtree(scratch, ignore_errors=True)
            return 0


        if __name__ == "__main__":
            if len(sys.argv) == 3 and sys.argv[1] == "--digest":
                print(digest(sys.argv[2]))
                sys.exit(0)
            sys.exit(main())
        """#
}
