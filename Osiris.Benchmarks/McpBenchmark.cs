using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ModelContextProtocol.Client;

namespace Osiris.Benchmarks;

/// <summary>
/// Tool-call latency and throughput of <c>read_file</c> and <c>list_dir</c>: OSIRIS over stdio and over Streamable
/// HTTP, side by side with the reference Node server <c>@modelcontextprotocol/server-filesystem</c> over stdio, on
/// the same files, with the same client (the MCP C# SDK), sequential calls after a warm-up.
/// </summary>
public static class McpBenchmark
{
    private const string Reference = "@modelcontextprotocol/server-filesystem@2026.8.31";

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var calls = Math.Max(50, (int)(options.Rate * options.Seconds));
        var root = Directory.CreateTempSubdirectory("osiris-mcp-bench-").FullName;
        var files = Enumerable.Range(0, 20).Select(i => $"src/file{i:00}.txt").ToList();
        Directory.CreateDirectory(Path.Combine(root, "src"));
        foreach (var file in files)
        {
            await File.WriteAllTextAsync(Path.Combine(root, file), string.Concat(Enumerable.Repeat($"line of {file} with some text\n", 120)));
        }
        var server = Path.Combine(RepositoryRoot(), "Osiris.McpServer", "bin", "Release", "net10.0", "Osiris.McpServer.dll");
        Console.WriteLine($"OSIRIS MCP benchmark: {calls} calls per tool and server, 20 files of {new FileInfo(Path.Combine(root, files[0])).Length} bytes");

        var rows = new List<string>();
        await using (var stdio = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "osiris-stdio", Command = "dotnet", Arguments = [server, "--stdio", "--root", root],
        })))
        {
            rows.AddRange(await MeasureAsync("OSIRIS, stdio", stdio, calls, i => ("read_file", new() { ["path"] = files[i % files.Count] }),
                _ => ("list_dir", new() { ["path"] = "src" })));
        }

        var port = FreePort();
        using (var http = Process.Start(new ProcessStartInfo("dotnet", [server, "--root", root, "--no-auth", "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!)
        {
            // Drain the server's logs: an unread pipe would block it once full.
            http.OutputDataReceived += (_, _) => { };
            http.ErrorDataReceived += (_, _) => { };
            http.BeginOutputReadLine();
            http.BeginErrorReadLine();
            await WaitForAsync($"http://127.0.0.1:{port}/alive");
            await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri($"http://127.0.0.1:{port}/mcp"), TransportMode = HttpTransportMode.StreamableHttp,
            }));
            rows.AddRange(await MeasureAsync("OSIRIS, Streamable HTTP", client, calls, i => ("read_file", new() { ["path"] = files[i % files.Count] }),
                _ => ("list_dir", new() { ["path"] = "src" })));
            http.Kill(entireProcessTree: true);
        }

        try
        {
            await using var reference = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = "reference", Command = "npx", Arguments = ["-y", Reference, root],
            }));
            rows.AddRange(await MeasureAsync("reference (Node), stdio", reference, calls,
                i => ("read_text_file", new() { ["path"] = Path.Combine(root, files[i % files.Count]) }),
                _ => ("list_directory", new() { ["path"] = Path.Combine(root, "src") })));
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            rows.Add($"| reference (Node), stdio | not run: {ex.Message} (needs Node.js: apt-get install -y nodejs npm) | | | |");
        }

        Console.WriteLine();
        Console.WriteLine("| server | tool | p50 ms | p99 ms | calls/s |");
        Console.WriteLine("|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        Directory.Delete(root, recursive: true);
        return 0;
    }

    private static async Task<List<string>> MeasureAsync(string name, McpClient client, int calls,
        Func<int, (string Tool, Dictionary<string, object?> Args)> read, Func<int, (string Tool, Dictionary<string, object?> Args)> list)
    {
        var rows = new List<string>();
        foreach (var call in new[] { read, list })
        {
            for (var i = 0; i < 20; i++)
            {
                var (tool, args) = call(i);
                await client.CallToolAsync(tool, args);
            }
            var latencies = new double[calls];
            var wall = Stopwatch.StartNew();
            for (var i = 0; i < calls; i++)
            {
                var (tool, args) = call(i);
                var stopwatch = Stopwatch.StartNew();
                var result = await client.CallToolAsync(tool, args);
                latencies[i] = stopwatch.Elapsed.TotalMilliseconds;
                if (result.IsError == true)
                {
                    throw new InvalidOperationException($"{name} {tool} failed: {string.Join(' ', result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(b => b.Text))}");
                }
            }
            Array.Sort(latencies);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {call(0).Tool} | {latencies[calls / 2]:F3} | {latencies[(int)(calls * 0.99)]:F3} | {calls / wall.Elapsed.TotalSeconds:F0} |"));
        }
        return rows;
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
