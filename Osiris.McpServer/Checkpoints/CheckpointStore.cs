using System.IO.Enumeration;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using Osiris.McpServer.Sandbox;
using Osiris.McpServer.Workspaces;
using Osiris.Shared.Contracts;

namespace Osiris.McpServer.Checkpoints;

/// <summary>One entry of a snapshot: a folder, a file (its content's SHA-256 and executable bit) or a link (its target, as written).</summary>
/// <remarks><see cref="Size"/>, <see cref="Mtime"/>, <see cref="Ctime"/> and <see cref="Inode"/> let the next snapshot skip re-reading unchanged files.</remarks>
public sealed record SnapshotEntry(string Path, string Kind, string? Hash = null, bool Executable = false, string? Target = null,
    long Size = 0, long Mtime = 0, long Ctime = 0, ulong Inode = 0)
{
    public const string Directory = "dir";
    public const string File = "file";
    public const string Link = "link";
}

/// <summary>A checkpoint as the store keeps it: <see cref="CheckpointDto"/> plus the content address of its manifest.</summary>
public sealed record StoredCheckpoint(string Id, int Seq, int? Step, string? Tool, string? CallId, DateTimeOffset CreatedAt, int Files, int Changed,
    string Manifest, string? Note)
{
    public CheckpointDto ToDto() => new(Id, Step, Tool, CreatedAt, Files, Changed, CallId, Note);
}

/// <summary>A snapshot could not be taken (too many entries, folders too deep); the tool call still succeeds and says so.</summary>
public sealed class SnapshotRefusedException(string message) : Exception(message);

/// <summary>
/// Checkpoints of task workspaces in a content-addressed store of our own: every file's bytes once, under their SHA-256
/// (<c>objects/ab/abcd…</c>), each checkpoint a manifest (also a blob) of paths, kinds, hashes, executable bits and link
/// targets, and each task an index of its checkpoints (<c>tasks/&lt;id&gt;.json</c>). Unchanged files are recognised by
/// size, mtime, ctime and inode (ctime cannot be set back from inside the sandbox) and not read again, so a snapshot
/// of a large workspace reads only what changed.
/// </summary>
/// <remarks>
/// The workspace is hostile: it is walked through directory handles with O_NOFOLLOW, a link is stored as a link and
/// never followed, a file is opened without following links and must still be the regular file that was listed, and
/// FIFOs, sockets and devices are skipped. A restore never writes into the workspace: the checkpoint is built in a
/// fresh folder beside it (outside every sandbox) and swapped in by two renames, so no link planted in the workspace
/// can redirect a write.
/// </remarks>
public sealed class CheckpointStore(
    IOptions<CheckpointOptions> options,
    IOptions<WorkspaceOptions> workspaces,
    IOptions<SandboxOptions> sandbox,
    WorkspaceProvisioner provisioner,
    TimeProvider time,
    ILogger<CheckpointStore> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private static readonly EnumerationOptions AllEntries = new()
    {
        RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0, MatchType = MatchType.Win32, ReturnSpecialDirectories = false,
    };

    /// <summary>Checkpoints need per-task workspaces (<c>Workspaces:Root</c>); a server with a fixed root has none.</summary>
    public bool Enabled => options.Value.Enabled && !string.IsNullOrWhiteSpace(workspaces.Value.Root) && provisioner.FixedRoot is null;

    private string StoreRoot => Path.GetFullPath(options.Value.Root is { Length: > 0 } root ? root : Path.Combine(workspaces.Value.Root, ".checkpoints"));

    /// <summary>A task's lock files (<see cref="TaskLock"/>): its workspace (<c>.lock</c>) and its index (<c>.index.lock</c>).</summary>
    internal string LockPath(Guid taskId, string kind = "") => Path.Combine(StoreRoot, "locks", taskId.ToString("D") + kind + ".lock");

    private string IndexPath(Guid taskId) => Path.Combine(StoreRoot, "tasks", taskId.ToString("D") + ".json");

    private string ObjectPath(string hash) => Path.Combine(StoreRoot, "objects", hash[..2], hash);

    public IReadOnlyList<StoredCheckpoint> List(Guid taskId)
    {
        var path = IndexPath(taskId);
        return File.Exists(path) ? JsonSerializer.Deserialize<List<StoredCheckpoint>>(File.ReadAllBytes(path), Json) ?? [] : [];
    }

    public StoredCheckpoint? Find(Guid taskId, string id) => List(taskId).FirstOrDefault(c => c.Id == id);

    /// <summary>
    /// Snapshots the task's workspace and records it as a checkpoint — unless it equals the latest checkpoint (a command
    /// that changed nothing), then null. <paramref name="always"/>: record it even then (a restore, a fork's start).
    /// </summary>
    public async Task<StoredCheckpoint?> TakeAsync(Guid taskId, string? tool, int? step, string? callId, string? note = null, bool always = false,
        CancellationToken ct = default)
    {
        // One writer of a task's index at a time, across MCP server replicas.
        using (await TaskLock.AcquireAsync(LockPath(taskId, ".index"), exclusive: true, ct))
        {
            var index = List(taskId).ToList();
            var latest = index.Count > 0 ? index[^1] : null;
            var previous = latest is null ? null : ReadManifest(latest.Manifest).ToDictionary(e => e.Path, StringComparer.Ordinal);
            var entries = Scan(provisioner.ForTask(taskId), previous);
            if (previous is not null && !always && SameContent(previous.Values, entries))
            {
                return null;
            }
            var manifest = WriteManifest(entries);
            var changed = previous is null ? Countable(entries).Count() : Compare(previous.Values, entries).Count;
            var checkpoint = new StoredCheckpoint($"cp-{(latest?.Seq ?? 0) + 1}", (latest?.Seq ?? 0) + 1, step, tool, callId, time.GetUtcNow(),
                Countable(entries).Count(), changed, manifest, note);
            index.Add(checkpoint);
            WriteIndex(taskId, index);
            return checkpoint;
        }
    }

    /// <summary>The first checkpoint of a task, before its first change: what a restore to "the start" returns to.</summary>
    public async Task EnsureStartAsync(Guid taskId, int? step, string? callId, CancellationToken ct)
    {
        if (List(taskId).Count == 0)
        {
            await TakeAsync(taskId, null, step, callId, "start", always: true, ct: ct);
        }
    }

    /// <summary>What changed from one checkpoint to another (default: to the latest).</summary>
    public CheckpointDiff Diff(StoredCheckpoint from, StoredCheckpoint to)
    {
        var before = ReadManifest(from.Manifest);
        var after = ReadManifest(to.Manifest);
        var changes = Compare(before, after);
        var max = options.Value.MaxDiffFiles;
        var files = changes.Take(max).Select(c => WithDiff(c.Change, c.Before, c.After)).ToList();
        return new CheckpointDiff(from.Id, to.Id, files, changes.Count > max);
    }

    /// <summary>
    /// Returns the workspace to <paramref name="target"/>: a checkpoint of the state before (if it differs from the
    /// latest), the swap, and a checkpoint recording the restore (so a restore can itself be undone). The caller holds
    /// the workspace (<see cref="WorkspaceActivity.TryBeginRestore"/>).
    /// </summary>
    public async Task<StoredCheckpoint> RestoreAsync(Guid taskId, StoredCheckpoint target, string actor, CancellationToken ct)
    {
        await TakeAsync(taskId, null, null, null, "before restore", ct: ct);
        var workspace = provisioner.ForTask(taskId);
        var latest = List(taskId)[^1];
        Materialize(ReadManifest(target.Manifest), workspace, taskId, ReadManifest(latest.Manifest));
        return (await TakeAsync(taskId, null, target.Step, null, $"restored to {target.Id} by {actor}", always: true, ct: ct))!;
    }

    /// <summary>Gives a new task the workspace of another task's checkpoint, recorded as the new task's first checkpoint.</summary>
    public async Task<StoredCheckpoint> ForkAsync(Guid taskId, StoredCheckpoint source, Guid newTaskId, CancellationToken ct)
    {
        if (List(newTaskId).Count > 0)
        {
            throw new InvalidOperationException($"Task {newTaskId} already has checkpoints.");
        }
        Materialize(ReadManifest(source.Manifest), provisioner.ForTask(newTaskId), newTaskId, current: null);
        return (await TakeAsync(newTaskId, null, source.Step, null, $"forked from task {taskId} at {source.Id}", always: true, ct: ct))!;
    }

    /// <summary>The same folders, files (bytes and executable bit) and links; times and inodes do not count.</summary>
    private static bool SameContent(IEnumerable<SnapshotEntry> before, List<SnapshotEntry> after)
    {
        static (string, string, string?, bool, string?) Key(SnapshotEntry e) => (e.Path, e.Kind, e.Hash, e.Executable, e.Target);
        var old = before.Select(Key).ToHashSet();
        return old.Count == after.Count && after.All(e => old.Contains(Key(e)));
    }

    private static IEnumerable<SnapshotEntry> Countable(IEnumerable<SnapshotEntry> entries) => entries.Where(e => e.Kind != SnapshotEntry.Directory);

    private static List<(string Change, SnapshotEntry? Before, SnapshotEntry? After)> Compare(IEnumerable<SnapshotEntry> before, IEnumerable<SnapshotEntry> after)
    {
        var old = Countable(before).ToDictionary(e => e.Path, StringComparer.Ordinal);
        var now = Countable(after).ToDictionary(e => e.Path, StringComparer.Ordinal);
        var changes = new List<(string, SnapshotEntry?, SnapshotEntry?)>();
        foreach (var path in old.Keys.Union(now.Keys).Order(StringComparer.Ordinal))
        {
            old.TryGetValue(path, out var a);
            now.TryGetValue(path, out var b);
            if (a is null)
            {
                changes.Add((FileChanges.Added, null, b));
            }
            else if (b is null)
            {
                changes.Add((FileChanges.Deleted, a, null));
            }
            else if (a.Kind != b.Kind || a.Hash != b.Hash || a.Target != b.Target)
            {
                changes.Add((FileChanges.Modified, a, b));
            }
            else if (a.Executable != b.Executable)
            {
                changes.Add((FileChanges.Mode, a, b));
            }
        }
        return changes;
    }

    private FileChange WithDiff(string change, SnapshotEntry? before, SnapshotEntry? after)
    {
        var entry = after ?? before!;
        string? diff = null;
        var binary = false;
        if (change != FileChanges.Mode && (before?.Kind ?? SnapshotEntry.File) == SnapshotEntry.File && (after?.Kind ?? SnapshotEntry.File) == SnapshotEntry.File)
        {
            var old = before is null ? "" : ReadText(before);
            var @new = after is null ? "" : ReadText(after);
            if (old is null || @new is null)
            {
                binary = true;
            }
            else
            {
                diff = TextDiff.Unified(old, @new, entry.Path);
            }
        }
        return new FileChange(entry.Path, change, entry.Kind, diff, binary,
            before?.Kind == SnapshotEntry.File ? before.Executable : null, after?.Kind == SnapshotEntry.File ? after.Executable : null,
            before?.Target, after?.Target);
    }

    /// <summary>A stored file as text, or null when it is too large for a diff or not UTF-8 text.</summary>
    private string? ReadText(SnapshotEntry entry)
    {
        if (entry.Size > options.Value.MaxDiffBytes)
        {
            return null;
        }
        var bytes = File.ReadAllBytes(ObjectPath(entry.Hash!));
        if (bytes.AsSpan(0, Math.Min(bytes.Length, 8192)).Contains((byte)0))
        {
            return null;
        }
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    // ----- snapshots -----

    private List<SnapshotEntry> Scan(string root, Dictionary<string, SnapshotEntry>? previous)
    {
        var fd = Native.OpenAt(Native.AtFdCwd, root, Native.ORdOnly | Native.ODirectory | Native.OCloExec, 0);
        if (fd < 0)
        {
            throw new IOException($"The workspace {root} cannot be opened (errno {Marshal.GetLastPInvokeError()}).");
        }
        var entries = new List<SnapshotEntry>();
        try
        {
            Walk(fd, "", 1, previous, entries);
        }
        finally
        {
            Native.Close(fd);
        }
        return entries;
    }

    private void Walk(int dirFd, string prefix, int depth, Dictionary<string, SnapshotEntry>? previous, List<SnapshotEntry> entries)
    {
        if (depth > options.Value.MaxDepth)
        {
            throw new SnapshotRefusedException($"No checkpoint: folders are nested deeper than {options.Value.MaxDepth} levels ('{prefix}').");
        }
        var names = new FileSystemEnumerable<string>($"/proc/self/fd/{dirFd}", static (ref FileSystemEntry e) => e.FileName.ToString(), AllEntries).ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (entries.Count >= options.Value.MaxEntries)
            {
                throw new SnapshotRefusedException($"No checkpoint: the workspace has more than {options.Value.MaxEntries:N0} files and folders.");
            }
            if (Native.LStatAt(dirFd, name) is not { } status)
            {
                continue; // removed meanwhile
            }
            var path = prefix.Length == 0 ? name : $"{prefix}/{name}";
            switch (Native.Kind(status.Mode))
            {
                case FileKind.Directory:
                    entries.Add(new SnapshotEntry(path, SnapshotEntry.Directory));
                    var child = Native.OpenAt(dirFd, name, Native.ORdOnly | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0);
                    if (child < 0)
                    {
                        continue;
                    }
                    try
                    {
                        Walk(child, path, depth + 1, previous, entries);
                    }
                    finally
                    {
                        Native.Close(child);
                    }
                    break;
                case FileKind.Symlink:
                    if (Native.LinkTargetAt(dirFd, name) is { } target)
                    {
                        entries.Add(new SnapshotEntry(path, SnapshotEntry.Link, Target: target));
                    }
                    break;
                case FileKind.File:
                    var executable = (status.Mode & 0b001_000_000) != 0;
                    if (previous is not null && previous.TryGetValue(path, out var known) && known.Kind == SnapshotEntry.File && known.Size == (long)status.Size
                        && known.Mtime == status.ModifyTime.Ticks && known.Ctime == status.ChangeTime.Ticks && known.Inode == status.Inode)
                    {
                        entries.Add(known with { Executable = executable });
                        break;
                    }
                    if (StoreFile(dirFd, name, status) is { } stored)
                    {
                        entries.Add(stored with { Path = path, Executable = executable });
                    }
                    break;
                default:
                    break; // FIFOs, sockets and devices are not content: not kept
            }
        }
    }

    /// <summary>Reads one file (never through a link) into the store; null when it was replaced meanwhile.</summary>
    private SnapshotEntry? StoreFile(int dirFd, string name, Native.Statx listed)
    {
        var fd = Native.OpenAt(dirFd, name, Native.ORdOnly | Native.ONoFollow | Native.ONonBlock | Native.OCloExec, 0);
        if (fd < 0)
        {
            return null;
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Native.FStat(fd) is not { } opened || Native.Kind(opened.Mode) != FileKind.File || opened.Inode != listed.Inode)
        {
            return null;
        }
        // A small file is hashed first and written only when the store lacks its bytes: a file read again (its ctime
        // changed, its bytes did not) costs a read, not a new file.
        string hash;
        long size;
        using (var source = new FileStream(handle, FileAccess.Read, bufferSize: 0))
        {
            if (opened.Size <= InMemoryLimit)
            {
                var bytes = new byte[(int)opened.Size];
                var length = source.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
                size = length;
                hash = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, length)));
                if (!File.Exists(ObjectPath(hash)))
                {
                    var temporary = Temporary();
                    using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
                    {
                        target.Write(bytes, 0, length);
                    }
                    Keep(temporary, hash);
                }
            }
            else
            {
                // Large files are rare: copied to a temporary file while hashed, kept only if the store lacks the bytes.
                var temporary = Temporary();
                using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
                using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                {
                    var buffer = new byte[81920];
                    int read;
                    while ((read = source.Read(buffer)) > 0)
                    {
                        sha.AppendData(buffer, 0, read);
                        target.Write(buffer, 0, read);
                    }
                    hash = Convert.ToHexStringLower(sha.GetHashAndReset());
                    size = target.Length;
                }
                Keep(temporary, hash);
            }
        }
        // The stat after reading: a file written while it was read is read again next time.
        var after = Native.FStat(fd) ?? opened;
        return new SnapshotEntry("", SnapshotEntry.File, hash, Size: size, Mtime: after.ModifyTime.Ticks, Ctime: after.ChangeTime.Ticks, Inode: after.Inode);
    }

    /// <summary>Files up to this size are read once into memory, hashed, and written to the store only if it lacks them.</summary>
    private const long InMemoryLimit = 4 * 1024 * 1024;

    private string Temporary()
    {
        var folder = Path.Combine(StoreRoot, "tmp");
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
        }
        return Path.Combine(folder, Guid.NewGuid().ToString("N"));
    }

    /// <summary>Moves a finished temporary file to its content address, or drops it when the store has those bytes already.</summary>
    private void Keep(string temporary, string hash)
    {
        var final = ObjectPath(hash);
        if (File.Exists(final))
        {
            File.Delete(temporary);
            return;
        }
        var folder = Path.GetDirectoryName(final)!;
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
        }
        try
        {
            File.Move(temporary, final);
        }
        catch (IOException) when (File.Exists(final))
        {
            File.Delete(temporary);
        }
    }

    private string WriteManifest(List<SnapshotEntry> entries)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(entries, Json);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!File.Exists(ObjectPath(hash)))
        {
            var temporary = Temporary();
            File.WriteAllBytes(temporary, bytes);
            Keep(temporary, hash);
        }
        return hash;
    }

    public IReadOnlyList<SnapshotEntry> ReadManifest(string hash) =>
        JsonSerializer.Deserialize<List<SnapshotEntry>>(File.ReadAllBytes(ObjectPath(hash)), Json) ?? [];

    private void WriteIndex(Guid taskId, List<StoredCheckpoint> index)
    {
        var path = IndexPath(taskId);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(index, Json));
        File.Move(temporary, path, overwrite: true);
    }

    // ----- restores -----

    /// <summary>
    /// Builds the snapshot in a fresh folder beside the workspace, then swaps it in (two renames) and deletes the old one.
    /// A file whose bytes and executable bit the workspace still has (<paramref name="current"/>, its latest snapshot) is
    /// hard-linked from there instead of copied — found through directory handles opened without following links, and
    /// only if it is still the very inode that snapshot read — so undoing a few steps in a large workspace writes little.
    /// </summary>
    private void Materialize(IReadOnlyList<SnapshotEntry> entries, string workspace, Guid taskId, IReadOnlyList<SnapshotEntry>? current)
    {
        var reusable = current?.Where(e => e.Kind == SnapshotEntry.File && e.Inode != 0)
            .GroupBy(e => (e.Hash, e.Executable)).ToDictionary(g => g.Key, g => g.First());
        var rootFd = reusable is { Count: > 0 } ? Native.OpenAt(Native.AtFdCwd, workspace, Native.OPath | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0) : -1;
        try
        {
            Build(entries, workspace, taskId, reusable, rootFd);
        }
        finally
        {
            if (rootFd >= 0)
            {
                Native.Close(rootFd);
            }
        }
    }

    private void Build(IReadOnlyList<SnapshotEntry> entries, string workspace, Guid taskId,
        Dictionary<(string? Hash, bool Executable), SnapshotEntry>? reusable, int rootFd)
    {
        var parent = Path.GetDirectoryName(workspace)!;
        var staging = Path.Combine(parent, $".restore-{taskId:N}-{Guid.NewGuid():N}");
        var owner = Native.LStat(workspace) is { } w ? w.Uid : (uint)sandbox.Value.SandboxUid;
        var asRoot = Native.GetEuid() == 0;
        Directory.CreateDirectory(staging);
        try
        {
            using var folders = new FolderHandles(rootFd);
            foreach (var entry in entries)
            {
                var full = Path.Combine(staging, Checked(entry.Path));
                switch (entry.Kind)
                {
                    case SnapshotEntry.Directory:
                        Directory.CreateDirectory(full);
                        break;
                    case SnapshotEntry.Link:
                        File.CreateSymbolicLink(full, entry.Target!);
                        break;
                    case SnapshotEntry.File:
                        var mode = entry.Executable ? 0b111_101_101 : 0b110_100_100;
                        if (rootFd >= 0 && reusable is not null && reusable.TryGetValue((entry.Hash, entry.Executable), out var same)
                            && folders.TryLink(same, full) is { } linked)
                        {
                            // The workspace's own inode, already its owner's: only what differs is set.
                            if ((linked.Mode & 0xFFF) != mode)
                            {
                                SetMode(full, (UnixFileMode)mode);
                            }
                            if (asRoot && linked.Uid != owner)
                            {
                                Native.LChown(full, owner, owner);
                            }
                            continue;
                        }
                        File.Copy(ObjectPath(entry.Hash!), full);
                        SetMode(full, (UnixFileMode)mode);
                        break;
                }
                if (asRoot)
                {
                    Native.LChown(full, owner, owner);
                }
            }
            if (asRoot)
            {
                Native.LChown(staging, owner, owner);
            }
            SetMode(staging, (UnixFileMode)0b111_101_101);
        }
        catch
        {
            TryDelete(staging);
            throw;
        }

        var trash = Path.Combine(parent, $".trash-{taskId:N}-{Guid.NewGuid():N}");
        var existed = Directory.Exists(workspace);
        if (existed)
        {
            Directory.Move(workspace, trash);
        }
        Directory.Move(staging, workspace);
        if (existed)
        {
            TryDelete(trash);
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>Manifests are written by this store, but a path is still checked before it becomes a file name.</summary>
    private static string Checked(string path) =>
        path.Length == 0 || path.StartsWith('/') || path.Split('/').Any(p => p is "" or "." or "..") || path.Contains('\0')
            ? throw new InvalidOperationException($"The checkpoint holds an invalid path '{path}'.")
            : path;

    private void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete {Folder}; delete it by hand", folder);
        }
    }

    /// <summary>
    /// The workspace's folders, opened one component at a time without following links; the last one is kept open, since
    /// a snapshot lists a folder's files one after another.
    /// </summary>
    private sealed class FolderHandles(int rootFd) : IDisposable
    {
        private string? _path;
        private int _fd = -1;

        /// <summary>Links the workspace's file <paramref name="entry"/> to <paramref name="target"/> if it is still the inode its snapshot read.</summary>
        public Native.Statx? TryLink(SnapshotEntry entry, string target)
        {
            var slash = entry.Path.LastIndexOf('/');
            var folder = slash < 0 ? "" : entry.Path[..slash];
            var name = entry.Path[(slash + 1)..];
            if (folder != _path)
            {
                Open(folder);
            }
            var dirFd = folder.Length == 0 ? rootFd : _fd;
            return dirFd >= 0 && Native.LStatAt(dirFd, name) is { } status && Native.Kind(status.Mode) == FileKind.File && status.Inode == entry.Inode
                && (long)status.Size == entry.Size && Native.LinkAt(dirFd, name, Native.AtFdCwd, target, 0) == 0
                ? status : null;
        }

        private void Open(string folder)
        {
            Close();
            _path = folder;
            if (folder.Length == 0)
            {
                return;
            }
            var fd = rootFd;
            foreach (var part in folder.Split('/'))
            {
                var next = Native.OpenAt(fd, part, Native.OPath | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0);
                if (fd != rootFd)
                {
                    Native.Close(fd);
                }
                fd = next;
                if (fd < 0)
                {
                    return;
                }
            }
            _fd = fd;
        }

        private void Close()
        {
            if (_fd >= 0)
            {
                Native.Close(_fd);
            }
            _fd = -1;
        }

        public void Dispose() => Close();
    }
}
