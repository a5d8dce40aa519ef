using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Shared.Events;

/// <summary>What a publisher wants to say; the log gives it an id and a timestamp.</summary>
public sealed record EventDraft(string Type, Guid? TaskId, object Payload);

/// <summary>
/// Appends events to the log and fans them out over Redis pub/sub.
/// Ids become visible in order: on PostgreSQL every append takes one transaction-scoped advisory lock before the
/// identity value is drawn, so commits happen in id order; SQLite has a single writer, which gives the same.
/// Pending entity changes on the same context are saved in the same transaction (a task and its task_created).
/// </summary>
public sealed class EventPublisher(IConnectionMultiplexer redis, TimeProvider time, ILogger<EventPublisher> logger)
{
    public const string Channel = "osiris:events";
    private const long AppendLockKey = 0x05_1215_0001;

    public async Task<OsirisEvent> PublishAsync(OsirisDbContext db, string type, Guid? taskId, object payload, CancellationToken cancellationToken = default) =>
        (await PublishAsync(db, [new EventDraft(type, taskId, payload)], cancellationToken))[0];

    public async Task<IReadOnlyList<OsirisEvent>> PublishAsync(OsirisDbContext db, IReadOnlyList<EventDraft> drafts, CancellationToken cancellationToken = default)
    {
        if (drafts.Count > 0 && !db.ChangeTracker.HasChanges())
        {
            cancellationToken.ThrowIfCancellationRequested();
            return await GroupCommitAsync(db, drafts);
        }
        // Entity changes commit with their events, in the caller's own transaction.
        await using var append = await BeginAsync(db, cancellationToken);
        append.AddRange(drafts);
        return await append.CommitAsync(cancellationToken);
    }

    /// <summary>Events waiting for the current leader's transaction, and whether a leader is at work.</summary>
    private readonly Lock _groupGate = new();
    private List<GroupEntry> _group = [];
    private bool _leading;

    private sealed class GroupEntry(IReadOnlyList<EventDraft> drafts)
    {
        public IReadOnlyList<EventDraft> Drafts { get; } = drafts;

        /// <summary>Completes with the entry's events once a leader committed them.</summary>
        public TaskCompletionSource<IReadOnlyList<OsirisEvent>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when this entry's caller is to lead the next transaction itself.</summary>
        public TaskCompletionSource Lead { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Group commit for events without entity changes (text deltas, terminal lines, notifications): callers that
    /// arrive while a transaction is under way queue, and the next transaction appends all of them at once — one append
    /// lock, one insert, one commit for many events, in arrival order. The append lock is held once per batch instead of
    /// once per event, which is what made publishers wait on each other under load. The first caller in a quiet moment
    /// commits alone at once; a leader commits one batch, then hands the lead to the first caller still waiting.
    /// </summary>
    private async Task<IReadOnlyList<OsirisEvent>> GroupCommitAsync(OsirisDbContext db, IReadOnlyList<EventDraft> drafts)
    {
        var entry = new GroupEntry(drafts);
        bool lead;
        lock (_groupGate)
        {
            _group.Add(entry);
            lead = !_leading;
            _leading = true;
        }
        // A waiter does not give up on cancellation: its entry may be handed the lead, and the events it queued are
        // committed with the batch either way (an append takes milliseconds).
        if (!lead && await Task.WhenAny(entry.Done.Task, entry.Lead.Task) == entry.Done.Task)
        {
            return await entry.Done.Task;
        }

        // This caller leads: it commits everything queued so far, on its own context.
        List<GroupEntry> batch;
        lock (_groupGate)
        {
            batch = _group;
            _group = [];
        }
        try
        {
            // Not cancelled by this caller's token: the batch holds other callers' events too.
            IReadOnlyList<OsirisEvent> events;
            if (db is PostgresOsirisDbContext postgres)
            {
                events = await AppendInOneRoundTripAsync(postgres, [.. batch.SelectMany(b => b.Drafts)]);
            }
            else
            {
                await using var append = await BeginAsync(db, CancellationToken.None);
                append.AddRange(batch.SelectMany(b => b.Drafts));
                events = await append.CommitAsync(CancellationToken.None);
            }
            var offset = 0;
            foreach (var member in batch)
            {
                member.Done.TrySetResult(events.Skip(offset).Take(member.Drafts.Count).ToList());
                offset += member.Drafts.Count;
            }
        }
        catch (Exception ex)
        {
            foreach (var member in batch)
            {
                member.Done.TrySetException(ex);
            }
        }
        finally
        {
            GroupEntry? next = null;
            lock (_groupGate)
            {
                if (_group.Count > 0)
                {
                    next = _group[0];
                }
                else
                {
                    _leading = false;
                }
            }
            next?.Lead.TrySetResult(); // its caller wakes and leads the next batch
        }
        return await entry.Done.Task;
    }

    /// <summary>
    /// Opens a transaction holding the append lock, for work that must read and write atomically with its events
    /// (a webhook deciding whether a sender has an open task). Nothing is fanned out before the commit.
    /// </summary>
    public async Task<EventAppend> BeginAsync(OsirisDbContext db, CancellationToken cancellationToken = default)
    {
        // SQLite's transactions begin IMMEDIATE (Microsoft.Data.Sqlite's default): the single write lock is taken here.
        // Writers of this process queue on a semaphore first: SQLite's own busy retries sleep, which would turn every
        // contended append into a latency spike; across processes the busy retry remains the fallback.
        using var wait = OsirisTelemetry.Source.StartActivity("osiris.event.lock"); // ends once the lock is held
        SemaphoreSlim? gate = null;
        if (db is SqliteOsirisDbContext)
        {
            gate = SqliteWriters;
            await gate.WaitAsync(cancellationToken);
        }
        try
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (db is PostgresOsirisDbContext)
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_xact_lock({AppendLockKey})", cancellationToken);
            }
            return new EventAppend(this, db, transaction, gate);
        }
        catch
        {
            gate?.Release();
            throw;
        }
    }

    private static readonly SemaphoreSlim SqliteWriters = new(1, 1);

    internal async Task<IReadOnlyList<OsirisEvent>> CommitAsync(OsirisDbContext db, IDbContextTransaction transaction,
        IReadOnlyList<EventDraft> drafts, CancellationToken cancellationToken)
    {
        using var activity = OsirisTelemetry.Source.StartActivity("osiris.event.publish", ActivityKind.Producer);
        var now = time.UtcNow();
        // Each payload is serialised once: the element feeds the live event, its text the stored one.
        var payloads = drafts.Select(d => JsonSerializer.SerializeToElement(d.Payload, d.Payload.GetType(), OsirisJson.Options)).ToList();
        var records = drafts.Select((d, i) => new EventRecord
        {
            Type = d.Type,
            TaskId = d.TaskId,
            Timestamp = now,
            Payload = payloads[i].GetRawText(),
        }).ToList();
        db.Events.AddRange(records);
        using (OsirisTelemetry.Source.StartActivity("osiris.event.commit"))
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        var events = records.Select((r, i) => new OsirisEvent(r.Id, r.Type, r.TaskId, r.Timestamp, payloads[i])).ToList();
        await FanOutAsync(events, activity);
        return events;
    }

    /// <summary>
    /// PostgreSQL, events only: the append lock, every insert and the commit go to the server in one batch — one round
    /// trip, run by Npgsql as one implicit transaction — so the lock is held only while the server works (well under a
    /// millisecond), not across three round trips of a client that may be waiting for a CPU. Ids are drawn in order
    /// under the lock and commit in order, as with <see cref="BeginAsync"/>.
    /// </summary>
    private async Task<IReadOnlyList<OsirisEvent>> AppendInOneRoundTripAsync(PostgresOsirisDbContext db, IReadOnlyList<EventDraft> drafts)
    {
        using var activity = OsirisTelemetry.Source.StartActivity("osiris.event.publish", ActivityKind.Producer);
        var now = time.UtcNow();
        var payloads = drafts.Select(d => JsonSerializer.SerializeToElement(d.Payload, d.Payload.GetType(), OsirisJson.Options)).ToList();
        var insert = _insertSql ??= InsertSql(db);

        var connection = (Npgsql.NpgsqlConnection)db.Database.GetDbConnection();
        var opened = connection.State != System.Data.ConnectionState.Open;
        if (opened)
        {
            await connection.OpenAsync();
        }
        var ids = new long[drafts.Count];
        try
        {
            await using var batch = new Npgsql.NpgsqlBatch(connection);
            batch.BatchCommands.Add(new Npgsql.NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock({AppendLockKey})"));
            for (var i = 0; i < drafts.Count; i++)
            {
                var command = new Npgsql.NpgsqlBatchCommand(insert);
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = drafts[i].Type });
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = (object?)drafts[i].TaskId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = now });
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = payloads[i].GetRawText(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                batch.BatchCommands.Add(command);
            }
            using (OsirisTelemetry.Source.StartActivity("osiris.event.commit"))
            {
                await using var reader = await batch.ExecuteReaderAsync();
                for (var i = 0; i < drafts.Count; i++)
                {
                    await reader.NextResultAsync(); // past the lock's row, then each insert's
                    await reader.ReadAsync();
                    ids[i] = reader.GetInt64(0);
                }
            }
        }
        finally
        {
            if (opened)
            {
                await connection.CloseAsync();
            }
        }
        var events = drafts.Select((d, i) => new OsirisEvent(ids[i], d.Type, d.TaskId, now, payloads[i])).ToList();
        await FanOutAsync(events, activity);
        return events;
    }

    /// <summary>The event insert for the one-round-trip append, built once from the EF model's names (hot path).</summary>
    private string? _insertSql;

    private static string InsertSql(PostgresOsirisDbContext db)
    {
        var entity = db.Model.FindEntityType(typeof(EventRecord))!;
        var table = Microsoft.EntityFrameworkCore.Metadata.StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        string Column(string property) => "\"" + entity.FindProperty(property)!.GetColumnName(table) + "\"";
        return $"INSERT INTO \"{entity.GetTableName()}\" ({Column(nameof(EventRecord.Type))}, {Column(nameof(EventRecord.TaskId))}, " +
                     $"{Column(nameof(EventRecord.Timestamp))}, {Column(nameof(EventRecord.Payload))}) VALUES ($1, $2, $3, $4) RETURNING {Column(nameof(EventRecord.Id))}";
    }

    private async Task FanOutAsync(List<OsirisEvent> events, Activity? activity)
    {
        if (events.Count == 0)
        {
            return;
        }
        activity?.SetTag("osiris.event.id", events[^1].Id);
        activity?.SetTag("osiris.event.type", events[^1].Type);
        activity?.SetTag("osiris.event.count", events.Count);

        var traceParent = activity?.Id;
        var publishedAt = time.GetUtcNow().UtcTicks;
        var subscriber = redis.GetSubscriber();
        using var fanout = OsirisTelemetry.Source.StartActivity("osiris.event.fanout", ActivityKind.Producer);
        foreach (var e in events)
        {
            var envelope = JsonSerializer.SerializeToUtf8Bytes(new EventEnvelope(e, traceParent, publishedAt), OsirisJson.Options);
            try
            {
                // Fire and forget: the log already holds the event, and every API replica fills gaps from it.
                await subscriber.PublishAsync(RedisChannel.Literal(Channel), envelope, CommandFlags.FireAndForget);
            }
            catch (RedisException ex)
            {
                logger.LogWarning(ex, "Event {EventId} is stored but could not be fanned out; replicas will fill the gap from the log", e.Id);
            }
        }
    }

    public static OsirisEvent ToEvent(EventRecord record)
    {
        using var payload = JsonDocument.Parse(record.Payload);
        return new OsirisEvent(record.Id, record.Type, record.TaskId, record.Timestamp, payload.RootElement.Clone());
    }

}

/// <summary>What travels over Redis: the event, the publisher's trace context and the publish time (UTC ticks).</summary>
public sealed record EventEnvelope(OsirisEvent Event, string? TraceParent, long PublishedAt);

/// <summary>An open append: entity changes and events made through it commit together, then fan out.</summary>
public sealed class EventAppend(EventPublisher publisher, OsirisDbContext db, IDbContextTransaction transaction, SemaphoreSlim? gate) : IAsyncDisposable
{
    private readonly List<EventDraft> _drafts = [];
    private bool _committed;

    public void Add(string type, Guid? taskId, object payload) => _drafts.Add(new EventDraft(type, taskId, payload));

    public void AddRange(IEnumerable<EventDraft> drafts) => _drafts.AddRange(drafts);

    public async Task<IReadOnlyList<OsirisEvent>> CommitAsync(CancellationToken cancellationToken = default)
    {
        _committed = true;
        return await publisher.CommitAsync(db, transaction, _drafts, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_committed)
            {
                await transaction.RollbackAsync();
            }
            await transaction.DisposeAsync();
        }
        finally
        {
            gate?.Release();
        }
    }
}
