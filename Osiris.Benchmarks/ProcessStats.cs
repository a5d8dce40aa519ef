namespace Osiris.Benchmarks;

/// <summary>CPU time and peak resident memory of one process, read from /proc (Linux).</summary>
public sealed record ProcessStats(double CpuSeconds, long PeakRssKb, long RssKb)
{
    public static ProcessStats? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11]) + long.Parse(fields[12]); // utime + stime, in clock ticks
            var status = File.ReadAllLines($"/proc/{pid}/status");
            long Kb(string key) => long.Parse(status.First(l => l.StartsWith(key)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            return new ProcessStats(ticks / 100.0, Kb("VmHWM:"), Kb("VmRSS:"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The pid of the newest process whose command line contains <paramref name="needle"/>.</summary>
    public static int? FindPid(string needle) =>
        Directory.GetDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : -1)
            .Where(pid => pid > 0 && pid != Environment.ProcessId)
            .Where(pid =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{pid}/cmdline").Contains(needle, StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
                catch (UnauthorizedAccessException)
                {
                    return false;
                }
            })
            .Select(pid => (int?)pid)
            .Max();

    /// <summary>
    /// Processes started by this one (directly, through Aspire's orchestrator, or further down) whose command line contains <paramref name="needle"/>: the app's
    /// services, databases and browser run under this process, so other instances on the machine are not counted.
    /// </summary>
    public static IEnumerable<int> FindPids(string needle)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var stat = File.ReadAllText($"/proc/{pid}/stat");
                    parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                }
                catch (IOException)
                {
                }
            }
        }
        // Aspire's orchestrator (dcp) detaches from its parent and names the process it serves with --monitor.
        var roots = parents.Keys.Where(pid => CommandLine(pid).Contains($"--monitor {Environment.ProcessId} ", StringComparison.Ordinal))
            .Append(Environment.ProcessId).ToHashSet();
        bool Descends(int pid)
        {
            for (var i = 0; i < 64 && parents.TryGetValue(pid, out var parent) && parent > 1; i++, pid = parent)
            {
                if (roots.Contains(parent))
                {
                    return true;
                }
            }
            return false;
        }
        return parents.Keys.Where(pid => Descends(pid) && CommandLine(pid).Contains(needle, StringComparison.Ordinal)).ToList();
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
