using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Streaming;

public abstract class StreamTests<TFixture>(TFixture fixture) where TFixture : BackboneFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Print(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    [Fact]
    public async Task TheStreamSendsHeadersAtOnceThenEachEventAsAFrameWithIdTypeAndJson()
    {
        fixture.RequireAvailable();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream");
        var stopwatch = Stopwatch.StartNew();
        using var response = await fixture.Api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Print($"[{fixture.Mode}] stream headers after {stopwatch.ElapsedMilliseconds} ms, before any event");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());

        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        var task = await fixture.CreateTaskAsync("raw frame");
        var raw = await ReadRawUntilAsync(body, $"\"taskId\":\"{task.Id}\"");

        Assert.StartsWith("retry: ", raw);
        var block = raw.Split("\n\n").Single(b => b.Contains($"\"taskId\":\"{task.Id}\""));
        var fields = block.Split('\n').Select(l => l.Split(": ", 2)).ToDictionary(f => f[0], f => f[1]);
        Assert.Matches(@"^\d+$", fields["id"]);
        Assert.Equal("task_created", fields["event"]);
        Assert.StartsWith("{", fields["data"]);
        Assert.Contains($"\"id\":{fields["id"]},\"type\":\"task_created\"", fields["data"]);
        Assert.Contains("\"title\":\"raw frame\"", fields["data"]);
    }

    [Fact]
    public async Task ReplayAfterReconnectDeliversEventsPublishedDuringTheGapWithNothingLostOrDuplicated()
    {
        fixture.RequireAvailable();
        long lastSeen;
        var before = new List<Guid>();
        await using (var first = await SseClient.ConnectAsync(fixture.Api, "?types=task_created"))
        {
            for (var i = 0; i < 3; i++)
            {
                before.Add((await fixture.CreateTaskAsync($"before gap {i}")).Id);
            }
            var seen = await first.ReadUntilAsync(events => before.All(id => events.Any(e => e.TaskId == id)));
            lastSeen = seen.Max(e => e.Id);
        }

        var during = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            during.Add((await fixture.CreateTaskAsync($"during gap {i}")).Id);
        }

        await using var second = await SseClient.ConnectAsync(fixture.Api, "?types=task_created", lastEventId: lastSeen.ToString());
        var after = (await fixture.CreateTaskAsync("after reconnect")).Id;
        var resumed = await second.ReadUntilAsync(events => events.Any(e => e.TaskId == after));

        Assert.All(resumed, e => Assert.True(e.Id > lastSeen));
        Assert.Equal(resumed.Select(e => e.Id).Distinct().Count(), resumed.Count);
        Assert.Equal(resumed.Select(e => e.Id).Order(), resumed.Select(e => e.Id));
        Assert.All(during.Append(after), id => Assert.Single(resumed, e => e.TaskId == id));
        Assert.DoesNotContain(resumed, e => before.Contains(e.TaskId ?? Guid.Empty));
    }

    [Fact]
    public async Task LastEventIdZeroInTheQueryReplaysFromTheBeginning()
    {
        fixture.RequireAvailable();
        var task = await fixture.CreateTaskAsync("replay from zero");
        await using var client = await SseClient.ConnectAsync(fixture.Api, $"?lastEventId=0&taskId={task.Id}");
        var first = await client.NextEventAsync();
        Assert.Equal((task.Id, "task_created"), (first!.TaskId!.Value, first.Type));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("1.5")]
    public async Task AMalformedLastEventIdGets400ProblemDetails(string lastEventId)
    {
        fixture.RequireAvailable();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        using var response = await fixture.Api.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Last-Event-ID", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task TheTaskFilterLeavesOutOtherTasksAndGlobalEvents()
    {
        fixture.RequireAvailable();
        var watched = await fixture.CreateTaskAsync("watched");
        var other = await fixture.CreateTaskAsync("other");
        await using var client = await SseClient.ConnectAsync(fixture.Api, $"?taskId={watched.Id}&lastEventId=0");

        await using (var db = fixture.CreateDbContext())
        {
            await fixture.CreatePublisher().PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload("info", "global"), Ct);
        }
        await fixture.Api.PostAsync($"/api/v1/tasks/{other.Id}/cancel", null, Ct);
        await fixture.Api.PostAsync($"/api/v1/tasks/{watched.Id}/cancel", null, Ct);

        var events = await client.ReadUntilAsync(es => es.Any(e => e.Type == EventTypes.TaskUpdate));
        Assert.All(events, e => Assert.Equal(watched.Id, e.TaskId));
        Assert.Equal(["task_created", "task_update"], events.Select(e => e.Type)); // then the chat's "Cancelled by …" note
    }

    [Fact]
    public async Task TheTypesFilterDeliversOnlyTheNamedTypes()
    {
        fixture.RequireAvailable();
        await using var client = await SseClient.ConnectAsync(fixture.Api, "?types=task_update,system_notification");
        var task = await fixture.CreateTaskAsync("typed");
        await fixture.Api.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null, Ct);
        await using (var db = fixture.CreateDbContext())
        {
            await fixture.CreatePublisher().PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload("info", "typed filter"), Ct);
        }

        var events = await client.ReadUntilAsync(es => es.Any(e => e.Type == EventTypes.SystemNotification && e.Payload.GetProperty("text").GetString() == "typed filter"));
        Assert.All(events, e => Assert.Contains(e.Type, new[] { "task_update", "system_notification" }));
        Assert.Contains(events, e => e.Type == "task_update" && e.TaskId == task.Id);
        await Assert.ThrowsAsync<HttpRequestException>(() => SseClient.ConnectAsync(fixture.Api, "?types=task_exploded"));
    }

    [Fact]
    public async Task ConcurrentPublishersNeverExposeAnIdBeforeASmallerOne()
    {
        fixture.RequireAvailable();
        long start;
        await using (var db = fixture.CreateDbContext())
        {
            start = await db.Events.MaxAsync(e => (long?)e.Id, Ct) ?? 0;
        }
        const int publishers = 6, perPublisher = 40;
        using var stop = new CancellationTokenSource();

        // A reader that polls the log as fast as it can: once it has seen id N, a later read must never reveal
        // a new id below N (that id would have been visible "late", and a client resuming from N would lose it).
        var reader = Task.Run(async () =>
        {
            var seen = new HashSet<long>();
            long highest = start;
            var violations = new List<string>();
            await using var db = fixture.CreateDbContext();
            while (!stop.IsCancellationRequested)
            {
                var ids = await db.Events.AsNoTracking().Where(e => e.Id > start).Select(e => e.Id).ToListAsync();
                foreach (var id in ids.Where(seen.Add))
                {
                    if (id < highest)
                    {
                        violations.Add($"{id} became visible after {highest}");
                    }
                }
                highest = Math.Max(highest, ids.Count > 0 ? ids.Max() : highest);
            }
            return (violations, seen.Count);
        });

        var writers = Enumerable.Range(0, publishers).Select(p => Task.Run(async () =>
        {
            var publisher = fixture.CreatePublisher();
            for (var i = 0; i < perPublisher; i++)
            {
                await using var db = fixture.CreateDbContext();
                await publisher.PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload("info", $"p{p} #{i}"));
            }
        })).ToArray();
        await Task.WhenAll(writers);
        await Task.Delay(200, Ct);
        await stop.CancelAsync();
        var (violations, count) = await reader;

        Assert.Empty(violations);
        Assert.True(count >= publishers * perPublisher, $"the reader saw {count} of {publishers * perPublisher} events");
    }

    [Fact]
    public async Task TwoApiReplicasOnOneRedisBothDeliverEveryEvent()
    {
        fixture.RequireAvailable();
        using var replica = fixture.StartReplica();
        using var replicaApi = replica.CreateApiClient();
        await using var viaAspire = await SseClient.ConnectAsync(fixture.Api, "?types=task_created");
        await using var viaReplica = await SseClient.ConnectAsync(replicaApi, "?types=task_created");

        var created = new List<(Guid Id, long SentAt)>();
        for (var i = 0; i < 20; i++)
        {
            var sentAt = Stopwatch.GetTimestamp();
            var task = await fixture.CreateTaskAsync($"replicated {i}", i % 2 == 0 ? fixture.Api : replicaApi);
            created.Add((task.Id, sentAt));
        }

        foreach (var (name, client) in new[] { ("aspire api", viaAspire), ("in-process replica", viaReplica) })
        {
            var events = await client.ReadUntilAsync(es => created.All(c => es.Any(e => e.TaskId == c.Id)));
            Assert.Equal(events.Select(e => e.Id).Distinct().Count(), events.Count);
            Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
            Print($"[{fixture.Mode}] {name}: received all {created.Count} task_created events, in order, no duplicates");
        }
    }

    [Fact]
    public async Task ASlowClientIsClosedWithoutSlowingOthersAndResumesByLastEventId()
    {
        fixture.RequireAvailable();
        using var replica = fixture.StartReplica(("Osiris:Stream:BufferSize", "256"));
        using var replicaApi = replica.CreateApiClient();
        var marker = Guid.NewGuid().ToString("N");

        // The slow client never reads, and its socket's receive buffer is tiny, so the server's writes to it stall.
        using var slowHttp = fixture.CreateApiClient(new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp)
                {
                    ReceiveBufferSize = 4096,
                };
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        }) { BaseAddress = replicaApi.BaseAddress });
        using var slowResponse = await slowHttp.GetAsync("/api/v1/stream?types=system_notification", HttpCompletionOption.ResponseHeadersRead, Ct);
        await using var fast = await SseClient.ConnectAsync(replicaApi, "?types=system_notification");
        await WaitForSubscribersAsync(replica, 2);

        const int count = 1500;
        var padding = new string('x', 8 * 1024);
        bool Mine(OsirisEvent e) => e.Payload.GetProperty("text").GetString()!.StartsWith(marker);
        var fastReader = Task.Run(() => fast.ReadUntilAsync(es => es.Count(Mine) == count), Ct);
        var publisher = fixture.CreatePublisher();
        var stopwatch = Stopwatch.StartNew();
        for (var batch = 0; batch < count / 50; batch++)
        {
            await using var db = fixture.CreateDbContext();
            await publisher.PublishAsync(db, Enumerable.Range(0, 50)
                .Select(i => new EventDraft(EventTypes.SystemNotification, null, new SystemNotificationPayload("info", $"{marker} {batch * 50 + i} {padding}")))
                .ToList(), Ct);
        }

        var fastEvents = await fastReader.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.Equal(count, fastEvents.Count(Mine));
        Print($"[{fixture.Mode}] the fast client received all {count} events ({count * 8} KB) in {stopwatch.ElapsedMilliseconds} ms beside a stalled client");
        await WaitForSubscribersAsync(replica, 1);
        Assert.Equal(1, replica.Hub.ClientCount);

        // The slow client now reads: it gets what was buffered, then the stream ends before the last event.
        await using var slowBody = await slowResponse.Content.ReadAsStreamAsync(Ct);
        var slowEvents = new List<OsirisEvent>();
        await foreach (var frame in System.Net.ServerSentEvents.SseParser.Create(slowBody).EnumerateAsync(Ct))
        {
            slowEvents.Add(SseClient.Parse(frame));
        }
        var slowMine = slowEvents.Where(Mine).ToList();
        Print($"[{fixture.Mode}] the stalled client got {slowMine.Count} of {count} before it was closed");
        Assert.True(slowMine.Count < count, "the slow client was closed before the end");

        // It resumes from its last event and receives exactly the rest.
        var last = slowEvents.Count > 0 ? slowEvents[^1].Id : 0;
        await using var resumed = await SseClient.ConnectAsync(replicaApi, "?types=system_notification", lastEventId: last.ToString());
        var rest = await resumed.ReadUntilAsync(es => slowMine.Count + es.Count(Mine) == count);
        Assert.Equal(count, slowMine.Count + rest.Count(Mine));
        Assert.Empty(rest.Where(Mine).Select(e => e.Id).Intersect(slowMine.Select(e => e.Id)));
    }

    [Fact]
    public async Task AnIdleStreamSendsPingComments()
    {
        fixture.RequireAvailable();
        using var replica = fixture.StartReplica(("Osiris:Stream:HeartbeatSeconds", "0.2"));
        using var api = replica.CreateApiClient();
        using var response = await api.GetAsync("/api/v1/stream?types=task_update&taskId=" + Guid.NewGuid(), HttpCompletionOption.ResponseHeadersRead, Ct);
        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        var raw = await ReadRawUntilAsync(body, ": ping\n\n: ping\n\n");
        Assert.Contains(": ping", raw);
    }

    [Fact]
    public async Task DeliveryLatencyIsPrinted()
    {
        fixture.RequireAvailable();
        await using var client = await SseClient.ConnectAsync(fixture.Api, "?types=system_notification");
        var publisher = fixture.CreatePublisher();
        var latencies = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            var text = $"latency {i} {Guid.NewGuid()}";
            var stopwatch = Stopwatch.StartNew();
            await using (var db = fixture.CreateDbContext())
            {
                await publisher.PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload("info", text), Ct);
            }
            await client.ReadUntilAsync(es => es.Any(e => e.Payload.GetProperty("text").GetString() == text));
            latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        Print($"[{fixture.Mode}] publish (incl. commit) → SSE receive over 50 events: p50 {latencies[25]:F2} ms, max {latencies[^1]:F2} ms");
        Assert.All(latencies, l => Assert.True(l < 5000));
    }

    [Fact]
    public async Task ConcurrentPublishersShareTransactionsYetEachGetsItsOwnEventsInOrder()
    {
        fixture.RequireAvailable();
        var publisher = fixture.CreatePublisher();
        var marker = "group " + Guid.NewGuid().ToString("N")[..8];
        await using var client = await SseClient.ConnectAsync(fixture.Api, "?types=system_notification");
        var published = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            await using var db = fixture.CreateDbContext();
            return (Index: i, Event: await publisher.PublishAsync(db, EventTypes.SystemNotification, null,
                new SystemNotificationPayload("info", $"{marker} {i}"), Ct));
        }));

        foreach (var (index, e) in published)
        {
            Assert.Equal($"{marker} {index}", e.Payload.GetProperty("text").GetString());
        }
        Assert.Equal(100, published.Select(p => p.Event.Id).Distinct().Count());
        var received = (await client.ReadUntilAsync(es => es.Count(e => e.Payload.GetProperty("text").GetString()!.StartsWith(marker, StringComparison.Ordinal)) == 100))
            .Where(e => e.Payload.GetProperty("text").GetString()!.StartsWith(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(published.Select(p => p.Event.Id).Order(), received.Select(e => e.Id));
    }

    [Fact]
    public async Task StreamsBeyondTheCapOfACredentialGetA429AndAClosedStreamFreesItsSlot()
    {
        fixture.RequireAvailable();
        using var replica = fixture.StartReplica(("Osiris:Stream:MaxStreamsPerKey", "2"));
        using var api = replica.CreateApiClient();
        Task<HttpResponseMessage> Open(HttpClient client) => client.GetAsync("/api/v1/stream?types=task_created", HttpCompletionOption.ResponseHeadersRead, Ct);

        var first = await Open(api);
        using var second = await Open(api);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        using (var third = await Open(api))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
            Assert.Contains("MaxStreamsPerKey", await third.Content.ReadAsStringAsync(Ct));
            Assert.NotNull(third.Headers.RetryAfter);
        }

        // Another credential has its own count: a wrong key is refused as unauthorised, not as over the cap.
        using var stranger = replica.CreateClient();
        stranger.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-the-key");
        using (var refused = await Open(stranger))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        first.Dispose(); // the client goes away; the server notices and gives the slot back
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        do
        {
            using var again = await Open(api);
            status = again.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(100, Ct);
            }
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    private static async Task WaitForSubscribersAsync(ApiReplica replica, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (replica.Hub.ClientCount != count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Ct);
        }
    }

    private static async Task<string> ReadRawUntilAsync(Stream body, string expected)
    {
        var text = new StringBuilder();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!text.ToString().Contains(expected))
        {
            var read = await body.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        return text.ToString();
    }
}

[Collection(LocalBackbone.Name)]
public sealed class StreamOnRedisAndPostgres(LocalBackboneFixture fixture) : StreamTests<LocalBackboneFixture>(fixture);

[Collection(EmbeddedBackbone.Name)]
public sealed class StreamOnGarnetAndSqlite(EmbeddedBackboneFixture fixture) : StreamTests<EmbeddedBackboneFixture>(fixture);
