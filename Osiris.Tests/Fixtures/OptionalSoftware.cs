namespace Osiris.Tests.Fixtures;

/// <summary>
/// Software that some tests need but a fresh machine with only the .NET SDK lacks. Missing software skips the
/// test with the install command, unless <c>OSIRIS_REQUIRE_ALL=1</c> (set by .ci/run) turns the skip into a failure.
/// </summary>
public static class OptionalSoftware
{
    public static bool RequireAll => Environment.GetEnvironmentVariable("OSIRIS_REQUIRE_ALL") == "1";

    public static void Require(bool present, string what, string installCommand)
    {
        if (present)
        {
            return;
        }

        var reason = $"{what} is not installed; install it with '{installCommand}'.";
        if (RequireAll)
        {
            Assert.Fail(reason + " OSIRIS_REQUIRE_ALL=1 forbids skipping.");
        }
        Assert.Skip(reason);
    }

    public static void RequireRedisAndPostgres()
    {
        Require(OnPath("redis-server") is not null, "redis-server", "apt-get install -y redis-server");
        Require(OnPath("initdb") is not null || Directory.Exists("/usr/lib/postgresql"), "PostgreSQL", "apt-get install -y postgresql");
    }

    public static bool HasRedisAndPostgres =>
        OnPath("redis-server") is not null && (OnPath("initdb") is not null || Directory.Exists("/usr/lib/postgresql"));

    public static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
