using System.IO.Enumeration;

namespace Osiris.McpServer.Workspaces;

/// <summary>How much disk a workspace takes: the apparent size of every file under it, links not followed.</summary>
public static class WorkspaceUsage
{
    public static long Measure(string root)
    {
        var files = new FileSystemEnumerable<long>(root, (ref FileSystemEntry entry) => entry.IsDirectory ? 0 : entry.Length,
            new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0, ReturnSpecialDirectories = false })
        {
            // A link to a folder is not followed: what it points at is not this workspace's.
            ShouldRecursePredicate = (ref FileSystemEntry entry) => (entry.Attributes & FileAttributes.ReparsePoint) == 0,
        };
        long total = 0;
        try
        {
            foreach (var size in files)
            {
                total += size;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder removed while we counted: what was counted stands.
        }
        return total;
    }

    public static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):0.#} MiB";
}
