#!/usr/bin/env python3
"""apphost against its peers, in one run on one machine and engine (see BENCHMARKS.md).

Each scenario runs several times, alternating the tools; the report gives the median of each and the
ratio of apphost to each peer. Run it through scripts/bench, which starts the engine, builds the
stand-in images and a release build of apphost.

Scenarios (every peer finds its containers' ports with `ENGINE port` and polls them with the same shell
loop; docker-compose names its containers as the raw peer does):
  1  one redis, cold: apphost up -d until ready / docker run -d + a shell loop polling PING /
     docker-compose up -d + the same loop
  2  five resources (redis, valkey, garnet, redisinsight, rediscommander), cold: the same three ways
     (the raw floor starts the five containers in parallel)
  3  up again with nothing changed (persistent containers), until all answer: apphost up -d /
     docker-compose up -d + the same loop
  4  down: apphost down / docker rm -f of the same containers / docker-compose down
  5  a program writing 1,000,000 lines: through apphost run / directly (and through a foreground
     apphost up, which prefixes every line); every line must arrive
  6  peak memory of a foreground apphost up supervising scenario 2 plus three programs, and of
     docker-compose up attached to the same five services: the whole process tree (apphost's
     `docker logs --follow` children included, the user's programs not), PSS and RSS summed

  7  everyday commands, with the five persistent resources of scenario 3 running: apphost ps / the
     engine's own `ps` for the same containers; a no-op apphost up -d / that engine ps; apphost --version
     (time and peak RSS) / `ENGINE --version`

`--engine all` runs every scenario on docker, then on podman, in one run.

Targets are ratios to a peer measured in the same run; --check exits 1 when one is missed.
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
        self.targets = []
        self.raw = f"raw ({engine} run)"

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
            services.append(self.compose_service(name, resource, kind))
        for program, command in (programs or {}).items():
            manifest[program] = {"type": "executable", "command": command[0], "args": command[1:]}
        with open(os.path.join(folder, "apphost.json"), "w") as handle:
            json.dump({"name": name, "resources": manifest}, handle, indent=2)
        with open(os.path.join(folder, "docker-compose.yml"), "w") as handle:
            handle.write("services:\n" + "".join(services))
        return folder

    def compose_service(self, name, resource, kind):
        spec = KINDS[kind]
        # The raw peer's container name, so that both peers find the port with the same `docker port`.
        text = f"  {resource}:\n    image: \"{IMAGES[kind]}\"\n    container_name: \"{name}-{resource}\"\n"
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
        lines += self.poll_lines(name, resources)
        return "\n".join(lines)

    def poll_lines(self, name, resources):
        """Finds each container's port with `ENGINE port` and polls it until it answers, all in parallel:
        the same lines for every peer."""
        lines = []
        for resource, (kind, _) in resources.items():
            port = f"$({self.engine} port {name}-{resource} {KINDS[kind]['port']}/tcp | head -1 | cut -d: -f2)"
            lines.append(self.poll_line(port, kind) + " &")
        lines.append("wait")
        return lines

    def poll_line(self, port, kind):
        spec = KINDS[kind]
        if "path" in spec:
            check = f"wget -q -O /dev/null http://127.0.0.1:$p{spec['path']}"
        else:
            check = f"redis-cli -p $p -a {PASSWORD} --no-auth-warning ping 2>/dev/null | grep -q PONG"
        return f"(p={port}; until {check}; do sleep 0.01; done)"

    def compose_script(self, folder, name, resources):
        lines = ["set -e", f"cd {shell_quote(folder)}", f"docker-compose -p {name} up -d >/dev/null 2>&1"]
        lines += self.poll_lines(name, resources)
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

    def report(self, scenario, results, targets=(), baseline=None):
        """Medians, and each tool's ratio: apphost's to each peer, or (with `baseline`) each other tool's
        to the baseline."""
        medians = {tool: statistics.median(values) for tool, values in results.items()}
        ours = medians.get("apphost")
        print(f"\n{scenario}")
        for tool, median in medians.items():
            if baseline and tool not in ("apphost", baseline) or ours is None and tool != baseline:
                ratio = f"  {tool}/{baseline} = {median / medians[baseline]:.2f}x"
            else:
                ratio = "" if tool == "apphost" or ours is None else f"  apphost/{tool} = {ours / median:.2f}x"
            print(f"  {tool:<22} median {median * 1000:8.1f} ms  (runs: {', '.join(f'{v * 1000:.0f}' for v in results[tool])}){ratio}")
        self.check_targets(scenario, medians, targets)

    def check_targets(self, scenario, medians, targets):
        """Each target is (what it says, peer, the largest ratio apphost/peer that meets it): a ratio to a
        peer measured in this run, never an absolute figure."""
        for text, peer, largest, *tool in targets:
            ours = tool[0] if tool else "apphost"
            if peer not in medians:
                print(f"  target: {text}: not measured here (no {peer} on {self.engine})")
                self.targets.append((scenario, text, None))
                continue
            ratio = medians[ours] / medians[peer]
            met = ratio <= largest
            print(f"  target: {text}: {ours}/{peer} = {ratio:.2f}x, {'met' if met else 'MISSED'} (at most {largest:.2f}x)")
            self.targets.append((scenario, text, met))

    def cold(self, label, name, resources, compose_peer=True):
        folder = self.project(name, resources)
        results = {"apphost": [], self.raw: []}
        if compose_peer and self.engine == "docker":
            results["docker-compose"] = []
        for _ in range(self.runs):
            self.clean(folder, name)
            results["apphost"].append(self.timed([self.apphost, "up", "-d"], cwd=folder))
            self.clean(folder, name)
            results[self.raw].append(self.timed(["sh", "-c", self.raw_script(name, resources)]))
            if "docker-compose" in results:
                self.clean(folder, name)
                results["docker-compose"].append(self.timed(["sh", "-c", self.compose_script(folder, name, resources)]))
        self.clean(folder, name)
        return results

    # -- scenarios ------------------------------------------------------------------------------

    def scenario1(self):
        resources = {"cache": ("redis", "session")}
        results = self.cold("1", "bench-one", resources)
        self.report("1. one redis, cold, until it answers PING", results,
                    [("within 1.2x of the raw floor", self.raw, 1.2)])

    FIVE = {
        "cache": ("redis", "session"), "sessions": ("valkey", "session"), "garnet": ("garnet", "session"),
        "insight": ("redisinsight", "session"), "commander": ("rediscommander", "session"),
    }

    def scenario2(self):
        results = self.cold("2", "bench-five", self.FIVE)
        self.report("2. five resources, cold, until all answer", results,
                    [("at least 2x faster than docker-compose", "docker-compose", 0.5),
                     ("within 1.3x of the raw floor in parallel", self.raw, 1.3)])

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
            # Like apphost up -d, the peer returns once every container answers: up -d, then the poll.
            again = ["sh", "-c", self.compose_script(folder, "bench-again", resources)]
            self.timed(again)
            for _ in range(self.runs):
                results["docker-compose"].append(self.timed(again))
            self.clean(folder, "bench-again")
        self.report("3. up again, nothing changed (five persistent resources), until all answer", results,
                    [("at least 5x faster than docker-compose", "docker-compose", 0.2)])

    def scenario4(self):
        folder = self.project("bench-down", self.FIVE)
        results = {"apphost": [], f"{self.engine} rm -f": []}
        if self.engine == "docker":
            results["docker-compose"] = []
        names = [f"bench-down-{resource}" for resource in self.FIVE]
        for _ in range(self.runs):
            self.clean(folder, "bench-down")
            self.timed([self.apphost, "up", "-d"], cwd=folder)
            results["apphost"].append(self.timed([self.apphost, "down"], cwd=folder))
            self.timed(["sh", "-c", self.raw_script("bench-down", self.FIVE)])
            results[f"{self.engine} rm -f"].append(self.timed([self.engine, "rm", "-f"] + names))
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
                    [("apphost run within 1.5x of direct (no line lost: checked above)", "direct", 1.5)],
                    baseline="direct")

    def scenario6(self):
        programs = {f"worker{n}": ["sh", "-c", f"while true; do echo worker {n}; sleep 0.2; done"] for n in range(3)}
        folder = self.project("bench-memory", self.FIVE, programs=programs)
        self.clean(folder, "bench-memory")
        print("\n6. peak memory while supervising five resources (apphost also three programs): the whole process")
        print("   tree, sampled every 100 ms: PSS (shared pages divided among their users) and RSS, summed")
        ours = self.peak_while_running([self.apphost, "up"], folder)
        rows = {"apphost": ours}
        if self.engine == "docker":
            rows["docker-compose"] = self.peak_while_running(["docker-compose", "-p", "bench-memory", "up"], folder)
        for tool, peak in rows.items():
            print(f"  {tool + ' up':<22} PSS {peak['pss'] / 1024:7.1f} MiB, RSS {peak['rss'] / 1024:7.1f} MiB, "
                  f"{peak['processes']} processes at most ({peak['main'] / 1024:.1f} MiB VmHWM of the {tool} process "
                  f"itself){' without the programs it runs' if tool == 'apphost' else ''}")
        medians = {tool: peak["pss"] for tool, peak in rows.items()}
        if "docker-compose" in medians:
            print(f"  apphost/docker-compose = {medians['apphost'] / medians['docker-compose']:.2f}x (PSS)")
        self.check_targets("6. peak memory (PSS of the process tree)", medians,
                           [("no more memory than docker-compose attached to the same five", "docker-compose", 1.0)])

    def scenario7(self):
        resources = {name: (kind, "persistent") for name, (kind, _) in self.FIVE.items()}
        folder = self.project("bench-everyday", resources)
        self.clean(folder, "bench-everyday")
        self.timed([self.apphost, "up", "-d"], cwd=folder)
        engine_ps = [self.engine, "ps", "--all", "--filter", "label=apphost.project=bench-everyday"]
        # Warm both (the first up -d after a start learns that the network is there).
        for args in ([self.apphost, "up", "-d"], [self.apphost, "ps"], engine_ps):
            self.timed(args, cwd=folder)
        runs = max(self.runs, 15)
        results = {"apphost ps": [], "apphost up -d (no-op)": [], f"{self.engine} ps": []}
        for _ in range(runs):
            results["apphost ps"].append(self.timed([self.apphost, "ps"], cwd=folder))
            results[f"{self.engine} ps"].append(self.timed(engine_ps, cwd=folder))
            results["apphost up -d (no-op)"].append(self.timed([self.apphost, "up", "-d"], cwd=folder))
        self.clean(folder, "bench-everyday")
        self.report("7a. everyday commands (five persistent resources running)", results,
                    [("apphost ps within 1.5x of the engine's ps", f"{self.engine} ps", 1.5, "apphost ps"),
                     ("no-op up -d within 2x of one engine ps", f"{self.engine} ps", 2.0, "apphost up -d (no-op)")],
                    baseline=f"{self.engine} ps")
        version = {"apphost --version": [], f"{self.engine} --version": []}
        memory = {"apphost --version": [], f"{self.engine} --version": []}
        for _ in range(runs):
            for tool, args in (("apphost --version", [self.apphost, "--version"]),
                               (f"{self.engine} --version", [self.engine, "--version"])):
                elapsed, rss = timed_with_rss(args, self.env)
                version[tool].append(elapsed)
                memory[tool].append(rss)
        self.report("7b. --version", version, baseline=f"{self.engine} --version")
        for tool, values in memory.items():
            print(f"  {tool:<24} peak RSS {statistics.median(values) / 1024:.1f} MiB (median)")
        medians = {tool: statistics.median(values) for tool, values in version.items()}
        print(f"  apphost --version: {medians['apphost --version'] * 1000:.1f} ms, "
              f"{statistics.median(memory['apphost --version']) / 1024:.1f} MiB (targets: 10 ms, 12 MiB)")
        self.targets.append(("7b. --version", "in 10 ms", medians["apphost --version"] <= 0.010))
        self.targets.append(("7b. --version", "in 12 MiB",
                             statistics.median(memory["apphost --version"]) <= 12 * 1024))

    def peak_while_running(self, args, folder, seconds=8):
        """Runs a foreground command for a while, stops it with Ctrl-C; returns the peak over samples of
        the PSS and RSS (KiB) summed over the command and every process under it, except the programs
        apphost runs for the user (they carry APPHOST_OWNER; the peer runs none)."""
        process = subprocess.Popen(args, cwd=folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = {"pss": 0, "rss": 0, "processes": 0, "main": 0}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pss = rss = 0
            tree = process_tree(process.pid)
            for pid in tree:
                memory = process_memory(pid)
                pss += memory["pss"]
                rss += memory["rss"]
            peak["pss"] = max(peak["pss"], pss)
            peak["rss"] = max(peak["rss"], rss)
            peak["processes"] = max(peak["processes"], len(tree))
            time.sleep(0.1)
        peak["main"] = process_memory(process.pid)["hwm"]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        self.clean(folder, os.path.basename(folder))
        return peak


def timed_with_rss(args, env):
    """Wall time (s) of one command, from the start of the process to its exit, and its peak RSS (KiB).

    The RSS is GNU time's (/usr/bin/time, Debian's `time`), which forks the command from a process of about
    1 MiB: a child of this Python process inherits Python's own resident set (about 14 to 20 MiB) as its
    peak at exec, so wait4's figure would read Python's, whatever the command (DECISIONS.md, 2026-12-06).
    """
    start = time.monotonic()
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, _ = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)} (exit {process.returncode})")
    if not os.access("/usr/bin/time", os.X_OK):
        raise SystemExit("the memory figures need GNU time: apt-get install time")
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M"] + args, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rss = int(report.read().strip().splitlines()[-1])
    return elapsed, rss


def process_tree(root):
    """`root` and its descendants, without the user's programs (APPHOST_OWNER in their environment)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        if pid != root and is_program(pid):
            continue
        tree.append(pid)
        queue += children.get(pid, [])
    return tree


def is_program(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return any(item.startswith(b"APPHOST_OWNER=") for item in handle.read().split(b"\0"))
    except OSError:
        return False


def process_memory(pid):
    """PSS and RSS now, and VmHWM, of one process, in KiB (0 for a process that has gone)."""
    memory = {"pss": 0, "rss": 0, "hwm": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    memory["pss"] = int(line.split()[1])
                elif line.startswith("Rss:"):
                    memory["rss"] = int(line.split()[1])
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    memory["hwm"] = int(line.split()[1])
    except OSError:
        pass
    return memory


def shell_quote(word):
    if word and all(c.isalnum() or c in "-_./:=@%+," for c in word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default=os.environ.get("APPHOST_ENGINE", "docker"),
                        choices=["docker", "podman", "all"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--apphost", default=os.environ.get("APPHOST_BIN", ".build/release/apphost"))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a target is missed (a target whose peer is not measured is not a miss)")
    parser.add_argument("scenarios", nargs="*", type=int, default=[1, 2, 3, 4, 5, 6, 7])
    args = parser.parse_args()
    apphost = os.path.abspath(args.apphost)
    root = tempfile.mkdtemp(prefix="apphost-bench-")
    engines = ["docker", "podman"] if args.engine == "all" else [args.engine]
    targets = []
    version = run([apphost, "--version"]).stdout.strip()
    try:
        for engine in engines:
            bench = Bench(engine, apphost, args.runs, root)
            print(f"\n=== apphost {version}, engine {engine}, {args.runs} runs per tool, alternating; "
                  f"images {REGISTRY or 'from their registries'}")
            for number in args.scenarios:
                getattr(bench, f"scenario{number}")()
            targets += [(f"{engine} {scenario}", text, met) for scenario, text, met in bench.targets]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    missed = [(scenario, text) for scenario, text, met in targets if met is False]
    met = sum(1 for _, _, ok in targets if ok)
    unmeasured = sum(1 for _, _, ok in targets if ok is None)
    print(f"\ntargets: {met} met, {len(missed)} missed, {unmeasured} not measured")
    for scenario, text in missed:
        print(f"  MISSED: {scenario.split('.')[0]}: {text}")
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
