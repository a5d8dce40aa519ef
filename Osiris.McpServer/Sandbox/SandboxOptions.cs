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

    /// <summary>Parent folder for per-command cgroup v1 limits (pids, memory); skipped when not writable.</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";
}
