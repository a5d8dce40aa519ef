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
/// Full replays (<c>Last-Event-ID: 0</c>) of a long history, N at once: the API must send them in bounded batches,
/// so its memory stays flat however long the log. Prints the API's resident memory before, its highest sample
/// during the replays, and how long each replay took. Defaults: 100,000 events (<c>--events</c>), 20 clients.
/// </summary>
public static class ReplayBenchmark
{
    public static async Task<int> RunAsync(BenchmarkOptions options)
    {
        var events = (int)options.Number("events", 100_000);
        var clients = (int)options.Number("clients", 20);
        Console.WriteLine($"OSIRIS replay benchmark: mode {options.Mode}, {events} events in the log, {clients} concurrent full replays");
        var dataDir = Directory.CreateTempSubdirectory("osiris-bench-").FullName;
        var apiKey = Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            [$"--Osiris:Infrastructure={options.Mode}", $"--Osiris:DataDir={dataDir}", $"--Parameters:api-key={apiKey}"]);
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        var agent = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "agent");
        builder.CreateResourceBuilder(agent).WithEnvironment("Agent__Enabled", "false");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api");

        // The history: written straight to the log in batches, as a busy week of agent work would leave it.
        var redis = await ConnectionMultiplexer.ConnectAsync((await app.GetConnectionStringAsync("redis"))!);
        var database = options.Mode == "local" ? await app.GetConnectionStringAsync("postgres") : await app.GetConnectionStringAsync("osiris");
        var publisher = new EventPublisher(redis, TimeProvider.System, NullLogger<EventPublisher>.Instance);
        var text = new string('x', 160);
        var write = Stopwatch.StartNew();
        for (var written = 0; written < events; written += 500)
        {
            await using var db = StorageExtensions.CreateDbContext(database!);
            await publisher.PublishAsync(db, [.. Enumerable.Range(written, Math.Min(500, events - written))
                .Select(i => new EventDraft(EventTypes.SystemNotification, null, new SystemNotificationPayload(NotificationLevels.Info, $"history {i} {text}")))]);
        }
        Console.WriteLine($"history written in {write.Elapsed.TotalSeconds:F1} s");
        await Task.Delay(2000);

        var apiPid = ProcessStats.FindPids("Osiris.Api").Max();
        var before = ProcessStats.Read(apiPid)!;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = new Uri(await DeliveryBenchmark.DirectApiUrlAsync(app)),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var peakRss = before.RssKb;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakRss = Math.Max(peakRss, ProcessStats.Read(apiPid)?.RssKb ?? 0);
                await Task.Delay(50);
            }
        });
        var wall = Stopwatch.StartNew();
        var durations = await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            var clock = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream?types=system_notification");
            request.Headers.Add("Last-Event-ID", "0");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            var seen = 0;
            await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
            {
                if (item.EventType == EventTypes.SystemNotification && ++seen == events)
                {
                    break;
                }
            }
            return clock.Elapsed.TotalSeconds;
        }));
        await sampling.CancelAsync();
        await sampler;
        Console.WriteLine();
        Console.WriteLine("| events | concurrent replays | each replay p50 / max s | all done s | API RSS before MB | API RSS highest during MB |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Array.Sort(durations);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {events} | {clients} | {durations[durations.Length / 2]:F1} / {durations[^1]:F1} | {wall.Elapsed.TotalSeconds:F1} | {before.RssKb / 1024} | {peakRss / 1024} |"));
        await redis.DisposeAsync();
        await app.StopAsync();
        return 0;
    }
}
