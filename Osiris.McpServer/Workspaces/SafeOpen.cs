using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Osiris.McpServer.Workspaces;

/// <summary>
/// Opens a canonical workspace path one component at a time from the root, each with O_NOFOLLOW: a folder or file
/// replaced by a symbolic link after <see cref="WorkspacePath.Resolve"/> checked it makes the open fail instead of
/// following the link. The opened descriptor is then verified through /proc/self/fd.
/// </summary>
internal static class SafeOpen
{
    private const string Swapped = "Refused: '{0}' changed while being opened (a symbolic link or special file appeared); nothing was read or written.";

    public static SafeFileHandle Open(string root, string canonical, string display, int flags, bool createParents, uint? ownerUid = null, uint? ownerGid = null)
    {
        var parts = canonical == root ? [] : Path.GetRelativePath(root, canonical).Split('/');
        var dirFd = Native.OpenAt(Native.AtFdCwd, root, Native.OPath | Native.ODirectory | Native.OCloExec, 0);
        if (dirFd < 0)
        {
            throw new PathRefusedException($"The workspace root cannot be opened (errno {Marshal.GetLastPInvokeError()}).");
        }
        try
        {
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var next = Native.OpenAt(dirFd, parts[i], Native.OPath | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0);
                if (next < 0 && Marshal.GetLastPInvokeError() == Native.ENOENT && createParents)
                {
                    if (Native.MkdirAt(dirFd, parts[i], 0b111_101_101) == 0 && ownerUid is { } uid)
                    {
                        var created = Native.OpenAt(dirFd, parts[i], Native.ORdOnly | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0);
                        if (created >= 0)
                        {
                            Native.FChown(created, uid, ownerGid ?? uid);
                            Native.Close(created);
                        }
                    }
                    next = Native.OpenAt(dirFd, parts[i], Native.OPath | Native.ODirectory | Native.ONoFollow | Native.OCloExec, 0);
                }
                if (next < 0)
                {
                    throw Failure(display, Marshal.GetLastPInvokeError());
                }
                Native.Close(dirFd);
                dirFd = next;
            }

            var fd = parts.Length == 0
                ? Native.OpenAt(dirFd, ".", flags | Native.OCloExec | Native.ONonBlock, 0)
                : Native.OpenAt(dirFd, parts[^1], flags | Native.ONoFollow | Native.OCloExec | Native.ONonBlock, 0b110_100_100);
            if (fd < 0)
            {
                throw Failure(display, Marshal.GetLastPInvokeError());
            }
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            Verify(handle, fd, canonical, display, flags);
            return handle;
        }
        finally
        {
            Native.Close(dirFd);
        }
    }

    private static void Verify(SafeFileHandle handle, int fd, string canonical, string display, int flags)
    {
        var status = Native.FStat(fd);
        var kind = status is { } s ? Native.Kind(s.Mode) : FileKind.Other;
        var wantDirectory = (flags & Native.ODirectory) != 0;
        var opened = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        if (kind != (wantDirectory ? FileKind.Directory : FileKind.File) || opened != canonical)
        {
            handle.Dispose();
            throw new PathRefusedException(kind is FileKind.File or FileKind.Directory
                ? string.Format(Swapped, display)
                : $"Refused: '{display}' is a {Describe(kind)}, not a regular file.");
        }
    }

    private static PathRefusedException Failure(string display, int errno) => errno switch
    {
        Native.ENOENT => new PathRefusedException($"'{display}' does not exist."),
        Native.ELOOP or Native.ENOTDIR => new PathRefusedException(string.Format(Swapped, display)),
        Native.ENXIO => new PathRefusedException($"Refused: '{display}' is a FIFO or device, not a regular file."),
        Native.EEXIST => new PathRefusedException($"'{display}' already exists."),
        21 => new PathRefusedException($"'{display}' is a directory."),
        13 => new PathRefusedException($"Permission denied: '{display}'."),
        _ => new PathRefusedException($"'{display}' cannot be opened (errno {errno})."),
    };

    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Fifo => "FIFO (named pipe)",
        FileKind.CharacterDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Socket => "socket",
        FileKind.Symlink => "symbolic link",
        FileKind.Directory => "directory",
        _ => "special file",
    };
}
