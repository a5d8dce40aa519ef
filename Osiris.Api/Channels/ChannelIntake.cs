using Microsoft.EntityFrameworkCore;
using Osiris.Api.Tasks;
using Osiris.Shared.Contracts;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Channels;

/// <summary>
/// A message that arrived on a channel, normalised. <paramref name="Authenticated"/>: the channel proved the sender
/// (WhatsApp: Meta signs the notification; e-mail: an aligned DKIM or SPF pass), so an allow-list entry can apply.
/// </summary>
public sealed record InboundMessage(
    string Channel,
    string ExternalId,
    string SenderAddress,
    string? SenderName,
    string Title,
    string Text,
    string? ReplyThread = null,
    string? ReplySubject = null,
    IReadOnlyList<string>? ThreadIds = null,
    bool Authenticated = false);

public enum IntakeOutcome
{
    NewTask,
    JoinedTask,
    Duplicate,

    /// <summary>The sender is blocked: recorded, no task, no cost.</summary>
    Blocked,

    /// <summary>Over the sender's message or task limit: recorded (and shown in their open task), no model call.</summary>
    OverLimit,
}

public sealed record IntakeResult(IntakeOutcome Outcome, Guid? TaskId);

/// <summary>
/// Accepts a channel message exactly once and applies the trust policy: in one transaction that holds the event-log
/// append lock it checks the (channel, external id) record, the sender's level and limits, finds the sender's open
/// task, and stores either a new task or a person's message with its events. Concurrent messages serialise on that
/// lock — on every replica, since the lock and the counts live in the database — and the unique index catches
/// anything else.
/// </summary>
public static class ChannelIntake
{
    public static async Task<IntakeResult> AcceptAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time,
        InboundMessage message, CancellationToken ct)
    {
        try
        {
            var policy = await Trust.TrustPolicies.ReadAsync(db, ct);
            await using var append = await publisher.BeginAsync(db, ct);
            if (await IsDuplicateAsync(db, message, ct))
            {
                return new IntakeResult(IntakeOutcome.Duplicate, null);
            }

            var now = time.UtcNow();
            var level = policy.LevelOf(message.Channel, message.SenderAddress, message.Authenticated);
            var record = new ChannelMessageRecord
            {
                Channel = message.Channel,
                ExternalId = message.ExternalId,
                Kind = ChannelMessageKinds.Message,
                Sender = message.SenderAddress,
                ReceivedAt = now,
            };
            db.ChannelMessages.Add(record);
            if (level == SenderLevels.Blocked)
            {
                record.Kind = ChannelMessageKinds.Blocked;
                await append.CommitAsync(ct);
                return new IntakeResult(IntakeOutcome.Blocked, null);
            }

            var limits = policy.For(level);
            var (open, thread) = await FindOpenTaskAsync(db, message, level, ct);
            if (await OverLimitAsync(db, message, limits, opensTask: open is null, now, ct) is { } limit)
            {
                record.Kind = ChannelMessageKinds.OverLimit;
                record.TaskId = open?.Id;
                await HoldBackAsync(db, append, message, open, limit, now, ct);
                await append.CommitAsync(ct);
                return new IntakeResult(IntakeOutcome.OverLimit, open?.Id);
            }

            if (open is not null)
            {
                record.TaskId = open.Id;
                var person = TaskIntake.PersonMessage(open, message.Text, now);
                db.Messages.Add(person);
                open.UpdatedAt = now;
                append.Add(EventTypes.NewMessage, open.Id, TaskIntake.MessagePayload(person));
                await append.CommitAsync(ct);
                return new IntakeResult(IntakeOutcome.JoinedTask, open.Id);
            }

            var description = thread is null
                ? message.Text
                : $"{message.Text}\n\n[OSIRIS: this e-mail answers the thread of task {thread}, but its sender is not that task's sender, so it opened a task of its own.]";
            var task = TaskIntake.NewTaskRecord(new NewTask(message.Title, description, message.Channel,
                Brain: null, Model: null, RequireApproval: limits.ToolMode == ToolModes.ApproveRisky, ExternalId: Fit(message.ExternalId, 300)), now);
            task.ToolMode = limits.ToolMode;
            task.ReplyMode = limits.ReplyMode;
            task.KnowledgeCollections = KnowledgeScopes.Format(limits.KnowledgeCollections ?? [CollectionNames.BuiltIn]);
            task.SenderLevel = level;
            task.BudgetUsd = limits.MaxCostUsd;
            task.BudgetTokens = limits.MaxTokens;
            task.Sender = Fit(message.SenderName ?? message.SenderAddress, 300);
            task.ReplyAddress = message.SenderAddress;
            task.ReplyThread = message.ReplyThread;
            task.ReplySubject = Fit(message.ReplySubject, 1000);
            db.Tasks.Add(task);
            record.TaskId = task.Id;
            append.Add(EventTypes.TaskCreated, task.Id, task.ToDto());
            append.Add(EventTypes.SystemNotification, null, new SystemNotificationPayload(NotificationLevels.Info, Announcement(message, level)));
            await append.CommitAsync(ct);
            return new IntakeResult(IntakeOutcome.NewTask, task.Id);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            return new IntakeResult(IntakeOutcome.Duplicate, null);
        }
    }

    private static Task<bool> IsDuplicateAsync(OsirisDbContext db, InboundMessage message, CancellationToken ct) =>
        db.ChannelMessages.AnyAsync(m => m.Channel == message.Channel && m.ExternalId == message.ExternalId, ct);

    /// <summary>
    /// Runs the intake's queries and inserts once, in a transaction that is rolled back: EF Core compiles each query
    /// shape on first use (tens of milliseconds each, more right after start), which the first real message would
    /// otherwise pay. Nothing is stored and nothing is published.
    /// </summary>
    public static async Task WarmUpAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        var now = time.UtcNow();
        var message = new InboundMessage(TaskSources.WhatsApp, "osiris-warm-up", "0", null, "warm-up", "warm-up", Authenticated: true);
        var policy = await Trust.TrustPolicies.ReadAsync(db, ct);
        await using (var append = await publisher.BeginAsync(db, ct)) // never committed: disposing it rolls back
        {
            await IsDuplicateAsync(db, message, ct);
            await FindOpenTaskAsync(db, message, SenderLevels.Unknown, ct);
            await OverLimitAsync(db, message, policy.For(SenderLevels.Unknown) with { MessagesPerMinute = 1, TasksPerDay = 1 }, opensTask: true, now, ct);
            var task = TaskIntake.NewTaskRecord(new NewTask(message.Title, message.Text, message.Channel, Brain: null, Model: null, RequireApproval: false), now);
            db.Tasks.Add(task);
            db.ChannelMessages.Add(new ChannelMessageRecord
            {
                Channel = message.Channel, ExternalId = message.ExternalId, Kind = ChannelMessageKinds.Message, Sender = message.SenderAddress,
                ReceivedAt = now, TaskId = task.Id,
            });
            db.Events.Add(new EventRecord
            {
                Type = EventTypes.TaskCreated, TaskId = task.Id, Timestamp = now,
                Payload = System.Text.Json.JsonSerializer.Serialize(task.ToDto(), OsirisJson.Options),
            });
            await db.SaveChangesAsync(ct);
        }
        db.ChangeTracker.Clear();
    }

    private sealed record Limit(string Description, TimeSpan Window);

    /// <summary>Which of the sender's limits this message passes, counting what the database holds (so every replica agrees).</summary>
    private static async Task<Limit?> OverLimitAsync(OsirisDbContext db, InboundMessage message, TrustLevelSettings limits, bool opensTask,
        DateTimeOffset now, CancellationToken ct)
    {
        if (limits.MessagesPerMinute is int perMinute)
        {
            var since = now.AddMinutes(-1);
            var recent = await db.ChannelMessages.CountAsync(m => m.Channel == message.Channel && m.Sender == message.SenderAddress
                && m.Kind == ChannelMessageKinds.Message && m.ReceivedAt > since, ct);
            if (recent >= perMinute)
            {
                return new Limit($"{perMinute} messages a minute", TimeSpan.FromMinutes(1));
            }
        }
        if (opensTask && limits.TasksPerDay is int perDay)
        {
            var since = now.AddDays(-1);
            var tasks = await db.Tasks.CountAsync(t => t.Source == message.Channel && t.ReplyAddress == message.SenderAddress && t.CreatedAt > since, ct);
            if (tasks >= perDay)
            {
                return new Limit($"{perDay} tasks a day", TimeSpan.FromDays(1));
            }
        }
        return null;
    }

    /// <summary>
    /// Shows a held-back message in the sender's open task (as a system note the agent does not read) and, once per
    /// sender and window, tells the dashboard; a stranger cannot flood either the model or the people.
    /// </summary>
    private static async Task HoldBackAsync(OsirisDbContext db, EventAppend append, InboundMessage message, TaskRecord? open,
        Limit limit, DateTimeOffset now, CancellationToken ct)
    {
        if (open is not null)
        {
            var note = new MessageRecord
            {
                Id = Guid.CreateVersion7(now), TaskId = open.Id, Role = MessageRoles.System, Kind = MessageKinds.Text, CreatedAt = now,
                Text = $"Held back, not passed to the agent (over the sender's limit of {limit.Description}): {Fit(message.Text, 2000)}",
            };
            db.Messages.Add(note);
            append.Add(EventTypes.NewMessage, open.Id, TaskIntake.MessagePayload(note));
        }
        var since = now - limit.Window;
        var alreadyTold = await db.ChannelMessages.AnyAsync(m => m.Channel == message.Channel && m.Sender == message.SenderAddress
            && m.Kind == ChannelMessageKinds.OverLimit && m.ReceivedAt > since, ct);
        if (!alreadyTold)
        {
            append.Add(EventTypes.SystemNotification, open?.Id, new SystemNotificationPayload(NotificationLevels.Warning,
                $"{message.SenderName ?? message.SenderAddress} ({message.Channel}) is over the limit of {limit.Description}; " +
                "further messages are recorded but not worked on."));
        }
    }

    /// <summary>Records something a channel told us that creates no work (a WhatsApp delivery status).</summary>
    public static async Task<bool> RecordAsync(OsirisDbContext db, TimeProvider time, string channel, string externalId, string kind,
        string? sender, CancellationToken ct)
    {
        if (await db.ChannelMessages.AnyAsync(m => m.Channel == channel && m.ExternalId == externalId, ct))
        {
            return false;
        }
        db.ChannelMessages.Add(new ChannelMessageRecord
        {
            Channel = channel, ExternalId = externalId, Kind = kind, Sender = sender, ReceivedAt = time.UtcNow(),
        });
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            db.ChangeTracker.Clear(); // the refused record must not ride along with the next save
            return false;
        }
    }

    /// <summary>
    /// The open task a message continues, and for e-mail the task whose thread it answers when it may not join it: a
    /// reply joins a thread's open task only when its sender is that task's sender, or trusted.
    /// </summary>
    private static async Task<(TaskRecord? Open, Guid? Thread)> FindOpenTaskAsync(OsirisDbContext db, InboundMessage message, string level,
        CancellationToken ct)
    {
        if (message.Channel == TaskSources.Email)
        {
            // E-mail threads by headers only: a reply naming a message of an open task joins it.
            var ids = message.ThreadIds ?? [];
            if (ids.Count == 0)
            {
                return (null, null);
            }
            var taskIds = await db.ChannelMessages
                .Where(m => m.Channel == TaskSources.Email && ids.Contains(m.ExternalId) && m.TaskId != null)
                .Select(m => m.TaskId!.Value).Distinct().ToListAsync(ct);
            var threadTask = await db.Tasks.Where(t => taskIds.Contains(t.Id) && TaskStatuses.Open.Contains(t.Status))
                .OrderByDescending(t => t.CreatedAt).FirstOrDefaultAsync(ct);
            if (threadTask is null)
            {
                return (null, null);
            }
            var sameSender = string.Equals(threadTask.ReplyAddress, message.SenderAddress, StringComparison.OrdinalIgnoreCase);
            return sameSender || level == SenderLevels.Trusted ? (threadTask, null) : (null, threadTask.Id);
        }

        // WhatsApp: a sender's open task is their conversation.
        return (await db.Tasks
            .Where(t => t.Source == message.Channel && t.ReplyAddress == message.SenderAddress && TaskStatuses.Open.Contains(t.Status))
            .OrderByDescending(t => t.CreatedAt).FirstOrDefaultAsync(ct), null);
    }

    private static string? Fit(string? value, int length) => value is null || value.Length <= length ? value : value[..length];

    private static string Announcement(InboundMessage message, string level) => (message.Channel switch
    {
        TaskSources.WhatsApp => $"New lead from WhatsApp: {message.SenderName ?? message.SenderAddress}",
        TaskSources.Email => $"New e-mail from {message.SenderName ?? message.SenderAddress}: {message.Title}",
        _ => $"New task from {message.Channel}: {message.Title}",
    }) + (level == SenderLevels.Trusted ? "" : " (unknown sender)");

    /// <summary>A one-line title from free text: the first line, at most 80 characters.</summary>
    public static string TitleFrom(string text, string fallback)
    {
        var line = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (string.IsNullOrWhiteSpace(line))
        {
            return fallback;
        }
        return line.Length <= 80 ? line : line[..77] + "...";
    }
}
