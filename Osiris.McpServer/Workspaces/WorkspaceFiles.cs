using System.Buffers;
using System.IO.Enumeration;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace Osiris.McpServer.Workspaces;

public sealed record FileText(string Path, long Size, string Text, int FirstLine, int LastLine, bool HasMoreLines);

public sealed record FileWrite(string Path, string? OldText, string NewText, long Size, bool Created);

public sealed record DirEntry(string Path, string Type, long Size, string? LinkTarget);

/// <summary>Reads, writes and lists inside one workspace root, through <see cref="WorkspacePath"/> and <see cref="SafeOpen"/>.</summary>
public sealed class WorkspaceFiles(IOptions<WorkspaceOptions> options)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What <see cref="Directory.EnumerateFileSystemEntries(string)"/> uses: hidden and system entries included, errors thrown.</summary>
    private static readonly EnumerationOptions AllEntries = new()
    {
        RecurseSubdirectories = false, IgnoreInaccessible = false, AttributesToSkip = 0, MatchType = MatchType.Win32, ReturnSpecialDirectories = false,
    };

    /// <summary>Runs between the check and the open; tests use it to swap a link in at the worst moment.</summary>
    internal Action<string>? BetweenCheckAndOpen { get; set; }

    public FileText Read(string root, string input, int? startLine = null, int? endLine = null)
    {
        var (canonical, display) = Check(root, input, mustBe: FileKind.File);
        using var handle = SafeOpen.Open(root, canonical, display, Native.ORdOnly, createParents: false);
        var size = RandomAccess.GetLength(handle);
        var ranged = startLine is not null || endLine is not null;
        var cap = options.Value.MaxReadBytes;
        if (!ranged && size > cap)
        {
            throw new PathRefusedException(
                $"'{display}' is {size} bytes, over the {cap}-byte read cap; read it in parts with startLine and endLine.");
        }

        if (!ranged)
        {
            return ReadWhole(handle, display, size);
        }

        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        var prefix = new byte[Math.Min(8192, (int)Math.Min(size, int.MaxValue))];
        var prefixLength = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (Array.IndexOf(prefix, (byte)0, 0, prefixLength) >= 0)
        {
            throw new PathRefusedException($"'{display}' looks binary (it contains NUL bytes); read_file returns text only.");
        }
        stream.Position = 0;

        using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        var first = Math.Max(1, startLine ?? 1);
        var last = endLine ?? int.MaxValue;
        if (last < first)
        {
            throw new PathRefusedException($"endLine ({last}) is before startLine ({first}).");
        }
        var text = new StringBuilder();
        var lineNumber = 0;
        var lastTaken = first - 1;
        var more = false;
        try
        {
            while (reader.ReadLine() is { } line)
            {
                lineNumber++;
                if (lineNumber < first)
                {
                    continue;
                }
                if (lineNumber > last || text.Length + line.Length + 1 > cap)
                {
                    more = true;
                    break;
                }
                text.Append(line).Append('\n');
                lastTaken = lineNumber;
            }
        }
        catch (DecoderFallbackException)
        {
            throw new PathRefusedException($"'{display}' is not valid UTF-8 text.");
        }
        return new FileText(display, size, text.ToString(), first, lastTaken, more);
    }

    /// <summary>
    /// The whole file (at most the read cap, checked by the caller): read once to its end into a pooled buffer, refused
    /// when its first 8 KiB hold a NUL byte, decoded as strict UTF-8. A file that starts like a byte order mark goes
    /// through the same <see cref="StreamReader"/> as before, so a BOM is handled exactly as it always was.
    /// </summary>
    private static FileText ReadWhole(SafeFileHandle handle, string display, long size)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, int.MaxValue - 1) + 1);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    // The file grew after its size was read: keep reading to its end, as a stream would.
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }

            var prefixLength = Math.Min(length, Math.Min(8192, (int)Math.Min(size, int.MaxValue)));
            if (buffer.AsSpan(0, prefixLength).Contains((byte)0))
            {
                throw new PathRefusedException($"'{display}' looks binary (it contains NUL bytes); read_file returns text only.");
            }

            string whole;
            if (length > 0 && buffer[0] is 0xEF or 0xFE or 0xFF or 0x00)
            {
                using var reader = new StreamReader(new MemoryStream(buffer, 0, length, writable: false), StrictUtf8, detectEncodingFromByteOrderMarks: true);
                whole = ReadText(reader, display);
            }
            else
            {
                try
                {
                    whole = StrictUtf8.GetString(buffer, 0, length);
                }
                catch (DecoderFallbackException)
                {
                    throw new PathRefusedException($"'{display}' is not valid UTF-8 text.");
                }
            }
            return new FileText(display, size, whole, 1, whole.AsSpan().Count('\n') + (whole.Length > 0 && !whole.EndsWith('\n') ? 1 : 0), false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>What <see cref="Write"/> would do, with the same checks, writing nothing.</summary>
    public FileWrite Preview(string root, string input, string content) => Plan(root, input, content).Write;

    /// <summary>The checks a write passes first, and the file's text before it (null: the file is new).</summary>
    private (byte[] Bytes, string Canonical, FileWrite Write) Plan(string root, string input, string content)
    {
        var bytes = StrictUtf8.GetBytes(content);
        if (bytes.Length > options.Value.MaxWriteBytes)
        {
            throw new PathRefusedException($"The content is {bytes.Length} bytes, over the {options.Value.MaxWriteBytes}-byte write cap.");
        }
        var (canonical, display) = Check(root, input, mustBe: FileKind.File, mayBeMissing: true);
        if (canonical == root)
        {
            throw new PathRefusedException("Refused: the workspace root is a directory, not a file.");
        }
        string? old = null;
        if (Native.LStat(canonical) is not null)
        {
            try
            {
                old = Read(root, display).Text;
            }
            catch (PathRefusedException)
            {
                old = "";  // too large or not text: the diff then shows the whole new content as added
            }
        }
        return (bytes, canonical, new FileWrite(display, old, content, bytes.Length, old is null));
    }

    public FileWrite Write(string root, string input, string content)
    {
        var (bytes, canonical, plan) = Plan(root, input, content);
        var (display, old) = (plan.Path, plan.OldText);

        var used = WorkspaceUsage.Measure(root);
        var replaced = Native.LStat(canonical) is { } existing ? (long)existing.Size : 0;
        if (used - replaced + bytes.Length > options.Value.QuotaBytes)
        {
            throw new PathRefusedException(
                $"Refused: the workspace would pass its {WorkspaceUsage.Mib(options.Value.QuotaBytes)} disk quota " +
                $"({WorkspaceUsage.Mib(used)} used, this write adds {WorkspaceUsage.Mib(bytes.Length - replaced)}). Delete files to make room.");
        }

        var owner = Native.LStat(root) is { } r && Native.GetEuid() == 0 ? ((uint?)r.Uid, (uint?)r.Gid) : (null, null);
        using var handle = SafeOpen.Open(root, canonical, display, Native.OWrOnly | Native.OCreat, createParents: true, owner.Item1, owner.Item2);
        using var stream = new FileStream(handle, FileAccess.Write, bufferSize: 0);
        stream.SetLength(0);
        stream.Write(bytes);
        stream.Flush(flushToDisk: false);
        if (owner.Item1 is { } uid)
        {
            Native.FChown((int)handle.DangerousGetHandle(), uid, owner.Item2 ?? uid);
        }
        return new FileWrite(display, old, content, bytes.Length, old is null);
    }

    public IReadOnlyList<DirEntry> List(string root, string input, int depth, out bool truncated)
    {
        var (canonical, display) = Check(root, input, mustBe: FileKind.Directory);
        using var handle = SafeOpen.Open(root, canonical, display, Native.ORdOnly | Native.ODirectory, createParents: false);
        var entries = new List<DirEntry>();
        truncated = !Walk((int)handle.DangerousGetHandle(), display == "." ? "" : display, Math.Clamp(depth, 1, 10), entries);
        return entries;
    }

    private bool Walk(int dirFd, string prefix, int depth, List<DirEntry> entries)
    {
        var self = $"/proc/self/fd/{dirFd}";
        // The names only (no full paths built and cut again), every entry (dot files too), in ordinal order.
        var names = new FileSystemEnumerable<string>(self, static (ref FileSystemEntry entry) => entry.FileName.ToString(), AllEntries).ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (entries.Count >= options.Value.MaxListEntries)
            {
                return false;
            }
            var path = prefix.Length == 0 ? name : $"{prefix}/{name}";
            // The entry itself, relative to the open folder: never a link's target, and no path walk through /proc.
            if (Native.LStatAt(dirFd, name) is not { } status)
            {
                continue;
            }
            var kind = Native.Kind(status.Mode);
            var link = kind == FileKind.Symlink ? new FileInfo($"{self}/{name}").LinkTarget : null;
            entries.Add(new DirEntry(path, TypeName(kind), kind == FileKind.File ? (long)status.Size : 0, link));
            if (kind == FileKind.Directory && depth > 1)
            {
                var child = Native.OpenAt(dirFd, name, Native.ORdOnly | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0);
                if (child < 0)
                {
                    continue;
                }
                try
                {
                    if (!Walk(child, path, depth - 1, entries))
                    {
                        return false;
                    }
                }
                finally
                {
                    Native.Close(child);
                }
            }
        }
        return true;
    }

    private (string Canonical, string Display) Check(string root, string input, FileKind mustBe, bool mayBeMissing = false)
    {
        var canonical = WorkspacePath.Resolve(root, input);
        var display = canonical == root ? "." : Path.GetRelativePath(root, canonical);
        var status = Native.LStat(canonical);
        if (status is null)
        {
            if (!mayBeMissing)
            {
                throw new PathRefusedException($"'{display}' does not exist.");
            }
        }
        else if (Native.Kind(status.Value.Mode) is var kind && kind != mustBe)
        {
            throw new PathRefusedException(kind is FileKind.File or FileKind.Directory
                ? $"'{display}' is a {(kind == FileKind.File ? "file" : "directory")}, not a {(mustBe == FileKind.File ? "file" : "directory")}."
                : $"Refused: '{display}' is a {SafeOpen.Describe(kind)}, not a regular file or directory.");
        }
        BetweenCheckAndOpen?.Invoke(canonical);
        return (canonical, display);
    }

    private static string ReadText(StreamReader reader, string display)
    {
        try
        {
            return reader.ReadToEnd();
        }
        catch (DecoderFallbackException)
        {
            throw new PathRefusedException($"'{display}' is not valid UTF-8 text.");
        }
    }

    private static string TypeName(FileKind kind) => kind switch
    {
        FileKind.File => "file",
        FileKind.Directory => "directory",
        FileKind.Symlink => "symlink",
        _ => "special",
    };
}
