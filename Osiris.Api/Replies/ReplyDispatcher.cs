using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Streaming;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Replies;

/// <summary><c>Osiris:Replies</c>: delivery retries.</summary>
public sealed class ReplyOptions
{
    public const string Section = "Osiris:Replies";

    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay; each next one doubles.</summary>
    [Range(0.01, 600)]
    public double BaseDelaySeconds { get; set; } = 2;
}

/// <summary>
/// Sends a completed task's result back to the WhatsApp or e-mail sender — at once, or once a person approved it in
/// review (see <see cref="ReplyReviewApi"/>). It wakes on <c>task_update</c> events and also scans the database, so a
/// completion seen by no replica is still answered. One delivery row per task (unique index) holds the text and the
/// status; moving it from queued to sending decides which replica sends; every attempt is stored and published.
/// </summary>
public sealed class ReplyDispatcher(
    EventHub hub,
    IServiceScopeFactory scopes,
    TimeProvider time,
    IOptions<ReplyOptions> options,
    ILogger<ReplyDispatcher> logger) : BackgroundService
{
    private static readonly string[] Channels = [TaskSources.WhatsApp, TaskSources.Email];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await hub.Ready.WaitAsync(stoppingToken);
        var updates = Subscribe();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (updates.Reader.Completion.IsCompleted)
                {
                    // It fell behind while delivering (the hub closes full buffers); the scan below covers the gap.
                    updates.Dispose();
                    updates = Subscribe();
                }
                await ScanAsync(stoppingToken);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(TimeSpan.FromSeconds(30));
                try
                {
                    while (await updates.Reader.WaitToReadAsync(wait.Token))
                    {
                        if (updates.Reader.TryRead(out var update) && update.Event.Payload.TryGetProperty("status", out var status)
                            && status.GetString() == TaskStatuses.Completed)
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Reply scan failed; retrying in 5 s");
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            }
        }
        updates.Dispose();
    }

    private StreamSubscription Subscribe() =>
        hub.Subscribe(new EventFilter(null, new HashSet<string> { EventTypes.TaskUpdate }), client: false);

    private async Task ScanAsync(CancellationToken ct)
    {
        List<Guid> answered;
        List<Guid> queued;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
            var since = time.GetUtcNow().AddDays(-7);
            answered = await db.Tasks
                .Where(t => t.Status == TaskStatuses.Completed && Channels.Contains(t.Source) && t.ReplyAddress != null && t.OriginKind == null
                    && t.UpdatedAt > since && !db.Deliveries.Any(d => d.TaskId == t.Id))
                .Select(t => t.Id).ToListAsync(ct);
            // Deliveries abandoned mid-way (the replica stopped during a retry) are queued again, their text kept.
            var stale = time.UtcNow().AddMinutes(-5);
            await db.Deliveries
                .Where(d => (d.Status == DeliveryStatuses.Sending || d.Status == DeliveryStatuses.Retrying) && d.UpdatedAt < stale)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeliveryStatuses.Queued), ct);
            queued = await db.Deliveries.Where(d => d.Status == DeliveryStatuses.Queued).Select(d => d.Id).ToListAsync(ct);
        }
        foreach (var taskId in answered)
        {
            if (await CreateDeliveryAsync(taskId, ct) is Guid deliveryId)
            {
                queued.Add(deliveryId);
            }
        }
        foreach (var deliveryId in queued.Distinct())
        {
            await SendAsync(deliveryId, ct);
        }
    }

    /// <summary>
    /// One delivery row per task (a unique index) decides which replica handles the answer. A task whose reply mode is
    /// review waits for a person (its <c>task_update</c> carries the reply); otherwise it is queued for sending.
    /// </summary>
    private async Task<Guid?> CreateDeliveryAsync(Guid taskId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var publisher = scope.ServiceProvider.GetRequiredService<EventPublisher>();
        var task = await db.Tasks.SingleAsync(t => t.Id == taskId, ct);
        var review = task.ReplyMode == ReplyModes.Review;
        var delivery = new DeliveryRecord
        {
            Id = Guid.CreateVersion7(), TaskId = task.Id, Channel = task.Source, Recipient = task.ReplyAddress!,
            Status = review ? DeliveryStatuses.Review : DeliveryStatuses.Queued,
            Text = string.IsNullOrWhiteSpace(task.Result) ? "Your request is complete." : task.Result,
            CreatedAt = time.UtcNow(), UpdatedAt = time.UtcNow(),
        };
        db.Deliveries.Add(delivery);
        if (!review)
        {
            try
            {
                await db.SaveChangesAsync(ct);
                return delivery.Id;
            }
            catch (DbUpdateException ex) when (ex.IsUniqueViolation())
            {
                return null; // another replica took it
            }
        }
        try
        {
            await using var append = await publisher.BeginAsync(db, ct);
            append.Add(EventTypes.TaskUpdate, task.Id, task.ToUpdate(reply: new PendingReply(delivery.Id, delivery.Channel, delivery.Recipient, delivery.Text)));
            append.Add(EventTypes.SystemNotification, task.Id, new SystemNotificationPayload(NotificationLevels.Info,
                $"A reply to {task.Sender ?? task.ReplyAddress} awaits review: nothing is sent before a person decides."));
            await append.CommitAsync(ct);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            // another replica took it
        }
        return null;
    }

    private async Task SendAsync(Guid deliveryId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var publisher = scope.ServiceProvider.GetRequiredService<EventPublisher>();
        // Whoever moves it from queued to sending sends it; other replicas see no row change and leave it.
        var now = time.UtcNow();
        if (await db.Deliveries.Where(d => d.Id == deliveryId && d.Status == DeliveryStatuses.Queued)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeliveryStatuses.Sending).SetProperty(d => d.UpdatedAt, now), ct) == 0)
        {
            return;
        }
        var delivery = await db.Deliveries.SingleAsync(d => d.Id == deliveryId, ct);
        var task = await db.Tasks.SingleAsync(t => t.Id == delivery.TaskId, ct);
        var text = delivery.Text ?? (string.IsNullOrWhiteSpace(task.Result) ? "Your request is complete." : task.Result);
        var channelName = task.Source == TaskSources.WhatsApp ? "WhatsApp" : "e-mail";
        var delay = TimeSpan.FromSeconds(options.Value.BaseDelaySeconds);
        for (var attempt = delivery.Attempts + 1; ; attempt++)
        {
            delivery.Attempts = attempt;
            try
            {
                delivery.ExternalId = task.Source == TaskSources.WhatsApp
                    ? await scope.ServiceProvider.GetRequiredService<WhatsAppSender>().SendAsync(task, text, ct)
                    : await scope.ServiceProvider.GetRequiredService<EmailSender>().SendAsync(task, text, ct);
                delivery.Status = DeliveryStatuses.Sent;
                delivery.LastError = null;
                if (task.Source == TaskSources.Email && delivery.ExternalId is { } messageId)
                {
                    // Our reply's Message-ID, so that an answer to it threads back onto this task.
                    db.ChannelMessages.Add(new ChannelMessageRecord
                    {
                        Channel = TaskSources.Email, ExternalId = messageId, Kind = ChannelMessageKinds.Outbound, TaskId = task.Id, ReceivedAt = time.UtcNow(),
                    });
                }
                await FinishAttemptAsync(db, publisher, delivery, NotificationLevels.Info,
                    $"Reply to {task.Sender ?? task.ReplyAddress} delivered over {channelName} (attempt {attempt}).", ct);
                return;
            }
            catch (Exception raw) when (!ct.IsCancellationRequested)
            {
                // Anything a channel throws (timeouts, DNS, a malformed answer, a bad address) is a failed attempt.
                var ex = raw as DeliveryException ?? new DeliveryException(raw.Message, permanent: raw is FormatException or MimeKit.ParseException);
                var final = ex.Permanent || attempt >= options.Value.MaxAttempts;
                delivery.Status = final ? DeliveryStatuses.Failed : DeliveryStatuses.Retrying;
                delivery.LastError = ex.Message;
                logger.LogWarning("Reply for task {TaskId} over {Channel}, attempt {Attempt}: {Error}", task.Id, channelName, attempt, ex.Message);
                await FinishAttemptAsync(db, publisher, delivery, final ? NotificationLevels.Error : NotificationLevels.Warning, final
                    ? $"Reply to {task.Sender ?? task.ReplyAddress} over {channelName} failed after {attempt} attempt(s): {ex.Message}"
                    : $"Reply over {channelName}, attempt {attempt} failed: {ex.Message}; retrying in {delay.TotalSeconds:0.##} s.", ct);
                if (final)
                {
                    return;
                }
                await Task.Delay(delay, time, ct);
                delay *= 2;
            }
        }
    }

    private async Task FinishAttemptAsync(OsirisDbContext db, EventPublisher publisher, DeliveryRecord delivery, string level, string text,
        CancellationToken ct)
    {
        delivery.UpdatedAt = time.UtcNow();
        await publisher.PublishAsync(db, EventTypes.SystemNotification, delivery.TaskId, new SystemNotificationPayload(level, text), ct);
    }
}
