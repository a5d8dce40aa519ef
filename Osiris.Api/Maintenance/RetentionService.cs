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

/// <summary>Deletes events past the retention period, hourly. Tasks, messages and artifacts stay.</summary>
public sealed class RetentionService(IServiceScopeFactory scopes, IOptions<RetentionOptions> options, TimeProvider time,
    ILogger<RetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        do
        {
            if (options.Value.Days == 0)
            {
                continue;
            }
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
                var cutoff = time.GetUtcNow().AddDays(-options.Value.Days);
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
