// The mcp benchmark's second client: the official TypeScript SDK (@modelcontextprotocol/sdk) over stdio.
//
// Usage:
//   node bench.mjs [options] --server '<server>' [--server '<server>' ...]
//   node bench.mjs [options] --measure '<spec>' [--measure '<spec>' ...] -- <server command> [args...]
// <server> is JSON: {"name": "osiris", "command": "dotnet", "args": [...], "measures": [<spec>, ...]}.
// <spec> is JSON: {"tool": "read_file", "args": [{"path": "a"}, {"path": "b"}]}  (argument sets are cycled), or
//                 {"ping": true}  (the MCP ping request: client + transport + server dispatch, no tool at all).
//   An optional "name" labels a spec's result.
// Options: --calls N (timed calls per spec, default 1000), --warmup W (extra warm-up calls per spec, default 20),
//   --warmup-seconds S (per server, all its specs in turn, default 0), --rounds R (default 10).
// Every server is started and warmed up (S seconds, so its JIT, .NET's tiers or V8's, reaches its steady state), then
// the timed calls run in R rounds; each round gives every spec of every server N/R sequential calls, the servers taking
// turns (their order flips each round), so a machine that gets busier or quieter affects all servers alike.
// One JSON line per spec on stdout: {"server":..., "name":..., "calls":N, "p50Ms":..., "p99Ms":..., "callsPerSecond":...,
// "serverCpuUs":..., "clientCpuUs":...} (calls/s: the spec's timed calls over the time they took; CPU: microseconds per
// call used by the server's process tree, from /proc on Linux, else null, and by this client process). Exits non-zero,
// with the reason on stderr, when a server cannot be started, or a call throws or returns isError.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { performance } from 'node:perf_hooks';
import { readFileSync, readdirSync } from 'node:fs';

const usage = "usage: node bench.mjs [--calls N] [--warmup W] [--warmup-seconds S] [--rounds R] " +
  "(--server '<json>' ... | --measure '<json>' ... -- <command> [args...])";

function parse(argv) {
  const options = { calls: 1000, warmup: 20, warmupSeconds: 0, rounds: 10, servers: [] };
  const measures = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      const [command, ...args] = argv.slice(i + 1);
      options.servers.push({ name: 'server', command, args, measures });
      break;
    } else if (arg === '--calls') {
      options.calls = Number.parseInt(argv[++i], 10);
    } else if (arg === '--warmup') {
      options.warmup = Number.parseInt(argv[++i], 10);
    } else if (arg === '--warmup-seconds') {
      options.warmupSeconds = Number.parseFloat(argv[++i]);
    } else if (arg === '--rounds') {
      options.rounds = Number.parseInt(argv[++i], 10);
    } else if (arg === '--measure') {
      measures.push(JSON.parse(argv[++i]));
    } else if (arg === '--server') {
      options.servers.push(JSON.parse(argv[++i]));
    } else {
      throw new Error(`unknown argument '${arg}'; ${usage}`);
    }
  }
  if (options.servers.length === 0 || !(options.calls > 0) || !(options.warmup >= 0) || !(options.warmupSeconds >= 0)
    || !(options.rounds >= 1 && options.rounds <= options.calls)) {
    throw new Error(usage);
  }
  for (const server of options.servers) {
    if (typeof server.command !== 'string' || !Array.isArray(server.measures) || server.measures.length === 0) {
      throw new Error(`a server needs a command and measures: ${JSON.stringify(server)}; ${usage}`);
    }
    for (const spec of server.measures) {
      if (!spec.ping && (typeof spec.tool !== 'string' || !Array.isArray(spec.args) || spec.args.length === 0)) {
        throw new Error(`a measure needs {"ping": true} or {"tool": "...", "args": [{...}, ...]}: ${JSON.stringify(spec)}`);
      }
    }
  }
  return options;
}

function call(server, spec, i) {
  if (spec.ping) {
    return server.client.ping();
  }
  return server.client.callTool({ name: spec.tool, arguments: spec.args[i % spec.args.length] }).then((result) => {
    if (result.isError) {
      const text = (result.content ?? []).filter((b) => b.type === 'text').map((b) => b.text).join(' ');
      throw new Error(`${server.name}: ${spec.tool} returned isError: ${text}`);
    }
    return result;
  });
}

/** CPU time (in clock ticks) of a process and its descendants (npx starts the server as a child); null without /proc. */
function treeCpuTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    let ticks = Number(fields[11]) + Number(fields[12]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
        ticks += treeCpuTicks(child) ?? 0;
      }
    }
    return ticks;
  } catch {
    return null;
  }
}

async function connect(server) {
  const transport = new StdioClientTransport({
    command: server.command,
    args: server.args ?? [],
    env: { ...process.env },
    stderr: 'pipe',
  });
  // Drain the server's log (an unread pipe would stall it once full); keep the tail for error messages.
  server.stderrTail = '';
  transport.stderr?.on('data', (chunk) => {
    server.stderrTail = (server.stderrTail + chunk.toString()).slice(-4000);
  });
  server.client = new Client({ name: 'osiris-bench-ts', version: '1.0.0' });
  await server.client.connect(transport);
  server.pid = transport.pid;
}

async function main() {
  const options = parse(process.argv.slice(2));
  const { servers, calls, rounds } = options;
  try {
    for (const server of servers) {
      await connect(server);
      const warmupEnd = performance.now() + options.warmupSeconds * 1000;
      for (let i = 0; performance.now() < warmupEnd; i++) {
        for (const spec of server.measures) {
          await call(server, spec, i);
        }
      }
      for (const spec of server.measures) {
        for (let i = 0; i < options.warmup; i++) {
          await call(server, spec, i);
        }
        spec.latencies = new Float64Array(calls);
        spec.done = 0;
        spec.wallMs = 0;
        spec.serverTicks = 0;
        spec.clientUs = 0;
      }
    }

    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      const until = Math.round((calls * (round + 1)) / rounds);
      for (const server of order) {
        for (const spec of server.measures) {
          const ticksStart = treeCpuTicks(server.pid);
          const clientStart = process.cpuUsage();
          const wallStart = performance.now();
          for (; spec.done < until; spec.done++) {
            const start = performance.now();
            await call(server, spec, spec.done);
            spec.latencies[spec.done] = performance.now() - start;
          }
          spec.wallMs += performance.now() - wallStart;
          const client = process.cpuUsage(clientStart);
          spec.clientUs += client.user + client.system;
          const ticksEnd = treeCpuTicks(server.pid);
          spec.serverTicks = ticksStart === null || ticksEnd === null || spec.serverTicks === null ? null : spec.serverTicks + ticksEnd - ticksStart;
        }
      }
    }

    for (const server of servers) {
      for (const spec of server.measures) {
        spec.latencies.sort();
        const result = {
          server: server.name,
          name: spec.name ?? (spec.ping ? 'ping' : spec.tool),
          calls,
          p50Ms: spec.latencies[Math.floor(calls / 2)],
          p99Ms: spec.latencies[Math.min(calls - 1, Math.floor(calls * 0.99))],
          callsPerSecond: calls / (spec.wallMs / 1000),
          // Linux clock ticks are 1/100 s (USER_HZ); rounds of ≥ 100 calls keep the error a few µs per call.
          serverCpuUs: spec.serverTicks === null ? null : (spec.serverTicks * 10_000) / calls,
          clientCpuUs: spec.clientUs / calls,
        };
        process.stdout.write(JSON.stringify(result) + '\n');
      }
    }
  } catch (error) {
    for (const server of servers) {
      if (server.stderrTail) {
        process.stderr.write(`${server.name} stderr (tail):\n${server.stderrTail}\n`);
      }
    }
    throw error;
  } finally {
    for (const server of servers) {
      await server.client?.close().catch(() => {});
    }
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`bench.mjs: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
