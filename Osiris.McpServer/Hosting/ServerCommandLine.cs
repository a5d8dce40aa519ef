namespace Osiris.McpServer.Hosting;

/// <summary>
/// The server's own switches, turned into configuration so the rest only reads options:
/// <c>--stdio</c>, <c>--root &lt;dir&gt;</c> (→ Workspaces:FixedRoot), <c>--no-auth</c> (→ Mcp:NoAuth).
/// Everything else passes through to the host (e.g. <c>--urls</c>).
/// </summary>
public sealed record ServerCommandLine(bool Stdio, string[] HostArgs, string? Error)
{
    public static ServerCommandLine Parse(string[] args)
    {
        var stdio = false;
        var noAuth = false;
        string? root = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--stdio":
                    stdio = true;
                    break;
                case "--no-auth":
                    noAuth = true;
                    break;
                case "--root" when i + 1 < args.Length:
                    root = args[++i];
                    break;
                case "--root":
                    return new(stdio, [], "--root needs a folder: --root <dir>");
                default:
                    rest.Add(args[i]);
                    break;
            }
        }
        if (stdio && root is null)
        {
            return new(stdio, [], "--stdio needs a workspace folder: --stdio --root <dir>");
        }
        if (noAuth && root is null)
        {
            return new(stdio, [], "--no-auth is allowed only together with --root <dir> (and only on loopback).");
        }
        if (root is not null)
        {
            rest.Add($"--Workspaces:FixedRoot={Path.GetFullPath(root)}");
        }
        if (noAuth)
        {
            rest.Add("--Mcp:NoAuth=true");
        }
        return new(stdio, [.. rest], null);
    }
}
