using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Shared.Storage;

namespace Osiris.Api.Maintenance;

/// <summary><c>Osiris:Retention</c>: how long the event log keeps events.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Osiris:Retention";

    /// <summary>Events older than this many days are deleted; 0 keeps everything.</summary>
    [Range(0, 36500)]
    public int Days { get; set; } = 90;
}

/// <summary>
/// Hourly: deletes events past the retention period (tasks, messages and artifacts stay), stream tickets an hour after
/// they expired, and sign-in sessions a week after they ended. Personal tokens stay listed (revoked or expired) until
/// an admin deletes their owner.
/// </summary>
public sealed class RetentionService(IServiceScopeFactory scopes, IOptions<RetentionOptions> options, TimeProvider time,
    ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
                var now = time.GetUtcNow();
                var spentTickets = now.AddHours(-1);
                await db.StreamTickets.Where(t => t.ExpiresAt < spentTickets).ExecuteDeleteAsync(stoppingToken);
                var endedSessions = now.AddDays(-7);
                await db.AccessTokens.Where(t => t.Kind == AccessTokenKinds.Session && t.ExpiresAt < endedSessions).ExecuteDeleteAsync(stoppingToken);
                if (options.Value.Days == 0)
                {
                    continue;
                }
                var cutoff = now.AddDays(-options.Value.Days);
                var deleted = await db.Events.Where(e => e.Timestamp < cutoff).ExecuteDeleteAsync(stoppingToken);
                if (deleted > 0)
                {
                    logger.LogInformation("Retention: deleted {Count} events older than {Days} days", deleted, options.Value.Days);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Retention run failed; it runs again in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
