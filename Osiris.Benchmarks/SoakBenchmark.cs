using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
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
using Osiris.Tests.Agent;
using StackExchange.Redis;

namespace Osiris.Benchmarks;

/// <summary>
/// Hours of use compressed into minutes, sized for 2 cores. The app runs through its AppHost with 2 API and 2 agent
/// replicas on real PostgreSQL and Redis; 1,000 SSE clients connect through the AppHost's API endpoint: 980 follow
/// one task each (a <c>taskId</c> filter; when their task ends they move to another open task, as a person would) and
/// 20 receive everything (dashboards). 50 trusted senders write 5 signed webhooks per second in all (a sender's later
/// messages join their open task); the agents work at concurrency 5 against the tests' fake OpenAI, which answers at
/// a fixed pace and calls write_file and run_command. Prints lost and duplicated events (every client's events against
/// the log), delivery p50/p99 per minute, tasks opened and completed, and each service's RSS at minute 1 and at the end.
/// With <c>--ramp</c>: the capacity figure instead — the highest publish rate at which delivery p99 stays ≤ 50 ms,
/// with 1 and with 2 API replicas.
/// </summary>
public static class SoakBenchmark
{
    private const string Secret = "soak-benchmark-app-secret";
    private const string Marker = "soak";

    public static Task<int> RunAsync(BenchmarkOptions options) =>
        options.Flag("ramp") ? RampAsync(options) : SoakAsync(options);

    private sealed record Cluster(DistributedApplication App, HttpClient Http, string Database, string DataDir, Uri Api) : IAsyncDisposable
    {
        public OsirisDbContext Db() => StorageExtensions.CreateDbContext(Database);

        public async Task<long> LogEndAsync()
        {
            await using var db = Db();
            return await db.Events.MaxAsync(e => (long?)e.Id) ?? 0;
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
            try
            {
                Directory.Delete(DataDir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static async Task<Cluster> StartAsync(BenchmarkOptions options, int apis, int agents, int clients, FakeOpenAI? openAI, int agentConcurrency)
    {
        var dataDir = Directory.CreateTempSubdirectory("osiris-soak-").FullName;
        var apiKey = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        string[] args =
        [
            $"--Osiris:Infrastructure={options.Mode}", $"--Osiris:DataDir={dataDir}", $"--Parameters:api-key={apiKey}",
            $"--Parameters:whatsapp-app-secret={Secret}", $"--Osiris:Replicas:Api={apis}", $"--Osiris:Replicas:Agent={agents}",
            .. openAI is null ? Array.Empty<string>() : ["--Parameters:openai-api-key=soak-benchmark-key", $"--Parameters:openai-endpoint={openAI.BaseUrl}"],
        ];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(args);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        var api = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api");
        // One key, 1,000 streams: the per-credential cap (default 50) is raised for the benchmark; people have their own.
        builder.CreateResourceBuilder(api).WithEnvironment("Osiris__Stream__MaxStreamsPerKey", (clients + 50).ToString(CultureInfo.InvariantCulture));
        var agent = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "agent");
        builder.CreateResourceBuilder(agent)
            .WithEnvironment("Agent__Enabled", openAI is null ? "false" : "true")
            .WithEnvironment("Agent__Concurrency", agentConcurrency.ToString(CultureInfo.InvariantCulture));
        var app = await builder.BuildAsync();
        await app.StartAsync();
        foreach (var resource in new[] { "api", "mcpserver", "agent" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource);
        }
        // The AppHost's endpoint: Aspire's proxy spreads the connections over the API replicas.
        var endpoint = app.GetEndpoint("api", "http");
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = endpoint,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var database = (await app.GetConnectionStringAsync(options.Mode == "local" ? "postgres" : "osiris"))!;
        return new Cluster(app, http, database, dataDir, endpoint);
    }

    // ---------------------------------------------------------------- the soak

    private static async Task<int> SoakAsync(BenchmarkOptions options)
    {
        var minutes = options.Number("minutes", 10);
        var clientCount = (int)options.Number("clients", 1000);
        var dashboards = (int)options.Number("dashboards", 20);
        var rate = options.Number("webhooks", 5);
        var senders = (int)options.Number("senders", 50);
        var concurrency = (int)options.Number("concurrency", 5);
        var apis = (int)options.Number("api", 2);
        var agents = (int)options.Number("agents", 2);
        var perAgent = (int)Math.Ceiling(concurrency / (double)agents);
        Console.WriteLine($"OSIRIS soak: mode {options.Mode}, {minutes} min, {clientCount} SSE clients ({dashboards} see everything, the rest follow one task), " +
            $"{rate} webhooks/s from {senders} trusted senders, {apis} API + {agents} agent replicas (concurrency {perAgent} each), {Environment.ProcessorCount} cores");

        await using var openAI = await FakeOpenAI.StartAsync();
        // A fixed pace: each turn streams 8 pieces 40 ms apart, then a tool call; 6 tool turns, then the answer.
        openAI.Script(Marker, turn => turn >= 6
            ? new Turn(TextPieces: Pieces(turn, 8), PieceGapMs: 40)
            : new Turn(TextPieces: Pieces(turn, 8), PieceGapMs: 40, Calls: turn % 2 == 0
                ? [("write_file", new { path = $"notes/step{turn}.md", content = string.Join('\n', Enumerable.Range(0, 20).Select(l => $"line {l} of step {turn}")) })]
                : [("run_command", new { command = "for i in 1 2 3 4 5 6; do echo \"line $i\"; done" })]));

        var started = Stopwatch.StartNew();
        await using var cluster = await StartAsync(options, apis, agents, clientCount, openAI, perAgent);
        Console.WriteLine($"every service healthy after {started.Elapsed.TotalSeconds:F1} s");
        var numbers = Enumerable.Range(0, senders).Select(i => "4916" + i.ToString("D8", CultureInfo.InvariantCulture)).ToList();
        await E2eBenchmark.TrustSendersAsync(cluster.Http, numbers);

        var from = await cluster.LogEndAsync();
        var open = new OpenTasks(cluster);
        using var stop = new CancellationTokenSource();
        var startUnixMs = UnixMs();
        var all = Enumerable.Range(0, dashboards).Select(_ => new SoakClient(null, from, startUnixMs)).ToList();
        foreach (var client in all)
        {
            client.Start(cluster.Http, stop.Token, null);
        }

        // Every sender opens a task; then the followers pick theirs.
        var webhooks = new Webhooks(cluster.Http, numbers);
        foreach (var _ in numbers)
        {
            await webhooks.SendNextAsync();
        }
        await open.WaitForAsync(Math.Min(senders, 10));
        var followers = new List<SoakClient>();
        for (var i = 0; i < clientCount - dashboards; i++)
        {
            var follower = new SoakClient(open.Pick(i), Math.Max(from, all[0].LastId), startUnixMs);
            follower.Start(cluster.Http, stop.Token, () => (open.Pick(Random.Shared.Next()), all[0].LastId));
            followers.Add(follower);
            if (i % 50 == 49)
            {
                await Task.Delay(100); // 1,000 connections in about 2 s, not in one burst
            }
        }
        var clients = all.Concat(followers).ToList();
        Console.WriteLine($"{clients.Count} clients connecting; sending {rate} webhooks/s for {minutes} min");

        var duration = TimeSpan.FromMinutes(minutes);
        // Each process's RSS at the end of every minute (KB), to tell growth that levels off from growth that does not.
        var memory = new SortedDictionary<string, List<long>>(StringComparer.Ordinal);
        var sending = webhooks.RunAsync(rate, duration, stop.Token);
        var clock = Stopwatch.StartNew();
        var sampled = 0;
        while (clock.Elapsed < duration)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (clock.Elapsed >= TimeSpan.FromMinutes(sampled + 1) || clock.Elapsed >= duration)
            {
                sampled++;
                foreach (var (name, rss) in Rss())
                {
                    (memory.TryGetValue(name, out var list) ? list : memory[name] = []).Add(rss);
                }
                Console.WriteLine($"  minute {sampled}: {webhooks.Sent} webhooks sent ({webhooks.Failed} failed), {clients.Count(c => c.Connected)} clients connected, " +
                    $"{clients.Sum(c => c.Received):N0} frames received");
            }
        }
        await sending;

        // The end: everything committed until now must reach every client that should see it.
        var end = await cluster.LogEndAsync();
        var drain = Stopwatch.StartNew();
        while (all.Any(c => c.LastId < end) && drain.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100);
        }
        await Task.Delay(2000);
        await stop.CancelAsync();

        List<(long Id, Guid? TaskId)> log;
        await using (var db = cluster.Db())
        {
            log = (await db.Events.AsNoTracking().Where(e => e.Id > from && e.Id <= end).Select(e => new { e.Id, e.TaskId }).ToListAsync())
                .Select(e => (e.Id, e.TaskId)).ToList();
        }
        var byTask = log.Where(e => e.TaskId is not null).GroupBy(e => e.TaskId!.Value).ToDictionary(g => g.Key, g => g.Select(e => e.Id).ToArray());
        var allIds = log.Select(e => e.Id).ToArray();
        long lost = 0, duplicated = 0, checkedEvents = 0;
        foreach (var client in clients)
        {
            foreach (var segment in client.Segments(end))
            {
                var expected = segment.TaskId is { } t
                    ? (byTask.TryGetValue(t, out var ids) ? ids : []).Where(id => id > segment.From && id <= segment.Until)
                    : allIds.Where(id => id > segment.From && id <= segment.Until);
                foreach (var id in expected)
                {
                    checkedEvents++;
                    if (!segment.Seen.Contains(id))
                    {
                        lost++;
                    }
                }
                duplicated += segment.Duplicates;
            }
        }

        int opened, completed;
        await using (var db = cluster.Db())
        {
            var tasks = await db.Tasks.AsNoTracking().Where(t => t.Source == TaskSources.WhatsApp).Select(t => t.Status).ToListAsync();
            opened = tasks.Count;
            completed = tasks.Count(s => s == TaskStatuses.Completed);
        }

        Console.WriteLine();
        Console.WriteLine($"| minute | frames | delivery p50 ms | p99 ms | max ms |");
        Console.WriteLine($"|---|---|---|---|---|");
        var perMinute = Enumerable.Range(0, (int)Math.Ceiling(minutes) + 1)
            .Select(m => clients.SelectMany(c => c.Latencies(m)).Order().ToArray()).ToList();
        for (var m = 0; m < perMinute.Count; m++)
        {
            var l = perMinute[m];
            if (l.Length > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m + 1} | {l.Length:N0} | {Pct(l, 0.50):F1} | {Pct(l, 0.99):F1} | {l[^1]:F1} |"));
            }
        }
        Console.WriteLine();
        Console.WriteLine($"events in the log during the run: {allIds.Length:N0}; deliveries checked against it: {checkedEvents:N0}; lost: {lost}; duplicated: {duplicated}; " +
            $"client reconnects after errors: {clients.Sum(c => c.Errors)}; follower task switches: {followers.Sum(c => c.Switches)}");
        Console.WriteLine($"webhooks: {webhooks.Sent:N0} sent, {webhooks.Failed} not accepted; acknowledgement p50 {Pct([.. webhooks.Acks.Order()], 0.5):F1} ms, " +
            $"p99 {Pct([.. webhooks.Acks.Order()], 0.99):F1} ms; tasks opened {opened}, completed {completed}; model requests {openAI.Requests.Count:N0}, refused {openAI.Refused.Count}");
        Console.WriteLine();
        var columns = memory.Values.Max(l => l.Count);
        Console.WriteLine($"| process (RSS, MB) | {string.Join(" | ", Enumerable.Range(1, columns).Select(m => $"min {m}"))} | growth min 1 → end | min {Math.Min(5, columns)} → end |");
        Console.WriteLine($"|---|{string.Concat(Enumerable.Repeat("---|", columns + 2))}");
        static string Growth(long from, long to) => string.Create(CultureInfo.InvariantCulture, $"{(to - from) * 100.0 / from:+0.0;-0.0}%");
        foreach (var (name, samples) in memory)
        {
            var middle = samples[Math.Min(5, samples.Count) - 1];
            Console.WriteLine($"| {name} | {string.Join(" | ", samples.Select(kb => (kb / 1024).ToString(CultureInfo.InvariantCulture)))} | " +
                $"{Growth(samples[0], samples[^1])} | {Growth(middle, samples[^1])} |");
        }
        var firstP99 = perMinute.Count > 0 && perMinute[0].Length > 0 ? Pct(perMinute[0], 0.99) : double.NaN;
        var worstP99 = perMinute.Where(l => l.Length > 0).Max(l => Pct(l, 0.99));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Goals: zero lost or duplicated ({lost}, {duplicated}); p99 within 2× of minute 1 throughout (minute 1 {firstP99:F1} ms, worst {worstP99:F1} ms); memory growth < 10 % after warm-up (table)."));
        Console.WriteLine("Figures from a run with the agents working and all clients open, everything (clients included) on this machine's cores.");
        return lost == 0 && duplicated == 0 && openAI.Refused.IsEmpty ? 0 : 1;
    }

    private static string[] Pieces(int turn, int count) =>
        [.. Enumerable.Range(0, count).Select(i => i == 0 ? $"Step {turn}: " : $"word{i} ")];

    /// <summary>Resident memory of each service replica, Redis and the PostgreSQL server process (KB).</summary>
    private static IEnumerable<(string Name, long RssKb)> Rss()
    {
        foreach (var (name, needle) in new[] { ("api", "net10.0/Osiris.Api"), ("agent", "net10.0/Osiris.Agent"), ("mcpserver", "net10.0/Osiris.McpServer"), ("web", "net10.0/Osiris.Web"), ("redis", "redis-server") })
        {
            var n = 0;
            foreach (var pid in ProcessStats.FindPids(needle).Order())
            {
                if (ProcessStats.Read(pid) is { } stats)
                {
                    yield return ($"{name} {++n}", stats.RssKb);
                }
            }
        }
    }

    /// <summary>The WhatsApp tasks that are open now (refreshed from the database), so that followers can pick one.</summary>
    private sealed class OpenTasks
    {
        private readonly Cluster _cluster;
        private volatile Guid[] _open = [];

        public OpenTasks(Cluster cluster)
        {
            _cluster = cluster;
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    try
                    {
                        await using var db = _cluster.Db();
                        _open = [.. await db.Tasks.AsNoTracking().Where(t => t.Source == TaskSources.WhatsApp && TaskStatuses.Open.Contains(t.Status))
                            .OrderBy(t => t.CreatedAt).Select(t => t.Id).ToListAsync()];
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // The app is stopping; the next round, if any, tries again.
                    }
                    await Task.Delay(1000);
                }
            });
        }

        public async Task WaitForAsync(int count)
        {
            while (_open.Length < count)
            {
                await Task.Delay(200);
            }
        }

        public Guid? Pick(int n) => _open is { Length: > 0 } open ? open[(n & int.MaxValue) % open.Length] : null;
    }

    /// <summary>Signed webhooks at a fixed rate, round robin over the senders (open loop).</summary>
    private sealed class Webhooks(HttpClient http, List<string> senders)
    {
        private int _next;
        public int Sent;
        public int Failed;
        public ConcurrentQueue<double> Acks { get; } = new();

        public async Task SendNextAsync()
        {
            var n = Interlocked.Increment(ref _next) - 1;
            var sender = senders[n % senders.Count];
            var body = Encoding.UTF8.GetBytes($$$"""
                {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"1"},"contacts":[{"profile":{"name":"Soak {{{n % senders.Count}}}"},"wa_id":"{{{sender}}}"}],"messages":[{"from":"{{{sender}}}","id":"wamid.soak.{{{n}}}.{{{Guid.NewGuid():N}}}","timestamp":"{{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}}}","type":"text","text":{"body":"{{{Marker}}} message {{{n}}}: please check order {{{n * 7 % 1000}}}"}}]}}]}]}
                """);
            try
            {
                var (ok, ms) = await WebhookBenchmark.PostSignedAsync(http, Secret, body);
                Acks.Enqueue(ms);
                if (!ok)
                {
                    Interlocked.Increment(ref Failed);
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref Failed);
            }
            Interlocked.Increment(ref Sent);
        }

        public async Task RunAsync(double rate, TimeSpan duration, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            var inFlight = new List<Task>();
            for (var i = 0; clock.Elapsed < duration && !ct.IsCancellationRequested; i++)
            {
                var wait = TimeSpan.FromSeconds(i / rate) - clock.Elapsed;
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, ct);
                }
                inFlight.Add(SendNextAsync());
            }
            await Task.WhenAll(inFlight);
        }
    }

    // ---------------------------------------------------------------- the ramp

    /// <summary>
    /// Capacity: after a 20 s warm-up, the publish rate is raised step by step (events from this process through the
    /// API's own publisher: log append, commit, Redis fan-out), each step held for --step seconds, with the same 1,000
    /// clients (20 see everything, 980 follow one of 50 tasks), until p99 passes 500 ms. The highest rate up to which
    /// every step kept delivery p99 ≤ 50 ms is the figure.
    /// </summary>
    private static async Task<int> RampAsync(BenchmarkOptions options)
    {
        var clientCount = (int)options.Number("clients", 1000);
        var dashboards = (int)options.Number("dashboards", 20);
        var stepSeconds = options.Number("step", 10);
        var rates = new[] { 10, 25, 50, 100, 200, 400, 800, 1600 };
        Console.WriteLine($"OSIRIS capacity ramp: mode {options.Mode}, {clientCount} SSE clients ({dashboards} see everything), steps {string.Join(", ", rates)} events/s, " +
            $"{stepSeconds} s each, {Environment.ProcessorCount} cores");
        var results = new List<string>();
        foreach (var apis in new[] { 1, 2 })
        {
            await using var cluster = await StartAsync(options, apis, 1, clientCount, null, 1);
            var redis = await ConnectionMultiplexer.ConnectAsync((await cluster.App.GetConnectionStringAsync("redis"))!);
            var publisher = new EventPublisher(redis, TimeProvider.System, NullLogger<EventPublisher>.Instance);
            var tasks = new List<Guid>();
            for (var i = 0; i < 50; i++)
            {
                using var created = await cluster.Http.PostAsJsonAsync("/api/v1/tasks", new { title = $"ramp task {i}", description = "followed by the ramp's clients" });
                created.EnsureSuccessStatusCode();
                tasks.Add((await created.Content.ReadFromJsonAsync<TaskDto>(OsirisJson.Options))!.Id);
            }
            var from = await cluster.LogEndAsync();
            using var stop = new CancellationTokenSource();
            var clients = new List<SoakClient>();
            for (var i = 0; i < clientCount; i++)
            {
                var client = new SoakClient(i < dashboards ? null : tasks[i % tasks.Count], from, UnixMs());
                client.Start(cluster.Http, stop.Token, null);
                clients.Add(client);
                if (i % 50 == 49)
                {
                    await Task.Delay(100);
                }
            }
            while (clients.Count(c => c.Connected) < clientCount)
            {
                await Task.Delay(200);
            }
            // Warm-up (not measured): tiered JIT, connection pools and thread pools settle, as after any start.
            await PublishAsync(publisher, cluster, tasks, 50, 20);
            await Task.Delay(2000);
            var best = 0;
            foreach (var rate in rates)
            {
                // The first second of each step is not measured: the pipeline settles at the new rate.
                var stepStart = UnixMs() + 1000;
                var behind = await PublishAsync(publisher, cluster, tasks, rate, stepSeconds);
                await Task.Delay(1500);
                var latencies = clients.SelectMany(c => c.LatenciesSince(stepStart)).Order().ToArray();
                var p99 = Pct(latencies, 0.99);
                var ok = p99 <= 50 && behind < rate * stepSeconds / 10;
                results.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {apis} | {rate} | {latencies.Length:N0} | {Pct(latencies, 0.5):F1} | {p99:F1} | {(latencies.Length > 0 ? latencies[^1] : double.NaN):F1} | {behind} | {(ok ? "yes" : "no")} |"));
                Console.WriteLine(results[^1]);
                if (ok && best == rates.TakeWhile(r => r < rate).LastOrDefault())
                {
                    best = rate; // every step up to here held
                }
                if (p99 > 500)
                {
                    break; // past saturation: the curve is known
                }
            }
            results.Add($"| {apis} | capacity: {best} events/s with delivery p99 ≤ 50 ms | | | | | | |");
            await stop.CancelAsync();
            await redis.DisposeAsync();
        }
        Console.WriteLine();
        Console.WriteLine("| API replicas | events/s | deliveries | p50 ms | p99 ms | max ms | publishes late > 5 ms | p99 ≤ 50 ms |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        results.ForEach(Console.WriteLine);
        return 0;
    }

    /// <summary>Open loop: event i at i/rate seconds, each a notification on one of the followed tasks.</summary>
    private static async Task<int> PublishAsync(EventPublisher publisher, Cluster cluster, List<Guid> tasks, int rate, double seconds)
    {
        var count = (int)(rate * seconds);
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>(count);
        var late = 0;
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / (double)rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }
            if (clock.Elapsed - due > TimeSpan.FromMilliseconds(5))
            {
                late++;
            }
            var task = tasks[i % tasks.Count];
            var seq = i;
            inFlight.Add(Task.Run(async () =>
            {
                await using var db = cluster.Db();
                await publisher.PublishAsync(db, EventTypes.SystemNotification, task, new SystemNotificationPayload(NotificationLevels.Info, $"ramp {rate} {seq}"));
            }));
        }
        await Task.WhenAll(inFlight);
        return late;
    }

    // ---------------------------------------------------------------- clients

    private static double UnixMs() => (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10_000.0;

    private static double Pct(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1))];

    private sealed record Segment(Guid? TaskId, long From, long Until, HashSet<long> Seen, int Duplicates);

    /// <summary>
    /// One SSE client as a browser's EventSource behaves: it reconnects with the last id it saw after an error; a
    /// follower whose task ends moves to another open task (from the newest id a dashboard has seen). It keeps the ids
    /// it received per segment (one task, or everything) and each frame's delivery latency (receive time − the event's
    /// timestamp, both this machine's clock), by minute.
    /// </summary>
    private sealed class SoakClient(Guid? taskId, long from, double startUnixMs)
    {
        private readonly List<Segment> _closed = [];
        private readonly List<(double At, float Ms)> _latencies = [];
        private Guid? _task = taskId;
        private long _from = from;
        private HashSet<long> _seen = [];
        private int _duplicates;

        public long LastId { get; private set; } = from;
        public bool Connected { get; private set; }
        public long Received { get; private set; }
        public int Errors { get; private set; }
        public int Switches { get; private set; }

        public void Start(HttpClient http, CancellationToken stop, Func<(Guid? Task, long From)>? next) => _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, _task is { } t ? $"/api/v1/stream?taskId={t}" : "/api/v1/stream");
                    request.Headers.Add("Last-Event-ID", Math.Max(_from, LastId).ToString(CultureInfo.InvariantCulture));
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
                    response.EnsureSuccessStatusCode();
                    Connected = true;
                    await using var body = await response.Content.ReadAsStreamAsync(stop);
                    await foreach (var item in SseParser.Create(body).EnumerateAsync(stop))
                    {
                        if (OnFrame(item) && next?.Invoke() is { Task: { } task } target && task != _task)
                        {
                            Switch(task, target.From);
                            break; // reconnect on the new task
                        }
                    }
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    Errors++;
                    await Task.Delay(500, CancellationToken.None);
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    Connected = false;
                }
            }
        }, CancellationToken.None);

        /// <summary>Records a frame; true when it ends the followed task.</summary>
        private bool OnFrame(SseItem<string> item)
        {
            var received = UnixMs();
            if (!long.TryParse(item.EventId, CultureInfo.InvariantCulture, out var id))
            {
                return false;
            }
            var data = item.Data;
            var at = data.IndexOf("\"timestamp\":\"", StringComparison.Ordinal);
            var published = at < 0 ? received
                : (DateTimeOffset.Parse(data.AsSpan(at + 13, data.IndexOf('"', at + 13) - at - 13), CultureInfo.InvariantCulture).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10_000.0;
            lock (this)
            {
                Received++;
                if (!_seen.Add(id))
                {
                    _duplicates++;
                }
                LastId = Math.Max(LastId, id);
                _latencies.Add((received, (float)(received - published)));
            }
            return _task is not null && item.EventType == EventTypes.TaskUpdate
                   && (data.Contains("\"status\":\"completed\"", StringComparison.Ordinal) || data.Contains("\"status\":\"failed\"", StringComparison.Ordinal)
                       || data.Contains("\"status\":\"cancelled\"", StringComparison.Ordinal));
        }

        private void Switch(Guid task, long from)
        {
            lock (this)
            {
                _closed.Add(new Segment(_task, _from, LastId, _seen, _duplicates));
                _task = task;
                _from = Math.Max(from, LastId);
                LastId = _from;
                _seen = [];
                _duplicates = 0;
                Switches++;
            }
        }

        public IEnumerable<Segment> Segments(long end)
        {
            lock (this)
            {
                return [.. _closed, new Segment(_task, _from, end, _seen, _duplicates)];
            }
        }

        public IEnumerable<double> Latencies(int minute)
        {
            lock (this)
            {
                return [.. _latencies.Where(l => (int)((l.At - startUnixMs) / 60_000) == minute).Select(l => (double)l.Ms)];
            }
        }

        public IEnumerable<double> LatenciesSince(double unixMs)
        {
            lock (this)
            {
                return [.. _latencies.Where(l => l.At >= unixMs).Select(l => (double)l.Ms)];
            }
        }
    }
}
