using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Web.Api;

namespace Osiris.Web.Live;

/// <summary>
/// The one subscription of this web instance to <c>GET /api/v1/stream</c>. It starts from the task list's
/// <c>X-Last-Event-Id</c> and, after any drop, resumes with <c>Last-Event-ID</c> (the store's newest applied id),
/// backing off between attempts. Every browser is served from the store, never from its own stream.
/// </summary>
public sealed class EventStreamService(
    IHttpClientFactory factory, [FromKeyedServices(OsirisApi.Service)] OsirisApi api, LiveStore store, LiveLoader loader, TimeProvider time, ILogger<EventStreamService> logger)
    : BackgroundService
{
    /// <summary>The task list read at start is capped; older tasks are fetched when someone opens them.</summary>
    private const int InitialTasks = LiveStore.DefaultTaskCapacity;

    /// <summary>Failed attempts in a row after which the indicator says offline rather than reconnecting.</summary>
    private const int OfflineAfter = 2;

    /// <summary>How long a connect may take: a proxy in front of a stopped API accepts and then hangs.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The API pings every 5 s; this long without a byte means the stream is dead even if the socket is not.</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(12);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!store.Initialized)
                {
                    var (tasks, lastEventId) = await api.ListTasksAsync(InitialTasks, stoppingToken);
                    store.Initialize(tasks, lastEventId);
                }
                await ReadStreamAsync(() => failures = 0, stoppingToken);
                logger.LogInformation("The event stream ended; resuming after event {LastEventId}", store.LastEventId);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or JsonException or OperationCanceledException || OsirisApi.IsUnreachable(e))
            {
                logger.LogWarning("The event stream failed ({Error}); resuming after event {LastEventId}", e.Message, store.LastEventId);
            }

            failures++;
            store.SetConnection(failures >= OfflineAfter ? ConnectionState.Offline : ConnectionState.Reconnecting);
            await Task.Delay(Backoff(failures), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task ReadStreamAsync(Action connected, CancellationToken ct)
    {
        var http = factory.CreateClient(OsirisApi.StreamClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/stream");
        request.Headers.Add("Last-Event-ID", store.LastEventId.ToString(CultureInfo.InvariantCulture));
        using var alive = CancellationTokenSource.CreateLinkedTokenSource(ct);
        alive.CancelAfter(ConnectTimeout);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, alive.Token);
        response.EnsureSuccessStatusCode();
        alive.CancelAfter(IdleTimeout);
        store.SetConnection(ConnectionState.Live);
        connected();
        logger.LogInformation("Event stream live after event {LastEventId}", store.LastEventId);

        // Every byte (an event or a ping) pushes the deadline on; SseParser itself never shows the pings.
        await using var body = new WatchedStream(await response.Content.ReadAsStreamAsync(ct), () => alive.CancelAfter(IdleTimeout));
        var parser = SseParser.Create(body, static (_, data) => JsonSerializer.Deserialize<OsirisEvent>(data, OsirisJson.Options)!);
        await foreach (var item in parser.EnumerateAsync(alive.Token))
        {
            // A live event names the API's dispatch span: applying it (and the renders it asks for) joins that trace.
            var e = item.Data;
            using var span = e.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var context)
                ? OsirisTelemetry.Source.StartActivity("osiris.web.apply", ActivityKind.Consumer, context)
                : null;
            span?.SetTag("osiris.event.id", e.Id);
            span?.SetTag("osiris.event.type", e.Type);
            if (store.Apply(e) is Guid unknown)
            {
                _ = loader.FetchTaskAsync(unknown);
            }
        }
    }

    /// <summary>0.25 s, 0.5 s, 1 s, 2 s, then 3 s at most, with jitter so that instances do not reconnect in step.</summary>
    private static TimeSpan Backoff(int failures)
    {
        var ms = Math.Min(3000, 250 * Math.Pow(2, Math.Min(failures - 1, 4)));
        return TimeSpan.FromMilliseconds(ms * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    /// <summary>A read-only stream that reports every read that returned data.</summary>
    private sealed class WatchedStream(Stream inner, Action onData) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => Seen(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Seen(await inner.ReadAsync(buffer, cancellationToken));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Seen(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        private int Seen(int read)
        {
            if (read > 0)
            {
                onData();
            }
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
