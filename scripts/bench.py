#!/usr/bin/env python3
"""apphost against its peers, in one run on one machine and engine (see BENCHMARKS.md).

Each scenario runs several times, alternating the tools; the report gives the median of each and the
ratio of apphost to each peer. Run it through scripts/bench, which starts the engine, builds the
stand-in images and a release build of apphost.

Scenarios:
  1  one redis, cold: apphost up -d until ready / docker run -d + a shell loop polling PING /
     docker-compose up -d + the same loop
  2  five resources (redis, valkey, garnet, redisinsight, rediscommander), cold: the same three ways
     (the raw floor starts the five containers in parallel)
  3  up again with nothing changed (persistent containers): apphost up -d / docker-compose up -d
  4  down: apphost down / docker rm -f of the same containers / docker-compose down
  5  a program writing 1,000,000 lines: through apphost run / directly (and through a foreground
     apphost up, which prefixes every line); every line must arrive
  6  peak memory (VmHWM) of a foreground apphost up supervising scenario 2 plus three programs,
     and of docker-compose up attached to the same five services
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REGISTRY = os.environ.get("APPHOST_IMAGE_REGISTRY", "").rstrip("/")


def image(default):
    """The image apphost runs for `default` (docker.io/library/redis:8.6), honouring APPHOST_IMAGE_REGISTRY."""
    if not REGISTRY:
        return default
    return REGISTRY + "/" + default.split("/", 1)[1]


IMAGES = {
    "redis": image("docker.io/library/redis:8.6"),
    "valkey": image("docker.io/valkey/valkey:9.0"),
    "garnet": image("ghcr.io/microsoft/garnet:1.0"),
    "redisinsight": image("docker.io/redis/redisinsight:3.0"),
    "rediscommander": image("ghcr.io/joeferner/redis-commander:latest"),
}
PASSWORD = "BenchPassword22Chars00"
# What each kind runs and how it is polled, identical for every tool.
KINDS = {
    "redis": {"port": 6379, "cmd": 'exec redis-server --requirepass "$REDIS_PASSWORD" --save ""', "var": "REDIS_PASSWORD"},
    "valkey": {"port": 6379, "cmd": 'exec valkey-server --requirepass "$VALKEY_PASSWORD" --save ""', "var": "VALKEY_PASSWORD"},
    "garnet": {"port": 6379, "var": "GARNET_PASSWORD",
               "cmd": "(umask 077 && printf 'requirepass %s\\n' \"$GARNET_PASSWORD\" > /tmp/apphost-garnet.conf) && "
                      "exec /app/GarnetServer --config-import-path /tmp/apphost-garnet.conf "
                      "--config-import-format RedisConf --protected-mode no --auth Password"},
    "redisinsight": {"port": 5540, "path": "/api/health"},
    "rediscommander": {"port": 8081, "path": "/healthcheck"},
}


def run(args, **kwargs):
    return subprocess.run(args, check=False, capture_output=True, text=True, **kwargs)


class Bench:
    def __init__(self, engine, apphost, runs, root):
        self.engine = engine
        self.apphost = apphost
        self.runs = runs
        self.root = root
        self.env = dict(os.environ, APPHOST_ENGINE=engine, NO_COLOR="1", BENCH_PASSWORD=PASSWORD)
        self.rows = []

    # -- projects -------------------------------------------------------------------------------

    def project(self, name, resources, programs=None):
        """A folder with apphost.json (password from $BENCH_PASSWORD, like the peers) and a compose file
        for the same containers."""
        folder = os.path.join(self.root, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        manifest = {}
        services = []
        for resource, (kind, lifetime) in resources.items():
            if kind in ("redisinsight", "rediscommander"):
                manifest[resource] = {"type": kind, "lifetime": lifetime}
                if kind == "redisinsight":
                    manifest[resource]["dataVolume"] = False
            else:
                manifest[resource] = {"type": kind, "password": {"env": "BENCH_PASSWORD"},
                                      "persistence": False, "lifetime": lifetime}
            services.append(self.compose_service(resource, kind))
        for program, command in (programs or {}).items():
            manifest[program] = {"type": "executable", "command": command[0], "args": command[1:]}
        with open(os.path.join(folder, "apphost.json"), "w") as handle:
            json.dump({"name": name, "resources": manifest}, handle, indent=2)
        with open(os.path.join(folder, "docker-compose.yml"), "w") as handle:
            handle.write("services:\n" + "".join(services))
        return folder

    def compose_service(self, resource, kind):
        spec = KINDS[kind]
        text = f"  {resource}:\n    image: \"{IMAGES[kind]}\"\n"
        if "cmd" in spec:
            command = spec["cmd"].replace("$", "$$").replace('"', '\\"')
            text += f"    entrypoint: [\"/bin/sh\", \"-c\"]\n    command: [\"{command}\"]\n"
            text += f"    environment:\n      {spec['var']}: \"{PASSWORD}\"\n"
        text += f"    ports: [\"127.0.0.1::{spec['port']}\"]\n"
        return text

    def raw_script(self, name, resources):
        """docker run -d of every container in parallel, then a shell loop polling each until ready."""
        lines = ["set -e"]
        for resource, (kind, _) in resources.items():
            spec = KINDS[kind]
            args = [self.engine, "run", "-d", "--name", f"{name}-{resource}", "-p", f"127.0.0.1::{spec['port']}"]
            if "cmd" in spec:
                args += ["-e", f"{spec['var']}={PASSWORD}", "--entrypoint", "/bin/sh", IMAGES[kind], "-c", spec["cmd"]]
            else:
                args += [IMAGES[kind]]
            lines.append(" ".join(shell_quote(a) for a in args) + " >/dev/null &")
        lines.append("wait")
        for resource, (kind, _) in resources.items():
            lines.append(self.poll_line(f"$({self.engine} port {name}-{resource} {KINDS[kind]['port']}/tcp | head -1 | cut -d: -f2)", kind) + " &")
        lines.append("wait")
        return "\n".join(lines)

    def poll_line(self, port, kind):
        spec = KINDS[kind]
        if "path" in spec:
            check = f"wget -q -O /dev/null http://127.0.0.1:$p{spec['path']}"
        else:
            check = f"redis-cli -p $p -a {PASSWORD} --no-auth-warning ping 2>/dev/null | grep -q PONG"
        return f"(p={port}; until {check}; do sleep 0.01; done)"

    def compose_script(self, folder, name, resources):
        lines = [f"cd {shell_quote(folder)}", f"docker-compose -p {name} up -d >/dev/null 2>&1"]
        for resource, (kind, _) in resources.items():
            lines.append(self.poll_line(f"$(docker-compose -p {name} port {resource} {KINDS[kind]['port']} | cut -d: -f2)", kind) + " &")
        lines.append("wait")
        return "\n".join(lines)

    # -- measuring ------------------------------------------------------------------------------

    def timed(self, args, **kwargs):
        start = time.monotonic()
        result = run(args, env=self.env, **kwargs)
        elapsed = time.monotonic() - start
        if result.returncode != 0:
            raise SystemExit(f"failed: {' '.join(args)}\n{result.stdout}\n{result.stderr}")
        return elapsed

    def clean(self, folder, name):
        run([self.apphost, "down", "-v"], cwd=folder, env=self.env)
        run(["docker-compose", "-p", name, "down", "-v"], cwd=folder, env=self.env)
        ids = run([self.engine, "ps", "-aq", "--filter", f"name=^{name}-"], env=self.env).stdout.split()
        if ids:
            run([self.engine, "rm", "-f"] + ids, env=self.env)

    def report(self, scenario, results, target=None):
        medians = {tool: statistics.median(values) for tool, values in results.items()}
        ours = medians["apphost"]
        print(f"\n{scenario}")
        for tool, median in medians.items():
            ratio = "" if tool == "apphost" else f"  apphost/{tool} = {ours / median:.2f}x"
            print(f"  {tool:<22} median {median * 1000:8.1f} ms  (runs: {', '.join(f'{v * 1000:.0f}' for v in results[tool])}){ratio}")
        if target:
            print(f"  target: {target}")
        self.rows.append((scenario, medians, target))

    def cold(self, label, name, resources, compose_peer=True):
        folder = self.project(name, resources)
        results = {"apphost": [], "raw (docker run)": []}
        if compose_peer and self.engine == "docker":
            results["docker-compose"] = []
        for _ in range(self.runs):
            self.clean(folder, name)
            results["apphost"].append(self.timed([self.apphost, "up", "-d"], cwd=folder))
            self.clean(folder, name)
            results["raw (docker run)"].append(self.timed(["sh", "-c", self.raw_script(name, resources)]))
            if "docker-compose" in results:
                self.clean(folder, name)
                results["docker-compose"].append(self.timed(["sh", "-c", self.compose_script(folder, name, resources)]))
        self.clean(folder, name)
        return results

    # -- scenarios ------------------------------------------------------------------------------

    def scenario1(self):
        resources = {"cache": ("redis", "session")}
        results = self.cold("1", "bench-one", resources)
        self.report("1. one redis, cold, until it answers PING", results, "apphost within 1.2x of the raw floor")

    FIVE = {
        "cache": ("redis", "session"), "sessions": ("valkey", "session"), "garnet": ("garnet", "session"),
        "insight": ("redisinsight", "session"), "commander": ("rediscommander", "session"),
    }

    def scenario2(self):
        results = self.cold("2", "bench-five", self.FIVE)
        self.report("2. five resources, cold, until all answer", results,
                    "apphost at least 2x faster than docker-compose, within 1.3x of the raw floor in parallel")

    def scenario3(self):
        resources = {name: (kind, "persistent") for name, (kind, _) in self.FIVE.items()}
        folder = self.project("bench-again", resources)
        self.clean(folder, "bench-again")
        results = {"apphost": []}
        if self.engine == "docker":
            results["docker-compose"] = []
        self.timed([self.apphost, "up", "-d"], cwd=folder)
        for _ in range(self.runs):
            results["apphost"].append(self.timed([self.apphost, "up", "-d"], cwd=folder))
        self.clean(folder, "bench-again")
        if "docker-compose" in results:
            self.timed(["docker-compose", "-p", "bench-again", "up", "-d"], cwd=folder)
            for _ in range(self.runs):
                results["docker-compose"].append(self.timed(["docker-compose", "-p", "bench-again", "up", "-d"], cwd=folder))
            self.clean(folder, "bench-again")
        self.report("3. up again, nothing changed (five persistent resources)", results,
                    "apphost at least 5x faster than docker-compose")

    def scenario4(self):
        folder = self.project("bench-down", self.FIVE)
        results = {"apphost": [], "docker rm -f": []}
        if self.engine == "docker":
            results["docker-compose"] = []
        names = [f"bench-down-{resource}" for resource in self.FIVE]
        for _ in range(self.runs):
            self.clean(folder, "bench-down")
            self.timed([self.apphost, "up", "-d"], cwd=folder)
            results["apphost"].append(self.timed([self.apphost, "down"], cwd=folder))
            self.timed(["sh", "-c", self.raw_script("bench-down", self.FIVE)])
            results["docker rm -f"].append(self.timed([self.engine, "rm", "-f"] + names))
            if "docker-compose" in results:
                self.timed(["sh", "-c", self.compose_script(folder, "bench-down", self.FIVE)])
                results["docker-compose"].append(self.timed(["docker-compose", "-p", "bench-down", "down"], cwd=folder))
        self.clean(folder, "bench-down")
        self.report("4. down (five resources)", results)

    def scenario5(self):
        writer = ["python3", "-c", "import sys\nw = sys.stdout.write\nfor i in range(1000000): w('line %d\\n' % i)"]
        folder = self.project("bench-lines", {"cache": ("redis", "session")},
                              programs={"writer": writer})
        self.timed([self.apphost, "up", "-d", "cache"], cwd=folder)
        results = {"apphost": [], "direct": [], "apphost up (prefixed)": []}
        output = os.path.join(self.root, "lines.out")
        for _ in range(self.runs):
            for tool, args in (("apphost", [self.apphost, "run", "--"] + writer), ("direct", writer),
                               ("apphost up (prefixed)", [self.apphost, "up", "writer"])):
                with open(output, "w") as handle:
                    start = time.monotonic()
                    result = subprocess.run(args, cwd=folder, env=self.env, stdout=handle, stderr=subprocess.DEVNULL)
                    results[tool].append(time.monotonic() - start)
                lines = [l for l in open(output).read().splitlines() if "line " in l]
                expected_last = "line 999999"
                if len(lines) != 1_000_000 or not lines[-1].endswith(expected_last) or result.returncode != 0:
                    raise SystemExit(f"{tool}: {len(lines)} lines arrived (exit {result.returncode}), expected 1000000")
        self.clean(folder, "bench-lines")
        self.report("5. 1,000,000 lines through apphost run (every line checked)", results,
                    "apphost run within 1.5x of direct, no line lost")

    def scenario6(self):
        programs = {f"worker{n}": ["sh", "-c", f"while true; do echo worker {n}; sleep 0.2; done"] for n in range(3)}
        folder = self.project("bench-memory", self.FIVE, programs=programs)
        self.clean(folder, "bench-memory")
        ours = self.peak_while_running([self.apphost, "up"], folder)
        print("\n6. peak memory (VmHWM) while supervising five resources and three programs")
        print(f"  apphost up             {ours / 1024:8.1f} MiB")
        rows = {"apphost": ours}
        if self.engine == "docker":
            theirs = self.peak_while_running(["docker-compose", "-p", "bench-memory", "up"], folder)
            print(f"  docker-compose up      {theirs / 1024:8.1f} MiB (attached to the five services)")
            rows["docker-compose"] = theirs
        print("  target: apphost under 30 MiB")
        self.rows.append(("6. peak memory (KiB)", rows, "under 30 MiB"))

    def peak_while_running(self, args, folder, seconds=8):
        """Runs a foreground command for a while, stops it with Ctrl-C, returns its VmHWM (KiB)."""
        process = subprocess.Popen(args, cwd=folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        peak = peak_rss(process.pid)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        self.clean(folder, os.path.basename(folder))
        return peak


def peak_rss(pid):
    """VmHWM of a process and its threads, in KiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def shell_quote(word):
    if word and all(c.isalnum() or c in "-_./:=@%+," for c in word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default=os.environ.get("APPHOST_ENGINE", "docker"), choices=["docker", "podman"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--apphost", default=os.environ.get("APPHOST_BIN", ".build/release/apphost"))
    parser.add_argument("scenarios", nargs="*", type=int, default=[1, 2, 3, 4, 5, 6])
    args = parser.parse_args()
    apphost = os.path.abspath(args.apphost)
    root = tempfile.mkdtemp(prefix="apphost-bench-")
    bench = Bench(args.engine, apphost, args.runs, root)
    version = run([apphost, "--version"]).stdout.strip()
    print(f"apphost {version}, engine {args.engine}, {args.runs} runs per tool, alternating; "
          f"images {REGISTRY or 'from their registries'}")
    try:
        for number in args.scenarios:
            getattr(bench, f"scenario{number}")()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
