using System.Runtime.InteropServices;

namespace Osiris.McpServer.Workspaces;

/// <summary>
/// The few Linux calls that .NET does not expose: opening relative to a directory handle without following
/// symbolic links (openat + O_NOFOLLOW), and reading a file's type (statx, whose layout is the same on every
/// architecture, unlike struct stat).
/// </summary>
internal static partial class Native
{
    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtEmptyPath = 0x1000;
    public const uint StatxBasicStats = 0x7ff;

    public const int ORdOnly = 0, OWrOnly = 1, OCreat = 0x40, OExcl = 0x80, ONonBlock = 0x800, OCloExec = 0x80000, OPath = 0x200000;
    public static readonly int ODirectory = IsArm ? 0x4000 : 0x10000;
    public static readonly int ONoFollow = IsArm ? 0x8000 : 0x20000;

    public const int ENOENT = 2, EEXIST = 17, ENOTDIR = 20, ELOOP = 40, ENXIO = 6;

    private static bool IsArm => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;

    [StructLayout(LayoutKind.Sequential, Size = 256)]
    public struct Statx
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint LinkCount;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        private ushort _pad;
        public ulong Inode;
        public ulong Size;
        public ulong Blocks;
        public ulong AttributesMask;
        public StatxTime AccessTime;
        public StatxTime BirthTime;
        public StatxTime ChangeTime;
        public StatxTime ModifyTime;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct StatxTime
    {
        public long Seconds;
        public uint Nanoseconds;
        private int _reserved;

        public readonly long Ticks => Seconds * 1_000_000_000 + Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(int dirFd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(int dirFd, string path, uint mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatX(int dirFd, string path, int flags, uint mask, out Statx buffer);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLinkAt(int dirFd, string path, Span<byte> buffer, nint size);

    /// <summary>The target of the link <paramref name="name"/> in an open directory, as written (never resolved); null when it is not a link.</summary>
    public static string? LinkTargetAt(int dirFd, string name)
    {
        Span<byte> buffer = stackalloc byte[4097];
        var length = ReadLinkAt(dirFd, name, buffer, buffer.Length);
        return length < 0 || length >= buffer.Length ? null : System.Text.Encoding.UTF8.GetString(buffer[..(int)length]);
    }

    /// <summary>linkat with no flags: a link in the last component is linked itself, never followed.</summary>
    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(int oldDirFd, string oldPath, int newDirFd, string newPath, int flags);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int FChown(int fd, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LChown(string path, uint uid, uint gid);

    public const int LockShared = 1, LockExclusive = 2, LockNonBlocking = 4, EWOULDBLOCK = 11, EINTR = 4;

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    public static string? Canonical(string path)
    {
        var pointer = RealPath(path, 0);
        if (pointer == 0)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(pointer);
        }
        finally
        {
            Free(pointer);
        }
    }

    public static FileKind Kind(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.File,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.Symlink,
        0x1000 => FileKind.Fifo,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0xC000 => FileKind.Socket,
        _ => FileKind.Other,
    };

    /// <summary>lstat: the entry itself, never what a link points to. Null when it does not exist.</summary>
    public static Statx? LStat(string path) =>
        StatX(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, out var buffer) == 0 ? buffer : null;

    /// <summary>lstat of one entry of an open directory (fstatat with AT_SYMLINK_NOFOLLOW). Null when it does not exist.</summary>
    public static Statx? LStatAt(int dirFd, string name) =>
        StatX(dirFd, name, AtSymlinkNoFollow, StatxBasicStats, out var buffer) == 0 ? buffer : null;

    public static Statx? FStat(int fd) =>
        StatX(fd, "", AtEmptyPath, StatxBasicStats, out var buffer) == 0 ? buffer : null;
}

public enum FileKind { File, Directory, Symlink, Fifo, CharacterDevice, BlockDevice, Socket, Other }
