using System.ComponentModel.DataAnnotations;

namespace Osiris.McpServer.Checkpoints;

/// <summary><c>Checkpoints</c>: snapshots of per-task workspaces (HTTP sessions with a task; a fixed <c>--root</c> has none).</summary>
public sealed class CheckpointOptions
{
    public const string Section = "Checkpoints";

    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The content-addressed store: blobs by SHA-256, shared by every task (a fork copies no bytes). Default:
    /// <c>&lt;Workspaces:Root&gt;/.checkpoints</c>, beside the workspaces and outside every sandbox.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>A workspace with more entries than this is not snapshotted (the tool call says so); it bounds a manifest.</summary>
    [Range(1, 10_000_000)]
    public int MaxEntries { get; set; } = 200_000;

    /// <summary>Folders nested deeper than this are not snapshotted.</summary>
    [Range(1, 4096)]
    public int MaxDepth { get; set; } = 256;

    /// <summary>A diff shows text diffs of files up to this size; larger ones are listed as changed.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxDiffBytes { get; set; } = 512 * 1024;

    /// <summary>A diff lists at most this many files (then <c>truncated</c>).</summary>
    [Range(1, 100_000)]
    public int MaxDiffFiles { get; set; } = 500;
}
