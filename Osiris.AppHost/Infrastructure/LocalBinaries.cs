namespace Osiris.AppHost.Infrastructure;

/// <summary>The Redis and PostgreSQL server programs installed on this machine, if any.</summary>
public sealed record LocalBinaries(string? RedisServer, string? Postgres, string? InitDb)
{
    public bool IsComplete => RedisServer is not null && Postgres is not null && InitDb is not null;

    public string Missing => (RedisServer, Postgres) switch
    {
        (null, null) => "neither redis-server nor PostgreSQL is installed",
        (null, _) => "redis-server is not installed",
        (_, null) => "PostgreSQL (postgres, initdb) is not installed",
        _ => "nothing is missing",
    };

    public static LocalBinaries Find()
    {
        var redis = FindOnPath("redis-server");

        // Debian keeps postgres/initdb out of PATH, in /usr/lib/postgresql/<version>/bin; take the newest.
        var initDb = FindOnPath("initdb");
        var postgres = initDb is null ? null : Path.Combine(Path.GetDirectoryName(ResolveLink(initDb))!, "postgres");
        if (postgres is null || !File.Exists(postgres))
        {
            var debianBin = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .Select(d => Path.Combine(d, "bin"))
                    .Where(d => File.Exists(Path.Combine(d, "postgres")) && File.Exists(Path.Combine(d, "initdb")))
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                    .FirstOrDefault()
                : null;
            postgres = debianBin is null ? null : Path.Combine(debianBin, "postgres");
            initDb = debianBin is null ? null : Path.Combine(debianBin, "initdb");
        }

        return new LocalBinaries(redis, postgres, initDb);
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static string ResolveLink(string path) =>
        new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
}
