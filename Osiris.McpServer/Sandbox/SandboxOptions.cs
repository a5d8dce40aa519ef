using System.ComponentModel.DataAnnotations;

namespace Osiris.McpServer.Sandbox;

public sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    /// <summary>Path of bubblewrap; found on PATH when empty.</summary>
    public string? BwrapPath { get; set; }

    /// <summary>Unsafe: run commands without bubblewrap when it is missing (still with rlimits and the timeout).</summary>
    public bool AllowUnsandboxed { get; set; }

    /// <summary>The unprivileged user (and group) commands run as, inside and, when the server runs as root, outside the sandbox.</summary>
    [Range(1, int.MaxValue)]
    public int SandboxUid { get; set; } = 65534;

    [Range(1, 3600)]
    public int DefaultTimeoutSeconds { get; set; } = 30;

    [Range(1, 3600)]
    public int MaxTimeoutSeconds { get; set; } = 600;

    /// <summary>Output kept for the result; past it the command is stopped.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxOutputBytes { get; set; } = 64 * 1024;

    [Range(1, 100_000)]
    public int MaxProcesses { get; set; } = 128;

    [Range(1024, long.MaxValue)]
    public long MaxFileSizeBytes { get; set; } = 64L * 1024 * 1024;

    [Range(16L * 1024 * 1024, long.MaxValue)]
    public long MaxMemoryBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>CPU time a command may use, in cores (a cgroup limit: <c>cpu.max</c> on v2, CFS quota on v1).</summary>
    [Range(0.05, 1024)]
    public double MaxCpuCores { get; set; } = 1.0;

    /// <summary>The size cap of the sandbox's <c>/tmp</c>, a tmpfs (it counts against the command's memory too).</summary>
    [Range(1024 * 1024, long.MaxValue)]
    public long TmpSizeBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// The cgroup mount: cgroup v2 (unified, <c>cgroup.controllers</c> at the top) or v1 (one folder per controller).
    /// Each command gets its own group for processes, memory and CPU; when none can be made (not root and no delegated
    /// subtree here), rlimits still apply and the server's health says the limits are degraded.
    /// </summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";
}
