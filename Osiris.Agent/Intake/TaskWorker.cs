using Microsoft.Extensions.Options;
using Osiris.Agent.Loop;

namespace Osiris.Agent.Intake;

/// <summary>Takes tasks (up to <c>Agent:Concurrency</c> at once), keeps their leases fresh, and gives them back on exit.</summary>
public sealed class TaskWorker(
    TaskLeases leases,
    TaskSignals signals,
    TaskRunner runner,
    IOptions<AgentOptions> options,
    ILogger<TaskWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            logger.LogWarning("Agent worker {Worker} is disabled (Agent:Enabled=false) and takes no tasks", leases.WorkerId);
            return;
        }
        logger.LogInformation("Agent worker {Worker} takes up to {Concurrency} tasks at once", leases.WorkerId, options.Value.Concurrency);
        var running = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            running.RemoveAll(t => t.IsCompleted);
            Guid? claimed = null;
            if (running.Count < options.Value.Concurrency)
            {
                try
                {
                    claimed = await leases.ClaimNextAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "Claiming a task failed; trying again shortly");
                }
            }
            if (claimed is Guid taskId)
            {
                running.Add(Task.Run(() => RunWithLeaseAsync(taskId, stoppingToken), CancellationToken.None));
                continue;
            }

            // Redis wakes us for new work; the timeout also catches expired leases of dead workers.
            Task wait = running.Count < options.Value.Concurrency
                ? signals.NewWork.WaitAsync(TimeSpan.FromSeconds(Math.Min(5, options.Value.LeaseSeconds / 2)), stoppingToken)
                : Task.WhenAny(running);
            try
            {
                await wait;
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(running);
    }

    private async Task RunWithLeaseAsync(Guid taskId, CancellationToken stoppingToken)
    {
        var signal = signals.Register(taskId);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, signal.Cancelled);
        var renewal = RenewAsync(taskId, run);
        try
        {
            await runner.RunAsync(taskId, signal, run.Token);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Task {TaskId} stopped unexpectedly", taskId);
        }
        finally
        {
            await run.CancelAsync();
            await renewal;
            signals.Unregister(taskId);
            if (stoppingToken.IsCancellationRequested)
            {
                await leases.ReleaseAsync(taskId);
            }
        }
    }

    private async Task RenewAsync(Guid taskId, CancellationTokenSource run)
    {
        var every = TimeSpan.FromSeconds(options.Value.LeaseSeconds / 3);
        try
        {
            while (!run.IsCancellationRequested)
            {
                await Task.Delay(every, run.Token);
                if (!await leases.RenewAsync(taskId, run.Token))
                {
                    logger.LogWarning("Lost the lease of task {TaskId} (closed or taken over); stopping it here", taskId);
                    await run.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
