using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Streaming;

/// <summary>
/// <c>GET /api/v1/stream</c>: every event, live, as Server-Sent Events. Frames come from <see cref="SseFrames"/>
/// (formatted once per event with SseFormatter). The opening <c>retry:</c> hint and the <c>: ping</c> comments are
/// written by hand: SseFormatter writes <c>retry:</c> only inside an event (<c>SseItem.ReconnectionInterval</c>), always
/// with a <c>data:</c> line, which an EventSource would dispatch as an empty message; and it writes no comments.
/// Every frame is flushed at once.
/// </summary>
public static class StreamApi
{
    private static readonly byte[] Ping = ": ping\n\n"u8.ToArray();
    private const int ReplayFlushBytes = 64 * 1024;

    public static RouteGroupBuilder MapStreamApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").RequireRole(Policies.Viewer).ValidateRequests().WithTags("Stream");
        group.MapGet("/stream", StreamEvents)
            .RequireRateLimiting(StreamLimits.Policy)
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return group;
    }

    /// <summary>The stream's filters and resume point: query <c>taskId</c> (repeatable), <c>types</c>, <c>lastEventId</c>, or the <c>Last-Event-ID</c> header.</summary>
    public sealed record StreamQuery(
        [FromQuery(Name = "taskId")] Guid[]? TaskIds,
        [FromQuery(Name = "types")] string? Types,
        [FromQuery(Name = "lastEventId")] string? LastEventId,
        [FromHeader(Name = "Last-Event-ID")] string? LastEventIdHeader) : IValidatable
    {
        private string? ResumeText => string.IsNullOrWhiteSpace(LastEventIdHeader) ? LastEventId : LastEventIdHeader;

        /// <summary>Replay after this id, then live; null: live only.</summary>
        public long? ResumeAfter =>
            long.TryParse(ResumeText?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var after) ? after : null;

        public EventFilter Filter
        {
            get
            {
                var types = Types?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
                return new EventFilter(TaskIds is { Length: > 0 } ? TaskIds.ToHashSet() : null, types is { Count: > 0 } ? types : null);
            }
        }

        public Dictionary<string, string[]> Validate()
        {
            var errors = new Dictionary<string, string[]>();
            if (!string.IsNullOrWhiteSpace(ResumeText) && ResumeAfter is null)
            {
                errors["Last-Event-ID"] = [$"'{ResumeText}' is not an event id; send a non-negative integer (0 replays from the start)."];
            }
            var unknown = Types?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(t => !EventTypes.All.Contains(t)).ToList() ?? [];
            if (unknown.Count > 0)
            {
                errors["types"] = [$"Unknown event type {string.Join(", ", unknown)}. Allowed: {string.Join(", ", EventTypes.All)}."];
            }
            return errors;
        }
    }

    public static async Task<EmptyHttpResult> StreamEvents(
        HttpContext http,
        EventHub hub,
        OsirisDbContext db,
        IOptions<StreamOptions> options,
        IHostApplicationLifetime lifetime,
        [AsParameters] StreamQuery query)
    {
        var resumeAfter = query.ResumeAfter;
        var filter = query.Filter;
        await hub.Ready.WaitAsync(http.RequestAborted);
        using var subscription = hub.Subscribe(filter);

        http.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        await http.Response.StartAsync(http.RequestAborted);
        http.Response.BodyWriter.Write(Encoding.ASCII.GetBytes($"retry: {options.Value.RetryMilliseconds}\n\n"));
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);

        // Streams end when the replica stops, so that shutdown does not wait for them; clients resume elsewhere.
        using var streaming = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var watch = WatchCredentialAsync(http, streaming, TimeSpan.FromSeconds(options.Value.CredentialCheckSeconds));
        try
        {
            await WriteFramesAsync(http, db, subscription, resumeAfter, options.Value, streaming.Token);
        }
        catch (OperationCanceledException) when (streaming.IsCancellationRequested)
        {
            // The client went away, the replica is stopping, or the credential no longer stands.
        }
        await streaming.CancelAsync();
        await watch;
        return TypedResults.Empty;
    }

    /// <summary>
    /// A stream lives no longer than the session or token it was opened with (directly or through a ticket): checked
    /// every <paramref name="every"/> in a scope of its own; when it no longer stands, the stream ends.
    /// </summary>
    private static async Task WatchCredentialAsync(HttpContext http, CancellationTokenSource streaming, TimeSpan every)
    {
        if (!Guid.TryParse(http.User.FindFirstValue(OsirisAuthenticationHandler.TokenIdClaim), out var tokenId))
        {
            return; // a service credential (the api-key, the web's key): configuration, not revocable here
        }
        var services = http.RequestServices;
        var time = services.GetRequiredService<TimeProvider>();
        try
        {
            using var timer = new PeriodicTimer(every, time);
            while (await timer.WaitForNextTickAsync(streaming.Token))
            {
                bool stands;
                try
                {
                    await using var scope = services.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
                    stands = await AccessTokens.StandsAsync(scope.ServiceProvider.GetRequiredService<OsirisDbContext>(), tokenId, time.UtcNow(), streaming.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database is unreachable for a moment: the stream goes on; the next check decides.
                    services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StreamApi)).LogWarning(e, "Could not check a stream's credential");
                    continue;
                }
                if (!stands)
                {
                    await streaming.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The stream ended first.
        }
    }

    /// <summary>
    /// Replays, then writes live frames as they come. Frames already queued are written together and flushed once;
    /// the heartbeat reuses one timer per stream (a timer per wait would cost 10,000 timers a second under load).
    /// </summary>
    private static async Task WriteFramesAsync(
        HttpContext http, OsirisDbContext db, StreamSubscription subscription, long? resumeAfter, StreamOptions options, CancellationToken ct)
    {
        var writer = http.Response.BodyWriter;
        var lastSent = resumeAfter ?? 0;
        if (resumeAfter is long after)
        {
            // A long history goes out in bounded batches (a page of the log read at a time, flushed every ~64 KB):
            // a replica never holds a whole replay in memory, and a slow client slows only its own reads.
            await foreach (var replayed in Replay(db, subscription.Filter, after, ct))
            {
                writer.Write(replayed.Frame);
                lastSent = replayed.Event.Id;
                if (writer.CanGetUnflushedBytes ? writer.UnflushedBytes >= ReplayFlushBytes : replayed.Event.Id % 100 == 0)
                {
                    await writer.FlushAsync(ct);
                }
            }
            await writer.FlushAsync(ct);
        }

        var heartbeat = TimeSpan.FromSeconds(options.HeartbeatSeconds);
        var reader = subscription.Reader;
        var batch = new List<DispatchedEvent>(16);
        var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            while (true)
            {
                batch.Clear();
                while (batch.Count < 64 && reader.TryRead(out var next))
                {
                    if (next.Event.Id > lastSent) // else: already replayed from the log
                    {
                        lastSent = next.Event.Id;
                        batch.Add(next);
                    }
                }
                if (batch.Count > 0)
                {
                    await WriteBatchAsync(writer, subscription, batch, ct);
                    continue;
                }

                idle.CancelAfter(heartbeat);
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Idle for a whole heartbeat period.
                    writer.Write(Ping);
                    await writer.FlushAsync(ct);
                    idle.Dispose();
                    idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    continue;
                }
                if (!idle.TryReset())
                {
                    idle.Dispose();
                    idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                }
                if (!more)
                {
                    // Completed: this client fell too far behind, or the replica is stopping. It resumes by Last-Event-ID.
                    return;
                }
            }
        }
        finally
        {
            idle.Dispose();
        }
    }

    private static async Task WriteBatchAsync(PipeWriter writer, StreamSubscription subscription,
        List<DispatchedEvent> batch, CancellationToken ct)
    {
        using var activity = subscription.Traced
            ? OsirisTelemetry.Source.StartActivity("osiris.event.sse_write", ActivityKind.Producer, batch[0].Parent)
            : null;
        activity?.SetTag("osiris.event.id", batch[^1].Event.Id);
        activity?.SetTag("osiris.event.type", batch[^1].Event.Type);
        activity?.SetTag("osiris.stream.batch", batch.Count);
        foreach (var e in batch)
        {
            writer.Write(e.Frame);
        }
        await writer.FlushAsync(ct);
        var now = DateTime.UtcNow.Ticks;
        foreach (var e in batch)
        {
            OsirisTelemetry.DeliveryLatency.Record(TimeSpan.FromTicks(now - e.PublishedAtTicks).TotalMilliseconds,
                new KeyValuePair<string, object?>("osiris.event.type", e.Event.Type));
        }
    }

    private static async IAsyncEnumerable<DispatchedEvent> Replay(OsirisDbContext db, EventFilter filter, long after,
        [EnumeratorCancellation] CancellationToken ct)
    {
        const int page = 500;
        var cursor = after;
        while (true)
        {
            var query = db.Events.AsNoTracking().Where(e => e.Id > cursor);
            if (filter.TaskIds is { } taskIds)
            {
                var ids = taskIds.Select(id => (Guid?)id).ToList();
                query = query.Where(e => ids.Contains(e.TaskId));
            }
            if (filter.Types is { } types)
            {
                var list = types.ToList();
                query = query.Where(e => list.Contains(e.Type));
            }
            var records = await query.OrderBy(e => e.Id).Take(page).ToListAsync(ct);
            foreach (var record in records)
            {
                var e = EventPublisher.ToEvent(record);
                yield return new DispatchedEvent(e, SseFrames.Format(e), record.Timestamp.UtcTicks, default);
                cursor = record.Id;
            }
            if (records.Count < page)
            {
                yield break;
            }
        }
    }

}
