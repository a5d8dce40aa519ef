using System.Diagnostics;

namespace Osiris.McpServer.Sandbox;

/// <summary>
/// Builds the process that runs one command: [sh joining the cgroups and opening the seccomp filter as fd 3] →
/// [setpriv to the command's user, when root] → prlimit → bwrap → bash -c. The environment is emptied first: bwrap is
/// PID 1 of the sandbox, and its /proc/1/environ would otherwise show the server's secrets to the command.
/// </summary>
internal static class SandboxLaunch
{
    private const string SafePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <param name="uid">Who the command runs as (the workspace's owner, or the sandbox user); used only when root.</param>
    /// <param name="maxFileSize">The largest file the command may write (RLIMIT_FSIZE): the per-file cap, or less when the workspace has less room.</param>
    public static ProcessStartInfo Create(SandboxOptions options, SandboxEnvironment sandbox, uint uid, long maxFileSize, string workspace,
        string command, CgroupLimits? cgroups)
    {
        var bwrap = sandbox.Bubblewrap;
        var start = new ProcessStartInfo
        {
            FileName = "/bin/sh",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workspace,
            UseShellExecute = false,
        };
        start.Environment.Clear();
        start.Environment["PATH"] = SafePath;

        var args = start.ArgumentList;
        var procs = cgroups?.ProcsFiles ?? [];
        // .NET passes no file descriptors beyond 0-2, so the shell opens the seccomp filter as fd 3 for bwrap.
        var seccomp = bwrap is not null && sandbox.Hardened ? sandbox.SeccompFile : null;
        args.Add("-c");
        args.Add("n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; shift; n=$((n-1)); done; " +
                 "f=$1; shift; if [ -n \"$f\" ]; then exec 3< \"$f\" || exit 125; fi; exec \"$@\"");
        args.Add("osiris-launch");
        args.Add(procs.Count.ToString());
        foreach (var file in procs)
        {
            args.Add(file);
        }
        args.Add(seccomp ?? "");

        var root = Workspaces.Native.GetEuid() == 0;
        var user = (root ? uid : Workspaces.Native.GetEuid()).ToString();
        if (root)
        {
            // As root, RLIMIT_NPROC is never enforced and a user namespace maps the sandbox user back to root:
            // drop to the command's user on the host too.
            foreach (var a in new[] { "setpriv", "--reuid", user, "--regid", user, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--" })
            {
                args.Add(a);
            }
        }
        // RLIMIT_NPROC counts every task (thread) of the real user on the host, so that user's other threads are added
        // on top (none for the sandbox user; the server's own when not root; a developer's when their folder is used).
        var nproc = options.MaxProcesses + TasksOf(user);
        foreach (var a in new[]
                 {
                     "prlimit", $"--nproc={nproc}", $"--fsize={maxFileSize}",
                     $"--as={options.MaxMemoryBytes}", "--core=0", "--",
                 })
        {
            args.Add(a);
        }

        if (bwrap is not null)
        {
            // Inside, the command is the sandbox user unless it runs as a workspace owner's own user (root only).
            var inside = root ? user : options.SandboxUid.ToString();
            AddBubblewrap(args, bwrap, sandbox.Hardened, seccomp is not null, options.TmpSizeBytes, inside, workspace);
        }
        args.Add(File.Exists("/bin/bash") ? "/bin/bash" : "/bin/sh");
        args.Add("-c");
        args.Add(command);
        return start;
    }

    /// <summary>Threads of all processes of this user (what RLIMIT_NPROC counts), read from /proc.</summary>
    private static int TasksOf(string uid)
    {
        var total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var lines = File.ReadAllLines(Path.Combine(dir, "status"));
                var owner = lines.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                if (owner is { Length: > 1 } && owner[1] == uid)
                {
                    var threads = lines.FirstOrDefault(l => l.StartsWith("Threads:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                    total += threads is { Length: > 1 } && int.TryParse(threads[1], out var n) ? n : 1;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked, or is not ours to read.
            }
        }
        return total;
    }

    private static void AddBubblewrap(IList<string> args, string bwrap, bool hardened, bool seccomp, long tmpSize, string uid, string workspace)
    {
        args.Add(bwrap);
        foreach (var a in new[]
                 {
                     "--die-with-parent", "--unshare-all", "--new-session", "--cap-drop", "ALL",
                     "--uid", uid, "--gid", uid, "--hostname", "sandbox",
                     "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
                 })
        {
            args.Add(a);
        }
        if (hardened)
        {
            // No user namespaces inside (unshare -Ur, a way to regain capabilities over a namespace of one's own).
            args.Add("--unshare-user");
            args.Add("--disable-userns");
        }
        if (seccomp)
        {
            args.Add("--seccomp");
            args.Add("3");
        }
        foreach (var top in new[] { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" })
        {
            var info = new FileInfo(top);
            if (info.LinkTarget is { } target)
            {
                args.Add("--symlink"); args.Add(target); args.Add(top);
            }
            else if (Directory.Exists(top))
            {
                args.Add("--ro-bind"); args.Add(top); args.Add(top);
            }
        }
        foreach (var a in new[]
                 {
                     "--proc", "/proc", "--dev", "/dev",
                 })
        {
            args.Add(a);
        }
        if (hardened)
        {
            args.Add("--size");
            args.Add(tmpSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        foreach (var a in new[]
                 {
                     "--tmpfs", "/tmp",
                     "--bind", workspace, "/workspace", "--chdir", "/workspace",
                     "--clearenv", "--setenv", "PATH", SafePath, "--setenv", "HOME", "/workspace",
                     "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8", "--",
                 })
        {
            args.Add(a);
        }
    }
}
