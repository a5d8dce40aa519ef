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
}
