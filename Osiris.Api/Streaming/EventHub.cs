using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Api.Streaming;

/// <summary>
/// This replica's single subscriber to the Redis event channel. It dispatches events to local SSE clients strictly
/// in id order: a message that skips ids makes it read the missing ones from the log first (they are committed,
/// because ids commit in order), duplicates and stale ids are dropped, and a periodic check of the log catches
/// events whose pub/sub message was lost (Redis pub/sub is at-most-once).
/// </summary>
public sealed class EventHub(
    IConnectionMultiplexer redis,
    IServiceScopeFactory scopes,
    IOptions<StreamOptions> options,
    ILogger<EventHub> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<StreamSubscription, byte> _subscriptions = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastDispatched;

    /// <summary>Completes when the hub listens; streams wait for it so that none starts before live events flow.</summary>
    public Task Ready => _ready.Task;

    public long LastDispatchedId => Interlocked.Read(ref _lastDispatched);

    /// <summary>SSE clients only, not this replica's own listeners (such as the reply dispatcher).</summary>
    public int ClientCount => _subscriptions.Count(s => s.Key.IsClient);

    public StreamSubscription Subscribe(EventFilter filter, bool client = true)
    {
        var subscription = new StreamSubscription(this, filter, options.Value.BufferSize,
            traced: client && Volatile.Read(ref _traced) < options.Value.MaxTracedClients) { IsClient = client };
        if (subscription.Traced)
        {
            Interlocked.Increment(ref _traced);
        }
        _subscriptions.TryAdd(subscription, 0);
        return subscription;
    }

    internal void Remove(StreamSubscription subscription)
    {
        if (_subscriptions.TryRemove(subscription, out _) && subscription.Traced)
        {
            Interlocked.Decrement(ref _traced);
        }
    }

    private int _traced;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(EventPublisher.Channel));
        try
        {
            // Subscribe first, then read the log's end: nothing committed after this point can be missed.
            Interlocked.Exchange(ref _lastDispatched, await WithLogAsync(db => db.Events.MaxAsync(e => (long?)e.Id, stoppingToken)) ?? 0);
            _ready.TrySetResult();
            logger.LogInformation("Event hub listening from event {EventId}", LastDispatchedId);

            var catchUp = TimeSpan.FromSeconds(options.Value.CatchUpSeconds);
            while (!stoppingToken.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(catchUp);
                ChannelMessage message;
                try
                {
                    message = await queue.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    try
                    {
                        await CatchUpAsync(long.MaxValue, null, stoppingToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The log is unreachable for now (a database restart); the next round tries again.
                        logger.LogWarning(ex, "Could not read the event log to catch up; retrying in {Seconds} s", options.Value.CatchUpSeconds);
                    }
                    continue;
                }

                try
                {
                    await HandleAsync(message.Message, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bad message or a failed log read must not stop the hub; the next catch-up fills the gap.
                    logger.LogError(ex, "Could not dispatch an event message; the log will be read again");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await queue.UnsubscribeAsync();
            foreach (var subscription in _subscriptions.Keys)
            {
                subscription.Close();
            }
        }
    }

    private async Task HandleAsync(RedisValue message, CancellationToken ct)
    {
        var envelope = JsonSerializer.Deserialize<EventEnvelope>((byte[])message!, OsirisJson.Options)
            ?? throw new JsonException("Empty event envelope");
        var id = envelope.Event.Id;
        var last = LastDispatchedId;
        if (id <= last)
        {
            return;
        }
        if (id == last + 1)
        {
            Dispatch(envelope.Event, envelope.PublishedAt, envelope.TraceParent);
            return;
        }
        await CatchUpAsync(id, envelope, ct);
    }

    /// <summary>Dispatches every logged event after the last one dispatched, up to <paramref name="upTo"/>.</summary>
    private async Task CatchUpAsync(long upTo, EventEnvelope? arrived, CancellationToken ct)
    {
        while (true)
        {
            var after = LastDispatchedId;
            var records = await WithLogAsync(db => db.Events.AsNoTracking()
                .Where(e => e.Id > after && e.Id <= upTo)
                .OrderBy(e => e.Id).Take(1000).ToListAsync(ct));
            foreach (var record in records)
            {
                if (arrived is not null && record.Id == arrived.Event.Id)
                {
                    Dispatch(arrived.Event, arrived.PublishedAt, arrived.TraceParent);
                }
                else
                {
                    Dispatch(EventPublisher.ToEvent(record), record.Timestamp.UtcTicks, null);
                }
            }
            if (records.Count < 1000)
            {
                if (records.Count > 0 && upTo == long.MaxValue)
                {
                    logger.LogWarning("Recovered {Count} events from the log whose pub/sub messages never arrived", records.Count);
                }
                return;
            }
        }
    }

    private void Dispatch(OsirisEvent e, long publishedAtTicks, string? traceParent)
    {
        ActivityContext.TryParse(traceParent, null, out var parent);
        using var activity = OsirisTelemetry.Source.StartActivity("osiris.event.dispatch", ActivityKind.Consumer, parent);
        activity?.SetTag("osiris.event.id", e.Id);
        activity?.SetTag("osiris.event.type", e.Type);

        // The live frame carries the dispatch span's context (not the stored event: replays have none).
        var live = activity is null && traceParent is null ? e : e with { TraceParent = activity?.Id ?? traceParent };
        var dispatched = new DispatchedEvent(live, SseFrames.Format(live), publishedAtTicks,
            activity?.Context ?? parent);
        foreach (var (subscription, _) in _subscriptions)
        {
            subscription.Offer(dispatched);
        }
        Interlocked.Exchange(ref _lastDispatched, e.Id);
    }

    private async Task<T> WithLogAsync<T>(Func<OsirisDbContext, Task<T>> read)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<OsirisDbContext>());
    }
}
