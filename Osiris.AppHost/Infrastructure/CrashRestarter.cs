using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Osiris.AppHost.Infrastructure;

/// <summary>
/// <c>local</c> mode's supervisor: a laptop has no Kubernetes to bring a crashed <c>redis-server</c> or
/// <c>postgres</c> back, so the AppHost does. A server that leaves the Running state without being stopped (no
/// Stop command, no shutdown of the app) is started again after a second — at most <see cref="MaxRestarts"/> times in
/// <see cref="Window"/>, so a server that cannot run does not loop; it then stays down, with its log in the dashboard.
/// Stopping it from the dashboard (or a test) is respected.
/// </summary>
public sealed class CrashRestarter(ResourceNotificationService notifications, ResourceCommandService commands, IHostApplicationLifetime lifetime,
    ILogger<CrashRestarter> logger, IReadOnlyCollection<string> supervised) : BackgroundService
{
    public const int MaxRestarts = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var previous = new Dictionary<string, string?>();
        var restarts = new Dictionary<string, Queue<DateTime>>();
        try
        {
            await foreach (var e in notifications.WatchAsync(stoppingToken))
            {
                if (!supervised.Contains(e.Resource.Name))
                {
                    continue;
                }
                var state = e.Snapshot.State?.Text;
                previous.TryGetValue(e.ResourceId, out var before);
                previous[e.ResourceId] = state;
                var crashed = before == KnownResourceStates.Running
                              && state is not null && KnownResourceStates.TerminalStates.Contains(state)
                              && !lifetime.ApplicationStopping.IsCancellationRequested;
                if (!crashed)
                {
                    continue;
                }
                var recent = restarts.TryGetValue(e.ResourceId, out var times) ? times : restarts[e.ResourceId] = new();
                while (recent.Count > 0 && DateTime.UtcNow - recent.Peek() > Window)
                {
                    recent.Dequeue();
                }
                if (recent.Count >= MaxRestarts)
                {
                    logger.LogError("{Resource} stopped unexpectedly (exit code {ExitCode}) {Count} times within {Minutes} minutes; not starting it again",
                        e.ResourceId, e.Snapshot.ExitCode, recent.Count + 1, Window.TotalMinutes);
                    continue;
                }
                recent.Enqueue(DateTime.UtcNow);
                logger.LogWarning("{Resource} stopped unexpectedly (exit code {ExitCode}); starting it again", e.ResourceId, e.Snapshot.ExitCode);
                _ = RestartAsync(e.ResourceId, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RestartAsync(string resourceId, CancellationToken ct)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
            var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, ct);
            if (!result.Success)
            {
                logger.LogError("Could not start {Resource} again: {Message}", resourceId, result.Message);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
