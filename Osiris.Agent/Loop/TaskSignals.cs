using System.Collections.Concurrent;
using System.Text.Json;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using StackExchange.Redis;

namespace Osiris.Agent.Loop;

/// <summary>
/// Wake-ups from the event channel. Redis only wakes the agent: new work (task_created), a cancel, a person's
/// message, an approval decision. Every decision itself is read from the database, so a lost message only delays.
/// </summary>
public sealed class TaskSignals(IConnectionMultiplexer redis, ILogger<TaskSignals> logger) : IHostedService
{
    private readonly ConcurrentDictionary<Guid, TaskSignal> _tasks = new();
    private readonly SemaphoreSlim _work = new(0, 1);
    private ChannelMessageQueue? _queue;

    /// <summary>Released when new work may be waiting.</summary>
    public SemaphoreSlim NewWork => _work;

    public TaskSignal Register(Guid taskId) => _tasks.GetOrAdd(taskId, _ => new TaskSignal(WakeWorker));

    /// <summary>Whether the task is waiting for a person (an approval): such a task does not take up a worker slot.</summary>
    public bool IsWaitingForPerson(Guid taskId) => _tasks.TryGetValue(taskId, out var signal) && signal.WaitingForPerson;

    /// <summary>Lets the worker look for work again (new tasks, or a slot freed by a task that now waits for a person).</summary>
    public void WakeWorker()
    {
        if (_work.CurrentCount > 0)
        {
            return;
        }
        try
        {
            _work.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up is enough, the worker claims until nothing is left.
        }
    }

    public void Unregister(Guid taskId) => _tasks.TryRemove(taskId, out _);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(EventPublisher.Channel));
        _queue.OnMessage(message =>
        {
            try
            {
                var envelope = JsonSerializer.Deserialize<EventEnvelope>((byte[])message.Message!, OsirisJson.Options);
                if (envelope?.Event is { } e)
                {
                    Route(e);
                }
            }
            catch (JsonException ex)
            {
                logger.LogWarning(ex, "Ignored an unreadable event message");
            }
        });
    }

    private void Route(OsirisEvent e)
    {
        if (e.Type == EventTypes.TaskCreated || e.Type == EventTypes.TaskUpdate && Status(e) == TaskStatuses.Queued)
        {
            WakeWorker();
        }
        if (e.TaskId is not Guid id || !_tasks.TryGetValue(id, out var signal))
        {
            return;
        }
        if (e.Type == EventTypes.TaskUpdate && Status(e) == TaskStatuses.Cancelled)
        {
            signal.Cancel();
        }
        signal.Wake();
    }

    private static string? Status(OsirisEvent e) =>
        e.Payload.ValueKind == JsonValueKind.Object && e.Payload.TryGetProperty("status", out var s) ? s.GetString() : null;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            await _queue.UnsubscribeAsync();
        }
    }
}

/// <summary>One running task's wake-ups: cancel, and "something changed, look again"; and whether it waits for a person.</summary>
public sealed class TaskSignal(Action slotFreed)
{
    private volatile bool _waitingForPerson;

    public bool WaitingForPerson => _waitingForPerson;

    /// <summary>From now until <see cref="EndWaitingForPerson"/>, the task's worker slot is free for other work.</summary>
    public void BeginWaitingForPerson()
    {
        _waitingForPerson = true;
        slotFreed();
    }

    public void EndWaitingForPerson() => _waitingForPerson = false;

    private readonly CancellationTokenSource _cancelled = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationToken Cancelled => _cancelled.Token;

    public void Cancel() => _cancelled.Cancel();

    public void Wake() => Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits for a wake-up, at most <paramref name="timeout"/> (decisions are re-read from the database anyway).</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => Volatile.Read(ref _changed).Task.WaitAsync(timeout, ct)
        .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
