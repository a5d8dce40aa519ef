using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using ModelContextProtocol.Client;

namespace Osiris.Benchmarks;

/// <summary>
/// Tool-call latency and throughput of <c>read_file</c> and <c>list_dir</c>: OSIRIS over stdio and over Streamable
/// HTTP, side by side with the reference Node server <c>@modelcontextprotocol/server-filesystem</c> over stdio, on
/// the same files, sequential calls after a warm-up, with two clients: the MCP C# SDK (in this process) and the
/// official TypeScript SDK (<c>mcp-client/bench.mjs</c> under Node). The MCP <c>ping</c> request (and the reference
/// server's trivial tool <c>list_allowed_directories</c>) is the baseline: what the client, the transport and the
/// server's dispatch cost with no tool work, so a tool's cost above it is the server's own.
/// Each client's servers are measured in the same run, interleaved in rounds (<c>--rounds</c>, default 10), after a
/// warm-up of <c>--warmup-seconds</c> (default 8) per connection plus <c>--warmup</c> calls (default 100) per tool;
/// the last column divides an OSIRIS row's calls/s by the reference's for the same kind of call and the same client.
/// CPU per call (server process tree, client process) is counted too: on a busy machine it varies far less than calls/s.
/// </summary>
public static class McpBenchmark
{
    private const string Reference = "@modelcontextprotocol/server-filesystem@2026.8.31";
    private const string CSharp = "C# SDK";
    private const string TypeScript = "TS SDK";
    private const string OsirisStdio = "OSIRIS, stdio";
    private const string OsirisHttp = "OSIRIS, Streamable HTTP";
    private const string ReferenceStdio = "reference (Node), stdio";

    /// <summary>
    /// The C# client is pinned to the newest revision with the <c>initialize</c> handshake, the one the TypeScript SDK and
    /// the reference server speak. Unpinned, it probes for 2026-07-28 (no <c>ping</c> there, other per-call metadata) and
    /// falls back after a timeout, so a slow server start would change the protocol under test from run to run.
    /// </summary>
    private static McpClientOptions ClientOptions => new() { ProtocolVersion = "2025-11-25" };

    /// <summary>One measured row; <c>Kind</c> pairs an OSIRIS tool with the reference tool that does the same.</summary>
    private sealed record Row(string Client, string Server, string Tool, string Kind, double P50, double P99, double Rate, string? Note = null)
    {
        /// <summary>CPU time per call of the server's process tree and of the client's process, in µs (Linux /proc).</summary>
        public (double? Server, double? Client) Cpu { get; init; }
    }

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var calls = Math.Max(50, (int)(options.Rate * options.Seconds));
        // Warm-up: every connection first cycles through all its calls for warmup-seconds (.NET's tiered JIT needs several
        // seconds of calls before the hot path runs fully optimised code; V8 tiers up too), then each measured call gets
        // warmup more calls. Too short a warm-up measures the JIT, not the server.
        var warmup = (int)options.Number("warmup", 100);
        var warmupSeconds = options.Number("warmup-seconds", 8);
        var root = Directory.CreateTempSubdirectory("osiris-mcp-bench-").FullName;
        var files = Enumerable.Range(0, 20).Select(i => $"src/file{i:00}.txt").ToList();
        Directory.CreateDirectory(Path.Combine(root, "src"));
        foreach (var file in files)
        {
            await File.WriteAllTextAsync(Path.Combine(root, file), string.Concat(Enumerable.Repeat($"line of {file} with some text\n", 120)));
        }
        var server = Path.Combine(RepositoryRoot(), "Osiris.McpServer", "bin", "Release", "net10.0", "Osiris.McpServer.dll");
        Console.WriteLine($"OSIRIS MCP benchmark: {calls} calls per tool and server after {warmupSeconds} s of warm-up per connection and {warmup} per call, 20 files of " +
                          $"{new FileInfo(Path.Combine(root, files[0])).Length} bytes");

        var osirisCalls = new Measure[]
        {
            new("read_file", "read", files.Select(f => Args(("path", f))).ToList()),
            new("list_dir", "list", [Args(("path", "src"))]),
            Measure.Ping,
        };
        var referenceCalls = new Measure[]
        {
            new("read_text_file", "read", files.Select(f => Args(("path", Path.Combine(root, f)))).ToList()),
            new("list_directory", "list", [Args(("path", Path.Combine(root, "src")))]),
            new("list_allowed_directories", "trivial", [Args()]),
            Measure.Ping,
        };

        var rows = new List<Row>();
        var rounds = (int)Math.Clamp(options.Number("rounds", 10), 1, calls);
        var connected = new List<Connection>();
        Process? http = null;
        try
        {
            connected.Add(new(OsirisStdio, await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = "osiris-stdio", Command = "dotnet", Arguments = [server, "--stdio", "--root", root],
            }), ClientOptions), osirisCalls, ChildPid(command => command.Contains("--stdio"))));

            var port = FreePort();
            http = Process.Start(new ProcessStartInfo("dotnet", [server, "--root", root, "--no-auth", "--urls", $"http://127.0.0.1:{port}"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            })!;
            // Drain the server's logs: an unread pipe would block it once full.
            http.OutputDataReceived += (_, _) => { };
            http.ErrorDataReceived += (_, _) => { };
            http.BeginOutputReadLine();
            http.BeginErrorReadLine();
            await WaitForAsync($"http://127.0.0.1:{port}/alive");
            connected.Add(new(OsirisHttp, await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri($"http://127.0.0.1:{port}/mcp"), TransportMode = HttpTransportMode.StreamableHttp,
            }), ClientOptions), osirisCalls, http.Id));

            try
            {
                connected.Add(new(ReferenceStdio, await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
                {
                    Name = "reference", Command = "npx", Arguments = ["-y", Reference, root],
                }), ClientOptions), referenceCalls, ChildPid(command => command.Contains(Reference))));
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
            {
                rows.Add(new Row(CSharp, ReferenceStdio, "", "", 0, 0, 0, $"not run: {ex.Message} (needs Node.js: apt-get install -y nodejs npm)"));
            }

            rows.InsertRange(0, await MeasureAsync(connected, calls, warmup, warmupSeconds, rounds));
        }
        finally
        {
            foreach (var connection in connected)
            {
                await connection.Client.DisposeAsync();
            }
            http?.Kill(entireProcessTree: true);
            http?.Dispose();
        }

        rows.AddRange(await TypeScriptClientAsync(calls, warmup, warmupSeconds, rounds, [
            (OsirisStdio, "dotnet", [server, "--stdio", "--root", root], osirisCalls),
            (ReferenceStdio, "npx", ["-y", Reference, root], referenceCalls),
        ]));

        Console.WriteLine();
        Console.WriteLine("| client | server | tool | p50 ms | p99 ms | calls/s | server CPU µs/call | client CPU µs/call | OSIRIS / reference |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            if (row.Note is not null)
            {
                Console.WriteLine($"| {row.Client} | {row.Server} | {row.Tool} | {row.Note} | | | | | |");
                continue;
            }
            // The ratio compares the same kind of call (read, list, ping), with the same client, in the same run.
            var baseline = row.Server == ReferenceStdio ? null
                : rows.FirstOrDefault(r => r.Client == row.Client && r.Server == ReferenceStdio && r.Kind == row.Kind && r.Note is null);
            var ratio = baseline is null ? "" : string.Create(CultureInfo.InvariantCulture, $"{row.Rate / baseline.Rate:F2}× (vs {baseline.Tool})");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {row.Client} | {row.Server} | {row.Tool} | {row.P50:F3} | {row.P99:F3} | {row.Rate:F0} | {row.Cpu.Server:F0} | {row.Cpu.Client:F0} | {ratio} |"));
        }
        Directory.Delete(root, recursive: true);
        return 0;
    }

    /// <summary>A tool called with argument sets in turn, or (<see cref="Ping"/>) the MCP ping request.</summary>
    private sealed record Measure(string Tool, string Kind, List<Dictionary<string, object?>> Args)
    {
        public static readonly Measure Ping = new("ping", "ping", []);

        public bool IsPing => Kind == "ping";

        public System.Text.Json.Nodes.JsonNode? ToJsonNode() => IsPing
            ? JsonSerializer.SerializeToNode(new { name = Tool, ping = true })
            : JsonSerializer.SerializeToNode(new { name = Tool, tool = Tool, args = Args });
    }

    private static Dictionary<string, object?> Args(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>One client connected to one server, with the calls measured on it.</summary>
    private sealed record Connection(string Name, McpClient Client, Measure[] Measures, int? Pid);

    /// <summary>
    /// Warms every connection up (all its calls in turn for <paramref name="warmupSeconds"/>, then <paramref name="warmup"/>
    /// more of each), then times <paramref name="calls"/> sequential calls of each in <paramref name="rounds"/> rounds, the
    /// servers taking turns (their order flips each round), so a machine that gets busier or quieter affects all alike.
    /// </summary>
    private static async Task<List<Row>> MeasureAsync(List<Connection> connections, int calls, int warmup, double warmupSeconds, int rounds)
    {
        var timings = new Dictionary<(Connection, Measure), (double[] Latencies, TimeSpan Wall, long? ServerTicks, TimeSpan ClientCpu)>();
        foreach (var connection in connections)
        {
            var warming = Stopwatch.StartNew();
            for (var i = 0; warming.Elapsed.TotalSeconds < warmupSeconds; i++)
            {
                foreach (var measure in connection.Measures)
                {
                    await CallAsync(connection, measure, i);
                }
            }
            foreach (var measure in connection.Measures)
            {
                for (var i = 0; i < warmup; i++)
                {
                    await CallAsync(connection, measure, i);
                }
                timings[(connection, measure)] = (new double[calls], TimeSpan.Zero, 0, TimeSpan.Zero);
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            var (from, to) = (calls * round / rounds, calls * (round + 1) / rounds);
            foreach (var connection in round % 2 == 0 ? connections : Enumerable.Reverse(connections))
            {
                foreach (var measure in connection.Measures)
                {
                    var (latencies, wall, serverTicks, clientCpu) = timings[(connection, measure)];
                    var ticksBefore = TreeCpuTicks(connection.Pid);
                    var clientBefore = ClientCpu();
                    var block = Stopwatch.StartNew();
                    for (var i = from; i < to; i++)
                    {
                        var stopwatch = Stopwatch.StartNew();
                        await CallAsync(connection, measure, i);
                        latencies[i] = stopwatch.Elapsed.TotalMilliseconds;
                    }
                    var elapsed = block.Elapsed;
                    clientCpu += ClientCpu() - clientBefore;
                    serverTicks = TreeCpuTicks(connection.Pid) is { } ticksAfter && ticksBefore is { } before ? serverTicks + ticksAfter - before : null;
                    timings[(connection, measure)] = (latencies, wall + elapsed, serverTicks, clientCpu);
                }
            }
        }

        var rows = new List<Row>();
        foreach (var connection in connections)
        {
            foreach (var measure in connection.Measures)
            {
                var (latencies, wall, serverTicks, clientCpu) = timings[(connection, measure)];
                Array.Sort(latencies);
                rows.Add(new Row(CSharp, connection.Name, measure.Tool, measure.Kind, latencies[calls / 2], latencies[(int)(calls * 0.99)],
                    calls / wall.TotalSeconds) { Cpu = (serverTicks * 10_000.0 / calls, clientCpu.TotalMicroseconds / calls) });
            }
        }
        return rows;
    }

    private static async Task CallAsync(Connection connection, Measure measure, int i)
    {
        if (measure.IsPing)
        {
            await connection.Client.PingAsync();
            return;
        }
        var result = await connection.Client.CallToolAsync(measure.Tool, measure.Args[i % measure.Args.Count]);
        if (result.IsError == true)
        {
            throw new InvalidOperationException($"{connection.Name} {measure.Tool} failed: {string.Join(' ', result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(b => b.Text))}");
        }
    }

    /// <summary>
    /// The same calls made by the official TypeScript SDK client (<c>mcp-client/bench.mjs</c>), measured the same way.
    /// Its packages come from the committed lock file (<c>npm ci</c>, again only when the lock file changed).
    /// </summary>
    private static async Task<List<Row>> TypeScriptClientAsync(int calls, int warmup, double warmupSeconds, int rounds,
        (string Server, string Command, string[] Arguments, Measure[] Measures)[] servers)
    {
        var folder = Path.Combine(RepositoryRoot(), "Osiris.Benchmarks", "mcp-client");
        try
        {
            var version = await RunAsync("node", ["--version"], folder);
            if (version.ExitCode != 0)
            {
                return NotRun($"node --version failed: {version.Error.Trim()}");
            }
            var stamp = Path.Combine(folder, "node_modules", ".osiris-lock-sha256");
            var lockHash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(folder, "package-lock.json"))));
            if (!File.Exists(stamp) || await File.ReadAllTextAsync(stamp) != lockHash)
            {
                Console.WriteLine("Installing the TypeScript client's packages (npm ci) ...");
                var install = await RunAsync("npm", ["ci", "--prefix", folder, "--no-audit", "--no-fund"], folder);
                if (install.ExitCode != 0)
                {
                    return NotRun($"npm ci failed: {Tail(install.Error)}");
                }
                await File.WriteAllTextAsync(stamp, lockHash);
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return NotRun($"{ex.Message}");
        }

        // One Node process runs every server, their timed calls interleaved in rounds; when that fails, OSIRIS alone
        // (so a reference server that cannot start, say offline, costs its rows only).
        var run = await BenchAsync(servers);
        var rows = new List<Row>();
        if (run.ExitCode != 0 && servers.Length > 1)
        {
            rows.Add(new Row(TypeScript, ReferenceStdio, "", "", 0, 0, 0,
                $"failed: the TypeScript client failed (exit {run.ExitCode}): {Tail(run.Error).ReplaceLineEndings(" ")}"));
            servers = servers.Where(s => s.Server != ReferenceStdio).ToArray();
            run = await BenchAsync(servers);
        }
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"The TypeScript client failed against {OsirisStdio} (exit {run.ExitCode}): {Tail(run.Error)}");
        }
        var measured = new List<Row>();
        foreach (var line in run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var result = JsonDocument.Parse(line).RootElement;
            var (server, name) = (result.GetProperty("server").GetString()!, result.GetProperty("name").GetString()!);
            var measure = servers.Single(s => s.Server == server).Measures.First(m => m.Tool == name);
            measured.Add(new Row(TypeScript, server, name, measure.Kind, result.GetProperty("p50Ms").GetDouble(),
                result.GetProperty("p99Ms").GetDouble(), result.GetProperty("callsPerSecond").GetDouble())
            {
                Cpu = (Number(result.GetProperty("serverCpuUs")), Number(result.GetProperty("clientCpuUs"))),
            });
        }
        return [.. measured, .. rows];

        static double? Number(JsonElement value) => value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

        Task<(int ExitCode, string Output, string Error)> BenchAsync((string Server, string Command, string[] Arguments, Measure[] Measures)[] which) =>
            RunAsync("node", [
                Path.Combine(folder, "bench.mjs"), "--calls", calls.ToString(CultureInfo.InvariantCulture),
                "--warmup", warmup.ToString(CultureInfo.InvariantCulture), "--warmup-seconds", warmupSeconds.ToString(CultureInfo.InvariantCulture),
                "--rounds", rounds.ToString(CultureInfo.InvariantCulture),
                .. which.SelectMany(s => new[]
                {
                    "--server", JsonSerializer.Serialize(new { name = s.Server, command = s.Command, args = s.Arguments, measures = s.Measures.Select(m => m.ToJsonNode()) }),
                }),
            ], folder);

        static List<Row> NotRun(string reason) =>
            [new Row(TypeScript, "(all)", "", "", 0, 0, 0, $"not run: {reason.ReplaceLineEndings(" ")} (apt-get install -y nodejs npm)")];
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string command, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    private static string Tail(string text) => text.Length <= 600 ? text.Trim() : "…" + text[^600..].Trim();

    /// <summary>The child process of this one whose command line matches (a stdio server the SDK started).</summary>
    private static int? ChildPid(Func<string, bool> match)
    {
        try
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (match(File.ReadAllText($"/proc/{child}/cmdline").Replace('\0', ' ')))
                    {
                        return int.Parse(child, CultureInfo.InvariantCulture);
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>CPU time (clock ticks, 1/100 s) of a process and its descendants (npx starts the server as a child); null without /proc.</summary>
    private static long? TreeCpuTicks(int? pid)
    {
        if (pid is null)
        {
            return null;
        }
        try
        {
            var fields = File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    ticks += TreeCpuTicks(int.Parse(child, CultureInfo.InvariantCulture)) ?? 0;
                }
            }
            return ticks;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException or FormatException)
        {
            return null;
        }
    }

    private static TimeSpan ClientCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Osiris.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Run the benchmark from the OSIRIS repository.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForAsync(string url)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                if ((await http.GetAsync(url)).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{url} did not answer");
    }
}
