using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Workspaces;

/// <summary>
/// Creates workspace folders and fixes their canonical (symlink-free) path. Running as root, a folder it creates
/// is handed to the sandbox's unprivileged user, so commands inside the sandbox can write to it. A fixed root
/// (<c>--root</c>) that exists keeps its owner, and commands run as that owner — unless root owns it: then it is
/// handed to the sandbox user, files and all, since commands never run as root.
/// </summary>
public sealed class WorkspaceProvisioner(IOptions<WorkspaceOptions> options, IOptions<Sandbox.SandboxOptions> sandbox,
    ILogger<WorkspaceProvisioner> logger)
{
    private string? _fixedRoot;

    public string? FixedRoot => string.IsNullOrWhiteSpace(options.Value.FixedRoot) ? null : _fixedRoot ??= ProvisionFixed(options.Value.FixedRoot);

    private string ProvisionFixed(string path)
    {
        var existed = Directory.Exists(path);
        var root = Provision(path);
        if (existed && Native.GetEuid() == 0 && Native.LStat(root) is { Uid: 0 })
        {
            var uid = (uint)sandbox.Value.SandboxUid;
            logger.LogWarning("The workspace {Root} belongs to root, and commands never run as root: handing it to user {Uid}", root, uid);
            HandOver(root, uid);
        }
        return root;
    }

    /// <summary>Changes the owner of a folder and everything in it, without following links.</summary>
    private static void HandOver(string folder, uint uid)
    {
        Native.LChown(folder, uid, uid);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 }))
        {
            Native.LChown(entry, uid, uid);
        }
    }

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
