using Microsoft.Extensions.Options;
using Osiris.Agent.Brains;
using Osiris.Agent.Loop;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Intake;

/// <summary>Takes tasks (up to <c>Agent:Concurrency</c> at once), keeps their leases fresh, and gives them back on exit.</summary>
public sealed class TaskWorker(
    TaskLeases leases,
    TaskSignals signals,
    TaskRunner runner,
    BrainFactory brains,
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
        if (brains.Settings.ConfiguredBrains().Any(b => b != BrainNames.Offline))
        {
            try
            {
                if (await leases.RequeueWaitingForModelAsync(stoppingToken) is > 0 and var count)
                {
                    logger.LogInformation("{Count} tasks that waited for a model are queued again", count);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Could not queue the tasks that waited for a model; they stay paused");
            }
        }
        else
        {
            logger.LogWarning("No model is configured: tasks from WhatsApp and e-mail wait (paused) until one is; the offline brain serves API and UI tasks only");
        }
        var running = new Dictionary<Guid, Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            foreach (var done in running.Where(r => r.Value.IsCompleted).Select(r => r.Key).ToList())
            {
                running.Remove(done);
            }
            Guid? claimed = null;
            // A task waiting for a person's approval holds no slot: the worker takes other work meanwhile. (When the
            // decision comes, that task goes on, so for a while more than Concurrency tasks may be working.)
            var busy = running.Keys.Count(id => !signals.IsWaitingForPerson(id));
            if (busy < options.Value.Concurrency)
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
                // A task whose lease ran out while it still runs here is re-claimed by this worker: keep the one run.
                if (!running.ContainsKey(taskId))
                {
                    running[taskId] = Task.Run(() => RunWithLeaseAsync(taskId, stoppingToken), CancellationToken.None);
                }
                continue;
            }

            // Redis wakes us for new work; the timeout also catches expired leases of dead workers.
            // A full worker waits for a task to end, or for a wake-up (a task began waiting for a person); the wake-up
            // waiter is withdrawn afterwards so it cannot swallow a later signal.
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task wait = busy < options.Value.Concurrency
                ? signals.NewWork.WaitAsync(TimeSpan.FromSeconds(Math.Min(5, options.Value.LeaseSeconds / 2)), stoppingToken)
                : Task.WhenAny([.. running.Values, signals.NewWork.WaitAsync(Timeout.Infinite, waiting.Token)]);
            try
            {
                await wait;
            }
            catch (OperationCanceledException)
            {
                break;
            }
            finally
            {
                await waiting.CancelAsync();
            }
        }
        await Task.WhenAll(running.Values);
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

    /// <summary>Renews every third of the lease; a failed renewal (the database was away) is retried, not fatal.</summary>
    private async Task RenewAsync(Guid taskId, CancellationTokenSource run)
    {
        var every = TimeSpan.FromSeconds(options.Value.LeaseSeconds / 3);
        var renewedAt = DateTime.UtcNow;
        while (!run.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, run.Token);
                if (await leases.RenewAsync(taskId, run.Token))
                {
                    renewedAt = DateTime.UtcNow;
                    continue;
                }
                logger.LogWarning("Lost the lease of task {TaskId} (closed or taken over); stopping it here", taskId);
                await run.CancelAsync();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not renew the lease of task {TaskId}", taskId);
                if (DateTime.UtcNow - renewedAt > TimeSpan.FromSeconds(options.Value.LeaseSeconds))
                {
                    // The lease has run out: another worker may take the task, so this run must stop.
                    await run.CancelAsync();
                }
            }
        }
    }
}
