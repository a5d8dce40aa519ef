using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Workspaces;

/// <summary>
/// Creates workspace folders and fixes their canonical (symlink-free) path. Running as root, a folder it creates
/// is handed to the sandbox's unprivileged user, so commands inside the sandbox can write to it.
/// </summary>
public sealed class WorkspaceProvisioner(IOptions<WorkspaceOptions> options, IOptions<Sandbox.SandboxOptions> sandbox)
{
    private string? _fixedRoot;

    public string? FixedRoot => string.IsNullOrWhiteSpace(options.Value.FixedRoot) ? null : _fixedRoot ??= Provision(options.Value.FixedRoot);

    public string ForTask(Guid taskId)
    {
        if (string.IsNullOrWhiteSpace(options.Value.Root))
        {
            throw new InvalidOperationException("Workspaces:Root is not set.");
        }
        var parent = Provision(options.Value.Root, handOver: false);
        return Provision(Path.Combine(parent, taskId.ToString("D")));
    }

    private string Provision(string path, bool handOver = true)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            Directory.CreateDirectory(full);
            if (handOver && Native.GetEuid() == 0)
            {
                var fd = Native.OpenAt(Native.AtFdCwd, full, Native.ORdOnly | Native.ODirectory | Native.OCloExec, 0);
                if (fd >= 0)
                {
                    Native.FChown(fd, (uint)sandbox.Value.SandboxUid, (uint)sandbox.Value.SandboxUid);
                    Native.Close(fd);
                }
            }
        }
        return Native.Canonical(full) ?? throw new InvalidOperationException($"Cannot resolve workspace folder {full}.");
    }
}
