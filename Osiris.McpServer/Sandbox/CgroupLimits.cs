namespace Osiris.McpServer.Sandbox;

/// <summary>
/// A cgroup v1 pair (pids, memory) for one command, where the machine lets us write cgroups. Unlike
/// RLIMIT_NPROC, pids.max counts the command's own processes only, whoever owns them. The launcher shell adds
/// itself before it execs the sandbox, so nothing escapes the group; disposal kills anything left and removes it.
/// </summary>
public sealed class CgroupLimits : IDisposable
{
    private readonly List<string> _groups = [];

    private CgroupLimits() { }

    public IReadOnlyList<string> ProcsFiles => _groups.Select(g => Path.Combine(g, "cgroup.procs")).ToList();

    public static CgroupLimits? TryCreate(SandboxOptions options, ILogger logger)
    {
        var name = $"osiris-mcp/{Guid.NewGuid():N}";
        var limits = new CgroupLimits();
        try
        {
            limits.Add(Path.Combine(options.CgroupRoot, "pids", name), "pids.max", options.MaxProcesses.ToString());
            limits.Add(Path.Combine(options.CgroupRoot, "memory", name), "memory.limit_in_bytes", options.MaxMemoryBytes.ToString());
            return limits;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogDebug("cgroup limits unavailable ({Message}); relying on rlimits", e.Message);
            limits.Dispose();
            return null;
        }
    }

    private void Add(string group, string file, string value)
    {
        Directory.CreateDirectory(group);
        _groups.Add(group);
        File.WriteAllText(Path.Combine(group, file), value);
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
