using System.Collections.Concurrent;

namespace Osiris.McpServer.Checkpoints;

/// <summary>
/// Which task workspaces have a tool call running, so a restore never swaps a workspace under a running command
/// (it is refused: 409), and a tool call that arrives during a restore waits for it to finish.
/// </summary>
public sealed class WorkspaceActivity
{
    private sealed class State
    {
        public int Tools;
        public TaskCompletionSource? Restoring;
    }

    private readonly ConcurrentDictionary<Guid, State> _tasks = new();

    /// <summary>Marks a tool call running until the result is disposed; waits out a restore in progress first.</summary>
    public async Task<IDisposable> BeginToolAsync(Guid taskId, CancellationToken ct)
    {
        var state = _tasks.GetOrAdd(taskId, _ => new State());
        while (true)
        {
            Task wait;
            lock (state)
            {
                if (state.Restoring is null)
                {
                    state.Tools++;
                    return new Release(() => { lock (state) { state.Tools--; } });
                }
                wait = state.Restoring.Task;
            }
            await wait.WaitAsync(ct);
        }
    }

    /// <summary>Null when a tool call is running; else the workspace is held for the restore until the result is disposed.</summary>
    public IDisposable? TryBeginRestore(Guid taskId)
    {
        var state = _tasks.GetOrAdd(taskId, _ => new State());
        lock (state)
        {
            if (state.Tools > 0 || state.Restoring is not null)
            {
                return null;
            }
            var restoring = state.Restoring = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new Release(() =>
            {
                lock (state)
                {
                    state.Restoring = null;
                }
                restoring.TrySetResult();
            });
        }
    }

    private sealed class Release(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                release();
            }
        }
    }
}
