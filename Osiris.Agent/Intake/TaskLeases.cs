using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Agent.Intake;

/// <summary>
/// Claims with a conditional update (works on PostgreSQL and SQLite alike): a task is taken when it is queued, or
/// open with an expired lease (its worker died). Only the update that matched its row wins.
/// </summary>
public sealed class TaskLeases(IServiceScopeFactory scopes, IOptions<AgentOptions> options, TimeProvider time)
{
    public string WorkerId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}" is var id && id.Length > 200 ? id[..200] : id;

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    public async Task<Guid?> ClaimNextAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var now = time.UtcNow();
        var candidates = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskStatuses.Queued ||
                        (t.Status == TaskStatuses.Running || t.Status == TaskStatuses.AwaitingApproval) && t.LeaseExpiresAt < now)
            .OrderBy(t => t.CreatedAt).Select(t => t.Id).Take(5).ToListAsync(ct);
        foreach (var id in candidates)
        {
            var claimed = await db.Tasks
                .Where(t => t.Id == id && (t.Status == TaskStatuses.Queued ||
                            (t.Status == TaskStatuses.Running || t.Status == TaskStatuses.AwaitingApproval) && t.LeaseExpiresAt < now))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.Status, TaskStatuses.Running)
                    .SetProperty(t => t.LeaseOwner, WorkerId)
                    .SetProperty(t => t.LeaseExpiresAt, now + Lease)
                    .SetProperty(t => t.UpdatedAt, now), ct);
            if (claimed == 1)
            {
                return id;
            }
        }
        return null;
    }

    /// <summary>False when the lease is gone (another worker took the task, or it was closed).</summary>
    public async Task<bool> RenewAsync(Guid taskId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var until = time.UtcNow() + Lease;
        var renewed = await db.Tasks
            .Where(t => t.Id == taskId && t.LeaseOwner == WorkerId &&
                        (t.Status == TaskStatuses.Running || t.Status == TaskStatuses.AwaitingApproval))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, until), ct);
        return renewed == 1;
    }

    /// <summary>
    /// Tasks that waited for a model (channel tasks while only the offline brain was there) are queued again once this
    /// worker has a real one.
    /// </summary>
    public async Task<int> RequeueWaitingForModelAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var publisher = scope.ServiceProvider.GetRequiredService<Shared.Events.EventPublisher>();
        var waiting = await db.Tasks.Where(t => t.Status == TaskStatuses.Paused && t.PausedFor == PauseReasons.NoModel).ToListAsync(ct);
        foreach (var task in waiting)
        {
            task.Status = TaskStatuses.Queued;
            task.PausedFor = null;
            task.Result = null;
            task.UpdatedAt = time.UtcNow();
            await publisher.PublishAsync(db, EventTypes.TaskUpdate, task.Id, task.ToUpdate(), ct);
        }
        return waiting.Count;
    }

    /// <summary>Gives an unfinished task back at once (on shutdown), so another worker need not wait for the lease.</summary>
    public async Task ReleaseAsync(Guid taskId)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
        var now = time.UtcNow();
        await db.Tasks.Where(t => t.Id == taskId && t.LeaseOwner == WorkerId)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseOwner, (string?)null).SetProperty(t => t.LeaseExpiresAt, now));
    }
}
