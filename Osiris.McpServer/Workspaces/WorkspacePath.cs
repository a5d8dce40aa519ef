namespace Osiris.McpServer.Workspaces;

/// <summary>
/// Turns a path a client sent into a canonical path inside the workspace root: normalised, every symbolic link
/// resolved by hand (so a link that points out is caught even when its target does not exist), never outside.
/// This is the check; <see cref="WorkspaceFiles"/> then opens the result without following links, so a link
/// swapped in after the check is refused rather than followed.
/// </summary>
public static class WorkspacePath
{
    private const int MaxLinkHops = 40;

    public static string Resolve(string root, string input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Contains('\0'))
        {
            throw new PathRefusedException("Refused: the path contains a NUL byte.");
        }
        var requested = input.Trim().Length == 0 ? "." : input;
        var full = Path.GetFullPath(Path.IsPathRooted(requested) ? requested : Path.Combine(root, requested));
        if (!IsInside(root, full))
        {
            throw new PathRefusedException($"Refused: '{input}' is outside the workspace; paths must stay inside the workspace root.");
        }

        var pending = new LinkedList<string>(Components(root, full));
        var current = root;
        var hops = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            var part = node.Value;
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                if (!IsInside(root, current))
                {
                    throw new PathRefusedException($"Refused: '{input}' leads outside the workspace through a symbolic link.");
                }
                continue;
            }

            var next = Path.Combine(current, part);
            var status = Native.LStat(next);
            if (status is { } s && Native.Kind(s.Mode) == FileKind.Symlink)
            {
                if (++hops > MaxLinkHops)
                {
                    throw new PathRefusedException($"Refused: '{input}' goes through too many symbolic links.");
                }
                var target = new FileInfo(next).LinkTarget
                    ?? throw new PathRefusedException($"Refused: the symbolic link '{Path.GetRelativePath(root, next)}' cannot be read.");
                var targetFull = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target));
                if (!IsInside(root, targetFull))
                {
                    throw new PathRefusedException(
                        $"Refused: '{input}' goes through the symbolic link '{Path.GetRelativePath(root, next)}', which points outside the workspace.");
                }
                foreach (var component in Components(root, targetFull).Reverse())
                {
                    pending.AddFirst(component);
                }
                current = root;
                continue;
            }
            current = next;
        }
        return current;
    }

    public static bool IsInside(string root, string path) =>
        path == root || path.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal);

    private static string[] Components(string root, string full) =>
        full == root ? [] : full[(root.Length + (root.EndsWith('/') ? 0 : 1))..].Split('/');
}
