using System.Collections.Immutable;
using System.Text.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Web.Live;

/// <summary>Folds events into the task list (every task by id), as the dashboard shows it. Pure: no I/O, no clock.</summary>
public static class TaskListReducer
{
    /// <summary>
    /// The list after <paramref name="e"/>. <paramref name="unknown"/> names a task whose update arrived before the list
    /// knew it (one older than the list read at start): the caller fetches it.
    /// </summary>
    public static ImmutableDictionary<Guid, TaskDto> Apply(ImmutableDictionary<Guid, TaskDto> tasks, OsirisEvent e, out Guid? unknown)
    {
        unknown = null;
        if (e.Type == EventTypes.TaskCreated)
        {
            var task = e.Payload.Deserialize<TaskDto>(OsirisJson.Options)!;
            return tasks.SetItem(task.Id, task);
        }
        if (e.Type == EventTypes.TaskUpdate && e.TaskId is Guid id)
        {
            if (tasks.TryGetValue(id, out var task))
            {
                return tasks.SetItem(id, ApplyUpdate(task, e.Payload.Deserialize<TaskUpdatePayload>(OsirisJson.Options)!, e.Timestamp));
            }
            unknown = id;
        }
        return tasks;
    }

    /// <summary>The task as a <c>task_update</c> leaves it.</summary>
    public static TaskDto ApplyUpdate(TaskDto task, TaskUpdatePayload update, DateTimeOffset at) => task with
    {
        Status = update.Status,
        Tokens = update.Tokens,
        CostUsd = update.CostUsd,
        Brain = update.Brain ?? task.Brain,
        Model = update.Model ?? task.Model,
        Result = update.Result ?? task.Result,
        PausedFor = update.PausedFor,
        BudgetUsd = update.BudgetUsd ?? task.BudgetUsd,
        UnpricedTokens = update.UnpricedTokens,
        Replay = update.Replay ?? task.Replay,
        UpdatedAt = at,
    };
}
