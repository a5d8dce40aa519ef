using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Benchmarks;

/// <summary>
/// Delivery latency, as docs/events.md defines it: from the publish call (the event log append + Redis fan-out) to the
/// SSE frame received by a client. The whole app runs through its AppHost (real Redis/PostgreSQL or Garnet/SQLite,
/// the API as its own process); N clients read <c>GET /api/v1/stream</c> directly from the API's port, and one
/// open-loop publisher sends R events/s, each carrying its send time.
/// </summary>
public static class DeliveryBenchmark
{
    private const string Marker = "bench";
    private static readonly ConcurrentQueue<double> PublishDurations = new();

    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        Console.WriteLine($"OSIRIS delivery benchmark: mode {options.Mode}, {options.Clients} SSE clients, " +
            $"{options.Rate} events/s open loop for {options.Seconds} s, {Environment.ProcessorCount} cores");

        var dataDir = Directory.CreateTempSubdirectory("osiris-bench-").FullName;
        var apiKey = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            [$"--Osiris:Infrastructure={options.Mode}", $"--Osiris:DataDir={dataDir}", $"--Parameters:api-key={apiKey}"]);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        var apiResource = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");
        // One key, N clients: the per-credential stream cap (default 50) is raised explicitly for the benchmark.
        builder.CreateResourceBuilder(apiResource).WithEnvironment("Osiris__Stream__MaxStreamsPerKey", (options.Clients + 10).ToString(CultureInfo.InvariantCulture));
        foreach (var setting in (Environment.GetEnvironmentVariable("BENCH_API_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = setting.Split('=', 2);
            builder.CreateResourceBuilder(apiResource).WithEnvironment(parts[0], parts[1]);
        }
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api");

        var apiUrl = await DirectApiUrlAsync(app);
        var redis = await ConnectionMultiplexer.ConnectAsync((await app.GetConnectionStringAsync("redis"))!);
        var database = options.Mode == "local" ? await app.GetConnectionStringAsync("postgres") : await app.GetConnectionStringAsync("osiris");
        var publisher = new EventPublisher(redis, TimeProvider.System, NullLogger<EventPublisher>.Instance);
        OsirisDbContext Db() => StorageExtensions.CreateDbContext(database!);
        var apiPid = ProcessStats.FindPid("Osiris.Api");
        Console.WriteLine($"API at {apiUrl} (direct, no proxy), pid {apiPid}");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = new Uri(apiUrl),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        var total = (int)(options.Rate * options.Seconds);
        var clients = new Client[options.Clients];
        using var stop = new CancellationTokenSource();
        for (var i = 0; i < clients.Length; i += 50)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(50, clients.Length - i))
                .Select(async c => clients[c] = await Client.ConnectAsync(http, stop.Token)));
        }
        await Task.Delay(500);

        // Warm-up (not measured): 5 s at the measured rate, until tiered JIT, connection pools and the thread pools of
        // both processes have settled. Without it the first ~4 s show stalls of up to ~500 ms (thread injection).
        await PublishAsync(publisher, Db, Math.Max(20, (int)(options.Rate * 5)), options.Rate, "warmup");
        await Task.Delay(1000);
        foreach (var client in clients)
        {
            client.Reset();
        }
        Slow.Clear();

        var apiBefore = apiPid is int p1 ? ProcessStats.Read(p1) : null;
        var wall = Stopwatch.StartNew();
        var behind = await PublishAsync(publisher, Db, total, options.Rate, Marker);
        var publishSeconds = wall.Elapsed.TotalSeconds;

        var deadline = Stopwatch.StartNew();
        while (clients.Any(c => c.Distinct < total) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }
        var apiAfter = apiPid is int p2 ? ProcessStats.Read(p2) : null;
        await stop.CancelAsync();

        var latencies = clients.SelectMany(c => c.Latencies).ToArray();
        Array.Sort(latencies);
        double Pct(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        var lost = clients.Sum(c => (long)(total - c.Distinct));
        var duplicated = clients.Sum(c => (long)c.Duplicates);

        Console.WriteLine();
        Console.WriteLine($"| clients | events/s | events | deliveries | p50 ms | p99 ms | p99.9 ms | max ms | lost | duplicated | API CPU | API peak RSS |");
        Console.WriteLine($"|---|---|---|---|---|---|---|---|---|---|---|---|");
        var cpu = apiBefore is null || apiAfter is null ? "n/a" : $"{(apiAfter.CpuSeconds - apiBefore.CpuSeconds) / publishSeconds * 100:F0}% of one core";
        var rss = apiAfter is null ? "n/a" : $"{apiAfter.PeakRssKb / 1024} MB";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {options.Clients} | {options.Rate} | {total} | {latencies.Length} | {Pct(0.50):F2} | {Pct(0.99):F2} | {Pct(0.999):F2} | {(latencies.Length > 0 ? latencies[^1] : double.NaN):F2} | {lost} | {duplicated} | {cpu} | {rss} |"));
        var publishes = PublishDurations.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"publish call (log append + commit + fan-out): p50 {publishes[publishes.Length / 2]:F2} ms, p99 {publishes[(int)(publishes.Length * 0.99)]:F2} ms, max {publishes[^1]:F2} ms"));
        Console.WriteLine($"publisher: {total} events in {publishSeconds:F1} s (open loop; {behind} sends started more than 5 ms late); " +
            $"benchmark process peak RSS {ProcessStats.Read(Environment.ProcessId)?.PeakRssKb / 1024} MB");

        if (Environment.GetEnvironmentVariable("BENCH_SLOW") == "1")
        {
            foreach (var group in Slow.GroupBy(x => x.Seq).OrderBy(g => g.Key))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"slow event {group.Key} at {group.Key / options.Rate:F2} s: {group.Count()} clients, worst {group.Max(x => x.Ms):F0} ms"));
            }
        }
        if (options.Flag("floor"))
        {
            await stop.CancelAsync();
            var floor = await FloorAsync(redis, options, total);
            Console.WriteLine();
            Console.WriteLine("| same clients and rate | p50 ms | p99 ms | p99.9 ms | lost |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| OSIRIS (log, ordering, replay) | {Pct(0.50):F2} | {Pct(0.99):F2} | {Pct(0.999):F2} | {lost} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| floor (bare SSE fed by Redis pub/sub) | {floor.P50:F2} | {floor.P99:F2} | {floor.P999:F2} | {floor.Lost} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"OSIRIS/floor: p50 {Pct(0.50) / floor.P50:F2}, p99 {Pct(0.99) / floor.P99:F2} (goals ≤ 2 and ≤ 3)"));
        }
        await redis.DisposeAsync();
        await app.StopAsync();
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
        return lost == 0 && duplicated == 0 ? 0 : 1;
    }

    /// <summary>Open loop: event i is sent at i/rate seconds whether or not earlier sends have finished.</summary>
    private static async Task<int> PublishAsync(EventPublisher publisher, Func<OsirisDbContext> db, int count, double rate, string marker)
    {
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>(count);
        var late = 0;
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }
            if (clock.Elapsed - due > TimeSpan.FromMilliseconds(5))
            {
                late++;
            }
            var seq = i;
            inFlight.Add(Task.Run(async () =>
            {
                await using var context = db();
                var sentAt = Stopwatch.GetTimestamp();
                await publisher.PublishAsync(context, EventTypes.SystemNotification, null,
                    new SystemNotificationPayload("info", $"{marker} {seq} {sentAt}"));
                if (marker == Marker)
                {
                    PublishDurations.Enqueue(Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds);
                }
            }));
        }
        await Task.WhenAll(inFlight);
        return late;
    }

    private sealed record FloorResult(double P50, double P99, double P999, long Lost);

    /// <summary>
    /// The floor: the same clients on a bare SSE endpoint (Kestrel in this process) that writes whatever Redis pub/sub
    /// brings — no log, no commit, no ordering, no replay — with the same open-loop rate and payload shape. OSIRIS's
    /// figures divided by these are the price of durability and order.
    /// </summary>
    private static async Task<FloorResult> FloorAsync(ConnectionMultiplexer redis, BenchmarkOptions options, int total)
    {
        const string channel = "osiris:bench-floor";
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        await using var server = builder.Build();
        var streams = new ConcurrentDictionary<System.Threading.Channels.Channel<byte[]>, byte>();
        var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(channel));
        queue.OnMessage(message =>
        {
            var frame = System.Text.Encoding.UTF8.GetBytes($"data: {message.Message}\n\n");
            foreach (var (stream, _) in streams)
            {
                stream.Writer.TryWrite(frame);
            }
        });
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(server, "/floor", async (Microsoft.AspNetCore.Http.HttpContext http) =>
        {
            http.Response.ContentType = "text/event-stream";
            var stream = System.Threading.Channels.Channel.CreateUnbounded<byte[]>(new() { SingleReader = true });
            streams.TryAdd(stream, 0);
            try
            {
                await http.Response.StartAsync(http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted); // the headers go out now
                await foreach (var frame in stream.Reader.ReadAllAsync(http.RequestAborted))
                {
                    await http.Response.Body.WriteAsync(frame, http.RequestAborted);
                    await http.Response.Body.FlushAsync(http.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                streams.TryRemove(stream, out _);
            }
        });
        await server.StartAsync();
        // The bound address (the configured one says port 0).
        var url = server.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
        using var stop = new CancellationTokenSource();
        var clients = new Client[options.Clients];
        for (var i = 0; i < clients.Length; i += 50)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(50, clients.Length - i)).Select(async c => clients[c] = await Client.ConnectAsync(http, stop.Token, "/floor")));
        }
        await Task.Delay(500);
        var subscriber = redis.GetSubscriber();
        async Task SendAsync(int count, string marker)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                var wait = TimeSpan.FromSeconds(i / options.Rate) - clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait);
                }
                var sentAt = Stopwatch.GetTimestamp();
                _ = subscriber.PublishAsync(RedisChannel.Literal(channel),
                    $"{{\"type\":\"system_notification\",\"payload\":{{\"level\":\"info\",\"text\":\"{marker} {i} {sentAt}\"}}}}", CommandFlags.FireAndForget);
            }
        }
        await SendAsync(Math.Max(20, (int)(options.Rate * 5)), "warmup");
        await Task.Delay(1000);
        foreach (var client in clients)
        {
            client.Reset();
        }
        await SendAsync(total, Marker);
        var deadline = Stopwatch.StartNew();
        while (clients.Any(c => c.Distinct < total) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }
        await stop.CancelAsync();
        await queue.UnsubscribeAsync();
        var latencies = clients.SelectMany(c => c.Latencies).Order().ToArray();
        double Pct(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        return new FloorResult(Pct(0.50), Pct(0.99), Pct(0.999), clients.Sum(c => (long)(total - c.Distinct)));
    }

    public static async Task<string> DirectApiUrlAsync(DistributedApplication app)
    {
        var resource = await app.ResourceNotifications.WaitForResourceAsync("api", e =>
            e.Snapshot.EnvironmentVariables.Any(v => v.Name == "ASPNETCORE_URLS" && !string.IsNullOrEmpty(v.Value)));
        var urls = resource.Snapshot.EnvironmentVariables.First(v => v.Name == "ASPNETCORE_URLS").Value!;
        return urls.Split(';')[0];
    }

    /// <summary>Deliveries over 50 ms, by event sequence number (its send time is seq / rate): are stalls periodic?</summary>
    private static readonly ConcurrentQueue<(int Seq, double Ms)> Slow = new();

    private sealed class Client
    {
        private readonly ConcurrentQueue<double> _latencies = new();
        private HashSet<int> _seen = [];
        private int _received;

        public IEnumerable<double> Latencies => _latencies;
        public int Distinct { get { lock (this) { return _seen.Count; } } }
        public int Duplicates { get { lock (this) { return _received - _seen.Count; } } }

        public void Reset()
        {
            lock (this)
            {
                _seen = [];
                _received = 0;
                _latencies.Clear();
            }
        }

        public static async Task<Client> ConnectAsync(HttpClient http, CancellationToken stop, string path = "/api/v1/stream?types=system_notification")
        {
            var client = new Client();
            var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, stop);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStreamAsync(stop);
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var item in SseParser.Create(body).EnumerateAsync(stop))
                    {
                        client.OnFrame(item.Data);
                    }
                }
                catch (OperationCanceledException)
                {
                }
                catch (IOException)
                {
                }
                finally
                {
                    response.Dispose();
                }
            }, stop);
            return client;
        }

        private void OnFrame(string data)
        {
            var received = Stopwatch.GetTimestamp();
            // The client does as little as it can: it shares two cores with the server it measures.
            var start = data.IndexOf("\"text\":\"" + Marker + " ", StringComparison.Ordinal);
            if (start < 0)
            {
                return;
            }
            var text = data[(start + 8)..data.IndexOf('"', start + 8)].Split(' ');
            var seq = int.Parse(text[1], CultureInfo.InvariantCulture);
            var sentAt = long.Parse(text[2], CultureInfo.InvariantCulture);
            var latency = Stopwatch.GetElapsedTime(sentAt, received).TotalMilliseconds;
            _latencies.Enqueue(latency);
            if (latency > 50)
            {
                Slow.Enqueue((seq, latency));
            }
            lock (this)
            {
                _received++;
                _seen.Add(seq);
            }
        }
    }
}
