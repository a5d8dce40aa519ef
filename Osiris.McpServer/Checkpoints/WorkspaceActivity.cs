namespace Osiris.McpServer.Checkpoints;

/// <summary>
/// Which task workspaces have a tool call running, so a restore never swaps a workspace under a running command
/// (it is refused: 409), and a tool call that arrives during a restore waits for it to finish. Held as file locks
/// under the workspace folder (<see cref="TaskLock"/>): a tool call holds its task's lock shared, a restore
/// exclusive, so this holds across MCP server replicas too.
/// </summary>
public sealed class WorkspaceActivity(CheckpointStore store)
{
    /// <summary>Marks a tool call running until the result is disposed; waits out a restore in progress first.</summary>
    public async Task<IDisposable> BeginToolAsync(Guid taskId, CancellationToken ct) =>
        await TaskLock.AcquireAsync(store.LockPath(taskId), exclusive: false, ct);

    /// <summary>Null when a tool call is running; else the workspace is held for the restore until the result is disposed.</summary>
    public IDisposable? TryBeginRestore(Guid taskId) => TaskLock.TryAcquire(store.LockPath(taskId), exclusive: true);
}
