using Osiris.Web.Api;

namespace Osiris.Web.Live;

/// <summary>Reads from the API's REST side what the stores show besides the stream: a task's history, a task, the brains.</summary>
public sealed class LiveLoader([FromKeyedServices(OsirisApi.Service)] OsirisApi api, LiveStore store, BrainCatalogStore brains, ILogger<LiveLoader> logger)
{
    private const int HistoryPage = 1000;

    /// <summary>Loads a task's history once (then it stays live); false when there is no such task.</summary>
    public async Task<bool> LoadTaskAsync(Guid id, CancellationToken ct)
    {
        if (!store.TryClaimDetail(id, out var loaded))
        {
            return await loaded.WaitAsync(ct);
        }
        try
        {
            var task = store.FindTask(id) ?? await api.GetTaskAsync(id, ct);
            if (task is null)
            {
                store.AbandonDetail(id, null);
                return false;
            }
            var history = new List<Shared.Contracts.OsirisEvent>();
            while (true)
            {
                var events = await api.GetTaskEventsAsync(id, history.Count > 0 ? history[^1].Id : 0, HistoryPage, ct);
                history.AddRange(events);
                if (events.Count < HistoryPage)
                {
                    break;
                }
            }
            store.CompleteDetail(task, history, await ReadStoredAsync(id, ct));
            return true;
        }
        catch (Exception e)
        {
            store.AbandonDetail(id, e);
            throw;
        }
    }

    /// <summary>
    /// The task's stored messages and files: the view shows them where the event log no longer does (its events are
    /// deleted after the retention period; the task keeps what it said and wrote). Null when they cannot be read: the
    /// events alone then show the task, as before.
    /// </summary>
    private async Task<Shared.Contracts.TaskHistory?> ReadStoredAsync(Guid id, CancellationToken ct)
    {
        try
        {
            return await api.GetHistoryAsync(id, ct);
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning(e, "The stored history of task {TaskId} could not be read", id);
            return null;
        }
    }

    /// <summary>Fetches a task the list does not know yet (the stream named it in an update).</summary>
    public async Task FetchTaskAsync(Guid id)
    {
        try
        {
            if (await api.GetTaskAsync(id, CancellationToken.None) is { } task)
            {
                store.AddIfMissing(task);
            }
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning(e, "Task {TaskId} could not be read", id);
        }
    }

    public async Task LoadBrainsAsync(CancellationToken ct)
    {
        try
        {
            brains.Set(await api.GetBrainsAsync(ct));
        }
        catch (HttpRequestException e)
        {
            logger.LogWarning(e, "The brain catalog could not be read");
        }
    }
}
