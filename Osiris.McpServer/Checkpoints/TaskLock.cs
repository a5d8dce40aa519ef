using System.Runtime.InteropServices;
using Osiris.McpServer.Workspaces;

namespace Osiris.McpServer.Checkpoints;

/// <summary>
/// A lock on a file (<c>flock</c>) that every MCP server process sharing the workspace folder sees, the replicas of
/// one machine as well as servers that mount one shared volume. Shared holders exclude an exclusive one and the other
/// way round. The kernel releases it when the holder's process dies, so a killed server leaves no stale lock.
/// </summary>
public sealed class TaskLock : IDisposable
{
    private int _fd;

    private TaskLock(int fd) => _fd = fd;

    /// <summary>Null when another holder excludes it; never waits.</summary>
    public static TaskLock? TryAcquire(string path, bool exclusive)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var fd = Native.OpenAt(Native.AtFdCwd, path, Native.OWrOnly | Native.OCreat | Native.OCloExec | Native.ONoFollow, 0b110_000_000);
        if (fd < 0)
        {
            throw new IOException($"Cannot open the lock file {path}: errno {Marshal.GetLastPInvokeError()}.");
        }
        while (true)
        {
            if (Native.Flock(fd, (exclusive ? Native.LockExclusive : Native.LockShared) | Native.LockNonBlocking) == 0)
            {
                return new TaskLock(fd);
            }
            var error = Marshal.GetLastPInvokeError();
            if (error == Native.EINTR)
            {
                continue;
            }
            Native.Close(fd);
            return error == Native.EWOULDBLOCK ? null : throw new IOException($"Cannot lock {path}: errno {error}.");
        }
    }

    /// <summary>Waits (polling, so that it can be cancelled) until the lock is held.</summary>
    public static async Task<TaskLock> AcquireAsync(string path, bool exclusive, CancellationToken ct)
    {
        while (true)
        {
            if (TryAcquire(path, exclusive) is { } held)
            {
                return held;
            }
            await Task.Delay(25, ct);
        }
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Native.Close(fd); // closing the last descriptor releases the lock
        }
    }
}
