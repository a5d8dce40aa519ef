using System.Globalization;

namespace Osiris.McpServer.Sandbox;

/// <summary>
/// The cgroup of one command: processes, memory and CPU, on cgroup v2 (one unified tree) or v1 (a tree per
/// controller). Unlike RLIMIT_NPROC and RLIMIT_AS, these count the command's own processes and real memory, whoever
/// owns them. The launcher shell adds itself before it execs the sandbox, so nothing escapes the group; disposal kills
/// anything left and removes it.
/// </summary>
public sealed class CgroupLimits : IDisposable
{
    private const string Parent = "osiris-mcp";
    private const int CpuPeriodMicroseconds = 100_000;
    private readonly List<string> _groups = [];

    private CgroupLimits(bool v2) => IsV2 = v2;

    public bool IsV2 { get; }

    public IReadOnlyList<string> ProcsFiles => _groups.Select(g => Path.Combine(g, "cgroup.procs")).ToList();

    /// <summary>cgroup v2 has <c>cgroup.controllers</c> at the top of its single tree.</summary>
    public static bool IsUnified(string root) => File.Exists(Path.Combine(root, "cgroup.controllers"));

    /// <summary>The limits for one command, or null with <paramref name="problem"/> saying why none could be made.</summary>
    public static CgroupLimits? TryCreate(SandboxOptions options, out string? problem)
    {
        var name = Guid.NewGuid().ToString("N");
        var v2 = IsUnified(options.CgroupRoot);
        var limits = new CgroupLimits(v2);
        var quota = Math.Max(1000, (long)(options.MaxCpuCores * CpuPeriodMicroseconds));
        try
        {
            if (v2)
            {
                // Controllers reach a group only when its parent enables them for its children ("no internal
                // processes": the shared parent holds none, each command's group holds one command).
                var parent = Path.Combine(options.CgroupRoot, Parent);
                Directory.CreateDirectory(parent);
                EnableControllers(options.CgroupRoot);
                EnableControllers(parent);
                var group = limits.Create(Path.Combine(parent, name));
                Write(group, "pids.max", options.MaxProcesses.ToString(CultureInfo.InvariantCulture));
                Write(group, "memory.max", options.MaxMemoryBytes.ToString(CultureInfo.InvariantCulture));
                Write(group, "memory.swap.max", "0", optional: true);
                Write(group, "cpu.max", $"{quota} {CpuPeriodMicroseconds}");
            }
            else
            {
                Write(limits.Create(Path.Combine(options.CgroupRoot, "pids", Parent, name)), "pids.max", options.MaxProcesses.ToString(CultureInfo.InvariantCulture));
                Write(limits.Create(Path.Combine(options.CgroupRoot, "memory", Parent, name)), "memory.limit_in_bytes", options.MaxMemoryBytes.ToString(CultureInfo.InvariantCulture));
                var cpu = limits.Create(Path.Combine(options.CgroupRoot, "cpu", Parent, name));
                Write(cpu, "cpu.cfs_period_us", CpuPeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
                Write(cpu, "cpu.cfs_quota_us", quota.ToString(CultureInfo.InvariantCulture));
            }
            problem = null;
            return limits;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cgroup {(v2 ? "v2" : "v1")} limits cannot be set under {options.CgroupRoot} ({e.Message}); processes, memory and CPU are capped by rlimits only";
            limits.Dispose();
            return null;
        }
    }

    private static void EnableControllers(string group)
    {
        var available = File.ReadAllText(Path.Combine(group, "cgroup.controllers")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var wanted = new[] { "pids", "memory", "cpu" };
        var missing = wanted.Except(available).ToList();
        if (missing.Count > 0)
        {
            throw new IOException($"controllers {string.Join(", ", missing)} are not available in {group}");
        }
        File.WriteAllText(Path.Combine(group, "cgroup.subtree_control"), string.Join(' ', wanted.Select(c => "+" + c)));
    }

    private string Create(string group)
    {
        Directory.CreateDirectory(group);
        _groups.Add(group);
        return group;
    }

    private static void Write(string group, string file, string value, bool optional = false)
    {
        try
        {
            File.WriteAllText(Path.Combine(group, file), value);
        }
        catch (Exception e) when (optional && e is IOException or UnauthorizedAccessException)
        {
            // memory.swap.max exists only where the kernel accounts swap
        }
    }

    /// <summary>Kills every process still in the groups (a detached child that left the process tree, say).</summary>
    public void KillAll()
    {
        foreach (var procs in ProcsFiles)
        {
            foreach (var line in SafeReadLines(procs))
            {
                if (int.TryParse(line, out var pid))
                {
                    try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
                }
            }
        }
    }

    public void Dispose()
    {
        KillAll();
        foreach (var group in _groups)
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                try
                {
                    Directory.Delete(group);
                    break;
                }
                catch (IOException) when (attempt >= 3 && SafeReadLines(Path.Combine(group, "cgroup.procs")).Length == 0)
                {
                    break; // empty yet not removable: not a cgroup file system (a folder laid out like one, in tests)
                }
                catch (IOException)
                {
                    Thread.Sleep(25); // the last processes are still exiting
                }
                catch (UnauthorizedAccessException)
                {
                    break;
                }
            }
        }
    }

    private static string[] SafeReadLines(string path)
    {
        try { return File.ReadAllLines(path); } catch (IOException) { return []; }
    }
}
