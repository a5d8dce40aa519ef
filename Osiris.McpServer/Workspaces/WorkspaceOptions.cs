using System.ComponentModel.DataAnnotations;

namespace Osiris.McpServer.Workspaces;

public sealed class WorkspaceOptions
{
    public const string Section = "Workspaces";

    /// <summary>Parent of the per-task workspaces (<c>&lt;Root&gt;/&lt;task id&gt;</c>).</summary>
    public string Root { get; set; } = "";

    /// <summary>Set by <c>--root &lt;dir&gt;</c>: every session uses this one folder.</summary>
    public string? FixedRoot { get; set; }

    [Range(1, 64 * 1024 * 1024)]
    public int MaxReadBytes { get; set; } = 256 * 1024;

    [Range(1, 64 * 1024 * 1024)]
    public int MaxWriteBytes { get; set; } = 4 * 1024 * 1024;

    [Range(1, 100_000)]
    public int MaxListEntries { get; set; } = 2_000;

    /// <summary>
    /// Disk space one workspace may use (apparent file sizes). <c>write_file</c> refuses past it; a command that writes
    /// past it is stopped (see <see cref="Sandbox.CommandRunner"/>).
    /// </summary>
    [Range(1024 * 1024, long.MaxValue)]
    public long QuotaBytes { get; set; } = 1024L * 1024 * 1024;
}
