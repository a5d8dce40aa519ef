using Microsoft.EntityFrameworkCore;
using Osiris.Api.Tasks;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Channels;

/// <summary>A message that arrived on a channel, normalised.</summary>
public sealed record InboundMessage(
    string Channel,
    string ExternalId,
    string SenderAddress,
    string? SenderName,
    string Title,
    string Text,
    string? ReplyThread = null,
    string? ReplySubject = null,
    IReadOnlyList<string>? ThreadIds = null);

public enum IntakeOutcome
{
    NewTask,
    JoinedTask,
    Duplicate,
}

public sealed record IntakeResult(IntakeOutcome Outcome, Guid? TaskId);

/// <summary>
/// Accepts a channel message exactly once: in one transaction that holds the event-log append lock it checks the
/// (channel, external id) record, finds the sender's open task, and stores either a new task or a person's message
/// with its events. Concurrent duplicates serialise on that lock, and the unique index catches anything else.
/// </summary>
public static class ChannelIntake
{
    public static async Task<IntakeResult> AcceptAsync(OsirisDbContext db, EventPublisher publisher, TimeProvider time,
        InboundMessage message, CancellationToken ct)
    {
        try
        {
            await using var append = await publisher.BeginAsync(db, ct);
            if (await db.ChannelMessages.AnyAsync(m => m.Channel == message.Channel && m.ExternalId == message.ExternalId, ct))
            {
                return new IntakeResult(IntakeOutcome.Duplicate, null);
            }

            var now = time.UtcNow();
            var open = await FindOpenTaskAsync(db, message, ct);
            var record = new ChannelMessageRecord
            {
                Channel = message.Channel,
                ExternalId = message.ExternalId,
                Kind = "message",
                Sender = message.SenderAddress,
                ReceivedAt = now,
            };
            db.ChannelMessages.Add(record);

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

            var task = TaskIntake.NewTaskRecord(new NewTask(message.Title, message.Text, message.Channel,
                Brain: null, Model: null, RequireApproval: false, ExternalId: Fit(message.ExternalId, 300)), now);
            task.Sender = Fit(message.SenderName ?? message.SenderAddress, 300);
            task.ReplyAddress = message.SenderAddress;
            task.ReplyThread = message.ReplyThread;
            task.ReplySubject = Fit(message.ReplySubject, 1000);
            db.Tasks.Add(task);
            record.TaskId = task.Id;
            append.Add(EventTypes.TaskCreated, task.Id, task.ToDto());
            append.Add(EventTypes.SystemNotification, null, new SystemNotificationPayload(NotificationLevels.Info, Announcement(message)));
            await append.CommitAsync(ct);
            return new IntakeResult(IntakeOutcome.NewTask, task.Id);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            return new IntakeResult(IntakeOutcome.Duplicate, null);
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

    private static async Task<TaskRecord?> FindOpenTaskAsync(OsirisDbContext db, InboundMessage message, CancellationToken ct)
    {
        if (message.Channel == TaskSources.Email)
        {
            // E-mail threads by headers only: a reply naming a message of an open task joins it.
            var ids = message.ThreadIds ?? [];
            if (ids.Count == 0)
            {
                return null;
            }
            var taskIds = await db.ChannelMessages
                .Where(m => m.Channel == TaskSources.Email && ids.Contains(m.ExternalId) && m.TaskId != null)
                .Select(m => m.TaskId!.Value).Distinct().ToListAsync(ct);
            return await db.Tasks.Where(t => taskIds.Contains(t.Id) && TaskStatuses.Open.Contains(t.Status))
                .OrderByDescending(t => t.CreatedAt).FirstOrDefaultAsync(ct);
        }

        // WhatsApp: a sender's open task is their conversation.
        return await db.Tasks
            .Where(t => t.Source == message.Channel && t.ReplyAddress == message.SenderAddress && TaskStatuses.Open.Contains(t.Status))
            .OrderByDescending(t => t.CreatedAt).FirstOrDefaultAsync(ct);
    }

    private static string? Fit(string? value, int length) => value is null || value.Length <= length ? value : value[..length];

    private static string Announcement(InboundMessage message) => message.Channel switch
    {
        TaskSources.WhatsApp => $"New lead from WhatsApp: {message.SenderName ?? message.SenderAddress}",
        TaskSources.Email => $"New e-mail from {message.SenderName ?? message.SenderAddress}: {message.Title}",
        _ => $"New task from {message.Channel}: {message.Title}",
    };

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
