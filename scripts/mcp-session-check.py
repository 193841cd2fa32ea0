#!/usr/bin/env python3
"""A real MCP client session with `apphost mcp` over stdio (the `mcp` package from PyPI), for
Tests/IntegrationTests/MCPTests.swift.

    scripts/mcp-session-check.py APPHOST_BINARY PROJECT_FOLDER

The project must be running (`apphost up -d`) with a cache `cache` (its password from apphost) and a
program `api` that prints `hello from api` and references the cache. MCP_TEST_PASSWORD is the cache's
password and REDIS_URL its URL: this script fills the cache first (1000 keys `key:N`, 10 expiring keys
`ttl:N`, a 200000-byte string `big`, a hash `profile`, a list `queue`, and `leak`, whose value is the
password), and sends commands while cache_monitor watches. No reply may contain the password, except
the one to `environment` with reveal=true. MCP_TEST_SERVER_ENV: a JSON object of variables to set
(null: remove) in the server's environment.

Prints one line per check; exits 1 naming the first failed check.
"""

import asyncio
import json
import os
import sys
import threading
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BINARY, FOLDER = sys.argv[1], sys.argv[2]
PASSWORD = os.environ["MCP_TEST_PASSWORD"]
KEYS = 1000
REPLY_BOUND = 256 * 1024
checks = 0


def check(condition, what, detail=""):
    global checks
    checks += 1
    if not condition:
        print(f"FAILED: {what}\n{detail}"[:4000], flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def server(*extra):
    # The server gets this environment without the test's own secret variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_TEST_") and k != "REDIS_URL"}
    for name, value in json.loads(os.environ.get("MCP_TEST_SERVER_ENV", "{}")).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return StdioServerParameters(
        command=BINARY, args=["mcp", "-f", os.path.join(FOLDER, "apphost.json"), *extra], env=env, cwd=FOLDER)


async def call(session, name, arguments=None, *, error=False, secret_allowed=False):
    result = await session.call_tool(name, arguments or {})
    text = "".join(part.text for part in result.content if part.type == "text")
    check(bool(result.is_error) == error, f"{name} {json.dumps(arguments or {})} isError={error}", text[:2000])
    check(len(text.encode()) <= REPLY_BOUND, f"{name}: reply within {REPLY_BOUND} bytes", str(len(text.encode())))
    if not secret_allowed:
        check(PASSWORD not in text, f"{name}: the password is not in the reply", text[:2000])
    return text


def seed():
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    pipe = client.pipeline()
    for i in range(1, KEYS + 1):
        pipe.set(f"key:{i}", f"value-{i}")
    for i in range(1, 11):
        pipe.set(f"ttl:{i}", "x", ex=3600)
    pipe.set("big", "b" * 200000)
    pipe.hset("profile", mapping={"name": "ada", "lang": "swift"})
    pipe.rpush("queue", *[f"job-{i}" for i in range(300)])
    pipe.set("leak", PASSWORD)
    pipe.execute()
    # Every command into the slow log from now on.
    client.config_set("slowlog-log-slower-than", 0)
    client.get("key:1")
    client.close()


def traffic(stop):
    """Commands for cache_monitor to see, with the password in them: AUTH, a value, HELLO AUTH."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    while not stop.is_set():
        client.execute_command("AUTH", PASSWORD)
        client.set("monitored", PASSWORD)
        client.execute_command("HELLO", "2", "AUTH", "default", PASSWORD)
        client.get("monitored")
        time.sleep(0.05)
    client.close()


async def read_only_session():
    async with stdio_client(server()) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "apphost", "the server says it is apphost", str(init.server_info))
            check(PASSWORD not in (init.instructions or ""), "instructions carry no secret")

            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            steering = {"restart", "stop", "start"}
            expected = {"resources", "environment", "logs", "wait", "cache_info", "cache_stats", "cache_scan",
                        "cache_get", "cache_slowlog", "cache_monitor"} | steering
            check(set(tools) == expected, "tools without --allow-write", str(sorted(tools)))
            for tool in tools.values():
                check("at most" in tool.description, f"{tool.name}'s description states its bound", tool.description)
                check(tool.annotations is not None and tool.annotations.read_only_hint is (tool.name not in steering),
                      f"{tool.name} is marked read-only, or as changing what runs")

            # resources
            rows = json.loads(await call(session, "resources"))
            by_name = {row["name"]: row for row in rows}
            check(by_name["cache"]["state"] == "running" and by_name["cache"]["health"] == "healthy",
                  "resources: the cache runs and is healthy", str(rows))
            check(by_name["cache"]["endpoint"].startswith("127.0.0.1:"), "resources: the cache's endpoint")
            check(by_name["api"]["state"] == "running" and by_name["api"]["pid"] > 0, "resources: the program runs")
            await call(session, "resources", {"verbose": True}, error=True)

            # environment
            env = json.loads(await call(session, "environment", {"name": "api"}))
            check(env["CACHE_PASSWORD"] == "********", "environment: the password is masked", str(env))
            check("********" in env["REDIS_URL"] and env["CACHE_HOST"] == "127.0.0.1",
                  "environment: REDIS_URL masked, the rest as it is", str(env))
            revealed = json.loads(await call(session, "environment", {"name": "api", "reveal": True},
                                             secret_allowed=True))
            check(revealed["CACHE_PASSWORD"] == PASSWORD, "environment reveal=true shows the password")
            cache_env = json.loads(await call(session, "environment", {"name": "cache"}))
            check(cache_env["CACHE_PASSWORD"] == "********", "environment of a cache: masked too")
            text = await call(session, "environment", {"name": "nosuch"}, error=True)
            check("nosuch" in text, "environment: an unknown name is named", text)

            # logs
            text = await call(session, "logs", {"name": "cache"})
            check("Ready to accept connections" in text and text.count("cache | ") <= 100,
                  "logs: the cache's output", text[:2000])
            text = await call(session, "logs", {"name": "cache", "lines": 3})
            check(text.count("cache | ") == 3, "logs lines=3: three lines", text)
            text = await call(session, "logs", {"name": "cache", "since": "1h"})
            check("Ready to accept connections" in text, "logs since=1h: the start is in the last hour", text[:2000])
            text = await call(session, "logs", {"name": "cache", "since": "2099-01-01T00:00:00Z"})
            check("cache | " not in text and "no lines" in text, "logs since a future time: nothing", text)
            text = await call(session, "logs", {"name": "api"})
            check("api | hello from api" in text, "logs of a program", text[:2000])
            text = await call(session, "logs", {"name": "api", "lines": 1000, "maxBytes": 1024})
            check(len(text.encode()) <= 1024 and "truncated" in text, "logs maxBytes=1024: cut, with a note", text)
            text = await call(session, "logs", {"name": "api", "since": "2099-01-01T00:00:00Z"})
            check("api | " not in text, "logs of a program since a future time: nothing", text)
            await call(session, "logs", {"name": "cache", "since": "yesterday"}, error=True)

            # wait
            waited = json.loads(await call(session, "wait", {"names": ["cache", "api"], "timeout": 20}))
            check(waited["ready"] is True and {r["name"] for r in waited["resources"]} == {"cache", "api"},
                  "wait: both ready", str(waited))
            await call(session, "wait", {"names": ["nosuch"]}, error=True)

            # cache_info
            text = await call(session, "cache_info", {"section": "memory"})
            check("used_memory:" in text and "# Memory" in text, "cache_info memory", text[:2000])
            text = await call(session, "cache_info", {"cache": "cache"})
            check("# Server" in text and "# Keyspace" in text, "cache_info: every section", text[:500])
            await call(session, "cache_info", {"section": "memory\r\nFLUSHALL"}, error=True)

            # cache_stats
            stats = json.loads(await call(session, "cache_stats"))
            total = KEYS + 10 + 4
            check(stats["keys"] >= total and stats["keyspace"]["db0"]["keys"] == stats["keys"],
                  "cache_stats: the key count", str(stats))
            check(stats["keyspace"]["db0"]["expires"] == 10 and "used_memory_human" in stats["memory"],
                  "cache_stats: expiring keys and memory", str(stats))

            # cache_scan
            sample = json.loads(await call(session, "cache_scan", {"limit": 20}))
            check(len(sample["keys"]) == 20 and sample["complete"] is False, "cache_scan limit=20", str(sample))
            check(all(entry["type"] and isinstance(entry["ttlMs"], int) for entry in sample["keys"]),
                  "cache_scan: types and TTLs", str(sample))
            ttl = json.loads(await call(session, "cache_scan", {"match": "ttl:*", "limit": 500}))
            check(len(ttl["keys"]) == 10 and all(entry["ttlMs"] > 0 for entry in ttl["keys"])
                  and ttl["complete"] is True, "cache_scan match=ttl:*: every expiring key", str(ttl))
            hashes = json.loads(await call(session, "cache_scan", {"type": "hash"}))
            check([entry["key"] for entry in hashes["keys"]] == ["profile"], "cache_scan type=hash", str(hashes))
            capped = json.loads(await call(session, "cache_scan", {"limit": 100000}))
            check(len(capped["keys"]) == 500, "cache_scan: limit capped at 500", str(len(capped["keys"])))

            # cache_get
            big = json.loads(await call(session, "cache_get", {"key": "big"}))
            check(big["size"] == 200000 and len(big["value"]) == 4096 and big["truncated"] is True,
                  "cache_get: a large string is capped at 4096 bytes", str(big)[:500])
            small = json.loads(await call(session, "cache_get", {"key": "key:1", "maxBytes": 100}))
            check(small["value"] == "value-1" and small["truncated"] is False and small["ttlMs"] == -1,
                  "cache_get: a small string", str(small))
            profile = json.loads(await call(session, "cache_get", {"key": "profile"}))
            check(profile["type"] == "hash" and ["name", "ada"] in profile["elements"], "cache_get: a hash",
                  str(profile))
            queue = json.loads(await call(session, "cache_get", {"key": "queue"}))
            check(queue["type"] == "list" and queue["size"] == 300 and len(queue["elements"]) == 100
                  and queue["truncated"] is True, "cache_get: a list, its first 100", str(queue)[:500])
            leak = json.loads(await call(session, "cache_get", {"key": "leak"}))
            check(leak["value"] == "********", "cache_get: a value that is the password is masked", str(leak))
            await call(session, "cache_get", {"key": "nosuch"}, error=True)
            await call(session, "cache_get", {}, error=True)

            # cache_slowlog
            slow = json.loads(await call(session, "cache_slowlog", {"count": 5}))
            check(0 < len(slow) <= 5 and all("command" in entry and "microseconds" in entry for entry in slow),
                  "cache_slowlog count=5", str(slow)[:2000])

            # cache_monitor, with traffic that carries the password
            stop = threading.Event()
            sender = threading.Thread(target=traffic, args=(stop,))
            sender.start()
            try:
                text = await call(session, "cache_monitor", {"seconds": 2, "maxLines": 40})
            finally:
                stop.set()
                sender.join()
            lines = text.splitlines()
            check(len(lines) - 1 == 40 and "stopped at maxLines 40" in lines[0], "cache_monitor maxLines=40",
                  text[:3000])
            check('"SET" "monitored" "********"' in text, "cache_monitor: a value that is the password is masked",
                  text[:3000])
            check('"get" "monitored"' in text.lower(), "cache_monitor: commands are shown", text[:3000])
            started = time.monotonic()
            text = await call(session, "cache_monitor", {"seconds": 1})
            check(time.monotonic() - started < 6, "cache_monitor seconds=1 returns in time", text[:500])

            # cache_command is not offered
            text = await call(session, "cache_command", {"command": ["FLUSHALL"]}, error=True)
            check("--allow-write" in text, "cache_command without --allow-write: refused, naming the flag", text)

            # restart, stop, start through the control socket
            before = {row["name"]: row for row in json.loads(await call(session, "resources"))}
            done = json.loads(await call(session, "restart", {"names": ["api"]}))
            check(done == {"restarted": ["api"]}, "restart api", str(done))
            after = {row["name"]: row for row in json.loads(await call(session, "resources"))}
            check(after["api"]["state"] == "running" and after["api"]["pid"] != before["api"]["pid"],
                  "restart: the program runs with a new pid", f"{before['api']} -> {after['api']}")
            check(after["cache"].get("pid") == before["cache"].get("pid") and after["cache"]["health"] == "healthy",
                  "restart api: the cache is left alone", str(after["cache"]))
            done = json.loads(await call(session, "stop", {"names": ["api"]}))
            check(done == {"stopped": ["api"]}, "stop api", str(done))
            stopped = {row["name"]: row for row in json.loads(await call(session, "resources"))}
            check(stopped["api"]["state"] != "running", "stop: the program no longer runs", str(stopped["api"]))
            text = await call(session, "wait", {"names": ["api"], "timeout": 1}, error=True)
            check("not ready" in text and "api" in text, "wait on a stopped program: an error naming it", text)
            done = json.loads(await call(session, "start", {"names": ["api"]}))
            check(done == {"started": ["api"]}, "start api", str(done))
            started = {row["name"]: row for row in json.loads(await call(session, "resources"))}
            check(started["api"]["state"] == "running", "start: the program runs again", str(started["api"]))
            done = json.loads(await call(session, "restart", {"names": ["cache"]}))
            check(done == {"restarted": ["cache"]}, "restart cache", str(done))
            waited = json.loads(await call(session, "wait", {"names": ["cache"], "timeout": 30}))
            check(waited["ready"] is True, "the restarted cache answers", str(waited))
            text = await call(session, "restart", {"names": ["nosuch"]}, error=True)
            check("nosuch" in text, "restart of an unknown resource: an error naming it", text)
            await call(session, "stop", {"names": []}, error=True)

            # MCP resources
            listed = {resource.uri for resource in (await session.list_resources()).resources}
            check(listed == {"apphost://manifest", "apphost://plan", "apphost://docs/manifest-reference"},
                  "resources/list", str(listed))
            for uri in sorted(listed):
                contents = (await session.read_resource(uri)).contents
                text = "".join(getattr(part, "text", "") for part in contents)
                check(PASSWORD not in text and len(text.encode()) <= REPLY_BOUND, f"{uri}: bounded, no password")
                if uri == "apphost://plan":
                    check(any(r["name"] == "cache" for r in json.loads(text)["resources"]), "plan: config --json")
                elif uri == "apphost://manifest":
                    check('"api"' in text and '"cache"' in text, "manifest: the file")
                else:
                    check(text.startswith("## Manifest reference"), "manifest reference: the README's section")


async def write_session():
    async with stdio_client(server("--allow-write")) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            check("cache_command" in tools and tools["cache_command"].annotations.read_only_hint is False,
                  "--allow-write offers cache_command, marked as writing")
            text = await call(session, "cache_command", {"command": ["SET", "written", "by-mcp"]})
            check(text.strip() == "OK", "cache_command SET", text)
            text = await call(session, "cache_command", {"command": ["GET", "written"]})
            check(text.strip() == '"by-mcp"', "cache_command GET", text)
            text = await call(session, "cache_command", {"command": ["CONFIG", "GET", "requirepass"]})
            check("requirepass" in text and "********" in text, "CONFIG GET requirepass: masked", text)
            await call(session, "cache_command", {"command": ["MONITOR"]}, error=True)


seed()
asyncio.run(read_only_session())
asyncio.run(write_session())
print(f"mcp-session-check: all {checks} checks held", flush=True)
